//! Brute-force oracle for the cycle search: on small random labelled graphs, enumerate every
//! simple cycle and every way its edges can be labelled, and compare the shortest cycle of each
//! class with what [`super::cycles::shortest_cycle`] finds.

use super::anomaly::{CycleOrder, CycleShape};
use super::cycles::{CycleClass, Search, all_classes, shortest_cycle, usable_labels};
use super::depgraph::{DepGraph, EdgeList, kind};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Every simple cycle, as node lists starting at their smallest node.
fn simple_cycles(n: usize, adj: &[Vec<(usize, u8)>]) -> Vec<Vec<usize>> {
    fn go(
        start: usize,
        node: usize,
        adj: &[Vec<(usize, u8)>],
        path: &mut Vec<usize>,
        out: &mut Vec<Vec<usize>>,
    ) {
        for &(next, _) in &adj[node] {
            if next == start {
                out.push(path.clone());
            } else if next > start && !path.contains(&next) {
                path.push(next);
                go(start, next, adj, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for s in 0..n {
        go(s, s, adj, &mut vec![s], &mut out);
    }
    out
}

/// Whether some labelling of the cycle puts it in `class` (checked directly from the
/// definitions, not with the search's automaton).
fn in_class(cycle: &[usize], kinds: &dyn Fn(usize, usize) -> u8, class: CycleClass) -> bool {
    let m = cycle.len();
    let options: Vec<Vec<u8>> = (0..m)
        .map(|i| {
            let k = usable_labels(kinds(cycle[i], cycle[(i + 1) % m]), class.allowed());
            [kind::WW, kind::WR, kind::RW, kind::PROCESS, kind::REALTIME]
                .into_iter()
                .filter(|b| k & b != 0)
                .collect()
        })
        .collect();
    let mut choice = vec![0usize; m];
    loop {
        let labels: Vec<u8> = (0..m)
            .map(|i| options[i].get(choice[i]).copied().unwrap_or(0))
            .collect();
        if labels.iter().all(|&l| l != 0) && labelled_in_class(&labels, class) {
            return true;
        }
        // Next combination.
        let mut i = 0;
        loop {
            if i == m {
                return false;
            }
            choice[i] += 1;
            if choice[i] < options[i].len() {
                break;
            }
            choice[i] = 0;
            i += 1;
        }
    }
}

fn labelled_in_class(labels: &[u8], class: CycleClass) -> bool {
    let m = labels.len();
    let rws = labels.iter().filter(|&&l| l == kind::RW).count();
    let adjacent = (0..m).any(|i| labels[i] == kind::RW && labels[(i + 1) % m] == kind::RW);
    let shape = match class.shape {
        CycleShape::G0 => labels
            .iter()
            .all(|&l| l == kind::WW || l == kind::PROCESS || l == kind::REALTIME),
        CycleShape::G1c => rws == 0 && labels.contains(&kind::WR),
        CycleShape::GSingle => rws == 1,
        CycleShape::GNonadjacent => rws >= 2 && !adjacent,
        CycleShape::G2Item => rws >= 2 && adjacent,
    };
    let order = match class.order {
        CycleOrder::Data => labels.iter().all(|&l| l & kind::DATA != 0),
        CycleOrder::Process => labels.contains(&kind::PROCESS) && !labels.contains(&kind::REALTIME),
        CycleOrder::Realtime => labels.contains(&kind::REALTIME),
    };
    shape && order && labels.iter().all(|&l| l & class.allowed() != 0)
}

#[test]
fn shortest_cycles_match_brute_force() {
    let bits = [kind::WW, kind::WR, kind::RW, kind::PROCESS, kind::REALTIME];
    let mut cycles_found = std::collections::HashMap::new();
    for seed in 0..2500u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let n = rng.random_range(2..7usize);
        let density: f64 = rng.random_range(0.15..0.6);
        let mut edges = EdgeList::default();
        let mut adj: Vec<Vec<(usize, u8)>> = vec![Vec::new(); n];
        for (a, out) in adj.iter_mut().enumerate() {
            for b in 0..n {
                if a != b && rng.random_bool(density) {
                    let mut k = 0u8;
                    while k == 0 {
                        for &bit in &bits {
                            if rng.random_bool(0.3) {
                                k |= bit;
                            }
                        }
                    }
                    edges.add(a, b, k);
                    out.push((b, k));
                }
            }
        }
        let graph: DepGraph = edges.freeze(n);
        let kinds = |a: usize, b: usize| graph.kinds(a, b);
        let cycles = simple_cycles(n, &adj);
        for class in all_classes() {
            let expected = cycles
                .iter()
                .filter(|c| in_class(c, &kinds, class))
                .map(|c| c.len())
                .min();
            let allowed = class.allowed();
            let mut found: Option<usize> = None;
            for component in graph.cyclic_components_where(|k| usable_labels(k, allowed) != 0) {
                match shortest_cycle(&graph, &component, class, usize::MAX) {
                    Search::Shortest(c) => {
                        // The cycle is simple, really in the class, and uses real edges.
                        let mut nodes = c.nodes.clone();
                        nodes.sort_unstable();
                        nodes.dedup();
                        assert_eq!(
                            nodes.len(),
                            c.nodes.len(),
                            "seed {seed} {class:?}: not simple {c:?}"
                        );
                        for i in 0..c.nodes.len() {
                            let k = kinds(c.nodes[i], c.nodes[(i + 1) % c.nodes.len()]);
                            assert!(
                                usable_labels(k, allowed) & c.labels[i] != 0,
                                "seed {seed}: bad label"
                            );
                        }
                        assert!(
                            labelled_in_class(&c.labels, class),
                            "seed {seed} {class:?}: {c:?}"
                        );
                        found = Some(found.map_or(c.nodes.len(), |f: usize| f.min(c.nodes.len())));
                    }
                    Search::None => {}
                    other => panic!("seed {seed}: unbounded search returned {other:?}"),
                }
            }
            assert_eq!(found, expected, "seed {seed} {class:?}, n={n}, adj={adj:?}");
            if found.is_some() {
                *cycles_found.entry(format!("{class:?}")).or_insert(0) += 1;
            }
        }
    }
    // Not vacuous: every class had cycles to find.
    assert_eq!(cycles_found.len(), 15, "{cycles_found:?}");
    assert!(cycles_found.values().all(|&n| n >= 20), "{cycles_found:?}");
}
