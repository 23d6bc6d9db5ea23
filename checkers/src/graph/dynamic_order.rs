//! A topological order kept up to date as edges arrive (Pearce and Kelly, "A dynamic
//! topological sort algorithm for directed acyclic graphs", 2006), so that a graph growing one
//! edge at a time learns at once when an edge would close a cycle, at a cost bounded by the
//! part of the order the edge crosses, not by the whole graph.
//!
//! An edge that goes forward in the current order needs nothing. An edge `u -> v` that goes
//! backward is checked by a search forward from `v` among the nodes ordered no later than `u`
//! (reaching `u` means a cycle: the edge is refused) and a search backward from `u` among the
//! nodes ordered no earlier than `v`; the nodes found are then moved, those reaching `u` before
//! those reached from `v`, into the positions they held between them.

/// A directed acyclic graph with a topological order of its nodes.
#[derive(Debug, Default)]
pub(crate) struct DynamicOrder {
    out: Vec<Vec<u32>>,
    into: Vec<Vec<u32>>,
    /// Position of each node in the order.
    position: Vec<u32>,
    /// Node at each position.
    node_at: Vec<u32>,
    /// Search marks: `mark[n] == stamp` when `n` was visited by the current search.
    mark: Vec<u32>,
    stamp: u32,
}

impl DynamicOrder {
    /// Adds a node, last in the order; returns its id (ids are consecutive from 0).
    pub(crate) fn add_node(&mut self) -> u32 {
        let n = self.out.len() as u32;
        self.out.push(Vec::new());
        self.into.push(Vec::new());
        self.position.push(n);
        self.node_at.push(n);
        self.mark.push(0);
        n
    }

    /// Adds the edge `from -> to` and returns true, or returns false without adding it when it
    /// would close a cycle (including `from == to`).
    pub(crate) fn add_edge(&mut self, from: u32, to: u32) -> bool {
        if from == to {
            return false;
        }
        let (lower, upper) = (self.position[to as usize], self.position[from as usize]);
        if lower > upper {
            self.link(from, to);
            return true;
        }
        // Forward from `to` among nodes ordered before `from`'s position (or `from` itself).
        self.stamp += 1;
        let mut forward = Vec::new();
        let mut stack = vec![to];
        self.mark[to as usize] = self.stamp;
        while let Some(n) = stack.pop() {
            forward.push(n);
            for i in 0..self.out[n as usize].len() {
                let next = self.out[n as usize][i];
                if next == from {
                    return false;
                }
                if self.mark[next as usize] != self.stamp && self.position[next as usize] < upper {
                    self.mark[next as usize] = self.stamp;
                    stack.push(next);
                }
            }
        }
        // Backward from `from` among nodes ordered after `to`'s position.
        self.stamp += 1;
        let mut backward = Vec::new();
        stack.push(from);
        self.mark[from as usize] = self.stamp;
        while let Some(n) = stack.pop() {
            backward.push(n);
            for i in 0..self.into[n as usize].len() {
                let prev = self.into[n as usize][i];
                if self.mark[prev as usize] != self.stamp && self.position[prev as usize] > lower {
                    self.mark[prev as usize] = self.stamp;
                    stack.push(prev);
                }
            }
        }
        self.reorder(backward, forward);
        self.link(from, to);
        true
    }

    /// Every edge added, by source.
    pub(crate) fn edges(&self) -> Vec<(u32, u32)> {
        let mut all = Vec::with_capacity(self.into.iter().map(Vec::len).sum());
        for (from, targets) in self.out.iter().enumerate() {
            all.extend(targets.iter().map(|&to| (from as u32, to)));
        }
        all
    }

    fn link(&mut self, from: u32, to: u32) {
        self.out[from as usize].push(to);
        self.into[to as usize].push(from);
    }

    /// Moves `backward` (the nodes reaching the new edge's source) before `forward` (those
    /// reached from its target), each keeping its relative order, into the positions the two
    /// sets held.
    fn reorder(&mut self, mut backward: Vec<u32>, mut forward: Vec<u32>) {
        let by_position =
            |order: &Self, nodes: &mut Vec<u32>| nodes.sort_unstable_by_key(|&n| order.position[n as usize]);
        by_position(self, &mut backward);
        by_position(self, &mut forward);
        let mut slots: Vec<u32> = backward
            .iter()
            .chain(&forward)
            .map(|&n| self.position[n as usize])
            .collect();
        slots.sort_unstable();
        for (&slot, &n) in slots.iter().zip(backward.iter().chain(&forward)) {
            self.position[n as usize] = slot;
            self.node_at[slot as usize] = n;
        }
    }

    /// True when the order is a topological order of the edges added (for tests).
    #[cfg(test)]
    fn is_topological(&self) -> bool {
        (0..self.out.len()).all(|a| {
            self.out[a]
                .iter()
                .all(|&b| self.position[a] < self.position[b as usize])
        }) && (0..self.node_at.len()).all(|p| self.position[self.node_at[p] as usize] == p as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// True when `to` reaches `from` through `edges` (so `from -> to` would close a cycle).
    fn reaches(edges: &[(u32, u32)], from: u32, to: u32) -> bool {
        let mut seen = vec![to];
        let mut stack = vec![to];
        while let Some(n) = stack.pop() {
            if n == from {
                return true;
            }
            for &(a, b) in edges {
                if a == n && !seen.contains(&b) {
                    seen.push(b);
                    stack.push(b);
                }
            }
        }
        false
    }

    #[test]
    fn refuses_exactly_the_edges_that_close_a_cycle_and_keeps_a_topological_order() {
        let mut rng = StdRng::seed_from_u64(9);
        let (mut refused, mut backward) = (0, 0);
        for _ in 0..300 {
            let mut order = DynamicOrder::default();
            let mut edges: Vec<(u32, u32)> = Vec::new();
            let nodes = rng.random_range(2..14u32);
            for _ in 0..nodes {
                order.add_node();
            }
            for _ in 0..rng.random_range(0..40) {
                let (a, b) = (rng.random_range(0..nodes), rng.random_range(0..nodes));
                if order.position[a as usize] > order.position[b as usize] {
                    backward += 1;
                }
                let closes = a == b || reaches(&edges, a, b);
                assert_eq!(order.add_edge(a, b), !closes, "{edges:?} + {a}->{b}");
                if closes {
                    refused += 1;
                } else {
                    edges.push((a, b));
                }
                assert!(order.is_topological(), "{edges:?}");
                let mut kept = order.edges();
                kept.sort_unstable();
                let mut added = edges.clone();
                added.sort_unstable();
                assert_eq!(kept, added);
            }
        }
        assert!(
            refused > 500 && backward > 2000,
            "{refused} refused, {backward} backward"
        );
    }
}
