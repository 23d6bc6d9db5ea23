//! The long-fork checker against brute-force oracles on random small histories from a
//! simulated store: one replica (every read sees a prefix of one write order: no fork) or two
//! replicas that apply the writes in different orders (forks), with an occasional garbage read
//! and an occasional second write of a key. Also: bad shapes are errors at their line, and a
//! group with more distinct read states than are compared pairwise still finds its forks.

use super::long_fork::check;
use super::oracle_tests::{parse, simulate};
use crate::history::{History, Outcome};
use crate::report::Verdict;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

/// Every ordering of `items`.
fn permutations(items: &[Value]) -> Vec<Vec<Value>> {
    if items.is_empty() {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut p in permutations(&rest) {
            p.insert(0, first.clone());
            out.push(p);
        }
    }
    out
}

/// The oracle: (verdict, fork pairs, garbage reads, keys written more than once), from the
/// definitions: a group's reads are fine iff some order of its keys' writes makes what each
/// read saw written a prefix of it; fork pairs are counted by comparing every two reads.
fn long_fork_oracle(h: &History) -> (Verdict, usize, usize, usize) {
    let mops = |v: &Value| -> Vec<(Value, Value)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| (m[1].clone(), m[2].clone()))
            .collect()
    };
    let writes: Vec<_> = h.ops.iter().filter(|o| o.f == "write").collect();
    let written = |k: &Value| {
        writes
            .iter()
            .filter(|w| mops(&h.invocation(w).value)[0].0 == *k)
            .count()
    };
    let mut garbage = 0;
    let mut reads: Vec<Vec<(Value, Value)>> = Vec::new();
    for r in h.ops.iter().filter(|o| o.f == "read" && o.outcome == Outcome::Ok) {
        let seen = mops(h.value(r));
        let mut bad = false;
        for (k, v) in seen.iter().filter(|m| !m.1.is_null()) {
            let ok = writes.iter().any(|w| {
                mops(&h.invocation(w).value)[0] == (k.clone(), v.clone())
                    && w.outcome != Outcome::Fail
                    && w.invoke < r.complete.unwrap()
            });
            if !ok {
                garbage += 1;
                bad = true;
            }
        }
        if !bad {
            reads.push(seen);
        }
    }
    let mut all_keys: Vec<Value> = reads.iter().flatten().map(|m| m.0.clone()).collect();
    all_keys.extend(writes.iter().map(|w| mops(&h.invocation(w).value)[0].0.clone()));
    all_keys.sort_by_key(Value::to_string);
    all_keys.dedup();
    let multiple = all_keys.iter().filter(|k| written(k) > 1).count();
    let key_set = |r: &[(Value, Value)]| {
        let mut ks: Vec<String> = r.iter().map(|m| m.0.to_string()).collect();
        ks.sort();
        ks
    };
    // What a read saw written, leaving out keys written more than once.
    let saw =
        |r: &[(Value, Value)], k: &Value| r.iter().any(|m| m.0 == *k && !m.1.is_null()) && written(k) <= 1;
    let mut forks = 0;
    for (i, a) in reads.iter().enumerate() {
        for b in &reads[i + 1..] {
            if key_set(a) != key_set(b) {
                continue;
            }
            let a_only = a.iter().any(|m| saw(a, &m.0) && !saw(b, &m.0));
            let b_only = b.iter().any(|m| saw(b, &m.0) && !saw(a, &m.0));
            forks += usize::from(a_only && b_only);
        }
    }
    let mut fine = true;
    let mut groups: Vec<Vec<String>> = reads.iter().map(|r| key_set(r)).collect();
    groups.sort();
    groups.dedup();
    for g in groups {
        let members: Vec<_> = reads.iter().filter(|r| key_set(r) == g).collect();
        let keys: Vec<Value> = members[0].iter().map(|m| m.0.clone()).collect();
        let ordered = permutations(&keys).into_iter().any(|order| {
            members.iter().all(|r| {
                // What it saw written must be the first n keys of the order.
                let n = order.iter().filter(|k| saw(r, k)).count();
                order[..n].iter().all(|k| saw(r, k))
            })
        });
        fine &= ordered;
    }
    assert_eq!(fine, forks == 0, "the two oracles disagree");
    let verdict = if !fine || garbage > 0 {
        Verdict::Invalid
    } else if multiple > 0 {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    (verdict, forks, garbage, multiple)
}

