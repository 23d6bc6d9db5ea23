//! The three object models against a brute-force oracle on random small histories: every
//! subset of the `info` operations, in every order real time allows, is replayed through an
//! independent sequential implementation of the model. The checker's verdict must match, and
//! for invalid histories the longest prefix it reports must itself replay and respect real
//! time. Also: the search's witness check, and the time budget.

use super::{ObjectModel, ObjectOptions, check};
use crate::history::{Format, History};
use crate::report::Verdict;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::HashMap;

/// One generated operation, as the oracle sees it.
#[derive(Clone, Debug)]
struct GenOp {
    f: String,
    /// The invocation's value.
    arg: Value,
    /// What an ok op returned (its completion's value).
    result: Value,
    /// "ok", "fail" or "info" (info includes never completed).
    outcome: &'static str,
    /// Event positions.
    call: usize,
    ret: Option<usize>,
}

/// A random history of at most `max_ops` ops on `procs` processes; `pick` draws an op's f,
/// invocation value and the value an ok completion returns. A completed op is `info` with
/// odds `info_in_ten` in ten, `fail` one in ten, otherwise `ok`.
fn generate(
    rng: &mut StdRng,
    procs: usize,
    max_ops: usize,
    info_in_ten: u32,
    mut pick: impl FnMut(&mut StdRng) -> (String, Value, Value),
) -> (String, Vec<GenOp>) {
    let n = rng.random_range(1..=max_ops);
    let mut lines: Vec<String> = Vec::new();
    let mut ops: Vec<GenOp> = Vec::new();
    let mut busy: Vec<Option<usize>> = vec![None; procs];
    let mut ids: Vec<usize> = (0..procs).collect();
    let mut started = 0;
    let emit = |lines: &mut Vec<String>, p: usize, kind: &str, f: &str, v: &Value| {
        let i = lines.len();
        lines.push(
            json!({"index": i, "time": i * 1000, "process": p, "type": kind, "f": f, "value": v}).to_string(),
        );
        i
    };
    while started < n || busy.iter().any(Option::is_some) {
        let p = rng.random_range(0..procs);
        match busy[p].take() {
            Some(o) => {
                // A few ops never complete (left in flight at the end).
                if started >= n && rng.random_range(0..6) == 0 {
                    continue;
                }
                let outcome = match rng.random_range(0..10) {
                    0 => "fail",
                    n if n <= info_in_ten => "info",
                    _ => "ok",
                };
                let v = if outcome == "ok" {
                    ops[o].result.clone()
                } else {
                    ops[o].arg.clone()
                };
                let f = ops[o].f.clone();
                let at = emit(&mut lines, ids[p], outcome, &f, &v);
                ops[o].outcome = outcome;
                if outcome != "info" {
                    ops[o].ret = Some(at);
                } else {
                    ids[p] += procs;
                }
            }
            None if started < n => {
                let (f, arg, result) = pick(rng);
                let at = emit(&mut lines, ids[p], "invoke", &f, &arg);
                busy[p] = Some(ops.len());
                ops.push(GenOp {
                    f,
                    arg,
                    result,
                    outcome: "info",
                    call: at,
                    ret: None,
                });
                started += 1;
            }
            None => {}
        }
    }
    (lines.join("\n") + "\n", ops)
}

/// An independent sequential model: applies an op (with its outcome's value) or refuses it.
trait Oracle: Clone {
    fn apply(&mut self, op: &GenOp) -> bool;
}

#[derive(Clone, Default)]
struct Lock(bool);

impl Oracle for Lock {
    fn apply(&mut self, op: &GenOp) -> bool {
        let acquire = op.f == "acquire";
        if self.0 == acquire {
            return false;
        }
        self.0 = acquire;
        true
    }
}

#[derive(Clone, Default)]
struct Queue(Vec<Value>);

impl Oracle for Queue {
    fn apply(&mut self, op: &GenOp) -> bool {
        match (op.f.as_str(), op.outcome) {
            ("enqueue", _) => {
                self.0.push(op.arg.clone());
                true
            }
            (_, "info") => {
                // An info dequeue removed the head, whatever it was (or is left out).
                if self.0.is_empty() {
                    return false;
                }
                self.0.remove(0);
                true
            }
            _ if op.result.is_null() => self.0.is_empty(),
            _ => {
                if self.0.first() != Some(&op.result) {
                    return false;
                }
                self.0.remove(0);
                true
            }
        }
    }
}

