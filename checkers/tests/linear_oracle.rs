//! Property tests: the linearizability checker agrees with a brute-force oracle on thousands of
//! random small concurrent histories (several keys, both models, `fail` and `info` operations,
//! both treatments of a failed cas).
//!
//! Histories come from two generators: one simulates a real register (every operation takes
//! effect at a point inside its interval) and then sometimes corrupts a result, so both verdicts
//! are common; the other draws operations and results blindly. The oracle shares no code with
//! the checker: it tries every order of the operations, over the whole multi-key history at once.
//!
//! Some shapes aim at the checker's exact prunings: writes of fresh values with many unknown
//! outcomes (unknown writes nobody read are dropped, the only writer of a value someone read
//! gets a deadline, a read of a value written once and then overwritten is refuted before the
//! search), failed cas operations expecting values never written, and a register whose initial
//! value is written again.
//!
//! `FAULTLINE_ORACLE_SCALE=N` runs N times as many cases (CI runs the default, 1).

use faultline_checkers::history::{Format, History};
use faultline_checkers::linear::{self, FailedCas, LinearOptions, Model};
use faultline_checkers::report::Verdict;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Read,
    Write,
    Cas,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Ok,
    Fail,
    Info,
    Never,
}

/// One generated operation. Values are small integers; `None` is nil (never written).
#[derive(Debug, Clone)]
struct GenOp {
    process: u64,
    key: usize,
    kind: Kind,
    /// Write: the value. Cas: expected. Read: unused.
    a: i64,
    /// Cas: the new value.
    b: i64,
    /// What an ok read saw.
    seen: Option<i64>,
    end: End,
    invoke: usize,
    complete: usize,
}

// ---------------------------------------------------------------------------------------------
// The oracle: try every order.

#[derive(Debug, Clone, Copy)]
enum Effect {
    Read(Option<i64>),
    Write(i64),
    Cas(i64, i64),
    NotHolding(i64),
}

struct Item {
    key: usize,
    effect: Effect,
    required: bool,
    invoke: usize,
    complete: usize,
}

fn oracle(ops: &[GenOp], failed_cas: FailedCas, initial: Option<i64>) -> bool {
    let mut items = Vec::new();
    for o in ops {
        let required = matches!(o.end, End::Ok | End::Fail);
        let effect = match (o.kind, o.end) {
            (Kind::Read, End::Ok) => Effect::Read(o.seen),
            (Kind::Read, End::Info | End::Never) => continue, // an unknown read constrains nothing
            (Kind::Write, End::Fail) => continue,
            (Kind::Write, _) => Effect::Write(o.a),
            (Kind::Cas, End::Fail) if failed_cas == FailedCas::AsRead => Effect::NotHolding(o.a),
            (Kind::Cas, End::Fail) | (Kind::Read, End::Fail) => continue,
            (Kind::Cas, _) => Effect::Cas(o.a, o.b),
        };
        items.push(Item {
            key: o.key,
            effect,
            required,
            invoke: o.invoke,
            complete: o.complete,
        });
    }
    assert!(items.len() <= 64);
    place_rest(&items, 0, initial, &mut BTreeMap::new(), &mut HashSet::new())
}

/// Tries every order of the unplaced items (bit i of `placed` set: item i is placed). The
/// answer depends only on `placed` and `state`, so failures are remembered to keep larger
/// histories tractable.
fn place_rest(
    items: &[Item],
    placed: u64,
    initial: Option<i64>,
    state: &mut BTreeMap<usize, Option<i64>>,
    failed: &mut HashSet<(u64, BTreeMap<usize, Option<i64>>)>,
) -> bool {
    let is_placed = |i: usize| placed >> i & 1 == 1;
    if (0..items.len()).all(|i| is_placed(i) || !items[i].required) {
        return true;
    }
    if failed.contains(&(placed, state.clone())) {
        return false;
    }
    for i in 0..items.len() {
        if is_placed(i) {
            continue;
        }
        // Every required operation that completed before this one was invoked goes first.
        let must_wait = (0..items.len())
            .any(|j| !is_placed(j) && items[j].required && items[j].complete < items[i].invoke);
        if must_wait {
            continue;
        }
        let old = state.get(&items[i].key).copied().unwrap_or(initial);
        let new = match items[i].effect {
            Effect::Read(v) if v == old => old,
            Effect::Write(v) => Some(v),
            Effect::Cas(e, n) if old == Some(e) => Some(n),
            Effect::NotHolding(e) if old != Some(e) => old,
            _ => continue,
        };
        state.insert(items[i].key, new);
        if place_rest(items, placed | 1 << i, initial, state, failed) {
            return true;
        }
        state.insert(items[i].key, old);
    }
    failed.insert((placed, state.clone()));
    false
}

