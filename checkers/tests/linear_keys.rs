//! Which keys a linearizability check decides: by default it stops at the first key that fails
//! (that decides the verdict) and reports the keys it left unsearched; with `all_keys` it
//! decides every key. Keys a pre-check refutes are taken first, then the cheapest.

use faultline_checkers::history::{Format, History};
use faultline_checkers::linear::{self, GaveUp, LinearOptions, Model};
use faultline_checkers::report::Verdict;
use serde_json::json;

/// Three keys: k1 and k3 linearizable, k2 with a stale read (a pre-check refutes it).
fn history() -> History {
    let mut lines = Vec::new();
    let mut t = 0;
    let mut event = |p: u64, ty: &str, f: &str, value: serde_json::Value, key: &str| {
        t += 1;
        lines.push(
            json!({"time": t, "process": p, "type": ty, "f": f, "value": value, "key": key}).to_string(),
        );
    };
    for (p, key) in [(1, "k1"), (2, "k2"), (3, "k3")] {
        event(p, "invoke", "write", json!(1), key);
        event(p, "ok", "write", json!(1), key);
        event(p, "invoke", "write", json!(2), key);
        event(p, "ok", "write", json!(2), key);
        event(p, "invoke", "read", json!(null), key);
        let seen = if key == "k2" { 1 } else { 2 };
        event(p, "ok", "read", json!(seen), key);
    }
    History::parse("three-keys.jsonl", &lines.join("\n"), Format::Jsonl).expect("parses")
}

fn check(all_keys: bool) -> linear::LinearResult {
    let mut opts = LinearOptions::new(Model::Register);
    opts.threads = 1;
    opts.all_keys = all_keys;
    linear::check(&history(), &opts).expect("fits the model")
}

#[test]
fn the_first_failing_key_ends_the_check() {
    let result = check(false);
    assert_eq!(result.report.verdict, Verdict::Invalid);
    let by_key: Vec<(String, Verdict, Option<GaveUp>)> = result
        .keys
        .iter()
        .map(|k| (linear::key_label(&k.key), k.verdict, k.gave_up))
        .collect();
    assert_eq!(
        by_key,
        [
            ("k1".into(), Verdict::Unknown, Some(GaveUp::Stopped)),
            ("k2".into(), Verdict::Invalid, None),
            ("k3".into(), Verdict::Unknown, Some(GaveUp::Stopped)),
        ]
    );
    assert_eq!(result.report.details["not_searched_keys"], json!(["k1", "k3"]));
    assert!(
        result.report.summary.contains("2 not searched (k1, k3)"),
        "{}",
        result.report.summary
    );
}

#[test]
fn all_keys_decides_every_key() {
    let result = check(true);
    assert_eq!(result.report.verdict, Verdict::Invalid);
    let verdicts: Vec<Verdict> = result.keys.iter().map(|k| k.verdict).collect();
    assert_eq!(verdicts, [Verdict::Valid, Verdict::Invalid, Verdict::Valid]);
    assert!(result.keys.iter().all(|k| k.gave_up.is_none()));
    assert_eq!(result.report.details["not_searched_keys"], json!([]));
    assert_eq!(result.report.summary, "not linearizable: 1 of 3 keys failed (k2)");
}

#[test]
fn a_check_of_some_keys_searches_only_those() {
    let mut opts = LinearOptions::new(Model::Register);
    opts.all_keys = true;
    let only = |keys: &[&str]| {
        let keys: Vec<Option<serde_json::Value>> = keys.iter().map(|k| Some(json!(k))).collect();
        let result = linear::check_keys(&history(), &opts, &keys).expect("fits the model");
        let searched: Vec<String> = result.keys.iter().map(|k| linear::key_label(&k.key)).collect();
        (result.report.verdict, searched)
    };
    assert_eq!(
        only(&["k1", "k3"]),
        (Verdict::Valid, vec!["k1".into(), "k3".into()])
    );
    assert_eq!(only(&["k2"]), (Verdict::Invalid, vec!["k2".into()]));
}
