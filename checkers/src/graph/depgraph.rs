//! The dependency graph: one node per transaction, edges labelled with the kinds of dependency
//! that order them (ww, wr, rw from the data; process and realtime from the history's orders).
//!
//! Edges are collected into a list, merged (one edge per ordered pair, its kinds OR-ed as bits)
//! and frozen into a compressed sparse row graph from petgraph, which the SCC and cycle searches
//! walk.

use petgraph::csr::Csr;

/// Bits for edge kinds; an edge may carry several.
pub(crate) mod kind {
    /// Write-write: the source's write is followed by the target's in the version order.
    pub const WW: u8 = 1;
    /// Write-read: the target read the source's write.
    pub const WR: u8 = 2;
    /// Read-write (anti-dependency): the source read a version the target overwrote.
    pub const RW: u8 = 4;
    /// Process order: the same process ran the source, then the target.
    pub const PROCESS: u8 = 8;
    /// Real-time order: the source completed before the target was invoked.
    pub const REALTIME: u8 = 16;
    /// The data dependencies.
    pub const DATA: u8 = WW | WR | RW;

    /// The short name of one kind bit.
    pub fn name(bit: u8) -> &'static str {
        match bit {
            WW => "ww",
            WR => "wr",
            RW => "rw",
            PROCESS => "process",
            REALTIME => "realtime",
            _ => "?",
        }
    }
}

/// Collects edges before the graph is frozen.
#[derive(Debug, Default)]
pub(crate) struct EdgeList {
    edges: Vec<(u32, u32, u8)>,
}

impl EdgeList {
    /// Adds an edge `from -> to` of the given kinds; self-edges are ignored (a transaction does
    /// not depend on itself).
    pub(crate) fn add(&mut self, from: usize, to: usize, kinds: u8) {
        if from != to {
            self.edges.push((from as u32, to as u32, kinds));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.edges.len()
    }

    /// Merges duplicate pairs and freezes the graph over `nodes` nodes.
    pub(crate) fn freeze(mut self, nodes: usize) -> DepGraph {
        self.edges
            .sort_unstable_by_key(|&(a, b, _)| ((a as u64) << 32) | b as u64);
        // Merged in place: one edge per pair, its kinds OR-ed.
        let mut merged = self.edges;
        let mut kept = 0;
        for i in 0..merged.len() {
            let (a, b, k) = merged[i];
            if kept > 0 && merged[kept - 1].0 == a && merged[kept - 1].1 == b {
                merged[kept - 1].2 |= k;
            } else {
                merged[kept] = (a, b, k);
                kept += 1;
            }
        }
        merged.truncate(kept);
        debug_assert!(
            merged.iter().all(|e| (e.0.max(e.1) as usize) < nodes),
            "edge to a node out of range"
        );
        let csr = Csr::from_sorted_edges(&merged).expect("edges were sorted just above");
        DepGraph { csr }
    }
}

/// A frozen dependency graph.
#[derive(Debug)]
pub(crate) struct DepGraph {
    /// The edges; nodes past the last one with an edge are left out.
    pub csr: Csr<(), u8, petgraph::Directed, u32>,
}

impl DepGraph {
    /// The out-edges of a node: targets and their kind bits.
    pub(crate) fn out(&self, node: usize) -> (&[u32], &[u8]) {
        if node >= self.csr.node_count() {
            return (&[], &[]);
        }
        let n = node as u32;
        (self.csr.neighbors_slice(n), self.csr.edges_slice(n))
    }

    /// The kinds of the edge `from -> to`, or 0 when there is none.
    pub(crate) fn kinds(&self, from: usize, to: usize) -> u8 {
        let (targets, kinds) = self.out(from);
        match targets.binary_search(&(to as u32)) {
            Ok(i) => kinds[i],
            Err(_) => 0,
        }
    }

    /// The number of distinct edges.
    pub(crate) fn edge_count(&self) -> usize {
        self.csr.edge_count()
    }

    /// Strongly connected components with more than one node, each sorted, using only edges
    /// whose kinds intersect `mask`.
    pub(crate) fn cyclic_components(&self, mask: u8) -> Vec<Vec<u32>> {
        self.cyclic_components_where(|k| k & mask != 0)
    }

    /// Strongly connected components with more than one node, each sorted, using only edges
    /// whose kinds pass `keep`.
    pub(crate) fn cyclic_components_where(&self, keep: impl Fn(u8) -> bool) -> Vec<Vec<u32>> {
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for a in 0..self.csr.node_count() {
            let (targets, kinds) = self.out(a);
            for (&b, &k) in targets.iter().zip(kinds) {
                if keep(k) {
                    edges.push((a as u32, b));
                }
            }
        }
        super::scc::cyclic_sccs(self.csr.node_count(), &edges)
    }
}

#[cfg(test)]
mod tests {
    use super::kind::*;
    use super::*;

    #[test]
    fn merges_kinds_and_finds_components() {
        let mut e = EdgeList::default();
        e.add(0, 1, WW);
        e.add(0, 1, PROCESS);
        e.add(1, 0, RW);
        e.add(2, 2, WW);
        e.add(2, 3, WR);
        let g = e.freeze(5);
        assert_eq!(g.kinds(0, 1), WW | PROCESS);
        assert_eq!(g.kinds(1, 0), RW);
        assert_eq!(g.kinds(2, 2), 0, "no self edges");
        assert_eq!(g.kinds(4, 0), 0);
        assert_eq!(g.cyclic_components(DATA), vec![vec![0, 1]]);
        assert!(g.cyclic_components(WW | WR).is_empty());
        assert_eq!(g.edge_count(), 3);
    }
}
