//! Quick refutations before the search, for the two commonest ways a register goes wrong.
//!
//! The search refutes a key by exhausting every order of its operations, which can take
//! exponentially long; these checks are linear (or close to it) and exact when they fire:
//!
//! - **Unexplained**: a read of `v` (or a cas expecting `v`) that must take effect before it
//!   returns needs some write of `v` (or cas to `v`) invoked before that return, unless `v` is
//!   the initial value. When there is none, no order can explain it.
//! - **Overwritten**: when exactly one operation produces `v` (and `v` is not the initial
//!   value), the register holds `v` without a break from that operation until the last
//!   operation that needs `v` (nothing else can bring `v` back). An operation that must come
//!   after the producer (it was invoked after the producer, or some operation needing `v`,
//!   returned) and before an operation needing `v` (it returned before that one was invoked),
//!   and that cannot leave the register holding `v` (a write of another value, a read that saw
//!   another value, ...), is a contradiction: the stale read of a value written once and then
//!   overwritten.
//! - **Unsourced** (`unsourced`): the same for values produced any number of times: every
//!   producer that could be the source of the value an operation needs was followed, before
//!   that operation began, by one that cannot leave the register holding the value.

use super::model::Action;
use super::partition::{INITIAL, LinOp};
use super::prepare::{self, needs, produces};
use super::search::{Limits, Outcome, Stats};
use rustc_hash::FxHashMap;

mod unsourced;
pub(crate) use unsourced::unsourced;

/// The required operation, earliest return first, that needs a value no operation invoked
/// before its return produces (and that is not the initial value `initial`).
pub(crate) fn unexplained(ops: &[LinOp], initial: u32) -> Option<u32> {
    // Operations are in invocation order, so the first producer seen is the earliest.
    let mut first_producer: FxHashMap<u32, usize> = FxHashMap::default();
    for op in ops {
        if let Action::Write(v) | Action::Cas(_, v) = op.action {
            first_producer.entry(v).or_insert(op.call);
        }
    }
    ops.iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let ret = op.ret?;
            let needed = match op.action {
                Action::Read(v) | Action::Cas(v, _) => v,
                Action::Write(_) | Action::ReadOther(_) => return None,
            };
            let explained = needed == initial || first_producer.get(&needed).is_some_and(|&call| call < ret);
            (!explained).then_some((ret, i as u32))
        })
        .min()
        .map(|(_, i)| i)
}

/// The required operation that needs a value its only producer left before an operation that
/// had to come in between overwrote it (see the module comment): the one with the earliest
/// return among those found.
pub(crate) fn overwritten(ops: &[LinOp], initial: u32) -> Option<u32> {
    let n_values = ops.iter().filter_map(|o| produces(o.action)).max()? as usize + 1;
    let mut producers = vec![0u32; n_values];
    let mut producer = vec![0u32; n_values];
    for (i, op) in ops.iter().enumerate() {
        if let Some(v) = produces(op.action) {
            producers[v as usize] += 1;
            producer[v as usize] = i as u32;
        }
    }
    // Per value with one producer: the required operations needing it, in invocation order.
    let mut needers: Vec<Vec<u32>> = vec![Vec::new(); n_values];
    for (i, op) in ops.iter().enumerate() {
        if let (Some(_), Some(v)) = (op.ret, needs(op.action))
            && v != initial
            && producers.get(v as usize) == Some(&1)
            && producer[v as usize] != i as u32
        {
            needers[v as usize].push(i as u32);
        }
    }
    let calls: Vec<usize> = ops.iter().map(|o| o.call).collect();
    let mut budget = SCAN_BUDGET_PER_OP.saturating_mul(ops.len()).max(1 << 20);
    let mut found: Option<(usize, u32)> = None;
    for (v, needing) in needers.iter().enumerate() {
        let Some(&last) = needing.last() else { continue };
        // Everything invoked after this returned comes after the producer: the producer's
        // return, or that of an operation needing v (which comes after the producer).
        let anchor = needing
            .iter()
            .filter_map(|&n| ops[n as usize].ret)
            .chain(ops[producer[v] as usize].ret)
            .min()
            .unwrap_or(usize::MAX);
        let latest_call = ops[last as usize].call;
        let start = calls.partition_point(|&c| c <= anchor);
        let between = ops[start..].iter().take_while(|o| o.call < latest_call);
        let mut breaker = None;
        for op in between {
            if budget == 0 {
                return found.map(|(_, culprit)| culprit);
            }
            budget -= 1;
            if let Some(ret) = op.ret.filter(|&r| r < latest_call)
                && !keeps(op.action, v as u32)
            {
                breaker = Some(ret);
                break;
            }
        }
        // The first operation needing v invoked after the breaker returned.
        if let Some(ret) = breaker
            && let Some(&culprit) = needing.get(needing.partition_point(|&n| ops[n as usize].call < ret))
        {
            let culprit_ret = ops[culprit as usize].ret.unwrap_or(usize::MAX);
            if found.is_none_or(|(r, _)| culprit_ret < r) {
                found = Some((culprit_ret, culprit));
            }
        }
    }
    found.map(|(_, culprit)| culprit)
}

