//! Jepsen's total-queue checker (`unordered-queue`): clients `:enqueue x`, `:dequeue` (an `ok`
//! dequeue returns the element it took; `nil` means the queue was empty) and, at the end,
//! `:drain` (an `ok` drain returns the list of elements it took). What goes in must come out,
//! in any order. Elements are counted as multisets, as Jepsen does: the same value may be
//! enqueued several times and must then come out as many times.
//!
//! Each dequeued element (a dequeue's, or one of a drain's) is matched with a distinct enqueue
//! of the same value that did not fail and was invoked before the dequeue completed,
//! acknowledged enqueues first. An acknowledged enqueue left unmatched is *lost*; a dequeued
//! element left unmatched is *duplicated* when its value was dequeued more times than enqueues
//! that did not fail could have put it in, and *unexpected* otherwise (never enqueued, only by
//! enqueues that failed, or dequeued before any enqueue of it still unmatched was invoked). An
//! enqueue whose outcome is unknown (`info`, or never completed) matched with a dequeue is
//! *recovered* (fine). The history is valid iff nothing is lost, unexpected or duplicated.
//!
//! Where this differs from Jepsen's checker: a failed enqueue certainly did not take effect,
//! so it cannot explain a dequeue (Jepsen counts every invocation); a dequeue cannot return an
//! element before its enqueue was invoked; duplicates make the history invalid (Jepsen counts
//! them only); a crashed drain takes nothing we know of, like a crashed dequeue (Jepsen refuses
//! it). A crashed (`info`) dequeue may have taken an element no one saw: Jepsen counts that
//! element as lost, and so does this checker (the count of crashed dequeues is reported).

use super::set::{DUPLICATED, LOST, UNEXPECTED, capitalise, keep_explained};
use super::{EXPLAINED, by_key, describe, of_key};
use crate::history::{History, HistoryError, Operation, Outcome, QUOTE_LIMIT, quote_json};
use crate::report::{Anomaly, Report, Verdict};
use rustc_hash::FxHashMap;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// The counts of a queue history, over every key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueCounts {
    /// Enqueues invoked (Jepsen's `attempt-count`).
    pub attempts: usize,
    /// Enqueues acknowledged (`ok`).
    pub acknowledged: usize,
    /// Elements dequeued (by `ok` dequeues and drains).
    pub dequeued: usize,
    /// Dequeued elements matched with an enqueue.
    pub ok: usize,
    /// Acknowledged enqueues whose element never came out.
    pub lost: usize,
    /// Dequeued elements no unmatched enqueue could have put in.
    pub unexpected: usize,
    /// Dequeued elements beyond the number of enqueues of their value that did not fail.
    pub duplicated: usize,
    /// Enqueues of unknown outcome whose element came out.
    pub recovered: usize,
    /// `ok` dequeues that found the queue empty (value `nil`).
    pub empty_dequeues: usize,
    /// Dequeues and drains whose outcome is unknown (`info`, or never completed).
    pub crashed_dequeues: usize,
}

/// What the unordered-queue checker concluded: typed counts, and the report (verdict,
/// explained anomalies, the same counts as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueCheck {
    /// The counts.
    pub counts: QueueCounts,
    /// The report.
    pub report: Report,
}

/// One dequeued element: the op that returned it and where it completed.
#[derive(Clone, Copy)]
struct Taken<'h> {
    op: &'h Operation,
    done: usize,
}

/// Everything one value went through on one key.
#[derive(Default)]
struct ValueOps<'h> {
    enqueues: Vec<&'h Operation>,
    taken: Vec<Taken<'h>>,
}

