//! Where and when an anomaly happened: which node served each operation involved (the `node`
//! field a harness records on completions, when present) and which faults were in force, and on
//! which nodes, while those operations ran (from the history's nemesis events, see
//! [`crate::history::fault_windows`]).
//!
//! Every checker can situate its anomalies the same way: [`annotate_report`] adds one step in
//! words and a `situation` object to the details of each anomaly that names operations.

use crate::history::{Event, FaultWindow, History, fault_windows, in_force};
use crate::linear::format_time;
use crate::report::{Anomaly, Report};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;

/// At most this many operations are named in the step.
const NAMED_OPS: usize = 6;

/// One operation involved, and the node that served it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServedOp {
    /// Position in [`History::ops`].
    pub op: usize,
    /// Its process.
    pub process: u64,
    /// Its function.
    pub f: String,
    /// The history `index` of its invocation.
    pub invoke_index: u64,
    /// The node that answered it, when the history says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// The nodes and faults around a set of operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Situation {
    /// The operations, in the order given.
    pub ops: Vec<ServedOp>,
    /// History `index` of the first event of the stretch (the earliest invocation).
    pub from_index: u64,
    /// History `index` of its last event (the latest completion, or invocation if none).
    pub to_index: u64,
    /// Times of the stretch, when the history has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_time: Option<u64>,
    /// The faults in force at some point of the stretch.
    pub faults: Vec<FaultWindow>,
    /// False when the history has no nemesis events at all (nothing is known about faults).
    pub faults_recorded: bool,
}

/// The node that served an operation: its completion's `node` field, else its invocation's.
pub fn served_by(history: &History, op: usize) -> Option<&str> {
    let o = &history.ops[op];
    fn node(e: &Event) -> Option<&str> {
        e.extra_field("node").and_then(Value::as_str)
    }
    o.complete
        .and_then(|c| node(&history.events[c]))
        .or_else(|| node(&history.events[o.invoke]))
}

/// The situation of `ops` ([`History::ops`] positions); `None` when `ops` is empty.
pub fn situate(history: &History, windows: &[FaultWindow], ops: &[usize]) -> Option<Situation> {
    let from = ops.iter().map(|&o| history.ops[o].invoke).min()?;
    let to = ops
        .iter()
        .map(|&o| history.ops[o].complete.unwrap_or(history.ops[o].invoke))
        .max()?;
    let served = ops
        .iter()
        .map(|&o| {
            let op = &history.ops[o];
            ServedOp {
                op: o,
                process: op.process,
                f: op.f.clone(),
                invoke_index: history.events[op.invoke].index,
                node: served_by(history, o).map(str::to_string),
            }
        })
        .collect();
    Some(Situation {
        ops: served,
        from_index: history.events[from].index,
        to_index: history.events[to].index,
        from_time: history.events[from].time,
        to_time: history.events[to].time,
        faults: in_force(windows, from, to).into_iter().cloned().collect(),
        faults_recorded: !history.nemesis.is_empty(),
    })
}

/// A fault window's times in words: `t=4.000s–t=6.000s`, `from t=4.000s, never healed`.
pub fn window_times(w: &FaultWindow) -> String {
    match (w.start_time, w.end_time, w.end) {
        (Some(s), Some(e), _) => format!("{}–{}", format_time(s), format_time(e)),
        (Some(s), None, None) => format!("from {}, never healed", format_time(s)),
        (Some(s), None, Some(_)) => format!("from {}", format_time(s)),
        (None, _, Some(e)) => format!("events {}–{e}", w.start),
        (None, _, None) => format!("from event {}, never healed", w.start),
    }
}

impl Situation {
    /// The nodes that served the operations, in words (`None` when the history names none).
    pub fn nodes_text(&self) -> Option<String> {
        if self.ops.iter().all(|o| o.node.is_none()) {
            return None;
        }
        let mut parts: Vec<String> = self
            .ops
            .iter()
            .take(NAMED_OPS)
            .map(|o| match &o.node {
                Some(n) => format!("process {}'s {} by {n}", o.process, o.f),
                None => format!("process {}'s {} by an unrecorded node", o.process, o.f),
            })
            .collect();
        if self.ops.len() > NAMED_OPS {
            parts.push(format!("and {} more", self.ops.len() - NAMED_OPS));
        }
        Some(format!("served: {}", parts.join("; ")))
    }

    /// The faults in force, in words (`None` when the history records no faults at all).
    pub fn faults_text(&self) -> Option<String> {
        if !self.faults_recorded {
            return None;
        }
        let stretch = match (self.from_time, self.to_time) {
            (Some(a), Some(b)) => format!(" ({}–{})", format_time(a), format_time(b)),
            _ => String::new(),
        };
        if self.faults.is_empty() {
            return Some(format!("no fault was in force then{stretch}"));
        }
        let list: Vec<String> = self
            .faults
            .iter()
            .map(|w| format!("{}, {}", w.describe(), window_times(w)))
            .collect();
        Some(format!("faults in force then{stretch}: {}", list.join("; ")))
    }

