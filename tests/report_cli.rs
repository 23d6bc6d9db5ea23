//! `faultline report` from the command line: pages of history files (with and without a
//! checker), a 100,000-operation history drawn within bounds and saying what it aggregated, bad
//! input refused with exit 254, and `faultline check --html` still drawing its timeline.

mod report_support;

use assert_cmd::Command;
use report_support::{binary, register_history, repo_path};
use std::path::Path;

fn report(args: &[&str], path: &Path) -> std::process::Output {
    Command::new(binary())
        .arg("report")
        .arg(path)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_history_file_alone_gets_a_page_with_a_checker_chosen_by_flag() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("stale.jsonl");
    std::fs::copy(repo_path("histories/register-stale-read.jsonl"), &history).unwrap();

    let out = report(&[], &history);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page_path = dir.path().join("stale.jsonl.html");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        page_path.display().to_string()
    );
    let page = std::fs::read_to_string(&page_path).unwrap();
    assert!(page.contains(">NOT CHECKED</span>"), "no checker ran");
    assert!(page.contains("<svg class=\"timeline\""));
    assert!(page.contains("latency of write operations"), "plots are drawn");

    let custom = dir.path().join("custom.html");
    let out = report(
        &["--model", "register", "--out", custom.to_str().unwrap()],
        &history,
    );
    assert_eq!(out.status.code(), Some(0));
    let page = std::fs::read_to_string(&custom).unwrap();
    assert!(
        page.contains("id=\"verdict\">INVALID</span>"),
        "the chosen checker's verdict"
    );
    assert!(page.contains("linearizability anomaly 1: nonlinearizable (lost write) on key k1"));
    assert!(
        page.contains("class=\"bar ok culprit\""),
        "the culprit is marked on the timeline"
    );
}

#[test]
fn a_100k_operation_history_is_drawn_within_bounds_and_says_what_it_aggregated() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("large.jsonl");
    std::fs::write(&history, register_history(100_000, 70_001)).unwrap();
    let out = report(&["--model", "cas-register"], &history);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(dir.path().join("large.jsonl.html")).unwrap();
    assert!(page.contains("id=\"verdict\">INVALID</span>"));
    assert!(
        page.len() < 12 << 20,
        "the page stays small enough to open: {} bytes",
        page.len()
    );
    // The culprit (op 70001) is drawn one by one, marked, and linked from its anomaly.
    assert!(
        page.contains("<g id=\"op-70001\"><title>"),
        "the culprit has its own bar"
    );
    assert!(page.contains("data-ops=\"70001\""), "and a link to it");
    let bars = page.matches("<g id=\"op-").count();
    assert!((1_000..=4_200).contains(&bars), "{bars} single bars");
    assert!(
        page.contains("This history has 100,000 operations"),
        "the page says what it left out"
    );
    assert!(page.contains("are aggregated into"));
    assert!(page.contains("class=\"block "), "the rest is drawn as blocks");
    assert!(
        page.contains("processes share"),
        "info outcomes made new processes that share lanes"
    );
    assert!(page.contains(">partition-leader n1</text>") && page.contains(">kill n2</text>"));
    assert!(
        page.contains("of 33,"),
        "latency points are sampled, and the note says so"
    );
}

#[test]
fn bad_input_is_refused_with_exit_254() {
    let dir = tempfile::tempdir().unwrap();
    let out = report(&[], &dir.path().join("missing"));
    assert_eq!(out.status.code(), Some(254));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such run directory or history file"));

    // A run directory without a history.
    let out = report(&[], dir.path());
    assert_eq!(
        out.status.code(),
        Some(254),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A malformed results.json names the file.
    std::fs::copy(
        repo_path("histories/register-valid.jsonl"),
        dir.path().join("history.jsonl"),
    )
    .unwrap();
    std::fs::write(dir.path().join("results.json"), "{\"verdict\": 7}").unwrap();
    let out = report(&[], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(254), "{stderr}");
    assert!(stderr.contains("results.json"), "{stderr}");

    // Without results.json the page still renders, and says the run did not finish.
    std::fs::remove_file(dir.path().join("results.json")).unwrap();
    let out = report(&[], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let page = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(page.contains("no results.json: the run did not finish"));
}

#[test]
fn check_html_still_draws_the_failing_key() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("check.html");
    Command::new(binary())
        .args(["check", "--model", "register", "--html"])
        .arg(&html)
        .arg(repo_path("histories/register-stale-read.jsonl"))
        .assert()
        .code(1);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("class=\"bar ok culprit\""));
    assert!(
        page.contains("data-zoom=\"in\""),
        "the shared renderer brings zoom controls"
    );
}
