//! `faultline run` on real systems nobody here wrote, end to end through the binary: etcd and
//! PostgreSQL streaming replication, each node in a network namespace the run creates. Each
//! workload that expects valid gets it, and its counterpart (the guarantee removed) is caught,
//! so the check is shown able to fail. Whatever a run creates (namespaces, interfaces, rules,
//! processes, scratch data) is gone after a passing run, a failing run, Ctrl-C, and a SIGKILLed
//! harness followed by `faultline clean`. Needs root, etcd and PostgreSQL (scripts/setup).

mod process_support;

use process_support::{binary, processes_using, workload};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run left: its fabric's subnet (from `nodes/network.txt`), and the namespaces,
/// interfaces, processes and scratch directory of that subnet still present.
fn leftovers(run: &Path) -> Vec<String> {
    let network = std::fs::read_to_string(run.join("nodes/network.txt")).expect("nodes/network.txt");
    let subnet: u8 = network
        .strip_prefix("subnet 169.254.")
        .and_then(|rest| rest.split('.').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no subnet in {network}"));
    let mut left = processes_using(run.to_str().unwrap());
    // The run has exited and released its subnet; a live owner of it now is another run (the
    // tests run concurrently), whose namespaces and processes are its own.
    let lease = Path::new(faultline::netns::LEASE_DIR).join(format!("{subnet}.lease"));
    if let Ok(owner) = std::fs::read_to_string(&lease) {
        let pid = owner.split_whitespace().next().unwrap_or_default();
        if !pid.is_empty() && Path::new("/proc").join(pid).exists() {
            return left;
        }
        left.push(format!("lease {} ({owner})", lease.display()));
    }
    let namespaces = Command::new("ip").args(["netns", "list"]).output().unwrap();
    for line in String::from_utf8_lossy(&namespaces.stdout).lines() {
        if line.starts_with(&format!("faultline-{subnet}-")) {
            left.push(format!("namespace {line}"));
        }
    }
    for entry in std::fs::read_dir("/sys/class/net").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name == format!("flbr{subnet}") || name.starts_with(&format!("flv{subnet}n")) {
            left.push(format!("interface {name}"));
        }
    }
    let scratch = format!("/var/tmp/faultline-netns-{subnet}");
    if Path::new(&scratch).exists() {
        left.push(format!("directory {scratch}"));
    }
    left.extend(processes_using(&scratch));
    left.extend(processes_using(&format!("169.254.{subnet}.")));
    left
}

/// Runs `faultline run NAME ARGS --out OUT` and returns (exit code, stderr, run directory).
fn run(name: &str, args: &[&str], out: &Path) -> (i32, String, PathBuf) {
    let output = Command::new(binary())
        .arg("run")
        .arg(workload(name))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let dir =
        std::fs::canonicalize(out.join("latest")).unwrap_or_else(|_| panic!("no run directory: {stderr}"));
    (output.status.code().unwrap_or(-1), stderr, dir)
}

fn results(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

/// The workload gets its expected verdict (exit 0), and its counterpart is caught (exit 1);
/// nothing is left after any run.
fn valid_and_counterpart_caught(name: &str, time_limit: &str) {
    let out = tempfile::tempdir().unwrap();
    let (code, stderr, dir) = run(name, &["--time-limit", time_limit], out.path());
    assert_eq!(code, 0, "{name} is valid: {stderr}");
    let r = results(&dir);
    assert_eq!(r["verdict"], "valid", "{stderr}");
    let faults = r["faults"].as_array().map(Vec::len).unwrap_or(0);
    assert!(faults >= 2, "faults were injected: {faults}\n{stderr}");
    assert_eq!(leftovers(&dir), Vec::<String>::new(), "after a passing run");

    // A stale read needs a read at a member that is behind while writes go on elsewhere: likely
    // in one short run, not certain (etcd's counterpart was caught in 4 of 5 runs of 20 s), so
    // up to three runs, each miss reported.
    let mut misses = Vec::new();
    for _ in 0..3 {
        let out = tempfile::tempdir().unwrap();
        let (code, stderr, dir) = run(name, &["--time-limit", time_limit, "--counterpart"], out.path());
        assert_eq!(
            leftovers(&dir),
            Vec::<String>::new(),
            "after a run with exit code {code}"
        );
        if code == 1 {
            assert_eq!(results(&dir)["verdict"], "invalid", "{stderr}");
            for miss in &misses {
                eprintln!("{name}'s counterpart was missed once: {miss}");
            }
            return;
        }
        misses.push(format!("exit {code}: {stderr}"));
    }
    panic!("{name}'s counterpart was never caught in three runs: {misses:#?}");
}

#[test]
fn etcd_register_is_linearizable_and_its_serializable_reads_are_caught() {
    valid_and_counterpart_caught("etcd-register", "12s");
}

#[test]
fn postgres_primary_reads_are_linearizable_and_standby_reads_are_caught() {
    valid_and_counterpart_caught("postgres-primary-reads", "12s");
}

#[test]
fn clock_faults_are_refused_for_etcd_with_the_reason() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(binary())
        .arg("run")
        .arg(workload("etcd-register"))
        .args(["--faults", "clock-bump", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(254), "{stderr}");
    assert!(stderr.contains("libfaketime"), "{stderr}");
}

/// Starts a long etcd run and waits until it records operations; returns the child and its
/// run directory.
fn start_long_etcd_run(out: &Path) -> (std::process::Child, PathBuf) {
    let child = Command::new(binary())
        .arg("run")
        .arg(workload("etcd-register"))
        .args(["--time-limit", "120s", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let lines = std::fs::read_to_string(out.join("latest/history.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 50 && out.join("latest/nodes/network.txt").exists() {
            break;
        }
        assert!(Instant::now() < deadline, "the run never started recording");
        std::thread::sleep(Duration::from_millis(100));
    }
    let dir = std::fs::canonicalize(out.join("latest")).unwrap();
    (child, dir)
}

fn wait(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_on_an_etcd_run_leaves_nothing() {
    let out = tempfile::tempdir().unwrap();
    let (mut child, dir) = start_long_etcd_run(out.path());
    assert!(
        !leftovers(&dir).is_empty(),
        "the run's fabric and members exist while it runs"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(
        wait(&mut child, Duration::from_secs(60)),
        Some(2),
        "an interrupted run exits 2"
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new());
}

#[test]
fn a_killed_harness_leaves_its_fabric_to_faultline_clean() {
    let out = tempfile::tempdir().unwrap();
    let (mut child, dir) = start_long_etcd_run(out.path());
    child.kill().unwrap();
    child.wait().unwrap();
    let left = leftovers(&dir);
    assert!(
        left.iter().any(|l| l.starts_with("namespace")) && left.iter().any(|l| l.contains("etcd")),
        "a SIGKILLed harness cannot clean up: {left:?}"
    );
    let clean = Command::new(binary()).arg("clean").output().unwrap();
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );
    assert_eq!(leftovers(&dir), Vec::<String>::new(), "after faultline clean");
}
