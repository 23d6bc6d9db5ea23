//! Jepsen's long-fork workload (`jepsen.tests.long-fork`): each write transaction writes one
//! key once (`:f :write`, `[[:w k v]]`), and read transactions read a group of keys together
//! (`:f :read`, `[[:r k1 v1] [:r k2 v2] ...]`; older Jepsen writes both as `:f :txn`). Every
//! key starts unwritten (`nil`).
//!
//! Under snapshot isolation every read sees a prefix of one order of the writes, so the reads
//! of one group (the same set of keys) must form a chain: of any two, one saw every key the
//! other saw written. Two reads where one saw x written but not y, and the other y but not x,
//! are a *long fork* (allowed by parallel snapshot isolation, forbidden by snapshot isolation
//! and serializability). A read of a value no write that did not fail could have written by
//! then is a *garbage-read*; both make the history invalid. A key written more than once
//! breaks the workload's assumption (Jepsen then answers unknown): it is reported as
//! *multiple-writes*, left out of the fork search, and the history is at best unknown.
//!
//! Reads are compared within their group only, as Jepsen does. Within a group, the distinct
//! sets of keys seen written are sorted by size: they form a chain iff each is a subset of the
//! next, so whether a fork exists is decided in O(D log D) for D distinct sets, and the first
//! break is a fork. Fork pairs are then counted pairwise over the distinct sets, when there are
//! at most [`MAX_PAIRWISE`] of them (else the count is a lower bound, and says so).

use super::set::{capitalise, keep_explained};
use super::{EXPLAINED, by_key, describe, of_key};
use crate::history::{History, HistoryError, Operation, Outcome, QUOTE_LIMIT, quote_json};
use crate::report::{Anomaly, Report, Verdict};
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

/// Two reads of one group that saw the writes of two keys in opposite orders.
pub const LONG_FORK: &str = "long-fork";
/// A read of a value no write that did not fail could have written by then.
pub const GARBAGE_READ: &str = "garbage-read";
/// A key written by more than one write.
pub const MULTIPLE_WRITES: &str = "multiple-writes";

/// Past this many distinct read states in one group, fork pairs are not all counted.
pub const MAX_PAIRWISE: usize = 4096;

/// The counts of a long-fork history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LongForkCounts {
    /// Write transactions (invoked).
    pub writes: usize,
    /// `ok` read transactions.
    pub reads: usize,
    /// Reads that saw nothing written (Jepsen's `early-read-count`).
    pub early_reads: usize,
    /// Reads that saw every key written (Jepsen's `late-read-count`).
    pub late_reads: usize,
    /// Groups: distinct sets of keys read together.
    pub groups: usize,
    /// Pairs of reads of one group that fork.
    pub forks: usize,
    /// Whether `forks` counts every pair (false: a lower bound; see [`MAX_PAIRWISE`]).
    pub forks_exact: bool,
    /// Reads of a value no write could have written by then (one per micro-op).
    pub garbage_reads: usize,
    /// Keys written more than once.
    pub multiple_write_keys: usize,
}

/// One long fork: two reads and the two keys they disagree on.
#[derive(Debug, Clone, PartialEq)]
pub struct LongFork {
    /// The independent key (`key` field) of the history part, if any.
    pub independent_key: Option<Value>,
    /// The two reads ([`Operation::id`]s): the first saw `keys[0]` written and not
    /// `keys[1]`, the second the reverse.
    pub reads: [usize; 2],
    /// The two keys.
    pub keys: [Value; 2],
    /// The writes of the two keys ([`Operation::id`]s).
    pub writes: [usize; 2],
}

/// What the long-fork checker concluded.
#[derive(Debug, Clone, PartialEq)]
pub struct LongForkCheck {
    /// The counts.
    pub counts: LongForkCounts,
    /// The forks explained in the report (at most 16).
    pub forks: Vec<LongFork>,
    /// The report.
    pub report: Report,
}

/// One write: its key, value and op.
struct Write<'h> {
    value: &'h Value,
    op: &'h Operation,
}

/// One ok read: its op and its micro-ops as (key id, value).
struct Read<'h> {
    op: &'h Operation,
    mops: Vec<(usize, &'h Value)>,
}

