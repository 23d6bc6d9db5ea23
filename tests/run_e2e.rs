//! End-to-end runs of `faultline run`: real node processes, real proxies, real faults, about
//! ten seconds each. A configuration that must pass passes; one that must break is caught with
//! exit code 1 and an explanation; a node that dies outside the nemesis fails the run; Ctrl-C
//! heals, exits 2, and leaves a readable history and no process behind.

mod process_support;

use assert_cmd::Command;
use faultline_checkers::history::History;
use process_support::{binary, processes_mentioning, workload};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn latest_run(out: &Path) -> PathBuf {
    std::fs::canonicalize(out.join("latest")).expect("a latest link to the run directory")
}

fn results(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_configuration_that_must_pass_passes_and_check_agrees() {
    let out = tempfile::tempdir().unwrap();
    let assert = Command::new(binary())
        .arg("run")
        .arg(workload("single-leader-sync"))
        .args(["--time-limit", "8s", "--seed", "7", "--out"])
        .arg(out.path())
        .timeout(Duration::from_secs(120))
        .assert();
    let output = assert.get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Verdict: VALID"), "{stderr}");
    assert!(
        stderr.contains("--seed 7"),
        "the summary says how to reproduce: {stderr}"
    );
    let run = latest_run(out.path());
    let r = results(&run);
    assert_eq!(r["verdict"], "valid");
    assert_eq!(r["seed"], 7);
    assert!(r["ops"]["ok"].as_u64().unwrap() > 100, "{r}");
    assert!(
        !r["faults"].as_array().unwrap().is_empty(),
        "faults were injected: {r}"
    );
    for f in [
        "history.jsonl",
        "workload.toml",
        "seed",
        "nodes/n1.log",
        "nodes/n3.log",
    ] {
        assert!(run.join(f).exists(), "{f} missing from the run directory");
    }
    let history = History::load(&run.join("history.jsonl"), None).unwrap();
    assert!(
        !history.nemesis.is_empty(),
        "faults and heals are recorded as nemesis events"
    );
    Command::new(binary())
        .args(["check", "--model", "cas-register"])
        .arg(run.join("history.jsonl"))
        .assert()
        .code(0);
    assert_eq!(
        processes_mentioning(out.path().to_str().unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn async_follower_reads_under_a_leader_partition_are_caught() {
    let out = tempfile::tempdir().unwrap();
    let assert = Command::new(binary())
        .arg("run")
        .arg(workload("single-leader-async-follower-reads"))
        .args([
            "--time-limit",
            "10s",
            "--faults",
            "partition-leader",
            "--rate",
            "300",
            "--out",
        ])
        .arg(out.path())
        .timeout(Duration::from_secs(120))
        .assert();
    let output = assert.get_output().clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Verdict: INVALID (expected invalid"), "{stderr}");
    assert!(stderr.contains("nonlinearizable"), "{stderr}");
    assert!(
        stderr.contains("First linearizability anomaly"),
        "an explanation is printed: {stderr}"
    );
    let run = latest_run(out.path());
    let r = results(&run);
    assert_eq!(r["verdict"], "invalid");
    assert_eq!(r["expectation_met"], true);
    assert!(
        !r["checkers"][0]["anomalies"][0]["steps"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    Command::new(binary())
        .args(["check", "--model", "cas-register"])
        .arg(run.join("history.jsonl"))
        .assert()
        .code(1);
    assert_eq!(
        processes_mentioning(out.path().to_str().unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn ctrl_c_stops_everything_and_still_checks_what_was_recorded() {
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(binary())
        .arg("run")
        .arg(workload("single-leader-sync"))
        .args(["--time-limit", "60s", "--out"])
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is recording operations, with nodes up.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let history = out.path().join("latest/history.jsonl");
        let lines = std::fs::read_to_string(&history)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 300 {
            break;
        }
        assert!(Instant::now() < deadline, "the run never started recording");
        std::thread::sleep(Duration::from_millis(100));
    }
    let marker = out.path().to_str().unwrap().to_string();
    assert!(processes_mentioning(&marker).len() >= 3, "nodes are running");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status, Some(2), "an interrupted run exits 2: {stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let run = latest_run(out.path());
    let history = History::load(&run.join("history.jsonl"), None).expect("the history is readable");
    assert!(history.ops.len() > 25);
    let last = history.events.last().unwrap();
    assert_eq!(last.f, "heal-all", "the heal is the last event recorded");
    assert_eq!(last.value["interrupted"], true);
    let r = results(&run);
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["exit_code"], 2);
    assert_eq!(
        processes_mentioning(&marker),
        Vec::<String>::new(),
        "no node outlives the run"
    );
}

#[test]
fn a_node_that_exits_outside_the_nemesis_fails_the_run() {
    let out = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(binary())
        .arg("run")
        .arg(workload("single-leader-sync"))
        .args(["--time-limit", "8s", "--faults", "none", "--out"])
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let marker = out.path().to_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    let node = loop {
        let history = std::fs::read_to_string(out.path().join("latest/history.jsonl")).unwrap_or_default();
        let n3 = processes_mentioning(&marker)
            .into_iter()
            .find(|p| p.contains("--id n3 "));
        if history.lines().count() > 200
            && let Some(n3) = n3
        {
            break n3;
        }
        assert!(Instant::now() < deadline, "the run never started recording");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Not the nemesis: a crash, as far as the harness can tell.
    let pid: i32 = node.split(':').next().unwrap().parse().unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("n3 exited on its own"), "{stderr}");
    assert!(stderr.contains("the run FAILS"), "{stderr}");
    let run = latest_run(out.path());
    let history = History::load(&run.join("history.jsonl"), None).unwrap();
    let exited: Vec<_> = history
        .nemesis
        .iter()
        .map(|&i| &history.events[i])
        .filter(|e| e.f == "node-exited")
        .collect();
    assert_eq!(exited.len(), 1, "recorded once");
    assert_eq!(exited[0].value["node"], "n3");
    let r = results(&run);
    assert_eq!(r["node_exits"][0]["node"], "n3");
    assert_eq!(r["expectation_met"], false);
    assert_eq!(processes_mentioning(&marker), Vec::<String>::new());
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("faultline run did not stop within {limit:?} of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_workload_file_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(workload("single-leader-sync"))
        .unwrap()
        .replace("kinds = [\"partition-leader\"", "kinds = [\"meteor-strike\"");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(binary())
        .arg("run")
        .arg(&path)
        .args(["--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(254), "{stderr}");
    assert!(stderr.contains(&format!("{}:", path.display())), "{stderr}");
    assert!(stderr.contains("meteor-strike"), "{stderr}");
    let output = Command::new(binary())
        .arg("run")
        .arg(workload("single-leader-sync"))
        .args(["--faults", "partition-leader,meteor"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(254));
}
