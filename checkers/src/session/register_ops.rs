//! Read-your-writes and monotonic reads over histories of single-register operations (`read`,
//! `write`, `cas` with a `key`), where written values need not be unique (a generator drawing
//! from a few values, as Jepsen's do), so the version order of a key is not known.
//!
//! A violation is reported only when real time proves one value older than another: u is older
//! than an operation when every write of u (every `ok` or `info` write or compare-and-set to u;
//! failed ones never happened) completed before that operation began, or u is the key's initial
//! value and nothing wrote it. Then, within one process (a session):
//!
//! - **read-your-writes**: after its acknowledged write of v, the process read u ≠ v, older than
//!   that write;
//! - **monotonic reads**: after reading x, the process read u ≠ x, older than every write of x.
//!
//! Both are special cases of a stale read, so a linearizable history never has them.

use crate::history::{History, Outcome};
use crate::linear::{key_label, value_label};
use crate::report::{Anomaly, Report, Verdict};
use crate::situation::annotate_report;
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

/// Instances explained in full per guarantee; the rest are counted.
const EXPLAINED: usize = 16;

/// The guarantees this checker judges.
pub const GUARANTEES: [&str; 2] = ["read-your-writes", "monotonic-reads"];

/// Position before every event (the initial value's write).
const BEFORE_ALL: i64 = -1;
/// A value some unfinished write may still set, or that nothing wrote: older than nothing.
const NEVER: i64 = i64::MAX;

/// One key's operations, as this checker needs them.
#[derive(Default)]
struct KeyOps {
    /// Ops ([`History::ops`] positions) on the key, by invocation.
    ops: Vec<usize>,
}

/// What one value's writes tell: by when they had all completed, and when the first began.
#[derive(Clone, Copy)]
struct Age {
    /// Every write had completed by this position ([`BEFORE_ALL`], [`NEVER`]).
    done_by: i64,
    /// The first write began at this position ([`BEFORE_ALL`] for the initial value and for a
    /// value nothing wrote: then it is newer than nothing).
    began: i64,
}

/// Checks read-your-writes and monotonic reads; `initial` is every key's value before any
/// write (null: "never written").
pub fn check_register_sessions(history: &History, initial: &Value) -> Report {
    let mut keys: FxHashMap<Option<&Value>, KeyOps> = FxHashMap::default();
    for op in &history.ops {
        if matches!(op.f.as_str(), "read" | "write" | "cas") {
            keys.entry(op.key.as_ref()).or_default().ops.push(op.id);
        }
    }
    let mut found: Vec<(usize, Anomaly)> = Vec::new();
    let mut counts = [0usize; 2];
    let mut keys: Vec<_> = keys.into_iter().collect();
    keys.sort_by_key(|(_, k)| k.ops.first().copied());
    for (key, k) in &keys {
        check_key(history, *key, &k.ops, initial, &mut counts, &mut found);
    }
    let broken: Vec<String> = GUARANTEES
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(g, n)| format!("{g} ×{n}"))
        .collect();
    let verdict = if broken.is_empty() {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    let summary = if broken.is_empty() {
        format!(
            "no process read a value older than its own earlier write or read ({} keys)",
            keys.len()
        )
    } else {
        format!("violated: {}", broken.join(", "))
    };
    let mut report = Report::new("register-sessions", GUARANTEES.join(", "), verdict, summary);
    report.anomalies = found.into_iter().map(|(_, a)| a).collect();
    report.details = json!({
        "counts": {GUARANTEES[0]: counts[0], GUARANTEES[1]: counts[1]},
        "models": GUARANTEES.iter().zip(counts).map(|(g, n)| json!({
            "model": g,
            "verdict": if n > 0 { Verdict::Invalid } else { Verdict::Valid },
        })).collect::<Vec<_>>(),
    });
    report.stats.insert("keys".into(), json!(keys.len()));
    annotate_report(history, &mut report);
    report
}

