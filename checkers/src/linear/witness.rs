//! An independent check of the search's witness before any key is reported linearizable.
//!
//! The search says "linearizable" only with an order of the operations; this module checks
//! that order from scratch: every operation that had to take effect appears exactly once (and
//! every other at most once), the model accepts each step from the initial state, and real time
//! is respected (no operation is placed before one that returned before it was invoked). A
//! witness that fails the check would be a bug in the search; the key is then reported unknown,
//! never valid.

use super::partition::LinOp;

/// Checks `order` (indices into `ops`) as a linearization of `ops` from state `initial`.
pub(crate) fn verify(ops: &[LinOp], initial: u32, order: &[u32]) -> Result<(), String> {
    let mut seen = vec![false; ops.len()];
    for &i in order {
        let slot = seen
            .get_mut(i as usize)
            .ok_or_else(|| format!("operation {i} does not exist"))?;
        if *slot {
            return Err(format!("operation {i} is placed twice"));
        }
        *slot = true;
    }
    if let Some(missing) = ops.iter().zip(&seen).position(|(op, &s)| op.required() && !s) {
        return Err(format!(
            "operation {missing} had to take effect but is not placed"
        ));
    }
    let mut state = initial;
    for &i in order {
        state = ops[i as usize]
            .action
            .step(state)
            .ok_or_else(|| format!("operation {i} cannot take effect in state {state}"))?;
    }
    // Real time: each operation's invocation must come before the earliest return of the
    // required operations placed after it.
    let mut earliest_later_return = usize::MAX;
    for &i in order.iter().rev() {
        let op = &ops[i as usize];
        if op.call > earliest_later_return {
            return Err(format!(
                "operation {i} is placed before an operation that returned before it was invoked"
            ));
        }
        if let Some(ret) = op.ret {
            earliest_later_return = earliest_later_return.min(ret);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::model::Action;

    #[test]
    fn accepts_linearizations_and_rejects_everything_else() {
        let ops = [
            LinOp::at(0, Some(3), Action::Write(1)),
            LinOp::at(1, Some(2), Action::Read(0)),
            LinOp::at(4, Some(5), Action::Read(1)),
            LinOp::at(6, None, Action::Write(2)),
        ];
        assert_eq!(verify(&ops, 0, &[1, 0, 2]), Ok(()));
        assert_eq!(verify(&ops, 0, &[1, 0, 2, 3]), Ok(()));
        assert!(verify(&ops, 0, &[1, 0]).unwrap_err().contains("not placed"));
        assert!(verify(&ops, 0, &[1, 0, 2, 2]).unwrap_err().contains("twice"));
        assert!(
            verify(&ops, 0, &[0, 1, 2])
                .unwrap_err()
                .contains("cannot take effect")
        );
        assert!(
            verify(&ops, 0, &[1, 0, 9])
                .unwrap_err()
                .contains("does not exist")
        );
        // An optional write may take effect late, but not before it was invoked: the one
        // invoked at 6 cannot come before the read that returned at 5.
        let ops = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(4, Some(5), Action::Read(2)),
            LinOp::at(3, None, Action::Write(2)),
        ];
        assert_eq!(verify(&ops, 0, &[0, 2, 1]), Ok(()));
        let late = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(4, Some(5), Action::Read(2)),
            LinOp::at(6, None, Action::Write(2)),
        ];
        assert!(
            verify(&late, 0, &[0, 2, 1])
                .unwrap_err()
                .contains("returned before")
        );
    }
}
