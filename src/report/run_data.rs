//! What a report is made from: a run directory (`results.json`, `history.jsonl`, the workload,
//! node logs) or a history file alone. `results.json` is read leniently (every field optional)
//! so reports of older or hand-edited runs still render; a malformed file is bad input.

use crate::exit::BadInput;
use crate::run::guarantees::GuaranteeResult;
use crate::run::nemesis_exec::FaultWindow;
use crate::run::results::OpCounts;
use crate::workload::availability::AvailabilityOutcome;
use anyhow::Context;
use faultline_checkers::availability::Availability;
use faultline_checkers::report::{Report, Verdict};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// `results.json`, as `faultline run` writes it (see `run::results::RunResults`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunSummary {
    pub workload: String,
    pub workload_file: String,
    pub description: String,
    pub seed: Option<u64>,
    pub command: String,
    pub started_at: String,
    pub duration_s: f64,
    pub interrupted: bool,
    pub mode: String,
    pub nodes: usize,
    pub concurrency: usize,
    pub ops: OpCounts,
    pub events: u64,
    pub faults: Vec<FaultWindow>,
    pub expected: String,
    pub because: String,
    pub verdict: Option<Verdict>,
    pub verdict_met: Option<bool>,
    pub expectation_met: Option<bool>,
    pub exit_code: Option<u8>,
    pub checkers: Vec<Report>,
    pub availability: Option<Availability>,
    pub availability_expectations: Vec<AvailabilityOutcome>,
    pub guarantees: Vec<GuaranteeResult>,
    pub guarantee_checks: Vec<Report>,
}

impl FaultWindow {
    /// "partition-leader n1 (4.00–6.00 s)".
    pub fn describe(&self) -> String {
        let node = self
            .detail
            .get("node")
            .and_then(Value::as_str)
            .map(|n| format!(" {n}"))
            .unwrap_or_default();
        let end = self.end_s.map_or("end".to_string(), |e| format!("{e:.2} s"));
        format!("{}{node} ({:.2}–{end})", self.kind, self.start_s)
    }
}

impl RunSummary {
    /// Reads `results.json`.
    pub fn load(path: &Path) -> anyhow::Result<RunSummary> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            BadInput(format!(
                "{}: line {}: not a faultline results file: {e}",
                path.display(),
                e.line()
            ))
            .into()
        })
    }
}

/// The files of a run directory, by the names `faultline run` gives them.
#[derive(Debug, Clone)]
pub struct RunFiles {
    /// The run directory.
    pub root: PathBuf,
}

impl RunFiles {
    pub fn history(&self) -> PathBuf {
        self.root.join("history.jsonl")
    }
    pub fn results(&self) -> PathBuf {
        self.root.join("results.json")
    }
    pub fn report(&self) -> PathBuf {
        self.root.join("report.html")
    }

    /// Links to the raw files present, relative to the run directory (label, path).
    pub fn raw_links(&self) -> Vec<(String, String)> {
        let mut links = Vec::new();
        for name in ["history.jsonl", "results.json", "workload.toml", "seed"] {
            if self.root.join(name).is_file() {
                links.push((name.to_string(), name.to_string()));
            }
        }
        let mut logs: Vec<String> = std::fs::read_dir(self.root.join("nodes"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.ends_with(".log"))
            .collect();
        logs.sort();
        links.extend(logs.into_iter().map(|n| (n.clone(), format!("nodes/{n}"))));
        links
    }
}
