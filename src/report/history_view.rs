//! A history as the report draws it: each client operation with its position on the time axis
//! (nanoseconds when every event has a time, event positions otherwise), short labels and
//! tooltips, and a way back from the event indices that checkers name to operations.

use super::timeline_html::{Axis, BarKind, format_ns};
use faultline_checkers::history::{History, Operation, Outcome};
use serde_json::Value;
use std::collections::HashMap;

/// One client operation on the axis.
#[derive(Debug, Clone, Copy)]
pub struct OpSpan {
    /// Position in `History::ops`.
    pub op: usize,
    /// Invocation, on the axis.
    pub start: u64,
    /// Completion (ok, fail or info), on the axis; `None` if it never completed.
    pub end: Option<u64>,
}

/// The history plus what drawing it needs.
pub struct HistoryView<'h> {
    /// The history.
    pub history: &'h History,
    /// What positions on the axis mean.
    pub axis: Axis,
    /// Every client operation, in invocation order.
    pub spans: Vec<OpSpan>,
    /// The last position on the axis of any event.
    pub end: u64,
    /// Event `index` values to positions in `History::events`.
    by_index: HashMap<u64, usize>,
    /// Event positions to operation ids (`u32::MAX` for nemesis events).
    op_of_event: Vec<u32>,
}

impl<'h> HistoryView<'h> {
    /// Builds the view of a history.
    pub fn new(history: &'h History) -> HistoryView<'h> {
        let timed = !history.events.is_empty() && history.events.iter().all(|e| e.time.is_some());
        let axis = if timed { Axis::Nanoseconds } else { Axis::Events };
        let at = |pos: usize| match axis {
            Axis::Nanoseconds => history.events[pos].time.unwrap_or(0),
            Axis::Events => pos as u64,
        };
        let mut op_of_event = vec![u32::MAX; history.events.len()];
        let spans = history
            .ops
            .iter()
            .map(|o| {
                op_of_event[o.invoke] = o.id as u32;
                if let Some(c) = o.complete {
                    op_of_event[c] = o.id as u32;
                }
                OpSpan {
                    op: o.id,
                    start: at(o.invoke),
                    end: o.complete.map(at),
                }
            })
            .collect();
        let end = (0..history.events.len()).map(at).max().unwrap_or(0);
        let by_index = history
            .events
            .iter()
            .enumerate()
            .map(|(pos, e)| (e.index, pos))
            .collect();
        HistoryView {
            history,
            axis,
            spans,
            end,
            by_index,
            op_of_event,
        }
    }

    /// The position of an event on the axis.
    pub fn at(&self, pos: usize) -> u64 {
        match self.axis {
            Axis::Nanoseconds => self.history.events[pos].time.unwrap_or(0),
            Axis::Events => pos as u64,
        }
    }

    /// The operation an event (named by its history `index`) belongs to, if a client's.
    pub fn op_of_index(&self, index: u64) -> Option<usize> {
        let pos = *self.by_index.get(&index)?;
        let op = self.op_of_event[pos];
        (op != u32::MAX).then_some(op as usize)
    }

    /// The position in `History::events` of the event with this `index`.
    pub fn position_of_index(&self, index: u64) -> Option<usize> {
        self.by_index.get(&index).copied()
    }

    /// Distinct client processes, ascending.
    pub fn processes(&self) -> Vec<u64> {
        let mut p: Vec<u64> = self.history.ops.iter().map(|o| o.process).collect();
        p.sort_unstable();
        p.dedup();
        p
    }

    /// A point on the axis as text.
    pub fn format_at(&self, v: u64) -> String {
        match self.axis {
            Axis::Nanoseconds => format_ns(v),
            Axis::Events => format!("event {v}"),
        }
    }

    /// Short text for a bar: `w 3`, `r 4`, `cas 1→2`, `txn [append 5 1] [r 5 [1]]`.
    pub fn label(&self, op: &Operation) -> String {
        let arg = &self.history.events[op.invoke].value;
        let text = match op.f.as_str() {
            "read" if op.outcome == Outcome::Ok => format!("r {}", value_text(self.history.value(op))),
            "read" => "r ?".to_string(),
            "write" => format!("w {}", value_text(arg)),
            "cas" => match arg.as_array().map(Vec::as_slice) {
                Some([e, n]) => format!("cas {}→{}", value_text(e), value_text(n)),
                _ => format!("cas {}", value_text(arg)),
            },
            "txn" => value_text(self.history.value(op)),
            f => format!("{f} {}", value_text(arg)),
        };
        shorten(&text, 60)
    }

    /// Longer text for a tooltip: who, what, outcome, when, which lines, latency, node, error.
    pub fn tooltip(&self, op: &Operation) -> String {
        let key = op
            .key
            .as_ref()
            .map(|k| format!(" on key {}", value_text(k)))
            .unwrap_or_default();
        let mut t = format!(
            "op {} — process {}: {}{key} — {}",
            op.id,
            op.process,
            self.label(op),
            outcome_name(op.outcome)
        );
        let inv = &self.history.events[op.invoke];
        t.push_str(&format!(
            "\ninvoked {} (line {})",
            self.format_at(self.at(op.invoke)),
            inv.line
        ));
        match op.complete {
            Some(c) => {
                let e = &self.history.events[c];
                t.push_str(&format!(
                    "\ncompleted {} (line {})",
                    self.format_at(self.at(c)),
                    e.line
                ));
                if self.axis == Axis::Nanoseconds {
                    t.push_str(&format!(
                        "\nlatency {}",
                        format_ns(self.at(c).saturating_sub(self.at(op.invoke)))
                    ));
                }
                if let Some(node) = e.extra_field("node") {
                    t.push_str(&format!("\nnode {}", value_text(node)));
                }
                if let Some(err) = &e.error {
                    t.push_str(&format!("\nerror {}", shorten(&value_text(err), 200)));
                }
            }
            None => t.push_str("\nnever completed"),
        }
        t
    }
}

/// The bar colour of an outcome.
pub fn bar_kind(outcome: Outcome) -> BarKind {
    match outcome {
        Outcome::Ok => BarKind::Ok,
        Outcome::Fail => BarKind::Fail,
        Outcome::Info => BarKind::Info,
    }
}

/// `ok`, `fail`, or `info (outcome unknown)`.
pub fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Info => "info (outcome unknown)",
    }
}

