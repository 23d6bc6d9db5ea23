//! Property test: every cause the linearizability checker names holds. On thousands of random
//! small register histories (simulated registers with corrupted reads, failed writes that took
//! effect anyway, timed-out writes that took effect late or never, compare-and-sets on stale
//! copies), each cause an anomaly names
//! is checked against its definition by plain loops over the history that share no code with
//! the classifier; and every kind is named at least once, so the test cannot pass by naming
//! nothing.

use faultline_checkers::history::{Format, History, Operation, Outcome};
use faultline_checkers::linear::{self, LinearOptions, Model};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Read,
    Write,
    Cas,
}

struct Planned {
    process: u64,
    kind: Kind,
    a: i64,
    b: i64,
    invoke: u64,
    complete: u64,
    /// When it takes effect (may be after `complete` for an info write), if ever.
    effect: Option<u64>,
    outcome: &'static str,
    seen: Value,
}

/// A random history of one register: operations take effect inside their intervals, except
/// that some reads are corrupted, some failed writes take effect anyway, and some timed-out
/// writes take effect late or never.
fn random_history(rng: &mut SmallRng) -> String {
    let processes = rng.random_range(2..5u64);
    let per_process = rng.random_range(2..5);
    let mut ops: Vec<Planned> = Vec::new();
    for p in 0..processes {
        let mut t = rng.random_range(0..4u64);
        let mut pid = p;
        for _ in 0..per_process {
            let invoke = t * 10 + p;
            let complete = (t + rng.random_range(1..6u64)) * 10 + p;
            t += rng.random_range(1..8u64);
            t = t.max(complete / 10 + 1);
            let kind = match rng.random_range(0..5) {
                0 | 1 => Kind::Read,
                2 | 3 => Kind::Write,
                _ => Kind::Cas,
            };
            let mut effect = Some(rng.random_range(invoke..=complete));
            let mut outcome = "ok";
            if kind != Kind::Read {
                match rng.random_range(0..10) {
                    0 => {
                        outcome = "fail";
                        // Most failed writes did not happen; some did anyway (a bug to catch).
                        if rng.random_range(0..3) > 0 {
                            effect = None;
                        }
                    }
                    1 | 2 => {
                        outcome = "info";
                        effect = match rng.random_range(0..3) {
                            0 => None,
                            1 => Some(rng.random_range(invoke..=complete)),
                            _ => Some(complete + rng.random_range(1..60u64)),
                        };
                    }
                    _ => {}
                }
            }
            ops.push(Planned {
                process: pid,
                kind,
                a: rng.random_range(0..3),
                b: rng.random_range(0..3),
                invoke,
                complete,
                effect,
                outcome,
                seen: Value::Null,
            });
            if outcome == "info" {
                pid += 100;
            }
        }
    }
    // Apply the effects in time order.
    let mut order: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].effect.is_some()).collect();
    order.sort_by_key(|&i| ops[i].effect);
    let mut state = Value::Null;
    for i in order {
        let o = &mut ops[i];
        match o.kind {
            Kind::Read => {
                o.seen = if rng.random_range(0..6) == 0 {
                    // A corrupted read: any value, or nil.
                    match rng.random_range(0..4) {
                        3 => Value::Null,
                        v => json!(v),
                    }
                } else {
                    state.clone()
                };
            }
            Kind::Write => state = json!(o.a),
            Kind::Cas => {
                // Some compare-and-sets act on a stale copy (a lost update, as last-write-wins
                // replicas make).
                let stale_copy = o.outcome == "ok" && rng.random_range(0..5) == 0;
                if state == json!(o.a) || stale_copy {
                    state = json!(o.b);
                } else if o.outcome == "ok" {
                    o.outcome = "fail";
                }
            }
        }
    }
    let mut events: Vec<(u64, String)> = Vec::new();
    for o in &ops {
        let (f, arg) = match o.kind {
            Kind::Read => ("read", Value::Null),
            Kind::Write => ("write", json!(o.a)),
            Kind::Cas => ("cas", json!([o.a, o.b])),
        };
        let done = if o.kind == Kind::Read {
            o.seen.clone()
        } else {
            arg.clone()
        };
        events.push((
            o.invoke,
            format!(
                "\"process\":{},\"type\":\"invoke\",\"f\":\"{f}\",\"value\":{arg},\"key\":\"k\"",
                o.process
            ),
        ));
        events.push((
            o.complete,
            format!(
                "\"process\":{},\"type\":\"{}\",\"f\":\"{f}\",\"value\":{done},\"key\":\"k\"",
                o.process, o.outcome
            ),
        ));
    }
    events.sort_by_key(|e| e.0);
    events
        .iter()
        .enumerate()
        .map(|(i, (t, rest))| format!("{{\"index\":{i},\"time\":{t},{rest}}}\n"))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The definitions, by plain loops.

