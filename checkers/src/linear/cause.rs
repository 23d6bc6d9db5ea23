//! What kind of linearizability anomaly a failing key shows, when its operations tell: each
//! kind is a pattern that alone proves the key's history is not linearizable, so a name is never
//! given where it does not hold ("not classified" otherwise).
//!
//! Writing "a before b" for "a completed before b was invoked" (real-time order), and "the
//! writes of u a read could have seen" for the operations that may have set the register to u
//! (`ok` or `info` writes and compare-and-sets to u; `fail`ed ones certainly did not) and were
//! invoked before the read completed:
//!
//! - **stale read**: a read (or successful compare-and-set) saw u, although an acknowledged
//!   write W of another value was before it, and every write of u it could have seen was before
//!   W (or there was none and u is the initial value): u had been overwritten before the read
//!   began.
//! - **lost write**: an acknowledged write W of v, that no operation completing after W began
//!   ever saw, and a read that began after W completed saw a value W had overwritten (as above).
//! - **failed write took effect**: a read saw u, not the initial value, which only `fail`ed
//!   writes invoked before it completed wrote.
//! - **value never written**: a read saw u, not the initial value, which nothing invoked before
//!   it completed wrote.
//! - **write surfaced after it timed out**: the writes of u a read R could have seen all timed
//!   out (`info`) before R began, and R saw u, so one took effect late; then a read that began
//!   after R completed saw a value whose every write it could have seen was before every write
//!   of u.
//! - **lost update**: more compare-and-sets from x (to another value) succeeded than there were
//!   writes of x (counting the initial value): one of them changed a value already replaced.
//!
//! [`Classifier::attach`] adds the cause to a key's anomaly: a step in words naming the nodes
//! that served the operations, `details.cause`, the operations' events, and the faults in force
//! (see [`crate::situation`]).

use super::explain::{KeyFailure, format_time, key_label, value_label};
use super::model::Action;
use super::partition::{INITIAL, KeyHistory, LinOp};
use crate::history::{FaultWindow, History, Outcome, fault_windows};
use crate::report::Anomaly;
use crate::situation::{annotate, served_by};
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

/// A kind of linearizability anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CauseKind {
    /// A read saw a value that only failed writes wrote.
    FailedWriteTookEffect,
    /// A read saw a value nothing wrote.
    NeverWritten,
    /// An acknowledged write no later read reflects.
    LostWrite,
    /// A timed-out write took effect, and then an older value was read.
    TimedOutWriteSurfaced,
    /// A read saw a value overwritten before it began.
    StaleRead,
    /// Two compare-and-sets succeeded from the same written value.
    LostUpdate,
}

impl CauseKind {
    /// Every kind, most telling first (the order a key's main cause is chosen in).
    pub const ALL: [CauseKind; 6] = [
        CauseKind::FailedWriteTookEffect,
        CauseKind::NeverWritten,
        CauseKind::LostWrite,
        CauseKind::TimedOutWriteSurfaced,
        CauseKind::StaleRead,
        CauseKind::LostUpdate,
    ];

    /// The name in words.
    pub fn name(self) -> &'static str {
        match self {
            CauseKind::FailedWriteTookEffect => "failed write took effect",
            CauseKind::NeverWritten => "value never written",
            CauseKind::LostWrite => "lost write",
            CauseKind::TimedOutWriteSurfaced => "write surfaced after it timed out",
            CauseKind::StaleRead => "stale read",
            CauseKind::LostUpdate => "lost update",
        }
    }

    /// The name in JSON.
    pub fn slug(self) -> &'static str {
        match self {
            CauseKind::FailedWriteTookEffect => "failed-write-took-effect",
            CauseKind::NeverWritten => "never-written",
            CauseKind::LostWrite => "lost-write",
            CauseKind::TimedOutWriteSurfaced => "timed-out-write-surfaced",
            CauseKind::StaleRead => "stale-read",
            CauseKind::LostUpdate => "lost-update",
        }
    }
}

/// The `details.cause.kind` of an anomaly that no pattern fits.
pub const NOT_CLASSIFIED: &str = "not-classified";