#[derive(Clone, Default)]
struct Registers(HashMap<String, Value>);

impl Oracle for Registers {
    fn apply(&mut self, op: &GenOp) -> bool {
        let txn = if op.outcome == "ok" { &op.result } else { &op.arg };
        let mut next = self.0.clone();
        for mop in txn.as_array().unwrap() {
            let (f, k, v) = (
                mop[0].as_str().unwrap(),
                mop[1].as_str().unwrap().to_string(),
                &mop[2],
            );
            match f {
                "write" => {
                    next.insert(k, v.clone());
                }
                _ if op.outcome != "ok" => {}
                _ => {
                    if next.get(&k).unwrap_or(&Value::Null) != v {
                        return false;
                    }
                }
            }
        }
        self.0 = next;
        true
    }
}

/// Whether some subset of the info ops, with every ok op, has an order real time allows that
/// the model accepts.
fn linearizable<M: Oracle>(init: &M, ops: &[GenOp]) -> bool {
    let live: Vec<&GenOp> = ops.iter().filter(|o| o.outcome != "fail").collect();
    fn go<M: Oracle>(state: &M, live: &[&GenOp], placed: &mut Vec<bool>) -> bool {
        // Done when every ok op is placed.
        if live
            .iter()
            .zip(placed.iter())
            .all(|(o, &p)| p || o.outcome != "ok")
        {
            return true;
        }
        for i in 0..live.len() {
            if placed[i] {
                continue;
            }
            // i may go next only if every unplaced ok op returned after i was called.
            let blocked = live.iter().enumerate().any(|(j, o)| {
                !placed[j] && j != i && o.outcome == "ok" && o.ret.is_some_and(|r| r < live[i].call)
            });
            if blocked {
                continue;
            }
            let mut next = state.clone();
            if next.apply(live[i]) {
                placed[i] = true;
                if go(&next, live, placed) {
                    return true;
                }
                placed[i] = false;
            }
        }
        false
    }
    go(init, &live, &mut vec![false; live.len()])
}

/// Runs `rounds` random histories of `model` against the oracle; returns (valid, invalid).
fn compare<M: Oracle>(
    model: ObjectModel,
    init: M,
    rounds: usize,
    seed: u64,
    info_in_ten: u32,
    mut pick: impl FnMut(&mut StdRng) -> (String, Value, Value),
) -> (usize, usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut valid, mut invalid) = (0, 0);
    for round in 0..rounds {
        let procs = rng.random_range(1..=3);
        let (text, ops) = generate(&mut rng, procs, 7, info_in_ten, &mut pick);
        let history = History::parse("gen.jsonl", &text, Format::Jsonl).unwrap();
        let result = check(&history, &ObjectOptions::new(model)).unwrap();
        let expected = linearizable(&init, &ops);
        let got = result.report.verdict;
        assert_eq!(
            got,
            if expected {
                Verdict::Valid
            } else {
                Verdict::Invalid
            },
            "round {round}: {model:?}\n{text}{}",
            result.report.render_text(3)
        );
        if expected {
            valid += 1;
        } else {
            invalid += 1;
            // The longest prefix reported replays through the oracle model.
            let failure = &result.failures[0];
            let mut state = init.clone();
            for &id in &failure.longest {
                assert!(
                    state.apply(&ops[id]),
                    "round {round}: prefix does not replay\n{text}"
                );
            }
            assert!(!failure.longest.contains(&failure.culprit));
        }
    }
    (valid, invalid)
}

fn small_value(rng: &mut StdRng) -> Value {
    json!(rng.random_range(1..=3))
}

fn pick_lock_op(rng: &mut StdRng) -> (String, Value, Value) {
    let f = if rng.random_range(0..2) == 0 {
        "acquire"
    } else {
        "release"
    };
    (f.to_string(), Value::Null, Value::Null)
}

#[test]
fn mutex_matches_the_oracle() {
    let (valid, invalid) = compare(ObjectModel::Mutex, Lock::default(), 3000, 1, 2, pick_lock_op);
    assert!(valid >= 300 && invalid >= 300, "valid {valid}, invalid {invalid}");
}

/// Most completed ops `info`: exercises `mutex::drop_unobserved` (acquires no `ok` release
/// follows, releases no `ok` acquire follows).
#[test]
fn mutex_rich_in_info_matches_the_oracle() {
    let (valid, invalid) = compare(ObjectModel::Mutex, Lock::default(), 3000, 11, 6, pick_lock_op);
    assert!(valid >= 300 && invalid >= 300, "valid {valid}, invalid {invalid}");
}