/// Checks a long-fork history (see the module documentation).
///
/// ```
/// use faultline_checkers::history::{Format, History};
/// use faultline_checkers::plain::long_fork;
/// use faultline_checkers::report::Verdict;
///
/// let text = r#"{:process 0, :type :invoke, :f :write, :value [[:w :x 1]]}
/// {:process 0, :type :ok, :f :write, :value [[:w :x 1]]}
/// {:process 1, :type :invoke, :f :write, :value [[:w :y 1]]}
/// {:process 1, :type :ok, :f :write, :value [[:w :y 1]]}
/// {:process 2, :type :invoke, :f :read, :value [[:r :x nil] [:r :y nil]]}
/// {:process 2, :type :ok, :f :read, :value [[:r :x 1] [:r :y nil]]}
/// {:process 3, :type :invoke, :f :read, :value [[:r :y nil] [:r :x nil]]}
/// {:process 3, :type :ok, :f :read, :value [[:r :y 1] [:r :x nil]]}
/// "#;
/// let history = History::parse("lf.edn", text, Format::Edn).unwrap();
/// let checked = long_fork::check(&history).unwrap();
/// assert_eq!(checked.report.verdict, Verdict::Invalid);
/// assert_eq!(checked.counts.forks, 1);
/// assert_eq!(checked.forks[0].reads, [2, 3]);
/// ```
pub fn check(history: &History) -> Result<LongForkCheck, HistoryError> {
    let mut c = LongForkCounts {
        forks_exact: true,
        ..LongForkCounts::default()
    };
    let mut anomalies = Vec::new();
    let mut forks = Vec::new();
    for (key, ops) in by_key(history) {
        check_part(history, &key, &ops, &mut c, &mut anomalies, &mut forks)?;
    }
    let verdict = if c.forks + c.garbage_reads > 0 {
        Verdict::Invalid
    } else if c.multiple_write_keys > 0 {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let at_least = if c.forks_exact { "" } else { "at least " };
    let summary = match verdict {
        Verdict::Invalid => format!(
            "{at_least}{} long fork(s), {} garbage read(s) ({} reads in {} group(s), {} writes)",
            c.forks, c.garbage_reads, c.reads, c.groups, c.writes
        ),
        Verdict::Unknown => format!(
            "{} key(s) written more than once: the workload writes each key once, so reads of them cannot be placed",
            c.multiple_write_keys
        ),
        Verdict::Valid => format!(
            "no long fork: the reads of each group form a chain ({} reads in {} group(s), {} early, {} late; {} writes)",
            c.reads, c.groups, c.early_reads, c.late_reads, c.writes
        ),
    };
    let mut report = Report::new("long-fork", "long-fork", verdict, summary);
    anomalies.sort_by_key(|a: &Anomaly| a.events.first().copied());
    keep_explained(&mut anomalies);
    report.anomalies = anomalies;
    for (name, n) in [
        ("write-count", c.writes),
        ("reads-count", c.reads),
        ("early-read-count", c.early_reads),
        ("late-read-count", c.late_reads),
        ("group-count", c.groups),
        ("fork-count", c.forks),
        ("garbage-read-count", c.garbage_reads),
        ("multiple-write-keys", c.multiple_write_keys),
    ] {
        report.stats.insert(name.into(), json!(n));
    }
    report
        .stats
        .insert("fork-count-exact".into(), json!(c.forks_exact));
    Ok(LongForkCheck {
        counts: c,
        forks,
        report,
    })
}

/// The error for a transaction of the wrong shape.
fn shape_error(history: &History, pos: usize, found: &Value) -> HistoryError {
    history.error_at(
        pos,
        format!(
            "a long-fork transaction is one write [[\"w\", key, value]] or reads [[\"r\", key, value], ...] of distinct keys, found {}",
            quote_json(found, QUOTE_LIMIT)
        ),
    )
}

/// The micro-ops of a transaction value, all of function `want` ("r" or "w"), as (key, value).
fn micro_ops<'h>(
    history: &'h History,
    pos: usize,
    value: &'h Value,
    want: &str,
) -> Result<Vec<(&'h Value, &'h Value)>, HistoryError> {
    let Value::Array(mops) = value else {
        return Err(shape_error(history, pos, value));
    };
    let mut out = Vec::with_capacity(mops.len());
    for mop in mops {
        match mop.as_array().map(Vec::as_slice) {
            Some([Value::String(f), k, v]) if f == want && !k.is_null() => out.push((k, v)),
            _ => return Err(shape_error(history, pos, value)),
        }
    }
    if out.is_empty() || (want == "w" && out.len() != 1) {
        return Err(shape_error(history, pos, value));
    }
    Ok(out)
}

/// Whether a transaction value is a write (one `w` micro-op) rather than reads.
fn is_write(value: &Value) -> bool {
    value
        .as_array()
        .and_then(|m| m.first())
        .and_then(|m| m.get(0))
        .and_then(Value::as_str)
        == Some("w")
}

