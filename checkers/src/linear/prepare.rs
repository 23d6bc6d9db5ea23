//! Exact simplifications of one key's operations before the search.
//!
//! Operations of unknown outcome (`info`, never completed) are what make refuting a history
//! expensive: each may or may not have taken effect, so the search's memo holds configurations
//! for many incomparable sets of them. Two rules shrink that set without changing the verdict:
//!
//! - **Drop what nothing can observe.** In any linearization, an optional operation whose effect
//!   is overwritten by the very next operation (a blind write), or that comes last, can be
//!   removed: every other operation sees the same states. So some linearization exists in
//!   which each optional operation is followed by an operation that *reads* the value it left
//!   (a read of that value, a cas expecting it, or a failed cas expecting another value). An
//!   optional operation whose value no such operation can follow is never needed, and neither
//!   is an optional cas that leaves the value as it was. Likewise a failed cas (checked as a
//!   read of "not `e`") expecting a value nothing writes and that is not the initial one always
//!   holds, wherever it is placed within its interval.
//! - **Give a deadline to a value's only producer.** A value (other than the initial one) that
//!   exactly one operation produces, and that some required operation needs (a read of it, a
//!   cas expecting it), must have been produced before that operation took effect, so before it
//!   returned: the producer is then required, with that return as its deadline. A required cas
//!   needs its expected value in turn, so deadlines propagate.
//!
//! The search then sees required operations with deadlines instead of optional ones. Positions
//! are scaled (`SCALE`) so that a deadline inherited from an operation's return sorts just
//! after that return: the operation that needed the value stays the one reported as blocked.

use super::model::Action;
use super::partition::LinOp;
use super::search::{self, Limits, Outcome, Prefix, Stats};

/// Positions in the prepared operations are the history's positions times this; an inherited
/// deadline adds its depth of inheritance (at most `SCALE - 1`) so that it sorts after the return
/// it was inherited from and before the next event.
const SCALE: usize = 4;

/// Rounds of the drop rules; each round is linear, and stopping early is exact (every drop is
/// justified on its own), so a cap only bounds the time spent.
const DROP_ROUNDS: usize = 4;

/// The operations the search sees, and where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prepared {
    /// The kept operations, in invocation order, with scaled positions; some optional
    /// operations are now required (they carry an inherited deadline).
    pub ops: Vec<LinOp>,
    /// Per kept operation: its index in the key's operations.
    pub original: Vec<u32>,
}

impl Prepared {
    /// The key's operation index of a prepared operation index.
    pub fn original_of(&self, i: u32) -> u32 {
        self.original[i as usize]
    }

    /// Maps prepared operation indices to the key's.
    pub fn originals(&self, order: &[u32]) -> Vec<u32> {
        order.iter().map(|&i| self.original_of(i)).collect()
    }
}

/// Searches a key's operations (in invocation order) from `initial` after simplifying them;
/// the outcome's indices are into `ops`.
pub(crate) fn search(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Outcome, Stats) {
    let prepared = prepare(ops, initial);
    let (outcome, stats) = search::search(&prepared.ops, initial, limits);
    let outcome = match outcome {
        Outcome::Linearizable { witness } => Outcome::Linearizable {
            witness: with_dropped_reads(ops, &prepared, &prepared.originals(&witness)),
        },
        Outcome::NotLinearizable {
            longest,
            complete,
            culprit,
            state,
        } => Outcome::NotLinearizable {
            longest: prepared.originals(&longest),
            complete,
            culprit: prepared.original_of(culprit),
            state,
        },
        gave_up @ Outcome::GaveUp(_) => gave_up,
    };
    (outcome, stats)
}

/// Puts back into `witness` (a linearization of the kept operations, as indices into `ops`)
/// the required operations `prepare` dropped: failed cas operations checked as reads of "not
/// `e`" where nothing writes `e`. Each goes right after the last operation that returned before
/// it was invoked: every operation invoked after it returned comes later still, and the register
/// never holds `e`.
fn with_dropped_reads(ops: &[LinOp], prepared: &Prepared, witness: &[u32]) -> Vec<u32> {
    let mut kept = vec![false; ops.len()];
    for &i in &prepared.original {
        kept[i as usize] = true;
    }
    // Per witness position: the earliest return from there on (required operations only).
    let mut earliest_later_return = vec![usize::MAX; witness.len() + 1];
    for (j, &i) in witness.iter().enumerate().rev() {
        let ret = ops[i as usize].ret.unwrap_or(usize::MAX);
        earliest_later_return[j] = earliest_later_return[j + 1].min(ret);
    }
    // (slot, invocation, op): the op goes before witness position `slot`.
    let mut inserts: Vec<(usize, usize, u32)> = ops
        .iter()
        .enumerate()
        .filter(|(i, op)| !kept[*i] && op.required())
        .map(|(i, op)| {
            let slot = earliest_later_return.partition_point(|&r| r < op.call);
            (slot, op.call, i as u32)
        })
        .collect();
    inserts.sort_unstable();
    let mut out = Vec::with_capacity(witness.len() + inserts.len());
    let mut next = inserts.iter().peekable();
    for (j, &i) in witness.iter().enumerate() {
        while let Some(&(_, _, op)) = next.next_if(|(slot, _, _)| *slot <= j) {
            out.push(op);
        }
        out.push(i);
    }
    out.extend(next.map(|&(_, _, op)| op));
    out
}

