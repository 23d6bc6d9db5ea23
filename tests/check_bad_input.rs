//! Bad input through the real `faultline check`: each is a clear error naming the file (and
//! line), exit 254, never a crash, a stack overflow, unbounded memory or a quote of a huge value.

use assert_cmd::Command;

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

fn check(args: &[&str]) -> Output {
    let out = Command::cargo_bin("faultline")
        .expect("the faultline binary is built")
        .arg("check")
        .args(args)
        .output()
        .expect("faultline runs");
    Output {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write the history");
    path.display().to_string()
}

#[test]
fn a_long_chain_of_edn_discards_is_an_error_not_a_stack_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[{}{{:type :invoke, :f :read, :process 0}}]\n",
        "#_ ".repeat(60_000)
    );
    let path = write(&dir, "discards.edn", &text);
    let out = check(&[&path, "--model", "register"]);
    assert_eq!(out.code, 254, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    assert!(out.stderr.contains(&format!("{path}:1:")), "{}", out.stderr);
    assert!(out.stderr.contains("#_ discards"), "{}", out.stderr);
}

#[test]
fn an_edn_op_map_with_a_duplicate_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "dup.edn",
        "[{:type :invoke, :f :write, :value 1, :process 0}\n {:type :ok, :f :write, :value 1, :process 0, :value 1}]\n",
    );
    let out = check(&[&path, "--model", "register"]);
    assert_eq!(out.code, 254, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(&format!("{path}:2:")) && out.stderr.contains("the key value twice"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_error_quotes_at_most_a_few_hundred_bytes_of_a_huge_value() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(5_000_000);
    let jsonl = write(
        &dir,
        "huge.jsonl",
        &format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"{huge}\"}}\n{{\"process\":0,\"type\":[\"{huge}\"],\"f\":\"read\"}}\n"
        ),
    );
    let out = check(&[&jsonl, "--model", "register"]);
    assert_eq!(
        out.code,
        254,
        "stderr: {}",
        &out.stderr[..out.stderr.len().min(2000)]
    );
    assert!(
        out.stderr.contains(&format!("{jsonl}:")),
        "{}",
        &out.stderr[..500]
    );
    assert!(out.stderr.len() < 1000, "stderr is {} bytes", out.stderr.len());
    let edn = write(
        &dir,
        "huge.edn",
        &format!("{{:type :invoke, :f :read, :process [\"{huge}\"]}}\n"),
    );
    let out = check(&[&edn, "--model", "register"]);
    assert_eq!(out.code, 254);
    assert!(out.stderr.contains(":process must be"), "{}", &out.stderr[..500]);
    assert!(out.stderr.len() < 1000, "stderr is {} bytes", out.stderr.len());
    let cas = write(
        &dir,
        "huge-cas.jsonl",
        &format!("{{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":\"{huge}\"}}\n"),
    );
    let out = check(&[&cas, "--model", "cas-register"]);
    assert_eq!(out.code, 254);
    assert!(
        out.stderr.contains("a cas value must be"),
        "{}",
        &out.stderr[..500]
    );
    assert!(out.stderr.len() < 1000, "stderr is {} bytes", out.stderr.len());
}

#[test]
fn an_endless_device_is_refused_with_a_clear_error() {
    let out = check(&["/dev/zero", "--model", "register"]);
    assert_eq!(out.code, 254, "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("/dev/zero:1:") && out.stderr.contains("not a text history"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_flag_that_does_not_apply_to_the_model_is_an_error() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "histories/list-append-wfr-same-txn.jsonl",
                "--model",
                "list-append",
                "--initial",
                "0",
            ],
            "--initial does not apply to --model list-append",
        ),
        (
            &[
                "histories/rw-register-non-repeatable-read.jsonl",
                "--model",
                "rw-register",
                "--all-keys",
                "--timeout",
                "5",
            ],
            "--all-keys, --timeout do not apply to --model rw-register",
        ),
        (
            &[
                "histories/register-valid.jsonl",
                "--model",
                "register",
                "--consistency-model",
                "serializable",
            ],
            "--consistency-model does not apply to --model register",
        ),
        (
            &[
                "histories/register-valid.jsonl",
                "--model",
                "register",
                "--failed-cas",
                "read",
            ],
            "--failed-cas does not apply to --model register",
        ),
    ];
    for (args, needle) in cases {
        let out = Command::cargo_bin("faultline")
            .unwrap()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("check")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(254), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn ops_without_a_process_are_one_process_and_the_output_says_so() {
    let out = Command::cargo_bin("faultline")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "histories/elle-no-process-register-invalid.edn",
            "--model",
            "register",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: histories/elle-no-process-register-invalid.edn: no op names a process: all 6 are taken as one process, 0"),
        "{stderr}"
    );
}

#[test]
fn plain_model_ops_of_the_wrong_shape_are_refused_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let op = |i: usize, kind: &str, f: &str, v: &str| {
        format!("{{\"index\":{i},\"process\":0,\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":{v}}}\n")
    };
    let cases = [
        (
            "counter",
            op(0, "invoke", "add", "1.5") + &op(1, "ok", "add", "1.5"),
            "1: an add's value must be an integer",
        ),
        (
            "counter",
            op(0, "invoke", "read", "null") + &op(1, "ok", "read", "\"x\""),
            "2: a counter read's value must be an integer",
        ),
        (
            "set",
            op(0, "invoke", "read", "null") + &op(1, "ok", "read", "5"),
            "2: a set read must return a set or list",
        ),
        (
            "set-full",
            op(0, "invoke", "read", "null") + &op(1, "ok", "read", "{}"),
            "2: a set read must return a set or list",
        ),
        (
            "bank",
            op(0, "invoke", "read", "null") + &op(1, "ok", "read", "[1]"),
            "2: a bank read must return a map",
        ),
        (
            "bank",
            op(0, "invoke", "read", "null") + &op(1, "ok", "read", "{\"a\":\"x\"}"),
            "2: the balance of account a must be an integer",
        ),
    ];
    for (i, (model, text, needle)) in cases.iter().enumerate() {
        let path = write(&dir, &format!("h{i}.jsonl"), text);
        let out = check(&[&path, "--model", model]);
        assert_eq!(out.code, 254, "{model}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(&format!("{path}:{needle}")),
            "{model}: {}",
            out.stderr
        );
    }
}
