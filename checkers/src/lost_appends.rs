//! Lost appends in list-append histories: an acknowledged append that the last read of its key
//! does not contain, although that read began after the append completed. The harness reads
//! every key once more after healing the faults and letting the cluster settle, so that last
//! read is the key's final state: an element missing from it is lost, whether no read ever
//! contained it or earlier reads did and it later vanished (as Jepsen's set-full counts an
//! element seen and then missing from every later read).
//!
//! (For register histories, lost writes are one of the causes the linearizability checker
//! names: `linear::CauseKind::LostWrite`.)

use crate::history::{History, Outcome};
use crate::linear::format_time;
use crate::report::{Anomaly, Report, Verdict};
use crate::situation::{annotate_report, served_by};
use rustc_hash::FxHashMap;
use serde_json::{Value, json};

/// Lost appends explained in full; the rest are counted.
const EXPLAINED: usize = 16;

/// The anomaly kind.
pub const LOST_APPEND: &str = "lost-append";

/// One ok read of a key: its transaction and the elements it saw.
struct KeyRead<'h> {
    op: usize,
    invoke: usize,
    elements: &'h [Value],
}

fn micro_ops(v: &Value) -> impl Iterator<Item = (&str, &Value, &Value)> {
    v.as_array().into_iter().flatten().filter_map(|m| {
        let parts = m.as_array()?;
        Some((parts.first()?.as_str()?, parts.get(1)?, parts.get(2)?))
    })
}

fn when(history: &History, pos: usize) -> String {
    let e = &history.events[pos];
    match e.time {
        Some(t) => format!("at {}", format_time(t)),
        None => format!("on line {}", e.line),
    }
}