/// One instance of a cause.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// Its kind.
    pub kind: CauseKind,
    /// The operations it involves ([`History::ops`] positions) and their parts in it.
    pub ops: Vec<(usize, &'static str)>,
    /// The explanation, in words.
    pub text: String,
}

/// What a key's operations show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyCauses {
    /// The cause to tell first: one involving the search's culprit when there is one, else the
    /// most telling kind found.
    pub primary: Option<Cause>,
    /// Instances of each kind found on the key (kinds with none are left out).
    pub counts: Vec<(CauseKind, usize)>,
}

/// Positions below every event: "before everything" (the initial value's write).
const BEFORE_ALL: i64 = -1;
/// "Not before anything": a value some unfinished write may still set.
const NEVER: i64 = i64::MAX;

/// A failed write's value, per key.
type FailedWrites<'h> = FxHashMap<Option<Value>, Vec<(usize, &'h Value)>>;

/// Classifies failing keys of one history (built once, used for every failing key).
pub(crate) struct Classifier<'h> {
    history: &'h History,
    windows: Vec<FaultWindow>,
    failed: FailedWrites<'h>,
}

impl<'h> Classifier<'h> {
    pub(crate) fn new(history: &'h History, independent: bool) -> Classifier<'h> {
        let mut failed: FailedWrites<'h> = FxHashMap::default();
        for op in history.ops.iter().filter(|o| o.outcome == Outcome::Fail) {
            let argument = &history.events[op.invoke].value;
            let (key, argument) = if independent {
                match argument.as_array().map(Vec::as_slice) {
                    Some([k, v]) => (Some(k).filter(|k| !k.is_null()), v),
                    _ => continue,
                }
            } else {
                (op.key.as_ref().filter(|k| !k.is_null()), argument)
            };
            let written = match op.f.as_str() {
                "write" => argument,
                "cas" => match argument.as_array().map(Vec::as_slice) {
                    Some([_, new]) => new,
                    _ => continue,
                },
                _ => continue,
            };
            failed.entry(key.cloned()).or_default().push((op.id, written));
        }
        Classifier {
            history,
            windows: fault_windows(history),
            failed,
        }
    }

    /// Classifies one failing key and adds what it found to its anomaly.
    pub(crate) fn attach(&self, key: &KeyHistory, failure: &KeyFailure, anomaly: &mut Anomaly) {
        let causes = self.classify(key, failure.culprit);
        let k = key_label(&key.key);
        let op_json = |(op, role): &(usize, &str)| {
            let o = &self.history.ops[*op];
            json!({
                "role": role,
                "process": o.process,
                "f": o.f,
                "type": o.outcome,
                "value": self.history.value(o),
                "invoke_index": self.history.events[o.invoke].index,
                "complete_index": o.complete.map(|c| self.history.events[c].index),
                "node": served_by(self.history, *op),
            })
        };
        let counts: serde_json::Map<String, Value> = causes
            .counts
            .iter()
            .map(|(kind, n)| (kind.slug().to_string(), json!(n)))
            .collect();
        let situated: Vec<usize> = match &causes.primary {
            Some(cause) => {
                anomaly
                    .steps
                    .push(format!("Cause: {}. {}", cause.kind.name(), cause.text));
                for (op, _) in &cause.ops {
                    let o = &self.history.ops[*op];
                    for pos in std::iter::once(o.invoke).chain(o.complete) {
                        let index = self.history.events[pos].index;
                        if !anomaly.events.contains(&index) {
                            anomaly.events.push(index);
                        }
                    }
                }
                cause.ops.iter().map(|(op, _)| *op).collect()
            }
            None => {
                anomaly.steps.push(format!(
                    "Cause: not classified. No single stale read, lost write, failed or timed-out write that surfaced, read of a value never written, or lost update explains it on {k}; only the order of the operations above does."
                ));
                vec![failure.culprit]
            }
        };
        let cause_json = match &causes.primary {
            Some(c) => json!({
                "kind": c.kind.slug(),
                "name": c.kind.name(),
                "text": c.text,
                "ops": c.ops.iter().map(op_json).collect::<Vec<_>>(),
                "counts": counts,
            }),
            None => json!({ "kind": NOT_CLASSIFIED, "name": "not classified", "counts": counts }),
        };
        if let Value::Object(map) = &mut anomaly.details {
            map.insert("cause".into(), cause_json);
        }
        annotate(self.history, &self.windows, anomaly, &situated);
    }

    /// The causes a key's operations show; `culprit` is the search's culprit ([`History::ops`]).
    pub(crate) fn classify(&self, key: &KeyHistory, culprit: usize) -> KeyCauses {
        let failed = self.failed_values(key);
        Facts::new(self.history, key, failed).classify(culprit)
    }

    /// The failed writes of a key, by interned value (values nobody read are left out).
    fn failed_values(&self, key: &KeyHistory) -> Vec<Vec<usize>> {
        let mut by_value = vec![Vec::new(); key.values.len()];
        let Some(list) = self.failed.get(&key.key) else {
            return by_value;
        };
        let ids: FxHashMap<&Value, usize> = key.values.iter().enumerate().map(|(i, v)| (v, i)).collect();
        for &(op, v) in list {
            if let Some(&id) = ids.get(v) {
                by_value[id].push(op);
            }
        }
        by_value
    }
}

/// What the patterns need to know about one key, indexed once.
struct Facts<'a> {
    history: &'a History,
    key: &'a KeyHistory,
    name: String,
    /// Per value: the operations (indices into `key.ops`) that may have written it, by
    /// invocation.
    writers: Vec<Vec<usize>>,
    /// Per value, per prefix of `writers`: the position by which every write of the prefix had
    /// completed, or [`NEVER`] once one of them has no known completion (`info`).
    writers_done: Vec<Vec<i64>>,
    /// Per value, per prefix of `writers`: the latest time-out (`info` completion) of the
    /// prefix, or `None` once one of them was acknowledged or never completed.
    writers_timed_out: Vec<Vec<Option<usize>>>,
    /// Per value: the latest completion of an operation that saw it, [`BEFORE_ALL`] if none.
    last_seen: Vec<i64>,
    /// Per value: failed writes of it ([`History::ops`] positions).
    failed: Vec<Vec<usize>>,
    /// Operations that saw a value (ok reads, ok compare-and-sets), by invocation.
    observers: Vec<usize>,
    /// Per operation: for an observer, by when every write it could have seen had completed
    /// (see [`Facts::age`]); [`NEVER`] otherwise.
    observed_age: Vec<i64>,
    /// Acknowledged writes as (completion, invocation, index), by completion, with the running
    /// maximum of invocations (and whose) up to each.
    acked: Vec<(usize, usize, usize)>,
    acked_latest_start: Vec<(usize, usize)>,
    /// Timed-out writes proven to have taken effect: (by when, earliest invocation of a write of
    /// the value, the read that proved it, the value), by `by when`, with the running maximum.
    surfaced: Vec<(usize, usize, usize, u32)>,
    surfaced_latest_start: Vec<(usize, usize)>,
    /// Suffix minimum over `observers` of `observed_age`, and whose.
    observers_oldest_after: Vec<(i64, usize)>,
}

