//! Process and real-time orders between transactions, as sparse edges.
//!
//! Process order links each transaction of a process to the next transaction of that process
//! that may have committed. Real-time order (a completed before b was invoked) would be
//! quadratic if written out; instead each transaction is linked only from the *frontier*: the
//! ok transactions that completed before its invocation and are not already implied by a later
//! completed one. Every real-time pair is then connected by a path of realtime edges.

use super::depgraph::{EdgeList, kind};
use super::txn::TxnSet;
use crate::history::{History, Outcome};

/// Adds process-order edges: for each process, consecutive possibly-committed transactions.
/// (After an info completion a process never runs again, so only its last one can be info.)
pub(crate) fn add_process_edges(set: &TxnSet, edges: &mut EdgeList) {
    let mut last_of_process: rustc_hash::FxHashMap<u64, usize> = Default::default();
    for (t, txn) in set.txns.iter().enumerate() {
        if !txn.possibly_committed() {
            continue;
        }
        if let Some(prev) = last_of_process.insert(txn.process, t) {
            edges.add(prev, t, kind::PROCESS);
        }
    }
}

/// Timing of one operation for the real-time frontier.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// Position of the invocation in the history's events.
    pub invoke: usize,
    /// Position of the completion, for operations that completed ok.
    pub ok_complete: Option<usize>,
    /// Whether the operation is a node of interest (may have committed).
    pub node: bool,
}

/// The timing of every transaction of `set`.
pub(crate) fn timings(history: &History, set: &TxnSet) -> Vec<Timing> {
    set.txns
        .iter()
        .map(|t| {
            let op = &history.ops[t.op as usize];
            Timing {
                invoke: op.invoke,
                ok_complete: if op.outcome == Outcome::Ok {
                    op.complete
                } else {
                    None
                },
                node: t.possibly_committed(),
            }
        })
        .collect()
}

/// Calls `link(a, b)` for a sparse set of pairs whose transitive closure is exactly the
/// real-time order "a completed ok before b was invoked" among nodes. `items` are indices into
/// `timings`, in any order.
pub(crate) fn realtime_pairs(timings: &[Timing], items: &[usize], mut link: impl FnMut(usize, usize)) {
    // Events in history order: (position, is_completion, item).
    let mut events: Vec<(usize, bool, usize)> = Vec::with_capacity(items.len() * 2);
    for &i in items {
        let t = timings[i];
        if !t.node {
            continue;
        }
        events.push((t.invoke, false, i));
        if let Some(c) = t.ok_complete {
            events.push((c, true, i));
        }
    }
    events.sort_unstable();
    // The frontier, each entry with the history position at which it joined. An entry that
    // joined before b's invocation and is still there when b completes was seen by b, so it is
    // now implied through b and leaves.
    let mut frontier: Vec<(usize, usize)> = Vec::new();
    for (pos, is_completion, i) in events {
        if !is_completion {
            for &(_, f) in &frontier {
                link(f, i);
            }
        } else {
            let invoked = timings[i].invoke;
            frontier.retain(|&(joined, _)| joined > invoked);
            frontier.push((pos, i));
        }
    }
}

/// Adds realtime edges between all possibly-committed transactions.
pub(crate) fn add_realtime_edges(timings: &[Timing], edges: &mut EdgeList) {
    let items: Vec<usize> = (0..timings.len()).collect();
    realtime_pairs(timings, &items, |a, b| edges.add(a, b, kind::REALTIME));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Transitive closure of the sparse pairs equals the brute-force real-time order.
    #[test]
    fn frontier_closure_matches_brute_force() {
        for seed in 0..300u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let n = rng.random_range(1..12usize);
            // Random intervals over positions 0..4n, distinct positions.
            let mut positions: Vec<usize> = (0..4 * n).collect();
            for i in (1..positions.len()).rev() {
                positions.swap(i, rng.random_range(0..=i));
            }
            let timings: Vec<Timing> = (0..n)
                .map(|i| {
                    let (a, b) = (positions[2 * i], positions[2 * i + 1]);
                    let (inv, comp) = (a.min(b), a.max(b));
                    let r = rng.random_range(0..4);
                    Timing {
                        invoke: inv,
                        ok_complete: (r != 0).then_some(comp),
                        node: r != 3,
                    }
                })
                .collect();
            let mut reach = vec![vec![false; n]; n];
            realtime_pairs(&timings, &(0..n).collect::<Vec<_>>(), |a, b| reach[a][b] = true);
            for k in 0..n {
                for i in 0..n {
                    for j in 0..n {
                        if reach[i][k] && reach[k][j] {
                            reach[i][j] = true;
                        }
                    }
                }
            }
            for a in 0..n {
                for b in 0..n {
                    let ta = timings[a];
                    let tb = timings[b];
                    let expected = ta.node && tb.node && ta.ok_complete.is_some_and(|c| c < tb.invoke);
                    assert_eq!(reach[a][b], expected, "seed {seed}: {a} -> {b} in {timings:?}");
                }
            }
        }
    }
}
