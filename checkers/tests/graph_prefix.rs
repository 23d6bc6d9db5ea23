//! The soundness of `faultline run --stop-on-violation` for the dependency-graph checker: an
//! anomaly kind that [`AnomalyKind::is_prefix_closed`] calls prefix-closed, found in a prefix of a
//! history (events cut at any point, operations still pending read as indeterminate) and
//! forbidden by a model, means the whole history violates that model too. Histories come from
//! the simulated stores of `support::sim` (stale reads, snapshot isolation, read committed), for
//! both list-append and rw-register, cut every few events.

mod support;

use faultline_checkers::graph::{AnomalyKind, ConsistencyModel, TxnCheckOptions, Workload, analyze};
use faultline_checkers::history::History;
use faultline_checkers::report::Verdict;
use support::sim::{Ops, SimConfig, Store, generate};

fn check(history: &History, workload: Workload) -> faultline_checkers::graph::TxnAnalysis {
    let mut opts = TxnCheckOptions::new(workload);
    opts.models = ConsistencyModel::ALL.to_vec();
    analyze(history, &opts).expect("check runs")
}

#[test]
fn a_prefix_closed_anomaly_in_a_prefix_is_a_violation_of_the_whole_history() {
    let stores = [
        Store::StaleReads { max_lag: 3 },
        Store::SnapshotIsolation,
        Store::ReadCommitted,
        Store::StrictSerializable,
    ];
    let (mut prefixes, mut certain) = (0usize, 0usize);
    let mut open_kinds = std::collections::BTreeSet::new();
    for ops in [Ops::ListAppend, Ops::RwRegister] {
        let workload = match ops {
            Ops::ListAppend => Workload::ListAppend,
            Ops::RwRegister => Workload::RwRegister,
        };
        for store in stores {
            for seed in 0..12u64 {
                let events = generate(SimConfig::new(store, ops, 40, seed));
                let whole = check(
                    &History::from_events("sim", events.clone()).expect("well formed"),
                    workload,
                );
                for cut in (3..events.len()).step_by(3) {
                    let prefix = History::from_events("prefix", events[..cut].to_vec())
                        .expect("a prefix is well formed");
                    let found = check(&prefix, workload);
                    prefixes += 1;
                    for model in ConsistencyModel::ALL {
                        let verdict = found.model(model).expect("checked");
                        let closed: Vec<&String> = verdict
                            .anomalies
                            .iter()
                            .filter(|k| AnomalyKind::from_name(k).is_some_and(AnomalyKind::is_prefix_closed))
                            .collect();
                        for k in &verdict.anomalies {
                            if !closed.contains(&k) {
                                open_kinds.insert(k.clone());
                            }
                        }
                        if closed.is_empty() {
                            continue;
                        }
                        certain += 1;
                        assert_eq!(
                            whole.model(model).expect("checked").verdict,
                            Verdict::Invalid,
                            "{ops:?} {store:?} seed {seed}: the prefix of {cut} events has {closed:?}, which {model} forbids, but the whole history is not invalid for it"
                        );
                    }
                }
            }
        }
    }
    eprintln!(
        "{prefixes} prefixes; {certain} (prefix, model) pairs with a prefix-closed violation; other kinds seen: {open_kinds:?}"
    );
    assert!(
        certain >= 300,
        "too few certain violations to mean anything: {certain}"
    );
}

/// Why a garbage read is not prefix-closed: process 0 reads [1] before anyone appends 1; the
/// prefix cut there reads a value nobody wrote, but once process 1 appends 1 the whole history
/// is serializable (the read is ordered after the append; only real time forbids it).
#[test]
fn a_read_of_a_value_not_written_yet_is_not_certain() {
    use serde_json::json;
    let mut h = support::Hist::new();
    h.txn(0, json!([["r", "x", [1]]]));
    let prefix = h.history();
    h.txn(1, json!([["append", "x", 1]]));
    let whole = h.history();
    let in_prefix = check(&prefix, Workload::ListAppend);
    assert!(in_prefix.anomaly_kinds().contains(&AnomalyKind::GarbageRead));
    assert!(!AnomalyKind::GarbageRead.is_prefix_closed());
    let ser = ConsistencyModel::Serializable;
    assert_eq!(in_prefix.model(ser).unwrap().verdict, Verdict::Invalid);
    assert_eq!(
        check(&whole, Workload::ListAppend).model(ser).unwrap().verdict,
        Verdict::Valid
    );
}
