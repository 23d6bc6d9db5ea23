//! `faultline check FILE...`: load saved histories, check them, explain any violation.
//!
//! Each file is loaded (format detected or given), checked against the chosen model, and
//! reported as one line plus the explanation of any failure (or as JSON with `--json`).
//! Files are checked in parallel; output stays in the order given. The exit code is the worst
//! over all files: 0 valid, 1 invalid, 2 unknown, 254 bad input, 255 internal error.
//!
//! Models are declared once in [`registry`] (name, description, flags, check function);
//! `faultline report` and `faultline run` use the same registry.

mod flags;
mod infer;
mod linear;
mod objects;
mod output;
mod progress;
pub mod registry;

pub use registry::{ModelArg, ModelOptions};

use crate::exit;
use crate::report::timeline_html::{Page, Section, render_page};
use clap::Args;
use faultline_checkers::history::{Format, History, HistoryError, RawValues};
use faultline_checkers::linear::{FailedCas, KeyProgress};
use faultline_checkers::report::Report;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Arguments of `faultline check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// History files to check (native JSON Lines, Jepsen history.edn, Jepsen log lines, or
    /// elle-cli JSON).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The model to check against. When omitted, it is inferred from each history's operations
    /// (and said); a history that fits no model, or several, is an error naming the choices.
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// The history format; detected from the content when omitted.
    #[arg(long, value_name = "jsonl|edn|jepsen-log|elle-json", value_parser = parse_format)]
    pub format: Option<Format>,
    /// The value every key holds before any write, as JSON (default null: never written).
    /// register, cas-register and rw-register (a read of it needs no writer; a write of it is
    /// refused); any flag that does not apply to the model is an error.
    #[arg(long, value_name = "VALUE", value_parser = parse_json, default_value = "null")]
    pub initial: Value,
    /// Give up on a file after this many seconds: the keys not decided by then are unknown
    /// (exit 2). 0: no limit.
    #[arg(long, value_name = "SECS", value_parser = parse_timeout,
          default_value_t = TimeBound(Some(faultline_checkers::linear::DEFAULT_TIMEOUT)))]
    pub timeout: TimeBound,
    /// Decide every key. By default the check stops at the first key that fails (that decides
    /// the verdict) and reports the keys it did not search.
    #[arg(long)]
    pub all_keys: bool,
    /// Give up on a key (unknown, exit 2) when its search would need more memory than this.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    pub memory_budget: usize,
    /// A failed cas is dropped (did not happen), or checked as a read that saw another value.
    #[arg(long, value_name = "drop|read", value_parser = parse_failed_cas, default_value = "drop")]
    pub failed_cas: FailedCas,
    /// Values are Jepsen `jepsen.independent` tuples `[key value]`: check each key on its own.
    #[arg(long)]
    pub independent: bool,
    /// Print machine-readable results (JSON) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML timeline of the failing keys to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Options of the transactional models (list-append, rw-register).
    #[command(flatten)]
    pub txn: crate::check_txn::TxnArgs,
    /// bank: balances may go below zero (by default a negative balance is an anomaly).
    #[arg(long)]
    pub negative_balances: bool,
    /// bank: the total every read must show (default: the first read's total).
    #[arg(long, value_name = "N", value_parser = parse_total)]
    pub total: Option<i128>,
    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, hide = true)]
    pub threads: usize,
}

/// A time budget: `None` for no limit (`--timeout 0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeBound(pub Option<Duration>);

impl std::fmt::Display for TimeBound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.map_or(0.0, |d| d.as_secs_f64()))
    }
}

/// What checking one history produced: the report, and sections for the HTML page.
pub struct Checked {
    /// The checker's report.
    pub report: Report,
    /// Evidence to draw (one section per failing key, at most a few).
    pub sections: Vec<Section>,
}