// ---------------------------------------------------------------------------------------------
// Generators.

struct Shape {
    keys: usize,
    ops: usize,
    processes: usize,
    cas: bool,
    /// Chance per step that an in-flight operation times out (becomes info or never completes).
    timeouts: f64,
    /// Values written are drawn from `0..values`.
    values: i64,
    /// Instead: every write and cas writes a value never written before, and a cas expects one
    /// of the last values written to its key, or one never written.
    fresh: bool,
    /// The value every key holds at first (nil, or 0).
    initial: Option<i64>,
}

impl Shape {
    /// A shape drawing values from `0..values`, registers starting at nil.
    fn drawn(keys: usize, ops: usize, processes: usize, cas: bool, timeouts: f64, values: i64) -> Shape {
        Shape {
            keys,
            ops,
            processes,
            cas,
            timeouts,
            values,
            fresh: false,
            initial: None,
        }
    }
}

/// Small multi-key histories.
fn several_keys(rng: &mut SmallRng) -> Shape {
    Shape::drawn(
        rng.random_range(1..=3),
        rng.random_range(1..=8),
        rng.random_range(2..=4),
        rng.random_bool(0.6),
        0.06,
        3,
    )
}

/// One key, many concurrent processes and operations: long overlaps, wide search windows.
fn crowded_key(rng: &mut SmallRng) -> Shape {
    Shape::drawn(
        1,
        rng.random_range(12..=22),
        rng.random_range(6..=9),
        rng.random_bool(0.7),
        0.04,
        3,
    )
}

/// One key, two values, many unknown outcomes: many operations that do the same thing.
fn twins_key(rng: &mut SmallRng) -> Shape {
    Shape::drawn(
        1,
        rng.random_range(8..=16),
        rng.random_range(4..=7),
        rng.random_bool(0.7),
        0.2,
        2,
    )
}

/// One key, more operations, more concurrency, many unknown outcomes: harder searches.
fn one_busy_key(rng: &mut SmallRng) -> Shape {
    Shape::drawn(
        1,
        rng.random_range(6..=10),
        rng.random_range(3..=5),
        rng.random_bool(0.7),
        0.15,
        3,
    )
}

/// One or two keys, fresh values, many unknown outcomes; sometimes 0 is both the initial value
/// and the first value written.
fn fresh_values(rng: &mut SmallRng) -> Shape {
    Shape {
        fresh: true,
        initial: rng.random_bool(0.3).then_some(0),
        ..Shape::drawn(
            rng.random_range(1..=2),
            rng.random_range(8..=18),
            rng.random_range(3..=7),
            rng.random_bool(0.6),
            0.25,
            0,
        )
    }
}

fn pick_kind(rng: &mut SmallRng, cas: bool) -> Kind {
    match rng.random_range(0..if cas { 3 } else { 2 }) {
        0 => Kind::Read,
        1 => Kind::Write,
        _ => Kind::Cas,
    }
}

