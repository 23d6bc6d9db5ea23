//! The plain checkers against brute-force oracles on random small histories (every way the
//! uncertain adds could have gone is tried), and against simulations of correct systems (whose
//! histories must be valid) with one corruption injected (which must be caught).

use super::bank::{BankOptions, WRONG_TOTAL, check_bank};
use super::counter::check_counter;
use super::set::check_set;
use super::set_full::check_set_full;
use crate::history::{Format, History, Outcome};
use crate::report::Verdict;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// One generated operation: what it did and how it ended.
#[derive(Clone)]
struct GenOp {
    process: u64,
    f: String,
    arg: Value,
    outcome: &'static str,
    result: Value,
}

/// Runs `n` ops on `procs` concurrent processes in a random interleaving. `invoke` picks an
/// op; `complete` decides its outcome and result when it completes (the simulated system
/// applies it then). Returns the JSON Lines history.
pub(super) fn simulate<S>(
    rng: &mut StdRng,
    procs: u64,
    n: usize,
    state: &mut S,
    mut invoke: impl FnMut(&mut StdRng, &mut S) -> (String, Value),
    mut complete: impl FnMut(&mut StdRng, &mut S, &str, &Value) -> (&'static str, Value),
) -> String {
    let mut lines = Vec::new();
    let mut busy: Vec<Option<GenOp>> = vec![None; procs as usize];
    let mut ids: Vec<u64> = (0..procs).collect();
    let mut started = 0;
    let mut line = |p: u64, kind: &str, f: &str, v: &Value| {
        let i = lines.len();
        lines.push(
            json!({"index": i, "time": i * 1000, "process": p, "type": kind, "f": f, "value": v}).to_string(),
        );
    };
    while started < n || busy.iter().any(Option::is_some) {
        let p = rng.random_range(0..procs as usize);
        match busy[p].take() {
            Some(mut op) => {
                let (outcome, result) = complete(rng, state, &op.f, &op.arg);
                op.outcome = outcome;
                op.result = result;
                line(op.process, op.outcome, &op.f, &op.result);
                if outcome == "info" {
                    ids[p] += procs;
                }
            }
            None if started < n => {
                let (f, arg) = invoke(rng, state);
                line(ids[p], "invoke", &f, &arg);
                busy[p] = Some(GenOp {
                    process: ids[p],
                    f,
                    arg,
                    outcome: "invoke",
                    result: Value::Null,
                });
                started += 1;
            }
            None => {}
        }
    }
    lines.join("\n") + "\n"
}

pub(super) fn parse(text: &str) -> History {
    History::parse("gen", text, Format::Jsonl).unwrap()
}

/// Every subset of `choices` (indices), as bit masks.
fn subsets(n: usize) -> impl Iterator<Item = u32> {
    0..(1u32 << n)
}

/// The oracle of the set checker: is there a way the adds could have gone (ok ones before the
/// read must have, failed ones cannot, ones invoked after it cannot) that gives the read?
fn set_oracle(h: &History) -> Verdict {
    let Some(read) = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        .max_by_key(|o| o.complete)
    else {
        return if h.ops.iter().any(|o| o.f == "add") {
            Verdict::Unknown
        } else {
            Verdict::Valid
        };
    };
    let seen: Vec<Value> = h.value(read).as_array().unwrap().clone();
    let mut wanted: Vec<String> = seen.iter().map(Value::to_string).collect();
    wanted.sort();
    let before = wanted.len();
    wanted.dedup();
    if wanted.len() != before {
        return Verdict::Invalid;
    }
    let adds: Vec<_> = h.ops.iter().filter(|o| o.f == "add").collect();
    for mask in subsets(adds.len()) {
        let feasible = adds.iter().enumerate().all(|(i, a)| {
            let chosen = mask & (1 << i) != 0;
            let must = a.outcome == Outcome::Ok && a.complete.unwrap() < read.invoke;
            let may = a.outcome != Outcome::Fail && a.invoke < read.complete.unwrap();
            (!must || chosen) && (may || !chosen)
        });
        if !feasible {
            continue;
        }
        let mut got: Vec<String> = adds
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, a)| h.invocation(a).value.to_string())
            .collect();
        got.sort();
        got.dedup();
        if got == wanted {
            return Verdict::Valid;
        }
    }
    Verdict::Invalid
}

