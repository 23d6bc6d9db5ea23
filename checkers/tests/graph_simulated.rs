//! No false positives, and the expected catches: histories from simulated stores (real
//! concurrent interleavings, seeded) are valid for every model the store provides, and the
//! weaker stores are caught with the anomalies they allow.

mod support;

use faultline_checkers::graph::ConsistencyModel::{self, *};
use faultline_checkers::graph::{TxnCheckOptions, Workload, analyze};
use faultline_checkers::history::History;
use faultline_checkers::report::Verdict;
use std::collections::BTreeSet;
use support::sim::{Ops, SimConfig, Store, generate};

const ALL: [ConsistencyModel; 11] = ConsistencyModel::ALL;

/// Checks `seeds` histories of a store; asserts `holds` are valid in every one; returns the
/// anomaly kinds seen over all seeds (with the models each broke).
fn run(
    store: Store,
    ops: Ops,
    seeds: std::ops::Range<u64>,
    txns: usize,
    holds: &[ConsistencyModel],
) -> BTreeSet<String> {
    let workload = match ops {
        Ops::ListAppend => Workload::ListAppend,
        Ops::RwRegister => Workload::RwRegister,
    };
    let mut seen = BTreeSet::new();
    for seed in seeds {
        let cfg = SimConfig::new(store, ops, txns, seed);
        let history = History::from_events("sim", generate(cfg)).expect("simulated history is well formed");
        let mut opts = TxnCheckOptions::new(workload);
        opts.models = ALL.to_vec();
        let analysis = analyze(&history, &opts).expect("check runs");
        for m in holds {
            let v = analysis.model(*m).expect("requested").verdict;
            if v != Verdict::Valid {
                let report = analysis.into_report();
                panic!(
                    "{store:?} {ops:?} seed {seed}: {m} is {v:?}\n{}",
                    report.render_text(3)
                );
            }
        }
        seen.extend(analysis.anomaly_kinds().iter().map(|k| k.name().to_string()));
    }
    seen
}

#[test]
fn strict_serializable_store_is_valid_for_every_model() {
    for ops in [Ops::ListAppend, Ops::RwRegister] {
        let seen = run(Store::StrictSerializable, ops, 0..1500, 40, &ALL);
        assert!(seen.is_empty(), "{seen:?}");
    }
}

#[test]
fn stale_reads_store_is_serializable_but_breaks_sessions_and_realtime() {
    let holds = [
        ReadCommitted,
        ReadAtomic,
        SnapshotIsolation,
        Serializable,
        MonotonicWrites,
        WritesFollowReads,
        ConsistentPrefix,
    ];
    for ops in [Ops::ListAppend, Ops::RwRegister] {
        let seen = run(Store::StaleReads { max_lag: 6 }, ops, 0..1500, 40, &holds);
        assert!(seen.contains("read-your-writes"), "{ops:?}: {seen:?}");
        assert!(seen.contains("monotonic-reads"), "{ops:?}: {seen:?}");
        assert!(seen.iter().any(|k| k.ends_with("-realtime")), "{ops:?}: {seen:?}");
        assert!(seen.iter().any(|k| k.ends_with("-process")), "{ops:?}: {seen:?}");
        assert!(seen.contains("missed-causal-write"), "{ops:?}: {seen:?}");
    }
}

#[test]
fn snapshot_isolation_store_is_caught_with_write_skew_only() {
    // Snapshots that include the session's own commits: strong session SI, which is causal.
    let holds = [
        ReadCommitted,
        ReadAtomic,
        Causal,
        SnapshotIsolation,
        ReadYourWrites,
        MonotonicReads,
        MonotonicWrites,
        WritesFollowReads,
        ConsistentPrefix,
    ];
    for ops in [Ops::ListAppend, Ops::RwRegister] {
        let seen = run(Store::SnapshotIsolation, ops, 0..1500, 40, &holds);
        assert!(seen.contains("G2-item"), "{ops:?}: {seen:?}");
    }
}

#[test]
fn read_committed_store_is_caught_with_read_skew_and_lost_updates() {
    let holds = [
        ReadCommitted,
        ReadYourWrites,
        MonotonicReads,
        MonotonicWrites,
        WritesFollowReads,
    ];
    for ops in [Ops::ListAppend, Ops::RwRegister] {
        let seen = run(Store::ReadCommitted, ops, 0..1500, 40, &holds);
        for expected in ["G-single", "lost-update", "fractured-read"] {
            assert!(
                seen.contains(expected),
                "{ops:?}: {expected} not seen in {seen:?}"
            );
        }
    }
}
