//! Runs the per-key searches on all cores.
//!
//! Keys are independent (P-compositionality), so each is searched on its own. Workers take keys
//! largest first from a shared counter (plain `std::thread::scope`, no async runtime), so one
//! huge key does not end up queued behind many small ones. Every witness a search returns is
//! checked independently (`witness`) before the key can be called linearizable.

use super::partition::{INITIAL, KeyHistory};
use super::search::{GaveUp, Limits, Outcome, Stats};
use super::witness;
use super::{precheck, prepare};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Searches every key; results come back in the order of `keys`.
/// `max_cache_bytes` is shared: each of the searches running at once gets its part.
pub(crate) fn run_all(
    keys: &[KeyHistory],
    deadline: Option<Instant>,
    max_cache_bytes: usize,
    threads: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<(Outcome, Stats)> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(keys[i].ops.len()));
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(keys.len())
    .max(1);
    let limits = Limits {
        deadline,
        max_cache_bytes: max_cache_bytes / threads,
        max_steps: 0,
    };
    let results: Vec<Mutex<Option<(Outcome, Stats)>>> = keys.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&k) = order.get(i) else { break };
            let ops = &keys[k].ops;
            let refuted = precheck::unexplained(ops, INITIAL).or_else(|| precheck::overwritten(ops, INITIAL));
            let mut result = match refuted {
                Some(culprit) => precheck::refute(ops, culprit, limits),
                None => prepare::search(ops, INITIAL, limits),
            };
            if let Outcome::Linearizable { witness } = &result.0
                && witness::verify(ops, INITIAL, witness).is_err()
            {
                result.0 = Outcome::GaveUp(GaveUp::BadWitness);
            }
            *results[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, keys.len());
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
                .expect("every key was searched")
        })
        .collect()
}
