//! Availability as a result: how many operations of each type succeeded, failed or ended
//! unknown while each fault was in force, against the same outside every fault, with the
//! errors behind the failures, and the longest stretches with no successful operation of a
//! type.
//!
//! Only the load phase counts: operations invoked before the harness's final `heal-all` (the
//! final reads that follow it, on a healed and settled cluster, would flatter every rate). An
//! operation belongs to the fault window it was invoked in (where windows overlap, as a standing
//! link delay does with the scheduled faults, the one that started last), and counts as
//! available there only if it succeeded before the heal began (one that waited the fault out
//! counts as late). A window ends where the heal's invocation is recorded (faultline's own
//! heals, Jepsen's `:invoke :stop-...`), else at the heal: a write a synchronous leader held
//! until a restarted follower caught up is late even when it is acknowledged a moment before
//! the restart is recorded. Operation types: `read`, `write` and `cas` for register histories; a transaction is a `read` when all its micro-ops read, a
//! `write` otherwise; any other function counts under its own name.
//!
//! Every type reads back leniently from JSON (every field optional), so results files written
//! by older versions still load.

use crate::history::{FaultWindow, History, Operation, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Outcome counts of a set of operations, with failures broken down by error code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Outcomes {
    /// Succeeded (during a fault window: while the fault was still in force).
    pub ok: u64,
    /// Invoked during a fault window, succeeded only after the fault was healed: it waited the
    /// fault out, so it was not available during it.
    pub late: u64,
    pub fail: u64,
    pub info: u64,
    /// `fail` and `info` completions by error code (the text before the first `:` of the
    /// history's `error` field; `no-error` when there is none, `never-completed` for
    /// invocations without a completion).
    pub errors: BTreeMap<String, u64>,
}

impl Outcomes {
    /// Operations counted.
    pub fn total(&self) -> u64 {
        self.ok + self.late + self.fail + self.info
    }

    /// The share that succeeded, if any were counted.
    pub fn ok_rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.ok as f64 / total as f64)
    }

    /// The share that failed, if any were counted.
    pub fn fail_rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.fail as f64 / total as f64)
    }

    /// The share whose outcome is unknown, if any were counted.
    pub fn info_rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.info as f64 / total as f64)
    }

    /// Adds another set of counts to these.
    pub fn add(&mut self, other: &Outcomes) {
        self.ok += other.ok;
        self.late += other.late;
        self.fail += other.fail;
        self.info += other.info;
        for (code, n) in &other.errors {
            *self.errors.entry(code.clone()).or_default() += n;
        }
    }
}

/// One operation type's availability over a stretch of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpAvailability {
    /// The operation type (`read`, `write`, `cas`, ...).
    pub op: String,
    #[serde(flatten)]
    pub outcomes: Outcomes,
    /// ok / (ok + fail + info), when any were invoked.
    pub ok_rate: Option<f64>,
    /// The ok rate divided by the fault-free ok rate of the same type, when both are known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok_rate_vs_fault_free: Option<f64>,
    /// The longest stretch of this window with no successful operation of this type, in
    /// seconds (when the history has times).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longest_without_ok_s: Option<f64>,
}

/// One fault window's availability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowAvailability {
    pub kind: String,
    /// `partition-leader n1`, `kill n2`.
    pub label: String,
    pub nodes: Vec<String>,
    /// Seconds from the start of the history, when it has times.
    pub start_s: Option<f64>,
    /// When the fault was healed (the end of the load phase if it was not).
    pub end_s: Option<f64>,
    pub ops: Vec<OpAvailability>,
}

/// Every window of one fault kind together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindAvailability {
    pub kind: String,
    pub windows: usize,
    /// Their total length, in seconds (when the history has times).
    pub seconds: Option<f64>,
    /// Outcomes summed over the windows; `longest_without_ok_s` is the longest in any of them.
    pub ops: Vec<OpAvailability>,
}