fn check_part<'h>(
    history: &'h History,
    key: &Option<Value>,
    ops: &[&'h Operation],
    c: &mut LongForkCounts,
    anomalies: &mut Vec<Anomaly>,
    forks: &mut Vec<LongFork>,
) -> Result<(), HistoryError> {
    let mut key_ids: FxHashMap<&'h Value, usize> = FxHashMap::default();
    let mut keys: Vec<&'h Value> = Vec::new();
    let mut intern = |k: &'h Value| -> usize {
        *key_ids.entry(k).or_insert_with(|| {
            keys.push(k);
            keys.len() - 1
        })
    };
    let mut writes: Vec<Vec<Write<'h>>> = Vec::new();
    let mut reads: Vec<Read<'h>> = Vec::new();
    for &op in ops {
        let invocation = &history.events[op.invoke].value;
        let write = match op.f.as_str() {
            "write" | "read" | "txn" => is_write(invocation),
            other => {
                return Err(history.error_at(
                    op.invoke,
                    format!("the long-fork model expects f = read, write or txn, found f = {other:?}"),
                ));
            }
        };
        if !invocation.is_array() {
            return Err(shape_error(history, op.invoke, invocation));
        }
        if (op.f == "write" && !write) || (op.f == "read" && write) {
            return Err(history.error_at(
                op.invoke,
                format!(
                    "an op with f = {:?} must be a {} transaction, found {}",
                    op.f,
                    if write { "read" } else { "write" },
                    quote_json(invocation, QUOTE_LIMIT)
                ),
            ));
        }
        if write {
            let (k, v) = micro_ops(history, op.invoke, invocation, "w")?[0];
            let id = intern(k);
            if writes.len() <= id {
                writes.resize_with(id + 1, Vec::new);
            }
            writes[id].push(Write { value: v, op });
            c.writes += 1;
            continue;
        }
        let asked = micro_ops(history, op.invoke, invocation, "r")?;
        let mut ids: Vec<usize> = asked.iter().map(|&(k, _)| intern(k)).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(history.error_at(op.invoke, "a read names the same key twice"));
        }
        if op.outcome != Outcome::Ok {
            continue;
        }
        let done = op.complete.unwrap_or(op.invoke);
        let got = micro_ops(history, done, history.value(op), "r")?;
        let same_keys = got.len() == asked.len() && got.iter().zip(&asked).all(|(g, a)| g.0 == a.0);
        if !same_keys {
            return Err(history.error_at(
                done,
                "an ok read must return the keys its invocation asked for, in the same order",
            ));
        }
        let mops: Vec<(usize, &Value)> = got.iter().map(|&(k, v)| (intern(k), v)).collect();
        reads.push(Read { op, mops });
    }
    writes.resize_with(keys.len(), Vec::new);
    let ctx = Part {
        history,
        key,
        keys: &keys,
        writes: &writes,
    };
    // Keys written more than once are left out of the fork search.
    let multiple: Vec<bool> = writes.iter().map(|w| w.len() > 1).collect();
    for (id, w) in writes.iter().enumerate().filter(|(_, w)| w.len() > 1) {
        c.multiple_write_keys += 1;
        anomalies.push(ctx.multiple_writes(id, w));
    }
    // Garbage reads; the reads without one go on to the fork search, by group.
    let mut groups: FxHashMap<Vec<usize>, Vec<usize>> = FxHashMap::default();
    for (i, r) in reads.iter().enumerate() {
        c.reads += 1;
        let seen = r.mops.iter().filter(|m| !m.1.is_null()).count();
        c.early_reads += usize::from(seen == 0);
        c.late_reads += usize::from(seen == r.mops.len());
        let mut garbage = false;
        for &(k, v) in r.mops.iter().filter(|m| !m.1.is_null()) {
            let done = r.op.complete.unwrap_or(usize::MAX);
            let possible = writes[k]
                .iter()
                .any(|w| w.value == v && w.op.outcome != Outcome::Fail && w.op.invoke < done);
            if !possible {
                garbage = true;
                c.garbage_reads += 1;
                anomalies.push(ctx.garbage_read(r, k, v));
            }
        }
        if !garbage {
            let mut ids: Vec<usize> = r.mops.iter().map(|m| m.0).collect();
            ids.sort_unstable();
            groups.entry(ids).or_default().push(i);
        }
    }
    c.groups += groups.len();
    let mut groups: Vec<(Vec<usize>, Vec<usize>)> = groups.into_iter().collect();
    groups.sort_unstable();
    for (group_keys, members) in &groups {
        for (a, b, x, y) in forks_in_group(group_keys, members, &reads, &multiple, c) {
            if forks.len() < EXPLAINED {
                let (ra, rb) = (&reads[a], &reads[b]);
                let fork = LongFork {
                    independent_key: key.clone(),
                    reads: [ra.op.id, rb.op.id],
                    keys: [keys[x].clone(), keys[y].clone()],
                    writes: [writes[x][0].op.id, writes[y][0].op.id],
                };
                anomalies.push(ctx.long_fork(ra, rb, x, y));
                forks.push(fork);
            }
        }
    }
    Ok(())
}

