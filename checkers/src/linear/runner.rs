//! Runs the per-key searches on all cores, cheapest first, and stops once the verdict is decided.
//!
//! Keys are independent (P-compositionality), so each is searched on its own. First every key
//! gets the linear pre-checks (`precheck`) and a cost estimate; workers then take keys from a
//! shared counter (plain `std::thread::scope`, no async runtime) in this order: keys a pre-check
//! already refuted, then the others by estimated cost, cheapest first. One failing key makes
//! the history not linearizable, so unless every key must be decided, the first failure stops
//! the searches still running and leaves the remaining keys unsearched (reported as such).
//! Every witness a search returns is checked independently (`witness`) before the key can be
//! called linearizable.

use super::partition::{INITIAL, KeyHistory, LinOp};
use super::search::{GaveUp, Limits, Outcome, Stats};
use super::{key_label, precheck, prepare, window, witness};
use rustc_hash::FxHashSet;
use std::collections::BinaryHeap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Progress of a check, reported as keys start and finish (from any thread).
#[derive(Debug, Clone, Copy)]
pub struct KeyProgress<'a> {
    /// Keys decided so far.
    pub done: usize,
    /// Keys in all.
    pub total: usize,
    /// The keys being searched now (as `key_label` names them) with their operation counts.
    pub searching: &'a [(String, usize)],
}

/// How to run the searches.
pub(crate) struct RunOptions<'a> {
    /// Give up on the keys not decided by then.
    pub deadline: Option<Instant>,
    /// Memory for the searches' caches, shared by the searches running at once (0: no limit).
    pub max_cache_bytes: usize,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Decide every key, instead of stopping at the first that fails.
    pub all_keys: bool,
    /// Called as keys start and finish.
    pub progress: &'a (dyn Fn(&KeyProgress<'_>) + Sync),
}

/// Searches the keys; results come back in the order of `keys`. Keys left unsearched because
/// another failed come back as `GaveUp(Stopped)`.
pub(crate) fn run_all(keys: &[KeyHistory], opts: &RunOptions<'_>) -> Vec<(Outcome, Stats)> {
    let refuted: Vec<Option<u32>> = keys
        .iter()
        .map(|k| {
            precheck::unexplained(&k.ops, INITIAL)
                .or_else(|| precheck::overwritten(&k.ops, INITIAL))
                .or_else(|| precheck::unsourced(&k.ops, INITIAL))
        })
        .collect();
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_cached_key(|&k| (refuted[k].is_none(), estimated_cost(&keys[k].ops)));
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(keys.len())
    .max(1);
    let stop = AtomicBool::new(false);
    let limits = Limits {
        deadline: opts.deadline,
        stop: (!opts.all_keys).then_some(&stop),
        max_cache_bytes: opts.max_cache_bytes / threads,
        max_steps: 0,
    };
    let results: Vec<Mutex<Option<(Outcome, Stats)>>> = keys.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let searching: Mutex<Vec<(usize, String, usize)>> = Mutex::new(Vec::new());
    let report = |finished: usize| {
        let now = searching.lock().unwrap_or_else(|e| e.into_inner());
        let names: Vec<(String, usize)> = now.iter().map(|(_, name, n)| (name.clone(), *n)).collect();
        (opts.progress)(&KeyProgress {
            done: finished,
            total: keys.len(),
            searching: &names,
        });
    };
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&k) = order.get(i) else { break };
            let key = &keys[k];
            let mut now = searching.lock().unwrap_or_else(|e| e.into_inner());
            now.push((k, key_label(&key.key), key.ops.len()));
            drop(now);
            report(done.load(Ordering::Relaxed));
            let result = decide(&key.ops, refuted[k], limits);
            if matches!(result.0, Outcome::NotLinearizable { .. }) && !opts.all_keys {
                stop.store(true, Ordering::Relaxed);
            }
            *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            searching
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|(s, _, _)| *s != k);
            report(done.fetch_add(1, Ordering::Relaxed) + 1);
        }
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    results
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .unwrap_or((Outcome::GaveUp(GaveUp::Stopped), Stats::default()))
        })
        .collect()
}

