//! Reports in a real browser (headless Chromium over WebDriver): the page of a real failing run
//! (a short `faultline run` whose asynchronous follower reads turn stale under a leader
//! partition) loads without errors, shows the invalid verdict and the anomaly's operations on
//! the timeline, and its links zoom to and flash them; a 100,000-operation page stays usable.

mod report_support;

use assert_cmd::Command;
use report_support::browser::Browser;
use report_support::{binary, processes_mentioning, register_history, repo_path};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// Facts about the page, read in the browser.
const PAGE_FACTS: &str = r#"
const links = Array.from(document.querySelectorAll('table.ops a[data-ops]'));
const main = document.querySelectorAll('svg.timeline');
const mainTimeline = main[main.length - 1];
return {
  verdict: document.getElementById('verdict').textContent,
  text: document.body.innerText,
  linked: links.map(a => a.getAttribute('data-ops')),
  drawn: links.map(a => {
    const g = document.getElementById('op-' + a.getAttribute('data-ops'));
    if (!g || g.closest('svg.timeline') !== mainTimeline) return false;
    const box = g.querySelector('rect').getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  }),
  culprits: mainTimeline.querySelectorAll('rect.culprit').length,
  shades: mainTimeline.querySelectorAll('g.shade').length,
  plots: document.querySelectorAll('.plot svg').length,
  timelines: window.faultline.timelines.length,
};
"#;

/// After a click on an anomaly's link: the zoom of the main timeline, what flashes, the hash.
const AFTER_CLICK: &str = r#"
const t = window.faultline.timelines[window.faultline.timelines.length - 1];
return {
  zoom: t.k,
  flashing: Array.from(document.querySelectorAll('g.flash')).map(g => g.id),
  hash: window.location.hash,
};
"#;

#[test]
fn a_failing_runs_report_shows_the_verdict_and_the_anomalys_operations() {
    let out = tempfile::tempdir().unwrap();
    let assert = Command::new(binary())
        .arg("run")
        .arg(repo_path("workloads/single-leader-async-follower-reads.toml"))
        .args([
            // Two windows of the leader partition (from 4 s and 8 s), so a stale read is seen
            // even when a loaded machine slows the first failover.
            "--time-limit",
            "10s",
            "--faults",
            "partition-leader",
            "--rate",
            "300",
            "--seed",
            "5",
        ])
        .arg("--out")
        .arg(out.path())
        .timeout(Duration::from_secs(120))
        .assert();
    let output = assert.get_output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "the run fails: {stderr}");
    let run = out.path().join("latest").canonicalize().unwrap();
    let page = run.join("report.html");
    assert!(
        stderr.contains(&format!("Report:    {}", page.display())),
        "the summary names the report: {stderr}"
    );
    assert!(page.is_file());

    let browser = Browser::start();
    browser.goto(&file_url(&page));
    assert_eq!(
        browser.severe_logs(),
        Vec::<String>::new(),
        "the page loads without errors"
    );
    let facts = browser.script(PAGE_FACTS);
    assert_eq!(facts["verdict"], "INVALID");
    let text = facts["text"].as_str().unwrap();
    assert!(
        text.contains("expected invalid: as expected"),
        "expected vs actual"
    );
    assert!(text.contains("--seed 5"), "the command to reproduce");
    assert!(
        text.contains("linearizability anomaly 1: nonlinearizable"),
        "the anomaly"
    );
    assert!(text.contains("culprit"), "its operations, by part");
    let linked = facts["linked"].as_array().unwrap();
    assert!(!linked.is_empty(), "the anomaly lists its operations");
    assert!(
        facts["drawn"].as_array().unwrap().iter().all(|d| d == true),
        "every operation an anomaly lists is a visible bar of the timeline: {facts:#}"
    );
    assert!(
        facts["culprits"].as_u64().unwrap() >= 1,
        "the culprit is marked on the timeline"
    );
    assert!(facts["shades"].as_u64().unwrap() >= 1, "the partition is shaded");
    assert!(
        facts["plots"].as_u64().unwrap() >= 2,
        "latency and throughput plots"
    );

    // The anomaly's link zooms the run's timeline to its operations and flashes them.
    browser.click("a.op-link");
    let after = browser.script(AFTER_CLICK);
    assert!(after["zoom"].as_f64().unwrap() > 1.0, "zoomed in: {after}");
    let flashing = after["flashing"].as_array().unwrap();
    assert!(!flashing.is_empty(), "{after}");
    assert!(after["hash"].as_str().unwrap().starts_with("#op-"), "{after}");

    // Zoom controls and panning by a real mouse drag.
    browser.click("button[data-zoom=reset]");
    browser.click("button[data-zoom=in]");
    let view = "const t = window.faultline.timelines[0]; return [t.k, t.off];";
    let before = browser.script(view);
    assert_eq!(before[0].as_f64(), Some(2.0), "zoom in doubles the zoom");
    browser.drag("svg.timeline", -150);
    let after_drag = browser.script(view);
    assert!(
        after_drag[1].as_f64().unwrap() > before[1].as_f64().unwrap(),
        "dragging left pans right: {before} -> {after_drag}"
    );
    assert_eq!(
        browser.severe_logs(),
        Vec::<String>::new(),
        "no errors while zooming"
    );

    // `faultline check --html` on the same history uses the same renderer and loads cleanly.
    let check_page = out.path().join("check.html");
    Command::new(binary())
        .args(["check", "--model", "cas-register", "--html"])
        .arg(&check_page)
        .arg(run.join("history.jsonl"))
        .assert()
        .code(1);
    browser.goto(&file_url(&check_page));
    assert_eq!(browser.severe_logs(), Vec::<String>::new());
    let culprits = browser.script("return document.querySelectorAll('rect.culprit').length;");
    assert!(culprits.as_u64().unwrap() >= 1);

    let profile = browser.profile.path().display().to_string();
    drop(browser);
    assert_eq!(
        processes_mentioning(&profile),
        Vec::<String>::new(),
        "Chromium is gone"
    );
}