    /// One step for an explanation: "Where and when: served: ...; faults in force then: ...".
    pub fn step(&self) -> Option<String> {
        let parts: Vec<String> = [self.nodes_text(), self.faults_text()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| format!("Where and when: {}.", parts.join("; ")))
    }
}

/// Adds the situation of `ops` to an anomaly: a step and `details.situation`.
pub fn annotate(history: &History, windows: &[FaultWindow], anomaly: &mut Anomaly, ops: &[usize]) {
    let Some(situation) = situate(history, windows, ops) else {
        return;
    };
    if let Some(step) = situation.step() {
        anomaly.steps.push(step);
    }
    let Ok(json) = serde_json::to_value(&situation) else {
        return;
    };
    match &mut anomaly.details {
        Value::Object(map) => {
            map.insert("situation".into(), json);
        }
        Value::Null => anomaly.details = serde_json::json!({ "situation": json }),
        // Details of another shape are the checker's own: left as they are.
        _ => {}
    }
}

/// Situates every anomaly of a report by the operations its `events` name.
pub fn annotate_report(history: &History, report: &mut Report) {
    if report.anomalies.is_empty() {
        return;
    }
    let windows = fault_windows(history);
    let mut op_of_index: FxHashMap<u64, usize> = FxHashMap::default();
    for op in &history.ops {
        op_of_index.insert(history.events[op.invoke].index, op.id);
        if let Some(c) = op.complete {
            op_of_index.insert(history.events[c].index, op.id);
        }
    }
    for anomaly in &mut report.anomalies {
        let mut ops: Vec<usize> = Vec::new();
        for index in &anomaly.events {
            if let Some(&op) = op_of_index.get(index)
                && !ops.contains(&op)
            {
                ops.push(op);
            }
        }
        annotate(history, &windows, anomaly, &ops);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;
    use serde_json::json;

    const HISTORY: &str = r#"{"index":0,"time":1000000000,"process":0,"type":"invoke","f":"write","value":1,"key":"k"}
{"index":1,"time":1100000000,"process":0,"type":"ok","f":"write","value":1,"key":"k","node":"n1"}
{"index":2,"time":1200000000,"process":"nemesis","type":"info","f":"kill","value":{"kind":"kill-leader","node":"n1"}}
{"index":3,"time":1300000000,"process":1,"type":"invoke","f":"read","value":null,"key":"k"}
{"index":4,"time":1400000000,"process":1,"type":"ok","f":"read","value":null,"key":"k","node":"n2"}
{"index":5,"time":2000000000,"process":"nemesis","type":"info","f":"restart","value":{"kind":"kill-leader","node":"n1"}}
{"index":6,"time":2100000000,"process":1,"type":"invoke","f":"read","value":null,"key":"k"}
{"index":7,"time":2200000000,"process":1,"type":"ok","f":"read","value":1,"key":"k"}
"#;

    #[test]
    fn names_nodes_and_the_faults_in_force() {
        let h = History::parse("t", HISTORY, Format::Jsonl).unwrap();
        let windows = fault_windows(&h);
        let s = situate(&h, &windows, &[0, 1]).unwrap();
        assert_eq!(s.ops[0].node.as_deref(), Some("n1"));
        assert_eq!(s.ops[1].node.as_deref(), Some("n2"));
        assert_eq!(s.faults.len(), 1);
        let step = s.step().unwrap();
        assert!(
            step.contains("process 0's write by n1; process 1's read by n2"),
            "{step}"
        );
        assert!(
            step.contains("faults in force then (t=1.000s–t=1.400s): kill-leader n1, t=1.200s–t=2.000s"),
            "{step}"
        );
        let calm = situate(&h, &windows, &[2]).unwrap();
        let step = calm.step().unwrap();
        assert!(!step.contains("served"), "no node recorded: {step}");
        assert!(step.contains("no fault was in force then"), "{step}");
        let mixed = situate(&h, &windows, &[1, 2]).unwrap().step().unwrap();
        assert!(
            mixed.contains("process 1's read by an unrecorded node"),
            "{mixed}"
        );
    }

    #[test]
    fn annotates_anomalies_by_their_events() {
        let h = History::parse("t", HISTORY, Format::Jsonl).unwrap();
        let mut r = Report::new("c", "m", crate::report::Verdict::Invalid, "s");
        r.anomalies.push(Anomaly {
            kind: "x".into(),
            key: None,
            steps: vec!["one".into()],
            events: vec![3, 4, 0],
            details: json!({"a": 1}),
        });
        annotate_report(&h, &mut r);
        let a = &r.anomalies[0];
        assert_eq!(a.steps.len(), 2);
        assert_eq!(a.details["a"], 1);
        assert_eq!(a.details["situation"]["ops"][0]["node"], "n2");
        assert_eq!(a.details["situation"]["faults"][0]["kind"], "kill-leader");
    }

    #[test]
    fn says_nothing_when_the_history_records_neither_nodes_nor_faults() {
        let text = r#"{"index":0,"process":0,"type":"invoke","f":"read","value":null}
{"index":1,"process":0,"type":"ok","f":"read","value":3}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let s = situate(&h, &[], &[0]).unwrap();
        assert_eq!(s.step(), None);
        assert!(situate(&h, &[], &[]).is_none());
    }
}
