//! A quick refutation before the search: an operation that observed a value nothing could have
//! written by then.
//!
//! A read of `v` (or a cas expecting `v`) that must take effect before it returns needs some
//! write of `v` (or cas to `v`) invoked before that return, unless `v` is the initial value.
//! When there is none, no order can explain it, and the search, which refutes by exhausting
//! every order of the operations before that point, could take exponentially long to say so.

use super::model::Action;
use super::partition::{INITIAL, LinOp};
use super::search::{self, Limits, Outcome, Stats};
use rustc_hash::FxHashMap;

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

/// Steps the search may spend on the prefix before the culprit, for the explanation only.
const PREFIX_STEPS: u64 = 10_000_000;

/// The outcome for a key whose operation `culprit` is unexplained: not linearizable, with the
/// longest order the search finds for what happened before the culprit was invoked: the
/// operations completed by then, plus the writes still in flight as optional (they may or may
/// not have taken effect yet).
pub(crate) fn refute(ops: &[LinOp], culprit: u32, limits: Limits) -> (Outcome, Stats) {
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
    let limits = Limits {
        max_steps: PREFIX_STEPS,
        ..limits
    };
    let (outcome, stats) = search::search(&prefix, INITIAL, limits);
    let (order, state) = match outcome {
        Outcome::Linearizable { witness } => {
            let state = witness
                .iter()
                .fold(INITIAL, |s, &i| prefix[i as usize].action.step(s).unwrap_or(s));
            (witness, state)
        }
        Outcome::NotLinearizable { longest, state, .. } => (longest, state),
        Outcome::GaveUp(_) => (Vec::new(), INITIAL),
    };
    let refuted = Outcome::NotLinearizable {
        longest: order.iter().map(|&i| original[i as usize]).collect(),
        culprit,
        state,
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
                culprit: 2,
                state: 1
            }
        );
    }
}