/// The value an operation saw, if it saw one (ok reads, ok compare-and-sets).
fn seen(op: &LinOp) -> Option<u32> {
    match op.action {
        Action::Read(v) => Some(v),
        Action::Cas(e, _) if op.required() => Some(e),
        _ => None,
    }
}

/// The value an operation may have written.
fn written(op: &LinOp) -> Option<u32> {
    match op.action {
        Action::Write(v) | Action::Cas(_, v) => Some(v),
        Action::Read(_) | Action::ReadOther(_) => None,
    }
}

/// The running maximum of the second field over a list, with the index (third field) holding it.
fn running_max(list: &[(usize, usize, usize)]) -> Vec<(usize, usize)> {
    let mut best = (0, usize::MAX);
    list.iter()
        .map(|&(_, start, who)| {
            if best.1 == usize::MAX || start > best.0 {
                best = (start, who);
            }
            best
        })
        .collect()
}

impl<'a> Facts<'a> {
    fn new(history: &'a History, key: &'a KeyHistory, failed: Vec<Vec<usize>>) -> Facts<'a> {
        let m = key.values.len();
        let ops = &key.ops;
        let mut writers = vec![Vec::new(); m];
        let mut last_seen = vec![BEFORE_ALL; m];
        let mut observers = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if let Some(v) = written(op) {
                writers[v as usize].push(i);
            }
            if let Some(v) = seen(op) {
                observers.push(i);
                let done = op.ret.unwrap_or(op.call) as i64;
                last_seen[v as usize] = last_seen[v as usize].max(done);
            }
        }
        let writers_done = writers
            .iter()
            .map(|ws| {
                let mut acc = BEFORE_ALL;
                ws.iter()
                    .map(|&w| {
                        acc = match ops[w].ret {
                            Some(r) if acc != NEVER => acc.max(r as i64),
                            _ => NEVER,
                        };
                        acc
                    })
                    .collect()
            })
            .collect();
        let writers_timed_out = writers
            .iter()
            .map(|ws| {
                let mut acc = Some(0);
                ws.iter()
                    .map(|&w| {
                        let o = &history.ops[ops[w].op];
                        let timed_out = (ops[w].ret.is_none() && o.outcome == Outcome::Info)
                            .then_some(o.complete)
                            .flatten();
                        acc = acc.zip(timed_out).map(|(a, t)| a.max(t));
                        acc
                    })
                    .collect()
            })
            .collect();
        let mut acked: Vec<(usize, usize, usize)> = ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| Some((o.ret?, o.call, i)).filter(|_| written(o).is_some()))
            .collect();
        acked.sort_unstable();
        let acked_latest_start = running_max(&acked);
        let mut facts = Facts {
            history,
            key,
            name: key_label(&key.key),
            writers,
            writers_done,
            writers_timed_out,
            last_seen,
            failed,
            observers,
            observed_age: vec![NEVER; ops.len()],
            acked,
            acked_latest_start,
            surfaced: Vec::new(),
            surfaced_latest_start: Vec::new(),
            observers_oldest_after: Vec::new(),
        };
        for &i in &facts.observers {
            if let (Some(u), Some(done)) = (seen(&ops[i]), ops[i].ret) {
                facts.observed_age[i] = facts.age(u, done);
            }
        }
        facts.surfaced = facts.surfaced_writes();
        let as_triples: Vec<(usize, usize, usize)> = facts
            .surfaced
            .iter()
            .enumerate()
            .map(|(i, &(by, start, _, _))| (by, start, i))
            .collect();
        facts.surfaced_latest_start = running_max(&as_triples);
        let mut oldest = (NEVER, usize::MAX);
        let mut suffix = vec![(NEVER, usize::MAX); facts.observers.len()];
        for (j, &i) in facts.observers.iter().enumerate().rev() {
            if facts.observed_age[i] <= oldest.0 {
                oldest = (facts.observed_age[i], i);
            }
            suffix[j] = oldest;
        }
        facts.observers_oldest_after = suffix;
        facts
    }

    /// How many writes of `v` were invoked before position `limit` (a read completing there
    /// can only have seen those).
    fn writes_before(&self, v: u32, limit: usize) -> usize {
        let ops = &self.key.ops;
        self.writers[v as usize].partition_point(|&w| ops[w].call < limit)
    }

    /// For a read of `u` completing at `limit`: the position by which every write of `u` it
    /// could have seen had completed; [`BEFORE_ALL`] for the initial value nothing had
    /// rewritten; [`NEVER`] when one of them may still have been in flight, or none existed.
    fn age(&self, u: u32, limit: usize) -> i64 {
        match self.writes_before(u, limit) {
            0 if u == INITIAL => BEFORE_ALL,
            0 => NEVER,
            n => self.writers_done[u as usize][n - 1],
        }
    }

    /// Values a read saw although every write of them it could have seen had timed out before
    /// it began: (the read's completion, the earliest invocation of those writes, the read, the
    /// value), the earliest such read per value, sorted.
    fn surfaced_writes(&self) -> Vec<(usize, usize, usize, u32)> {
        let ops = &self.key.ops;
        let mut first: FxHashMap<u32, (usize, usize, usize, u32)> = FxHashMap::default();
        for &r in &self.observers {
            let (Some(v), Some(done)) = (seen(&ops[r]), ops[r].ret) else {
                continue;
            };
            let n = self.writes_before(v, done);
            if v == INITIAL || n == 0 || first.get(&v).is_some_and(|f| f.0 <= done) {
                continue;
            }
            let timed_out = self.writers_timed_out[v as usize][n - 1];
            if timed_out.is_some_and(|t| t < ops[r].call) {
                let earliest_start = ops[self.writers[v as usize][0]].call;
                first.insert(v, (done, earliest_start, r, v));
            }
        }
        let mut out: Vec<_> = first.into_values().collect();
        out.sort_unstable();
        out
    }

    fn op(&self, i: usize) -> &LinOp {
        &self.key.ops[i]
    }

    fn value(&self, v: u32) -> String {
        value_label(&self.key.values[v as usize])
    }

    /// The latest-starting entry of `list` completed before `before`, if any.
    fn latest_before(
        list: &[(usize, usize, usize)],
        latest: &[(usize, usize)],
        before: usize,
    ) -> Option<(usize, usize)> {
        let n = list.partition_point(|e| e.0 < before);
        (n > 0).then(|| latest[n - 1])
    }

    /// For an observer: the acknowledged write that makes it a stale read, if any.
    fn stale_against(&self, r: usize) -> Option<usize> {
        let age = self.observed_age[r];
        if age == NEVER {
            return None;
        }
        let o = self.op(r);
        let (start, w) = Self::latest_before(&self.acked, &self.acked_latest_start, o.call)?;
        (start as i64 > age).then_some(w)
    }

    /// For an observer: the surfaced timed-out value (as an index into `surfaced`) that makes
    /// it read an older value, if any.
    fn flip_flop_against(&self, r: usize) -> Option<usize> {
        let age = self.observed_age[r];
        if age == NEVER {
            return None;
        }
        let n = self.surfaced.partition_point(|e| e.0 < self.op(r).call);
        if n == 0 {
            return None;
        }
        let (start, s) = self.surfaced_latest_start[n - 1];
        (start as i64 > age).then_some(s)
    }

    /// True if an acknowledged write is lost: nothing completing after it began saw its value,
    /// and a read that began after it completed saw a value it had overwritten.
    fn is_lost(&self, w: usize) -> bool {
        let o = self.op(w);
        let (Some(v), Some(done)) = (written(o), o.ret) else {
            return false;
        };
        if self.last_seen[v as usize] >= o.call as i64 {
            return false;
        }
        let from = self.observers.partition_point(|&r| self.op(r).call <= done);
        self.observers_oldest_after
            .get(from)
            .is_some_and(|&(oldest, _)| oldest < o.call as i64)
    }

    /// For a lost write: the first read after it that saw a value it had overwritten.
    fn lost_witness(&self, w: usize) -> Option<usize> {
        if !self.is_lost(w) {
            return None;
        }
        let o = self.op(w);
        let from = self
            .observers
            .partition_point(|&r| self.op(r).call <= o.ret.unwrap_or(0));
        self.observers[from..]
            .iter()
            .copied()
            .find(|&r| self.observed_age[r] < o.call as i64)
    }

    /// For an observer of a value nothing (or only failed writes) had written before it
    /// completed: the cause.
    fn unwritten(&self, r: usize) -> Option<Cause> {
        let o = self.op(r);
        let (u, limit) = (seen(o)?, o.ret?);
        if u == INITIAL || self.writes_before(u, limit) > 0 {
            return None;
        }
        let failed = self.failed[u as usize]
            .iter()
            .copied()
            .find(|&f| self.history.ops[f].invoke < limit);
        Some(match failed {
            Some(f) => self.failed_write_took_effect(r, f),
            None => self.never_written(r),
        })
    }

    /// Compare-and-sets from a value that succeeded more often than the value was written:
    /// (the value, the compare-and-sets, the writes of it) for each such value.
    fn lost_updates(&self) -> Vec<(u32, Vec<usize>, usize)> {
        let mut from: Vec<Vec<usize>> = vec![Vec::new(); self.key.values.len()];
        for (i, o) in self.key.ops.iter().enumerate() {
            if let Action::Cas(e, n) = o.action
                && o.required()
                && e != n
            {
                from[e as usize].push(i);
            }
        }
        from.into_iter()
            .enumerate()
            .filter_map(|(x, cas)| {
                let supply = self.writers[x].len() + usize::from(x as u32 == INITIAL);
                (cas.len() > supply).then_some((x as u32, cas, supply))
            })
            .collect()
    }

    fn classify(&self, culprit: usize) -> KeyCauses {
        let mut tally = Tally::default();
        for &r in &self.observers {
            if let Some(c) = self.unwritten(r) {
                tally.add(c.kind, 1, || c);
            } else if let Some(w) = self.stale_against(r) {
                tally.add(CauseKind::StaleRead, 1, || self.stale_read(r, w));
            } else if let Some(s) = self.flip_flop_against(r) {
                tally.add(CauseKind::TimedOutWriteSurfaced, 1, || {
                    self.surfaced_then_stale(s, r)
                });
            }
        }
        for &(_, _, w) in &self.acked {
            if self.is_lost(w) {
                tally.add(CauseKind::LostWrite, 1, || {
                    let r = self.lost_witness(w).unwrap_or(w);
                    self.lost_write(w, r)
                });
            }
        }
        for (x, cas, supply) in self.lost_updates() {
            tally.add(CauseKind::LostUpdate, cas.len() - supply, || {
                self.lost_update(x, &cas, supply)
            });
        }
        let primary = self
            .about_culprit(culprit)
            .or_else(|| CauseKind::ALL.iter().find_map(|k| tally.first.remove(k)));
        let counts = CauseKind::ALL
            .iter()
            .filter_map(|k| tally.counts.get(k).map(|n| (*k, *n)))
            .collect();
        KeyCauses { primary, counts }
    }

    /// A cause the culprit takes part in, if any.
    fn about_culprit(&self, culprit: usize) -> Option<Cause> {
        let c = self.key.ops.iter().position(|o| o.op == culprit)?;
        let op = *self.op(c);
        if seen(&op).is_some() {
            if let Some(cause) = self.unwritten(c) {
                return Some(cause);
            }
            if let Some(w) = self.stale_against(c) {
                if self.is_lost(w) {
                    return Some(self.lost_write(w, c));
                }
                return Some(self.stale_read(c, w));
            }
            if let Some(s) = self.flip_flop_against(c) {
                return Some(self.surfaced_then_stale(s, c));
            }
        }
        if op.required()
            && written(&op).is_some()
            && let Some(r) = self.lost_witness(c)
        {
            return Some(self.lost_write(c, r));
        }
        if let Action::Cas(e, _) = op.action {
            return self
                .lost_updates()
                .into_iter()
                .find(|(x, cas, _)| *x == e && cas.contains(&c))
                .map(|(x, cas, supply)| self.lost_update(x, &cas, supply));
        }
        None
    }

    // ---- words -----------------------------------------------------------------------------

    /// `t=1.200s` (or the event's line when the history has no times).
    fn when(&self, pos: usize) -> String {
        let e = &self.history.events[pos];
        match (e.time, e.line) {
            (Some(t), _) => format_time(t),
            (None, 0) => format!("event {}", e.index),
            (None, line) => format!("line {line}"),
        }
    }

    /// ` by n2` when the history says which node served it.
    fn by(&self, i: usize) -> String {
        served_by(self.history, self.op(i).op)
            .map(|n| format!(" by {n}"))
            .unwrap_or_default()
    }

    fn process(&self, i: usize) -> u64 {
        self.history.ops[self.op(i).op].process
    }

    /// "process 3 wrote 7 to k1" / "process 3 changed k1 from 1 to 7 with a compare-and-set".
    fn write_deed(&self, i: usize) -> String {
        let (p, k) = (self.process(i), &self.name);
        match self.op(i).action {
            Action::Cas(e, n) => format!(
                "process {p} changed {k} from {} to {} with a compare-and-set",
                self.value(e),
                self.value(n)
            ),
            Action::Write(v) => format!("process {p} wrote {} to {k}", self.value(v)),
            Action::Read(_) | Action::ReadOther(_) => format!("process {p} wrote {k}"),
        }
    }

    /// "process 5 read k1 at t=1.4s by n2 and saw 4" / "... began a compare-and-set ...".
    fn observation(&self, r: usize) -> String {
        let o = self.op(r);
        let (p, k) = (self.process(r), &self.name);
        let (at, by) = (self.when(o.call), self.by(r));
        match o.action {
            Action::Cas(e, n) => format!(
                "process {p} began a compare-and-set of {k} from {} to {} at {at}, served{by}, and it succeeded",
                self.value(e),
                self.value(n)
            ),
            Action::Read(v) => format!(
                "process {p} read {k} at {at}{} and saw {}",
                if by.is_empty() {
                    String::new()
                } else {
                    format!(" (served{by})")
                },
                self.value(v)
            ),
            _ => format!("process {p} used {k} at {at}"),
        }
    }

    /// "acknowledged at t=1.2s by n1".
    fn acknowledged(&self, w: usize) -> String {
        let o = self.op(w);
        format!(
            "acknowledged at {}{}",
            self.when(o.ret.unwrap_or(o.call)),
            self.by(w)
        )
    }

    /// Why the value an observer saw is older than a later write: "every write of 1 to k1 the
    /// read could have seen had completed before that write began", or "nil was k1's initial
    /// value".
    fn overwritten_value(&self, r: usize) -> String {
        let o = self.op(r);
        let u = seen(o).unwrap_or(INITIAL);
        if self.writes_before(u, o.ret.unwrap_or(usize::MAX)) == 0 {
            format!("{} was {}'s initial value", self.value(u), self.name)
        } else {
            format!(
                "every write of {} to {} the read could have seen had completed before that write began",
                self.value(u),
                self.name
            )
        }
    }

    fn stale_read(&self, r: usize, w: usize) -> Cause {
        let u = seen(self.op(r)).unwrap_or(INITIAL);
        let text = format!(
            "{}; but {}, {}, before that, and {}: {} had been overwritten before the read began.",
            upper_first(&self.observation(r)),
            self.write_deed(w),
            self.acknowledged(w),
            self.overwritten_value(r),
            self.value(u)
        );
        Cause {
            kind: CauseKind::StaleRead,
            ops: vec![
                (self.op(r).op, "stale read"),
                (self.op(w).op, "overwriting write"),
            ],
            text,
        }
    }

    fn lost_write(&self, w: usize, r: usize) -> Cause {
        let v = written(self.op(w)).unwrap_or(INITIAL);
        let text = format!(
            "{}, {}, but no operation saw {} after that write began; {}, after the acknowledgement, a value the write had overwritten ({}).",
            upper_first(&self.write_deed(w)),
            self.acknowledged(w),
            self.value(v),
            self.observation(r),
            self.overwritten_value(r)
        );
        Cause {
            kind: CauseKind::LostWrite,
            ops: vec![(self.op(w).op, "lost write"), (self.op(r).op, "later read")],
            text,
        }
    }

    fn failed_write_took_effect(&self, r: usize, f: usize) -> Cause {
        let u = seen(self.op(r)).unwrap_or(INITIAL);
        let failed = &self.history.ops[f];
        let error = failed
            .complete
            .and_then(|c| self.history.events[c].error.as_ref())
            .map(|e| match e {
                Value::String(s) => format!(" ({s})"),
                other => format!(" ({other})"),
            })
            .unwrap_or_default();
        let text = format!(
            "{}, but the only write of {} to {} begun before the read completed, process {}'s (invoked at {}), failed{error}.",
            upper_first(&self.observation(r)),
            self.value(u),
            self.name,
            failed.process,
            self.when(failed.invoke)
        );
        Cause {
            kind: CauseKind::FailedWriteTookEffect,
            ops: vec![(self.op(r).op, "read"), (f, "failed write")],
            text,
        }
    }

    fn never_written(&self, r: usize) -> Cause {
        let u = seen(self.op(r)).unwrap_or(INITIAL);
        let never = if self.writers[u as usize].is_empty() {
            "no operation wrote"
        } else {
            "no operation had begun writing"
        };
        let text = format!(
            "{}, but {never} {} to {} before the read completed, and it is not its initial value.",
            upper_first(&self.observation(r)),
            self.value(u),
            self.name
        );
        Cause {
            kind: CauseKind::NeverWritten,
            ops: vec![(self.op(r).op, "read")],
            text,
        }
    }

    fn surfaced_then_stale(&self, s: usize, r: usize) -> Cause {
        let (done, _, reader, v) = self.surfaced[s];
        let n = self.writes_before(v, done);
        let first = self.writers[v as usize][0];
        let timed_out = self.writers_timed_out[v as usize][n - 1].unwrap_or(self.op(first).call);
        let others = match n {
            1 => String::new(),
            n => format!(
                " (with {} other write(s) of {}, all timed out)",
                n - 1,
                self.value(v)
            ),
        };
        let text = format!(
            "Process {}'s write of {} to {} timed out{others} by {}; {}, after the time-out, so the write took effect late; then {}, a value older than that write ({}).",
            self.process(first),
            self.value(v),
            self.name,
            self.when(timed_out),
            self.observation(reader),
            self.observation(r),
            self.overwritten_value(r)
        );
        Cause {
            kind: CauseKind::TimedOutWriteSurfaced,
            ops: vec![
                (self.op(first).op, "timed-out write"),
                (self.op(reader).op, "read of it"),
                (self.op(r).op, "later read"),
            ],
            text,
        }
    }

    fn lost_update(&self, x: u32, cas: &[usize], supply: usize) -> Cause {
        let shown: Vec<String> = cas
            .iter()
            .take(3)
            .map(|&c| {
                let n = match self.op(c).action {
                    Action::Cas(_, n) => self.value(n),
                    _ => String::new(),
                };
                format!(
                    "process {} to {n}, acknowledged at {}{}",
                    self.process(c),
                    self.when(self.op(c).ret.unwrap_or(self.op(c).call)),
                    self.by(c)
                )
            })
            .collect();
        let initial = if x == INITIAL {
            ", counting its initial value"
        } else {
            ""
        };
        let text = format!(
            "{} compare-and-sets of {} from {} succeeded ({}), but only {supply} operation(s) ever set {} to {}{initial}: each success from {} needs a write of {} of its own, so one of them replaced a value another had already changed.",
            cas.len(),
            self.name,
            self.value(x),
            shown.join("; "),
            self.name,
            self.value(x),
            self.value(x),
            self.value(x)
        );
        let mut ops: Vec<(usize, &'static str)> = cas
            .iter()
            .take(3)
            .map(|&c| (self.op(c).op, "compare-and-set"))
            .collect();
        ops.extend(
            self.writers[x as usize]
                .iter()
                .take(3)
                .map(|&w| (self.op(w).op, "write of the value")),
        );
        Cause {
            kind: CauseKind::LostUpdate,
            ops,
            text,
        }
    }
}

/// Instances counted per kind, and the first of each explained.
#[derive(Default)]
struct Tally {
    counts: FxHashMap<CauseKind, usize>,
    first: FxHashMap<CauseKind, Cause>,
}

impl Tally {
    fn add(&mut self, kind: CauseKind, n: usize, explain: impl FnOnce() -> Cause) {
        *self.counts.entry(kind).or_default() += n;
        self.first.entry(kind).or_insert_with(explain);
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
#[path = "cause_tests.rs"]
mod tests;