struct Facts<'h> {
    h: &'h History,
}

impl Facts<'_> {
    fn op_by_invoke_index(&self, index: u64) -> &Operation {
        self.h
            .ops
            .iter()
            .find(|o| self.h.events[o.invoke].index == index)
            .expect("the cause names an operation of the history")
    }

    /// The value an ok operation saw: a read's result, an ok cas's expected value.
    fn observed(&self, o: &Operation) -> Option<Value> {
        if o.outcome != Outcome::Ok {
            return None;
        }
        let v = self.h.value(o);
        match o.f.as_str() {
            "read" => Some(v.clone()),
            "cas" => Some(v[0].clone()),
            _ => None,
        }
    }

    /// The value an operation would write.
    fn writes(&self, o: &Operation) -> Option<Value> {
        let v = &self.h.events[o.invoke].value;
        match o.f.as_str() {
            "write" => Some(v.clone()),
            "cas" => Some(v[1].clone()),
            _ => None,
        }
    }

    /// Operations that may have written `v` (not failed), invoked before position `limit`.
    fn writers_of(&self, v: &Value, limit: usize) -> Vec<&Operation> {
        self.h
            .ops
            .iter()
            .filter(|o| o.outcome != Outcome::Fail && o.invoke < limit && self.writes(o).as_ref() == Some(v))
            .collect()
    }

    fn before(a: &Operation, b: &Operation) -> bool {
        a.outcome != Outcome::Info && a.complete.is_some_and(|c| c < b.invoke)
    }

    /// Every write of `u` that read `r` could have seen was before `w` (or there was none and
    /// `u` is nil).
    fn overwritten_by(&self, u: &Value, w: &Operation, r: &Operation) -> bool {
        let writers = self.writers_of(u, r.complete.unwrap());
        if writers.is_empty() {
            return u.is_null();
        }
        writers.iter().all(|x| Self::before(x, w))
    }

    fn check(&self, cause: &Value) {
        let kind = cause["kind"].as_str().unwrap();
        let ops: Vec<&Operation> = cause["ops"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| self.op_by_invoke_index(o["invoke_index"].as_u64().unwrap()))
                    .collect()
            })
            .unwrap_or_default();
        let role = |name: &str| -> &Operation {
            let i = cause["ops"]
                .as_array()
                .unwrap()
                .iter()
                .position(|o| o["role"] == name)
                .unwrap_or_else(|| panic!("no {name} in {cause}"));
            ops[i]
        };
        match kind {
            "stale-read" => {
                let (r, w) = (role("stale read"), role("overwriting write"));
                let u = self.observed(r).expect("the stale read saw a value");
                assert_eq!(w.outcome, Outcome::Ok);
                assert_ne!(self.writes(w), Some(u.clone()));
                assert!(Self::before(w, r));
                assert!(self.overwritten_by(&u, w, r), "{cause}");
            }
            "lost-write" => {
                let (w, r) = (role("lost write"), role("later read"));
                assert_eq!(w.outcome, Outcome::Ok);
                let v = self.writes(w).unwrap();
                let u = self.observed(r).unwrap();
                assert!(Self::before(w, r));
                assert!(self.overwritten_by(&u, w, r), "{cause}");
                let seen_later = self.h.ops.iter().any(|o| {
                    self.observed(o).as_ref() == Some(&v) && o.complete.is_some_and(|c| c > w.invoke)
                });
                assert!(!seen_later, "someone saw the lost write: {cause}");
            }
            "failed-write-took-effect" => {
                let (r, f) = (role("read"), role("failed write"));
                let u = self.observed(r).unwrap();
                let limit = r.complete.unwrap();
                assert!(!u.is_null());
                assert!(self.writers_of(&u, limit).is_empty());
                assert_eq!((f.outcome, self.writes(f)), (Outcome::Fail, Some(u)));
                assert!(f.invoke < limit);
            }
            "never-written" => {
                let r = role("read");
                let u = self.observed(r).unwrap();
                assert!(!u.is_null());
                let wrote = self
                    .h
                    .ops
                    .iter()
                    .any(|o| self.writes(o).as_ref() == Some(&u) && o.invoke < r.complete.unwrap());
                assert!(!wrote, "{cause}");
            }
            "timed-out-write-surfaced" => {
                let (i, seen, r) = (role("timed-out write"), role("read of it"), role("later read"));
                let v = self.writes(i).unwrap();
                let writers = self.writers_of(&v, seen.complete.unwrap());
                assert!(!v.is_null() && !writers.is_empty());
                assert!(writers.iter().all(|x| x.outcome == Outcome::Info));
                assert!(
                    writers
                        .iter()
                        .all(|x| x.complete.is_some_and(|c| c < seen.invoke))
                );
                assert_eq!(self.observed(seen), Some(v));
                assert!(Self::before(seen, r));
                let u = self.observed(r).unwrap();
                let older = self.writers_of(&u, r.complete.unwrap());
                assert!(
                    if older.is_empty() {
                        u.is_null()
                    } else {
                        older.iter().all(|o| writers.iter().all(|x| Self::before(o, x)))
                    },
                    "{cause}"
                );
            }
            "lost-update" => {
                let cas: Vec<&&Operation> = ops.iter().filter(|o| o.f == "cas").collect();
                assert!(cas.len() >= 2);
                let x = self.observed(cas[0]).unwrap();
                let from_x = self
                    .h
                    .ops
                    .iter()
                    .filter(|o| o.f == "cas" && self.observed(o).as_ref() == Some(&x))
                    .filter(|o| self.writes(o).as_ref() != Some(&x))
                    .count();
                let supply = self.writers_of(&x, usize::MAX).len() + usize::from(x.is_null());
                assert!(from_x > supply, "{cause}");
            }
            "not-classified" => {}
            other => panic!("unknown cause {other}"),
        }
    }
}

