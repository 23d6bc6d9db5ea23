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

    /// Adds every edge of `other` (edges are sorted when frozen, so order does not matter).
    pub(crate) fn append(&mut self, mut other: EdgeList) {
        // The shorter list is copied onto the longer one.
        if other.edges.len() > self.edges.len() {
            std::mem::swap(&mut self.edges, &mut other.edges);
        }
        self.edges.append(&mut other.edges);
    }

    pub(crate) fn len(&self) -> usize {
        self.edges.len()
    }

    /// Merges duplicate pairs and freezes the graph over `nodes` nodes.
    pub(crate) fn freeze(mut self, nodes: usize) -> DepGraph {
        sort_by_pair(&mut self.edges, nodes);
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

/// Sorts edges by (source, target). Large lists are cut in place by source node into one part
/// per core, and the parts (disjoint, ordered ranges of sources) are sorted side by side; the
/// result is the same as one sort's (equal pairs are merged afterwards whatever their order).
fn sort_by_pair(edges: &mut [(u32, u32, u8)], nodes: usize) {
    let pair = |&(a, b, _): &(u32, u32, u8)| ((a as u64) << 32) | b as u64;
    let parts = super::parallel::parts_for(edges.len());
    if parts <= 1 {
        edges.sort_unstable_by_key(pair);
        return;
    }
    let sources = super::parallel::ranges(nodes, parts);
    let mut pieces: Vec<&mut [(u32, u32, u8)]> = Vec::with_capacity(sources.len());
    let mut rest = edges;
    for bound in sources.iter().take(sources.len() - 1).map(|r| r.end as u32) {
        let cut = partition(rest, |e| e.0 < bound);
        let (low, high) = rest.split_at_mut(cut);
        pieces.push(low);
        rest = high;
    }
    pieces.push(rest);
    std::thread::scope(|s| {
        let mut pieces = pieces.into_iter();
        let first = pieces.next().expect("one piece at least");
        for piece in pieces {
            s.spawn(move || piece.sort_unstable_by_key(pair));
        }
        first.sort_unstable_by_key(pair);
    });
}

/// Moves the items that pass `low` to the front (in no particular order) and returns how many
/// there are.
fn partition<T>(items: &mut [T], low: impl Fn(&T) -> bool) -> usize {
    let mut kept = 0;
    for i in 0..items.len() {
        if low(&items[i]) {
            items.swap(kept, i);
            kept += 1;
        }
    }
    kept
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
    ///
    /// A node with no predecessor left cannot lie on a cycle: such nodes are peeled off here,
    /// repeatedly, walking the frozen graph in place, and only the edges between the nodes
    /// left (none, for the usual acyclic graph) are copied out for the search. The components
    /// are those of the whole graph (no node of a cycle is ever peeled).
    pub(crate) fn cyclic_components_where(&self, keep: impl Fn(u8) -> bool) -> Vec<Vec<u32>> {
        let nodes = self.csr.node_count();
        let kept_targets = |a: usize| {
            let (targets, kinds) = self.out(a);
            targets
                .iter()
                .zip(kinds)
                .filter(|&(_, &k)| keep(k))
                .map(|(&b, _)| b as usize)
        };
        let alive = super::scc::unpeeled(nodes, |a, sink| kept_targets(a).for_each(sink));
        let mut edges: Vec<(u32, u32)> = Vec::new();
        for a in (0..nodes).filter(|&a| alive[a]) {
            edges.extend(
                kept_targets(a)
                    .filter(|&b| alive[b])
                    .map(|b| (a as u32, b as u32)),
            );
        }
        if edges.is_empty() {
            return Vec::new();
        }
        super::scc::cyclic_sccs(nodes, &edges)
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

    #[test]
    fn sorting_in_parts_gives_the_one_sort_result() {
        // A scrambled list with repeats, self-loops and edges at both ends of the node range.
        let nodes = 50;
        let edges: Vec<(usize, usize, u8)> = (0..600u64)
            .map(|i| {
                let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 17;
                ((x % nodes) as usize, ((x / 7) % nodes) as usize, 1 << (x % 5))
            })
            .chain([(49, 0, WW), (0, 49, RW), (49, 49, WR)])
            .collect();
        let frozen = |parts: usize| {
            super::super::parallel::with_parts(parts, || {
                let mut list = EdgeList::default();
                for &(a, b, k) in &edges {
                    list.add(a, b, k);
                }
                let g = list.freeze(nodes as usize);
                (0..nodes as usize)
                    .map(|n| {
                        let (t, k) = g.out(n);
                        (t.to_vec(), k.to_vec())
                    })
                    .collect::<Vec<_>>()
            })
        };
        let one = frozen(1);
        assert_eq!(
            one.iter().map(|(t, _)| t.len()).sum::<usize>(),
            344,
            "distinct pairs"
        );
        for parts in [2, 3, 7] {
            assert_eq!(frozen(parts), one, "{parts} parts");
        }
    }
}
