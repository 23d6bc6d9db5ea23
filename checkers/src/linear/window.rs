//! Refuting a key from a window of its history, when the whole search would take too long.
//!
//! Proving a key not linearizable by search means exhausting every configuration from the
//! start of its history up to the violation; with many concurrent processes and few distinct
//! values (so the pre-checks do not apply) that is most of the history, times the subsets of
//! its concurrent operations. The violation itself is usually local, so this module searches
//! a suffix of the history instead, relaxed so that a refutation of the suffix is a refutation
//! of the whole:
//!
//! Cut at an invocation position `t`. In any linearization `L` of the key, let `c` be the last
//! operation of `L` that returned before `t`. Everything after `c` in `L` is an operation that
//! had not returned by `t`; every operation invoked after `t` is among them (it comes after
//! everything that returned before `t`); and the register holds some value `s` right after
//! `c` (the initial value, or one an operation invoked before `t` produced). So that tail of
//! `L` linearizes, from `s`, the *window*: the operations not returned by `t`, where those
//! invoked before `t` become optional (they may have taken effect before the cut, or after).
//! If the window has no linearization from any such `s`, the key has none. (The converse need
//! not hold: a window that linearizes says nothing, and the whole search decides the key.)
//!
//! This holds for both models and for operations of unknown outcome: every operation before
//! `c` in `L` was invoked before `t` (it cannot follow one that returned before it began), so
//! `s` is the initial value or the new value of a write or cas invoked before `t` (`produces`: a
//! cas whose new value equals its expected one, or a failed cas checked as a read, changes
//! nothing); an operation of unknown outcome stays optional in the window, whenever invoked.
//! Making operations optional and dropping their return deadlines only adds orders, so the
//! window search may say "linearizable" more often, never "not linearizable" wrongly.
//!
//! Where to cut: a budgeted search's deepest dead end names the operation that could not be
//! placed; windows start a growing number of operations before it. The operation blamed only
//! seeds the explanation (`precheck::refute`: the longest order found before it); the verdict
//! rests on the windows alone. `exactness_tests` checks both the argument (every window of
//! random small histories against a brute-force search) and this code.

use super::partition::LinOp;
use super::precheck::keeps;
use super::prepare::{self, produces};
use super::search::{Limits, Outcome};

/// Steps the whole search gets before windows are tried.
pub(crate) const STEPS_BEFORE_WINDOWS: u64 = 1 << 20;

/// Steps one window search gets (for one starting value).
const STEPS_PER_WINDOW: u64 = 1 << 22;

/// Steps all the window searches of a key get together.
const STEPS_FOR_WINDOWS: u64 = 1 << 24;

/// How many operations before the hint the windows start, in turn.
pub(crate) const WIDTHS: [usize; 3] = [64, 512, 4096];

/// Windows are not tried when more distinct values than this could be the register's at a cut
/// (one search per value; with fresh values the pre-checks decide).
const MAX_START_VALUES: usize = 8;

/// Looks for a window (see the module comment) of `ops` (in invocation order, register starting
/// at `initial`) that has no linearization, starting `widths` operations (in turn) before
/// `hint`, the operation a search could not place. Returns the operation to blame: among the
/// operations each starting value's search could not place, the one returning last.
pub(crate) fn refute(
    ops: &[LinOp],
    initial: u32,
    hint: u32,
    widths: &[usize],
    limits: Limits<'_>,
) -> Option<u32> {
    let mut budget = STEPS_FOR_WINDOWS;
    for &width in widths {
        let Some(first) = (hint as usize).checked_sub(width).filter(|&first| first > 0) else {
            // The window would be the whole history: that is the full search's job.
            return None;
        };
        let starts = starts(ops, initial, first);
        if starts.len() > MAX_START_VALUES {
            return None;
        }
        let (window, original) = window_at(ops, ops[first].call);
        let mut blamed: Option<u32> = None;
        let mut refuted = true;
        for &s in &starts {
            if budget == 0 {
                return None;
            }
            let (outcome, stats) = prepare::search(
                &window,
                s,
                Limits {
                    max_steps: STEPS_PER_WINDOW.min(budget),
                    ..limits
                },
            );
            budget = budget.saturating_sub(stats.steps);
            match outcome {
                Outcome::NotLinearizable { culprit, .. } => {
                    let culprit = original[culprit as usize];
                    if blamed.is_none_or(|b| ops[b as usize].ret < ops[culprit as usize].ret) {
                        blamed = Some(culprit);
                    }
                }
                // A wider window may refute the key where this one linearizes.
                Outcome::Linearizable { .. } => {
                    refuted = false;
                    break;
                }
                // A wider window would not be cheaper.
                Outcome::GaveUp(_) => return None,
            }
        }
        if refuted {
            return blamed;
        }
    }
    None
}

/// The values the register may hold right after the last operation (in a linearization) that
/// returned before `ops[first]` was invoked, in increasing order: the initial value and those
/// produced by operations invoked before it (see the module comment), less those ruled out.
/// Let `p` be the last operation producing the value `s` before that point `c` (the start, if
/// none). An operation `b` that returned before the cut comes before `c` or is `c`; if it was
/// also invoked after `p` returned it comes after `p`, so it must leave the register holding
/// `s` (`keeps`): one that cannot rules `p` out as the source of `s`.
pub(crate) fn starts(ops: &[LinOp], initial: u32, first: usize) -> Vec<u32> {
    let cut = ops[first].call;
    let mut candidates: Vec<u32> = ops[..first].iter().filter_map(|o| produces(o.action)).collect();
    candidates.push(initial);
    candidates.sort_unstable();
    candidates.dedup();
    candidates.retain(|&s| {
        // The latest invocation of an operation returned before the cut that cannot keep `s`.
        let breaker = ops[..first]
            .iter()
            .filter(|b| b.ret.is_some_and(|r| r < cut) && !keeps(b.action, s))
            .map(|b| b.call)
            .max();
        let Some(breaker) = breaker else { return true };
        // Some producer of `s` that may have taken effect after that breaker was invoked
        // (it had not returned by then, or its outcome is unknown).
        ops[..first]
            .iter()
            .any(|p| produces(p.action) == Some(s) && p.ret.is_none_or(|r| r > breaker))
    });
    candidates
}

/// The window of `ops` cut at invocation position `cut`: the operations not returned by then,
/// those invoked before it optional; with each one's index in `ops`.
pub(crate) fn window_at(ops: &[LinOp], cut: usize) -> (Vec<LinOp>, Vec<u32>) {
    let mut window = Vec::new();
    let mut original = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if op.ret.is_some_and(|r| r < cut) {
            continue;
        }
        let ret = if op.call < cut { None } else { op.ret };
        window.push(LinOp { ret, ..*op });
        original.push(i as u32);
    }
    (window, original)
}