#[test]
fn set_matches_the_brute_force_oracle() {
    let mut counts = [0usize; 3];
    for seed in 0..3000u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut acked: Vec<i64> = Vec::new();
        let text = simulate(
            &mut rng,
            3,
            7,
            &mut acked,
            |rng, _| {
                if rng.random_bool(0.7) {
                    ("add".into(), json!(rng.random_range(0..4)))
                } else {
                    ("read".into(), Value::Null)
                }
            },
            |rng, acked, f, arg| {
                let outcome = ["ok", "ok", "ok", "info", "fail"][rng.random_range(0..5)];
                if f == "add" {
                    if outcome == "ok" {
                        acked.push(arg.as_i64().unwrap());
                    }
                    return (outcome, arg.clone());
                }
                let mut v: Vec<i64> = if rng.random_bool(0.6) {
                    let mut v = acked.clone();
                    v.sort();
                    v.dedup();
                    v.retain(|_| rng.random_bool(0.9));
                    v
                } else {
                    (0..5).filter(|_| rng.random_bool(0.4)).collect()
                };
                if rng.random_bool(0.05) && !v.is_empty() {
                    v.push(v[0]);
                }
                (if outcome == "fail" { "ok" } else { outcome }, json!(v))
            },
        );
        let h = parse(&text);
        let got = check_set(&h).unwrap();
        let want = set_oracle(&h);
        assert_eq!(got.verdict, want, "seed {seed}:\n{text}\n{:#?}", got.anomalies);
        counts[want.exit_code() as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 100), "verdicts drawn: {counts:?}");
}

/// The oracle of the counter checker: for each read, is there a subset of the uncertain adds
/// whose sum, plus the certain ones, is the value read?
fn counter_oracle(h: &History) -> Verdict {
    let adds: Vec<_> = h.ops.iter().filter(|o| o.f == "add").collect();
    for read in h.ops.iter().filter(|o| o.f == "read" && o.outcome == Outcome::Ok) {
        let v = h.value(read).as_i64().unwrap();
        let value = |a: &crate::history::Operation| h.invocation(a).value.as_i64().unwrap();
        let certain: i64 = adds
            .iter()
            .filter(|a| a.outcome == Outcome::Ok && a.complete.unwrap() < read.invoke)
            .map(|a| value(a))
            .sum();
        let uncertain: Vec<i64> = adds
            .iter()
            .filter(|a| a.outcome != Outcome::Fail && a.invoke < read.complete.unwrap())
            .filter(|a| !(a.outcome == Outcome::Ok && a.complete.unwrap() < read.invoke))
            .map(|a| value(a))
            .collect();
        let possible = subsets(uncertain.len()).any(|mask| {
            let s: i64 = (0..uncertain.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| uncertain[i])
                .sum();
            certain + s == v
        });
        if !possible {
            return Verdict::Invalid;
        }
    }
    Verdict::Valid
}

#[test]
fn counter_matches_the_brute_force_oracle() {
    let mut counts = [0usize; 2];
    for seed in 0..3000u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut total = 0i64;
        let text = simulate(
            &mut rng,
            3,
            8,
            &mut total,
            |rng, _| {
                if rng.random_bool(0.6) {
                    ("add".into(), json!(rng.random_range(-2..4)))
                } else {
                    ("read".into(), Value::Null)
                }
            },
            |rng, total, f, arg| {
                let outcome = ["ok", "ok", "ok", "info", "fail"][rng.random_range(0..5)];
                if f == "add" {
                    if outcome == "ok" || (outcome == "info" && rng.random_bool(0.5)) {
                        *total += arg.as_i64().unwrap();
                    }
                    return (outcome, arg.clone());
                }
                let v = *total
                    + if rng.random_bool(0.7) {
                        0
                    } else {
                        rng.random_range(-3..4)
                    };
                ("ok", json!(v))
            },
        );
        let h = parse(&text);
        let got = check_counter(&h).unwrap();
        let want = counter_oracle(&h);
        assert_eq!(got.verdict, want, "seed {seed}:\n{text}\n{:#?}", got.anomalies);
        counts[want.exit_code() as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 100), "verdicts drawn: {counts:?}");
}

