//! `faultline report PATH`: (re)generates the report page of a run directory, or of a history
//! file alone (then there are no run facts; `--model` checks the history for the page). The end
//! of `faultline run` and `faultline serve` use the same [`write_run_report`] /
//! [`render_run_dir`].

use super::run_data::{RunFiles, RunSummary};
use super::run_page::{ReportInput, render_report};
use crate::check::{ModelArg, ModelOptions, registry};
use crate::check_txn::TxnArgs;
use crate::exit::BadInput;
use anyhow::Context;
use clap::Args;
use faultline_checkers::history::History;
use faultline_checkers::report::Report;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `faultline report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (e.g. histories/runs/latest) or a history file (JSON Lines, Jepsen EDN or log).
    pub path: PathBuf,
    /// Where to write the page (default: report.html in the run directory, or FILE.html beside
    /// a history file).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Check the history with this model for the page (a run directory's page otherwise shows
    /// the checkers of its results.json).
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// Give the checker at most this many seconds (its verdict is then unknown).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub timeout: Option<Duration>,
    /// Options of the transactional models (list-append, rw-register).
    #[command(flatten)]
    pub txn: TxnArgs,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("expected a positive number of seconds, found \"{s}\"")),
    }
}

/// Runs `faultline report`: writes the page and prints its path. Exit 0 once it is written.
pub fn run(args: ReportArgs) -> anyhow::Result<u8> {
    let (html, default_out) = if args.path.is_dir() {
        let files = RunFiles {
            root: args.path.clone(),
        };
        let extra = match args.model {
            Some(model) => Some(check(&load_history(&files.history())?, model, &args)?),
            None => None,
        };
        (render_run_dir(&args.path, extra)?, files.report())
    } else if args.path.is_file() {
        let history = load_history(&args.path)?;
        let reports: Vec<Report> = match args.model {
            Some(model) => vec![check(&history, model, &args)?],
            None => Vec::new(),
        };
        let title = format!("faultline report: {}", args.path.display());
        let input = ReportInput {
            title,
            run: None,
            reports: &reports,
            history: &history,
            files: Vec::new(),
        };
        let mut out = args.path.clone().into_os_string();
        out.push(".html");
        (render_report(&input)?, PathBuf::from(out))
    } else {
        return Err(BadInput(format!(
            "{}: no such run directory or history file",
            args.path.display()
        ))
        .into());
    };
    let out = args.out.unwrap_or(default_out);
    std::fs::write(&out, html)
        .map_err(|e| BadInput(format!("{}: cannot write the report: {e}", out.display())))?;
    println!("{}", out.display());
    Ok(crate::exit::VALID)
}

fn load_history(path: &Path) -> anyhow::Result<History> {
    History::load(path, None).with_context(|| format!("reading the history {}", path.display()))
}

/// Checks a history with the model given on the command line.
fn check(history: &History, model: ModelArg, args: &ReportArgs) -> anyhow::Result<Report> {
    let mut opts = ModelOptions::new();
    // The page has no time budget unless one is given.
    opts.linear.timeout = args.timeout;
    opts.txn = args.txn.clone();
    Ok(registry::report(history, model, &opts)?)
}

/// Renders the page of a run directory: its results (if any) and history. `extra`, when given,
/// replaces the checkers of results.json.
pub fn render_run_dir(root: &Path, extra: Option<Report>) -> anyhow::Result<String> {
    let files = RunFiles {
        root: root.to_path_buf(),
    };
    let summary = if files.results().is_file() {
        Some(RunSummary::load(&files.results())?)
    } else {
        None
    };
    let history = load_history(&files.history())?;
    let name = root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| root.display().to_string());
    let title = match &summary {
        Some(s) if !s.workload.is_empty() => format!("faultline run: {}", s.workload),
        Some(_) => format!("faultline run {name}"),
        None => format!("faultline run {name} (no results.json: the run did not finish)"),
    };
    let reports: Vec<Report> = match extra {
        Some(r) => vec![r],
        None => summary.as_ref().map(|s| s.checkers.clone()).unwrap_or_default(),
    };
    let input = ReportInput {
        title,
        run: summary.as_ref(),
        reports: &reports,
        history: &history,
        files: files.raw_links(),
    };
    render_report(&input)
}

/// Writes `report.html` into a run directory; returns its path.
pub fn write_run_report(root: &Path) -> anyhow::Result<PathBuf> {
    let html = render_run_dir(root, None)?;
    let path = root.join("report.html");
    std::fs::write(&path, html).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}