#[test]
fn a_100k_operation_report_loads_and_zooms_to_its_anomaly() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("large.jsonl");
    std::fs::write(&history, register_history(100_000, 70_001)).unwrap();
    Command::new(binary())
        .arg("report")
        .arg(&history)
        .args(["--model", "cas-register"])
        .assert()
        .code(0);
    let browser = Browser::start();
    browser.goto(&file_url(&dir.path().join("large.jsonl.html")));
    assert_eq!(browser.severe_logs(), Vec::<String>::new());
    let facts = browser.script(PAGE_FACTS);
    assert_eq!(facts["verdict"], "INVALID");
    assert!(facts["text"].as_str().unwrap().contains("are aggregated into"));
    assert_eq!(
        facts["linked"][0],
        Value::from("70001"),
        "the culprit is listed first"
    );
    assert!(
        facts["drawn"].as_array().unwrap().iter().all(|d| d == true),
        "{facts:#}"
    );
    browser.click("a.op-link");
    let after = browser.script(AFTER_CLICK);
    assert!(after["zoom"].as_f64().unwrap() > 100.0, "zoomed far in: {after}");
    assert!(
        after["flashing"]
            .as_array()
            .unwrap()
            .contains(&Value::from("op-70001")),
        "{after}"
    );
    // The culprit's bar is inside the visible plot area after the zoom.
    let visible = browser.script(
        "const t = window.faultline.timelines[window.faultline.timelines.length - 1];\
         const r = document.querySelector('#op-70001 rect');\
         const x = parseFloat(r.getAttribute('x')); const w = parseFloat(r.getAttribute('width'));\
         return x >= t.left - 1 && x + w <= t.left + t.plot + 1 && w >= 3;",
    );
    assert_eq!(visible, Value::Bool(true));
    assert_eq!(browser.severe_logs(), Vec::<String>::new());
}
