//! Hand-made histories for each cause, valid and invalid, through the public check.

use super::*;
use crate::history::Format;
use crate::linear::{LinearOptions, Model, check};
use crate::report::Verdict;

/// One line of a hand-made history: (process or -1 for the nemesis, type, f, value, node).
type Line<'a> = (i64, &'a str, &'a str, &'a str, &'a str);

/// A history on key "k", one event every 100 ms, in the order given.
fn history(lines: &[Line]) -> History {
    let mut text = String::new();
    for (i, (p, kind, f, value, node)) in lines.iter().enumerate() {
        let time = (i as u64 + 1) * 100_000_000;
        let process = if *p < 0 {
            "\"nemesis\"".to_string()
        } else {
            p.to_string()
        };
        let key = if *p < 0 {
            String::new()
        } else {
            ",\"key\":\"k\"".to_string()
        };
        let node = if node.is_empty() {
            String::new()
        } else {
            format!(",\"node\":\"{node}\"")
        };
        let error = match *kind {
            "fail" => ",\"error\":\"not_leader: n2 does not lead\"",
            "info" => ",\"error\":\"timeout: no answer\"",
            _ => "",
        };
        text.push_str(&format!(
            "{{\"index\":{i},\"time\":{time},\"process\":{process},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":{value}{key}{node}{error}}}\n"
        ));
    }
    History::parse("hand-made", &text, Format::Jsonl).unwrap()
}

fn causes(lines: &[Line]) -> (Verdict, Vec<Value>) {
    let h = history(lines);
    let r = check(&h, &LinearOptions::new(Model::CasRegister)).unwrap();
    let causes = r
        .report
        .anomalies
        .iter()
        .map(|a| a.details["cause"].clone())
        .collect();
    (r.report.verdict, causes)
}

fn kind(c: &Value) -> &str {
    c["kind"].as_str().unwrap()
}

fn roles(c: &Value) -> Vec<(String, u64)> {
    c["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["role"].as_str().unwrap().to_string(),
                o["process"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_read_of_an_overwritten_value_is_a_stale_read() {
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (0, "ok", "write", "1", "n1"),
        (1, "invoke", "write", "2", ""),
        (1, "ok", "write", "2", "n1"),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", "n3"),
        (3, "invoke", "read", "null", ""),
        (3, "ok", "read", "2", "n1"),
    ]);
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(kind(&c[0]), "stale-read");
    assert_eq!(
        roles(&c[0]),
        vec![("stale read".into(), 2), ("overwriting write".into(), 1)]
    );
    let text = c[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Process 2 read k at t=500.000ms (served by n3) and saw 1"),
        "{text}"
    );
    assert!(
        text.contains("process 1 wrote 2 to k, acknowledged at t=400.000ms by n1"),
        "{text}"
    );
    assert_eq!(c[0]["counts"]["stale-read"], 1);
}

#[test]
fn an_acknowledged_write_no_one_ever_saw_is_a_lost_write() {
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (0, "ok", "write", "1", "n1"),
        (1, "invoke", "write", "2", ""),
        (1, "ok", "write", "2", "n1"),
        (-1, "info", "kill", r#"{"kind":"kill-leader","node":"n1"}"#, ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", "n2"),
        (-1, "info", "restart", r#"{"kind":"kill-leader","node":"n1"}"#, ""),
        (3, "invoke", "read", "null", ""),
        (3, "ok", "read", "1", "n2"),
    ]);
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(kind(&c[0]), "lost-write");
    assert_eq!(roles(&c[0])[0], ("lost write".into(), 1));
    let text = c[0]["text"].as_str().unwrap();
    assert!(
        text.contains("no operation saw 2 after that write began"),
        "{text}"
    );
    let r = check(
        &history(&[
            (0, "invoke", "write", "1", ""),
            (0, "ok", "write", "1", "n1"),
            (1, "invoke", "write", "2", ""),
            (1, "ok", "write", "2", "n1"),
            (-1, "info", "kill", r#"{"kind":"kill-leader","node":"n1"}"#, ""),
            (2, "invoke", "read", "null", ""),
            (2, "ok", "read", "1", "n2"),
        ]),
        &LinearOptions::new(Model::CasRegister),
    )
    .unwrap();
    let a = &r.report.anomalies[0];
    let where_step = a.steps.last().unwrap();
    assert!(
        where_step.contains("process 1's write by n1; process 2's read by n2"),
        "{where_step}"
    );
    assert!(
        where_step.contains("kill-leader n1, from t=500.000ms, never healed"),
        "{where_step}"
    );
    assert!(
        a.steps.iter().any(|s| s.starts_with("Cause: lost write.")),
        "{:?}",
        a.steps
    );
    assert_eq!(a.details["situation"]["faults"][0]["nodes"][0], "n1");
}

#[test]
fn a_stale_read_whose_write_was_seen_later_is_not_a_lost_write() {
    // Same as the lost write, but someone sees 2 afterwards.
    let (_, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (0, "ok", "write", "1", ""),
        (1, "invoke", "write", "2", ""),
        (1, "ok", "write", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", ""),
        (3, "invoke", "cas", "[2, 3]", ""),
        (3, "ok", "cas", "[2, 3]", ""),
    ]);
    assert_eq!(kind(&c[0]), "stale-read");
    assert!(c[0]["counts"].get("lost-write").is_none(), "{}", c[0]);
}

#[test]
fn a_read_of_a_value_only_a_failed_write_wrote() {
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "3", ""),
        (0, "fail", "write", "3", "n2"),
        (1, "invoke", "read", "null", ""),
        (1, "ok", "read", "3", "n1"),
    ]);
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(kind(&c[0]), "failed-write-took-effect");
    let text = c[0]["text"].as_str().unwrap();
    assert!(text.contains("failed (not_leader: n2 does not lead)"), "{text}");
}

