//! Strongly connected components of large graphs without deep recursion trouble.
//!
//! petgraph's Tarjan SCC is recursive, so a long dependency chain (a million transactions)
//! would overflow the stack. First every node that cannot lie on a cycle is peeled off
//! (iteratively removing nodes with no remaining predecessor, then those with no remaining
//! successor); usually nothing is left. What remains is compacted and handed to petgraph's
//! `tarjan_scc` on a thread whose stack is sized to it.

use petgraph::csr::Csr;

/// The strongly connected components with more than one node of the graph with `nodes` nodes
/// and the given edges; each sorted, ordered by their smallest node.
pub(crate) fn cyclic_sccs(nodes: usize, edges: &[(u32, u32)]) -> Vec<Vec<u32>> {
    let mut alive = vec![true; nodes];
    peel(nodes, edges, &mut alive, false);
    peel(nodes, edges, &mut alive, true);
    let mut id = vec![u32::MAX; nodes];
    let mut core: Vec<u32> = Vec::new();
    for (n, &live) in alive.iter().enumerate() {
        if live {
            id[n] = core.len() as u32;
            core.push(n as u32);
        }
    }
    if core.is_empty() {
        return Vec::new();
    }
    let mut core_edges: Vec<(u32, u32)> = edges
        .iter()
        .filter(|&&(a, b)| alive[a as usize] && alive[b as usize] && a != b)
        .map(|&(a, b)| (id[a as usize], id[b as usize]))
        .collect();
    core_edges.sort_unstable();
    core_edges.dedup();
    let core_len = core.len();
    let stack = 32 * 1024 * 1024 + core_len * 1024;
    let found = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let with_unit: Vec<(u32, u32, ())> = core_edges.into_iter().map(|(a, b)| (a, b, ())).collect();
            let mut g: Csr<(), (), petgraph::Directed, u32> =
                Csr::from_sorted_edges(&with_unit).expect("edges were sorted");
            while g.node_count() < core_len {
                g.add_node(());
            }
            petgraph::algo::tarjan_scc(&g)
        })
        .expect("spawn the SCC thread")
        .join()
        .expect("the SCC thread does not panic");
    let mut out: Vec<Vec<u32>> = found
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut c: Vec<u32> = c.into_iter().map(|n| core[n as usize]).collect();
            c.sort_unstable();
            c
        })
        .collect();
    out.sort_unstable_by_key(|c| c[0]);
    out
}

/// The nodes left after peeling off, repeatedly, every node with no predecessor left (they
/// cannot lie on a cycle), walking a graph given by `successors` (which calls its sink once per
/// edge out of a node) in place, without a copy of its edges. Nodes of cycles are never peeled,
/// so the strongly connected components of the nodes left are those of the whole graph.
pub(crate) fn unpeeled(nodes: usize, successors: impl Fn(usize, &mut dyn FnMut(usize))) -> Vec<bool> {
    let mut predecessors = vec![0u32; nodes];
    for a in 0..nodes {
        successors(a, &mut |b| {
            if b != a {
                predecessors[b] += 1;
            }
        });
    }
    let mut alive = vec![true; nodes];
    let mut sources: Vec<usize> = (0..nodes).filter(|&n| predecessors[n] == 0).collect();
    while let Some(a) = sources.pop() {
        alive[a] = false;
        successors(a, &mut |b| {
            if b != a {
                predecessors[b] -= 1;
                if predecessors[b] == 0 {
                    sources.push(b);
                }
            }
        });
    }
    alive
}

/// Removes (marks dead) every node with no live predecessor (or, `reverse`, successor),
/// repeatedly.
fn peel(nodes: usize, edges: &[(u32, u32)], alive: &mut [bool], reverse: bool) {
    let ends = |&(a, b): &(u32, u32)| {
        if reverse {
            (b as usize, a as usize)
        } else {
            (a as usize, b as usize)
        }
    };
    let mut degree = vec![0u32; nodes];
    let mut start = vec![0u32; nodes + 1];
    for e in edges {
        let (from, to) = ends(e);
        if alive[from] && alive[to] && from != to {
            degree[to] += 1;
            start[from + 1] += 1;
        }
    }
    for i in 0..nodes {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut targets = vec![0u32; start[nodes] as usize];
    for e in edges {
        let (from, to) = ends(e);
        if alive[from] && alive[to] && from != to {
            targets[fill[from] as usize] = to as u32;
            fill[from] += 1;
        }
    }
    let mut queue: Vec<usize> = (0..nodes).filter(|&n| alive[n] && degree[n] == 0).collect();
    while let Some(n) = queue.pop() {
        alive[n] = false;
        for &t in &targets[start[n] as usize..start[n + 1] as usize] {
            let t = t as usize;
            degree[t] -= 1;
            if degree[t] == 0 && alive[t] {
                queue.push(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_chains_and_big_cycles_do_not_overflow() {
        let n = 2_000_000u32;
        let chain: Vec<(u32, u32)> = (0..n - 1).map(|i| (i, i + 1)).collect();
        assert!(cyclic_sccs(n as usize, &chain).is_empty());
        let mut ring = chain.clone();
        ring.push((n - 1, 0));
        let sccs = cyclic_sccs(n as usize, &ring);
        assert_eq!(sccs.len(), 1);
        assert_eq!(sccs[0].len(), n as usize);
    }

    #[test]
    fn peeling_keeps_cycles_and_what_they_reach() {
        // 0 -> 1 <-> 2 -> 3; 4 -> 4 (a self loop is ignored); 5 alone.
        let edges: [(usize, usize); 5] = [(0, 1), (1, 2), (2, 1), (2, 3), (4, 4)];
        let alive = unpeeled(6, |a, sink| {
            edges.iter().filter(|e| e.0 == a).for_each(|e| sink(e.1));
        });
        assert_eq!(alive, vec![false, true, true, true, false, false]);
        let chain = unpeeled(4, |a, sink| {
            if a < 3 {
                sink(a + 1);
            }
        });
        assert!(!chain.contains(&true));
    }

    #[test]
    fn finds_components_behind_tails() {
        // 0 -> 1 <-> 2 -> 3, 4 <-> 5, 6 -> 6 (self loops are not cycles here)
        let edges = [(0, 1), (1, 2), (2, 1), (2, 3), (4, 5), (5, 4), (6, 6)];
        assert_eq!(cyclic_sccs(7, &edges), vec![vec![1, 2], vec![4, 5]]);
    }
}