/// A JSON value in Elle's compact style: strings bare, `nil` for null, `[a b]` for arrays.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(value_text).collect();
            format!("[{}]", inner.join(" "))
        }
        other => other.to_string(),
    }
}

/// Cuts text to at most `max` characters, marking the cut with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::Format;

    const HISTORY: &str = r#"{"index":10,"time":1000,"process":0,"type":"invoke","f":"write","value":3,"key":"k"}
{"index":11,"time":2000,"process":"nemesis","type":"info","f":"kill","value":{"node":"n1"}}
{"index":12,"time":5000,"process":0,"type":"ok","f":"write","value":3,"key":"k","node":"n2"}
{"index":13,"time":6000,"process":1,"type":"invoke","f":"txn","value":[["append",5,1],["r",5,null]]}
{"index":14,"time":9000,"process":1,"type":"ok","f":"txn","value":[["append",5,1],["r",5,[1]]]}
"#;

    #[test]
    fn maps_indices_to_operations_and_describes_them() {
        let h = History::parse("t.jsonl", HISTORY, Format::Jsonl).unwrap();
        let v = HistoryView::new(&h);
        assert_eq!(v.axis, Axis::Nanoseconds);
        assert_eq!(v.end, 9000);
        assert_eq!(v.op_of_index(12), Some(0));
        assert_eq!(v.op_of_index(11), None, "nemesis events belong to no operation");
        assert_eq!(v.op_of_index(99), None);
        assert_eq!(v.label(&h.ops[0]), "w 3");
        assert_eq!(v.label(&h.ops[1]), "[[append 5 1] [r 5 [1]]]");
        let tip = v.tooltip(&h.ops[0]);
        assert!(tip.contains("process 0: w 3 on key k — ok"), "{tip}");
        assert!(tip.contains("latency 4.0 µs") && tip.contains("node n2"), "{tip}");
        assert_eq!(v.spans[1].start, 6000);
    }

    #[test]
    fn shortens_long_text() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