/// Checks a queue history (see the module documentation).
///
/// ```
/// use faultline_checkers::history::{Format, History};
/// use faultline_checkers::plain::unordered_queue;
/// use faultline_checkers::report::Verdict;
///
/// let text = r#"{"process":0,"type":"invoke","f":"enqueue","value":1}
/// {"process":0,"type":"ok","f":"enqueue","value":1}
/// {"process":1,"type":"invoke","f":"enqueue","value":2}
/// {"process":1,"type":"ok","f":"enqueue","value":2}
/// {"process":0,"type":"invoke","f":"drain","value":null}
/// {"process":0,"type":"ok","f":"drain","value":[2]}
/// "#;
/// let history = History::parse("q.jsonl", text, Format::Jsonl).unwrap();
/// let checked = unordered_queue::check(&history).unwrap();
/// assert_eq!(checked.report.verdict, Verdict::Invalid);
/// assert_eq!((checked.counts.acknowledged, checked.counts.lost), (2, 1));
/// assert_eq!(checked.report.anomalies[0].kind, "lost");
/// ```
pub fn check(history: &History) -> Result<QueueCheck, HistoryError> {
    let mut c = QueueCounts::default();
    let mut anomalies = Vec::new();
    let mut samples: FxHashMap<&str, Vec<Value>> = FxHashMap::default();
    for (key, ops) in by_key(history) {
        let values = collect(history, &ops, &mut c)?;
        for (value, v) in values {
            check_value(history, &key, value, v, &mut c, &mut anomalies, &mut samples);
        }
    }
    let bad = c.lost + c.unexpected + c.duplicated;
    let verdict = if bad > 0 { Verdict::Invalid } else { Verdict::Valid };
    let summary = if bad > 0 {
        format!(
            "{} lost, {} unexpected, {} duplicated ({} enqueues attempted, {} acknowledged, {} elements dequeued)",
            c.lost, c.unexpected, c.duplicated, c.attempts, c.acknowledged, c.dequeued
        )
    } else {
        format!(
            "every acknowledged enqueue came out once ({} attempted, {} acknowledged, {} dequeued, {} recovered)",
            c.attempts, c.acknowledged, c.dequeued, c.recovered
        )
    };
    let mut report = Report::new("unordered-queue", "unordered-queue", verdict, summary);
    anomalies.sort_by_key(|a: &Anomaly| a.events.first().copied());
    keep_explained(&mut anomalies);
    report.anomalies = anomalies;
    for (name, n) in [
        ("attempt-count", c.attempts),
        ("acknowledged-count", c.acknowledged),
        ("dequeued-count", c.dequeued),
        ("ok-count", c.ok),
        ("lost-count", c.lost),
        ("unexpected-count", c.unexpected),
        ("duplicated-count", c.duplicated),
        ("recovered-count", c.recovered),
        ("empty-dequeue-count", c.empty_dequeues),
        ("crashed-dequeue-count", c.crashed_dequeues),
    ] {
        report.stats.insert(name.into(), json!(n));
    }
    let sample = |k: &str| samples.get(k).cloned().unwrap_or_default();
    report.details = json!({
        "lost": sample(LOST),
        "unexpected": sample(UNEXPECTED),
        "duplicated": sample(DUPLICATED),
        "recovered": sample("recovered"),
    });
    Ok(QueueCheck { counts: c, report })
}

