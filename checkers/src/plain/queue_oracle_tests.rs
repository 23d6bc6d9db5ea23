//! The unordered-queue checker against a brute-force oracle: every way of assigning dequeued
//! elements to enqueues is tried, on random small histories from a simulated queue that
//! sometimes loses, invents or repeats an element.

use super::oracle_tests::{parse, simulate};
use super::unordered_queue::check;
use crate::history::{History, Outcome};
use crate::report::Verdict;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// One value's enqueues (invocation position, acknowledged?; failed ones left out) and the
/// completion positions of its dequeued elements.
struct ValueOps {
    enqueues: Vec<(usize, bool)>,
    dequeues: Vec<usize>,
}

/// Over every partial assignment of dequeues to distinct enqueues invoked before they
/// completed: the most dequeues assigned, and (separately) the most acknowledged enqueues used.
fn best(v: &ValueOps) -> (usize, usize) {
    fn go(
        v: &ValueOps,
        d: usize,
        used: &mut Vec<bool>,
        matched: usize,
        acked: usize,
        best: &mut (usize, usize),
    ) {
        if d == v.dequeues.len() {
            best.0 = best.0.max(matched);
            best.1 = best.1.max(acked);
            return;
        }
        go(v, d + 1, used, matched, acked, best);
        for (i, &(invoke, ok)) in v.enqueues.iter().enumerate() {
            if !used[i] && invoke < v.dequeues[d] {
                used[i] = true;
                go(v, d + 1, used, matched + 1, acked + usize::from(ok), best);
                used[i] = false;
            }
        }
    }
    let mut b = (0, 0);
    go(v, 0, &mut vec![false; v.enqueues.len()], 0, 0, &mut b);
    b
}

/// The oracle: (verdict, lost, unexpected, duplicated, recovered). Valid iff some assignment
/// uses every acknowledged enqueue and explains every dequeued element.
fn queue_oracle(h: &History) -> (Verdict, usize, usize, usize, usize) {
    let mut by_value: Vec<(Value, ValueOps)> = Vec::new();
    fn slot<'a>(by_value: &'a mut Vec<(Value, ValueOps)>, x: &Value) -> &'a mut ValueOps {
        let i = match by_value.iter().position(|(y, _)| y == x) {
            Some(i) => i,
            None => {
                by_value.push((
                    x.clone(),
                    ValueOps {
                        enqueues: vec![],
                        dequeues: vec![],
                    },
                ));
                by_value.len() - 1
            }
        };
        &mut by_value[i].1
    }
    for op in &h.ops {
        let done = op.complete.unwrap_or(usize::MAX);
        match (op.f.as_str(), op.outcome) {
            // A failed enqueue took no effect: it explains no dequeue.
            ("enqueue", Outcome::Fail) => {}
            ("enqueue", o) => slot(&mut by_value, &h.invocation(op).value)
                .enqueues
                .push((op.invoke, o == Outcome::Ok)),
            ("dequeue", Outcome::Ok) if !h.value(op).is_null() => {
                slot(&mut by_value, h.value(op)).dequeues.push(done)
            }
            ("drain", Outcome::Ok) => {
                for x in h.value(op).as_array().unwrap() {
                    slot(&mut by_value, x).dequeues.push(done);
                }
            }
            _ => {}
        }
    }
    let (mut lost, mut unexpected, mut duplicated, mut recovered, mut valid) = (0, 0, 0, 0, true);
    for (_, v) in &by_value {
        let (matched, acked_used) = best(v);
        let acked = v.enqueues.iter().filter(|e| e.1).count();
        let dup = if v.enqueues.is_empty() {
            0
        } else {
            v.dequeues.len().saturating_sub(v.enqueues.len())
        };
        lost += acked - acked_used;
        duplicated += dup;
        unexpected += v.dequeues.len() - matched - dup;
        recovered += matched - acked_used.min(matched);
        valid &= matched == v.dequeues.len() && acked_used == acked;
    }
    let verdict = if valid { Verdict::Valid } else { Verdict::Invalid };
    (verdict, lost, unexpected, duplicated, recovered)
}

