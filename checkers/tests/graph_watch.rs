//! [`TxnWatch`], the dependency-graph inference fed as transactions complete, sends the watch
//! of a run to a whole-prefix check whenever that check could find a certain violation.
//!
//! Histories: the simulated stores of `support::sim` (stale reads, snapshot isolation, read
//! committed, strict serializable), list-append and rw-register, each also mutated once at
//! random (an ok transaction turned failed; a read changed: for list-append an element
//! dropped, swapped, repeated or foreign, for rw-register another value written to the key, the
//! initial state or a foreign value), cut at every event. At each cut the watch is advanced
//! and, as the run's watch does, the whole prefix is checked only when it says so. The oracle
//! checks every cut in full: once a cut holds a certain violation (a prefix-closed anomaly kind
//! some model forbids), the watch must have stopped by the time every transaction invoked
//! before that cut has completed (it feeds transactions only once they complete). And the
//! watch must be a filter, not a pass-through: on a strict serializable store's histories it
//! never asks for a check.

mod support;

use faultline_checkers::graph::{
    AnomalyKind, ConsistencyModel, RegisterOrderAssumptions, TxnCheckOptions, TxnWatch, Workload, analyze,
};
use faultline_checkers::history::{Event, EventKind, History};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};
use support::sim::{Ops, SimConfig, Store, generate};

/// True when the whole-prefix check finds a prefix-closed anomaly that some model forbids.
fn certain(history: &History, workload: Workload) -> bool {
    let mut opts = TxnCheckOptions::new(workload);
    opts.models = ConsistencyModel::ALL.to_vec();
    let Ok(found) = analyze(history, &opts) else {
        return false; // bad input (a value appended twice): no verdict to stop on
    };
    found.models.iter().any(|m| {
        m.anomalies
            .iter()
            .any(|k| AnomalyKind::from_name(k).is_some_and(AnomalyKind::is_prefix_closed))
    })
}

/// One mutation of a simulated history, so that evidence the simulated stores never make
/// (aborted reads, broken lists, reads of unwritten values) is covered too.
fn mutate(events: &mut [Event], workload: Workload, rng: &mut StdRng) -> &'static str {
    let completions: Vec<usize> = (0..events.len())
        .filter(|&i| events[i].kind == EventKind::Ok)
        .collect();
    if completions.is_empty() {
        return "none";
    }
    if rng.random_bool(0.3) {
        let i = completions[rng.random_range(0..completions.len())];
        events[i].kind = EventKind::Fail;
        return "ok turned failed";
    }
    if workload == Workload::RwRegister {
        return mutate_register_read(events, &completions, rng);
    }
    // A read with at least two elements.
    let reads: Vec<(usize, usize)> = completions
        .iter()
        .flat_map(|&i| {
            let mops = events[i].value.as_array().cloned().unwrap_or_default();
            mops.iter()
                .enumerate()
                .filter(|(_, m)| m[0] == "r" && m[2].as_array().is_some_and(|l| l.len() >= 2))
                .map(|(j, _)| (i, j))
                .collect::<Vec<_>>()
        })
        .collect();
    if reads.is_empty() {
        return "none";
    }
    let (i, j) = reads[rng.random_range(0..reads.len())];
    let list = events[i].value[j][2].as_array_mut().expect("a read list");
    let n = list.len();
    match rng.random_range(0..4) {
        0 => {
            list.remove(rng.random_range(0..n));
            "element dropped"
        }
        1 => {
            list.swap(n - 2, n - 1);
            "elements swapped"
        }
        2 => {
            let v: Value = list[rng.random_range(0..n)].clone();
            list.insert(rng.random_range(0..n), v);
            "element repeated"
        }
        _ => {
            list.push(json!(1000 + rng.random_range(0..3)));
            "foreign element"
        }
    }
}

/// Changes one ok rw-register read: to another value written to its key, the initial state, or
/// a value nobody wrote.
fn mutate_register_read(events: &mut [Event], completions: &[usize], rng: &mut StdRng) -> &'static str {
    let reads: Vec<(usize, usize)> = completions
        .iter()
        .flat_map(|&i| {
            let n = events[i].value.as_array().map_or(0, Vec::len);
            (0..n).filter(move |&j| j < n).map(move |j| (i, j))
        })
        .filter(|&(i, j)| events[i].value[j][0] == "r")
        .collect();
    if reads.is_empty() {
        return "none";
    }
    let (i, j) = reads[rng.random_range(0..reads.len())];
    let key = events[i].value[j][1].clone();
    let written: Vec<Value> = events
        .iter()
        .flat_map(|e| e.value.as_array().cloned().unwrap_or_default())
        .filter(|m| m[0] == "w" && m[1] == key)
        .map(|m| m[2].clone())
        .collect();
    let (value, what) = match rng.random_range(0..3) {
        0 if !written.is_empty() => (
            written[rng.random_range(0..written.len())].clone(),
            "another value",
        ),
        1 => (Value::Null, "the initial state"),
        _ => (json!(1000 + rng.random_range(0..3)), "a foreign value"),
    };
    events[i].value[j][2] = value;
    what
}

