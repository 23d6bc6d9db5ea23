//! What a run shows about each replication guarantee, decided only by what the checkers found
//! on its history and the availability it measured, never by what the workload expects:
//!
//! | guarantee | kept or broken according to |
//! |---|---|
//! | linearizable | the linearizability checker; for transactions, strict serializability |
//! | read-your-writes, monotonic reads | the list-append checker's session models when it judged them; on register histories, the register session check |
//! | consistent prefix | the list-append checker's model, when it judged it |
//! | no lost acknowledged writes | broken by a lost-write cause of the linearizability anomalies, kept only when the history is linearizable (unknown otherwise); on list-append histories, the lost-appends check; on set histories, the set checker's lost elements |
//! | writes / reads available under faults | the ok rate of writes / reads invoked while a fault was in force is at least [`AVAILABLE_SHARE`] of their ok rate outside faults |
//!
//! A guarantee no checker judged on this run is "not measured", never "kept". [`assess`] also
//! measures availability and checks the workload's availability expectations.

use crate::workload::availability::AvailabilityOutcome;
use crate::workload::{GeneratorConfig, Workload};
use faultline_checkers::availability::{Availability, Outcomes, measure};
use faultline_checkers::history::{History, fault_windows};
use faultline_checkers::linear::CauseKind;
use faultline_checkers::lost_appends::check_lost_appends;
use faultline_checkers::report::{Report, Verdict};
use faultline_checkers::session::check_register_sessions;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Operations of a type "stay available under faults" when their ok rate during faults is at
/// least this share of their ok rate outside faults.
pub const AVAILABLE_SHARE: f64 = 0.25;

/// The guarantees, in table order: (id, title).
pub const GUARANTEES: [(&str, &str); 7] = [
    ("linearizable", "linearizable"),
    ("read-your-writes", "read-your-writes"),
    ("monotonic-reads", "monotonic reads"),
    ("consistent-prefix", "consistent prefix"),
    ("no-lost-writes", "no lost acknowledged writes"),
    ("writes-available", "writes available under faults"),
    ("reads-available", "reads available under faults"),
];

/// What one run showed about one guarantee.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Kept,
    Broken,
    /// A checker looked but could not decide.
    Unknown,
    /// No checker looked.
    #[default]
    NotMeasured,
}

impl Status {
    /// The word in tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Kept => "kept",
            Status::Broken => "broken",
            Status::Unknown => "unknown",
            Status::NotMeasured => "not measured",
        }
    }

    fn of(verdict: Verdict) -> Status {
        match verdict {
            Verdict::Valid => Status::Kept,
            Verdict::Invalid => Status::Broken,
            Verdict::Unknown => Status::Unknown,
        }
    }
}

/// One guarantee on one run (read back leniently from `results.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuaranteeResult {
    /// The guarantee's id (see [`GUARANTEES`]).
    pub guarantee: String,
    pub status: Status,
    /// What showed it, in words.
    pub evidence: String,
    /// The checker (or measure) that decided it.
    pub source: String,
}

/// Everything a run concludes beyond the checkers' verdicts.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub availability: Availability,
    pub availability_expectations: Vec<AvailabilityOutcome>,
    /// Checks run for the guarantees only (they do not change the verdict).
    pub guarantee_checks: Vec<Report>,
    pub guarantees: Vec<GuaranteeResult>,
}

/// What a run's history shows beyond the checkers' verdicts, before they are known:
/// availability, the availability expectations, and the checks the guarantee table needs.
/// Measured while the checkers run (see `run::mod`), then [`Measured::judge`]d with their reports.
pub struct Measured {
    availability: Availability,
    availability_expectations: Vec<AvailabilityOutcome>,
    guarantee_checks: Vec<Report>,
}

/// Measures availability, checks the availability expectations and runs the checks the
/// guarantee table needs.
pub fn measure_run(workload: &Workload, history: &History) -> Measured {
    let availability = measure(history, &fault_windows(history));
    let availability_expectations = workload
        .expect
        .availability
        .iter()
        .map(|e| e.evaluate(&availability))
        .collect();
    let guarantee_checks = match workload.generator {
        GeneratorConfig::Register { .. } => vec![check_register_sessions(history, &Value::Null)],
        GeneratorConfig::ListAppend { .. } => vec![check_lost_appends(history)],
        // The rw-register checker judges the session models itself; the set checkers judge
        // lost elements.
        GeneratorConfig::RwRegister { .. }
        | GeneratorConfig::Set { .. }
        | GeneratorConfig::Counter { .. } => Vec::new(),
    };
    Measured {
        availability,
        availability_expectations,
        guarantee_checks,
    }
}

