//! Anomalies on the page: which operations each one involves (and in what part: the culprit of
//! a linearizability failure, what overlapped it, the transactions T1..Tn of a cycle), its
//! numbered explanation, a table of those operations linked to the run's timeline, and a
//! close-up timeline of the moments around it.

use super::faults::FaultSpan;
use super::history_view::{HistoryView, bar_kind, outcome_name, value_text};
use super::timeline_html::{Bar, Emphasis, Shade, Timeline, escape, format_ns, render_timeline};
use faultline_checkers::report::Anomaly;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// At most this many involved operations are listed per anomaly.
const MAX_INVOLVED: usize = 60;
/// At most this many operations are drawn in a close-up.
const MAX_CLOSE_UP: usize = 120;

/// An operation an anomaly involves, and its part in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Involved {
    /// Position in `History::ops`.
    pub op: usize,
    /// Its part, in words ("culprit", "concurrent", "T2").
    pub role: String,
    /// How its bar is singled out.
    pub emphasis: Emphasis,
}

/// The cause a checker named for an anomaly (`stale read`, `lost write`, ...), if it named one.
pub fn cause_name(anomaly: &Anomaly) -> Option<&str> {
    let cause = anomaly.details.get("cause")?;
    if cause.get("kind").and_then(Value::as_str) == Some(faultline_checkers::linear::NOT_CLASSIFIED) {
        return None;
    }
    cause.get("name").and_then(Value::as_str)
}

/// The anomaly's kind, with its cause when one was named: `nonlinearizable (lost write)`.
pub fn anomaly_label(anomaly: &Anomaly) -> String {
    match cause_name(anomaly) {
        Some(cause) => format!("{} ({cause})", anomaly.kind),
        None => anomaly.kind.clone(),
    }
}

fn invoke_index(v: &Value) -> Option<u64> {
    v.get("invoke_index").and_then(Value::as_u64)
}

/// The operations an anomaly involves, most important first, at most [`MAX_INVOLVED`]; and
/// how many there were in all.
pub fn involved(view: &HistoryView, anomaly: &Anomaly) -> (Vec<Involved>, usize) {
    let mut out: Vec<Involved> = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |op: Option<usize>, role: &str, emphasis: Emphasis, out: &mut Vec<Involved>| {
        if let Some(op) = op
            && seen.insert(op)
        {
            out.push(Involved {
                op,
                role: role.to_string(),
                emphasis,
            });
        }
    };
    let details = &anomaly.details;
    if let Some(culprit) = details.get("culprit") {
        // A linearizability failure: the culprit, what overlapped it, and the last write of the
        // longest linearizable prefix (the value the culprit contradicts).
        let op_at = |v: &Value| invoke_index(v).and_then(|i| view.op_of_index(i));
        push(op_at(culprit), "culprit", Emphasis::Culprit, &mut out);
        for c in details
            .get("concurrent")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            push(op_at(c), "concurrent with it", Emphasis::Related, &mut out);
        }
        let last_write = details
            .get("longest_linearization")
            .and_then(Value::as_array)
            .and_then(|l| {
                l.iter()
                    .rev()
                    .find(|o| matches!(o.get("f").and_then(Value::as_str), Some("write" | "cas")))
            });
        if let Some(w) = last_write {
            push(
                op_at(w),
                "last set the value before it",
                Emphasis::Related,
                &mut out,
            );
        }
    }
    let numbered = anomaly.steps.iter().any(|s| s.starts_with("Let T1 be"));
    let mut n = 0;
    for &index in &anomaly.events {
        let op = view.op_of_index(index);
        if op.is_some_and(|o| !out.iter().any(|i| i.op == o)) {
            n += 1;
        }
        let role = if numbered {
            format!("T{}", n.max(1))
        } else {
            "involved".to_string()
        };
        push(op, &role, Emphasis::Related, &mut out);
    }
    let total = out.len();
    out.truncate(MAX_INVOLVED);
    (out, total)
}

