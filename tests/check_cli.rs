//! End-to-end tests of `faultline check` through the real binary: the hand-made histories in
//! `histories/` (expected verdicts in `histories/expected.tsv`), bad input, `--json`, `--html`,
//! `--timeout`, `--all-keys`, and several files at once.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn faultline() -> Command {
    let mut cmd = Command::cargo_bin("faultline").expect("the faultline binary is built");
    cmd.current_dir(root());
    cmd
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let out = faultline().args(args).output().expect("faultline runs");
    Output {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

#[test]
fn hand_made_histories_get_their_expected_verdicts() {
    let table = std::fs::read_to_string(root().join("histories/expected.tsv")).expect("expected.tsv");
    let mut rows = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, model, expected) = (cols[0], cols[1], cols[2]);
        let path = format!("histories/{file}");
        // Model "infer:M": no --model; the model inferred from the history must be M.
        let mut args = vec!["check", path.as_str()];
        let inferred = model.strip_prefix("infer:");
        if inferred.is_none() {
            args.extend(["--model", model]);
        }
        if let Some(extra) = cols.get(3) {
            args.extend(extra.split_whitespace());
        }
        let out = run(&args);
        let code = match expected {
            "valid" => 0,
            "invalid" => 1,
            "unknown" => 2,
            other => panic!("bad expected verdict {other} in expected.tsv"),
        };
        assert_eq!(
            out.code, code,
            "{args:?}\nstdout: {}\nstderr: {}",
            out.stdout, out.stderr
        );
        let first = out.stdout.lines().next().unwrap_or_default();
        assert!(first.starts_with(&format!("{path}: ")), "{first}");
        let model = match inferred {
            Some(want) => {
                let said = format!("faultline: {path}: no --model given: checking as {want} (");
                assert!(
                    out.stderr.lines().any(|l| l.starts_with(&said)),
                    "{args:?}: expected \"{said}\" in: {}",
                    out.stderr
                );
                want
            }
            None => model,
        };
        assert!(first.contains(&expected.to_uppercase()), "{first}");
        if expected == "invalid" {
            let explanation = match model {
                "register" | "cas-register" => "1. The longest linearizable prefix",
                _ => "Anomaly 1 — ",
            };
            assert!(out.stdout.contains(explanation), "{}", out.stdout);
        }
        rows += 1;
    }
    assert!(rows >= 10, "expected.tsv lists {rows} rows");
}