/// The longest stretch of the load phase with no successful operation of one type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Stall {
    pub op: String,
    pub seconds: f64,
    pub from_s: f64,
    pub to_s: f64,
    /// The faults in force at some point of it (labels).
    pub faults: Vec<String>,
}

impl Stall {
    /// The faults in force during the stretch, in words ("during …" or "no fault in force").
    pub fn during(&self) -> String {
        if self.faults.is_empty() {
            "no fault in force".to_string()
        } else {
            format!("during {}", self.faults.join(", "))
        }
    }
}

/// Availability of a whole history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Availability {
    /// False when the history has no times: then rates are known but no stretch lengths.
    pub timed: bool,
    /// The load phase, in seconds from the start of the history (when timed).
    pub load_from_s: Option<f64>,
    pub load_to_s: Option<f64>,
    /// Operations invoked while no fault was in force, by type.
    pub fault_free: Vec<OpAvailability>,
    /// Each fault window, in order.
    pub windows: Vec<WindowAvailability>,
    /// The windows of each kind together, by kind.
    pub by_kind: Vec<KindAvailability>,
    /// Per type, the longest stretch of the load phase with no successful operation.
    pub stalls: Vec<Stall>,
}

impl Availability {
    /// The fault-free figures of one operation type.
    pub fn fault_free(&self, op: &str) -> Option<&OpAvailability> {
        self.fault_free.iter().find(|o| o.op == op)
    }
}

/// The type of an operation for availability.
pub fn op_type(history: &History, op: &Operation) -> String {
    if op.f != "txn" {
        return op.f.clone();
    }
    let micro_ops = history.events[op.invoke].value.as_array();
    let read_only =
        micro_ops.is_some_and(|ms| ms.iter().all(|m| m.get(0).and_then(Value::as_str) == Some("r")));
    if read_only { "read" } else { "write" }.to_string()
}

/// The error code of a completion's `error` field: `timeout` for `"timeout: no acks"`.
pub fn error_code(error: Option<&Value>) -> String {
    match error {
        None => "no-error".to_string(),
        Some(Value::String(s)) => {
            let code = s.split(':').next().unwrap_or(s).trim();
            let code: String = code.chars().take(40).collect();
            if code.is_empty() { "no-error".into() } else { code }
        }
        Some(_) => "other".to_string(),
    }
}

fn seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Per-type outcome counts, in the order types first appear.
#[derive(Default)]
struct ByType(Vec<(String, Outcomes)>);

impl ByType {
    fn get(&mut self, op: &str) -> &mut Outcomes {
        let i = match self.0.iter().position(|(t, _)| t == op) {
            Some(i) => i,
            None => {
                self.0.push((op.to_string(), Outcomes::default()));
                self.0.len() - 1
            }
        };
        &mut self.0[i].1
    }
}

