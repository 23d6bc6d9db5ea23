//! `faultline run WORKLOAD`: one run, end to end. Cluster up, then clients and nemesis while the
//! recorder streams the history to disk, then heal, settle and final reads, then nodes down,
//! then the checkers on the history file, a summary, `results.json`, and Jepsen's exit code.
//!
//! Ctrl-C (or SIGTERM) stops clients and nemesis at once, kills the nodes, and still checks what
//! was recorded; a second one exits immediately (the nodes die with the harness).

pub mod checks;
pub mod client_ops;
pub mod counter_add;
pub mod final_reads;
pub mod guarantees;
pub mod live_history;
pub mod nemesis_exec;
pub mod progress;
pub mod recorder;
pub mod results;
pub mod routing;
pub mod run_dir;
pub mod summary_tables;
pub mod truth;
pub mod violation_watch;
pub mod workers;

use crate::nemesis::schedule;
use crate::workload::Workload;
use crate::workload::generator::OpGenerator;
use crate::workload::override_args::OverrideArgs;
use anyhow::Context;
use clap::Args;
use nemesis_exec::NemesisRunner;
use progress::RunProgress;
use recorder::Recorder;
use results::RunResults;
use run_dir::RunDir;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use truth::RunTruth;
use workers::{RateLimiter, WorkerShared};

/// Arguments of `faultline run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workload file (TOML), e.g. workloads/single-leader-sync.toml.
    pub workload: PathBuf,
    #[command(flatten)]
    pub overrides: OverrideArgs,
    /// Seed for the generator and the fault schedule (overrides run.seed; random otherwise).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where run directories go.
    #[arg(long, default_value = "histories/runs")]
    pub out: PathBuf,
    /// Exit 0 when the verdict is the one the workload expects, 1 when it is not (for
    /// campaigns that must keep showing a known anomaly).
    #[arg(long)]
    pub check_expectation: bool,
    /// Run the workload's counterpart instead (its `[counterpart]`: the same workload with the
    /// guarantee removed, expecting the opposite verdict).
    #[arg(long)]
    pub counterpart: bool,
    /// End the run early (heal, settle, final reads and the full check still follow) as soon as
    /// a check of the history so far finds a violation no later operation can undo: a key not
    /// linearizable, or a dependency-graph anomaly such as a cycle (see `run::violation_watch`).
    #[arg(long)]
    pub stop_on_violation: bool,
}

/// Runs `faultline run`.
pub fn run(args: RunArgs) -> anyhow::Result<u8> {
    let mut workload = Workload::load(&args.workload)?;
    if args.counterpart {
        workload = workload
            .counterpart()
            .map_err(crate::exit::BadInput)?
            .ok_or_else(|| {
                crate::exit::BadInput(format!(
                    "{}: the workload names no [counterpart]",
                    args.workload.display()
                ))
            })?;
    }
    workload.apply(&args.overrides.overrides(args.seed))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_workload(workload, args))
}

/// The command that reproduces a run.
fn reproduce_command(args: &RunArgs, seed: u64) -> String {
    let mut cmd = format!("faultline run {} --seed {seed}", args.workload.display());
    if args.counterpart {
        cmd += " --counterpart";
    }
    for flag in args.overrides.flags() {
        cmd += &format!(" {flag}");
    }
    cmd
}

/// Watches for Ctrl-C / SIGTERM: the first sets `stop`, the second exits at once.
fn watch_signals(stop: watch::Sender<bool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
    let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            seen += 1;
            if seen == 1 {
                eprintln!(
                    "\nfaultline: interrupted; stopping the clients and nodes, then checking what was recorded (again to quit at once)"
                );
                let _ = stop.send(true);
            } else {
                eprintln!("\nfaultline: interrupted twice; quitting (nodes die with the harness)");
                std::process::exit(130);
            }
        }
    });
    Ok(())
}

