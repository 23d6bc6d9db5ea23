//! Jepsen's set checker: clients `:add` elements, and a final `:read` returns the whole set.
//! Every acknowledged add that completed before the final read began must be in it (else the
//! element is *lost*); every element in it must have been added by an add that did not fail
//! and was invoked before the read completed (else it is *unexpected*). Elements whose add was
//! indeterminate (`info`) and that the read contains are *recovered* (fine). An acknowledged add
//! still running when the final read began may or may not be in it. A read listing an element
//! twice is *duplicated*. The final read is the last `ok` read (by completion); a key never
//! read is unknown.

use super::{EXPLAINED, by_key, describe, of_key};
use crate::history::{History, HistoryError, Operation, Outcome};
use crate::report::{Anomaly, Report, Verdict};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Value, json};

/// An acknowledged add missing from the final read.
pub const LOST: &str = "lost";
/// An element in a read that no possibly-successful add could have put there.
pub const UNEXPECTED: &str = "unexpected";
/// An element listed twice in one read.
pub const DUPLICATED: &str = "duplicated";

/// The elements of an ok read, or an error naming its line.
pub(crate) fn read_elements<'h>(history: &'h History, op: &Operation) -> Result<&'h [Value], HistoryError> {
    let c = op.complete.unwrap_or(op.invoke);
    match &history.events[c].value {
        Value::Array(items) => Ok(items),
        other => Err(history.error_at(
            c,
            format!(
                "a set read must return a set or list of elements, found {}",
                crate::history::quote_json(other, crate::history::QUOTE_LIMIT)
            ),
        )),
    }
}

/// Elements listed more than once in one read, with the read.
pub(crate) fn duplicates(elements: &[Value]) -> Vec<&Value> {
    let mut seen = FxHashSet::default();
    let mut twice: Vec<&Value> = elements.iter().filter(|e| !seen.insert(*e)).collect();
    twice.dedup();
    twice
}

/// Counts for one key.
#[derive(Default)]
struct Tally {
    attempts: usize,
    acknowledged: usize,
    ok: usize,
    lost: usize,
    recovered: usize,
    unexpected: usize,
    duplicated: usize,
    unread_keys: usize,
}