#[test]
fn every_named_cause_holds_and_every_kind_is_named() {
    let mut rng = SmallRng::seed_from_u64(0xca05e);
    let mut named: BTreeMap<String, usize> = BTreeMap::new();
    let mut opts = LinearOptions::new(Model::CasRegister);
    opts.threads = 1;
    for case in 0..6000 {
        let text = random_history(&mut rng);
        let h = History::parse("random", &text, Format::Jsonl).unwrap();
        let result = linear::check(&h, &opts).unwrap();
        for a in &result.report.anomalies {
            let cause = &a.details["cause"];
            let kind = cause["kind"]
                .as_str()
                .unwrap_or_else(|| panic!("case {case}: no cause in {a:?}"));
            *named.entry(kind.to_string()).or_default() += 1;
            let facts = Facts { h: &h };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| facts.check(cause)));
            if outcome.is_err() {
                panic!("case {case}: the cause does not hold\n{text}\n{cause:#}");
            }
            for (k, n) in cause["counts"].as_object().unwrap() {
                assert!(n.as_u64().unwrap() > 0, "{k}");
            }
        }
    }
    for kind in [
        "stale-read",
        "lost-write",
        "failed-write-took-effect",
        "never-written",
        "timed-out-write-surfaced",
        "lost-update",
        "not-classified",
    ] {
        assert!(
            named.get(kind).is_some_and(|&n| n > 0),
            "{kind} never named: {named:?}"
        );
    }
}