fn check_key(
    history: &History,
    key: Option<&Value>,
    ops: &[usize],
    initial: &Value,
    counts: &mut [usize; 2],
    found: &mut Vec<(usize, Anomaly)>,
) {
    let written = |id: usize| -> Option<&Value> {
        let o = &history.ops[id];
        let arg = &history.events[o.invoke].value;
        match (o.f.as_str(), o.outcome) {
            (_, Outcome::Fail) => None,
            ("write", _) => Some(arg),
            ("cas", _) => arg.get(1),
            _ => None,
        }
    };
    let mut ages: FxHashMap<&Value, Age> = FxHashMap::default();
    for &id in ops {
        let Some(v) = written(id) else { continue };
        let o = &history.ops[id];
        let done = match (o.outcome, o.complete) {
            (Outcome::Ok, Some(c)) => c as i64,
            _ => NEVER,
        };
        let age = ages.entry(v).or_insert(Age {
            done_by: BEFORE_ALL,
            began: o.invoke as i64,
        });
        age.done_by = if age.done_by == NEVER {
            NEVER
        } else {
            age.done_by.max(done)
        };
        age.began = age.began.min(o.invoke as i64);
    }
    let age = |v: &Value| -> Age {
        match ages.get(v) {
            Some(a) if v == initial => Age {
                done_by: a.done_by,
                began: BEFORE_ALL,
            },
            Some(a) => *a,
            None if v == initial => Age {
                done_by: BEFORE_ALL,
                began: BEFORE_ALL,
            },
            None => Age {
                done_by: NEVER,
                began: BEFORE_ALL,
            },
        }
    };
    // Per process: its latest acknowledged write (op, value) and latest read (op, value).
    let mut last_write: FxHashMap<u64, (usize, &Value)> = FxHashMap::default();
    let mut last_read: FxHashMap<u64, (usize, &Value)> = FxHashMap::default();
    let name = key_label(&key.cloned());
    for &id in ops {
        let o = &history.ops[id];
        if o.outcome != Outcome::Ok {
            continue;
        }
        if o.f == "read" {
            let Some(c) = o.complete else { continue };
            let u = &history.events[c].value;
            let u_done = age(u).done_by;
            if let Some(&(w, v)) = last_write.get(&o.process)
                && v != u
                && u_done < history.ops[w].invoke as i64
            {
                counts[0] += 1;
                if counts[0] <= EXPLAINED {
                    let step = format!(
                        "Process {} wrote {} to {name} (acknowledged {}), then read {name} {} and saw {}, a value every write of which had completed before its own write began.",
                        o.process,
                        value_label(v),
                        completion_time(history, w),
                        invocation_time(history, id),
                        value_label(u)
                    );
                    found.push((id, anomaly(history, "read-your-writes", key, &[w, id], step)));
                }
            }
            if let Some(&(r, x)) = last_read.get(&o.process)
                && x != u
                && u_done < age(x).began
            {
                counts[1] += 1;
                if counts[1] <= EXPLAINED {
                    let step = format!(
                        "Process {} read {name} {} and saw {}, then read it again {} and saw {}, a value every write of which had completed before any write of {} began.",
                        o.process,
                        invocation_time(history, r),
                        value_label(x),
                        invocation_time(history, id),
                        value_label(u),
                        value_label(x)
                    );
                    found.push((id, anomaly(history, "monotonic-reads", key, &[r, id], step)));
                }
            }
            last_read.insert(o.process, (id, u));
        } else if let Some(v) = written(id) {
            last_write.insert(o.process, (id, v));
        }
    }
}

fn at(history: &History, pos: usize) -> String {
    let e = &history.events[pos];
    match e.time {
        Some(t) => format!("at {}", crate::linear::format_time(t)),
        None => format!("on line {}", e.line),
    }
}

fn invocation_time(history: &History, op: usize) -> String {
    at(history, history.ops[op].invoke)
}

fn completion_time(history: &History, op: usize) -> String {
    let o = &history.ops[op];
    at(history, o.complete.unwrap_or(o.invoke))
}

fn anomaly(history: &History, kind: &str, key: Option<&Value>, ops: &[usize], step: String) -> Anomaly {
    let events = ops
        .iter()
        .flat_map(|&id| {
            let o = &history.ops[id];
            std::iter::once(o.invoke).chain(o.complete)
        })
        .map(|pos| history.events[pos].index)
        .collect();
    Anomaly {
        kind: kind.to_string(),
        key: key.cloned(),
        steps: vec![step],
        events,
        details: json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;

    fn check(text: &str) -> Report {
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        check_register_sessions(&h, &Value::Null)
    }

    fn line(i: usize, p: u64, kind: &str, f: &str, value: &str) -> String {
        format!(
            "{{\"index\":{i},\"time\":{},\"process\":{p},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":{value},\"key\":1}}\n",
            (i + 1) * 1000
        )
    }

    fn history(lines: &[(u64, &str, &str, &str)]) -> String {
        lines
            .iter()
            .enumerate()
            .map(|(i, (p, k, f, v))| line(i, *p, k, f, v))
            .collect()
    }

    #[test]
    fn a_process_that_misses_its_own_write() {
        let r = check(&history(&[
            (0, "invoke", "write", "1"),
            (0, "ok", "write", "1"),
            (0, "invoke", "write", "2"),
            (0, "ok", "write", "2"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "1"),
        ]));
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.anomalies[0].kind, "read-your-writes");
        assert!(
            r.anomalies[0].steps[0].starts_with("Process 0 wrote 2 to key 1"),
            "{:?}",
            r.anomalies
        );
        assert_eq!(r.details["counts"]["read-your-writes"], 1);
        assert_eq!(r.details["counts"]["monotonic-reads"], 0);
    }

    #[test]
    fn another_process_rewriting_the_old_value_is_no_violation() {
        let r = check(&history(&[
            (0, "invoke", "write", "1"),
            (0, "ok", "write", "1"),
            (0, "invoke", "write", "2"),
            (1, "invoke", "write", "1"),
            (0, "ok", "write", "2"),
            (1, "ok", "write", "1"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "1"),
        ]));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
        // ... nor is a timed-out write of the old value, which may take effect at any time.
        let r = check(&history(&[
            (0, "invoke", "write", "1"),
            (0, "ok", "write", "1"),
            (1, "invoke", "write", "1"),
            (1, "info", "write", "1"),
            (0, "invoke", "write", "2"),
            (0, "ok", "write", "2"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "1"),
        ]));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
    }

    #[test]
    fn reading_an_older_value_after_a_newer_one() {
        let r = check(&history(&[
            (1, "invoke", "write", "1"),
            (1, "ok", "write", "1"),
            (1, "invoke", "write", "2"),
            (1, "ok", "write", "2"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "2"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "1"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "null"),
        ]));
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.details["counts"]["monotonic-reads"], 2, "2 then 1, 1 then nil");
        assert_eq!(r.details["counts"]["read-your-writes"], 0);
        // Reading nil first, then values, is monotonic; so are values whose writes overlap.
        let r = check(&history(&[
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "null"),
            (1, "invoke", "write", "1"),
            (2, "invoke", "write", "2"),
            (1, "ok", "write", "1"),
            (2, "ok", "write", "2"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "2"),
            (0, "invoke", "read", "null"),
            (0, "ok", "read", "1"),
        ]));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
    }
}