/// Positions (1-based) of operations in the longest linearization a linearizability failure
/// recorded.
fn linearization_order(view: &HistoryView, anomaly: &Anomaly) -> HashMap<usize, usize> {
    let list = anomaly
        .details
        .get("longest_linearization")
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, o)| Some((view.op_of_index(invoke_index(o)?)?, i + 1)))
        .collect()
}

/// True if the operation is on `key`: its `key` field, or a micro-op of a transaction
/// (`[f, key, value]`).
fn touches(view: &HistoryView, op: &faultline_checkers::history::Operation, key: &Value) -> bool {
    if op.key.as_ref() == Some(key) {
        return true;
    }
    let value = &view.history.events[op.invoke].value;
    op.f == "txn"
        && value
            .as_array()
            .is_some_and(|mops| mops.iter().any(|m| m.get(1) == Some(key)))
}

/// A close-up of the anomaly: its operations, and the other operations on its key (if it has
/// one) around them, with the fault windows of that stretch.
fn close_up(
    view: &HistoryView,
    anomaly: &Anomaly,
    ops: &[Involved],
    faults: &[FaultSpan],
) -> Option<Timeline> {
    let history = view.history;
    let span_of = |op: usize| {
        let s = view.spans[op];
        (s.start, s.end.unwrap_or(s.start).max(s.start))
    };
    let w0 = ops.iter().map(|i| span_of(i.op).0).min()?;
    let w1 = ops.iter().map(|i| span_of(i.op).1).max()?;
    let pad = ((w1 - w0) / 4).max(1);
    let (lo, hi) = (w0.saturating_sub(pad), w1 + pad);
    let roles: HashMap<usize, Emphasis> = ops.iter().map(|i| (i.op, i.emphasis)).collect();
    let mut shown: Vec<usize> = ops.iter().map(|i| i.op).collect();
    let mut others: Vec<usize> = match &anomaly.key {
        Some(key) => history
            .ops
            .iter()
            .filter(|o| touches(view, o, key) && !roles.contains_key(&o.id))
            .filter(|o| {
                let (a, b) = span_of(o.id);
                a <= hi && b >= lo
            })
            .map(|o| o.id)
            .collect(),
        // A linearizability failure without a key: the history is one register.
        None if anomaly.details.get("culprit").is_some() => history
            .ops
            .iter()
            .filter(|o| o.key.is_none() && !roles.contains_key(&o.id))
            .filter(|o| {
                let (a, b) = span_of(o.id);
                a <= hi && b >= lo
            })
            .map(|o| o.id)
            .collect(),
        None => Vec::new(),
    };
    let omitted = others
        .len()
        .saturating_sub(MAX_CLOSE_UP.saturating_sub(shown.len()));
    let centre = (w0 + w1) / 2;
    others.sort_by_key(|&o| span_of(o).0.abs_diff(centre));
    others.truncate(MAX_CLOSE_UP.saturating_sub(shown.len()));
    shown.extend(others);
    let mut processes: Vec<u64> = shown.iter().map(|&o| history.ops[o].process).collect();
    processes.sort_unstable();
    processes.dedup();
    let lane_of: HashMap<u64, usize> = processes.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let order = linearization_order(view, anomaly);
    let mut t = Timeline::new(
        processes.iter().map(|p| format!("process {p}")).collect(),
        view.axis,
    );
    for &o in &shown {
        let op = &history.ops[o];
        let s = view.spans[o];
        t.bars.push(Bar {
            lane: lane_of[&op.process],
            start: s.start,
            end: s.end,
            label: view.label(op),
            tooltip: view.tooltip(op),
            kind: bar_kind(op.outcome),
            emphasis: roles.get(&o).copied().unwrap_or_default(),
            order: order.get(&o).copied(),
            id: None,
        });
    }
    let (x0, x1) = t.bars.iter().fold((u64::MAX, 0), |(a, b), bar| {
        (a.min(bar.start), b.max(bar.end.unwrap_or(bar.start)))
    });
    t.shades = faults
        .iter()
        .filter(|f| f.start <= x1 && f.end.is_none_or(|e| e >= x0))
        .map(|f| Shade {
            start: f.start.max(x0),
            end: Some(f.end.unwrap_or(x1).min(x1)),
            label: f.label.clone(),
            tooltip: f.tooltip(view),
            stall: false,
        })
        .collect();
    let key = anomaly
        .key
        .as_ref()
        .map(|k| format!(" on key {}", value_text(k)))
        .unwrap_or_default();
    let mut note = format!(
        "Close-up: the anomaly's operations and {} other operation(s){key} around them.",
        shown.len() - ops.len()
    );
    if omitted > 0 {
        let _ = write!(
            note,
            " {omitted} more operation(s){key} in this stretch are not drawn here (see the run's timeline)."
        );
    }
    if !order.is_empty() {
        note.push_str(" #n marks the position in the longest linearizable prefix found; faded operations are not in it.");
    }
    t.note = Some(note);
    Some(t)
}

