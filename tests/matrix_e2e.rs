//! End-to-end runs of `faultline matrix`: real runs of two committed workloads and of a workload
//! whose expectation its configuration breaks, twice each, a few seconds per run. The table must
//! agree cell by cell with the runs' own `results.json`, link to evidence that exists, say "not
//! measured" where no checker looked, and exit 1 for the missed expectation; Ctrl-C exits 2 and
//! leaves no process behind; bad arguments exit 254 before anything runs.

mod process_support;

use process_support::{binary, processes_mentioning, workload};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A file under the matrix directory named by a link (`runs/x/report.html#anchor`).
fn linked_file(out: &Path, link: &str) -> PathBuf {
    out.join(link.split('#').next().unwrap())
}

/// Async replication with reads from any node, partitioned from its leader every second, but
/// claiming to be linearizable: its expectation is missed.
fn claims_too_much(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(workload("single-leader-async-follower-reads"))
        .unwrap()
        .replace(
            "name = \"single-leader-async-follower-reads\"",
            "name = \"async-follower-reads-claimed-linearizable\"",
        )
        .replace(
            "kinds = [\"partition-leader\", \"kill-leader\"]",
            "kinds = [\"partition-leader\"]",
        )
        .replace("interval = \"3s\"", "interval = \"1s\"")
        .replace("duration = \"2s\"", "duration = \"800ms\"")
        .replace("rate = 150", "rate = 300")
        .replace("verdict = \"invalid\"", "verdict = \"valid\"");
    assert!(text.contains("verdict = \"valid\"") && text.contains("interval = \"1s\""));
    let path = dir.join("claimed-linearizable.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_table_agrees_with_every_run_links_its_evidence_and_a_missed_expectation_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("matrix");
    let missed_workload = claims_too_much(tmp.path());
    let output = Command::new(binary())
        .arg("matrix")
        .arg(workload("single-leader-sync"))
        .arg(workload("single-leader-async-follower-reads"))
        .arg(&missed_workload)
        .args(["--runs", "2", "--time-limit", "3s", "--seed", "11", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let both = format!("{stdout}\n{stderr}");
    assert_eq!(output.status.code(), Some(1), "{both}");

    let m = json(&out.join("matrix.json"));
    let rows = m["rows"].as_array().unwrap();
    let runs = m["runs"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{m}");
    assert_eq!(runs.len(), 6, "{m}");
    assert_eq!(m["interrupted"], false);
    assert_eq!(m["exit_code"], 1);

    // Each run: its own seed, its files, and the expectation its results.json states.
    let mut seeds: Vec<u64> = runs.iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds.len(), 6, "every run has its own seed: {m}");
    for r in runs {
        assert_eq!(r["error"], Value::Null, "{r}");
        assert_eq!(r["interrupted"], false, "{r}");
        let dir = out.join(r["dir"].as_str().unwrap());
        let results = json(&dir.join("results.json"));
        assert_eq!(r["expectation_met"], results["expectation_met"], "{r}");
        assert_eq!(
            r["seed"], results["seed"],
            "the run used the seed the matrix gave it"
        );
        assert_eq!(
            r["exit_code"],
            if results["expectation_met"] == true { 0 } else { 1 }
        );
        assert!(linked_file(&out, r["report"].as_str().unwrap()).is_file(), "{r}");
        assert!(out.join(r["log"].as_str().unwrap()).is_file(), "{r}");
    }

    // Each cell counts exactly what the runs' results.json say; unjudged is never kept.
    for row in rows {
        assert_eq!(row["runs"], 2, "{row}");
        let row_runs: Vec<&Value> = runs.iter().filter(|r| r["file"] == row["file"]).collect();
        assert_eq!(row_runs.len(), 2);
        let met = row_runs.iter().filter(|r| r["expectation_met"] == true).count();
        assert_eq!(row["expectation_met"], met, "{row}");
        for cell in row["cells"].as_array().unwrap() {
            let (id, cell) = (cell[0].as_str().unwrap(), &cell[1]);
            let mut counts = [0u64; 4];
            for r in &row_runs {
                let results = json(&out.join(r["dir"].as_str().unwrap()).join("results.json"));
                let status = results["guarantees"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|g| g["guarantee"] == id)
                    .map_or("not-measured", |g| g["status"].as_str().unwrap());
                let slot = ["kept", "broken", "unknown", "not-measured"]
                    .iter()
                    .position(|s| *s == status)
                    .unwrap();
                counts[slot] += 1;
            }
            let shown = [
                &cell["kept"],
                &cell["broken"],
                &cell["unknown"],
                &cell["not_measured"],
            ];
            let shown: Vec<u64> = shown.iter().map(|v| v.as_u64().unwrap()).collect();
            assert_eq!(shown, counts, "{id} in {row}");
            if let Some(link) = cell["evidence"].as_str() {
                assert!(link.ends_with(&format!("#guarantee-{id}")), "{link}");
                let page = std::fs::read_to_string(linked_file(&out, link)).unwrap();
                assert!(page.contains(&format!("id=\"guarantee-{id}\"")), "{link}");
            }
        }
        // Register histories with a linearizability checker never judge consistent prefix.
        let prefix = &row["cells"].as_array().unwrap()[3];
        assert_eq!(prefix[0], "consistent-prefix");
        assert_eq!(prefix[1]["not_measured"], 2, "{row}");
        assert_eq!(prefix[1]["kept"], 0, "{row}");
    }

    // The configuration that claims too much: caught breaking linearizability, expectation missed.
    let claimed = rows
        .iter()
        .find(|r| r["workload"] == "async-follower-reads-claimed-linearizable")
        .unwrap();
    let linearizable = &claimed["cells"][0][1];
    assert_eq!(claimed["cells"][0][0], "linearizable");
    assert!(linearizable["broken"].as_u64().unwrap() >= 1, "{claimed}");
    assert!(claimed["expectation_met"].as_u64().unwrap() < 2, "{claimed}");
    let missed_link = claimed["missed_evidence"].as_str().unwrap();
    assert!(missed_link.ends_with("report.html#verdict"), "{missed_link}");

    // The terminal table: one column per guarantee, the missed expectation with its evidence.
    for title in [
        "linearizable",
        "read-your-writes",
        "monotonic reads",
        "consistent prefix",
        "no lost writes",
        "writes available",
        "reads available",
    ] {
        assert!(stdout.contains(title), "{title}: {stdout}");
    }
    assert!(stdout.contains("not measured 2/2"), "{stdout}");
    assert!(stdout.contains("MISSED"), "{stdout}");
    assert!(
        stdout.contains(&format!("{}/{missed_link}", out.display())),
        "the missed expectation links to its run: {stdout}"
    );
    assert!(stdout.contains("matrix.html"), "{stdout}");
    assert!(stderr.contains("[6/6]"), "a line per run: {stderr}");

    let page = std::fs::read_to_string(out.join("matrix.html")).unwrap();
    assert!(page.contains("id=\"matrix\""));
    assert!(page.contains("async-follower-reads-claimed-linearizable"));
    assert!(page.contains(&format!("href=\"{missed_link}\"")), "{missed_link}");
    assert_eq!(processes_mentioning(out.to_str().unwrap()), Vec::<String>::new());
}

#[test]
fn ctrl_c_stops_the_current_run_and_exits_2_with_no_process_left() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("matrix");
    let mut child = Command::new(binary())
        .arg("matrix")
        .arg(workload("single-leader-sync"))
        .args(["--runs", "3", "--time-limit", "60s", "--out"])
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let lines = std::fs::read_to_string(out.join("runs/latest/history.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 100 {
            break;
        }
        assert!(Instant::now() < deadline, "the first run never started recording");
        std::thread::sleep(Duration::from_millis(100));
    }
    let marker = out.to_str().unwrap().to_string();
    assert!(
        processes_mentioning(&marker).len() >= 3,
        "a run and its nodes are running"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("faultline matrix did not stop within 60 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("(interrupted)"), "{stdout}");
    let m = json(&out.join("matrix.json"));
    assert_eq!(m["interrupted"], true);
    assert_eq!(m["exit_code"], 2);
    let runs = m["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "no run starts after Ctrl-C: {m}");
    assert_eq!(runs[0]["interrupted"], true);
    assert_eq!(m["rows"][0]["runs"], 0, "a cut-short run counts in no cell: {m}");
    assert_eq!(
        processes_mentioning(&marker),
        Vec::<String>::new(),
        "no process outlives the matrix"
    );
}

#[test]
fn bad_arguments_exit_254_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("matrix");
    let bad = tmp.path().join("bad.toml");
    let text = std::fs::read_to_string(workload("single-leader-sync"))
        .unwrap()
        .replace("replication = \"sync\"", "replication = \"telepathic\"");
    std::fs::write(&bad, text).unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (args, says) in [
        (
            vec![workload("single-leader-sync"), bad.clone()],
            bad.display().to_string(),
        ),
        (
            vec![tmp.path().join("missing.toml")],
            "no such workload".to_string(),
        ),
        (vec![empty.clone()], "no workload files".to_string()),
    ] {
        let output = Command::new(binary())
            .arg("matrix")
            .args(&args)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(254), "{args:?}: {stderr}");
        assert!(stderr.contains(&says), "{says}: {stderr}");
        assert!(!out.exists(), "nothing ran");
    }
}