/// Checks one loaded history with the chosen model. `threads` is the parallelism the checker
/// may use; `progress` reports its units of work (keys) as they start and finish.
pub fn check_history(
    history: &History,
    model: ModelArg,
    args: &CheckArgs,
    threads: usize,
    progress: &(dyn Fn(&KeyProgress<'_>) + Sync),
) -> Result<Checked, HistoryError> {
    let options = ModelOptions {
        linear: faultline_checkers::linear::LinearOptions {
            initial: args.initial.clone(),
            failed_cas: args.failed_cas,
            independent: args.independent,
            timeout: args.timeout.0,
            all_keys: args.all_keys,
            max_search_memory: args.memory_budget.saturating_mul(1 << 20),
            threads,
            ..Default::default()
        },
        txn: txn_args(args),
        bank: faultline_checkers::plain::bank::BankOptions {
            total: args.total,
            negative_balances: args.negative_balances,
        },
        progress,
    };
    registry::check(history, model, &options)
}

/// The options of the transactional checker, `--initial` included.
fn txn_args(args: &CheckArgs) -> crate::check_txn::TxnArgs {
    crate::check_txn::TxnArgs {
        initial: Some(args.initial.clone()).filter(|v| !v.is_null()),
        independent: args.independent,
        ..args.txn.clone()
    }
}

/// The transactional model `--model` names, if it names one: its histories load lean (their
/// transactions' values stay as text, read straight into the checker's compact form).
fn lean_txn_model(args: &CheckArgs) -> Option<crate::check_txn::TxnModel> {
    args.model
        .and_then(|m| crate::check_txn::TxnModel::from_model_name(registry::def(m).name))
}

/// Checks a history loaded lean ([`History::load_lean`]) with a transactional model.
fn check_lean(
    history: &History,
    raw: RawValues,
    model: crate::check_txn::TxnModel,
    args: &CheckArgs,
    progress: &(dyn Fn(&KeyProgress<'_>) + Sync),
) -> Result<Checked, HistoryError> {
    let report = crate::check_txn::check_history_lean(history, raw, model, &txn_args(args))?;
    progress(&KeyProgress {
        done: 1,
        total: 1,
        searching: &[],
    });
    Ok(Checked {
        report,
        sections: Vec::new(),
    })
}

/// The result for one file.
pub(crate) struct FileResult {
    /// The file, as given.
    pub file: PathBuf,
    /// What checking it gave, or why it could not be read.
    pub outcome: Result<FileChecked, HistoryError>,
}

/// A file that loaded and was checked.
pub(crate) struct FileChecked {
    /// Events in the history.
    pub events: usize,
    /// Lines of a Jepsen log that were other loggers' output, not operations.
    pub skipped_lines: usize,
    /// What the reader assumed (printed as warnings).
    pub warnings: Vec<String>,
    /// The history had no invocations (no real-time or process order was inferred).
    pub completion_only: bool,
    /// The model the history was checked against.
    pub model: ModelArg,
    /// Why that model, when it was inferred (no `--model`).
    pub inferred: Option<&'static str>,
    /// The checker's result.
    pub checked: Checked,
    /// Time to read, parse and pair the history.
    pub load_time: Duration,
    /// Time to check it.
    pub check_time: Duration,
}

impl FileResult {
    /// This file's exit code: its verdict's, or 254 for bad input.
    pub fn exit_code(&self) -> u8 {
        match &self.outcome {
            Ok(c) => c.checked.report.verdict.exit_code(),
            Err(_) => exit::BAD_INPUT,
        }
    }
}

/// Runs the check command; returns the worst exit code over all files.
pub fn run(args: CheckArgs) -> anyhow::Result<u8> {
    if let Some(model) = args.model {
        let unused = flags::inapplicable(&args, model);
        if !unused.is_empty() {
            return Err(exit::BadInput(flags::error(model, &unused)).into());
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cores = if args.threads > 0 { args.threads } else { cores };
    let workers = cores.min(args.files.len()).max(1);
    let per_file_threads = (cores / workers).max(1);
    let bar = progress::Progress::start(&args.files);
    let mut code = exit::VALID;
    let mut results: Vec<Option<FileResult>> = args.files.iter().map(|_| None).collect();
    if workers == 1 {
        // One worker: stay on the main thread (its allocator arena is the fastest for the
        // millions of small allocations of a large history).
        for (i, file) in args.files.iter().enumerate() {
            let result = check_file(file, &args, per_file_threads, &bar);
            bar.file_done();
            if !args.json {
                bar.suspend(|| output::print_text(&result));
            }
            code = exit::worst(code, result.exit_code());
            results[i] = Some(result);
        }
    } else {
        run_parallel(&args, workers, per_file_threads, &bar, &mut results, &mut code);
    }
    bar.finish();
    let results: Vec<FileResult> = results.into_iter().flatten().collect();
    if let Some(path) = &args.html {
        let page = html_page(&results);
        // A path that cannot be written is a bad argument (exit 254), not an internal error.
        std::fs::write(path, render_page(&page)).map_err(|e| {
            exit::BadInput(format!(
                "cannot write the HTML timeline to {}: {e}",
                path.display()
            ))
        })?;
        eprintln!("faultline: wrote the timeline to {}", path.display());
    }
    if args.json {
        output::print_json(&results, code)?;
    }
    Ok(code)
}

/// Checks files on `workers` threads, printing results in the order given as they are ready.
fn run_parallel(
    args: &CheckArgs,
    workers: usize,
    per_file_threads: usize,
    bar: &progress::Progress,
    results: &mut [Option<FileResult>],
    code: &mut u8,
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, FileResult)>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = args.files.get(i) else { break };
                    let result = check_file(file, args, per_file_threads, bar);
                    bar.file_done();
                    if tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut printed = 0;
        for (i, result) in rx {
            results[i] = Some(result);
            while let Some(Some(r)) = results.get(printed) {
                if !args.json {
                    bar.suspend(|| output::print_text(r));
                }
                *code = exit::worst(*code, r.exit_code());
                printed += 1;
            }
        }
    });
}

fn check_file(
    file: &std::path::Path,
    args: &CheckArgs,
    threads: usize,
    bar: &progress::Progress,
) -> FileResult {
    let started = Instant::now();
    bar.loading(file);
    let lean = lean_txn_model(args);
    let loaded = match lean {
        Some(_) => History::load_lean(file, args.format),
        None => History::load(file, args.format).map(|h| (h, RawValues::default())),
    };
    let outcome = loaded.and_then(|(history, raw)| {
        let load_time = started.elapsed();
        bar.checking(file);
        let checking = Instant::now();
        let (model, inferred) = choose_model(&history, args)?;
        let checked = match lean {
            Some(txn) => check_lean(&history, raw, txn, args, &|p| bar.keys(p))?,
            None => check_history(&history, model, args, threads, &|p| bar.keys(p))?,
        };
        let events = history.events.len();
        let skipped_lines = history.skipped_lines;
        let warnings = history.warnings.clone();
        let completion_only = history.completion_only;
        if args.files.len() == 1 {
            // The process exits right after; freeing millions of events would only add time.
            std::mem::forget(history);
        }
        Ok(FileChecked {
            events,
            skipped_lines,
            warnings,
            completion_only,
            model,
            inferred,
            checked,
            load_time,
            check_time: checking.elapsed(),
        })
    });
    FileResult {
        file: file.to_path_buf(),
        outcome,
    }
}

/// The model to check `history` against: `--model`, or the one inferred from it (and why);
/// with an inferred model, a flag that does not apply to it is an error about this file.
fn choose_model(
    history: &History,
    args: &CheckArgs,
) -> Result<(ModelArg, Option<&'static str>), HistoryError> {
    if let Some(model) = args.model {
        return Ok((model, None));
    }
    let inferred = infer::infer_model(history).map_err(|m| HistoryError::whole(&history.source, m))?;
    let unused = flags::inapplicable(args, inferred.model);
    if !unused.is_empty() {
        return Err(HistoryError::whole(
            &history.source,
            format!(
                "{} (the model inferred from the history: {}; pass --model to choose another)",
                flags::error(inferred.model, &unused),
                inferred.because
            ),
        ));
    }
    Ok((inferred.model, Some(inferred.because)))
}

/// The name `--model` gives a model.
pub(crate) fn model_name(model: ModelArg) -> String {
    registry::def(model).name.to_string()
}

/// At most this many failing keys are drawn per page.
const MAX_SECTIONS: usize = 20;

fn html_page(results: &[FileResult]) -> Page {
    let mut page = Page {
        title: "faultline check".to_string(),
        ..Page::default()
    };
    for r in results {
        let line = match &r.outcome {
            Ok(c) => format!(
                "{}: {} — {}",
                r.file.display(),
                c.checked.report.verdict.name().to_uppercase(),
                c.checked.report.summary
            ),
            Err(e) => format!("{}: ERROR — {e}", r.file.display()),
        };
        page.intro.push(line);
        if let Ok(c) = &r.outcome {
            let room = MAX_SECTIONS.saturating_sub(page.sections.len());
            page.sections
                .extend(c.checked.sections.iter().take(room).cloned());
        }
    }
    if page.sections.is_empty() {
        page.intro.push("No failing key to draw.".to_string());
    }
    page
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

fn parse_failed_cas(s: &str) -> Result<FailedCas, String> {
    s.parse()
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str(s).map_err(|e| {
        format!("not a JSON value ({e}); write numbers as 0, strings with quotes as '\"x\"', nil as null")
    })
}

fn parse_total(s: &str) -> Result<i128, String> {
    s.parse()
        .map_err(|_| format!("expected an integer total, found \"{s}\""))
}

fn parse_timeout(s: &str) -> Result<TimeBound, String> {
    match s.parse::<f64>() {
        Ok(0.0) => Ok(TimeBound(None)),
        Ok(secs) if secs.is_finite() && secs > 0.0 => Ok(TimeBound(Some(Duration::from_secs_f64(secs)))),
        _ => Err(format!(
            "expected a number of seconds (0 for no limit), found \"{s}\""
        )),
    }
}