async fn run_workload(workload: Workload, args: RunArgs) -> anyhow::Result<u8> {
    let seed = workload.run.seed.unwrap_or_else(rand::random);
    let mut workload = workload;
    workload.run.seed = Some(seed);
    let run_dir = RunDir::create(&args.out, &workload.name)?;
    std::fs::write(
        run_dir.workload(),
        toml::to_string_pretty(&workload).context("serializing the workload")?,
    )
    .context("writing workload.toml")?;
    std::fs::write(run_dir.seed(), format!("{seed}\n")).context("writing the seed")?;
    let command = reproduce_command(&args, seed);
    eprintln!(
        "faultline run {}: seed {seed}, {} {:?} nodes, {} clients, {} for {}",
        workload.name,
        workload.cluster.nodes,
        workload.cluster.mode,
        workload.client.concurrency,
        if workload.faults.kinds.is_empty() {
            "no faults".to_string()
        } else {
            workload
                .faults
                .kinds
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        },
        crate::workload::duration::format_duration(workload.run.time_limit),
    );
    eprintln!("  run directory: {}", run_dir.root.display());

    let (stop_tx, stop) = watch::channel(false);
    watch_signals(stop_tx)?;
    let binary = std::env::current_exe().context("locating the faultline binary")?;
    let started = Instant::now();
    let started_at = run_dir::utc_stamp(std::time::SystemTime::now());
    let cluster = crate::systems::start(&workload, &run_dir, &binary)
        .await
        .with_context(|| format!("starting the {} cluster", workload.cluster.system.name()))?;

    let recorder = Arc::new(Recorder::create(&run_dir.history()).context("creating history.jsonl")?);
    let live_history =
        Arc::new(live_history::LiveHistory::follow(&run_dir.history()).context("following history.jsonl")?);
    let routing = Arc::new(routing::Routing::new(&workload, cluster.ids().to_vec()));
    routing.set_leader(cluster.leader().await);
    let generator_seed = seed ^ 0x5eed_0000_0000_0001;
    let nemesis_seed = seed ^ 0x5eed_0000_0000_0002;
    let plan = schedule::plan(
        &workload.faults,
        workload.run.time_limit,
        workload.cluster.nodes,
        nemesis_seed,
    );
    let current_fault = Arc::new(Mutex::new(String::new()));
    let shared = Arc::new(WorkerShared {
        client: cluster.client(),
        routing: routing.clone(),
        recorder: recorder.clone(),
        generator: Arc::new(Mutex::new(OpGenerator::new(&workload.generator, generator_seed))),
        limiter: RateLimiter::new(workload.client.rate),
        concurrency: workload.client.concurrency,
        seed: generator_seed,
    });
    let mut nemesis = NemesisRunner {
        cluster,
        recorder: recorder.clone(),
        routing: routing.clone(),
        config: workload.faults.clone(),
        current: current_fault.clone(),
        windows: Vec::new(),
        node_exits: Vec::new(),
    };
    nemesis.start_standing();

    // Clients and nemesis (which also watches for nodes exiting on their own). `end_early`
    // (--stop-on-violation) ends both as the time limit would; `stop` (Ctrl-C) at once.
    let deadline = tokio::time::Instant::now() + workload.run.time_limit;
    let (end_early_tx, end_early_rx) = watch::channel(false);
    let nemesis_stop = either(stop.clone(), end_early_rx.clone());
    let time_limit = workload.run.time_limit;
    let nemesis_task = tokio::spawn(async move {
        nemesis.run(&plan, nemesis_stop.clone()).await;
        nemesis.watch_until(time_limit, nemesis_stop).await;
        nemesis
    });
    let mut worker_tasks = tokio::task::JoinSet::new();
    for i in 0..workload.client.concurrency {
        worker_tasks.spawn(workers::worker(
            shared.clone(),
            i,
            deadline,
            stop.clone(),
            end_early_rx.clone(),
        ));
    }
    let (clients_done_tx, clients_done) = watch::channel(false);
    let watchable = workload
        .check
        .checkers
        .iter()
        .any(violation_watch::can_be_certain);
    if args.stop_on_violation && !watchable {
        eprintln!(
            "  --stop-on-violation: no checker of this workload can be certain of a violation before the run ends (set and counter findings may change with later reads); the run goes to its time limit"
        );
    }
    let violation_watch = (args.stop_on_violation && watchable).then(|| {
        tokio::spawn(violation_watch::watch(
            Arc::new(workload.clone()),
            live_history.clone(),
            started,
            end_early_tx,
            clients_done,
        ))
    });
    let mut progress = RunProgress::new(workload.run.time_limit);
    let mut sessions = Vec::new();
    loop {
        tokio::select! {
            done = worker_tasks.join_next() => match done {
                Some(Ok(session)) => sessions.push(session),
                Some(Err(e)) => anyhow::bail!("a client worker failed: {e}"),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(250)) => {
                let fault = current_fault.lock().unwrap_or_else(|p| p.into_inner()).clone();
                progress.update(recorder.elapsed(), recorder.counts(), &fault);
            }
        }
    }
    let _ = clients_done_tx.send(true);
    let (early_stop, watch_stats) = match violation_watch {
        Some(task) => match task.await {
            Ok((found, stats)) => (found, Some(stats)),
            Err(_) => (None, None),
        },
        None => (None, None),
    };
    if let Some(e) = &early_stop {
        progress.phase(&format!(
            "violation certain at {:.1}s ({} {}); ending the run early",
            e.at_s, e.checker, e.kind
        ));
    }
    let mut nemesis = nemesis_task.await.context("the nemesis failed")?;

    // Heal (also after Ctrl-C), settle, final reads.
    let interrupted = *stop.borrow();
    progress.phase("healing every fault");
    nemesis.heal_all(interrupted).await;
    if !interrupted {
        progress.phase("settling");
        let mut s = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(workload.run.settle) => {}
            _ = s.wait_for(|v| *v) => {}
        }
    }
    if !*stop.borrow() {
        progress.phase("final reads");
        final_reads::perform(&shared, sessions, &stop).await;
    }
    let final_reads_done = Instant::now();
    nemesis.check_node_exits();
    let interrupted = *stop.borrow();
    nemesis.cluster.stop();
    let windows = std::mem::take(&mut nemesis.windows);
    let node_exits = std::mem::take(&mut nemesis.node_exits);
    drop(nemesis);
    let events = recorder.finish().context("writing history.jsonl")?;
    progress.phase("checking");
    let counts = recorder.counts();

    // Check the history as written: parsed while the run went, it is the history `faultline
    // check` reads from the file. The checkers on one core, availability and the guarantee
    // table's own checks on the other.
    let history = live_history.finish()?;
    let (reports, measured) = std::thread::scope(|s| {
        let checking = s.spawn(|| checks::check_loaded(&workload, &history, None));
        let measured = guarantees::measure_run(&workload, &history);
        (checking.join(), measured)
    });
    let reports = reports.map_err(|_| anyhow::anyhow!("a checker panicked"))??;
    let assessment = measured.judge(&reports);
    drop(history);
    progress.finish();
    let mut results = RunResults::new(
        &workload,
        &args.workload,
        command,
        started_at,
        started.elapsed(),
        interrupted,
        counts,
        events,
        windows,
        reports,
        assessment,
        args.check_expectation,
    );
    let truth = RunTruth {
        interrupted,
        node_exits,
        node_exits_expected: workload.expect.node_exits,
        early_stop,
    };
    truth.apply(&mut results);
    results.violation_watch = watch_stats;
    results.verdict_after_final_reads_s = final_reads_done.elapsed().as_secs_f64();
    results.write(&run_dir.results())?;
    // The page is for people; failing to draw it must not hide the verdict.
    if let Err(e) = crate::report::write_run_report(&run_dir.root) {
        eprintln!("faultline: warning: could not write the report page: {e:#}");
    }
    eprint!("{}{}", results.summary(&run_dir), truth.summary());
    Ok(results.exit_code)
}

/// A receiver that turns true when either `a` or `b` does (a sender dropped counts as never).
fn either(mut a: watch::Receiver<bool>, mut b: watch::Receiver<bool>) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(*a.borrow() || *b.borrow());
    tokio::spawn(async move {
        tokio::select! {
            Ok(_) = a.wait_for(|v| *v) => {}
            Ok(_) = b.wait_for(|v| *v) => {}
            _ = tx.closed() => return,
            else => return,
        }
        let _ = tx.send(true);
    });
    rx
}
