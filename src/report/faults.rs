//! Fault windows from a history's nemesis events: each fault from the event that started it
//! (`start-partition`, `kill`, `pause`, `clock-bump`, `clock-strobe`, or Jepsen's `start-*`)
//! to the one that healed it (`stop-partition`, `restart`, `resume`, `clock-reset`, `stop-*`,
//! or `heal-all`, which ends every open window). A fault never healed runs to the end.

use super::history_view::{HistoryView, shorten, value_text};
use faultline_checkers::history::EventKind;
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
    /// A tooltip: label, when, and what the nemesis recorded.
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
        for field in ["delta_ms", "period_ms", "note", "error"] {
            if let Some(v) = self.detail.get(field) {
                t.push_str(&format!("\n{field}: {}", shorten(&value_text(v), 200)));
            }
        }
        t
    }
}

/// What a nemesis function does to the windows.
enum Action<'a> {
    /// Opens a window; `family` pairs it with its healer, `node` narrows the pairing.
    Open { family: &'a str },
    /// Closes the latest open window of `family` (on `node` when it names one).
    Close { family: &'a str },
    /// Closes every open window.
    CloseAll,
    /// An instant: recorded as a window of no width.
    Instant,
}

fn action(f: &str) -> Action<'_> {
    match f {
        "start-partition" => Action::Open { family: "partition" },
        "stop-partition" => Action::Close { family: "partition" },
        "kill" => Action::Open { family: "kill" },
        "restart" => Action::Close { family: "kill" },
        "pause" => Action::Open { family: "pause" },
        "resume" => Action::Close { family: "pause" },
        "clock-bump" | "clock-strobe" => Action::Open { family: "clock" },
        "clock-reset" => Action::Close { family: "clock" },
        "heal-all" => Action::CloseAll,
        "start" => Action::Open { family: "" },
        "stop" => Action::Close { family: "" },
        f => match (f.strip_prefix("start-"), f.strip_prefix("stop-")) {
            (Some(family), _) => Action::Open { family },
            (_, Some(family)) => Action::Close { family },
            _ => Action::Instant,
        },
    }
}

fn node_of(value: &Value) -> Option<&str> {
    value.get("node").and_then(Value::as_str)
}

/// The fault windows of a history, in order of their start.
pub fn fault_windows(view: &HistoryView) -> Vec<FaultSpan> {
    let history = view.history;
    // Jepsen records each nemesis action as an invocation and a completion: use the completions
    // when there are any (they say what was done), the invocations otherwise.
    let completions = history
        .nemesis
        .iter()
        .any(|&p| history.events[p].kind != EventKind::Invoke);
    let mut spans: Vec<FaultSpan> = Vec::new();
    // (index into spans, family) of the windows still open.
    let mut open: Vec<(usize, String)> = Vec::new();
    for &pos in &history.nemesis {
        let e = &history.events[pos];
        if completions && e.kind == EventKind::Invoke {
            continue;
        }
        let at = view.at(pos);
        match action(&e.f) {
            Action::Open { family } => {
                let kind = e.value.get("kind").and_then(Value::as_str).unwrap_or(&e.f);
                let label = match node_of(&e.value) {
                    Some(node) => format!("{kind} {node}"),
                    None => kind.to_string(),
                };
                open.push((spans.len(), family.to_string()));
                spans.push(FaultSpan {
                    f: e.f.clone(),
                    label,
                    start: at,
                    end: None,
                    detail: e.value.clone(),
                });
            }
            Action::Close { family } => {
                let node = node_of(&e.value);
                let found = open.iter().rposition(|(i, fam)| {
                    fam == family && (node.is_none() || node_of(&spans[*i].detail) == node)
                });
                if let Some(k) = found {
                    let (i, _) = open.remove(k);
                    spans[i].end = Some(at);
                }
            }
            Action::CloseAll => {
                for (i, _) in open.drain(..) {
                    spans[i].end = Some(at);
                }
            }
            Action::Instant => spans.push(FaultSpan {
                f: e.f.clone(),
                label: e.f.clone(),
                start: at,
                end: Some(at),
                detail: e.value.clone(),
            }),
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::{Format, History};

    fn nemesis(index: u64, time: u64, f: &str, value: &str) -> String {
        format!(
            "{{\"index\":{index},\"time\":{time},\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"{f}\",\"value\":{value}}}\n"
        )
    }

    #[test]
    fn pairs_faults_with_their_heals() {
        let text = [
            nemesis(
                0,
                100,
                "start-partition",
                r#"{"kind":"partition-leader","node":"n1","cut":[["n1"],["n2","n3"]]}"#,
            ),
            nemesis(1, 200, "kill", r#"{"kind":"kill","node":"n2"}"#),
            nemesis(2, 250, "kill", r#"{"kind":"kill","node":"n3"}"#),
            nemesis(3, 300, "restart", r#"{"kind":"kill","node":"n2"}"#),
            nemesis(4, 400, "stop-partition", r#"{"kind":"partition-leader"}"#),
            nemesis(5, 450, "pause", r#"{"kind":"pause","node":"n1"}"#),
            nemesis(6, 500, "heal-all", r#"{"kind":"heal-all"}"#),
            nemesis(
                7,
                600,
                "clock-bump",
                r#"{"kind":"clock-bump","node":"n1","delta_ms":300}"#,
            ),
        ]
        .concat();
        let h = History::parse("t", &text, Format::Jsonl).unwrap();
        let view = HistoryView::new(&h);
        let w = fault_windows(&view);
        let got: Vec<(&str, u64, Option<u64>)> =
            w.iter().map(|s| (s.label.as_str(), s.start, s.end)).collect();
        assert_eq!(
            got,
            vec![
                ("partition-leader n1", 100, Some(400)),
                ("kill n2", 200, Some(300)),
                ("kill n3", 250, Some(500)),
                ("pause n1", 450, Some(500)),
                ("clock-bump n1", 600, None),
            ]
        );
        let tip = w[0].tooltip(&view);
        assert!(tip.contains("cut: [n1] | [n2 n3]"), "{tip}");
        assert!(w[4].tooltip(&view).contains("never healed"));
    }

    #[test]
    fn jepsen_start_stop_pairs_use_completions() {
        let text = r#"{"index":0,"process":"nemesis","type":"invoke","f":"start","value":null}
{"index":1,"process":"nemesis","type":"info","f":"start","value":"cut"}
{"index":2,"process":"nemesis","type":"invoke","f":"stop","value":null}
{"index":3,"process":"nemesis","type":"info","f":"stop","value":"healed"}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let view = HistoryView::new(&h);
        let w = fault_windows(&view);
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].start, w[0].end), (1, Some(3)));
    }
}
