//! Jepsen's set-full checker: clients `:add` elements and `:read` the whole set throughout the
//! run. Each element becomes *known* when its add is acknowledged or a read first returns it,
//! whichever completes first. A read that began after that and does not contain it is *stale*
//! if a read that began after it completed contains the element again, and shows the element
//! *lost* otherwise (it never came back). Lost elements, elements no add that did not fail
//! could have put in a read (*unexpected*), and elements listed twice in one read
//! (*duplicated*) make the history invalid; stale reads are counted (a set that is not
//! linearizable may serve them). An element no read began after knowing is *never-read*.

use super::set::{DUPLICATED, LOST, UNEXPECTED, capitalise, duplicates, keep_explained, read_elements};
use super::{by_key, describe, of_key, when};
use crate::history::{History, HistoryError, Operation, Outcome};
use crate::report::{Anomaly, Report, Verdict};
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

/// Counts over the whole history.
#[derive(Default)]
struct Tally {
    attempts: usize,
    stable: usize,
    lost: usize,
    never_read: usize,
    unknown: usize,
    stale_elements: usize,
    stale_reads: usize,
    unexpected: usize,
    duplicated: usize,
    unread_keys: usize,
}

/// What is known of one element on one key.
#[derive(Default)]
struct Element<'h> {
    adds: Vec<&'h Operation>,
    /// Indices (into the key's reads) of the reads that returned it, ascending.
    present: Vec<usize>,
}

/// Checks a set-full history (see the module documentation).
pub fn check_set_full(history: &History) -> Result<Report, HistoryError> {
    let mut t = Tally::default();
    let mut anomalies = Vec::new();
    for (key, ops) in by_key(history) {
        check_key(history, &key, &ops, &mut t, &mut anomalies)?;
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
        Verdict::Unknown => format!("{} key(s) never read", t.unread_keys),
        Verdict::Valid => format!(
            "no element lost ({} stable, {} never read, {} stale read(s) of {} element(s))",
            t.stable, t.never_read, t.stale_reads, t.stale_elements
        ),
    };
    let mut report = Report::new("set-full", "set-full", verdict, summary);
    anomalies.sort_by_key(|a| a.events.first().copied());
    keep_explained(&mut anomalies);
    report.anomalies = anomalies;
    for (name, n) in [
        ("attempt-count", t.attempts),
        ("stable-count", t.stable),
        ("lost-count", t.lost),
        ("never-read-count", t.never_read),
        ("unknown-count", t.unknown),
        ("stale-count", t.stale_elements),
        ("stale-reads", t.stale_reads),
        ("unexpected-count", t.unexpected),
        ("duplicated-count", t.duplicated),
        ("unread-keys", t.unread_keys),
    ] {
        report.stats.insert(name.into(), json!(n));
    }
    Ok(report)
}

fn indices(history: &History, ops: &[&Operation]) -> Vec<u64> {
    let mut e: Vec<u64> = ops
        .iter()
        .flat_map(|o| [Some(o.invoke), o.complete])
        .flatten()
        .map(|p| history.events[p].index)
        .collect();
    e.sort_unstable();
    e
}