/// A queue history: enqueues of small values (so values repeat), dequeues, and a final drain
/// of what is left. With `faulty`, the queue sometimes drops an element, returns one it never
/// held, or returns one without removing it.
fn queue_history(seed: u64, faulty: bool) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut held: Vec<i64> = Vec::new();
    let mut text = simulate(
        &mut rng,
        3,
        7,
        &mut held,
        |rng, _| {
            if rng.random_bool(0.55) {
                ("enqueue".into(), json!(rng.random_range(0..3)))
            } else {
                ("dequeue".into(), Value::Null)
            }
        },
        |rng, held, f, arg| {
            if f == "enqueue" {
                let outcome = ["ok", "ok", "ok", "info", "fail"][rng.random_range(0..5)];
                if outcome == "ok" || (outcome == "info" && rng.random_bool(0.5)) {
                    held.push(arg.as_i64().unwrap());
                }
                return (outcome, arg.clone());
            }
            if faulty && rng.random_bool(0.15) {
                return ("ok", json!(rng.random_range(0..4)));
            }
            if faulty && rng.random_bool(0.1) && !held.is_empty() {
                held.remove(0);
            }
            if held.is_empty() {
                return ("ok", Value::Null);
            }
            let i = rng.random_range(0..held.len());
            let x = held.remove(i);
            let outcome = if rng.random_bool(0.1) { "info" } else { "ok" };
            (outcome, json!(x))
        },
    );
    let i = text.lines().count();
    text +=
        &json!({"index": i, "time": i * 1000, "process": 99, "type": "invoke", "f": "drain", "value": null})
            .to_string();
    text += "\n";
    text += &json!({"index": i + 1, "time": (i + 1) * 1000, "process": 99, "type": "ok", "f": "drain", "value": held}).to_string();
    text + "\n"
}

#[test]
fn unordered_queue_matches_the_brute_force_oracle() {
    let mut counts = [0usize; 2];
    let mut kinds = [0usize; 4];
    for seed in 0..4000u64 {
        let text = queue_history(seed, seed % 2 == 1);
        let h = parse(&text);
        let got = check(&h).unwrap();
        let (want, lost, unexpected, duplicated, recovered) = queue_oracle(&h);
        let c = &got.counts;
        assert_eq!(
            got.report.verdict, want,
            "seed {seed}:\n{text}\n{:#?}",
            got.report.anomalies
        );
        assert_eq!(
            (c.lost, c.unexpected, c.duplicated, c.recovered),
            (lost, unexpected, duplicated, recovered),
            "seed {seed}:\n{text}"
        );
        for (k, n) in kinds.iter_mut().zip([lost, unexpected, duplicated, recovered]) {
            *k += usize::from(n > 0);
        }
        counts[want.exit_code() as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 300), "verdicts drawn: {counts:?}");
    assert!(
        kinds.iter().all(|&k| k > 50),
        "histories with lost, unexpected, duplicated, recovered: {kinds:?}"
    );
}

#[test]
fn multiplicities_count_like_multisets() {
    let ev =
        |p: u64, t: &str, f: &str, v: Value| json!({"process": p, "type": t, "f": f, "value": v}).to_string();
    // 1 enqueued twice (both acknowledged), dequeued once: one lost.
    let text = [
        ev(0, "invoke", "enqueue", json!(1)),
        ev(0, "ok", "enqueue", json!(1)),
        ev(0, "invoke", "enqueue", json!(1)),
        ev(0, "ok", "enqueue", json!(1)),
        ev(1, "invoke", "drain", Value::Null),
        ev(1, "ok", "drain", json!([1])),
    ]
    .join("\n");
    let c = check(&parse(&text)).unwrap().counts;
    assert_eq!((c.attempts, c.acknowledged, c.dequeued, c.lost), (2, 2, 1, 1));
    // 1 enqueued once, drained twice: one duplicated; 2 never enqueued: unexpected.
    let text = [
        ev(0, "invoke", "enqueue", json!(1)),
        ev(0, "ok", "enqueue", json!(1)),
        ev(1, "invoke", "drain", Value::Null),
        ev(1, "ok", "drain", json!([1, 1, 2])),
    ]
    .join("\n");
    let r = check(&parse(&text)).unwrap();
    assert_eq!(
        (r.counts.duplicated, r.counts.unexpected, r.counts.lost),
        (1, 1, 0)
    );
    assert_eq!(r.report.verdict, Verdict::Invalid);
}

#[test]
fn bad_shapes_are_errors_naming_the_line() {
    let ev =
        |p: u64, t: &str, f: &str, v: Value| json!({"process": p, "type": t, "f": f, "value": v}).to_string();
    let cases = [
        (
            ev(0, "invoke", "enqueue", Value::Null),
            1,
            "an enqueue's value must not be nil",
        ),
        (
            ev(0, "invoke", "add", json!(1)),
            1,
            "expects f = enqueue, dequeue or drain",
        ),
        (
            ev(0, "invoke", "drain", Value::Null) + "\n" + &ev(0, "ok", "drain", json!(3)),
            2,
            "an ok drain must return the list",
        ),
        (
            ev(0, "invoke", "drain", Value::Null) + "\n" + &ev(0, "ok", "drain", json!([1, null])),
            2,
            "a drain's elements must not be nil",
        ),
    ];
    for (text, line, message) in cases {
        let e = check(&parse(&text)).unwrap_err();
        assert_eq!(e.line(), Some(line), "{e}");
        assert!(e.to_string().contains(message), "{e}");
    }
}
