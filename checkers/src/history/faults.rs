//! Fault windows from a history's nemesis events: each fault from the event that started it
//! (`start-partition`, `kill`, `pause`, `clock-bump`, `clock-strobe`, or any `start-*`) to the
//! one that healed it (`stop-partition`, `restart`, `resume`, `clock-reset`, the matching
//! `stop-*`, or `heal-all`, which ends every open window). A fault never healed runs to the end
//! of the history; a nemesis event that neither starts nor heals a fault is an instant.
//!
//! Fault names the harness does not know yet (new kinds of fault) pair by the same start/stop
//! pattern, so checkers and reports can say which faults were in force, and on which nodes, at
//! any point of a history.

use super::{EventKind, History};
use serde::Serialize;
use serde_json::Value;

/// One fault, from the event that started it to the one that healed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultWindow {
    /// The nemesis function that started it (`start-partition`, `kill`, ...).
    pub f: String,
    /// What kind of fault it was: the start event's `kind` field when it has one
    /// (`partition-leader`, `kill-follower`, ...), else its `f`.
    pub kind: String,
    /// The nodes it acted on: the event's `node`, or its `nodes`, or every node of a partition's
    /// groups.
    pub nodes: Vec<String>,
    /// For a partition: the groups of nodes that could still talk among themselves.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<Vec<String>>,
    /// Position of the start event in [`History::events`].
    pub start: usize,
    /// Position of the event that healed it; `None` if it was never healed.
    pub end: Option<usize>,
    /// Position of the heal's invocation, when the history records one before the heal acts
    /// (Jepsen's `:invoke :stop-partition`, faultline's own heals): from there the fault may
    /// be lifting, so the window is certainly in force only up to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heal_began: Option<usize>,
    /// The start event's time (nanoseconds since the run began), when the history has times.
    pub start_time: Option<u64>,
    /// The healing event's time, when known.
    pub end_time: Option<u64>,
    /// What the start event recorded.
    pub detail: Value,
}

impl FaultWindow {
    /// A short name: the kind and its node (`partition-leader n1`, `kill n2`, `partition-halves`).
    pub fn label(&self) -> String {
        match self.detail.get("node").and_then(Value::as_str) {
            Some(node) => format!("{} {node}", self.kind),
            None => self.kind.clone(),
        }
    }

    /// The label, with a partition's groups: `partition-leader n1 ([n1] | [n2 n3])`.
    pub fn describe(&self) -> String {
        if self.cut.is_empty() {
            return self.label();
        }
        let groups: Vec<String> = self.cut.iter().map(|g| format!("[{}]", g.join(" "))).collect();
        format!("{} ({})", self.label(), groups.join(" | "))
    }

    /// The last position at which the fault was certainly in force: the heal's invocation when
    /// recorded, else the heal itself (`None` if never healed).
    pub fn certain_end(&self) -> Option<usize> {
        self.heal_began.or(self.end)
    }

    /// True if the window was in force at some point between event positions `from` and `to`
    /// (inclusive): it started before `to` and was not healed before `from`.
    pub fn overlaps(&self, from: usize, to: usize) -> bool {
        self.start <= to && self.end.is_none_or(|e| e >= from)
    }
}