/// Simulates registers: each operation takes effect at one instant inside its interval (or,
/// when its outcome is unknown, possibly later or never). The history is linearizable.
fn simulate(rng: &mut SmallRng, shape: &Shape) -> Vec<GenOp> {
    let mut ops: Vec<GenOp> = Vec::new();
    let mut state: HashMap<usize, Option<i64>> = HashMap::new();
    // Per process slot: the op in flight, and whether it has taken effect yet.
    let mut slots: Vec<Option<(usize, bool)>> = vec![None; shape.processes];
    let mut slot_process: Vec<u64> = (0..shape.processes as u64).collect();
    let mut next_process = shape.processes as u64;
    let mut pending_unknown: Vec<usize> = Vec::new(); // info ops that have not yet taken effect
    let mut written: HashMap<usize, Vec<i64>> = HashMap::new(); // fresh values, per key
    let mut t = 0usize;
    let mut started = 0;
    let take_effect = |op: &mut GenOp, state: &mut HashMap<usize, Option<i64>>| {
        let cur = state.get(&op.key).copied().unwrap_or(shape.initial);
        match op.kind {
            Kind::Read => op.seen = cur,
            Kind::Write => {
                state.insert(op.key, Some(op.a));
            }
            Kind::Cas => {
                if cur == Some(op.a) {
                    state.insert(op.key, Some(op.b));
                    op.end = End::Ok;
                } else {
                    op.end = End::Fail;
                }
            }
        }
    };
    while started < shape.ops || slots.iter().any(Option::is_some) {
        t += 1;
        let s = rng.random_range(0..shape.processes);
        match slots[s] {
            None if started < shape.ops => {
                let kind = pick_kind(rng, shape.cas);
                let key = rng.random_range(0..shape.keys);
                let (a, b) = if shape.fresh {
                    fresh_arguments(rng, kind, written.entry(key).or_default())
                } else {
                    (
                        rng.random_range(0..shape.values),
                        rng.random_range(0..shape.values),
                    )
                };
                ops.push(GenOp {
                    process: slot_process[s],
                    key,
                    kind,
                    a,
                    b,
                    seen: None,
                    end: End::Ok,
                    invoke: t,
                    complete: usize::MAX,
                });
                slots[s] = Some((ops.len() - 1, false));
                started += 1;
            }
            None => {}
            Some((i, false)) => {
                if ops[i].kind == Kind::Write && rng.random_bool(0.1) {
                    ops[i].end = End::Fail; // a write refused: no effect
                } else {
                    take_effect(&mut ops[i], &mut state);
                }
                slots[s] = Some((i, true));
            }
            Some((i, true)) => {
                ops[i].complete = t;
                slots[s] = None;
            }
        }
        // Sometimes an in-flight operation's outcome becomes unknown (a timeout).
        if rng.random_bool(shape.timeouts) {
            let s = rng.random_range(0..shape.processes);
            if let Some((i, effected)) = slots[s] {
                t += 1; // every event has its own instant
                ops[i].end = if rng.random_bool(0.7) {
                    End::Info
                } else {
                    End::Never
                };
                ops[i].complete = if ops[i].end == End::Info { t } else { usize::MAX };
                if !effected {
                    pending_unknown.push(i);
                }
                slots[s] = None;
                slot_process[s] = next_process;
                next_process += 1;
            }
        }
        // Unknown operations may take effect later, or never.
        if !pending_unknown.is_empty() && rng.random_bool(0.15) {
            let i = pending_unknown.swap_remove(rng.random_range(0..pending_unknown.len()));
            let end = ops[i].end;
            take_effect(&mut ops[i], &mut state);
            ops[i].end = end;
        }
    }
    ops
}

/// The arguments of a write or cas of a fresh value on a key that was given `written` so far
/// (in order); the new value is added to it. Fresh values are 0, 1, 2, ... per key.
fn fresh_arguments(rng: &mut SmallRng, kind: Kind, written: &mut Vec<i64>) -> (i64, i64) {
    let fresh = written.len() as i64;
    let expected = match written.len() {
        n if n > 0 && rng.random_bool(0.8) => written[n - 1 - rng.random_range(0..n.min(3))],
        _ => 1000 + rng.random_range(0..2), // never written
    };
    match kind {
        Kind::Read => (0, 0),
        Kind::Write => {
            written.push(fresh);
            (fresh, 0)
        }
        Kind::Cas => {
            written.push(fresh);
            (expected, fresh)
        }
    }
}

/// A value a corrupted result shows: with fresh values, one written to the key (a stale or
/// future read), else one drawn from `0..3`.
fn corrupt_value(rng: &mut SmallRng, ops: &[GenOp], key: usize, shape: &Shape) -> i64 {
    let written: Vec<i64> = ops
        .iter()
        .filter(|o| o.key == key)
        .filter_map(|o| match o.kind {
            Kind::Write => Some(o.a),
            Kind::Cas => Some(o.b),
            Kind::Read => None,
        })
        .collect();
    if shape.fresh && !written.is_empty() {
        written[rng.random_range(0..written.len())]
    } else {
        rng.random_range(0..3)
    }
}