/// True if an operation can take effect while the register holds `v` and leave it holding `v`.
pub(crate) fn keeps(action: Action, v: u32) -> bool {
    match action {
        Action::Read(r) => r == v,
        Action::Cas(e, n) => e == v && n == v,
        Action::ReadOther(e) => e != v,
        Action::Write(w) => w == v,
    }
}

/// Operations the overwritten check may look at, per operation of the key (it stops early,
/// finding nothing, when a pathological history would make it quadratic).
const SCAN_BUDGET_PER_OP: usize = 64;

/// Steps the search may spend on the prefix before the culprit, for the explanation only.
pub(crate) const PREFIX_STEPS: u64 = 2_000_000;

/// The outcome for a key whose operation `culprit` a check above refuted: not linearizable,
/// with the longest order a budgeted search finds for what happened before the culprit was
/// invoked: the operations completed by then, plus the writes still in flight as optional
/// (they may or may not have taken effect yet).
pub(crate) fn refute(ops: &[LinOp], culprit: u32, limits: Limits<'_>) -> (Outcome, Stats) {
    let before = ops[culprit as usize].call;
    let mut prefix = Vec::new();
    let mut original = Vec::new();
    for (i, op) in ops[..culprit as usize].iter().enumerate() {
        let in_flight = op.ret.is_none_or(|r| r > before);
        let op = match op.action {
            Action::Read(_) | Action::ReadOther(_) if in_flight => continue,
            Action::Write(_) | Action::Cas(..) if in_flight => LinOp { ret: None, ..*op },
            _ => *op,
        };
        prefix.push(op);
        original.push(i as u32);
    }
    // The explanation has its own budget, and finishes even when other keys' searches stop.
    let limits = Limits {
        max_steps: PREFIX_STEPS,
        stop: None,
        ..limits
    };
    let (found, stats) = prepare::longest_prefix(&prefix, INITIAL, limits);
    let refuted = Outcome::NotLinearizable {
        longest: found.order.iter().map(|&i| original[i as usize]).collect(),
        complete: found.complete,
        culprit,
        state: found.state,
    };
    (refuted, stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_values_nothing_wrote_in_time() {
        let ops = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(2, Some(3), Action::Read(1)),
            LinOp::at(4, Some(7), Action::Read(2)), // 2 is written only after it returned
            LinOp::at(5, Some(6), Action::Read(0)), // the initial value
            LinOp::at(8, None, Action::Write(2)),
            LinOp::at(9, Some(10), Action::Cas(3, 1)), // nothing writes 3
        ];
        assert_eq!(unexplained(&ops, 0), Some(2));
        assert_eq!(unexplained(&ops[..2], 0), None);
        assert_eq!(unexplained(&ops[3..], 0), Some(2), "the cas expecting 3");
        let (outcome, _) = refute(&ops, 2, Limits::default());
        assert_eq!(
            outcome,
            Outcome::NotLinearizable {
                longest: vec![0, 1],
                complete: true,
                culprit: 2,
                state: 1
            }
        );
    }

    #[test]
    fn finds_reads_of_values_overwritten_in_between() {
        let stale = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(2, Some(3), Action::Write(2)), // after the write of 1, before the read
            LinOp::at(4, Some(5), Action::Read(1)),
        ];
        assert_eq!(overwritten(&stale, 0), Some(2));
        // The second write overlaps the read: it may come after it.
        let overlapping = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(2, Some(5), Action::Write(2)),
            LinOp::at(4, Some(6), Action::Read(1)),
        ];
        assert_eq!(overwritten(&overlapping, 0), None);
        // Two writes of 1: the second may bring it back.
        let rewritten = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(2, Some(3), Action::Write(2)),
            LinOp::at(4, None, Action::Write(1)),
            LinOp::at(6, Some(7), Action::Read(1)),
        ];
        assert_eq!(overwritten(&rewritten, 0), None);
        // An unknown write of 1 is before the first read of it, and a read of 2 comes between
        // that read and another read of 1; reads of 1 and a failed cas expecting 2 in between
        // keep the value.
        let read_twice = [
            LinOp::at(0, None, Action::Write(1)),
            LinOp::at(1, None, Action::Write(2)),
            LinOp::at(2, Some(3), Action::Read(1)),
            LinOp::at(4, Some(5), Action::Read(1)),
            LinOp::at(6, Some(7), Action::ReadOther(2)),
            LinOp::at(8, Some(9), Action::Read(2)),
            LinOp::at(10, Some(11), Action::Read(1)),
        ];
        assert_eq!(overwritten(&read_twice, 0), Some(6));
        assert_eq!(overwritten(&read_twice[..6], 0), None);
        // Values equal to the initial one are left to the search (they need no producer).
        let initial = [
            LinOp::at(0, Some(1), Action::Write(0)),
            LinOp::at(2, Some(3), Action::Write(2)),
            LinOp::at(4, Some(5), Action::Read(0)),
        ];
        assert_eq!(overwritten(&initial, 0), None);
    }
}