fn check_key(
    history: &History,
    key: &Option<Value>,
    ops: &[&Operation],
    t: &mut Tally,
    anomalies: &mut Vec<Anomaly>,
) -> Result<(), HistoryError> {
    // Reads in invocation order (`ops` is), with their elements.
    let reads: Vec<&Operation> = ops
        .iter()
        .copied()
        .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        .collect();
    let mut elements: FxHashMap<&Value, Element> = FxHashMap::default();
    for a in ops.iter().copied().filter(|o| o.f == "add") {
        elements
            .entry(&history.events[a.invoke].value)
            .or_default()
            .adds
            .push(a);
    }
    t.attempts += elements.len();
    if reads.is_empty() {
        if !elements.is_empty() {
            t.unread_keys += 1;
        }
        return Ok(());
    }
    let end = |o: &Operation| o.complete.unwrap_or(usize::MAX);
    for (i, r) in reads.iter().enumerate() {
        let items = read_elements(history, r)?;
        for dup in duplicates(items) {
            t.duplicated += 1;
            anomalies.push(Anomaly {
                kind: DUPLICATED.into(),
                key: key.clone(),
                steps: vec![format!(
                    "{}, read the set{} and listed {dup} more than once, which a set cannot hold.",
                    capitalise(&describe(history, r)),
                    of_key(key)
                )],
                events: indices(history, &[r]),
                details: json!({ "element": dup }),
            });
        }
        for item in items {
            let e = elements.entry(item).or_default();
            if e.present.last() == Some(&i) {
                continue;
            }
            e.present.push(i);
            if e.present.len() == 1
                && !e
                    .adds
                    .iter()
                    .any(|a| a.outcome != Outcome::Fail && a.invoke < end(r))
            {
                t.unexpected += 1;
                let why = match e.adds.first() {
                    None => format!("No operation ever added {item}."),
                    Some(a) if e.adds.iter().all(|a| a.outcome == Outcome::Fail) => format!(
                        "Its only add(s), first {}, failed: they certainly did not take effect.",
                        describe(history, a)
                    ),
                    Some(a) => format!(
                        "It was first added by {}, after this read completed.",
                        describe(history, a)
                    ),
                };
                let mut involved = vec![*r];
                involved.extend(e.adds.first().copied());
                anomalies.push(Anomaly {
                    kind: UNEXPECTED.into(),
                    key: key.clone(),
                    steps: vec![
                        format!(
                            "{}, read the set{} and saw {item}.",
                            capitalise(&describe(history, r)),
                            of_key(key)
                        ),
                        why,
                    ],
                    events: indices(history, &involved),
                    details: json!({ "element": item }),
                });
            }
        }
    }
    let invokes: Vec<usize> = reads.iter().map(|r| r.invoke).collect();
    let mut by_completion: Vec<usize> = (0..reads.len()).collect();
    by_completion.sort_unstable_by_key(|&i| std::cmp::Reverse(end(reads[i])));
    let mut lost_here = Vec::new();
    for (item, e) in &elements {
        let acked = e
            .adds
            .iter()
            .filter(|a| a.outcome == Outcome::Ok)
            .filter_map(|a| a.complete.map(|c| (c, *a)))
            .min_by_key(|(c, _)| *c);
        let first_seen = e
            .present
            .iter()
            .map(|&i| (end(reads[i]), reads[i]))
            .min_by_key(|(c, _)| *c);
        let known = match (acked, first_seen) {
            (Some(a), Some(s)) => Some(if a.0 <= s.0 {
                (a.0, a.1, true)
            } else {
                (s.0, s.1, false)
            }),
            (Some(a), None) => Some((a.0, a.1, true)),
            (None, Some(s)) => Some((s.0, s.1, false)),
            (None, None) => None,
        };
        let Some((known_at, known_by, by_add)) = known else {
            t.unknown += 1;
            continue;
        };
        let first_after = invokes.partition_point(|&i| i <= known_at);
        let reads_after = reads.len() - first_after;
        if reads_after == 0 {
            t.never_read += 1;
            continue;
        }
        let last_present_start = e.present.iter().map(|&i| reads[i].invoke).max();
        // The latest-completing read that began after the element was known and missed it.
        let witness = by_completion
            .iter()
            .map(|&i| (i, reads[i]))
            .find(|(i, r)| r.invoke > known_at && e.present.binary_search(i).is_err());
        match witness {
            Some((_, w)) if last_present_start.is_none_or(|p| end(w) > p) => {
                t.lost += 1;
                lost_here.push((*item, known_by, by_add, w, last_present_start));
            }
            _ => {
                t.stable += 1;
                let present_after = e.present.iter().filter(|&&i| i >= first_after).count();
                let stale = reads_after - present_after;
                if stale > 0 {
                    t.stale_elements += 1;
                    t.stale_reads += stale;
                }
            }
        }
    }
    for (item, known_by, by_add, w, last_present_start) in lost_here {
        let known = if by_add {
            format!(
                "{}, adding {item}, was acknowledged.",
                capitalise(&describe(history, known_by))
            )
        } else {
            format!(
                "{}, read the set{} and saw {item}.",
                capitalise(&describe(history, known_by)),
                of_key(key)
            )
        };
        let last = match last_present_start {
            Some(p) => format!("the last read to contain it began {}", when(history, p)),
            None => "no read ever contained it".to_string(),
        };
        anomalies.push(Anomaly {
            kind: LOST.into(),
            key: key.clone(),
            steps: vec![
                known,
                format!(
                    "{}, read the set after that and did not see {item}.",
                    capitalise(&describe(history, w))
                ),
                format!(
                    "No read that began after it completed saw {item} again ({last}): the element was lost."
                ),
            ],
            events: indices(history, &[known_by, w]),
            details: json!({ "element": item }),
        });
    }
    Ok(())
}