/// The oracle of set-full, straight from the definitions, by looking at every pair of reads:
/// (verdict, lost elements, stale reads of elements not lost).
fn set_full_oracle(h: &History) -> (Verdict, usize, usize) {
    let reads: Vec<_> = h
        .ops
        .iter()
        .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
        .collect();
    let adds: Vec<_> = h.ops.iter().filter(|o| o.f == "add").collect();
    if reads.is_empty() {
        let v = if adds.is_empty() {
            Verdict::Valid
        } else {
            Verdict::Unknown
        };
        return (v, 0, 0);
    }
    let contents = |r: &crate::history::Operation| -> Vec<Value> { h.value(r).as_array().unwrap().clone() };
    let mut bad = false;
    let mut elements: Vec<Value> = adds.iter().map(|a| h.invocation(a).value.clone()).collect();
    for r in &reads {
        let c = contents(r);
        for (i, x) in c.iter().enumerate() {
            bad |= c[..i].contains(x);
            let possible = adds.iter().any(|a| {
                h.invocation(a).value == *x && a.outcome != Outcome::Fail && a.invoke < r.complete.unwrap()
            });
            bad |= !possible;
            elements.push(x.clone());
        }
    }
    elements.sort_by_key(Value::to_string);
    elements.dedup();
    let (mut lost, mut stale) = (0, 0);
    for x in &elements {
        let mut known = usize::MAX;
        for a in &adds {
            if h.invocation(a).value == *x && a.outcome == Outcome::Ok {
                known = known.min(a.complete.unwrap());
            }
        }
        for r in &reads {
            if contents(r).contains(x) {
                known = known.min(r.complete.unwrap());
            }
        }
        if known == usize::MAX {
            continue;
        }
        let absent: Vec<_> = reads
            .iter()
            .filter(|r| r.invoke > known && !contents(r).contains(x))
            .collect();
        let is_lost = absent.iter().any(|r| {
            !reads
                .iter()
                .any(|p| contents(p).contains(x) && p.invoke > r.complete.unwrap())
        });
        if is_lost {
            lost += 1;
        } else {
            stale += absent.len();
        }
    }
    let v = if bad || lost > 0 {
        Verdict::Invalid
    } else {
        Verdict::Valid
    };
    (v, lost, stale)
}

/// A set-full history: a set that makes an add visible at a random moment up to `lag` reads
/// after it completes, and may drop an element.
fn set_full_history(seed: u64, lossy: bool) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    // (element, reads before it is visible, dropped)
    let mut state: Vec<(i64, u32, bool)> = Vec::new();
    simulate(
        &mut rng,
        3,
        9,
        &mut state,
        |rng, _| {
            if rng.random_bool(0.5) {
                ("add".into(), json!(rng.random_range(0..4)))
            } else {
                ("read".into(), Value::Null)
            }
        },
        move |rng, state, f, arg| {
            if f == "add" {
                let outcome = ["ok", "ok", "ok", "info", "fail"][rng.random_range(0..5)];
                if outcome != "fail" {
                    state.push((arg.as_i64().unwrap(), rng.random_range(0..3), false));
                }
                return (outcome, arg.clone());
            }
            if lossy && rng.random_bool(0.2) && !state.is_empty() {
                let i = rng.random_range(0..state.len());
                state[i].2 = true;
            }
            let mut v: Vec<i64> = Vec::new();
            for (x, lag, dropped) in state.iter_mut() {
                if *lag == 0 && !*dropped && !v.contains(x) {
                    v.push(*x);
                }
                *lag = lag.saturating_sub(1);
            }
            if lossy && rng.random_bool(0.05) {
                v.push(9);
            }
            ("ok", json!(v))
        },
    )
}

