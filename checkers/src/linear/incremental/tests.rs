//! Hand-made cases for the incremental check: what it decides, when, and what it leaves to the
//! full check. (`tests/linear_oracle.rs` compares it with a brute-force search on thousands of
//! random histories, fed one event at a time.)

use super::*;
use crate::history::Format;
use crate::linear::Model;

fn history(lines: &[&str]) -> History {
    History::parse("h.jsonl", &lines.join("\n"), Format::Jsonl).expect("parses")
}

/// Feeds every prefix of `lines`, then the whole; returns the verdict after each prefix and the
/// final one.
fn feed(lines: &[&str]) -> (Vec<Verdict>, Verdict, IncrementalCheck) {
    let mut check = IncrementalCheck::new(&LinearOptions::new(Model::CasRegister));
    let mut seen = Vec::new();
    for k in 1..=lines.len() {
        check
            .advance(&history(&lines[..k]), false)
            .expect("fits the model");
        seen.push(check.verdict());
    }
    check.advance(&history(lines), true).expect("fits the model");
    let verdict = check.verdict();
    (seen, verdict, check)
}

const W1: &str = r#"{"process":0,"type":"invoke","f":"write","value":1}"#;
const W1_OK: &str = r#"{"process":0,"type":"ok","f":"write","value":1}"#;
const W1_INFO: &str = r#"{"process":0,"type":"info","f":"write","value":1}"#;
const W2: &str = r#"{"process":2,"type":"invoke","f":"write","value":2}"#;
const W2_OK: &str = r#"{"process":2,"type":"ok","f":"write","value":2}"#;
const R: &str = r#"{"process":1,"type":"invoke","f":"read","value":null}"#;
const R1_OK: &str = r#"{"process":1,"type":"ok","f":"read","value":1}"#;
const R2_OK: &str = r#"{"process":1,"type":"ok","f":"read","value":2}"#;

#[test]
fn a_stale_read_is_found_at_its_return_and_stays_found() {
    let (seen, verdict, check) = feed(&[W1, W1_OK, W2, W2_OK, R, R1_OK, W2, W2_OK]);
    assert_eq!(
        seen,
        [
            Verdict::Unknown,
            Verdict::Unknown,
            Verdict::Unknown,
            Verdict::Unknown,
            Verdict::Unknown,
            Verdict::Invalid,
            Verdict::Invalid,
            Verdict::Invalid
        ]
    );
    assert_eq!(verdict, Verdict::Invalid);
    assert_eq!(
        check.first_violation(),
        Some((None, 2)),
        "the read, the third operation"
    );
}

#[test]
fn a_valid_history_is_valid_only_once_finished() {
    let (seen, verdict, _) = feed(&[W1, R, W1_OK, R1_OK]);
    assert!(seen.iter().all(|v| *v == Verdict::Unknown));
    assert_eq!(verdict, Verdict::Valid);
}

#[test]
fn nothing_after_a_pending_invocation_is_fed_until_it_completes() {
    // The read is pending while the write completes; what it saw is not known yet.
    let lines = [R, W1, W1_OK, R2_OK];
    let mut check = IncrementalCheck::new(&LinearOptions::new(Model::CasRegister));
    check.advance(&history(&lines[..3]), false).expect("fits");
    assert_eq!(
        check.events_fed(),
        0,
        "the pending read holds the horizon at its invocation"
    );
    check.advance(&history(&lines), false).expect("fits");
    assert_eq!(check.verdict(), Verdict::Invalid, "nothing wrote 2");
}

#[test]
fn a_write_of_unknown_outcome_takes_effect_once() {
    // An info write of 1 may explain one read of 1, but not one after 2 overwrote it.
    let w1_again = [W1, W1_INFO, R, R1_OK, W2, W2_OK, R, R1_OK];
    assert_eq!(feed(&w1_again).1, Verdict::Invalid);
    let late = [W1, W1_INFO, W2, W2_OK, R, R1_OK, R, R1_OK];
    assert_eq!(
        feed(&late).1,
        Verdict::Valid,
        "it took effect after the write of 2"
    );
}

#[test]
fn a_pending_operation_never_completed_is_of_unknown_outcome_at_the_end() {
    // The write never completes: it may have taken effect, so the read of 1 is fine.
    let (_, verdict, check) = feed(&[W1, R, R1_OK]);
    assert_eq!(verdict, Verdict::Valid);
    assert_eq!(check.events_fed(), 3);
}

#[test]
fn keys_are_independent() {
    let k = |line: &str, key: &str| line.replace("{\"process\"", &format!("{{\"key\":\"{key}\",\"process\""));
    let lines: Vec<String> = vec![
        k(W1, "a"),
        k(W1_OK, "a"),
        k(R, "b"),
        k(R1_OK, "b"),
        k(R, "a"),
        k(R1_OK, "a"),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (_, verdict, check) = feed(&lines);
    assert_eq!(verdict, Verdict::Invalid);
    let standings: Vec<_> = check.keys().map(|(k, s)| (k.cloned(), s)).collect();
    assert_eq!(
        standings,
        [
            (Some(serde_json::json!("a")), KeyStanding::Linearizable),
            (
                Some(serde_json::json!("b")),
                KeyStanding::NotLinearizable { op: 1 }
            ),
        ]
    );
}

#[test]
fn bad_operations_are_the_full_checks_errors() {
    let mut check = IncrementalCheck::new(&LinearOptions::new(Model::Register));
    let bad = history(&[r#"{"process":0,"type":"invoke","f":"cas","value":[1,2]}"#]);
    let err = check
        .advance(&bad, true)
        .expect_err("cas is not a register operation");
    let full = crate::linear::check(&bad, &LinearOptions::new(Model::Register)).expect_err("same");
    assert_eq!(err.to_string(), full.to_string());
}

#[test]
fn a_relaxed_key_still_finds_what_needs_no_limit_on_unknown_outcomes() {
    let relaxed = |lines: &[&str]| {
        let mut check = IncrementalCheck::new(&LinearOptions::new(Model::CasRegister)).with_max_configs(1);
        check.advance(&history(lines), true).expect("fits the model");
        (check.verdict(), check.relaxed())
    };
    const W5: &str = r#"{"process":4,"type":"invoke","f":"write","value":5}"#;
    const W5_OK: &str = r#"{"process":4,"type":"ok","f":"write","value":5}"#;
    let read_1_thrice = [
        W2,
        W2_OK,
        W1,
        W1_INFO,
        r#"{"process":3,"type":"invoke","f":"cas","value":[2,1]}"#,
        r#"{"process":3,"type":"info","f":"cas","value":[2,1]}"#,
        // Either the info write or the info cas gave this read its 1: two configurations, one
        // too many, so the key goes relaxed.
        R,
        R1_OK,
        W5,
        W5_OK,
        R,
        R1_OK,
        W5,
        W5_OK,
        R,
        R1_OK,
    ];
    assert_eq!(
        relaxed(&read_1_thrice[..8]),
        (Verdict::Unknown, 1),
        "relaxed: never valid"
    );
    // A third 1 needs a third producer: only an exact frontier sees it (the final check does).
    assert_eq!(feed(&read_1_thrice).1, Verdict::Invalid);
    assert_eq!(feed(&read_1_thrice[..12]).1, Verdict::Valid);
    assert_eq!(relaxed(&read_1_thrice), (Verdict::Unknown, 1));
    // A value nothing wrote needs no limit to be found.
    let mut never_written = read_1_thrice;
    never_written[15] = r#"{"process":1,"type":"ok","f":"read","value":7}"#;
    assert_eq!(relaxed(&never_written), (Verdict::Invalid, 0));
}
