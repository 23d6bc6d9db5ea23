//! `faultline serve` over real HTTP on loopback: the index lists runs newest first with their
//! verdicts, a run's report and raw files are served, and every attempt to reach outside the
//! served directory (`../`, percent-encoded and double-encoded forms, absolute paths, a symlink
//! pointing out) gets a 4xx and never the file.
//!
//! The run directories here are built by the test: a committed history plus a results.json
//! written by hand in `faultline run`'s format (the real format is exercised by the report
//! browser test, which makes a real run).

mod report_support;

use report_support::{GroupGuard, binary, repo_path};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const SECRET: &str = "TOP-SECRET-MARKER-7f3a";

fn results_json(workload: &str, verdict: &str, expected: &str) -> String {
    format!(
        r#"{{"workload":"{workload}","description":"test run","seed":42,"command":"faultline run workloads/{workload}.toml --seed 42",
"started_at":"20260101T000000Z","duration_s":12.5,"interrupted":false,"mode":"SingleLeader","nodes":3,"concurrency":4,
"ops":{{"invoked":7,"ok":6,"fail":1,"info":0}},"events":14,
"faults":[{{"kind":"partition-leader","start_s":1.0,"end_s":3.0,"detail":{{"node":"n1"}}}},{{"kind":"kill","start_s":4.0,"end_s":null,"detail":{{"node":"n2"}}}}],
"expected":"{expected}","because":"","verdict":"{verdict}","expectation_met":{},"exit_code":1,
"checkers":[{{"checker":"linearizability","model":"register","verdict":"{verdict}","summary":"s","anomalies":[],"stats":{{}}}}]}}"#,
        verdict == expected
    )
}

/// A served directory with two finished runs, one unfinished, `latest`, and a symlink out.
fn served_dir(base: &Path) -> std::path::PathBuf {
    let runs = base.join("runs");
    for (name, workload, verdict, expected, history) in [
        (
            "20260101T000000Z-older",
            "single-leader-sync",
            "valid",
            "valid",
            "register-valid.jsonl",
        ),
        (
            "20260102T000000Z-newer",
            "leaderless-r1-w1",
            "invalid",
            "invalid",
            "register-stale-read.jsonl",
        ),
    ] {
        let dir = runs.join(name);
        std::fs::create_dir_all(dir.join("nodes")).unwrap();
        std::fs::copy(
            repo_path(&format!("histories/{history}")),
            dir.join("history.jsonl"),
        )
        .unwrap();
        std::fs::write(
            dir.join("results.json"),
            results_json(workload, verdict, expected),
        )
        .unwrap();
        std::fs::write(dir.join("nodes/n1.log"), "node n1 log\n").unwrap();
    }
    let unfinished = runs.join("20260103T000000Z-unfinished");
    std::fs::create_dir_all(&unfinished).unwrap();
    std::fs::copy(
        repo_path("histories/register-valid.jsonl"),
        unfinished.join("history.jsonl"),
    )
    .unwrap();
    std::os::unix::fs::symlink("20260102T000000Z-newer", runs.join("latest")).unwrap();
    std::fs::write(base.join("secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(base, runs.join("escape")).unwrap();
    std::os::unix::fs::symlink(base.join("secret.txt"), runs.join("secret-link")).unwrap();
    runs
}

/// One raw HTTP/1.1 GET, with the path sent exactly as given: (status, body).
fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {reply:?}"));
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn start(dir: &Path) -> (GroupGuard, u16) {
    let mut cmd = Command::new(binary());
    cmd.arg("serve").arg(dir).args(["--listen", "127.0.0.1:0"]);
    let mut server = GroupGuard::spawn(cmd);
    let line = server.wait_for_line("faultline serve: http://", Duration::from_secs(30));
    let port = line
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (server, port)
}

#[test]
fn lists_runs_newest_first_and_serves_reports_and_raw_files() {
    let base = tempfile::tempdir().unwrap();
    let runs = served_dir(base.path());
    let (_server, port) = start(&runs);

    let (status, index) = get(port, "/");
    assert_eq!(status, 200);
    let newer = index.find("20260102T000000Z-newer").expect("newer run listed");
    let older = index.find("20260101T000000Z-older").expect("older run listed");
    let unfinished = index
        .find("20260103T000000Z-unfinished")
        .expect("unfinished run listed");
    assert!(unfinished < newer && newer < older, "newest first");
    assert_eq!(
        index.matches("20260102T000000Z-newer/report.html").count(),
        1,
        "latest is not listed twice"
    );
    assert!(index.contains("<tr class=\"invalid\">") && index.contains("<tr class=\"valid\">"));
    assert!(index.contains("leaderless-r1-w1") && index.contains("2 (partition-leader, kill)"));
    assert!(index.contains("12.5 s") && index.contains("7 (6 ok, 1 fail, 0 info)"));
    assert!(index.contains("no results.json"));
    assert!(index.contains("href=\"/runs/20260102T000000Z-newer/nodes/n1.log\""));

    // A run without report.html gets one drawn on the fly.
    let (status, page) = get(port, "/runs/20260102T000000Z-newer/report.html");
    assert_eq!(status, 200);
    assert!(page.contains("id=\"verdict\">INVALID</span>") && page.contains("<svg class=\"timeline\""));
    // One written by `faultline report` is served as written.
    let run = runs.join("20260101T000000Z-older");
    assert_eq!(
        Command::new(binary())
            .arg("report")
            .arg(&run)
            .output()
            .unwrap()
            .status
            .code(),
        Some(0)
    );
    let (status, page) = get(port, "/runs/20260101T000000Z-older/report.html");
    assert_eq!(
        (status, page),
        (200, std::fs::read_to_string(run.join("report.html")).unwrap())
    );

    let (status, body) = get(port, "/runs/latest/history.jsonl");
    assert_eq!(status, 200, "links inside the directory are followed");
    assert_eq!(
        body,
        std::fs::read_to_string(repo_path("histories/register-stale-read.jsonl")).unwrap()
    );
    assert_eq!(
        get(port, "/runs/20260101T000000Z-older/nodes/n1.log"),
        (200, "node n1 log\n".into())
    );
    assert_eq!(get(port, "/runs/20260101T000000Z-older/missing.json").0, 404);
    assert_eq!(get(port, "/nothing-here").0, 404);
}

#[test]
fn paths_outside_the_served_directory_are_refused() {
    let base = tempfile::tempdir().unwrap();
    let runs = served_dir(base.path());
    let (_server, port) = start(&runs);
    for path in [
        "/runs/../secret.txt",
        "/runs/../../../../../../etc/passwd",
        "/runs/20260101T000000Z-older/../../secret.txt",
        "/runs/%2e%2e/secret.txt",
        "/runs/%2e%2e%2fsecret.txt",
        "/runs/%2E%2E%2Fsecret.txt",
        "/runs/..%2fsecret.txt",
        "/runs/20260101T000000Z-older/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/runs/%252e%252e%252fsecret.txt",
        "/runs//etc/passwd",
        "/runs/%2fetc%2fpasswd",
        "/runs/escape/secret.txt",
        "/runs/secret-link",
        "/runs/.%2e/secret.txt",
        "/runs/..\\secret.txt",
        "/runs/%00/secret.txt",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
    ] {
        let (status, body) = get(port, path);
        assert!((400..500).contains(&status), "{path}: status {status}");
        assert!(
            !body.contains(SECRET) && !body.contains("root:"),
            "{path} leaked: {body}"
        );
    }
}

#[test]
fn a_missing_directory_is_bad_input() {
    let out = Command::new(binary())
        .args(["serve", "/nonexistent/runs", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/runs"));
}
