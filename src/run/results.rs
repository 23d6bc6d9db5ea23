//! What a run concluded: `results.json` in the run directory, the summary table printed at the
//! end, and the exit code. The expectation is met when the verdict is the expected one and every
//! availability expectation is met.

use super::guarantees::{Assessment, GuaranteeResult};
use super::nemesis_exec::{FaultWindow, NodeExit};
use super::recorder::OutcomeCounts;
use super::run_dir::RunDir;
use super::summary_tables;
use crate::exit;
use crate::report::anomalies::{anomaly_label, cause_name};
use crate::workload::availability::AvailabilityOutcome;
use crate::workload::{ExpectedVerdict, Workload};
use anyhow::Context;
use faultline_checkers::availability::Availability;
use faultline_checkers::report::{Report, Verdict};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// The contents of `results.json`.
#[derive(Debug, Serialize)]
pub struct RunResults {
    pub workload: String,
    pub workload_file: String,
    pub description: String,
    pub seed: u64,
    /// The command that reproduces this run.
    pub command: String,
    pub started_at: String,
    pub duration_s: f64,
    /// True when Ctrl-C (or SIGTERM) cut the run short.
    pub interrupted: bool,
    /// The built-in store's replication design, or the name of the real system tested.
    pub mode: String,
    pub nodes: usize,
    pub concurrency: usize,
    /// Invocations and completions recorded.
    pub ops: OpCounts,
    /// Events in the history file.
    pub events: u64,
    pub faults: Vec<FaultWindow>,
    /// Nodes that exited on their own, outside the nemesis (see `run::truth`).
    pub node_exits: Vec<NodeExit>,
    pub expected: String,
    pub because: String,
    pub verdict: Verdict,
    /// The verdict is the expected one.
    pub verdict_met: bool,
    /// The verdict is the expected one and every availability expectation is met.
    pub expectation_met: bool,
    pub exit_code: u8,
    pub checkers: Vec<Report>,
    /// Per fault window, fault kind and outside faults: outcomes per operation type.
    pub availability: Availability,
    /// Each `[[expect.availability]]` of the workload, and how the run fared.
    pub availability_expectations: Vec<AvailabilityOutcome>,
    /// What the run showed about each replication guarantee.
    pub guarantees: Vec<GuaranteeResult>,
    /// Checks run for the guarantees only; they do not change the verdict.
    pub guarantee_checks: Vec<Report>,
    /// With `--stop-on-violation`: the certain violation that ended the clients early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<super::violation_watch::EarlyStop>,
    /// With `--stop-on-violation`: how often the watch looked at the history and what it cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation_watch: Option<super::violation_watch::WatchStats>,
    /// Seconds from the end of the final reads to the verdict (nodes stopped, the history
    /// checked and the guarantees assessed; `results.json` and the report are written after).
    pub verdict_after_final_reads_s: f64,
}

