//! Fault windows on a report's time axis: the checkers' fault windows (each fault from the
//! nemesis event that started it to the one that healed it; see
//! `faultline_checkers::history::fault_windows`), placed on the axis the page draws, with
//! tooltips.

use super::history_view::{HistoryView, shorten, value_text};
use faultline_checkers::history;
use serde_json::Value;

/// One fault window on the history's axis.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpan {
    /// The nemesis function that started it (`start-partition`, `kill`, ...).
    pub f: String,
    /// A short name: the fault kind and its node (`partition-leader n1`, `kill n2`).
    pub label: String,
    /// Start, on the axis.
    pub start: u64,
    /// End, on the axis; `None` if it was never healed.
    pub end: Option<u64>,
    /// What the start event recorded.
    pub detail: Value,
}

impl FaultSpan {
    /// A tooltip: label, when, the cut, and every other field the nemesis recorded.
    pub fn tooltip(&self, view: &HistoryView) -> String {
        let end = match self.end {
            Some(e) => format!("until {}", view.format_at(e)),
            None => "never healed".to_string(),
        };
        let mut t = format!(
            "{} — {}, from {} {end}",
            self.label,
            self.f,
            view.format_at(self.start)
        );
        if let Some(cut) = self.detail.get("cut").and_then(Value::as_array) {
            let groups: Vec<String> = cut.iter().map(value_text).collect();
            t.push_str(&format!("\ncut: {}", groups.join(" | ")));
        }
        // Every other field the fault's piece recorded (its parameters, a note, an error).
        let shown_above = ["kind", "node", "cut"];
        for (field, v) in self.detail.as_object().into_iter().flatten() {
            if !shown_above.contains(&field.as_str()) {
                t.push_str(&format!("\n{field}: {}", shorten(&value_text(v), 200)));
            }
        }
        t
    }
}

/// The fault windows of a history ([`faultline_checkers::history::fault_windows`]), on the
/// view's axis, in order of their start.
pub fn fault_windows(view: &HistoryView) -> Vec<FaultSpan> {
    history::fault_windows(view.history)
        .into_iter()
        .map(|w| FaultSpan {
            label: w.label(),
            start: view.at(w.start),
            end: w.end.map(|e| view.at(e)),
            f: w.f,
            detail: w.detail,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::{Format, History};

    #[test]
    fn windows_sit_on_the_axis_with_tooltips() {
        let text = r#"{"index":0,"time":100,"process":"nemesis","type":"info","f":"start-partition","value":{"kind":"partition-leader","node":"n1","cut":[["n1"],["n2","n3"]]}}
{"index":1,"time":400,"process":"nemesis","type":"info","f":"stop-partition","value":{"kind":"partition-leader"}}
{"index":2,"time":600,"process":"nemesis","type":"info","f":"clock-bump","value":{"kind":"clock-bump","node":"n1","delta_ms":300}}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let view = HistoryView::new(&h);
        let w = fault_windows(&view);
        let got: Vec<(&str, u64, Option<u64>)> =
            w.iter().map(|s| (s.label.as_str(), s.start, s.end)).collect();
        assert_eq!(
            got,
            vec![
                ("partition-leader n1", 100, Some(400)),
                ("clock-bump n1", 600, None)
            ]
        );
        let tip = w[0].tooltip(&view);
        assert!(tip.contains("cut: [n1] | [n2 n3]"), "{tip}");
        assert!(w[1].tooltip(&view).contains("never healed"));
        assert!(w[1].tooltip(&view).contains("delta_ms: 300"));
    }
}