/// Checks a set history (see the module documentation).
pub fn check_set(history: &History) -> Result<Report, HistoryError> {
    let mut anomalies = Vec::new();
    let mut t = Tally::default();
    let mut recovered_sample = Vec::new();
    for (key, ops) in by_key(history) {
        check_key(history, &key, &ops, &mut t, &mut anomalies, &mut recovered_sample)?;
    }
    let bad = t.lost + t.unexpected + t.duplicated;
    let verdict = if bad > 0 {
        Verdict::Invalid
    } else if t.unread_keys > 0 {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let summary = match verdict {
        Verdict::Invalid => format!(
            "{} lost, {} unexpected, {} duplicated of {} elements attempted",
            t.lost, t.unexpected, t.duplicated, t.attempts
        ),
        Verdict::Unknown => format!(
            "{} key(s) never read: nothing to compare the adds with",
            t.unread_keys
        ),
        Verdict::Valid => format!(
            "every acknowledged add is in the final read ({} attempted, {} acknowledged, {} recovered)",
            t.attempts, t.acknowledged, t.recovered
        ),
    };
    let mut report = Report::new("set", "set", verdict, summary);
    anomalies.sort_by_key(|a| a.events.first().copied());
    keep_explained(&mut anomalies);
    report.anomalies = anomalies;
    for (name, n) in [
        ("attempt-count", t.attempts),
        ("acknowledged-count", t.acknowledged),
        ("ok-count", t.ok),
        ("lost-count", t.lost),
        ("recovered-count", t.recovered),
        ("unexpected-count", t.unexpected),
        ("duplicated-count", t.duplicated),
        ("unread-keys", t.unread_keys),
    ] {
        report.stats.insert(name.into(), json!(n));
    }
    report.details = json!({ "recovered": recovered_sample });
    Ok(report)
}

/// Keeps at most [`EXPLAINED`] anomalies of each kind.
pub(crate) fn keep_explained(anomalies: &mut Vec<Anomaly>) {
    let mut per_kind: FxHashMap<String, usize> = FxHashMap::default();
    anomalies.retain(|a| {
        let n = per_kind.entry(a.kind.clone()).or_default();
        *n += 1;
        *n <= EXPLAINED
    });
}

fn check_key(
    history: &History,
    key: &Option<Value>,
    ops: &[&Operation],
    t: &mut Tally,
    anomalies: &mut Vec<Anomaly>,
    recovered_sample: &mut Vec<Value>,
) -> Result<(), HistoryError> {
    let adds: Vec<&Operation> = ops.iter().copied().filter(|o| o.f == "add").collect();
    let final_read = ops
        .iter()
        .copied()
        .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        .max_by_key(|o| o.complete);
    // element -> its adds, in invocation order
    let mut adds_of: FxHashMap<&Value, Vec<&Operation>> = FxHashMap::default();
    for a in &adds {
        adds_of
            .entry(&history.events[a.invoke].value)
            .or_default()
            .push(a);
    }
    t.attempts += adds_of.len();
    t.acknowledged += adds_of
        .values()
        .filter(|v| v.iter().any(|a| a.outcome == Outcome::Ok))
        .count();
    let Some(read) = final_read else {
        if !adds.is_empty() {
            t.unread_keys += 1;
        }
        return Ok(());
    };
    let (r_start, r_end) = (read.invoke, read.complete.unwrap_or(usize::MAX));
    let elements = read_elements(history, read)?;
    let seen: FxHashSet<&Value> = elements.iter().collect();
    let read_words = format!(
        "The final read{}, {}, returned {} element(s)",
        of_key(key),
        describe(history, read),
        elements.len()
    );
    let events = |ops: &[&Operation]| -> Vec<u64> {
        let mut e: Vec<u64> = ops
            .iter()
            .flat_map(|o| [Some(o.invoke), o.complete])
            .flatten()
            .map(|p| history.events[p].index)
            .collect();
        e.sort_unstable();
        e
    };
    for dup in duplicates(elements) {
        t.duplicated += 1;
        anomalies.push(Anomaly {
            kind: DUPLICATED.into(),
            key: key.clone(),
            steps: vec![
                format!("{read_words}."),
                format!("It lists {dup} more than once, which a set cannot hold."),
            ],
            events: events(&[read]),
            details: json!({ "element": dup }),
        });
    }
    for (element, its_adds) in &adds_of {
        let in_read = seen.contains(element);
        let confirmed = its_adds
            .iter()
            .find(|a| a.outcome == Outcome::Ok && a.complete.is_some_and(|c| c < r_start));
        if in_read {
            if its_adds.iter().any(|a| a.outcome == Outcome::Ok) {
                t.ok += 1;
            } else if its_adds
                .iter()
                .any(|a| a.outcome == Outcome::Info && a.invoke < r_end)
            {
                t.recovered += 1;
                if recovered_sample.len() < EXPLAINED {
                    recovered_sample.push((*element).clone());
                }
            }
        } else if let Some(add) = confirmed {
            t.lost += 1;
            anomalies.push(Anomaly {
                kind: LOST.into(),
                key: key.clone(),
                steps: vec![
                    format!(
                        "{}, adding {element}, was acknowledged.",
                        capitalise(&describe(history, add))
                    ),
                    format!("{read_words}, and began after that acknowledgement."),
                    format!("{element} is not among them: the acknowledged add was lost."),
                ],
                events: events(&[add, read]),
                details: json!({ "element": element }),
            });
        }
    }
    for element in elements.iter().collect::<FxHashSet<_>>() {
        let its_adds = adds_of.get(element).map_or(&[][..], Vec::as_slice);
        let possible = its_adds
            .iter()
            .any(|a| a.outcome != Outcome::Fail && a.invoke < r_end);
        if possible {
            continue;
        }
        t.unexpected += 1;
        let why = if its_adds.is_empty() {
            format!("No operation ever added {element}.")
        } else if its_adds.iter().all(|a| a.outcome == Outcome::Fail) {
            format!(
                "The only add of {element}, {}, failed: it certainly did not take effect.",
                describe(history, its_adds[0])
            )
        } else {
            format!(
                "{element} was first added by {}, after the read completed.",
                describe(history, its_adds[0])
            )
        };
        let mut involved = vec![read];
        involved.extend(its_adds.iter().take(1));
        anomalies.push(Anomaly {
            kind: UNEXPECTED.into(),
            key: key.clone(),
            steps: vec![format!("{read_words}, including {element}."), why],
            events: events(&involved),
            details: json!({ "element": element }),
        });
    }
    Ok(())
}

/// The text with its first letter in upper case.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