#[test]
fn a_stale_read_is_explained_in_words() {
    let out = run(&[
        "check",
        "histories/register-stale-read.jsonl",
        "--model",
        "register",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains(
            "process 3 wrote 7 to k1 and was acknowledged at t=1.200s, after every write of 4 to k1 had completed; \
             process 5 read k1 at t=1.400s, after that write, and saw 4."
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 of 2 keys failed (k1)"), "{}", out.stdout);
}

#[test]
fn several_files_print_one_line_each_and_exit_with_the_worst_code() {
    let out = run(&[
        "check",
        "histories/register-valid.jsonl",
        "histories/cas-invalid.edn",
        "histories/cas-valid.edn",
    ]);
    assert_eq!(out.code, 1);
    let heads: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("histories/"))
        .collect();
    assert_eq!(heads.len(), 3, "{}", out.stdout);
    assert!(heads[0].starts_with("histories/register-valid.jsonl: ") && heads[0].contains("VALID"));
    assert!(heads[1].starts_with("histories/cas-invalid.edn: ") && heads[1].contains("INVALID"));
    assert!(heads[2].starts_with("histories/cas-valid.edn: ") && heads[2].contains("VALID"));

    // Bad input outranks invalid, and the other files are still checked.
    let out = run(&[
        "check",
        "histories/cas-invalid.edn",
        "tests/data/bad-json.jsonl",
        "histories/cas-valid.edn",
    ]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert_eq!(
        out.stdout.lines().filter(|l| l.starts_with("histories/")).count(),
        2
    );
}

#[test]
fn bad_input_exits_254_naming_file_and_line() {
    let cases = [
        (
            "tests/data/bad-cas-shape.jsonl",
            vec![],
            "tests/data/bad-cas-shape.jsonl:3:",
            "[expected new]",
        ),
        (
            "tests/data/bad-unpaired.edn",
            vec![],
            "tests/data/bad-unpaired.edn:3:",
            "no invocation in flight",
        ),
        (
            "tests/data/bad-unknown-f.jsonl",
            vec!["--model", "cas-register"],
            "tests/data/bad-unknown-f.jsonl:1:",
            "f=\"append\"",
        ),
        (
            "tests/data/bad-json.jsonl",
            vec![],
            "tests/data/bad-json.jsonl:2:",
            "not a valid history event",
        ),
        (
            "histories/cas-valid.edn",
            vec!["--model", "register"],
            "histories/cas-valid.edn:4:",
            "--model cas-register",
        ),
        (
            "histories/register-valid.jsonl",
            vec!["--independent"],
            "register-valid.jsonl:1:",
            "[key value]",
        ),
        (
            "histories/cas-valid.edn",
            vec!["--format", "jsonl"],
            "histories/cas-valid.edn:1:",
            "",
        ),
        (
            "histories/set-valid.edn",
            vec!["--model", "unordered-queue"],
            "histories/set-valid.edn:2:",
            "expects f = enqueue, dequeue or drain, found f = \"add\"",
        ),
        (
            "histories/register-valid.jsonl",
            vec!["--model", "long-fork"],
            "histories/register-valid.jsonl:1:",
            "a long-fork transaction is one write",
        ),
        (
            "histories/no-such-file.jsonl",
            vec![],
            "histories/no-such-file.jsonl: cannot read",
            "",
        ),
    ];
    for (file, extra, location, needle) in cases {
        let mut args = vec!["check", file];
        args.extend(extra);
        let out = run(&args);
        assert_eq!(out.code, 254, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(location), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
}

#[test]
fn bad_arguments_exit_254() {
    for args in [
        vec!["check", "histories/cas-valid.edn", "--model", "list-append-ish"],
        vec!["check", "histories/cas-valid.edn", "--timeout", "-1"],
        vec!["check", "histories/cas-valid.edn", "--initial", "{oops"],
        vec!["check", "histories/cas-valid.edn", "--failed-cas", "maybe"],
        vec!["check"],
    ] {
        let out = run(&args);
        assert_eq!(out.code, 254, "{args:?}: {}", out.stderr);
    }
}

#[test]
fn json_output_is_machine_readable() {
    let out = run(&[
        "check",
        "histories/register-stale-read.jsonl",
        "histories/cas-valid.edn",
        "--json",
    ]);
    assert_eq!(out.code, 1);
    let doc: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["verdict"], "invalid");
    assert_eq!(doc["exit_code"], 1);
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["verdict"], "valid");
    let report = &files[0]["report"];
    assert_eq!(report["checker"], "linearizability");
    assert_eq!(report["verdict"], "invalid");
    assert_eq!(report["details"]["invalid_keys"], serde_json::json!(["k1"]));
    let anomaly = &report["anomalies"][0];
    assert_eq!(anomaly["kind"], "nonlinearizable");
    assert_eq!(anomaly["key"], "k1");
    let details = &anomaly["details"];
    assert_eq!(details["culprit"]["process"], 5);
    assert_eq!(details["culprit"]["value"], 4);
    assert_eq!(details["culprit"]["invoke_index"], 6);
    assert_eq!(details["culprit"]["invoke_time"], 1_400_000_000u64);
    assert_eq!(details["state_after_longest"], 7);
    let longest: Vec<u64> = details["longest_linearization"]
        .as_array()
        .expect("longest")
        .iter()
        .map(|op| op["invoke_index"].as_u64().expect("index"))
        .collect();
    assert_eq!(longest, vec![0, 4]);

    let bad = run(&["check", "tests/data/bad-json.jsonl", "--json"]);
    assert_eq!(bad.code, 254);
    let doc: Value = serde_json::from_str(&bad.stdout).expect("JSON even for bad input");
    assert_eq!(doc["files"][0]["line"], 2);
    assert_eq!(doc["files"][0]["exit_code"], 254);
}

fn temp_html() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("timeline.html");
    (dir, path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("the HTML file was written")
}

#[test]
fn html_timeline_of_the_failing_key() {
    let (_dir, path) = temp_html();
    let path_arg = path.to_str().expect("utf-8 path");
    let out = run(&["check", "histories/register-stale-read.jsonl", "--html", path_arg]);
    assert_eq!(out.code, 1);
    let html = read(&path);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("k1 is not linearizable"));
    assert!(html.contains("<svg"));
    // Lanes for the processes of k1 only (1, 3, 5), the culprit and the longest order marked.
    for lane in ["process 1", "process 3", "process 5"] {
        assert!(html.contains(&format!(">{lane}</text>")), "{lane}");
    }
    assert!(!html.contains(">process 2</text>"), "process 2 only touched k2");
    assert_eq!(html.matches("culprit\" x=").count(), 1);
    assert!(html.contains(">#1</text>") && html.contains(">#2</text>"));
    assert!(html.contains("r 4"));
    for external in ["src=", "<link", "@import", "url("] {
        assert!(!html.contains(external), "no external assets: found {external}");
    }

    let out = run(&["check", "histories/cas-valid.edn", "--html", path_arg]);
    assert_eq!(out.code, 0);
    assert!(read(&path).contains("No failing key to draw."));

    let out = run(&[
        "check",
        "histories/cas-valid.edn",
        "--html",
        "/nonexistent-dir/t.html",
    ]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot write the HTML timeline to /nonexistent-dir/t.html")
    );
}

#[test]
fn timeout_gives_unknown_never_valid() {
    // A long single-key history: the search needs far more steps than the budget allows.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("long.jsonl");
    let mut text = String::new();
    for i in 0..20_000u64 {
        let p = i % 4;
        text.push_str(&format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"write\",\"value\":{i}}}\n"
        ));
        text.push_str(&format!(
            "{{\"process\":{p},\"type\":\"ok\",\"f\":\"write\",\"value\":{i}}}\n"
        ));
    }
    std::fs::write(&path, text).expect("write history");
    let file = path.to_str().expect("utf-8 path");
    let out = run(&["check", file, "--timeout", "0.000000001"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("UNKNOWN"), "{}", out.stdout);
    assert!(out.stdout.contains("time budget"), "{}", out.stdout);
    let out = run(&["check", file]);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let out = run(&["check", file, "--timeout", "0"]);
    assert_eq!(
        out.code, 0,
        "--timeout 0 is no limit: {}{}",
        out.stdout, out.stderr
    );
}

#[test]
fn a_timeout_reports_the_keys_it_decided() {
    // k1: one small key, decided in fewer steps than the search checks its clock after; k2: a
    // long key, cut short by the budget.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("two-keys.jsonl");
    let mut text = String::new();
    let mut line = |p: u64, ty: &str, f: &str, v: u64, key: &str| {
        text.push_str(&format!(
            "{{\"process\":{p},\"type\":\"{ty}\",\"f\":\"{f}\",\"value\":{v},\"key\":\"{key}\"}}\n"
        ));
    };
    line(9, "invoke", "write", 1, "k1");
    line(9, "ok", "write", 1, "k1");
    for i in 0..40_000u64 {
        line(i % 4, "invoke", "write", i, "k2");
        line(i % 4, "ok", "write", i, "k2");
    }
    std::fs::write(&path, text).expect("write history");
    let file = path.to_str().expect("utf-8 path");
    let out = run(&[
        "check",
        file,
        "--timeout",
        "0.000000001",
        "--threads",
        "1",
        "--json",
    ]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let details = &json["files"][0]["report"]["details"];
    assert_eq!(
        details["linearizable_keys"],
        serde_json::json!(["k1"]),
        "{details}"
    );
    assert_eq!(details["unknown_keys"], serde_json::json!(["k2"]), "{details}");
}

#[test]
fn the_check_stops_at_the_first_failing_key_unless_all_keys() {
    // k1 fails (a stale read); k2 is linearizable. One thread takes k1 first (refuted by a
    // pre-check) and then stops.
    let file = "histories/register-stale-read.jsonl";
    let out = run(&["check", file, "--model", "register", "--threads", "1", "--json"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let report = &json["files"][0]["report"];
    assert_eq!(report["details"]["not_searched_keys"], serde_json::json!(["k2"]));
    assert!(
        report["summary"]
            .as_str()
            .is_some_and(|s| s.contains("1 not searched (k2)")),
        "{report}"
    );
    let out = run(&[
        "check",
        file,
        "--model",
        "register",
        "--threads",
        "1",
        "--all-keys",
        "--json",
    ]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let json: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let details = &json["files"][0]["report"]["details"];
    assert_eq!(details["not_searched_keys"], serde_json::json!([]));
    assert_eq!(details["invalid_keys"], serde_json::json!(["k1"]));
}

#[test]
fn without_model_an_unsure_inference_is_bad_input_naming_the_models() {
    let choices = "pass --model (register, cas-register, list-append, rw-register, set, set-full, counter, bank, unordered-queue, long-fork, mutex, fifo-queue, multi-register)";
    for (file, needle) in [
        ("tests/data/infer-empty.jsonl", "no client operations"),
        (
            "tests/data/infer-mixed.jsonl",
            "no model fits operations txn micro-op \"append\", txn micro-op \"w\"",
        ),
    ] {
        let out = run(&["check", file]);
        assert_eq!(out.code, 254, "{file}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(&format!("{file}: cannot infer the model")),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains(needle), "{}", out.stderr);
        assert!(out.stderr.contains(choices), "{}", out.stderr);
    }
    // A flag of another model is an error once the model is inferred, naming it.
    let out = run(&["check", "histories/cas-valid.edn", "--no-realtime"]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--no-realtime does not apply to --model cas-register")
            && out
                .stderr
                .contains("inferred from the history: read, write and cas operations"),
        "{}",
        out.stderr
    );
    // --json says what was inferred.
    let out = run(&["check", "histories/elle-no-f-list-append-valid.edn", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["files"][0]["model"], "list-append");
    assert_eq!(doc["files"][0]["model_inferred"], true);
    assert_eq!(
        doc["files"][0]["model_inferred_from"],
        "transactions with appends"
    );
    let out = run(&[
        "check",
        "histories/cas-valid.edn",
        "--model",
        "cas-register",
        "--json",
    ]);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["files"][0]["model_inferred"], false);
}

#[test]
fn completion_only_histories_say_what_was_not_checked_and_registers_refuse_them() {
    let file = "histories/completion-only-list-append-valid.edn";
    let out = run(&["check", file]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "no op is an invocation (a completion-only history): no real-time or process order is inferred"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout
            .contains("read-your-writes     UNKNOWN (not checked: read-your-writes: needs invocations)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("consistent-prefix    VALID"),
        "{}",
        out.stdout
    );
    let out = run(&["check", file, "--json"]);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let f = &doc["files"][0];
    assert_eq!(f["completion_only"], true);
    assert_eq!(f["report"]["details"]["completion_only"], true);
    let strict = &f["report"]["details"]["models"][0];
    assert_eq!(strict["model"], "strict-serializable");
    assert_eq!(strict["verdict"], "unknown");
    assert!(
        strict["not_checked"]
            .as_array()
            .is_some_and(|a| a.contains(&Value::from("G-single-realtime"))),
        "{strict}"
    );
    // Histories with invocations say nothing of it.
    let out = run(&["check", "histories/elle-no-f-list-append-valid.edn", "--json"]);
    let doc: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["files"][0]["completion_only"], false);
    assert!(
        doc["files"][0]["report"]["details"]["models"][0]
            .get("not_checked")
            .is_none()
    );
    // Linearizability needs invocations: the register models refuse.
    for model in ["register", "cas-register"] {
        let out = run(&[
            "check",
            "histories/completion-only-register.jsonl",
            "--model",
            model,
        ]);
        assert_eq!(out.code, 254, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("completion-only-register.jsonl: no op is an invocation")
                && out.stderr.contains("register and cas-register cannot check it"),
            "{}",
            out.stderr
        );
    }
    let out = run(&[
        "check",
        "histories/completion-only-list-append-valid.edn",
        "--model",
        "rw-register",
        "--linearizable-keys",
    ]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(out.stderr.contains("completion-only history"), "{}", out.stderr);
}

#[test]
fn initial_is_rw_registers_starting_value_and_refused_where_it_means_nothing() {
    // A write of the initial value would make a read of it ambiguous.
    let out = run(&[
        "check",
        "histories/rw-register-initial-lost-update.jsonl",
        "--initial",
        "1",
    ]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("rw-register-initial-lost-update.jsonl:3: micro-op 2: writes 1, the --initial value"),
        "{}",
        out.stderr
    );
    // With --initial, a nil read is no longer the initial state.
    let file = "tests/data/rw-register-nil-read.jsonl";
    let out = run(&["check", file, "--model", "rw-register"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let out = run(&["check", file, "--model", "rw-register", "--initial", "0"]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "rw-register-nil-read.jsonl:2: micro-op 1: reads nil, but with --initial every key starts as 0"
        ),
        "{}",
        out.stderr
    );
    // list-append: every list starts empty.
    let out = run(&[
        "check",
        "histories/elle-json-list-append-valid.json",
        "--initial",
        "[]",
    ]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--initial does not apply to --model list-append")
            && out.stderr.contains("every list of list-append starts empty"),
        "{}",
        out.stderr
    );
}

#[test]
fn independent_tuples_of_transactions_are_checked_key_by_key() {
    let out = run(&["check", "histories/independent-list-append-g1c.jsonl"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("2 independent keys checked one by one; 1 invalid (2)")
            && out.stdout.contains("In the transactions of independent key 2:")
            && out.stdout.contains("strict-serializable  INVALID (G1c)"),
        "{}",
        out.stdout
    );
    // With --model named, JSON Lines load lean (values as text): the tuples are still split.
    let out = run(&[
        "check",
        "histories/independent-list-append-g1c.jsonl",
        "--model",
        "list-append",
    ]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("1 invalid (2)"), "{}", out.stdout);
    let out = run(&[
        "check",
        "histories/independent-list-append.edn",
        "--model",
        "list-append",
        "--independent",
    ]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // --independent insists on tuples.
    let out = run(&[
        "check",
        "histories/list-append-wfr-same-txn.jsonl",
        "--model",
        "list-append",
        "--independent",
    ]);
    assert_eq!(out.code, 254, "{}", out.stderr);
    assert!(
        out.stderr.contains("list-append-wfr-same-txn.jsonl:1: ")
            && out.stderr.contains("not a jepsen.independent tuple"),
        "{}",
        out.stderr
    );
}
