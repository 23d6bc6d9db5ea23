//! What a run concluded: `results.json` in the run directory, the summary table printed at the
//! end, and the exit code.

use super::nemesis_exec::{FaultWindow, NodeExit};
use super::recorder::OutcomeCounts;
use super::run_dir::RunDir;
use crate::exit;
use crate::workload::{ExpectedVerdict, Workload};
use anyhow::Context;
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
    pub expectation_met: bool,
    pub exit_code: u8,
    pub checkers: Vec<Report>,
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
        check_expectation: bool,
    ) -> RunResults {
        let verdict = checkers.iter().fold(Verdict::Valid, |v, r| v.worst(r.verdict));
        let expected = workload.expect.verdict;
        let expectation_met = matches!(
            (expected, verdict),
            (ExpectedVerdict::Valid, Verdict::Valid) | (ExpectedVerdict::Invalid, Verdict::Invalid)
        );
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
            mode: format!("{:?}", workload.cluster.mode),
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
            expectation_met,
            exit_code,
            checkers,
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
                let _ = writeln!(out, "First {} anomaly: {}{key}", r.checker, a.kind);
                for (i, step) in a.steps.iter().enumerate() {
                    let _ = writeln!(out, "  {}. {step}", i + 1);
                }
            }
        }
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
            if self.expectation_met {
                ""
            } else {
                " — NOT AS EXPECTED"
            }
        );
        let _ = writeln!(out, "Reproduce: {}", self.command);
        let _ = writeln!(out, "Results:   {}", dir.results().display());
        let _ = writeln!(out, "History:   {}", dir.history().display());
        if dir.report().is_file() {
            let _ = writeln!(out, "Report:    {}", dir.report().display());
        }
        out
    }
}

/// "nonlinearizable ×2 (keys 3, 4)" style summary of a report's anomalies.
fn anomaly_summary(r: &Report) -> String {
    if r.anomalies.is_empty() {
        return if r.verdict == Verdict::Valid {
            "none".into()
        } else {
            r.summary.clone()
        };
    }
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for a in &r.anomalies {
        match kinds.iter_mut().find(|(k, _)| *k == a.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((a.kind.clone(), 1)),
        }
    }
    kinds
        .iter()
        .map(|(k, n)| if *n > 1 { format!("{k} ×{n}") } else { k.clone() })
        .collect::<Vec<_>>()
        .join(", ")
}