/// Finds the acknowledged appends no read contains, although the last read of their key began
/// after they completed.
pub fn check_lost_appends(history: &History) -> Report {
    let mut reads: FxHashMap<&Value, Vec<KeyRead>> = FxHashMap::default();
    let mut appends: Vec<(usize, &Value, &Value)> = Vec::new();
    for op in history
        .ops
        .iter()
        .filter(|o| o.f == "txn" && o.outcome == Outcome::Ok)
    {
        let Some(c) = op.complete else { continue };
        for (f, key, value) in micro_ops(&history.events[c].value) {
            match f {
                "append" => appends.push((op.id, key, value)),
                "r" => reads.entry(key).or_default().push(KeyRead {
                    op: op.id,
                    invoke: op.invoke,
                    elements: value.as_array().map_or(&[], Vec::as_slice),
                }),
                _ => {}
            }
        }
    }
    let last: FxHashMap<&Value, &KeyRead> = reads
        .iter()
        .filter_map(|(k, rs)| Some((*k, rs.iter().max_by_key(|r| r.invoke)?)))
        .collect();
    let mut lost = 0usize;
    let mut anomalies = Vec::new();
    for &(op, key, element) in &appends {
        let (Some(final_read), Some(done)) = (last.get(key), history.ops[op].complete) else {
            continue;
        };
        if final_read.invoke < done || final_read.elements.contains(element) {
            continue;
        }
        lost += 1;
        if lost > EXPLAINED {
            continue;
        }
        let by = |o: usize| {
            served_by(history, o)
                .map(|n| format!(" (served by {n})"))
                .unwrap_or_default()
        };
        let o = &history.ops[op];
        let r = &history.ops[final_read.op];
        let seen_by = reads[key]
            .iter()
            .filter(|read| read.elements.contains(element))
            .max_by_key(|read| read.invoke);
        let fate = match seen_by {
            None => format!("no read of key {key} ever contained {element}"),
            Some(read) => {
                let s = &history.ops[read.op];
                format!(
                    "a read by process {} {}{} contained {element}, yet it was gone later",
                    s.process,
                    when(history, s.invoke),
                    by(read.op)
                )
            }
        };
        let step = format!(
            "Process {} appended {element} to key {key} in a transaction acknowledged {}{}, but {fate}: the last read of key {key}, by process {} {}{}, after the acknowledgement, saw {} element(s) without {element}.",
            o.process,
            when(history, done),
            by(op),
            r.process,
            when(history, r.invoke),
            by(final_read.op),
            final_read.elements.len()
        );
        let events = [o.invoke, done, r.invoke]
            .into_iter()
            .chain(r.complete)
            .map(|p| history.events[p].index)
            .collect();
        anomalies.push(Anomaly {
            kind: LOST_APPEND.to_string(),
            key: Some(key.clone()),
            steps: vec![step],
            events,
            details: json!({ "element": element }),
        });
    }
    let verdict = if lost > 0 {
        Verdict::Invalid
    } else {
        Verdict::Valid
    };
    let summary = if lost > 0 {
        format!("{lost} of {} acknowledged appends lost", appends.len())
    } else {
        format!("no acknowledged append lost ({} appends)", appends.len())
    };
    let mut report = Report::new("lost-appends", "no lost acknowledged appends", verdict, summary);
    report.anomalies = anomalies;
    report.stats.insert("appends".into(), json!(appends.len()));
    report.stats.insert("lost".into(), json!(lost));
    annotate_report(history, &mut report);
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;

    fn history(lines: &[(u64, &str, &str)]) -> History {
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, (p, kind, value))| {
                format!(
                    "{{\"index\":{i},\"time\":{},\"process\":{p},\"type\":\"{kind}\",\"f\":\"txn\",\"value\":{value}}}\n",
                    (i + 1) * 1000
                )
            })
            .collect();
        History::parse("t", &text, Format::Jsonl).unwrap()
    }

    #[test]
    fn an_append_missing_from_every_read_and_the_last_is_lost() {
        let h = history(&[
            (0, "invoke", r#"[["append",1,1]]"#),
            (0, "ok", r#"[["append",1,1]]"#),
            (0, "invoke", r#"[["append",1,2]]"#),
            (0, "ok", r#"[["append",1,2]]"#),
            (1, "invoke", r#"[["r",1,null]]"#),
            (1, "ok", r#"[["r",1,[1]]]"#),
        ]);
        let r = check_lost_appends(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.anomalies.len(), 1);
        assert_eq!(r.anomalies[0].details["element"], 2);
        assert!(
            r.anomalies[0].steps[0].contains("appended 2 to key 1"),
            "{:?}",
            r.anomalies
        );
    }

    #[test]
    fn an_append_seen_then_missing_from_the_last_read_is_lost() {
        let h = history(&[
            (0, "invoke", r#"[["append",1,1]]"#),
            (0, "ok", r#"[["append",1,1]]"#),
            (1, "invoke", r#"[["r",1,null]]"#),
            (1, "ok", r#"[["r",1,[1]]]"#),
            (1, "invoke", r#"[["r",1,null]]"#),
            (1, "ok", r#"[["r",1,[]]]"#),
        ]);
        let r = check_lost_appends(&h);
        assert_eq!(r.verdict, Verdict::Invalid);
        assert!(
            r.anomalies[0].steps[0].contains("contained 1, yet it was gone later"),
            "{:?}",
            r.anomalies
        );
    }

    #[test]
    fn an_append_in_the_last_read_or_not_yet_read_is_not_lost() {
        let h = history(&[
            (0, "invoke", r#"[["append",1,1]]"#),
            (0, "ok", r#"[["append",1,1]]"#),
            (1, "invoke", r#"[["r",1,null]]"#),
            (1, "ok", r#"[["r",1,[]]]"#),
            (1, "invoke", r#"[["r",1,null]]"#),
            (1, "ok", r#"[["r",1,[1]]]"#),
            (0, "invoke", r#"[["append",1,2]]"#),
            (2, "invoke", r#"[["r",1,null]]"#),
            (2, "ok", r#"[["r",1,[1]]]"#),
            (0, "ok", r#"[["append",1,2]]"#),
        ]);
        let r = check_lost_appends(&h);
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
        assert_eq!(r.stats["appends"], 2);
    }
}