/// Changes one result so the history may no longer be linearizable.
fn corrupt(rng: &mut SmallRng, ops: &mut [GenOp], shape: &Shape) {
    if ops.is_empty() {
        return;
    }
    let i = rng.random_range(0..ops.len());
    let value = corrupt_value(rng, ops, ops[i].key, shape);
    let o = &mut ops[i];
    match (o.kind, o.end) {
        (Kind::Read, _) => {
            o.end = End::Ok;
            o.seen = if rng.random_bool(0.2) { None } else { Some(value) };
        }
        (Kind::Cas, End::Ok) => o.end = End::Fail,
        (Kind::Cas, End::Fail) => o.end = End::Ok,
        _ => o.a = value,
    }
}

/// Draws operations, outcomes and results without any register behind them.
fn blind(rng: &mut SmallRng, shape: &Shape) -> Vec<GenOp> {
    let mut ops = simulate(rng, shape);
    for o in &mut ops {
        if o.kind == Kind::Read && rng.random_bool(0.5) {
            o.seen = if rng.random_bool(0.3) {
                None
            } else {
                Some(rng.random_range(0..3))
            };
        }
        if matches!(o.end, End::Ok | End::Fail) && rng.random_bool(0.25) {
            o.end = if rng.random_bool(0.5) { End::Ok } else { End::Fail };
        }
    }
    ops
}

// ---------------------------------------------------------------------------------------------
// Writing a generated history and checking it.

fn to_history(ops: &[GenOp], keyed: bool) -> History {
    let mut events: Vec<(usize, Value)> = Vec::new();
    let key = |o: &GenOp| json!(format!("k{}", o.key));
    for o in ops {
        let (f, arg) = match o.kind {
            Kind::Read => ("read", Value::Null),
            Kind::Write => ("write", json!(o.a)),
            Kind::Cas => ("cas", json!([o.a, o.b])),
        };
        let mut inv = json!({"process": o.process, "type": "invoke", "f": f, "value": arg});
        if keyed {
            inv["key"] = key(o);
        }
        events.push((o.invoke, inv));
        let done_type = match o.end {
            End::Ok => "ok",
            End::Fail => "fail",
            End::Info => "info",
            End::Never => continue,
        };
        let value = match (o.kind, o.end) {
            (Kind::Read, End::Ok) => json!(o.seen),
            (Kind::Read, _) => Value::Null,
            _ => arg,
        };
        let mut done = json!({"process": o.process, "type": done_type, "f": f, "value": value});
        if keyed {
            done["key"] = key(o);
        }
        events.push((o.complete, done));
    }
    events.sort_by_key(|(t, _)| *t);
    let text: Vec<String> = events
        .iter()
        .map(|(t, e)| {
            let mut e = e.clone();
            e["time"] = json!(t * 1000);
            e.to_string()
        })
        .collect();
    History::parse("generated.jsonl", &text.join("\n"), Format::Jsonl).expect("generated history parses")
}

fn checker(
    history: &History,
    model: Model,
    failed_cas: FailedCas,
    initial: Option<i64>,
) -> linear::LinearResult {
    let mut opts = LinearOptions::new(model);
    opts.failed_cas = failed_cas;
    opts.initial = json!(initial);
    opts.threads = 1;
    linear::check(history, &opts).expect("generated history fits the model")
}

/// The longest prefix reported for a failure must itself be a legal sequential execution.
fn assert_prefix_is_legal(history: &History, result: &linear::LinearResult, initial: Option<i64>) {
    for f in &result.failures {
        let mut state = json!(initial);
        for &id in &f.longest {
            let op = &history.ops[id];
            let arg = &history.events[op.invoke].value;
            match op.f.as_str() {
                "read" => assert_eq!(history.value(op), &state, "prefix read"),
                "write" => state = arg.clone(),
                "cas" if op.outcome == faultline_checkers::history::Outcome::Fail => {
                    assert_ne!(arg[0], state)
                }
                "cas" => {
                    assert_eq!(arg[0], state, "prefix cas");
                    state = arg[1].clone();
                }
                other => panic!("unexpected f {other}"),
            }
        }
        assert_eq!(state, f.state);
        assert!(!f.longest.contains(&f.culprit));
    }
}