/// The first cut at which every operation invoked before `cut` has completed.
fn settled_after(events: &[Event], cut: usize) -> usize {
    let mut open = std::collections::BTreeSet::new();
    let mut last = cut;
    for (i, e) in events.iter().enumerate() {
        if e.kind == EventKind::Invoke {
            if i < cut {
                open.insert(e.process);
            }
        } else if open.remove(&e.process) {
            last = last.max(i + 1);
        }
    }
    last
}

/// Feeds `events` cut by cut (each a look, counted in `looks`) until both the oracle and the
/// watch found a violation; returns (the first cut the oracle finds certain, the cut the watch
/// stopped at, looks the watch sent to a full check).
fn watch_against_oracle(
    events: &[Event],
    workload: Workload,
    looks: &mut usize,
) -> (Option<usize>, Option<usize>, usize) {
    let mut watch = TxnWatch::new(workload, RegisterOrderAssumptions::default(), None)
        .expect("default options are followed");
    let (mut oracle, mut stopped, mut checked) = (None, None, 0);
    for cut in 1..=events.len() {
        *looks += 1;
        let prefix = History::from_events("prefix", events[..cut].to_vec()).expect("a prefix is well formed");
        let is_certain = certain(&prefix, workload);
        if is_certain && oracle.is_none() {
            oracle = Some(cut);
        }
        if stopped.is_none() {
            let flagged = watch.advance(&prefix).expect("a history of the workload");
            if flagged {
                checked += 1;
                if is_certain {
                    stopped = Some(cut);
                }
            }
        }
        if oracle.is_some() && stopped.is_some() {
            break;
        }
    }
    (oracle, stopped, checked)
}

/// The oracle comparison over every store, for one workload; returns the histories with a
/// certain violation.
fn every_certain_violation_reaches_a_full_check(ops: Ops) -> usize {
    let workload = match ops {
        Ops::ListAppend => Workload::ListAppend,
        Ops::RwRegister => Workload::RwRegister,
    };
    let stores = [
        Store::StaleReads { max_lag: 1 },
        Store::StaleReads { max_lag: 3 },
        Store::SnapshotIsolation,
        Store::ReadCommitted,
        Store::StrictSerializable,
    ];
    let mut rng = StdRng::seed_from_u64(5);
    let (mut histories, mut violations, mut delayed, mut looks, mut checked) = (0, 0, 0, 0, 0);
    for store in stores {
        for seed in 0..30u64 {
            let clean = generate(SimConfig::new(store, ops, 60, seed));
            let mut mutated = clean.clone();
            let how = mutate(&mut mutated, workload, &mut rng);
            for (events, how) in [(clean, "none"), (mutated, how)] {
                if History::from_events("h", events.clone()).is_err() {
                    continue;
                }
                histories += 1;
                let (oracle, stopped, asked) = watch_against_oracle(&events, workload, &mut looks);
                checked += asked;
                let Some(first) = oracle else {
                    assert_eq!(stopped, None, "a stop needs a certain violation");
                    continue;
                };
                violations += 1;
                let bound = settled_after(&events, first);
                let Some(at) = stopped else {
                    panic!(
                        "{ops:?} {store:?} seed {seed} ({how}): the full check finds a certain violation at event {first} (settled by {bound}), the watch never sent it there"
                    );
                };
                assert!(
                    at <= bound,
                    "{ops:?} {store:?} seed {seed} ({how}): certain at event {first}, settled by {bound}, the watch stopped only at {at}"
                );
                if at > first {
                    delayed += 1;
                }
            }
        }
    }
    eprintln!(
        "{ops:?}: {histories} histories, {violations} with a certain violation ({delayed} found after the first cut that has it, while its transactions were pending); {checked} of {looks} looks sent to a full check"
    );
    violations
}

#[test]
fn the_watch_sends_every_list_append_violation_to_a_full_check_once_its_transactions_complete() {
    let violations = every_certain_violation_reaches_a_full_check(Ops::ListAppend);
    assert!(
        violations >= 150,
        "too few violations to mean anything: {violations}"
    );
}

#[test]
fn the_watch_sends_every_rw_register_violation_to_a_full_check_once_its_transactions_complete() {
    let violations = every_certain_violation_reaches_a_full_check(Ops::RwRegister);
    assert!(
        violations >= 150,
        "too few violations to mean anything: {violations}"
    );
}

#[test]
fn on_a_strict_serializable_store_the_watch_never_asks_for_a_check() {
    for (ops, workload) in [
        (Ops::ListAppend, Workload::ListAppend),
        (Ops::RwRegister, Workload::RwRegister),
    ] {
        for seed in 0..20u64 {
            let events = generate(SimConfig::new(Store::StrictSerializable, ops, 60, seed));
            let (oracle, _, checked) = watch_against_oracle(&events, workload, &mut 0);
            assert_eq!(
                oracle, None,
                "{ops:?} seed {seed}: the store is strict serializable"
            );
            assert_eq!(
                checked, 0,
                "{ops:?} seed {seed}: nothing to look closer at, yet the watch asked"
            );
        }
    }
}
