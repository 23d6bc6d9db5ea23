//! Causal consistency on hand-made histories: every anomaly kind the model names makes it
//! invalid (each beside a valid twin), what it allows stays valid, and a missed causal write
//! is explained in numbered steps.

mod support;

use faultline_checkers::graph::ConsistencyModel::{self, Causal};
use faultline_checkers::graph::Workload::{self, ListAppend, RwRegister};
use faultline_checkers::graph::{TxnCheckOptions, analyze};
use faultline_checkers::history::History;
use faultline_checkers::report::Verdict;
use serde_json::json;
use support::{Hist, analyze_with};

/// Causal's verdict and the anomalies behind it.
fn causal(h: &History, w: Workload) -> (Verdict, Vec<String>) {
    let a = analyze_with(h, w, &[Causal]);
    let m = a.model(Causal).expect("requested");
    (m.verdict, m.anomalies.clone())
}

fn invalid_with(h: &History, w: Workload, kind: &str) {
    let (v, anomalies) = causal(h, w);
    assert_eq!(v, Verdict::Invalid, "{anomalies:?}");
    assert!(anomalies.iter().any(|a| a == kind), "{kind} not in {anomalies:?}");
}

fn valid(h: &History, w: Workload) {
    assert_eq!(causal(h, w), (Verdict::Valid, vec![]));
}

#[test]
fn read_atomic_anomalies_break_causal() {
    // G1a: a read of a failed append.
    let g1a = |fail: bool| {
        let mut h = Hist::new();
        if fail {
            h.failed(0, json!([["append", "x", 1]]));
        } else {
            h.txn(0, json!([["append", "x", 1]]));
        }
        h.txn(1, json!([["r", "x", [1]]])).history()
    };
    invalid_with(&g1a(true), ListAppend, "G1a");
    valid(&g1a(false), ListAppend);
    // G1b: an intermediate read.
    let g1b = |read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["w", "x", 1], ["w", "x", 2]]))
            .txn(1, json!([["r", "x", read]]))
            .history()
    };
    invalid_with(&g1b(json!(1)), RwRegister, "G1b");
    valid(&g1b(json!(2)), RwRegister);
    // Fractured read: saw one of T1's writes, not the other.
    let fractured = |x: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1], ["append", "y", 1]]))
            .txn(1, json!([["r", "y", [1]], ["r", "x", x]]))
            .history()
    };
    invalid_with(&fractured(json!([])), ListAppend, "fractured-read");
    valid(&fractured(json!([1])), ListAppend);
    // Non-repeatable read.
    let nrr = |second: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["w", "x", 1]])),
                (1, json!([["w", "x", 2]])),
                (2, json!([["r", "x", 1], ["r", "x", second]])),
            ])
            .history()
    };
    invalid_with(&nrr(json!(2)), RwRegister, "non-repeatable-read");
    valid(&nrr(json!(1)), RwRegister);
}

#[test]
fn happened_before_cycles_break_causal() {
    // G0-process: process 0 appended 1 then 2, a reader saw 2 before 1.
    let g0 = |order: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(0, json!([["append", "x", 2]]))
            .txn(5, json!([["r", "x", order]]))
            .history()
    };
    invalid_with(&g0(json!([2, 1])), ListAppend, "G0-process");
    valid(&g0(json!([1, 2])), ListAppend);
    // G1c-process: T2 -wr-> T1 -process-> T3 -wr-> T2.
    let g1c = |y: serde_json::Value| {
        Hist::new()
            .invoke(1, json!([["append", "x", 1], ["r", "y", y]]))
            .txn(0, json!([["r", "x", [1]]]))
            .txn(0, json!([["append", "y", 1]]))
            .ok(1)
            .history()
    };
    invalid_with(&g1c(json!([1])), ListAppend, "G1c-process");
    valid(&g1c(json!([])), ListAppend);
}

#[test]
fn missed_causal_writes_break_causal() {
    // Through two reads (list-append) and through process order (rw-register).
    let chain = |x: serde_json::Value| {
        Hist::new()
            .txn(2, json!([["append", "x", 1]]))
            .txn(0, json!([["r", "x", [1]], ["append", "y", 1]]))
            .txn(1, json!([["r", "x", x], ["r", "y", [1]]]))
            .history()
    };
    invalid_with(&chain(json!([])), ListAppend, "missed-causal-write");
    valid(&chain(json!([1])), ListAppend);
    let session = |y: serde_json::Value| {
        Hist::new()
            .txn(2, json!([["w", "x", 1], ["w", "y", 1]]))
            .txn(1, json!([["r", "x", 1]]))
            .txn(1, json!([["r", "y", y]]))
            .history()
    };
    invalid_with(&session(json!(null)), RwRegister, "missed-causal-write");
    valid(&session(json!(1)), RwRegister);
    // A read shows every element before its last: the writer of an earlier element happened
    // before the reader too (here T1, whose other append the reader's process then missed).
    let earlier = |y: serde_json::Value| {
        Hist::new()
            .txn(2, json!([["append", "x", 1], ["append", "y", 1]]))
            .txn(3, json!([["append", "x", 2]]))
            .txn(1, json!([["r", "x", [1, 2]]]))
            .txn(1, json!([["r", "y", y]]))
            .history()
    };
    invalid_with(&earlier(json!([])), ListAppend, "missed-causal-write");
    valid(&earlier(json!([1])), ListAppend);
    // The per-key session guarantees pass on it: the violation spans two keys.
    let sessions = [
        ConsistencyModel::ReadYourWrites,
        ConsistencyModel::MonotonicReads,
        ConsistencyModel::MonotonicWrites,
        ConsistencyModel::WritesFollowReads,
    ];
    let a = analyze_with(&earlier(json!([])), ListAppend, &sessions);
    assert_eq!(a.verdict(), Verdict::Valid);
}