/// Renders one anomaly, folded unless `open`: heading, steps, the involved operations linked to
/// the run timeline's bars (`#op-N`) when `linked`, and a close-up timeline.
pub fn render_anomaly(
    view: &HistoryView,
    faults: &[FaultSpan],
    heading: &str,
    anomaly: &Anomaly,
    linked: bool,
    open: bool,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<details class=\"anomaly\"{}>\n<summary><h3>{}</h3></summary>",
        if open { " open" } else { "" },
        escape(heading)
    );
    out.push_str("<ol class=\"steps\">\n");
    for s in &anomaly.steps {
        let _ = writeln!(out, "<li>{}</li>", escape(s));
    }
    out.push_str("</ol>\n");
    let (ops, total) = involved(view, anomaly);
    if ops.is_empty() {
        out.push_str("<p class=\"note\">This anomaly names no operation of the history.</p>\n</details>\n");
        return out;
    }
    let ids: Vec<String> = ops.iter().map(|i| i.op.to_string()).collect();
    if linked {
        let _ = writeln!(
            out,
            "<p><a class=\"op-link\" href=\"#op-{}\" data-ops=\"{}\">Show these {} operations on the run's timeline</a></p>",
            ids[0],
            ids.join(","),
            ops.len()
        );
    }
    out.push_str(
        "<table class=\"ops\"><thead><tr><th>part</th><th>op</th><th>process</th><th>operation</th><th>outcome</th><th>invoked</th><th>completed</th><th>latency</th><th>lines</th></tr></thead><tbody>\n",
    );
    for i in &ops {
        let op = &view.history.ops[i.op];
        let s = view.spans[i.op];
        let key = op
            .key
            .as_ref()
            .map(|k| format!(" (key {})", value_text(k)))
            .unwrap_or_default();
        let op_cell = if linked {
            format!("<a href=\"#op-{0}\" data-ops=\"{0}\">op {0}</a>", i.op)
        } else {
            format!("op {}", i.op)
        };
        let latency = match (s.end, view.axis) {
            (Some(e), super::timeline_html::Axis::Nanoseconds) => format_ns(e.saturating_sub(s.start)),
            _ => String::new(),
        };
        let lines = match op.complete {
            Some(c) => format!(
                "{}–{}",
                view.history.events[op.invoke].line, view.history.events[c].line
            ),
            None => view.history.events[op.invoke].line.to_string(),
        };
        let _ = writeln!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{op_cell}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{latency}</td><td>{lines}</td></tr>",
            if i.emphasis == Emphasis::Culprit {
                "culprit-row"
            } else {
                ""
            },
            escape(&i.role),
            op.process,
            escape(&view.label(op)),
            escape(&key),
            outcome_name(op.outcome),
            escape(&view.format_at(s.start)),
            s.end
                .map(|e| escape(&view.format_at(e)))
                .unwrap_or_else(|| "never".into()),
        );
    }
    out.push_str("</tbody></table>\n");
    if total > ops.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} of the {total} operations involved are listed (see results.json for all).</p>",
            ops.len()
        );
    }
    if let Some(t) = close_up(view, anomaly, &ops, faults) {
        out.push_str(&render_timeline(&t));
    }
    out.push_str("</details>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::{Format, History};
    use serde_json::json;

    const HISTORY: &str = r#"{"index":0,"time":0,"process":0,"type":"invoke","f":"write","value":1,"key":2}
{"index":1,"time":10,"process":0,"type":"ok","f":"write","value":1,"key":2}
{"index":2,"time":20,"process":1,"type":"invoke","f":"write","value":3,"key":2}
{"index":3,"time":30,"process":1,"type":"ok","f":"write","value":3,"key":2}
{"index":4,"time":40,"process":0,"type":"invoke","f":"read","value":null,"key":2}
{"index":5,"time":50,"process":0,"type":"ok","f":"read","value":1,"key":2}
"#;

    fn op_json(invoke: u64, f: &str) -> Value {
        json!({"invoke_index": invoke, "f": f})
    }

    #[test]
    fn a_linearizability_failure_names_culprit_and_last_write() {
        let h = History::parse("t", HISTORY, Format::Jsonl).unwrap();
        let view = HistoryView::new(&h);
        let a = Anomaly {
            kind: "nonlinearizable".into(),
            key: Some(json!(2)),
            steps: vec!["Next, process 0 read key 2 and saw 1.".into()],
            events: vec![4, 5],
            details: json!({
                "culprit": op_json(4, "read"),
                "concurrent": [],
                "longest_linearization": [op_json(0, "write"), op_json(2, "write")],
            }),
        };
        let (ops, total) = involved(&view, &a);
        assert_eq!(total, 2);
        assert_eq!((ops[0].op, ops[0].emphasis), (2, Emphasis::Culprit));
        assert_eq!(
            (ops[1].op, ops[1].role.as_str()),
            (1, "last set the value before it")
        );
        let html = render_anomaly(&view, &[], "Anomaly 1", &a, true, true);
        assert!(html.contains("data-ops=\"2,1\""), "{html}");
        assert!(html.contains("<td>culprit</td>"));
        assert!(
            html.contains("class=\"bar ok culprit\""),
            "the close-up marks the culprit"
        );
        assert!(
            html.contains(">#2</text>"),
            "the close-up numbers the linearization"
        );
    }

    #[test]
    fn cycle_transactions_are_numbered() {
        let h = History::parse("t", HISTORY, Format::Jsonl).unwrap();
        let view = HistoryView::new(&h);
        let a = Anomaly {
            kind: "G1c".into(),
            key: None,
            steps: vec!["Let T1 be ...".into(), "Let T2 be ...".into()],
            events: vec![2, 3, 0, 1],
            details: Value::Null,
        };
        let (ops, _) = involved(&view, &a);
        let roles: Vec<(usize, &str)> = ops.iter().map(|i| (i.op, i.role.as_str())).collect();
        assert_eq!(roles, vec![(1, "T1"), (0, "T2")]);
    }

    #[test]
    fn transactions_touch_the_keys_of_their_micro_ops() {
        let text = r#"{"index":0,"time":0,"process":0,"type":"invoke","f":"txn","value":[["append",5,1],["r",6,null]]}
{"index":1,"time":10,"process":0,"type":"ok","f":"txn","value":[["append",5,1],["r",6,[]]]}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let view = HistoryView::new(&h);
        assert!(touches(&view, &h.ops[0], &json!(5)));
        assert!(touches(&view, &h.ops[0], &json!(6)));
        assert!(!touches(&view, &h.ops[0], &json!(7)));
    }
}