/// With `all_keys`, every key is decided, and each key's verdict is the oracle's on that key
/// alone; by default the keys a check did not search are reported as such, never as valid.
fn every_key_agrees_with_the_oracle(
    history: &History,
    ops: &[GenOp],
    model: Model,
    failed_cas: FailedCas,
    initial: Option<i64>,
) {
    let mut opts = LinearOptions::new(model);
    opts.failed_cas = failed_cas;
    opts.initial = json!(initial);
    opts.threads = 1;
    opts.all_keys = true;
    let result = linear::check(history, &opts).expect("generated history fits the model");
    for verdict in &result.keys {
        let name = verdict
            .key
            .as_ref()
            .and_then(Value::as_str)
            .expect("keys are named");
        let key_ops: Vec<GenOp> = ops
            .iter()
            .filter(|o| format!("k{}", o.key) == name)
            .cloned()
            .collect();
        let expected = oracle(&key_ops, failed_cas, initial);
        assert_eq!(verdict.gave_up, None, "{name} was not decided");
        assert_eq!(
            verdict.verdict == Verdict::Valid,
            expected,
            "{name}: {verdict:?}\nops: {key_ops:#?}"
        );
    }
    opts.all_keys = false;
    let first = linear::check(history, &opts).expect("generated history fits the model");
    for (all, first) in result.keys.iter().zip(&first.keys) {
        assert!(
            first.verdict == all.verdict || first.gave_up == Some(linear::GaveUp::Stopped),
            "{all:?} / {first:?}"
        );
    }
}

/// Histories a relaxed incremental check (a frontier of one configuration) found invalid, and
/// histories the oracle found invalid, over the calls of `incremental_agrees`.
static NARROW_INVALID: AtomicUsize = AtomicUsize::new(0);
static ORACLE_INVALID: AtomicUsize = AtomicUsize::new(0);

/// The incremental check (what `faultline run --stop-on-violation` watches), fed the history one
/// event at a time and then told it is finished, reaches the oracle's verdict; whenever it finds
/// a violation early, the full check of that prefix finds one too.
fn incremental_agrees(
    history: &History,
    model: Model,
    failed_cas: FailedCas,
    initial: Option<i64>,
    expected: bool,
) {
    let mut opts = LinearOptions::new(model);
    opts.failed_cas = failed_cas;
    opts.initial = json!(initial);
    opts.threads = 1;
    let mut check = linear::IncrementalCheck::new(&opts);
    // The same with a frontier of at most one configuration: relaxed at once wherever an
    // operation of unknown outcome could have been used or not, so never valid then, and never
    // invalid unless the history is.
    let mut narrow = linear::IncrementalCheck::new(&opts).with_max_configs(1);
    let mut found_at = None;
    for cut in 1..history.events.len() {
        let prefix = History::from_events("generated.jsonl", history.events[..cut].to_vec())
            .expect("a prefix of a history is a history");
        check.advance(&prefix, false).expect("fits the model");
        narrow.advance(&prefix, false).expect("fits the model");
        if check.verdict() == Verdict::Invalid && found_at.is_none() {
            found_at = Some(cut);
            let full = linear::check(&prefix, &opts).expect("fits the model");
            assert_eq!(
                full.report.verdict,
                Verdict::Invalid,
                "the prefix of {cut} events"
            );
        }
        assert_ne!(
            check.verdict(),
            Verdict::Valid,
            "valid before the history is finished"
        );
    }
    check.advance(history, true).expect("fits the model");
    narrow.advance(history, true).expect("fits the model");
    if !expected {
        ORACLE_INVALID.fetch_add(1, Ordering::Relaxed);
    }
    match narrow.verdict() {
        Verdict::Invalid => {
            assert!(
                !expected,
                "a relaxed frontier found a violation the oracle does not"
            );
            NARROW_INVALID.fetch_add(1, Ordering::Relaxed);
        }
        Verdict::Valid => assert!(expected, "valid with a frontier of at most one configuration"),
        Verdict::Unknown => {}
    }
    let want = if expected {
        Verdict::Valid
    } else {
        Verdict::Invalid
    };
    assert_eq!(
        check.verdict(),
        want,
        "incremental ({failed_cas:?}), found early at {found_at:?}, widest frontier {}",
        check.widest_frontier()
    );
}

