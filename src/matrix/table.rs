//! The replication guarantee table as measured: each run's record (from its `results.json`),
//! and per workload (a configuration) and guarantee, how many runs kept or broke it, with the
//! run that shows it. Also `matrix.json` and the terminal rendering.

use crate::report::run_data::RunSummary;
use crate::run::guarantees::{GUARANTEES, GuaranteeResult, Status};
use faultline_checkers::report::Verdict;
use serde::Serialize;
use std::fmt::Write as _;
use tabled::settings::Style;
use tabled::{Table, Tabled};

/// One run of one workload, as the matrix saw it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunRecord {
    pub workload: String,
    /// The workload file.
    pub file: String,
    /// 1-based run number within the workload.
    pub run: usize,
    pub seed: u64,
    /// The exit code of `faultline run --check-expectation` (None if it died of a signal).
    pub exit_code: Option<i32>,
    /// The run directory and its report, relative to the matrix directory.
    pub dir: Option<String>,
    pub report: Option<String>,
    /// The run's terminal output, relative to the matrix directory.
    pub log: String,
    pub verdict: Option<Verdict>,
    pub expected: String,
    pub expectation_met: bool,
    /// What was not as expected, in words.
    pub missed: Vec<String>,
    pub duration_s: f64,
    pub guarantees: Vec<GuaranteeResult>,
    /// Why the run has no results, when it has none.
    pub error: Option<String>,
    /// Ctrl-C cut the run short: it is listed, but counts in no cell and no expectation.
    pub interrupted: bool,
}

impl RunRecord {
    /// Fills in what the run's `results.json` says.
    pub fn read_results(&mut self, results: &RunSummary) {
        self.verdict = results.verdict;
        self.expected = results.expected.clone();
        self.expectation_met = results.expectation_met == Some(true);
        self.duration_s = results.duration_s;
        self.guarantees = results.guarantees.clone();
        self.interrupted = results.interrupted;
        self.missed.clear();
        if results.verdict_met == Some(false) {
            self.missed.push(format!(
                "verdict {}, expected {}",
                results.verdict.map_or("none", Verdict::name),
                results.expected
            ));
        }
        for e in results.availability_expectations.iter().filter(|e| !e.met) {
            self.missed.push(format!("{}: {}", e.expectation, e.detail));
        }
        if !self.expectation_met && self.missed.is_empty() {
            self.missed.push("the run's expectation was not met".into());
        }
    }

    /// A link to the run's report (at `anchor`), or its log when it has no report.
    fn link(&self, anchor: &str) -> String {
        match &self.report {
            Some(r) => format!("{r}#{anchor}"),
            None => self.log.clone(),
        }
    }

    /// True when the run completed and its expectation (verdict and availability) was not met,
    /// or it completed without results.
    pub fn missed_expectation(&self) -> bool {
        !self.interrupted && !self.expectation_met
    }

    /// The outcome in a few words: `INVALID, as expected` / `VALID — NOT AS EXPECTED`.
    pub fn outcome(&self) -> String {
        match (&self.error, self.verdict) {
            (_, Some(v)) if self.interrupted => {
                format!("interrupted, {} so far (not counted)", v.name().to_uppercase())
            }
            (_, None) if self.interrupted => "interrupted (not counted)".to_string(),
            (Some(e), _) => format!("no result: {e}"),
            (None, Some(v)) if self.expectation_met => format!("{}, as expected", v.name().to_uppercase()),
            (None, Some(v)) => format!(
                "{} — NOT AS EXPECTED ({})",
                v.name().to_uppercase(),
                self.missed.join("; ")
            ),
            (None, None) => "no verdict".to_string(),
        }
    }
}

/// One guarantee over the runs of one workload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cell {
    pub kept: usize,
    pub broken: usize,
    pub unknown: usize,
    pub not_measured: usize,
    /// Runs with results.
    pub runs: usize,
    /// The run that shows it (the first that broke it, else the first undecided, else the
    /// first that kept it), and a link to its evidence, relative to the matrix directory.
    pub evidence_run: Option<usize>,
    pub evidence: Option<String>,
}