/// The key's ops by value, checking their shapes; counts attempts, acknowledgements, empty and
/// crashed dequeues.
fn collect<'h>(
    history: &'h History,
    ops: &[&'h Operation],
    c: &mut QueueCounts,
) -> Result<FxHashMap<&'h Value, ValueOps<'h>>, HistoryError> {
    let mut values: FxHashMap<&'h Value, ValueOps<'h>> = FxHashMap::default();
    for &op in ops {
        let done = op.complete.unwrap_or(op.invoke);
        match op.f.as_str() {
            "enqueue" => {
                let value = &history.events[op.invoke].value;
                if value.is_null() {
                    return Err(history.error_at(
                        op.invoke,
                        "an enqueue's value must not be nil (an ok dequeue of nil means the queue was empty)",
                    ));
                }
                c.attempts += 1;
                c.acknowledged += usize::from(op.outcome == Outcome::Ok);
                values.entry(value).or_default().enqueues.push(op);
            }
            "dequeue" | "drain" if op.outcome != Outcome::Ok => {
                c.crashed_dequeues += usize::from(op.outcome != Outcome::Fail);
            }
            "dequeue" => match history.value(op) {
                Value::Null => c.empty_dequeues += 1,
                element => values.entry(element).or_default().taken.push(Taken { op, done }),
            },
            "drain" => {
                let Value::Array(elements) = history.value(op) else {
                    return Err(history.error_at(
                        done,
                        format!(
                            "an ok drain must return the list of elements it dequeued, found {}",
                            quote_json(history.value(op), QUOTE_LIMIT)
                        ),
                    ));
                };
                for element in elements {
                    if element.is_null() {
                        return Err(history.error_at(done, "a drain's elements must not be nil"));
                    }
                    values.entry(element).or_default().taken.push(Taken { op, done });
                }
            }
            other => {
                return Err(history.error_at(
                    op.invoke,
                    format!(
                        "the unordered-queue model expects f = enqueue, dequeue or drain, found f = {other:?}"
                    ),
                ));
            }
        }
    }
    Ok(values)
}