/// The forks of one group: counts every pair of reads that fork into `c.forks` and returns
/// witnesses (read indices a and b, a key x that a saw written and b did not, a key y the
/// reverse), at most [`EXPLAINED`].
fn forks_in_group(
    group_keys: &[usize],
    members: &[usize],
    reads: &[Read<'_>],
    multiple: &[bool],
    c: &mut LongForkCounts,
) -> Vec<(usize, usize, usize, usize)> {
    let words = group_keys.len().div_ceil(64);
    // Distinct states (bit i: group key i seen written), with the reads that saw each.
    let mut states: FxHashMap<Vec<u64>, Vec<usize>> = FxHashMap::default();
    let mut bits = vec![0u64; words];
    for &i in members {
        bits.iter_mut().for_each(|w| *w = 0);
        for &(k, v) in &reads[i].mops {
            if !v.is_null() && !multiple[k] {
                let at = group_keys.binary_search(&k).unwrap_or_default();
                bits[at / 64] |= 1 << (at % 64);
            }
        }
        match states.get_mut(bits.as_slice()) {
            Some(list) => list.push(i),
            None => {
                states.insert(bits.clone(), vec![i]);
            }
        }
    }
    let mut states: Vec<(Vec<u64>, Vec<usize>)> = states.into_iter().collect();
    let size = |s: &[u64]| s.iter().map(|w| w.count_ones()).sum::<u32>();
    states.sort_unstable_by(|a, b| size(&a.0).cmp(&size(&b.0)).then_with(|| a.1[0].cmp(&b.1[0])));
    let subset = |a: &[u64], b: &[u64]| a.iter().zip(b).all(|(x, y)| x & !y == 0);
    let chain = states.windows(2).all(|w| subset(&w[0].0, &w[1].0));
    if chain {
        return Vec::new();
    }
    // The first key set in `a` and not in `b`, as a key id.
    let first_only = |a: &[u64], b: &[u64]| -> usize {
        let (w, word) = a
            .iter()
            .zip(b)
            .map(|(x, y)| x & !y)
            .enumerate()
            .find(|(_, d)| *d != 0)
            .unwrap_or((0, 1));
        group_keys[w * 64 + word.trailing_zeros() as usize]
    };
    let mut witnesses = Vec::new();
    let mut witness = |a: &(Vec<u64>, Vec<usize>), b: &(Vec<u64>, Vec<usize>)| {
        if witnesses.len() < EXPLAINED {
            witnesses.push((a.1[0], b.1[0], first_only(&a.0, &b.0), first_only(&b.0, &a.0)));
        }
    };
    if states.len() <= MAX_PAIRWISE {
        for (i, a) in states.iter().enumerate() {
            for b in &states[i + 1..] {
                if !subset(&a.0, &b.0) && !subset(&b.0, &a.0) {
                    c.forks += a.1.len() * b.1.len();
                    witness(a, b);
                }
            }
        }
    } else {
        c.forks_exact = false;
        for w in states.windows(2).filter(|w| !subset(&w[0].0, &w[1].0)) {
            c.forks += w[0].1.len() * w[1].1.len();
            witness(&w[0], &w[1]);
        }
    }
    witnesses
}

/// What explanations need of one part of the history (one independent key).
struct Part<'a, 'h> {
    history: &'h History,
    key: &'a Option<Value>,
    keys: &'a [&'h Value],
    writes: &'a [Vec<Write<'h>>],
}

impl Part<'_, '_> {
    fn events(&self, ops: &[&Operation]) -> Vec<u64> {
        let mut e: Vec<u64> = ops
            .iter()
            .flat_map(|o| [Some(o.invoke), o.complete])
            .flatten()
            .map(|p| self.history.events[p].index)
            .collect();
        e.sort_unstable();
        e.dedup();
        e
    }