#[test]
fn set_full_matches_the_pairwise_oracle() {
    let mut counts = [0usize; 3];
    for seed in 0..3000u64 {
        let text = set_full_history(seed, seed % 2 == 0);
        let h = parse(&text);
        let got = check_set_full(&h).unwrap();
        let (want, lost, stale) = set_full_oracle(&h);
        assert_eq!(got.verdict, want, "seed {seed}:\n{text}\n{:#?}", got.anomalies);
        assert_eq!(got.stats["lost-count"], json!(lost), "seed {seed}:\n{text}");
        if lost == 0 {
            assert_eq!(got.stats["stale-reads"], json!(stale), "seed {seed}:\n{text}");
        }
        counts[want.exit_code() as usize] += 1;
    }
    assert!(counts[0] > 100 && counts[1] > 100, "verdicts drawn: {counts:?}");
}

/// A bank whose transfers take effect when they complete (ok always, info half the time) and
/// whose reads are snapshots: always valid. Returns the history and whether any read saw a
/// negative balance.
fn bank_history(seed: u64) -> (String, bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut state = ([10i64; 4], false);
    let text = simulate(
        &mut rng,
        4,
        12,
        &mut state,
        |rng, _| {
            if rng.random_bool(0.6) {
                let from = rng.random_range(0..4);
                let to = (from + rng.random_range(1..4)) % 4;
                (
                    "transfer".into(),
                    json!({"from": from, "to": to, "amount": rng.random_range(1..8)}),
                )
            } else {
                ("read".into(), Value::Null)
            }
        },
        |rng, (bal, negative), f, arg| {
            if f == "transfer" {
                let outcome = ["ok", "ok", "info", "fail"][rng.random_range(0..4)];
                if outcome == "ok" || (outcome == "info" && rng.random_bool(0.5)) {
                    let n = arg["amount"].as_i64().unwrap();
                    bal[arg["from"].as_u64().unwrap() as usize] -= n;
                    bal[arg["to"].as_u64().unwrap() as usize] += n;
                }
                return (outcome, arg.clone());
            }
            *negative |= bal.iter().any(|&b| b < 0);
            ("ok", json!({"0": bal[0], "1": bal[1], "2": bal[2], "3": bal[3]}))
        },
    );
    (text, state.1)
}

#[test]
fn bank_simulations_are_valid_and_a_changed_balance_is_a_wrong_total() {
    let allow = BankOptions {
        total: Some(40),
        negative_balances: true,
    };
    let mut negatives = 0;
    for seed in 0..1000u64 {
        let (text, negative) = bank_history(seed);
        let h = parse(&text);
        let r = check_bank(&h, &allow).unwrap();
        assert_eq!(
            r.verdict,
            Verdict::Valid,
            "seed {seed}:\n{text}\n{:#?}",
            r.anomalies
        );
        let strict = check_bank(&h, &BankOptions::default()).unwrap();
        assert_eq!(
            strict.verdict == Verdict::Invalid,
            negative,
            "seed {seed}:\n{text}"
        );
        negatives += usize::from(negative);
        // Change one balance of one read (the first read: then the total the others are held to
        // comes from it, when no total is given).
        let mut lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let Some(at) = lines.iter().position(|l| l["f"] == "read" && l["type"] == "ok") else {
            continue;
        };
        let account = rng_account(seed);
        let old = lines[at]["value"][&account].as_i64().unwrap();
        lines[at]["value"][&account] = json!(old + 1);
        let changed: String = lines.iter().map(|l| l.to_string() + "\n").collect();
        let h = parse(&changed);
        let r = check_bank(&h, &allow).unwrap();
        assert_eq!(r.verdict, Verdict::Invalid, "seed {seed}:\n{changed}");
        assert!(r.anomalies.iter().any(|a| a.kind == WRONG_TOTAL));
        let reads = h
            .ops
            .iter()
            .filter(|o| o.f == "read" && o.outcome == Outcome::Ok)
            .count();
        let inferred = BankOptions {
            negative_balances: true,
            ..BankOptions::default()
        };
        let r = check_bank(&h, &inferred).unwrap();
        assert_eq!(
            r.verdict == Verdict::Invalid,
            reads > 1,
            "seed {seed}:\n{changed}"
        );
    }
    assert!(negatives > 20, "{negatives} histories with a negative balance");
}

fn rng_account(seed: u64) -> String {
    (seed % 4).to_string()
}