impl Measured {
    /// Judges every guarantee with the checkers' reports.
    pub fn judge(self, reports: &[Report]) -> Assessment {
        let guarantees = judge(reports, &self.guarantee_checks, &self.availability);
        Assessment {
            availability: self.availability,
            availability_expectations: self.availability_expectations,
            guarantee_checks: self.guarantee_checks,
            guarantees,
        }
    }
}

/// Judges every guarantee from the checkers' reports, the guarantee checks and availability.
pub fn judge(reports: &[Report], checks: &[Report], availability: &Availability) -> Vec<GuaranteeResult> {
    let all: Vec<&Report> = reports.iter().chain(checks).collect();
    GUARANTEES
        .iter()
        .map(|(id, _)| {
            let mut r = match *id {
                "linearizable" => linearizable(&all),
                "no-lost-writes" => no_lost_writes(&all),
                // Set and counter workloads write by `add`.
                "writes-available" => match available(availability, "write") {
                    w if w.status == Status::NotMeasured => {
                        let add = available(availability, "add");
                        if add.status == Status::NotMeasured { w } else { add }
                    }
                    w => w,
                },
                "reads-available" => available(availability, "read"),
                model => session(&all, model),
            };
            r.guarantee = id.to_string();
            r
        })
        .collect()
}

fn result(status: Status, evidence: impl Into<String>, source: &str) -> GuaranteeResult {
    GuaranteeResult {
        guarantee: String::new(),
        status,
        evidence: evidence.into(),
        source: source.to_string(),
    }
}

/// A model's verdict from a report's `details.models`, with the anomalies behind it.
fn model_verdict(report: &Report, model: &str) -> Option<(Verdict, String)> {
    let models = report.details.get("models")?.as_array()?;
    let m = models
        .iter()
        .find(|m| m.get("model").and_then(Value::as_str) == Some(model))?;
    let verdict: Verdict = serde_json::from_value(m.get("verdict")?.clone()).ok()?;
    let why: Vec<&str> = m
        .get("anomalies")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let evidence = if why.is_empty() {
        format!("{}: {model} {}", report.checker, verdict.name())
    } else {
        format!(
            "{}: {model} {} ({})",
            report.checker,
            verdict.name(),
            why.join(", ")
        )
    };
    Some((verdict, evidence))
}

fn linearizable(all: &[&Report]) -> GuaranteeResult {
    if let Some(r) = all.iter().find(|r| r.checker == "linearizability") {
        return result(Status::of(r.verdict), r.summary.clone(), &r.checker);
    }
    for r in all {
        if let Some((v, evidence)) = model_verdict(r, "strict-serializable") {
            return result(Status::of(v), evidence, &r.checker);
        }
    }
    result(
        Status::NotMeasured,
        "no linearizability or strict-serializability check",
        "",
    )
}

fn session(all: &[&Report], model: &str) -> GuaranteeResult {
    for r in all {
        if let Some((v, evidence)) = model_verdict(r, model) {
            return result(Status::of(v), evidence, &r.checker);
        }
    }
    result(Status::NotMeasured, format!("no check of {model}"), "")
}

/// Lost writes named on the failing keys of a linearizability report: (count, first text).
fn lost_write_causes(r: &Report) -> (u64, Option<String>) {
    let slug = CauseKind::LostWrite.slug();
    let mut n = 0;
    let mut first = None;
    for a in &r.anomalies {
        let cause = &a.details["cause"];
        n += cause["counts"][slug].as_u64().unwrap_or(0);
        if first.is_none() && cause["kind"] == slug {
            first = cause["text"].as_str().map(str::to_string);
        }
    }
    (n, first)
}

