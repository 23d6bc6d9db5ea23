//! End-to-end tests of the object models (`mutex`, `fifo-queue`, `multi-register`) through the
//! real binary: wrong op shapes are bad input naming file, line and problem (exit 254); the
//! JSON report has the same shape as the register models'; `--html` draws the failing key;
//! flags of other models are refused. Verdicts on the hand-made histories are in
//! `histories/expected.tsv` (run by `check_cli.rs`).

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("faultline")
        .expect("the faultline binary is built")
        .current_dir(root())
        .args(args)
        .output()
        .expect("faultline runs");
    (
        out.status.code().expect("exited normally"),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn wrong_op_shapes_are_bad_input_naming_file_line_and_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "lock.jsonl",
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"acquire\",\"value\":null}\n{\"process\":0,\"type\":\"ok\",\"f\":\"acquire\",\"value\":null}\n{\"process\":0,\"type\":\"invoke\",\"f\":\"unlock\",\"value\":null}\n",
            "mutex",
            ":3:",
            "f=\"unlock\" is not an operation of the mutex model (expected acquire, release)",
        ),
        (
            "queue.edn",
            "{:process 0 :type :invoke :f :enqueue :value nil}\n{:process 0 :type :ok :f :enqueue :value nil}\n",
            "fifo-queue",
            ":1:",
            "an enqueue's value must not be nil",
        ),
        (
            "elle.edn",
            "{:process 0 :type :invoke :f :txn :value [[:w :x 1]]}\n{:process 0 :type :ok :f :txn :value [[:w :x 1]]}\n",
            "multi-register",
            ":1:",
            "micro-op \"w\" is not a multi-register micro-op (expected read or write); rw-register histories are checked with --model rw-register",
        ),
        (
            "short.edn",
            "{:process 0 :type :invoke :f :txn :value [[:read :x nil]]}\n{:process 0 :type :ok :f :txn :value [[:read :x]]}\n",
            "multi-register",
            ":2:",
            "a micro-op must be a three-element list [f k v], found [\"read\",\"x\"]",
        ),
        (
            "notxn.edn",
            "{:process 0 :type :invoke :f :txn :value 3}\n{:process 0 :type :ok :f :txn :value 3}\n",
            "multi-register",
            ":1:",
            "a multi-register transaction must be a list of [f k v] micro-ops",
        ),
    ];
    for (name, text, model, line, needle) in cases {
        let file = write(dir.path(), name, text);
        let (code, stdout, stderr) = run(&["check", &file, "--model", model]);
        assert_eq!(code, 254, "{name}: {stdout}{stderr}");
        assert!(
            stderr.contains(&format!("{file}{line} {needle}")),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Independent tuples are required with --independent.
    let (code, _, stderr) = run(&[
        "check",
        "histories/mutex-double-acquire.jsonl",
        "--model",
        "mutex",
        "--independent",
    ]);
    assert_eq!(code, 254, "{stderr}");
    assert!(
        stderr.contains(
            "mutex-double-acquire.jsonl:1: with --independent, a value must be a [key value] tuple"
        ),
        "{stderr}"
    );
    // Flags of other models are refused.
    let (code, _, stderr) = run(&[
        "check",
        "histories/fifo-queue-valid.jsonl",
        "--model",
        "fifo-queue",
        "--initial",
        "0",
    ]);
    assert_eq!(code, 254, "{stderr}");
    assert!(
        stderr.contains("--initial does not apply to --model fifo-queue"),
        "{stderr}"
    );
}

#[test]
fn the_json_report_names_the_culprit_and_the_longest_prefix() {
    let (code, stdout, stderr) = run(&[
        "check",
        "histories/fifo-queue-reordered.edn",
        "--model",
        "fifo-queue",
        "--json",
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let json: Value = serde_json::from_str(&stdout).expect("JSON");
    let report = &json["files"][0]["report"];
    assert_eq!(report["checker"], "linearizability");
    assert_eq!(report["model"], "fifo-queue");
    assert_eq!(report["verdict"], "invalid");
    let anomaly = &report["anomalies"][0];
    assert_eq!(anomaly["kind"], "nonlinearizable");
    let details = &anomaly["details"];
    assert_eq!(details["culprit"]["value"], 2);
    assert_eq!(details["culprit"]["invoke_line"], 6);
    assert_eq!(details["longest_linearization"].as_array().map(Vec::len), Some(2));
    assert_eq!(details["state_after_longest"], serde_json::json!([1, 2]));
    assert!(
        anomaly["steps"][1]
            .as_str()
            .unwrap_or_default()
            .contains("2 is in the queue, but behind 1")
    );
}

#[test]
fn the_html_page_draws_the_failing_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("t.html");
    let html_arg = html.display().to_string();
    let (code, _, stderr) = run(&[
        "check",
        "histories/multi-register-torn.jsonl",
        "--html",
        &html_arg,
    ]);
    assert_eq!(code, 1, "{stderr}");
    let page = std::fs::read_to_string(&html).expect("page written");
    assert!(page.contains("is not linearizable"), "no section in the page");
    assert!(page.contains("process 1"), "no lane for process 1");
}

#[test]
fn a_time_budget_of_zero_is_no_limit_and_is_accepted() {
    let (code, stdout, stderr) = run(&[
        "check",
        "histories/mutex-valid.edn",
        "--timeout",
        "0",
        "--memory-budget",
        "64",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}
