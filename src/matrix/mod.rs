//! `faultline matrix`: runs a set of workloads (default: every file in `workloads/`), each
//! `--runs N` times with different seeds, one run at a time, and prints the replication
//! guarantee table as measured: one row per configuration, one column per guarantee, each cell
//! "kept N/N" or "broken k/N" with the run that shows it. Writes `matrix.json` and
//! `matrix.html` beside the runs. Exit 1 when any run missed its expectation (verdict or
//! availability), 2 when interrupted, 254/255 when a run could not be made.
//!
//! Each run is a child `faultline run --check-expectation` (its own process group, killed if
//! the matrix dies), so a run is exactly what `faultline run` does; its output goes to a log
//! file, and its `results.json` is what the table is made of.

pub mod page;
pub mod table;

use crate::exit::{self, BadInput};
use crate::report::run_data::RunSummary;
use crate::run::run_dir::utc_stamp;
use crate::workload::Workload;
use crate::workload::override_args::OverrideArgs;
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use table::{Matrix, Row, RunRecord};

/// Arguments of `faultline matrix`.
#[derive(Debug, Args)]
pub struct MatrixArgs {
    /// Workload files or directories of them (default: workloads/).
    pub workloads: Vec<PathBuf>,
    /// Runs per workload, each with its own seed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Overrides passed to every run, as `faultline run` takes them.
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Seed of the first run; the others follow from it (random otherwise).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the matrix goes: runs/, logs/, matrix.json, matrix.html (default:
    /// histories/matrix/<UTC time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One workload to run.
struct Planned {
    file: PathBuf,
    workload: Workload,
}

/// The workload files named (directories give their `*.toml` files, sorted).
fn workload_files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let defaults = [PathBuf::from("workloads")];
    let paths = if paths.is_empty() { &defaults[..] } else { paths };
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| BadInput(format!("{}: cannot list the directory: {e}", p.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(BadInput(format!("{}: no workload files (*.toml)", p.display())).into());
            }
            files.extend(found);
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(BadInput(format!("{}: no such workload file or directory", p.display())).into());
        }
    }
    // The same file named twice (or found through its directory too) runs once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    Ok(files)
}

/// The seed of run `run` of workload `workload`: from `--seed` when given, else random.
fn seed_for(base: Option<u64>, workload: usize, run: usize) -> u64 {
    match base {
        Some(b) => b
            .wrapping_add((workload as u64).wrapping_mul(1_000_003))
            .wrapping_add(run as u64),
        None => rand::random(),
    }
}

/// Runs `faultline matrix`.
pub fn run(args: MatrixArgs) -> anyhow::Result<u8> {
    let files = workload_files(&args.workloads)?;
    let overrides = args.overrides.overrides(None);
    // Every workload is loaded (and checked with the overrides) before anything runs.
    let mut planned = Vec::new();
    for file in files {
        let mut workload = Workload::load(&file)?;
        workload
            .apply(&overrides)
            .with_context(|| format!("{}", file.display()))?;
        planned.push(Planned { file, workload });
    }
    let started = Instant::now();
    let started_at = utc_stamp(std::time::SystemTime::now());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("histories/matrix").join(&started_at));
    for sub in ["runs", "logs"] {
        std::fs::create_dir_all(out.join(sub))
            .with_context(|| format!("creating {}", out.join(sub).display()))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let flags = args.overrides.flags();
    let (records, interrupted) = runtime.block_on(run_all(&planned, &args, &flags, &out))?;

    let mut rows = Vec::new();
    for p in &planned {
        let file = p.file.display().to_string();
        let runs: Vec<&RunRecord> = records.iter().filter(|r| r.file == file).collect();
        if !runs.is_empty() {
            rows.push(Row::new(&p.workload.name, &file, &p.workload.description, &runs));
        }
    }
    let exit_code = matrix_exit_code(&records, interrupted);
    let matrix = Matrix {
        started_at,
        wall_time_s: started.elapsed().as_secs_f64(),
        runs_per_workload: args.runs as usize,
        run_flags: flags,
        interrupted,
        all_expectations_met: !records.iter().any(RunRecord::missed_expectation),
        exit_code,
        rows,
        runs: records,
    };
    let json = serde_json::to_string_pretty(&matrix).context("serializing the matrix")?;
    std::fs::write(out.join("matrix.json"), json + "\n").context("writing matrix.json")?;
    std::fs::write(out.join("matrix.html"), page::render(&matrix)).context("writing matrix.html")?;
    let dir = out.display().to_string();
    eprint!("{}", matrix.runs_text(&dir));
    print!("{}", matrix.text(&dir));
    let missed = matrix.runs.iter().filter(|r| r.missed_expectation()).count();
    println!(
        "{} run(s) of {} configuration(s) in {:.0} s{}: {}",
        matrix.runs.len(),
        matrix.rows.len(),
        matrix.wall_time_s,
        if interrupted { " (interrupted)" } else { "" },
        if missed == 0 {
            "no expectation missed".to_string()
        } else {
            format!("{missed} run(s) missed their expectation")
        }
    );
    println!("Matrix:  {dir}/matrix.html");
    println!("JSON:    {dir}/matrix.json");
    Ok(exit_code)
}