/// What a nemesis function does to the windows.
enum Action<'a> {
    /// Opens a window; `family` pairs it with its healer.
    Open { family: &'a str },
    /// Closes the latest open window of `family` (on the event's node when it names one).
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

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The groups of a partition's `cut` field (`[["n1"], ["n2", "n3"]]`).
fn groups(value: &Value) -> Vec<Vec<String>> {
    value
        .get("cut")
        .and_then(Value::as_array)
        .map(|gs| gs.iter().map(|g| strings(Some(g))).collect())
        .unwrap_or_default()
}

fn nodes_of(value: &Value, cut: &[Vec<String>]) -> Vec<String> {
    if let Some(node) = node_of(value) {
        return vec![node.to_string()];
    }
    let listed = strings(value.get("nodes"));
    if !listed.is_empty() {
        return listed;
    }
    let mut all: Vec<String> = cut.iter().flatten().cloned().collect();
    all.sort();
    all.dedup();
    all
}

/// The fault windows of a history, in order of their start.
pub fn fault_windows(history: &History) -> Vec<FaultWindow> {
    // Jepsen records each nemesis action as an invocation and a completion: use the completions
    // when there are any (they say what was done), the invocations otherwise.
    let completions = history
        .nemesis
        .iter()
        .any(|&p| history.events[p].kind != EventKind::Invoke);
    let mut windows: Vec<FaultWindow> = Vec::new();
    // (index into windows, family) of the windows still open.
    let mut open: Vec<(usize, String)> = Vec::new();
    // Positions of nemesis invocations not yet completed, when completions mark the windows.
    let mut invoked: Vec<usize> = Vec::new();
    let close = |w: &mut FaultWindow, pos: usize, began: Option<usize>| {
        w.end = Some(pos);
        w.end_time = history.events[pos].time;
        w.heal_began = began.filter(|&b| b > w.start);
    };
    for &pos in &history.nemesis {
        let e = &history.events[pos];
        if completions && e.kind == EventKind::Invoke {
            invoked.push(pos);
            continue;
        }
        // The invocation this completion completes: the latest one of the same function.
        let began = invoked
            .iter()
            .rposition(|&i| history.events[i].f == e.f)
            .map(|k| invoked.remove(k));
        let new_window = || {
            let cut = groups(&e.value);
            FaultWindow {
                f: e.f.clone(),
                kind: e
                    .value
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or(&e.f)
                    .to_string(),
                nodes: nodes_of(&e.value, &cut),
                cut,
                start: pos,
                end: None,
                heal_began: None,
                start_time: e.time,
                end_time: None,
                detail: e.value.clone(),
            }
        };
        match action(&e.f) {
            Action::Open { family } => {
                open.push((windows.len(), family.to_string()));
                windows.push(new_window());
            }
            Action::Close { family } => {
                let node = node_of(&e.value);
                let found = open.iter().rposition(|(i, fam)| {
                    fam == family && (node.is_none() || node_of(&windows[*i].detail) == node)
                });
                if let Some(k) = found {
                    let (i, _) = open.remove(k);
                    close(&mut windows[i], pos, began);
                }
            }
            Action::CloseAll => {
                for (i, _) in open.drain(..) {
                    close(&mut windows[i], pos, began);
                }
            }
            Action::Instant => {
                let mut w = new_window();
                close(&mut w, pos, None);
                windows.push(w);
            }
        }
    }
    windows
}

/// The windows in force at some point between event positions `from` and `to` (inclusive).
pub fn in_force(windows: &[FaultWindow], from: usize, to: usize) -> Vec<&FaultWindow> {
    windows.iter().filter(|w| w.overlaps(from, to)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;

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
        let w = fault_windows(&h);
        let got: Vec<(String, u64, Option<u64>)> = w
            .iter()
            .map(|s| (s.label(), s.start_time.unwrap(), s.end_time))
            .collect();
        let want = [
            ("partition-leader n1", 100, Some(400)),
            ("kill n2", 200, Some(300)),
            ("kill n3", 250, Some(500)),
            ("pause n1", 450, Some(500)),
            ("clock-bump n1", 600, None),
        ];
        assert_eq!(got, want.map(|(l, s, e)| (l.to_string(), s, e)).to_vec());
        assert_eq!(w[0].describe(), "partition-leader n1 ([n1] | [n2 n3])");
        assert_eq!(w[0].nodes, vec!["n1"]);
        assert_eq!((w[0].start, w[0].end), (0, Some(4)));
        assert!(w[0].overlaps(4, 9) && !w[0].overlaps(5, 9));
        assert!(w[4].overlaps(100, 200), "never healed: in force to the end");
        assert_eq!(in_force(&w, 5, 5).len(), 2, "kill n3 and pause n1");
    }

    #[test]
    fn unknown_faults_pair_by_their_start_and_stop_names() {
        let text = [
            nemesis(
                0,
                10,
                "start-delay",
                r#"{"kind":"delay","nodes":["n1","n2"],"ms":50}"#,
            ),
            nemesis(
                1,
                20,
                "start-partition",
                r#"{"kind":"partition-halves","cut":[["n2","n1"],["n3"]]}"#,
            ),
            nemesis(2, 30, "stop-delay", r#"{"kind":"delay"}"#),
            nemesis(3, 40, "node-exited", r#"{"node":"n3"}"#),
            nemesis(4, 50, "stop-partition", r#"{}"#),
        ]
        .concat();
        let h = History::parse("t", &text, Format::Jsonl).unwrap();
        let w = fault_windows(&h);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].kind.as_str(), w[0].end_time), ("delay", Some(30)));
        assert_eq!(w[0].nodes, vec!["n1", "n2"]);
        assert_eq!(
            w[1].nodes,
            vec!["n1", "n2", "n3"],
            "a partition acts on all its nodes"
        );
        assert_eq!(
            (w[2].kind.as_str(), w[2].end),
            ("node-exited", Some(3)),
            "an instant"
        );
        assert_eq!(w[2].label(), "node-exited n3");
    }

    #[test]
    fn jepsen_start_stop_pairs_use_completions() {
        let text = r#"{"index":0,"process":"nemesis","type":"invoke","f":"start","value":null}
{"index":1,"process":"nemesis","type":"info","f":"start","value":"cut"}
{"index":2,"process":"nemesis","type":"invoke","f":"stop","value":null}
{"index":3,"process":"nemesis","type":"info","f":"stop","value":"healed"}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let w = fault_windows(&h);
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].start, w[0].end, w[0].kind.as_str()), (1, Some(3), "start"));
        assert_eq!(
            (w[0].heal_began, w[0].certain_end()),
            (Some(2), Some(2)),
            "certainly in force until the heal was invoked"
        );
        assert!(w[0].nodes.is_empty());
    }

    #[test]
    fn a_heal_pairs_with_the_latest_invocation_of_its_own_function() {
        let text = r#"{"index":0,"process":"nemesis","type":"info","f":"kill","value":{"node":"n1"}}
{"index":1,"process":"nemesis","type":"invoke","f":"pause","value":null}
{"index":2,"process":"nemesis","type":"info","f":"pause","value":{"node":"n2"}}
{"index":3,"process":"nemesis","type":"invoke","f":"restart","value":{"node":"n1"}}
{"index":4,"process":"nemesis","type":"invoke","f":"resume","value":{"node":"n2"}}
{"index":5,"process":"nemesis","type":"info","f":"restart","value":{"node":"n1"}}
{"index":6,"process":"nemesis","type":"info","f":"resume","value":{"node":"n2"}}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let w = fault_windows(&h);
        let got: Vec<_> = w.iter().map(|w| (w.label(), w.heal_began, w.end)).collect();
        assert_eq!(
            got,
            [
                ("kill n1".to_string(), Some(3), Some(5)),
                ("pause n2".to_string(), Some(4), Some(6)),
            ]
        );
    }
}