/// Like [`search::longest_prefix`], after simplifying `ops`; indices are into `ops`.
pub(crate) fn longest_prefix(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Prefix, Stats) {
    let prepared = prepare(ops, initial);
    let (prefix, stats) = search::longest_prefix(&prepared.ops, initial, limits);
    let prefix = Prefix {
        order: prepared.originals(&prefix.order),
        ..prefix
    };
    (prefix, stats)
}

/// The value an operation needs the register to hold before it (a read of it, a cas from it).
pub(crate) fn needs(action: Action) -> Option<u32> {
    match action {
        Action::Read(v) | Action::Cas(v, _) => Some(v),
        Action::Write(_) | Action::ReadOther(_) => None,
    }
}

/// The value an operation gives the register when it changes it.
pub(crate) fn produces(action: Action) -> Option<u32> {
    match action {
        Action::Write(v) => Some(v),
        Action::Cas(e, n) if e != n => Some(n),
        Action::Cas(..) | Action::Read(_) | Action::ReadOther(_) => None,
    }
}

/// Simplifies one key's operations (in invocation order) whose register starts at `initial`.
pub(crate) fn prepare(ops: &[LinOp], initial: u32) -> Prepared {
    let n_values = ops
        .iter()
        .map(|o| match o.action {
            Action::Read(v) | Action::Write(v) | Action::ReadOther(v) => v,
            Action::Cas(e, n) => e.max(n),
        })
        .max()
        .unwrap_or(0)
        .max(initial) as usize
        + 1;
    let keep = drop_unobservable(ops, initial, n_values);
    let deadlines = inherited_deadlines(ops, &keep, initial, n_values);
    let mut prepared = Prepared {
        ops: Vec::new(),
        original: Vec::new(),
    };
    for (i, op) in ops.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        let ret = match (op.ret, deadlines[i]) {
            (Some(r), _) => Some(r * SCALE),
            (None, Some((r, depth))) => Some(r * SCALE + depth),
            (None, None) => None,
        };
        prepared.ops.push(LinOp {
            call: op.call * SCALE,
            ret,
            ..*op
        });
        prepared.original.push(i as u32);
    }
    prepared
}