/// The matrix's exit code: the worst of its runs' (`faultline run --check-expectation`: 0 met,
/// 1 missed, 254/255 could not run; a run with no results is 255), and at least 2 when
/// interrupted. A run cut short by Ctrl-C counts only as the interruption, so a missed
/// expectation in a completed run still gives 1.
fn matrix_exit_code(records: &[RunRecord], interrupted: bool) -> u8 {
    let runs = records.iter().filter(|r| !r.interrupted).map(|r| {
        let code = r
            .exit_code
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(exit::INTERNAL);
        match code {
            // A run without results is an internal failure even if its code says otherwise.
            exit::VALID if r.error.is_some() => exit::INTERNAL,
            exit::VALID | exit::INVALID | exit::BAD_INPUT | exit::INTERNAL => code,
            // Stopped at once by a second Ctrl-C (130), or anything unforeseen.
            _ if interrupted => exit::UNKNOWN,
            _ => exit::INTERNAL,
        }
    });
    let worst = runs.fold(exit::VALID, exit::worst);
    if interrupted {
        exit::worst(worst, exit::UNKNOWN)
    } else {
        worst
    }
}

/// Makes every run, one at a time; stops early (after the current run) on Ctrl-C.
async fn run_all(
    planned: &[Planned],
    args: &MatrixArgs,
    flags: &[String],
    out: &Path,
) -> anyhow::Result<(Vec<RunRecord>, bool)> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let total = planned.len() * args.runs as usize;
    let mut records = Vec::new();
    let mut interrupted = false;
    let mut n = 0;
    'all: for (w, p) in planned.iter().enumerate() {
        for run in 1..=args.runs as usize {
            // A Ctrl-C that came between two runs ends the matrix before the next one starts.
            tokio::select! {
                biased;
                _ = interrupt.recv() => interrupted = true,
                _ = terminate.recv() => interrupted = true,
                _ = std::future::ready(()) => {}
            }
            if interrupted {
                eprintln!("\nfaultline matrix: interrupted; no further run starts");
                break 'all;
            }
            n += 1;
            let seed = seed_for(args.seed, w, run);
            let label = format!(
                "[{n}/{total}] {} run {run}/{} (seed {seed})",
                p.workload.name, args.runs
            );
            let mut record = RunRecord {
                workload: p.workload.name.clone(),
                file: p.file.display().to_string(),
                run,
                seed,
                log: format!("logs/{:02}-{}-run{run}.log", w + 1, p.workload.name),
                ..Default::default()
            };
            let expected = p.workload.run.time_limit + p.workload.run.settle + Duration::from_secs(4);
            let progress = Progress::start(&label, expected);
            let before = run_dirs(&out.join("runs"));
            let mut child = spawn_run(&p.file, seed, flags, out, &record.log)?;
            let began = Instant::now();
            let mut ticker = tokio::time::interval(Duration::from_millis(200));
            let status = loop {
                tokio::select! {
                    status = child.wait() => break status.context("waiting for a run")?,
                    _ = ticker.tick() => progress.tick(began.elapsed()),
                    _ = interrupt.recv() => interrupted = forward_interrupt(&child, interrupted),
                    _ = terminate.recv() => interrupted = forward_interrupt(&child, interrupted),
                }
            };
            record.exit_code = status.code();
            record.duration_s = began.elapsed().as_secs_f64();
            let after = run_dirs(&out.join("runs"));
            let new: Vec<&PathBuf> = after.iter().filter(|d| !before.contains(d)).collect();
            match new.as_slice() {
                [dir] => {
                    let rel = |name: &str| {
                        let p = dir.join(name);
                        p.strip_prefix(out).unwrap_or(&p).display().to_string()
                    };
                    record.dir = Some(rel(""));
                    if dir.join("report.html").is_file() {
                        record.report = Some(rel("report.html"));
                    }
                    match RunSummary::load(&dir.join("results.json")) {
                        Ok(results) => {
                            record.read_results(&results);
                            record.duration_s = results.duration_s;
                        }
                        Err(e) => record.error = Some(format!("{e:#}")),
                    }
                    // The run's own output beside its files.
                    let _ = std::fs::copy(out.join(&record.log), dir.join("faultline-run.log"));
                }
                _ => {
                    record.error = Some(format!(
                        "exit {} before a run directory was made (see {})",
                        status.code().map_or("by a signal".into(), |c| c.to_string()),
                        record.log
                    ))
                }
            }
            record.interrupted |= interrupted;
            progress.finish(&record);
            records.push(record);
            if interrupted {
                break 'all;
            }
        }
    }
    Ok((records, interrupted))
}