/// Operation counts for results (read back leniently: every field optional).
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct OpCounts {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

impl RunResults {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        workload: &Workload,
        workload_file: &Path,
        command: String,
        started_at: String,
        duration: Duration,
        interrupted: bool,
        counts: OutcomeCounts,
        events: u64,
        faults: Vec<FaultWindow>,
        checkers: Vec<Report>,
        assessment: Assessment,
        check_expectation: bool,
    ) -> RunResults {
        let verdict = checkers.iter().fold(Verdict::Valid, |v, r| v.worst(r.verdict));
        let expected = workload.expect.verdict;
        let verdict_met = matches!(
            (expected, verdict),
            (ExpectedVerdict::Valid, Verdict::Valid) | (ExpectedVerdict::Invalid, Verdict::Invalid)
        );
        let expectation_met = verdict_met && assessment.availability_expectations.iter().all(|e| e.met);
        let exit_code = if check_expectation {
            if expectation_met {
                exit::VALID
            } else {
                exit::INVALID
            }
        } else {
            verdict.exit_code()
        };
        RunResults {
            workload: workload.name.clone(),
            workload_file: workload_file.display().to_string(),
            description: workload.description.clone(),
            seed: workload.run.seed.unwrap_or(0),
            command,
            started_at,
            duration_s: duration.as_secs_f64(),
            interrupted,
            mode: match workload.cluster.system {
                crate::systems::SystemKind::Faultline => format!("{:?}", workload.cluster.mode),
                other => other.name().to_string(),
            },
            nodes: workload.cluster.nodes,
            concurrency: workload.client.concurrency,
            ops: OpCounts {
                invoked: counts.invoked,
                ok: counts.ok,
                fail: counts.fail,
                info: counts.info,
            },
            events,
            faults,
            node_exits: Vec::new(),
            expected: match expected {
                ExpectedVerdict::Valid => "valid".into(),
                ExpectedVerdict::Invalid => "invalid".into(),
            },
            because: workload.expect.because.clone(),
            verdict,
            verdict_met,
            expectation_met,
            exit_code,
            checkers,
            availability: assessment.availability,
            availability_expectations: assessment.availability_expectations,
            guarantees: assessment.guarantees,
            guarantee_checks: assessment.guarantee_checks,
            early_stop: None,
            violation_watch: None,
            verdict_after_final_reads_s: 0.0,
        }
    }

    /// Writes `results.json`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self).context("serializing results")?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    /// The end-of-run summary: a table per checker, the first explanation, where to look.
    pub fn summary(&self, dir: &RunDir) -> String {
        #[derive(Tabled)]
        struct Row {
            checker: String,
            model: String,
            verdict: String,
            anomalies: String,
        }
        let rows: Vec<Row> = self
            .checkers
            .iter()
            .map(|r| Row {
                checker: r.checker.clone(),
                model: r.model.clone(),
                verdict: r.verdict.name().to_uppercase(),
                anomalies: anomaly_summary(r),
            })
            .collect();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n{} in {:.1}s{}: {} ops ({} ok, {} fail, {} info), {} fault{}",
            self.workload,
            self.duration_s,
            if self.interrupted { " (interrupted)" } else { "" },
            self.ops.invoked,
            self.ops.ok,
            self.ops.fail,
            self.ops.info,
            self.faults.len(),
            if self.faults.len() == 1 { "" } else { "s" }
        );
        let _ = writeln!(out, "{}", Table::new(rows).with(Style::sharp()));
        for r in self.checkers.iter().filter(|r| r.verdict == Verdict::Invalid) {
            if let Some(a) = r.anomalies.first() {
                let key = a.key.as_ref().map(|k| format!(" on key {k}")).unwrap_or_default();
                let _ = writeln!(out, "First {} anomaly: {}{key}", r.checker, anomaly_label(a));
                for (i, step) in a.steps.iter().enumerate() {
                    let _ = writeln!(out, "  {}. {step}", i + 1);
                }
            }
        }
        out.push_str(&summary_tables::availability_text(&self.availability));
        out.push_str(&summary_tables::guarantees_text(&self.guarantees));
        let _ = writeln!(
            out,
            "Verdict: {} (expected {}{}){}",
            self.verdict.name().to_uppercase(),
            self.expected,
            if self.because.is_empty() {
                String::new()
            } else {
                format!(": {}", self.because)
            },
            if self.verdict_met {
                ""
            } else {
                " — NOT AS EXPECTED"
            }
        );
        out.push_str(&summary_tables::expectations_text(
            &self.availability_expectations,
        ));
        if self.verdict_met && !self.expectation_met {
            let missed = self.availability_expectations.iter().filter(|e| !e.met).count();
            let _ = writeln!(
                out,
                "Expectation: NOT MET ({missed} availability expectation(s) missed)"
            );
        }
        let _ = writeln!(out, "Reproduce: {}", self.command);
        let _ = writeln!(out, "Results:   {}", dir.results().display());
        let _ = writeln!(out, "History:   {}", dir.history().display());
        if dir.report().is_file() {
            let _ = writeln!(out, "Report:    {}", dir.report().display());
        }
        out
    }
}

/// "nonlinearizable ×3 (lost write, stale read ×2)" style summary of a report's anomalies.
fn anomaly_summary(r: &Report) -> String {
    if r.anomalies.is_empty() {
        return if r.verdict == Verdict::Valid {
            "none".into()
        } else {
            r.summary.clone()
        };
    }
    let times = |name: &str, n: usize| {
        if n > 1 {
            format!("{name} ×{n}")
        } else {
            name.to_string()
        }
    };
    /// One anomaly kind: its name, how many, and the causes named with how many of each.
    struct Kind<'a> {
        name: &'a str,
        n: usize,
        causes: Vec<(&'a str, usize)>,
    }
    let mut kinds: Vec<Kind> = Vec::new();
    for a in &r.anomalies {
        let i = match kinds.iter().position(|k| k.name == a.kind) {
            Some(i) => i,
            None => {
                kinds.push(Kind {
                    name: &a.kind,
                    n: 0,
                    causes: Vec::new(),
                });
                kinds.len() - 1
            }
        };
        kinds[i].n += 1;
        if let Some(cause) = cause_name(a) {
            match kinds[i].causes.iter_mut().find(|(c, _)| *c == cause) {
                Some((_, n)) => *n += 1,
                None => kinds[i].causes.push((cause, 1)),
            }
        }
    }
    kinds
        .iter()
        .map(|k| {
            let mut text = times(k.name, k.n);
            if !k.causes.is_empty() {
                let list: Vec<String> = k.causes.iter().map(|(c, n)| times(c, *n)).collect();
                text.push_str(&format!(" ({})", list.join(", ")));
            }
            text
        })
        .collect::<Vec<_>>()
        .join(", ")
}