impl Cell {
    /// `kept 3/3`, `broken 2/3`, `unknown 1/3`, `not measured 3/3`, with the other runs in
    /// brackets: `broken 1/3 (kept 1, not measured 1)`. A run that did not measure a guarantee
    /// never counts as keeping it.
    pub fn text(&self) -> String {
        let n = self.runs;
        if n == 0 {
            return "no complete run".to_string();
        }
        let counts = [
            (self.broken, "broken"),
            (self.unknown, "unknown"),
            (self.kept, "kept"),
            (self.not_measured, "not measured"),
        ];
        let main = self.status().word();
        let Some(&(count, _)) = counts.iter().find(|(_, w)| *w == main) else {
            return String::new();
        };
        let others: Vec<String> = counts
            .iter()
            .filter(|(c, w)| *c > 0 && *w != main)
            .map(|(c, w)| format!("{w} {c}"))
            .collect();
        if others.is_empty() {
            format!("{main} {count}/{n}")
        } else {
            format!("{main} {count}/{n} ({})", others.join(", "))
        }
    }

    /// The cell's overall status.
    pub fn status(&self) -> Status {
        if self.broken > 0 {
            Status::Broken
        } else if self.unknown > 0 {
            Status::Unknown
        } else if self.kept > 0 {
            Status::Kept
        } else {
            Status::NotMeasured
        }
    }
}

/// One configuration's row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub workload: String,
    pub file: String,
    pub description: String,
    pub runs: usize,
    /// Runs whose expectation (verdict and availability) was met.
    pub expectation_met: usize,
    /// The first run that missed its expectation, and a link to it.
    pub missed_run: Option<usize>,
    pub missed_evidence: Option<String>,
    /// One cell per guarantee, in [`GUARANTEES`] order, with its id.
    pub cells: Vec<(String, Cell)>,
}

impl Row {
    /// Aggregates the runs of one workload.
    pub fn new(workload: &str, file: &str, description: &str, runs: &[&RunRecord]) -> Row {
        let cells = GUARANTEES
            .iter()
            .map(|(id, _)| {
                let mut cell = Cell::default();
                let mut best: Option<(u8, &RunRecord)> = None;
                for r in runs.iter().filter(|r| r.error.is_none() && !r.interrupted) {
                    cell.runs += 1;
                    let status = r
                        .guarantees
                        .iter()
                        .find(|g| g.guarantee == *id)
                        .map_or(Status::NotMeasured, |g| g.status);
                    let rank = match status {
                        Status::Broken => {
                            cell.broken += 1;
                            3
                        }
                        Status::Unknown => {
                            cell.unknown += 1;
                            2
                        }
                        Status::Kept => {
                            cell.kept += 1;
                            1
                        }
                        Status::NotMeasured => {
                            cell.not_measured += 1;
                            0
                        }
                    };
                    if rank > 0 && best.is_none_or(|(b, _)| rank > b) {
                        best = Some((rank, r));
                    }
                }
                if let Some((_, r)) = best {
                    cell.evidence_run = Some(r.run);
                    cell.evidence = Some(r.link(&format!("guarantee-{id}")));
                }
                (id.to_string(), cell)
            })
            .collect();
        let counted: Vec<&&RunRecord> = runs.iter().filter(|r| !r.interrupted).collect();
        let missed = counted.iter().find(|r| r.missed_expectation());
        Row {
            workload: workload.to_string(),
            file: file.to_string(),
            description: description.to_string(),
            runs: counted.len(),
            expectation_met: counted.iter().filter(|r| r.expectation_met).count(),
            missed_run: missed.map(|r| r.run),
            missed_evidence: missed.map(|r| r.link("verdict")),
            cells,
        }
    }

    /// `met 3/3` or `MISSED 1/3`.
    pub fn expectation_text(&self) -> String {
        let missed = self.runs - self.expectation_met;
        if self.runs == 0 {
            "no complete run".to_string()
        } else if missed == 0 {
            format!("met {}/{}", self.expectation_met, self.runs)
        } else {
            format!("MISSED {missed}/{}", self.runs)
        }
    }
}

/// A whole matrix: `matrix.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub started_at: String,
    pub wall_time_s: f64,
    pub runs_per_workload: usize,
    /// The `faultline run` flags passed to every run.
    pub run_flags: Vec<String>,
    /// True when Ctrl-C stopped the matrix before every run was made.
    pub interrupted: bool,
    /// Every run's expectation was met.
    pub all_expectations_met: bool,
    pub exit_code: u8,
    pub rows: Vec<Row>,
    pub runs: Vec<RunRecord>,
}

/// Short column titles for the terminal.
fn short_title(id: &str) -> &'static str {
    match id {
        "linearizable" => "linearizable",
        "read-your-writes" => "read-your-writes",
        "monotonic-reads" => "monotonic reads",
        "consistent-prefix" => "consistent prefix",
        "no-lost-writes" => "no lost writes",
        "writes-available" => "writes available",
        "reads-available" => "reads available",
        _ => "?",
    }
}