/// A long-fork history over groups of 2 keys. `replicas` replicas each apply the acknowledged
/// writes in their own random order; a read asks one replica.
fn long_fork_history(seed: u64, replicas: usize) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    // (next fresh key, per replica: applied keys and pending keys)
    let mut state = (0i64, vec![(Vec::<i64>::new(), Vec::<i64>::new()); replicas]);
    simulate(
        &mut rng,
        3,
        12,
        &mut state,
        |rng, (next, _)| {
            if rng.random_bool(0.5) && *next < 4 {
                let k = if *next > 0 && rng.random_bool(0.05) {
                    rng.random_range(0..*next)
                } else {
                    *next += 1;
                    *next - 1
                };
                ("write".into(), json!([["w", k, 1]]))
            } else {
                let g = rng.random_range(0..2) * 2;
                let mut ks = [g, g + 1];
                ks.shuffle(rng);
                ("read".into(), json!([["r", ks[0], null], ["r", ks[1], null]]))
            }
        },
        |rng, (_, replicas), f, arg| {
            if f == "write" {
                let outcome = ["ok", "ok", "ok", "info", "fail"][rng.random_range(0..5)];
                if outcome == "ok" || (outcome == "info" && rng.random_bool(0.5)) {
                    let k = arg[0][1].as_i64().unwrap();
                    replicas.iter_mut().for_each(|r| r.1.push(k));
                }
                return (outcome, arg.clone());
            }
            if rng.random_bool(0.1) {
                return ("fail", arg.clone());
            }
            let forky = replicas.len() > 1;
            let i = rng.random_range(0..replicas.len());
            let (applied, pending) = &mut replicas[i];
            pending.shuffle(rng);
            let n = rng.random_range(0..=pending.len().min(1));
            applied.extend(pending.drain(..n));
            let read: Vec<Value> = arg
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    let k = m[1].as_i64().unwrap();
                    // A corrupt read: 2 (never written), or (with two replicas, which may
                    // fork anyway) 1 for a key not applied: a write that failed, is still
                    // pending, or comes later.
                    let v = if rng.random_bool(0.004) {
                        json!(2)
                    } else if (forky && rng.random_bool(0.008)) || applied.contains(&k) {
                        json!(1)
                    } else {
                        Value::Null
                    };
                    json!(["r", k, v])
                })
                .collect();
            ("ok", json!(read))
        },
    )
}

#[test]
fn long_fork_matches_the_brute_force_oracles() {
    let mut counts = [0usize; 3];
    let (mut garbage_histories, mut fork_histories) = (0, 0);
    for seed in 0..4000u64 {
        let text = long_fork_history(seed, 1 + (seed % 2) as usize);
        let h = parse(&text);
        let got = check(&h).unwrap();
        let (want, forks, garbage, multiple) = long_fork_oracle(&h);
        let c = &got.counts;
        assert_eq!(
            got.report.verdict, want,
            "seed {seed}:\n{text}\n{:#?}",
            got.report.anomalies
        );
        assert_eq!(
            (c.forks, c.garbage_reads, c.multiple_write_keys),
            (forks, garbage, multiple),
            "seed {seed}:\n{text}"
        );
        assert!(c.forks_exact);
        if seed % 2 == 0 {
            assert_eq!(forks, 0, "one replica cannot fork; seed {seed}:\n{text}");
        }
        garbage_histories += usize::from(garbage > 0);
        fork_histories += usize::from(forks > 0);
        counts[want.exit_code() as usize] += 1;
    }
    assert!(counts.iter().all(|&c| c > 100), "verdicts drawn: {counts:?}");
    assert!(
        garbage_histories > 100 && fork_histories > 100,
        "{garbage_histories} histories with a garbage read, {fork_histories} with a fork"
    );
}