/// Matches one value's dequeued elements with its enqueues and explains what is left over.
fn check_value<'h>(
    history: &'h History,
    key: &Option<Value>,
    value: &Value,
    mut v: ValueOps<'h>,
    c: &mut QueueCounts,
    anomalies: &mut Vec<Anomaly>,
    samples: &mut FxHashMap<&'static str, Vec<Value>>,
) {
    let mut sample = |kind: &'static str, n: usize| {
        let list = samples.entry(kind).or_default();
        if list.len() < EXPLAINED {
            list.push(json!({ "key": key, "element": value, "count": n }));
        }
    };
    c.dequeued += v.taken.len();
    let mut possible: Vec<&Operation> = v
        .enqueues
        .iter()
        .copied()
        .filter(|e| e.outcome != Outcome::Fail)
        .collect();
    possible.sort_by_key(|e| e.invoke);
    v.taken.sort_by_key(|t| t.done);
    // Greedy matching in completion order: each dequeue may use any enqueue invoked before it
    // completed, and those stay usable for every later dequeue, so matching whenever possible
    // matches the most; taking acknowledged enqueues first leaves the fewest lost.
    let (mut acked, mut uncertain) = (VecDeque::new(), VecDeque::new());
    let mut next = 0;
    let mut unmatched: Vec<Taken> = Vec::new();
    let mut matched = 0;
    for t in &v.taken {
        while next < possible.len() && possible[next].invoke < t.done {
            let e = possible[next];
            if e.outcome == Outcome::Ok {
                acked.push_back(e);
            } else {
                uncertain.push_back(e);
            }
            next += 1;
        }
        if acked.pop_front().is_some() {
            matched += 1;
        } else if uncertain.pop_front().is_some() {
            matched += 1;
            c.recovered += 1;
            sample("recovered", 1);
        } else {
            unmatched.push(*t);
        }
    }
    c.ok += matched;
    let lost: Vec<&Operation> = acked
        .into_iter()
        .chain(
            possible[next..]
                .iter()
                .copied()
                .filter(|e| e.outcome == Outcome::Ok),
        )
        .collect();
    let duplicated = if possible.is_empty() {
        0
    } else {
        v.taken.len().saturating_sub(possible.len())
    };
    let unexpected = unmatched.len() - duplicated;
    c.lost += lost.len();
    c.duplicated += duplicated;
    c.unexpected += unexpected;
    let events = |ops: &[&Operation]| -> Vec<u64> {
        let mut e: Vec<u64> = ops
            .iter()
            .flat_map(|o| [Some(o.invoke), o.complete])
            .flatten()
            .map(|p| history.events[p].index)
            .collect();
        e.sort_unstable();
        e.dedup();
        e
    };
    let came_out = || match v.taken.len() {
        0 => format!("No dequeue or drain{} ever returned {value}.", of_key(key)),
        n => format!(
            "{value} came out {n} time(s){} (the first by {}), and none of those can be this enqueue's: each is accounted to another enqueue of {value} invoked before it came out, or came out before this enqueue was invoked.",
            of_key(key),
            describe(history, v.taken[0].op)
        ),
    };
    if !lost.is_empty() {
        sample(LOST, lost.len());
    }
    for e in lost.iter().take(EXPLAINED) {
        anomalies.push(Anomaly {
            kind: LOST.into(),
            key: key.clone(),
            steps: vec![
                format!(
                    "{}, enqueuing {value}{}, was acknowledged.",
                    capitalise(&describe(history, e)),
                    of_key(key)
                ),
                came_out(),
                "The acknowledged enqueue was lost: what goes in must come out (the history is expected to end by draining the queue).".into(),
            ],
            events: events(&[e]),
            details: json!({ "element": value }),
        });
    }
    if duplicated > 0 {
        sample(DUPLICATED, duplicated);
        let mut involved: Vec<&Operation> = v.taken.iter().map(|t| t.op).collect();
        involved.dedup_by_key(|o| o.id);
        involved.truncate(4);
        anomalies.push(Anomaly {
            kind: DUPLICATED.into(),
            key: key.clone(),
            steps: vec![
                format!(
                    "{value}{} was enqueued {} time(s) by enqueues that did not fail (the first: {}).",
                    of_key(key),
                    possible.len(),
                    describe(history, possible[0])
                ),
                came_out_times(history, &v.taken),
                format!(
                    "{duplicated} of those are duplicates: an element came out more often than it went in."
                ),
            ],
            events: events(&involved),
            details: json!({ "element": value, "enqueued": possible.len(), "dequeued": v.taken.len() }),
        });
    }
    if unexpected > 0 {
        sample(UNEXPECTED, unexpected);
    }
    for t in unmatched.iter().take(unexpected.min(EXPLAINED)) {
        let failed = v.enqueues.iter().filter(|e| e.outcome == Outcome::Fail).count();
        let why = if possible.is_empty() && failed == 0 {
            format!("No operation ever enqueued {value}{}.", of_key(key))
        } else if possible.is_empty() {
            format!(
                "Every enqueue of {value} failed ({failed}; the first: {}): none took effect.",
                describe(history, v.enqueues[0])
            )
        } else {
            let before = possible.iter().filter(|e| e.invoke < t.done).count();
            if before == 0 {
                format!(
                    "No enqueue of {value} had been invoked by then: the first that did not fail was {}.",
                    describe(history, possible[0])
                )
            } else {
                format!(
                    "By then {before} enqueue(s) of {value} that did not fail had been invoked, and earlier dequeues had already taken {value} that many times."
                )
            }
        };
        let mut involved = vec![t.op];
        involved.extend(v.enqueues.first().copied());
        anomalies.push(Anomaly {
            kind: UNEXPECTED.into(),
            key: key.clone(),
            steps: vec![
                format!(
                    "{}, returned {value}{}.",
                    capitalise(&describe(history, t.op)),
                    of_key(key)
                ),
                why,
            ],
            events: events(&involved),
            details: json!({ "element": value }),
        });
    }
}

/// "It came out 3 times (the first by ..., the last by ...)."
fn came_out_times(history: &History, taken: &[Taken<'_>]) -> String {
    let (first, last) = (taken[0].op, taken[taken.len() - 1].op);
    if first.id == last.id {
        format!(
            "It came out {} times, all by {}.",
            taken.len(),
            describe(history, first)
        )
    } else {
        format!(
            "It came out {} times (the first by {}, the last by {}).",
            taken.len(),
            describe(history, first),
            describe(history, last)
        )
    }
}