fn no_lost_writes(all: &[&Report]) -> GuaranteeResult {
    if let Some(r) = all
        .iter()
        .find(|r| matches!(r.checker.as_str(), "set-full" | "set"))
    {
        return lost_elements(r);
    }
    if let Some(r) = all.iter().find(|r| r.checker == "lost-appends") {
        let evidence = match r.anomalies.first() {
            Some(a) => format!("{}; {}", r.summary, a.steps.join(" ")),
            None => r.summary.clone(),
        };
        return result(Status::of(r.verdict), evidence, &r.checker);
    }
    if let Some(r) = all.iter().find(|r| r.checker == "linearizability") {
        let (lost, first) = lost_write_causes(r);
        // Only a linearizable history rules lost writes out: on a failing key, a lost write can
        // hide behind rewrites of the same values without forming the pattern that names it.
        return match (lost, r.verdict) {
            (n, _) if n > 0 => result(
                Status::Broken,
                format!("{n} lost write(s); {}", first.unwrap_or_default()),
                &r.checker,
            ),
            (_, Verdict::Valid) => result(Status::Kept, "the history is linearizable", &r.checker),
            (_, Verdict::Invalid) => result(
                Status::Unknown,
                "not linearizable, and no failing key shows the lost-write pattern; a lost write is not ruled out",
                &r.checker,
            ),
            (_, Verdict::Unknown) => result(
                Status::Unknown,
                "some keys were not decided, so lost writes cannot be ruled out",
                &r.checker,
            ),
        };
    }
    result(Status::NotMeasured, "no check of lost writes", "")
}

/// No lost writes from a set checker: broken by a lost element (an acknowledged add missing
/// from every read after it, or from the final read), kept when every key was read.
fn lost_elements(r: &Report) -> GuaranteeResult {
    let lost = r.stats.get("lost-count").and_then(Value::as_u64).unwrap_or(0);
    match (lost, r.verdict) {
        (n, _) if n > 0 => {
            let first = r
                .anomalies
                .iter()
                .find(|a| a.kind == faultline_checkers::plain::set::LOST)
                .map(|a| a.steps.join(" "))
                .unwrap_or_default();
            result(
                Status::Broken,
                format!("{n} acknowledged element(s) lost; {first}"),
                &r.checker,
            )
        }
        (_, Verdict::Unknown) => result(
            Status::Unknown,
            format!("{}; lost elements cannot be ruled out", r.summary),
            &r.checker,
        ),
        _ => result(
            Status::Kept,
            "every acknowledged element is in the reads that began after its add",
            &r.checker,
        ),
    }
}

