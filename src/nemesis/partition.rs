//! The partition faults (`partition-one`, `-leader`, `-follower`, `-halves`, `-ring`,
//! `-bridge`, `-one-way`): which directed links each cuts, and the [`Partition`] piece that cuts
//! them through the system (the store's link proxies, or nftables rules in the nodes'
//! namespaces) and heals them. Recorded as `start-partition` (with the groups that still talk,
//! the cut links, and the node for one-node shapes) and `stop-partition`.
//!
//! The shapes are pure functions of the node count and a seeded permutation (and, for
//! leader-targeted partitions, the node resolved at run time). A directed link `(a, b)` carries
//! the connections node `a` opens to node `b`.

use super::fault::{Aim, Fault, Started, Strike, note_error};
use crate::systems::{BoxFuture, SystemKind};
use crate::workload::FaultKind;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The directed links to cut, and the groups of nodes that can still talk, for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// Directed links `(from, to)` to cut.
    pub links: BTreeSet<(usize, usize)>,
    /// Groups of node indices that still reach each other (empty for one-way cuts).
    pub groups: Vec<Vec<usize>>,
}

fn cut_between(a: &[usize], b: &[usize], links: &mut BTreeSet<(usize, usize)>) {
    for &x in a {
        for &y in b {
            links.insert((x, y));
            links.insert((y, x));
        }
    }
}

/// Cuts `node` off from every other node, both ways.
pub fn isolate(n: usize, node: usize) -> Cut {
    let others: Vec<usize> = (0..n).filter(|&i| i != node).collect();
    let mut links = BTreeSet::new();
    cut_between(&[node], &others, &mut links);
    Cut {
        links,
        groups: vec![vec![node], others],
    }
}

/// Splits the nodes (in `perm` order) into a smaller first half and a larger second half.
pub fn halves(perm: &[usize]) -> Cut {
    let (a, b) = perm.split_at(perm.len() / 2);
    let mut links = BTreeSet::new();
    cut_between(a, b, &mut links);
    Cut {
        links,
        groups: vec![sorted(a), sorted(b)],
    }
}