type Generator = fn(&mut SmallRng, &Shape) -> Vec<GenOp>;

/// How many times the default number of cases to run: `FAULTLINE_ORACLE_SCALE` (default 1).
fn scale() -> usize {
    std::env::var("FAULTLINE_ORACLE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

fn run_cases(
    seed: u64,
    cases: usize,
    shape_of: fn(&mut SmallRng) -> Shape,
    make: Generator,
    corrupt_p: f64,
) -> (usize, usize) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let (mut valid, mut invalid) = (0, 0);
    for case in 0..cases * scale() {
        let shape = shape_of(&mut rng);
        let mut ops = make(&mut rng, &shape);
        if rng.random_bool(corrupt_p) {
            // Longer histories hide one wrong result more easily; give them two.
            for _ in 0..if shape.ops > 10 { 2 } else { 1 } {
                corrupt(&mut rng, &mut ops, &shape);
            }
        }
        let model = if shape.cas {
            Model::CasRegister
        } else {
            Model::Register
        };
        let keyed = shape.keys > 1 || rng.random_bool(0.5);
        let history = to_history(&ops, keyed);
        for failed_cas in [FailedCas::Drop, FailedCas::AsRead] {
            let expected = oracle(&ops, failed_cas, shape.initial);
            let result = checker(&history, model, failed_cas, shape.initial);
            let got = result.report.verdict;
            assert_ne!(got, Verdict::Unknown);
            assert_eq!(
                got == Verdict::Valid,
                expected,
                "seed {seed} case {case} ({failed_cas:?}): checker says {got}, oracle says {}\nops: {ops:#?}",
                if expected { "valid" } else { "invalid" }
            );
            assert_prefix_is_legal(&history, &result, shape.initial);
            incremental_agrees(&history, model, failed_cas, shape.initial, expected);
            if keyed {
                every_key_agrees_with_the_oracle(&history, &ops, model, failed_cas, shape.initial);
            }
            if failed_cas == FailedCas::Drop {
                if expected {
                    valid += 1;
                } else {
                    invalid += 1;
                }
            }
        }
    }
    (valid, invalid)
}

#[test]
fn simulated_registers_sometimes_corrupted_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(1, 4000, several_keys, simulate, 0.5);
    eprintln!("simulated: {valid} valid, {invalid} invalid");
    assert!(valid >= 1600, "too few valid histories: {valid}");
    assert!(invalid >= 800, "too few invalid histories: {invalid}");
    // Both failed-cas treatments count; a relaxed frontier still finds most violations.
    let narrow = NARROW_INVALID.load(Ordering::Relaxed);
    let all = ORACLE_INVALID.load(Ordering::Relaxed);
    eprintln!("relaxed frontier: {narrow} of {all} invalid");
    assert!(
        narrow * 10 >= all * 9,
        "a relaxed frontier found only {narrow} of {all}"
    );
}

#[test]
fn simulated_registers_are_linearizable() {
    let (valid, invalid) = run_cases(2, 1500, several_keys, simulate, 0.0);
    assert_eq!(
        (valid, invalid),
        (1500 * scale(), 0),
        "an uncorrupted simulation must be linearizable"
    );
}

#[test]
fn blind_histories_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(3, 3000, several_keys, blind, 0.2);
    eprintln!("blind: {valid} valid, {invalid} invalid");
    assert!(valid >= 300 && invalid >= 900, "{valid} valid, {invalid} invalid");
}

#[test]
fn busy_single_keys_with_many_unknown_outcomes_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(4, 2500, one_busy_key, simulate, 0.8);
    eprintln!("busy: {valid} valid, {invalid} invalid");
    assert!(valid >= 600 && invalid >= 600, "{valid} valid, {invalid} invalid");
    let (valid, invalid) = run_cases(5, 1000, one_busy_key, simulate, 0.0);
    assert_eq!((valid, invalid), (1000 * scale(), 0));
}