    /// "key 0": a key of the long-fork workload, for explanations.
    fn name(&self, k: usize) -> String {
        format!("key {}", self.keys[k])
    }

    /// "key 0 = 1, key 1 = nil": what a read saw.
    fn saw(&self, r: &Read<'_>) -> String {
        r.mops
            .iter()
            .map(|&(k, v)| {
                format!(
                    "{} = {}",
                    self.name(k),
                    if v.is_null() { "nil".into() } else { v.to_string() }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn long_fork(&self, a: &Read<'_>, b: &Read<'_>, x: usize, y: usize) -> Anomaly {
        let (kx, ky) = (self.name(x), self.name(y));
        let (wx, wy) = (self.writes[x][0].op, self.writes[y][0].op);
        let h = self.history;
        Anomaly {
            kind: LONG_FORK.into(),
            key: self.key.clone(),
            steps: vec![
                format!(
                    "{}, wrote {} to {kx}{}.",
                    capitalise(&describe(h, wx)),
                    self.writes[x][0].value,
                    of_key(self.key)
                ),
                format!("{}, wrote {} to {ky}.", capitalise(&describe(h, wy)), self.writes[y][0].value),
                format!(
                    "{}, read {}: it saw {kx} written but not {ky}, so the write of {kx} came first.",
                    capitalise(&describe(h, a.op)),
                    self.saw(a)
                ),
                format!(
                    "{}, read {}: it saw {ky} written but not {kx}, so the write of {ky} came first.",
                    capitalise(&describe(h, b.op)),
                    self.saw(b)
                ),
                "No one order of the writes gives both reads a prefix of it: a long fork (allowed by parallel snapshot isolation, forbidden by snapshot isolation and serializability).".into(),
            ],
            events: self.events(&[wx, wy, a.op, b.op]),
            details: json!({ "keys": [self.keys[x], self.keys[y]], "reads": [h.events[a.op.invoke].index, h.events[b.op.invoke].index] }),
        }
    }

    fn garbage_read(&self, r: &Read<'_>, k: usize, v: &Value) -> Anomaly {
        let h = self.history;
        let kk = self.name(k);
        let done = r.op.complete.unwrap_or(usize::MAX);
        let same: Vec<&Write> = self.writes[k].iter().filter(|w| w.value == v).collect();
        let why = match same.first() {
            None if self.writes[k].is_empty() => format!("No write of {kk} is in the history."),
            None => format!(
                "No write of {kk} wrote {v} (the first write of {kk}: {}, wrote {}).",
                describe(h, self.writes[k][0].op),
                self.writes[k][0].value
            ),
            Some(w) if same.iter().all(|w| w.op.outcome == Outcome::Fail) => format!(
                "The write of {v} to {kk}, {}, failed: it certainly did not take effect.",
                describe(h, w.op)
            ),
            Some(w) if w.op.invoke > done => format!(
                "The write of {v} to {kk}, {}, was invoked after this read completed.",
                describe(h, w.op)
            ),
            Some(w) => format!(
                "Every write of {v} to {kk} failed or was invoked after this read completed (the first: {}).",
                describe(h, w.op)
            ),
        };
        let mut involved = vec![r.op];
        involved.extend(same.first().map(|w| w.op));
        Anomaly {
            kind: GARBAGE_READ.into(),
            key: self.key.clone(),
            steps: vec![
                format!(
                    "{}, read {}{}.",
                    capitalise(&describe(h, r.op)),
                    self.saw(r),
                    of_key(self.key)
                ),
                why,
            ],
            events: self.events(&involved),
            details: json!({ "read-key": self.keys[k], "value": v }),
        }
    }

    fn multiple_writes(&self, k: usize, w: &[Write<'_>]) -> Anomaly {
        let h = self.history;
        let kk = self.name(k);
        let ops: Vec<&Operation> = w.iter().map(|w| w.op).take(4).collect();
        Anomaly {
            kind: MULTIPLE_WRITES.into(),
            key: self.key.clone(),
            steps: vec![
                format!(
                    "{kk}{} was written {} times: first by {}, then by {}.",
                    of_key(self.key),
                    w.len(),
                    describe(h, w[0].op),
                    describe(h, w[1].op)
                ),
                format!(
                    "The long-fork workload writes each key once, so a read of {kk} cannot tell which write it saw: {kk} is left out of the fork search, and the history is at best unknown.",
                ),
            ],
            events: self.events(&ops),
            details: json!({ "written-key": self.keys[k], "writes": w.len() }),
        }
    }
}