/// On Ctrl-C: the first asks the current run to stop (it still checks what it recorded), the
/// second makes it quit at once. Returns true (interrupted).
fn forward_interrupt(child: &tokio::process::Child, already: bool) -> bool {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    eprintln!(
        "\nfaultline matrix: interrupted; {}",
        if already {
            "stopping the current run at once"
        } else {
            "the current run stops and is checked, then the matrix ends (again to stop at once)"
        }
    );
    if let Some(pid) = child.id() {
        let _ = kill(Pid::from_raw(pid as i32), Signal::SIGINT);
    }
    true
}

/// The run directories under `runs` (not the `latest` link).
fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(runs)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name() != "latest" && e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// Starts `faultline run --check-expectation` for one run, its output to `log` (relative to
/// `out`), in its own process group (a terminal's Ctrl-C reaches only the matrix, which passes
/// it on once) and killed if the matrix dies.
fn spawn_run(
    file: &Path,
    seed: u64,
    flags: &[String],
    out: &Path,
    log: &str,
) -> anyhow::Result<tokio::process::Child> {
    let binary = std::env::current_exe().context("locating the faultline binary")?;
    let log_path = out.join(log);
    let log_file =
        std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let err_file = log_file.try_clone().context("opening the run's log")?;
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("run")
        .arg(file)
        .arg("--seed")
        .arg(seed.to_string())
        .arg("--out")
        .arg(out.join("runs"))
        .arg("--check-expectation")
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file))
        .stderr(Stdio::from(err_file))
        .kill_on_drop(true);
    // SAFETY: runs in the forked child before exec; only async-signal-safe calls (setpgid,
    // prctl). The matrix forks from its one runtime thread, which lives as long as it does.
    unsafe {
        command.pre_exec(|| {
            use nix::unistd::{Pid, setpgid};
            setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            Ok(())
        });
    }
    command
        .spawn()
        .with_context(|| format!("starting faultline run {}", file.display()))
}

/// A progress bar per run on a terminal; a line when each run starts and ends otherwise.
struct Progress {
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    fn start(label: &str, expected: Duration) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(expected.as_millis() as u64);
            let style = ProgressStyle::with_template("{prefix} [{elapsed_precise}] {bar:30} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(label.to_string());
            bar.set_message("running");
            bar
        });
        if bar.is_none() {
            eprintln!("{label}: running");
        }
        Progress {
            bar,
            label: label.to_string(),
        }
    }

    fn tick(&self, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            let len = bar.length().unwrap_or(1);
            bar.set_position((elapsed.as_millis() as u64).min(len.saturating_sub(1)));
        }
    }

    fn finish(&self, record: &RunRecord) {
        let text = format!("{} ({:.1} s)", record.outcome(), record.duration_s);
        match &self.bar {
            Some(bar) => {
                if let Some(len) = bar.length() {
                    bar.set_position(len);
                }
                bar.finish_with_message(text);
            }
            None => eprintln!("{}: {text}", self.label),
        }
    }
}