#[test]
fn a_read_of_a_value_nobody_wrote() {
    let (_, c) = causes(&[
        (0, "invoke", "write", "3", ""),
        (0, "ok", "write", "3", ""),
        (1, "invoke", "read", "null", ""),
        (1, "ok", "read", "9", ""),
    ]);
    assert_eq!(kind(&c[0]), "never-written");
    // A failed write invoked only after the read completed cannot have produced it.
    let (_, c) = causes(&[
        (1, "invoke", "read", "null", ""),
        (1, "ok", "read", "9", ""),
        (0, "invoke", "write", "9", ""),
        (0, "fail", "write", "9", ""),
    ]);
    assert_eq!(kind(&c[0]), "never-written");
}

#[test]
fn a_timed_out_write_that_surfaced_then_vanished() {
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (0, "ok", "write", "1", ""),
        (1, "invoke", "write", "2", ""),
        (1, "info", "write", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "2", "n1"),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", "n3"),
    ]);
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(kind(&c[0]), "timed-out-write-surfaced");
    assert_eq!(
        roles(&c[0]),
        vec![
            ("timed-out write".into(), 1),
            ("read of it".into(), 2),
            ("later read".into(), 2)
        ]
    );
    // A timed-out write that surfaces, alone, is no anomaly.
    let (verdict, _) = causes(&[
        (0, "invoke", "write", "1", ""),
        (0, "ok", "write", "1", ""),
        (1, "invoke", "write", "2", ""),
        (1, "info", "write", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "2", ""),
    ]);
    assert_eq!(verdict, Verdict::Valid);
}

#[test]
fn two_compare_and_sets_from_one_write_are_a_lost_update() {
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "0", ""),
        (0, "ok", "write", "0", ""),
        (1, "invoke", "cas", "[0, 1]", ""),
        (2, "invoke", "cas", "[0, 2]", ""),
        (1, "ok", "cas", "[0, 1]", "n1"),
        (2, "ok", "cas", "[0, 2]", "n2"),
    ]);
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(kind(&c[0]), "lost-update");
    assert_eq!(c[0]["counts"]["lost-update"], 1);
    let text = c[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("2 compare-and-sets of k from 0 succeeded"),
        "{text}"
    );
    // A second write of 0 in between makes it valid, and nothing is named.
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "0", ""),
        (0, "ok", "write", "0", ""),
        (1, "invoke", "cas", "[0, 1]", ""),
        (1, "ok", "cas", "[0, 1]", ""),
        (0, "invoke", "write", "0", ""),
        (0, "ok", "write", "0", ""),
        (2, "invoke", "cas", "[0, 2]", ""),
        (2, "ok", "cas", "[0, 2]", ""),
    ]);
    assert_eq!((verdict, c.len()), (Verdict::Valid, 0));
}

#[test]
fn a_failure_only_the_order_explains_is_not_classified() {
    // Two concurrent writes, then reads that see 1, 2, 1: no single read is stale, no value is
    // unwritten, no write lost; only the order of all of them is impossible.
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (1, "invoke", "write", "2", ""),
        (0, "ok", "write", "1", ""),
        (1, "ok", "write", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", ""),
        (3, "invoke", "read", "null", ""),
        (3, "ok", "read", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", ""),
    ]);
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(kind(&c[0]), NOT_CLASSIFIED);
    assert_eq!(c[0]["counts"], json!({}));
}

#[test]
fn valid_histories_name_nothing() {
    let (verdict, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (1, "invoke", "read", "null", ""),
        (0, "ok", "write", "1", ""),
        (1, "ok", "read", "null", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", ""),
        (3, "invoke", "write", "2", ""),
        (3, "info", "write", "2", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", ""),
    ]);
    assert_eq!((verdict, c.len()), (Verdict::Valid, 0));
}

#[test]
fn the_initial_value_read_after_an_acknowledged_write_is_stale() {
    let (_, c) = causes(&[
        (0, "invoke", "write", "1", ""),
        (0, "ok", "write", "1", ""),
        (1, "invoke", "read", "null", ""),
        (1, "ok", "read", "null", ""),
        (2, "invoke", "read", "null", ""),
        (2, "ok", "read", "1", ""),
    ]);
    assert_eq!(kind(&c[0]), "stale-read");
    let text = c[0]["text"].as_str().unwrap();
    assert!(text.contains("nil was k's initial value"), "{text}");
}
