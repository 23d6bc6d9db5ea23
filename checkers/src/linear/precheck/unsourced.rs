//! The unsourced check: an operation that needs a value every possible source of which was
//! certainly overwritten before it.
//!
//! In any linearization, an operation `r` that needs `v` (a read of `v`, a cas expecting `v`)
//! takes effect while the register holds `v`, which the last producer of `v` placed before `r`
//! gave it (or the initial value, if `v` is initial and nothing produced `v` before `r`). Every
//! operation between that source `p` and `r` leaves the register holding `v`. So `p` cannot be
//! the source when some required operation `b` that cannot leave the register holding `v` was
//! invoked after `p` returned and returned before `r` was invoked: `b` would sit between them.
//! The source must also be invoked before `r` returned. Let `M` be the latest invocation among
//! the required operations that returned before `r` was invoked and cannot keep `v`; then every
//! source `p` with a return before `M` is ruled out (the initial value always is, when `M`
//! exists). If no candidate is left, no linearization exists. A source of unknown outcome has
//! no return and is never ruled out.
//!
//! Unlike the overwritten check, this one allows any number of producers of a value: the stale
//! read of a value that was written several times (small value domains, as in Jepsen's tests),
//! where the search would otherwise have to exhaust every order of the operations before it.

use crate::linear::model::Action;
use crate::linear::partition::LinOp;
use crate::linear::prepare::{needs, produces};
use rustc_hash::FxHashMap;

/// Operations the scan for `M` may look at, per operation of the key (it stops early, finding
/// nothing more, when a pathological history would make it quadratic).
const SCAN_BUDGET_PER_OP: usize = 64;

/// The required operation, earliest return first, that needs a value none of whose possible
/// sources survives (see the module comment); `initial` is the register's initial value.
pub(crate) fn unsourced(ops: &[LinOp], initial: u32) -> Option<u32> {
    // Per value: its producers' (invocation, return or MAX), in invocation order, with the
    // latest return among the first k.
    let mut sources: FxHashMap<u32, (Vec<usize>, Vec<usize>)> = FxHashMap::default();
    for op in ops {
        if let Some(v) = produces(op.action) {
            let (calls, latest) = sources.entry(v).or_default();
            let ret = op.ret.unwrap_or(usize::MAX);
            let before = latest.last().copied().unwrap_or(0);
            calls.push(op.call);
            latest.push(before.max(ret));
        }
    }
    let mut budget = SCAN_BUDGET_PER_OP.saturating_mul(ops.len()).max(1 << 20);
    let mut found: Option<(usize, u32)> = None;
    for (i, r) in ops.iter().enumerate() {
        let (Some(ret), Some(v)) = (r.ret, needs(r.action)) else {
            continue;
        };
        if found.is_some_and(|(best, _)| best < ret) {
            continue;
        }
        // The latest return of a producer of v invoked before r returned (`None`: there is
        // none; `MAX`: one of unknown outcome).
        let latest_source = sources.get(&v).and_then(|(calls, latest)| {
            let k = calls.partition_point(|&c| c < ret);
            k.checked_sub(1).map(|k| latest[k])
        });
        let no_source = latest_source.is_none() && v != initial;
        let refuted = no_source || {
            // M: scanning back from r, the first (latest invoked) required operation that
            // returned before r was invoked and cannot keep v. Operations invoked after r
            // cannot have returned before it was invoked.
            let mut m = None;
            for b in ops[..i].iter().rev() {
                if budget == 0 {
                    return found.map(|(_, culprit)| culprit);
                }
                budget -= 1;
                if b.ret.is_some_and(|br| br < r.call) && !keeps(b.action, v) {
                    m = Some(b.call);
                    break;
                }
            }
            // The initial value is ruled out by any such operation; producers returning after
            // M (or never) are not ruled out.
            m.is_some_and(|m| latest_source.is_none_or(|latest| latest < m))
        };
        if refuted && found.is_none_or(|(best, _)| ret < best) {
            found = Some((ret, i as u32));
        }
    }
    found.map(|(_, culprit)| culprit)
}

/// True if an operation can take effect while the register holds `v` and leave it holding `v`.
fn keeps(action: Action, v: u32) -> bool {
    match action {
        Action::Read(r) => r == v,
        Action::Cas(e, n) => e == v && n == v,
        Action::ReadOther(e) => e != v,
        Action::Write(w) => w == v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refutes_reads_whose_every_source_was_overwritten() {
        // 1 is written twice, then overwritten by 2 before the read of 1 begins.
        let stale = [
            LinOp::at(0, Some(1), Action::Write(1)),
            LinOp::at(2, Some(3), Action::Write(1)),
            LinOp::at(4, Some(5), Action::Write(2)),
            LinOp::at(6, Some(7), Action::Read(1)),
        ];
        assert_eq!(unsourced(&stale, 0), Some(3));
        // The second write of 1 overlaps the write of 2: it may come after it.
        let mut late = stale;
        late[1] = LinOp::at(3, Some(5), Action::Write(1));
        late[2] = LinOp::at(4, Some(6), Action::Write(2));
        late[3] = LinOp::at(7, Some(8), Action::Read(1));
        assert_eq!(unsourced(&late, 0), None);
        // ... and so may one of unknown outcome, invoked before the read returned.
        let mut unknown = stale;
        unknown[1] = LinOp::at(2, None, Action::Write(1));
        assert_eq!(unsourced(&unknown, 0), None);
        // A read of 1 in between keeps the value: not a breaker.
        let mut kept = stale;
        kept[2] = LinOp::at(4, Some(5), Action::Read(1));
        assert_eq!(unsourced(&kept, 0), None);
        // The initial value, overwritten; and a cas expecting a value nothing wrote in time.
        let initial = [
            LinOp::at(0, Some(1), Action::Write(3)),
            LinOp::at(2, Some(3), Action::Read(0)),
        ];
        assert_eq!(unsourced(&initial, 0), Some(1));
        assert_eq!(unsourced(&initial[1..], 0), None);
        let unwritten = [
            LinOp::at(0, Some(3), Action::Cas(5, 6)),
            LinOp::at(4, Some(5), Action::Write(5)),
        ];
        assert_eq!(unsourced(&unwritten, 0), Some(0));
    }
}