impl Matrix {
    /// The table for a terminal, then the evidence of every broken guarantee and missed
    /// expectation (paths relative to `dir`, which is printed as given).
    pub fn text(&self, dir: &str) -> String {
        let mut builder = tabled::builder::Builder::default();
        let mut header = vec!["configuration".to_string(), "expectation".to_string()];
        header.extend(GUARANTEES.iter().map(|(id, _)| short_title(id).to_string()));
        builder.push_record(header);
        let mut notes: Vec<String> = Vec::new();
        for row in &self.rows {
            let mut record = vec![row.workload.clone(), row.expectation_text()];
            if let (Some(run), Some(link)) = (row.missed_run, &row.missed_evidence) {
                notes.push(format!(
                    "[{}] {}: expectation missed in run {run}: {dir}/{link}",
                    notes.len() + 1,
                    row.workload
                ));
                record[1].push_str(&format!(" [{}]", notes.len()));
            }
            for (id, cell) in &row.cells {
                let mut text = cell.text();
                if cell.broken > 0
                    && let (Some(run), Some(link)) = (cell.evidence_run, &cell.evidence)
                {
                    notes.push(format!(
                        "[{}] {}: {} broken in run {run}: {dir}/{link}",
                        notes.len() + 1,
                        row.workload,
                        short_title(id)
                    ));
                    text.push_str(&format!(" [{}]", notes.len()));
                }
                record.push(text);
            }
            builder.push_record(record);
        }
        let mut out = format!("{}\n", builder.build().with(Style::sharp()));
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
        out
    }

    /// One line per run with its evidence (its report, else its output; under `dir`).
    pub fn runs_text(&self, dir: &str) -> String {
        #[derive(Tabled)]
        struct Line {
            workload: String,
            run: usize,
            seed: u64,
            outcome: String,
            seconds: String,
            evidence: String,
        }
        let lines: Vec<Line> = self
            .runs
            .iter()
            .map(|r| Line {
                workload: r.workload.clone(),
                run: r.run,
                seed: r.seed,
                outcome: r.outcome(),
                seconds: format!("{:.1}", r.duration_s),
                evidence: format!("{dir}/{}", r.report.as_ref().unwrap_or(&r.log)),
            })
            .collect();
        format!("{}\n", Table::new(lines).with(Style::sharp()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(run: usize, statuses: &[(&str, Status)], met: bool) -> RunRecord {
        RunRecord {
            workload: "w".into(),
            run,
            report: Some(format!("runs/r{run}/report.html")),
            expectation_met: met,
            guarantees: statuses
                .iter()
                .map(|(id, s)| GuaranteeResult {
                    guarantee: id.to_string(),
                    status: *s,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn cells_count_runs_and_point_at_the_run_that_broke_it() {
        let a = record(
            1,
            &[("linearizable", Status::Kept), ("read-your-writes", Status::Kept)],
            true,
        );
        let b = record(2, &[("linearizable", Status::Broken)], false);
        let row = Row::new("w", "w.toml", "", &[&a, &b]);
        let cell = |id: &str| &row.cells.iter().find(|(i, _)| i == id).unwrap().1;
        assert_eq!(cell("linearizable").text(), "broken 1/2 (kept 1)");
        assert_eq!(
            cell("linearizable").evidence.as_deref(),
            Some("runs/r2/report.html#guarantee-linearizable")
        );
        assert_eq!(cell("read-your-writes").text(), "kept 1/2 (not measured 1)");
        assert_eq!(cell("consistent-prefix").text(), "not measured 2/2");
        assert_eq!(cell("consistent-prefix").status(), Status::NotMeasured);
        assert_eq!(row.expectation_text(), "MISSED 1/2");
        assert_eq!(row.missed_run, Some(2));
        let m = Matrix {
            started_at: String::new(),
            wall_time_s: 0.0,
            runs_per_workload: 2,
            run_flags: Vec::new(),
            interrupted: false,
            all_expectations_met: false,
            exit_code: 1,
            rows: vec![row],
            runs: vec![a, b],
        };
        let text = m.text("out");
        assert!(text.contains("broken 1/2 (kept 1) [2]"), "{text}");
        assert!(
            text.contains("[1] w: expectation missed in run 2: out/runs/r2/report.html#verdict"),
            "{text}"
        );
        assert!(
            text.contains(
                "[2] w: linearizable broken in run 2: out/runs/r2/report.html#guarantee-linearizable"
            )
        );
    }
}
