//! Minimal invalid rw-register histories, each beside a valid near-twin, asserting the exact
//! anomaly kinds found.

mod support;

use faultline_checkers::graph::{
    ConsistencyModel, RegisterOrderAssumptions, TxnCheckOptions, Workload::RwRegister, analyze,
};
use serde_json::json;
use support::{Hist, kinds};

fn names(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn cyclic_versions() {
    let build = |t2_read: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["r", "x", 1], ["w", "x", 2]])),
                (1, json!([["r", "x", t2_read], ["w", "x", 1]])),
            ])
            .history()
    };
    // 1 < 2 (T1 read 1, wrote 2) and 2 < 1 (T2 read 2, wrote 1); each read the other: G1c.
    assert_eq!(
        kinds(&build(json!(2)), RwRegister),
        names(&["G1c", "cyclic-versions"])
    );
    assert_eq!(kinds(&build(json!(null)), RwRegister), Vec::<String>::new());
}

#[test]
fn read_skew_and_fractured_read() {
    let build = |x: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["w", "x", 1], ["w", "y", 1]])),
                (1, json!([["r", "x", x], ["r", "y", 1]])),
            ])
            .history()
    };
    assert_eq!(
        kinds(&build(json!(null)), RwRegister),
        names(&["G-single", "fractured-read", "missed-causal-write"])
    );
    assert_eq!(kinds(&build(json!(1)), RwRegister), Vec::<String>::new());
}

#[test]
fn write_skew() {
    let build = |t2_x: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["r", "x", null], ["r", "y", null], ["w", "x", 1]])),
                (1, json!([["r", "x", t2_x], ["r", "y", null], ["w", "y", 1]])),
            ])
            .history()
    };
    assert_eq!(kinds(&build(json!(null)), RwRegister), names(&["G2-item"]));
    assert_eq!(kinds(&build(json!(1)), RwRegister), Vec::<String>::new());
}

#[test]
fn aborted_intermediate_garbage_internal_lost() {
    let g1a = Hist::new()
        .failed(0, json!([["w", "x", 1]]))
        .txn(1, json!([["r", "x", 1]]))
        .history();
    assert_eq!(kinds(&g1a, RwRegister), names(&["G1a"]));
    let g1b = Hist::new()
        .txn(0, json!([["w", "x", 1], ["w", "x", 2]]))
        .txn(1, json!([["r", "x", 1]]))
        .history();
    assert_eq!(kinds(&g1b, RwRegister), names(&["G1b"]));
    let ok = Hist::new()
        .txn(0, json!([["w", "x", 1], ["w", "x", 2]]))
        .txn(1, json!([["r", "x", 2]]))
        .history();
    assert_eq!(kinds(&ok, RwRegister), Vec::<String>::new());
    let garbage = Hist::new().txn(1, json!([["r", "x", 7]])).history();
    assert_eq!(kinds(&garbage, RwRegister), names(&["garbage-read"]));
    let internal = Hist::new()
        .txn(0, json!([["w", "x", 1], ["r", "x", null]]))
        .history();
    assert_eq!(kinds(&internal, RwRegister), names(&["internal"]));
    let internal_ok = Hist::new()
        .txn(0, json!([["w", "x", 1], ["r", "x", 1]]))
        .history();
    assert_eq!(kinds(&internal_ok, RwRegister), Vec::<String>::new());
    let lost = |second: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["r", "x", null], ["w", "x", 1]])),
                (1, json!([["r", "x", second], ["w", "x", 2]])),
            ])
            .history()
    };
    // Both read nil and overwrote it: lost update, and a G-single (each read nil, which the
    // other's write follows).
    assert_eq!(
        kinds(&lost(json!(null)), RwRegister),
        names(&["G2-item", "lost-update"])
    );
    assert_eq!(kinds(&lost(json!(1)), RwRegister), Vec::<String>::new());
}

#[test]
fn sequential_keys_assumption_orders_versions_by_process() {
    // Process 0 writes 1 then 2; process 1 reads 2 then 1. Only with sequential keys is the
    // second read provably stale, and with it the version order 1 < 2 < ... is cyclic for
    // process 1 (2 then 1).
    let h = Hist::new()
        .txn(0, json!([["w", "x", 1]]))
        .txn(0, json!([["w", "x", 2]]))
        .txn(1, json!([["r", "x", 2]]))
        .txn(1, json!([["r", "x", 1]]))
        .history();
    let mut opts = TxnCheckOptions::new(RwRegister);
    opts.models = vec![ConsistencyModel::Serializable];
    assert!(analyze(&h, &opts).unwrap().anomaly_kinds().is_empty());
    opts.register_order = RegisterOrderAssumptions {
        sequential_keys: true,
        linearizable_keys: false,
    };
    let names: Vec<&str> = analyze(&h, &opts)
        .unwrap()
        .anomaly_kinds()
        .iter()
        .map(|k| k.name())
        .collect();
    assert_eq!(names, vec!["cyclic-versions"]);
    opts.register_order = RegisterOrderAssumptions {
        sequential_keys: false,
        linearizable_keys: true,
    };
    let names: Vec<&str> = analyze(&h, &opts)
        .unwrap()
        .anomaly_kinds()
        .iter()
        .map(|k| k.name())
        .collect();
    assert_eq!(names, vec!["cyclic-versions"]);
}

#[test]
fn duplicate_writes_are_bad_input() {
    let h = Hist::new()
        .txn(0, json!([["w", "x", 1]]))
        .txn(1, json!([["w", "x", 1]]))
        .history();
    let e = analyze(&h, &TxnCheckOptions::new(RwRegister)).unwrap_err();
    assert!(e.to_string().contains("written to key x again"), "{e}");
    assert_eq!(e.line(), Some(3));
}

#[test]
fn non_repeatable_read_is_allowed_by_read_committed_only() {
    let build = |second: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["w", "x", 1]])),
                (1, json!([["w", "x", 2]])),
                (2, json!([["r", "x", 1], ["r", "y", null], ["r", "x", second]])),
            ])
            .history()
    };
    let h = build(json!(2));
    assert_eq!(kinds(&h, RwRegister), names(&["non-repeatable-read"]));
    assert_eq!(kinds(&build(json!(1)), RwRegister), Vec::<String>::new());
    // nil, then a value: also two states of one key.
    let from_nil = Hist::new()
        .concurrent(&[
            (0, json!([["w", "x", 1]])),
            (1, json!([["r", "x", null], ["r", "x", 1]])),
        ])
        .history();
    // nil precedes 1, so the first read also anti-depends on the write it then saw: G-single,
    // and a missed causal write (it read that write, so it happened before it).
    assert_eq!(
        kinds(&from_nil, RwRegister),
        names(&["G-single", "missed-causal-write", "non-repeatable-read"])
    );
    let verdict = |m: ConsistencyModel| support::analyze_with(&h, RwRegister, &[m]).verdict();
    use faultline_checkers::report::Verdict;
    assert_eq!(verdict(ConsistencyModel::ReadCommitted), Verdict::Valid);
    for m in [
        ConsistencyModel::ReadAtomic,
        ConsistencyModel::Causal,
        ConsistencyModel::SnapshotIsolation,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrictSerializable,
    ] {
        assert_eq!(verdict(m), Verdict::Invalid, "{m:?}");
    }
}