fn available(a: &Availability, op: &str) -> GuaranteeResult {
    let source = "availability";
    if a.windows.is_empty() {
        return result(Status::NotMeasured, "no fault was injected", source);
    }
    let mut during = Outcomes::default();
    for w in &a.windows {
        if let Some(o) = w.ops.iter().find(|o| o.op == op) {
            during.add(&o.outcomes);
        }
    }
    let Some(rate) = during.ok_rate() else {
        return result(
            Status::NotMeasured,
            format!("no {op} was invoked during a fault"),
            source,
        );
    };
    let base = a.fault_free(op).and_then(|f| f.ok_rate);
    match base {
        Some(b) if b > 0.0 => {
            let status = if rate >= AVAILABLE_SHARE * b {
                Status::Kept
            } else {
                Status::Broken
            };
            result(
                status,
                format!(
                    "{} of {} {op}s invoked during faults succeeded ({:.0}%), against {:.0}% without faults",
                    during.ok,
                    during.total(),
                    rate * 100.0,
                    b * 100.0
                ),
                source,
            )
        }
        _ => result(
            Status::Unknown,
            format!("no {op} succeeded outside faults to compare with"),
            source,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::availability::{OpAvailability, WindowAvailability};
    use serde_json::json;

    fn status(results: &[GuaranteeResult], id: &str) -> Status {
        results.iter().find(|r| r.guarantee == id).unwrap().status
    }

    fn op(op: &str, ok: u64, info: u64) -> OpAvailability {
        let outcomes = Outcomes {
            ok,
            info,
            ..Default::default()
        };
        OpAvailability {
            op: op.into(),
            ok_rate: outcomes.ok_rate(),
            outcomes,
            ..Default::default()
        }
    }

    #[test]
    fn a_list_append_run_is_judged_by_its_models_and_lost_appends() {
        let mut txn = Report::new("list-append", "m", Verdict::Invalid, "s");
        txn.details = json!({"models": [
            {"model": "read-your-writes", "verdict": "valid", "anomalies": []},
            {"model": "monotonic-reads", "verdict": "invalid", "anomalies": ["monotonic-reads"]},
        ]});
        let lost = Report::new("lost-appends", "m", Verdict::Valid, "no acknowledged append lost");
        let a = Availability::default();
        let r = judge(&[txn], &[lost], &a);
        assert_eq!(status(&r, "read-your-writes"), Status::Kept);
        assert_eq!(status(&r, "monotonic-reads"), Status::Broken);
        assert_eq!(
            status(&r, "linearizable"),
            Status::NotMeasured,
            "strict-serializable was not judged"
        );
        assert_eq!(status(&r, "consistent-prefix"), Status::NotMeasured);
        assert_eq!(status(&r, "no-lost-writes"), Status::Kept);
        assert_eq!(status(&r, "writes-available"), Status::NotMeasured, "no faults");
    }

    #[test]
    fn lost_writes_come_from_the_causes_of_failing_keys() {
        let mut lin = Report::new(
            "linearizability",
            "cas-register",
            Verdict::Invalid,
            "not linearizable",
        );
        lin.details = json!({"unknown_keys": []});
        let mut a = faultline_checkers::report::Anomaly {
            kind: "nonlinearizable".into(),
            key: None,
            steps: vec![],
            events: vec![],
            details: json!({"cause": {"kind": "stale-read", "counts": {"stale-read": 2}}}),
        };
        lin.anomalies.push(a.clone());
        let none = Availability::default();
        let r = judge(std::slice::from_ref(&lin), &[], &none);
        assert_eq!(status(&r, "linearizable"), Status::Broken);
        assert_eq!(
            status(&r, "no-lost-writes"),
            Status::Unknown,
            "not linearizable: no lost-write pattern does not prove none was lost"
        );
        a.details =
            json!({"cause": {"kind": "lost-write", "text": "W was lost", "counts": {"lost-write": 1}}});
        lin.anomalies.push(a);
        let r = judge(std::slice::from_ref(&lin), &[], &none);
        let lost = r.iter().find(|g| g.guarantee == "no-lost-writes").unwrap();
        assert_eq!(lost.status, Status::Broken);
        assert!(lost.evidence.contains("W was lost"));
        lin.verdict = Verdict::Unknown;
        lin.details = json!({"unknown_keys": ["k9"]});
        lin.anomalies.clear();
        let r = judge(std::slice::from_ref(&lin), &[], &none);
        assert_eq!(status(&r, "no-lost-writes"), Status::Unknown);
        lin.verdict = Verdict::Invalid;
        lin.details = json!({"unknown_keys": [], "not_searched_keys": ["k9"]});
        let r = judge(std::slice::from_ref(&lin), &[], &none);
        assert_eq!(status(&r, "no-lost-writes"), Status::Unknown, "k9 may hide one");
        lin.verdict = Verdict::Valid;
        let r = judge(&[lin], &[], &none);
        assert_eq!(status(&r, "no-lost-writes"), Status::Kept);
    }

    #[test]
    fn availability_under_faults_against_the_fault_free_rate() {
        let a = Availability {
            fault_free: vec![op("write", 80, 20), op("read", 100, 0)],
            windows: vec![WindowAvailability {
                kind: "kill-follower".into(),
                ops: vec![op("write", 1, 19), op("read", 30, 10)],
                ..Default::default()
            }],
            ..Default::default()
        };
        let r = judge(&[], &[], &a);
        assert_eq!(status(&r, "writes-available"), Status::Broken, "5% against 80%");
        assert_eq!(status(&r, "reads-available"), Status::Kept, "75% against 100%");
    }

    #[test]
    fn a_set_run_is_judged_lost_by_its_lost_elements_and_adds_count_as_writes() {
        let mut set = Report::new("set-full", "set-full", Verdict::Invalid, "s");
        set.stats.insert("lost-count".into(), json!(2));
        let mut a = Availability::default();
        let mut w = WindowAvailability::default();
        w.ops.push(op("add", 0, 5));
        a.windows.push(w);
        let r = judge(&[set.clone()], &[], &a);
        assert_eq!(status(&r, "no-lost-writes"), Status::Broken);
        assert_eq!(status(&r, "linearizable"), Status::NotMeasured);
        assert_eq!(
            status(&r, "writes-available"),
            Status::Unknown,
            "judged from the adds (no fault-free adds to compare with)"
        );
        set.stats.insert("lost-count".into(), json!(0));
        assert_eq!(
            status(&judge(&[set.clone()], &[], &a), "no-lost-writes"),
            Status::Kept
        );
        set.verdict = Verdict::Unknown;
        assert_eq!(status(&judge(&[set], &[], &a), "no-lost-writes"), Status::Unknown);
        let counter = Report::new("counter", "counter", Verdict::Invalid, "s");
        assert_eq!(
            status(&judge(&[counter], &[], &a), "no-lost-writes"),
            Status::NotMeasured,
            "a counter read below its bounds may be stale, not lost"
        );
    }
}