#[test]
fn bad_shapes_are_errors_naming_the_line() {
    let cases = [
        (r#"[["w",0,1],["w",1,1]]"#, "write", "one write"),
        (r#"[["r",0,null],["w",1,1]]"#, "read", "one write"),
        (r#"[["w",0,1]]"#, "read", "must be a read transaction"),
        (r#"[["r",0,null]]"#, "write", "must be a write transaction"),
        (r#"[]"#, "txn", "one write"),
        (r#"5"#, "txn", "one write"),
        (r#"[["r",0,null]]"#, "cas", "expects f = read, write or txn"),
    ];
    for (value, f, message) in cases {
        let text = format!(
            "{{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":[[\"w\",9,1]]}}\n{{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":[[\"w\",9,1]]}}\n{{\"process\":1,\"type\":\"invoke\",\"f\":\"{f}\",\"value\":{value}}}\n"
        );
        let e = check(&parse(&text)).unwrap_err();
        assert_eq!(e.line(), Some(3), "{value}: {e}");
        assert!(e.to_string().contains(message), "{value}: {e}");
    }
    let read = |asked: &str, done: &str| {
        format!(
            "{{\"process\":1,\"type\":\"invoke\",\"f\":\"read\",\"value\":{asked}}}\n{{\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":{done}}}\n"
        )
    };
    let e = check(&parse(&read(
        r#"[["r",0,null],["r",1,null]]"#,
        r#"[["r",1,null],["r",0,null]]"#,
    )))
    .unwrap_err();
    assert_eq!(e.line(), Some(2), "{e}");
    assert!(e.to_string().contains("the keys its invocation asked for"), "{e}");
    let e = check(&parse(&read(
        r#"[["r",0,null],["r",0,null]]"#,
        r#"[["r",0,null],["r",0,null]]"#,
    )))
    .unwrap_err();
    assert_eq!(e.line(), Some(1), "{e}");
    assert!(e.to_string().contains("the same key twice"), "{e}");
}

/// Reads of one group of 13 keys seeing every subset of them: 8,192 distinct states, more than
/// are compared pairwise. The fork is still found (the count is then a lower bound).
#[test]
fn a_group_with_many_distinct_states_still_forks() {
    let mut lines = Vec::new();
    let mut ev = |p: usize, t: &str, f: &str, v: Value| {
        lines.push(json!({"process": p, "type": t, "f": f, "value": v}).to_string());
    };
    for k in 0..13 {
        ev(k, "invoke", "write", json!([["w", k, 1]]));
        ev(k, "ok", "write", json!([["w", k, 1]]));
    }
    for mask in 0..(1u32 << 13) {
        let asked: Vec<Value> = (0..13).map(|k| json!(["r", k, null])).collect();
        let got: Vec<Value> = (0..13)
            .map(|k| {
                json!([
                    "r",
                    k,
                    if mask & (1 << k) != 0 {
                        json!(1)
                    } else {
                        Value::Null
                    }
                ])
            })
            .collect();
        ev(100, "invoke", "read", json!(asked));
        ev(100, "ok", "read", json!(got));
    }
    let r = check(&parse(&(lines.join("\n") + "\n"))).unwrap();
    assert_eq!(r.report.verdict, Verdict::Invalid);
    assert!(!r.counts.forks_exact);
    assert!(r.counts.forks > 0);
    assert_eq!(r.report.stats["fork-count-exact"], json!(false));
    assert!(r.report.summary.starts_with("at least "), "{}", r.report.summary);
}