/// Measures the availability of a history, given its fault windows.
pub fn measure(history: &History, windows: &[FaultWindow]) -> Availability {
    let timed = !history.events.is_empty() && history.events.iter().all(|e| e.time.is_some());
    let time = |pos: usize| history.events[pos].time.unwrap_or(0);
    // The load phase ends at the harness's final heal-all, if it recorded one.
    let load_end = history
        .nemesis
        .iter()
        .copied()
        .rfind(|&p| history.events[p].f == "heal-all")
        .unwrap_or(history.events.len());
    let load: Vec<&Operation> = history.ops.iter().filter(|o| o.invoke < load_end).collect();
    let load_start = load.first().map_or(0, |o| o.invoke);
    let end_pos = load_end.min(history.events.len().saturating_sub(1));
    // Where the fault was last certainly in force: the heal's invocation when recorded (an
    // operation the heal released as it acted is late, not available during the fault).
    let window_end = |w: &FaultWindow| w.certain_end().unwrap_or(end_pos).min(end_pos);
    let types: Vec<String> = load.iter().map(|o| op_type(history, o)).collect();
    let mut fault_free = ByType::default();
    let mut per_window: Vec<ByType> = windows.iter().map(|_| ByType::default()).collect();
    for (o, t) in load.iter().zip(&types) {
        // Where windows overlap (a standing link delay under scheduled faults), the operation
        // counts in the one that started last: the fault most specific to its moment.
        let slot = windows
            .iter()
            .enumerate()
            .filter(|(_, w)| w.start <= o.invoke && o.invoke < window_end(w))
            .max_by_key(|(i, w)| (w.start, *i))
            .map(|(i, _)| i);
        let healed_first = slot.is_some_and(|i| o.complete.is_some_and(|c| c > window_end(&windows[i])));
        let counts = match slot {
            Some(i) => per_window[i].get(t),
            None => fault_free.get(t),
        };
        match o.outcome {
            Outcome::Ok if healed_first => counts.late += 1,
            Outcome::Ok => counts.ok += 1,
            Outcome::Fail => counts.fail += 1,
            Outcome::Info => counts.info += 1,
        }
        if o.outcome != Outcome::Ok {
            let code = match o.complete {
                Some(c) => error_code(history.events[c].error.as_ref()),
                None => "never-completed".to_string(),
            };
            *counts.errors.entry(code).or_default() += 1;
        }
    }
    // Successful completions per type, by time, for the stretches.
    let mut ok_times: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    if timed {
        for (o, t) in load.iter().zip(&types) {
            if o.outcome == Outcome::Ok
                && let Some(c) = o.complete
            {
                ok_times.entry(t).or_default().push(time(c));
            }
        }
        for v in ok_times.values_mut() {
            v.sort_unstable();
        }
    }
    let all_types: Vec<String> = {
        let mut t: Vec<String> = Vec::new();
        for x in &types {
            if !t.contains(x) {
                t.push(x.clone());
            }
        }
        t
    };
    let fault_free: Vec<OpAvailability> = fault_free
        .0
        .into_iter()
        .map(|(op, outcomes)| OpAvailability {
            ok_rate: outcomes.ok_rate(),
            op,
            outcomes,
            ok_rate_vs_fault_free: None,
            longest_without_ok_s: None,
        })
        .collect();
    let vs = |op: &str, rate: Option<f64>| {
        let base = fault_free.iter().find(|f| f.op == op)?.ok_rate?;
        (base > 0.0).then(|| rate.map(|r| r / base)).flatten()
    };
    let longest_gap = |op: &str, from: u64, to: u64| -> Option<f64> {
        if !timed || to < from {
            return None;
        }
        let times = ok_times.get(op).map_or(&[][..], Vec::as_slice);
        let inside = &times[times.partition_point(|&t| t < from)..times.partition_point(|&t| t <= to)];
        let mut prev = from;
        let mut best = 0;
        for &t in inside.iter().chain(std::iter::once(&to)) {
            best = best.max(t - prev);
            prev = t;
        }
        Some(seconds(best))
    };
    let window_stats: Vec<WindowAvailability> = windows
        .iter()
        .zip(per_window)
        .map(|(w, by_type)| {
            let (from, to) = (time(w.start), time(window_end(w)));
            let ops = all_types
                .iter()
                .map(|op| {
                    let outcomes = by_type
                        .0
                        .iter()
                        .find(|(t, _)| t == op)
                        .map(|(_, o)| o.clone())
                        .unwrap_or_default();
                    OpAvailability {
                        op: op.clone(),
                        ok_rate: outcomes.ok_rate(),
                        ok_rate_vs_fault_free: vs(op, outcomes.ok_rate()),
                        outcomes,
                        longest_without_ok_s: longest_gap(op, from, to),
                    }
                })
                .collect();
            WindowAvailability {
                kind: w.kind.clone(),
                label: w.label(),
                nodes: w.nodes.clone(),
                start_s: timed.then(|| seconds(from)),
                end_s: timed.then(|| seconds(to)),
                ops,
            }
        })
        .collect();
    let mut by_kind: Vec<KindAvailability> = Vec::new();
    for w in &window_stats {
        let i = match by_kind.iter().position(|k| k.kind == w.kind) {
            Some(i) => i,
            None => {
                by_kind.push(KindAvailability {
                    kind: w.kind.clone(),
                    windows: 0,
                    seconds: timed.then_some(0.0),
                    ops: Vec::new(),
                });
                by_kind.len() - 1
            }
        };
        let k = &mut by_kind[i];
        k.windows += 1;
        if let (Some(s), Some(a), Some(b)) = (k.seconds.as_mut(), w.start_s, w.end_s) {
            *s += b - a;
        }
        for o in &w.ops {
            match k.ops.iter_mut().find(|x| x.op == o.op) {
                Some(x) => {
                    x.outcomes.add(&o.outcomes);
                    x.longest_without_ok_s = match (x.longest_without_ok_s, o.longest_without_ok_s) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                }
                None => k.ops.push(o.clone()),
            }
        }
    }
    for k in &mut by_kind {
        for o in &mut k.ops {
            o.ok_rate = o.outcomes.ok_rate();
            o.ok_rate_vs_fault_free = vs(&o.op, o.ok_rate);
        }
    }
    let (load_from, load_to) = (time(load_start), time(end_pos));
    let stalls = if timed && !load.is_empty() {
        all_types
            .iter()
            .map(|op| {
                let times = ok_times.get(op.as_str()).map_or(&[][..], Vec::as_slice);
                let (mut from, mut to) = (load_from, load_from);
                let mut prev = load_from;
                for &t in times
                    .iter()
                    .filter(|&&t| t <= load_to)
                    .chain(std::iter::once(&load_to))
                {
                    if t - prev > to - from {
                        (from, to) = (prev, t);
                    }
                    prev = t;
                }
                let faults = windows
                    .iter()
                    .filter(|w| time(w.start) <= to && time(window_end(w)) >= from)
                    .map(FaultWindow::label)
                    .collect();
                Stall {
                    op: op.clone(),
                    seconds: seconds(to - from),
                    from_s: seconds(from),
                    to_s: seconds(to),
                    faults,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    Availability {
        timed,
        load_from_s: timed.then(|| seconds(load_from)),
        load_to_s: timed.then(|| seconds(load_to)),
        fault_free,
        windows: window_stats,
        by_kind,
        stalls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Format, fault_windows};

    /// Events at the given times (ms): (time, process or -1 for the nemesis, type, f, value,
    /// error).
    fn history(lines: &[(u64, i64, &str, &str, &str, &str)]) -> History {
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, (t, p, kind, f, value, error))| {
                let process = if *p < 0 { "\"nemesis\"".into() } else { p.to_string() };
                let error = if error.is_empty() {
                    String::new()
                } else {
                    format!(",\"error\":\"{error}\"")
                };
                format!(
                    "{{\"index\":{i},\"time\":{},\"process\":{process},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":{value}{error}}}\n",
                    t * 1_000_000
                )
            })
            .collect();
        History::parse("t", &text, Format::Jsonl).unwrap()
    }

    #[test]
    fn rates_per_window_against_the_fault_free_rate() {
        let h = history(&[
            (0, 0, "invoke", "write", "1", ""),
            (100, 0, "ok", "write", "1", ""),
            (200, 1, "invoke", "read", "null", ""),
            (300, 1, "ok", "read", "1", ""),
            (
                1000,
                -1,
                "info",
                "kill",
                r#"{"kind":"kill-follower","node":"n2"}"#,
                "",
            ),
            (1100, 0, "invoke", "write", "2", ""),
            (2600, 0, "info", "write", "2", "timeout: no acks"),
            (2700, 2, "invoke", "write", "3", ""),
            (2800, 2, "fail", "write", "3", "not_leader: ask n1"),
            (2900, 1, "invoke", "read", "null", ""),
            (3000, 1, "ok", "read", "1", ""),
            (3050, 3, "invoke", "write", "5", ""),
            (
                3100,
                -1,
                "info",
                "restart",
                r#"{"kind":"kill-follower","node":"n2"}"#,
                "",
            ),
            (3150, 3, "ok", "write", "5", ""),
            (3200, 2, "invoke", "write", "4", ""),
            (3300, 2, "ok", "write", "4", ""),
            (4000, -1, "info", "heal-all", r#"{"kind":"heal-all"}"#, ""),
            (6000, 1, "invoke", "read", "null", ""),
            (6100, 1, "ok", "read", "4", ""),
        ]);
        let a = measure(&h, &fault_windows(&h));
        let ff = a.fault_free("write").unwrap();
        assert_eq!((ff.outcomes.ok, ff.ok_rate), (2, Some(1.0)));
        assert_eq!(
            a.fault_free("read").unwrap().outcomes.ok,
            1,
            "the final read is not counted"
        );
        let w = &a.windows[0];
        assert_eq!(
            (w.kind.as_str(), w.label.as_str()),
            ("kill-follower", "kill-follower n2")
        );
        let writes = w.ops.iter().find(|o| o.op == "write").unwrap();
        let o = &writes.outcomes;
        assert_eq!(
            (o.ok, o.late, o.fail, o.info),
            (0, 1, 1, 1),
            "the write that waited out the fault is late"
        );
        assert_eq!(writes.outcomes.errors["timeout"], 1);
        assert_eq!(writes.outcomes.errors["not_leader"], 1);
        assert_eq!(
            (writes.ok_rate, writes.ok_rate_vs_fault_free),
            (Some(0.0), Some(0.0))
        );
        assert_eq!(
            writes.longest_without_ok_s,
            Some(2.1),
            "the whole window, 1.0 s to 3.1 s"
        );
        let reads = w.ops.iter().find(|o| o.op == "read").unwrap();
        assert_eq!(reads.ok_rate_vs_fault_free, Some(1.0));
        assert_eq!(a.by_kind[0].windows, 1);
        let stall = a.stalls.iter().find(|s| s.op == "write").unwrap();
        assert_eq!((stall.from_s, stall.to_s), (0.1, 3.15));
        assert_eq!(stall.faults, vec!["kill-follower n2"]);
        assert_eq!(a.load_to_s, Some(4.0));
    }

    #[test]
    fn a_write_released_while_the_heal_acts_is_late() {
        // A sync leader holds writes while a follower is down; the restart brings it back and
        // the held writes are acknowledged a moment before the restart's completion is
        // recorded. They waited the fault out: late, not available during it.
        let kill = r#"{"kind":"kill-follower","node":"n2"}"#;
        let h = history(&[
            (1000, -1, "info", "kill", kill, ""),
            (1100, 0, "invoke", "write", "1", ""),
            (1200, 1, "invoke", "write", "2", ""),
            (3000, -1, "invoke", "restart", kill, ""),
            (3005, 0, "ok", "write", "1", ""),
            (3006, 2, "invoke", "write", "3", ""),
            (3007, 2, "ok", "write", "3", ""),
            (3010, -1, "info", "restart", kill, ""),
            (3011, 1, "ok", "write", "2", ""),
            (4000, -1, "invoke", "heal-all", r#"{"kind":"heal-all"}"#, ""),
            (4001, -1, "info", "heal-all", r#"{"kind":"heal-all"}"#, ""),
        ]);
        let windows = fault_windows(&h);
        assert_eq!(windows.len(), 1);
        assert_eq!((windows[0].heal_began, windows[0].end), (Some(3), Some(7)));
        let a = measure(&h, &windows);
        let w = &a.windows[0];
        let o = &w.ops.iter().find(|o| o.op == "write").unwrap().outcomes;
        assert_eq!(
            (o.ok, o.late),
            (0, 2),
            "both held writes are late, the one acknowledged before the restart's record too"
        );
        assert_eq!(
            a.fault_free("write").unwrap().outcomes.ok,
            1,
            "a write invoked while the heal acts is not in the window"
        );
        // Without the heal's invocation the window runs to the restart's record, and the
        // writes acknowledged before it (one invoked while the heal acted) would count as
        // available during the fault.
        let mut without = windows.clone();
        without[0].heal_began = None;
        let o = measure(&h, &without).windows[0]
            .ops
            .iter()
            .find(|o| o.op == "write")
            .unwrap()
            .outcomes
            .clone();
        assert_eq!((o.ok, o.late), (2, 1));
    }

    #[test]
    fn under_a_standing_delay_an_operation_counts_in_the_scheduled_fault_it_met() {
        let h = history(&[
            (
                0,
                -1,
                "info",
                "start-delay",
                r#"{"kind":"delay","standing":true}"#,
                "",
            ),
            (10, 0, "invoke", "write", "1", ""),
            (100, 0, "ok", "write", "1", ""),
            (
                1000,
                -1,
                "info",
                "start-partition",
                r#"{"kind":"partition-one","node":"n2"}"#,
                "",
            ),
            (1100, 0, "invoke", "write", "2", ""),
            (1200, 0, "fail", "write", "2", "no_quorum: 2 of 3"),
            (
                2000,
                -1,
                "info",
                "stop-partition",
                r#"{"kind":"partition-one"}"#,
                "",
            ),
            (2100, 0, "invoke", "write", "3", ""),
            (2200, 0, "ok", "write", "3", ""),
            (
                3000,
                -1,
                "info",
                "stop-delay",
                r#"{"kind":"delay","standing":true}"#,
                "",
            ),
            (3000, -1, "info", "heal-all", r#"{"kind":"heal-all"}"#, ""),
        ]);
        let a = measure(&h, &fault_windows(&h));
        let count = |kind: &str| {
            let w = a.windows.iter().find(|w| w.kind == kind).unwrap();
            let o = &w.ops.iter().find(|o| o.op == "write").unwrap().outcomes;
            (o.ok, o.fail)
        };
        assert_eq!(
            count("partition-one"),
            (0, 1),
            "the partition's write counts there"
        );
        assert_eq!(
            count("delay"),
            (2, 0),
            "the others count under the standing delay alone"
        );
    }

    #[test]
    fn transactions_count_as_reads_or_writes_and_untimed_histories_have_no_stretches() {
        let text = r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["r",1,null]]}
{"index":1,"process":0,"type":"ok","f":"txn","value":[["r",1,[]]]}
{"index":2,"process":0,"type":"invoke","f":"txn","value":[["append",1,1],["r",1,null]]}
"#;
        let h = History::parse("t", text, Format::Jsonl).unwrap();
        let a = measure(&h, &[]);
        assert!(!a.timed && a.stalls.is_empty());
        assert_eq!(a.fault_free("read").unwrap().outcomes.ok, 1);
        let w = a.fault_free("write").unwrap();
        assert_eq!((w.outcomes.info, w.outcomes.errors["never-completed"]), (1, 1));
        assert_eq!(error_code(Some(&Value::from("timeout: x: y"))), "timeout");
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;

    /// Numbers keep their text (serde_json's `arbitrary_precision`), which breaks
    /// `#[serde(flatten)]` of numeric fields: the report must still read back.
    #[test]
    fn op_availability_round_trips_through_json() {
        let mut a = OpAvailability {
            op: "read".into(),
            ok_rate: Some(0.5),
            ..Default::default()
        };
        a.outcomes.ok = 3;
        a.outcomes.fail = 2;
        a.outcomes.errors.insert("timeout".into(), 2);
        let text = serde_json::to_string(&a).unwrap();
        let back: OpAvailability = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a, "{text}");
    }
}