/// Majorities ring: nodes placed on a ring in `perm` order; each keeps only the links to its
/// nearest neighbours, enough for every node to see a majority (itself included) while no two
/// nodes see the same majority. With fewer than 5 nodes this cuts nothing.
pub fn majorities_ring(perm: &[usize]) -> Cut {
    let n = perm.len();
    let majority = n / 2 + 1;
    let reach = majority / 2; // neighbours kept on each side: 2 * reach + 1 >= majority
    let reach = if 2 * reach + 1 >= majority {
        reach
    } else {
        reach + 1
    };
    let mut links = BTreeSet::new();
    for i in 0..n {
        for j in 0..n {
            let d = i.abs_diff(j);
            let ring_distance = d.min(n - d);
            if i != j && ring_distance > reach {
                links.insert((perm[i], perm[j]));
            }
        }
    }
    let groups = (0..n)
        .map(|i| {
            sorted(
                &(0..n)
                    .filter(|&j| i.abs_diff(j).min(n - i.abs_diff(j)) <= reach)
                    .map(|j| perm[j])
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    Cut { links, groups }
}

/// Two halves that cannot talk, joined by one bridge node (`perm[n / 2]`) that sees both.
pub fn bridge(perm: &[usize]) -> Cut {
    let n = perm.len();
    let a = &perm[..n / 2];
    let b = if n / 2 < n { &perm[n / 2 + 1..] } else { &perm[n..] };
    let mut links = BTreeSet::new();
    cut_between(a, b, &mut links);
    let bridge_node = perm.get(n / 2).copied();
    let mut left = a.to_vec();
    let mut right = b.to_vec();
    left.extend(bridge_node);
    right.extend(bridge_node);
    Cut {
        links,
        groups: vec![sorted(&left), sorted(&right)],
    }
}

/// `node` can no longer send to any other node; the others can still reach it.
pub fn one_way(n: usize, node: usize) -> Cut {
    Cut {
        links: (0..n).filter(|&j| j != node).map(|j| (node, j)).collect(),
        groups: Vec::new(),
    }
}

/// Cutting links between nodes, and healing them.
pub struct Partition;

impl Partition {
    /// The links `strike`'s kind cuts.
    fn shape(strike: &Strike<'_>) -> Cut {
        let permutation = &strike.plan.permutation;
        match strike.kind {
            FaultKind::PartitionHalves => halves(permutation),
            FaultKind::PartitionRing => majorities_ring(permutation),
            FaultKind::PartitionBridge => bridge(permutation),
            FaultKind::PartitionOneWay => one_way(strike.system.len(), strike.node),
            _ => isolate(strike.system.len(), strike.node),
        }
    }
}

impl Fault for Partition {
    fn kinds(&self) -> &'static [FaultKind] {
        &[
            FaultKind::PartitionOne,
            FaultKind::PartitionLeader,
            FaultKind::PartitionFollower,
            FaultKind::PartitionHalves,
            FaultKind::PartitionRing,
            FaultKind::PartitionBridge,
            FaultKind::PartitionOneWay,
        ]
    }

    fn aim(&self, kind: FaultKind) -> Aim {
        match kind {
            FaultKind::PartitionLeader => Aim::Leader,
            FaultKind::PartitionFollower => Aim::Follower,
            FaultKind::PartitionOne | FaultKind::PartitionOneWay => Aim::Random,
            _ => Aim::Cluster,
        }
    }

    fn refusal(&self, _: FaultKind, _: SystemKind) -> Option<String> {
        None
    }

    fn start<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, Started> {
        Box::pin(async move {
            let cut = Partition::shape(&strike);
            note_error(detail, strike.system.cut(&cut.links));
            let ids = strike.system.ids();
            let names = |g: &Vec<usize>| -> Vec<String> { g.iter().map(|&i| ids[i].clone()).collect() };
            let groups: Vec<Vec<String>> = cut.groups.iter().map(names).collect();
            let links: Vec<[String; 2]> = cut
                .links
                .iter()
                .map(|&(a, b)| [ids[a].clone(), ids[b].clone()])
                .collect();
            detail["cut"] = json!(groups);
            detail["links"] = json!(links);
            if self.aim(strike.kind) != Aim::Cluster {
                detail["node"] = Value::from(strike.node_id());
            }
            Started {
                f: "start-partition".into(),
                to_heal: true,
            }
        })
    }

    fn heal_name(&self, _: FaultKind) -> String {
        "stop-partition".into()
    }

    fn heal<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            note_error(detail, strike.system.cut(&BTreeSet::new()));
        })
    }
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Who `i` can reach directly.
    fn reach(cut: &Cut, n: usize, i: usize) -> Vec<usize> {
        (0..n)
            .filter(|&j| j == i || !cut.links.contains(&(i, j)))
            .collect()
    }

    #[test]
    fn isolate_and_halves_are_symmetric_cuts() {
        let c = isolate(3, 1);
        assert_eq!(c.links.len(), 4);
        assert_eq!(reach(&c, 3, 1), vec![1]);
        assert_eq!(reach(&c, 3, 0), vec![0, 2]);
        let h = halves(&[4, 0, 2, 1, 3]);
        assert_eq!(h.groups, vec![vec![0, 4], vec![1, 2, 3]]);
        assert_eq!(h.links.len(), 2 * 2 * 3);
    }

    #[test]
    fn ring_gives_every_node_a_distinct_majority() {
        for n in [5, 6, 7, 9] {
            let perm: Vec<usize> = (0..n).rev().collect();
            let c = majorities_ring(&perm);
            let mut views = BTreeSet::new();
            for i in 0..n {
                let r = reach(&c, n, i);
                assert!(r.len() > n / 2, "n={n}: node {i} sees only {r:?}");
                assert!(r.len() < n, "n={n}: node {i} sees everyone");
                views.insert(r);
            }
            assert_eq!(views.len(), n, "n={n}: two nodes share a majority");
        }
        assert!(majorities_ring(&[0, 1, 2]).links.is_empty());
    }

    #[test]
    fn bridge_sees_both_sides() {
        let c = bridge(&[0, 1, 2, 3, 4]);
        assert_eq!(reach(&c, 5, 2), vec![0, 1, 2, 3, 4]);
        assert_eq!(reach(&c, 5, 0), vec![0, 1, 2]);
        assert_eq!(reach(&c, 5, 4), vec![2, 3, 4]);
    }

    #[test]
    fn one_way_blocks_only_outgoing() {
        let c = one_way(3, 0);
        assert!(c.links.contains(&(0, 1)) && !c.links.contains(&(1, 0)));
    }
}