#[test]
fn causal_allows_long_forks_and_write_skew() {
    let long_fork = Hist::new()
        .concurrent(&[(0, json!([["append", "x", 1]])), (1, json!([["append", "y", 1]]))])
        .concurrent(&[
            (2, json!([["r", "x", [1]], ["r", "y", []]])),
            (3, json!([["r", "x", []], ["r", "y", [1]]])),
        ])
        .history();
    valid(&long_fork, ListAppend);
    let a = analyze_with(&long_fork, ListAppend, &[ConsistencyModel::SnapshotIsolation]);
    assert_eq!(a.verdict(), Verdict::Invalid);
    let write_skew = Hist::new()
        .concurrent(&[
            (0, json!([["r", "x", null], ["w", "y", 1]])),
            (1, json!([["r", "y", null], ["w", "x", 1]])),
        ])
        .history();
    valid(&write_skew, RwRegister);
    // G-single with its ww edge on another key: T1 -rw(x)-> T2 -ww(y)-> T3 -wr(y)-> T1. T2
    // precedes T3 in y's version order (real time, with --linearizable-keys) but T1 only saw
    // T3, so T2's x need not be visible to it. Causal, not snapshot isolation.
    let h = Hist::new()
        .txn(0, json!([["w", "x", 1], ["w", "y", 1]]))
        .txn(1, json!([["w", "y", 2]]))
        .txn(2, json!([["r", "x", null], ["r", "y", 2]]))
        .history();
    let mut opts = TxnCheckOptions::new(RwRegister);
    opts.register_order.linearizable_keys = true;
    opts.models = vec![Causal, ConsistencyModel::SnapshotIsolation];
    let a = analyze(&h, &opts).expect("check runs");
    assert_eq!(a.model(Causal).map(|m| m.verdict), Some(Verdict::Valid));
    let si = a.model(ConsistencyModel::SnapshotIsolation).expect("requested");
    assert_eq!(si.anomalies, ["G-single", "consistent-prefix"]);
}

#[test]
fn a_missed_causal_write_is_explained_step_by_step() {
    let h = Hist::new()
        .txn(2, json!([["append", "x", 1]]))
        .txn(0, json!([["r", "x", [1]], ["append", "y", 1]]))
        .txn(1, json!([["r", "x", []], ["r", "y", [1]]]))
        .history();
    let report = analyze_with(&h, ListAppend, &[Causal]).into_report();
    let a = report
        .anomalies
        .iter()
        .find(|a| a.kind == "missed-causal-write")
        .expect("explained");
    let steps = a.steps.join("\n");
    assert!(steps.contains("T1 appended 1 to key x."), "{steps}");
    assert!(
        steps.contains("T1 < T2 because T2 read key x as [1], which includes T1's append of 1"),
        "{steps}"
    );
    assert!(
        steps.contains("T2 < T3 because T3 read key y as [1], which includes T2's append of 1"),
        "{steps}"
    );
    assert!(
        steps.contains("However, T3 read key x as [], which does not include T1's append of 1"),
        "{steps}"
    );
    assert_eq!(a.details["happened_before"].as_array().map(Vec::len), Some(2));
}

#[test]
fn completion_only_histories_leave_causal_unknown_unless_broken() {
    use faultline_checkers::history::{Event, EventKind, Process};
    let events = |x: serde_json::Value| {
        let ops = [
            (2, json!([["append", "x", 1]])),
            (0, json!([["r", "x", [1]], ["append", "y", 1]])),
            (1, json!([["r", "x", x], ["r", "y", [1]]])),
        ];
        ops.into_iter()
            .enumerate()
            .map(|(i, (p, v))| Event::new(i as u64, Process::Client(p), EventKind::Ok, "txn", v))
            .collect::<Vec<_>>()
    };
    let broken = History::from_events("t", events(json!([]))).expect("history");
    assert!(broken.completion_only);
    invalid_with(&broken, ListAppend, "missed-causal-write");
    let fine = History::from_events("t", events(json!([1]))).expect("history");
    assert_eq!(causal(&fine, ListAppend).0, Verdict::Unknown);
}