/// Which operations to keep after the drop rules (see the module comment).
fn drop_unobservable(ops: &[LinOp], initial: u32, n_values: usize) -> Vec<bool> {
    let mut keep = vec![true; ops.len()];
    for _ in 0..DROP_ROUNDS {
        let mut needers = vec![0u32; n_values];
        let mut producers = vec![0u32; n_values];
        for (op, _) in ops.iter().zip(&keep).filter(|(_, k)| **k) {
            if let Some(v) = needs(op.action) {
                needers[v as usize] += 1;
            }
            if let Some(v) = produces(op.action) {
                producers[v as usize] += 1;
            }
        }
        let late = LatestReadOthers::new(ops, &keep);
        let mut changed = false;
        for (i, op) in ops.iter().enumerate() {
            if !keep[i] {
                continue;
            }
            let drop = match (op.required(), op.action) {
                (false, Action::Cas(e, n)) if e == n => true,
                (false, action) => produces(action)
                    .is_some_and(|x| needers[x as usize] == 0 && !late.one_not_expecting_after(x, op.call)),
                (true, Action::ReadOther(e)) => e != initial && producers[e as usize] == 0,
                (true, _) => false,
            };
            if drop {
                keep[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    keep
}

/// The two failed cas operations (checked as reads of "not `e`") that return last with
/// different expected values: enough to tell whether one not expecting `x` returns after a
/// given point.
struct LatestReadOthers {
    first: Option<(usize, u32)>,
    second: Option<usize>,
}

impl LatestReadOthers {
    fn new(ops: &[LinOp], keep: &[bool]) -> Self {
        let mut all: Vec<(usize, u32)> = ops
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .filter_map(|(o, _)| match (o.action, o.ret) {
                (Action::ReadOther(e), Some(r)) => Some((r, e)),
                _ => None,
            })
            .collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        let first = all.first().copied();
        let second = first.and_then(|(_, e)| all.iter().find(|(_, e2)| *e2 != e).map(|(r, _)| *r));
        LatestReadOthers { first, second }
    }

    /// True if a failed cas expecting some value other than `x` returns after `call` (so it
    /// could be placed right after an operation invoked at `call` that left `x`).
    fn one_not_expecting_after(&self, x: u32, call: usize) -> bool {
        match self.first {
            None => false,
            Some((r, e)) if e != x => r > call,
            Some(_) => self.second.is_some_and(|r| r > call),
        }
    }
}

/// Per operation: the deadline (history position of a return, depth of inheritance) it
/// inherits as the only producer of a value a required operation needs (see the module
/// comment); `None` for operations that keep their own return or have none.
fn inherited_deadlines(
    ops: &[LinOp],
    keep: &[bool],
    initial: u32,
    n_values: usize,
) -> Vec<Option<(usize, usize)>> {
    // Per value: how many kept operations produce it, and the last of them.
    let mut producer: Vec<Option<u32>> = vec![None; n_values];
    let mut count = vec![0u32; n_values];
    for (i, op) in ops.iter().enumerate() {
        if keep[i]
            && let Some(v) = produces(op.action)
        {
            count[v as usize] += 1;
            producer[v as usize] = Some(i as u32);
        }
    }
    let only_producer = |v: u32| -> Option<u32> {
        (v != initial && count[v as usize] == 1)
            .then(|| producer[v as usize])
            .flatten()
    };
    let mut deadline: Vec<Option<(usize, usize)>> = vec![None; ops.len()];
    let mut work: Vec<u32> = Vec::new();
    let offer =
        |p: u32, d: (usize, usize), deadline: &mut Vec<Option<(usize, usize)>>, work: &mut Vec<u32>| {
            let op = &ops[p as usize];
            if op.required() || deadline[p as usize].is_some_and(|old| old <= d) {
                return;
            }
            deadline[p as usize] = Some(d);
            work.push(p);
        };
    for (i, op) in ops.iter().enumerate() {
        if let (true, Some(ret), Some(v)) = (keep[i], op.ret, needs(op.action))
            && let Some(p) = only_producer(v)
            && p != i as u32
        {
            offer(p, (ret, 1), &mut deadline, &mut work);
        }
    }
    while let Some(p) = work.pop() {
        let Some((ret, depth)) = deadline[p as usize] else {
            continue;
        };
        if let Some(v) = needs(ops[p as usize].action)
            && let Some(q) = only_producer(v)
            && q != p
        {
            offer(q, (ret, (depth + 1).min(SCALE - 1)), &mut deadline, &mut work);
        }
    }
    deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(p: &Prepared) -> Vec<(u32, Option<usize>)> {
        p.original.iter().zip(&p.ops).map(|(&i, o)| (i, o.ret)).collect()
    }

    #[test]
    fn unobserved_unknown_writes_and_idle_cas_are_dropped() {
        let ops = [
            LinOp::at(0, None, Action::Write(1)), // nobody reads 1: dropped
            LinOp::at(1, None, Action::Write(2)), // read below, but 2 has two producers
            LinOp::at(2, Some(3), Action::Write(2)),
            LinOp::at(4, None, Action::Cas(2, 2)), // changes nothing: dropped
            LinOp::at(5, Some(6), Action::Read(2)),
        ];
        let p = prepare(&ops, 0);
        assert_eq!(kept(&p), vec![(1, None), (2, Some(12)), (4, Some(24))]);
        assert_eq!(p.ops[0].call, 4, "positions are scaled");
    }

    #[test]
    fn a_failed_cas_checked_as_read_keeps_what_it_could_observe() {
        // The failed cas expecting 5 returns after the unknown write of 1 is invoked: it could
        // follow it (the register then does not hold 5), so the write stays.
        let ops = [
            LinOp::at(0, None, Action::Write(1)),
            LinOp::at(1, Some(3), Action::ReadOther(1)),
            LinOp::at(2, Some(4), Action::ReadOther(5)),
            LinOp::at(5, Some(6), Action::Write(5)),
        ];
        assert_eq!(prepare(&ops, 0).original, vec![0, 1, 2, 3]);
        // Without the write of 5, the failed cas expecting 5 always holds and goes; then only
        // the one expecting 1 could follow the write of 1, and it would fail there: the write
        // goes, and then nothing writes 1 either.
        assert_eq!(prepare(&ops[..3], 0).original, Vec::<u32>::new());
        // Once the only failed cas that could follow it returned before it, the write goes too.
        let ops = [
            LinOp::at(0, Some(1), Action::ReadOther(0)),
            LinOp::at(2, None, Action::Write(1)),
            LinOp::at(3, Some(4), Action::Write(0)),
        ];
        assert_eq!(prepare(&ops, 0).original, vec![0, 2]);
    }

    #[test]
    fn only_producers_inherit_deadlines_along_cas_chains() {
        let ops = [
            LinOp::at(0, None, Action::Write(1)), // only producer of 1, needed by the cas
            LinOp::at(1, None, Action::Cas(1, 2)), // only producer of 2, needed by the read
            LinOp::at(2, Some(5), Action::Read(2)), // returns at 5
            LinOp::at(3, None, Action::Write(0)), // 0 is the initial value: never inherits
            LinOp::at(4, Some(6), Action::Read(0)),
        ];
        let p = prepare(&ops, 0);
        assert_eq!(
            kept(&p),
            vec![
                (0, Some(22)),
                (1, Some(21)),
                (2, Some(20)),
                (3, None),
                (4, Some(24))
            ]
        );
    }
}