#[test]
fn fifo_queue_matches_the_oracle() {
    let (valid, invalid) = compare(ObjectModel::FifoQueue, Queue::default(), 3000, 2, 2, |rng| {
        if rng.random_range(0..2) == 0 {
            ("enqueue".to_string(), small_value(rng), Value::Null)
        } else {
            let result = if rng.random_range(0..4) == 0 {
                Value::Null
            } else {
                small_value(rng)
            };
            ("dequeue".to_string(), Value::Null, result)
        }
    });
    assert!(valid >= 300 && invalid >= 300, "valid {valid}, invalid {invalid}");
}

fn pick_txn(rng: &mut StdRng) -> (String, Value, Value) {
    let n = rng.random_range(1..=2);
    let (mut arg, mut result) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let k = if rng.random_range(0..2) == 0 { "x" } else { "y" };
        if rng.random_range(0..2) == 0 {
            let v = small_value(rng);
            arg.push(json!(["write", k, v]));
            result.push(json!(["write", k, v]));
        } else {
            let seen = if rng.random_range(0..3) == 0 {
                Value::Null
            } else {
                small_value(rng)
            };
            arg.push(json!(["read", k, null]));
            result.push(json!(["read", k, seen]));
        }
    }
    ("txn".to_string(), Value::Array(arg), Value::Array(result))
}

#[test]
fn multi_register_matches_the_oracle() {
    let (valid, invalid) = compare(
        ObjectModel::MultiRegister,
        Registers::default(),
        3000,
        3,
        2,
        pick_txn,
    );
    assert!(valid >= 300 && invalid >= 300, "valid {valid}, invalid {invalid}");
}

/// Most completed transactions `info`: exercises `multi_register::drop_unobserved` (writes no
/// later `ok` read observes).
#[test]
fn multi_register_rich_in_info_matches_the_oracle() {
    let (valid, invalid) = compare(
        ObjectModel::MultiRegister,
        Registers::default(),
        3000,
        13,
        6,
        pick_txn,
    );
    assert!(valid >= 300 && invalid >= 300, "valid {valid}, invalid {invalid}");
}

#[test]
fn a_witness_that_breaks_real_time_or_the_model_is_refused() {
    use super::mutex::{Mutex, MutexOp};
    use super::search::{SearchOp, verify};
    let op = |op, call, ret| SearchOp {
        op,
        id: call,
        call,
        ret,
    };
    let ops = [op(MutexOp::Acquire, 0, Some(1)), op(MutexOp::Release, 2, Some(3))];
    assert_eq!(verify(&Mutex, &ops, &[0, 1]), Ok(()));
    assert!(
        verify(&Mutex, &ops, &[1, 0]).is_err(),
        "model refuses a release first"
    );
    assert!(verify(&Mutex, &ops, &[0]).is_err(), "a required op is missing");
    let late = [op(MutexOp::Release, 0, Some(1)), op(MutexOp::Acquire, 2, Some(3))];
    assert!(
        verify(&Mutex, &late, &[1, 0])
            .unwrap_err()
            .contains("returned before its call")
    );
}

#[test]
fn a_spent_time_budget_is_unknown_never_valid() {
    // Many concurrent info acquires and releases around a long valid run: with a zero budget
    // the search gives up at its first deadline check.
    let mut lines = Vec::new();
    for i in 0..20_000 {
        let f = if i % 2 == 0 { "acquire" } else { "release" };
        lines.push(json!({"process": 0, "type": "invoke", "f": f, "value": null}).to_string());
        lines.push(json!({"process": 0, "type": "ok", "f": f, "value": null}).to_string());
    }
    let history = History::parse("t.jsonl", &(lines.join("\n") + "\n"), Format::Jsonl).unwrap();
    let mut opts = ObjectOptions::new(ObjectModel::Mutex);
    opts.timeout = Some(std::time::Duration::ZERO);
    let result = check(&history, &opts).unwrap();
    assert_eq!(
        result.report.verdict,
        Verdict::Unknown,
        "{}",
        result.report.summary
    );
    assert!(
        result.report.summary.contains("time-budget"),
        "{}",
        result.report.summary
    );
    opts.timeout = None;
    assert_eq!(check(&history, &opts).unwrap().report.verdict, Verdict::Valid);
}