#[test]
fn crowded_single_keys_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(6, 1500, crowded_key, simulate, 0.7);
    eprintln!("crowded: {valid} valid, {invalid} invalid");
    assert!(valid >= 300 && invalid >= 300, "{valid} valid, {invalid} invalid");
}

#[test]
fn keys_with_many_twin_operations_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(7, 2500, twins_key, simulate, 0.7);
    eprintln!("twins: {valid} valid, {invalid} invalid");
    assert!(valid >= 500 && invalid >= 500, "{valid} valid, {invalid} invalid");
}

#[test]
fn fresh_values_with_many_unknown_outcomes_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(8, 3000, fresh_values, simulate, 0.6);
    eprintln!("fresh: {valid} valid, {invalid} invalid");
    assert!(valid >= 800 && invalid >= 800, "{valid} valid, {invalid} invalid");
    let (valid, invalid) = run_cases(9, 1000, fresh_values, simulate, 0.0);
    assert_eq!((valid, invalid), (1000 * scale(), 0));
}

#[test]
fn fresh_values_drawn_blindly_agree_with_the_oracle() {
    let (valid, invalid) = run_cases(10, 2000, fresh_values, blind, 0.3);
    eprintln!("fresh blind: {valid} valid, {invalid} invalid");
    assert!(valid >= 200 && invalid >= 800, "{valid} valid, {invalid} invalid");
}

/// The history cut at event `cut`: what `faultline run --stop-on-violation` checks while a run
/// goes. Operations invoked after the cut are gone; those completed after it are pending.
fn cut_at(ops: &[GenOp], cut: usize) -> Vec<GenOp> {
    ops.iter()
        .filter(|o| o.invoke < cut)
        .map(|o| {
            let mut o = o.clone();
            if o.complete >= cut {
                o.end = End::Never;
            }
            o
        })
        .collect()
}

/// The soundness of `--stop-on-violation` for linearizability: a prefix of a history (pending
/// operations read as indeterminate) found not linearizable means the whole history is not.
/// Equivalently, every prefix of a linearizable history is linearizable.
#[test]
fn a_violation_in_a_prefix_is_a_violation_of_the_whole_history() {
    let mut rng = SmallRng::seed_from_u64(11);
    let (mut whole_valid, mut prefixes_checked, mut invalid_prefixes) = (0, 0, 0);
    for _ in 0..600 * scale() {
        let shape = if rng.random_bool(0.5) {
            several_keys(&mut rng)
        } else {
            one_busy_key(&mut rng)
        };
        let mut ops = simulate(&mut rng, &shape);
        if rng.random_bool(0.5) {
            corrupt(&mut rng, &mut ops, &shape);
        }
        let model = if shape.cas {
            Model::CasRegister
        } else {
            Model::Register
        };
        let keyed = shape.keys > 1;
        let whole = checker(&to_history(&ops, keyed), model, FailedCas::Drop, shape.initial);
        let whole_is_valid = whole.report.verdict == Verdict::Valid;
        whole_valid += usize::from(whole_is_valid);
        let mut cuts: Vec<usize> = ops.iter().flat_map(|o| [o.invoke + 1, o.complete + 1]).collect();
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            let prefix = cut_at(&ops, cut);
            if prefix.is_empty() {
                continue;
            }
            let got = checker(&to_history(&prefix, keyed), model, FailedCas::Drop, shape.initial);
            assert_ne!(got.report.verdict, Verdict::Unknown);
            prefixes_checked += 1;
            if got.report.verdict == Verdict::Invalid {
                invalid_prefixes += 1;
                assert!(
                    !whole_is_valid,
                    "the prefix cut at event {cut} is not linearizable but the whole history is\nops: {ops:#?}"
                );
                assert!(
                    !oracle(&prefix, FailedCas::Drop, shape.initial),
                    "the oracle agrees on the prefix"
                );
            }
        }
    }
    eprintln!(
        "{whole_valid} valid histories; {prefixes_checked} prefixes, {invalid_prefixes} not linearizable"
    );
    assert!(whole_valid >= 200, "{whole_valid}");
    assert!(invalid_prefixes >= 200, "{invalid_prefixes}");
}