/// Decides one key: refuted by a pre-check (`culprit`), or searched.
fn decide(ops: &[LinOp], culprit: Option<u32>, limits: Limits<'_>) -> (Outcome, Stats) {
    let mut result = match culprit {
        Some(culprit) => precheck::refute(ops, culprit, limits),
        None => staged_search(
            ops,
            INITIAL,
            limits,
            window::STEPS_BEFORE_WINDOWS,
            &window::WIDTHS,
        ),
    };
    if let Outcome::Linearizable { witness } = &result.0
        && witness::verify(ops, INITIAL, witness).is_err()
    {
        result.0 = Outcome::GaveUp(GaveUp::BadWitness);
    }
    result
}

/// Searches a key (register starting at `initial`): first with a budget of `steps` steps; when
/// that runs out, tries to refute the key from windows (`widths` operations wide, in turn) before
/// the search's deepest dead end (see `window`), then searches in full.
pub(crate) fn staged_search(
    ops: &[LinOp],
    initial: u32,
    limits: Limits<'_>,
    steps: u64,
    widths: &[usize],
) -> (Outcome, Stats) {
    let budgeted = Limits {
        max_steps: steps,
        ..limits
    };
    let first = prepare::search(ops, initial, budgeted);
    if first.0 != Outcome::GaveUp(GaveUp::Steps) {
        return first;
    }
    // The same budgeted search again, for its deepest dead end: the operation it could not
    // place is the first return still pending after it.
    let (prefix, _) = prepare::longest_prefix(ops, initial, budgeted);
    let placed: FxHashSet<u32> = prefix.order.iter().copied().collect();
    let hint = (0..ops.len() as u32)
        .filter(|i| !placed.contains(i))
        .filter_map(|i| ops[i as usize].ret.map(|r| (r, i)))
        .min();
    match hint.and_then(|(_, hint)| window::refute(ops, initial, hint, widths, limits)) {
        Some(culprit) => {
            let (outcome, stats) = precheck::refute(ops, culprit, limits);
            let stats = Stats {
                window_refuted: true,
                ..stats
            };
            (outcome, stats)
        }
        None => prepare::search(ops, initial, limits),
    }
}

/// A rough estimate of a key's search cost, for ordering only: its operations, times the most
/// operations with a completion open at once, times the operations of unknown outcome.
fn estimated_cost(ops: &[LinOp]) -> u128 {
    let mut open: BinaryHeap<std::cmp::Reverse<usize>> = BinaryHeap::new();
    let (mut widest, mut optional) = (0usize, 0usize);
    for op in ops {
        while open.peek().is_some_and(|r| r.0 < op.call) {
            open.pop();
        }
        match op.ret {
            Some(ret) => open.push(std::cmp::Reverse(ret)),
            None => optional += 1,
        }
        widest = widest.max(open.len());
    }
    ops.len() as u128 * (1 + widest as u128) * (1 + optional as u128)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::model::Action;

    #[test]
    fn wide_keys_and_unknown_outcomes_cost_more() {
        let sequential: Vec<LinOp> = (0..10)
            .map(|i| LinOp::at(2 * i, Some(2 * i + 1), Action::Write(1)))
            .collect();
        let overlapping: Vec<LinOp> = (0..10)
            .map(|i| LinOp::at(i, Some(20 + i), Action::Write(1)))
            .collect();
        let mut unknown = sequential.clone();
        unknown[3].ret = None;
        assert_eq!(estimated_cost(&sequential), 10 * 2);
        assert_eq!(estimated_cost(&overlapping), 10 * 11);
        assert_eq!(estimated_cost(&unknown), 10 * 2 * 2);
    }
}
