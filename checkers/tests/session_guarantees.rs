//! Each session guarantee: a minimal violating history and its valid near-twin, for
//! list-append and rw-register, checking only the session guarantees (so the exact kinds are
//! the session anomalies), plus the plain-words explanation.

mod support;

use faultline_checkers::graph::ConsistencyModel::{self, *};
use faultline_checkers::graph::Workload::{ListAppend, RwRegister};
use serde_json::json;
use support::{Hist, analyze_with, kinds_for};

const SESSION: [ConsistencyModel; 5] = [
    ReadYourWrites,
    MonotonicReads,
    MonotonicWrites,
    WritesFollowReads,
    ConsistentPrefix,
];

fn one(k: &str) -> Vec<String> {
    vec![k.to_string()]
}

#[test]
fn read_your_writes() {
    let build = |read: serde_json::Value| {
        Hist::new()
            .txn(3, json!([["append", 5, 7]]))
            .txn(3, json!([["r", 5, read]]))
            .history()
    };
    assert_eq!(
        kinds_for(&build(json!([])), ListAppend, &SESSION),
        one("read-your-writes")
    );
    assert_eq!(
        kinds_for(&build(json!([7])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    let report = analyze_with(&build(json!([])), ListAppend, &[ReadYourWrites]).into_report();
    let steps = report.anomalies[0].steps.join("\n");
    assert!(
        steps.contains("Process 3 appended 7 to key 5 in T1 (index 0), then read key 5 in T2 (index 2) as [] and did not see 7"),
        "{steps}"
    );
    let reg = |read: serde_json::Value| {
        Hist::new()
            .txn(3, json!([["w", 5, 7]]))
            .txn(3, json!([["r", 5, read]]))
            .history()
    };
    assert_eq!(
        kinds_for(&reg(json!(null)), RwRegister, &SESSION),
        one("read-your-writes")
    );
    assert_eq!(
        kinds_for(&reg(json!(7)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
}

#[test]
fn monotonic_reads() {
    let build = |second: serde_json::Value| {
        Hist::new()
            .txn(1, json!([["append", "x", 1]]))
            .txn(1, json!([["append", "x", 2]]))
            .txn(0, json!([["r", "x", [1, 2]]]))
            .txn(0, json!([["r", "x", second]]))
            .history()
    };
    assert_eq!(
        kinds_for(&build(json!([1])), ListAppend, &SESSION),
        one("monotonic-reads")
    );
    assert_eq!(
        kinds_for(&build(json!([1, 2])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    let reg = |second: serde_json::Value| {
        Hist::new()
            .txn(1, json!([["w", "x", 1]]))
            .txn(0, json!([["r", "x", 1]]))
            .txn(0, json!([["r", "x", second]]))
            .history()
    };
    assert_eq!(
        kinds_for(&reg(json!(null)), RwRegister, &SESSION),
        one("monotonic-reads")
    );
    assert_eq!(
        kinds_for(&reg(json!(1)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
}

#[test]
fn monotonic_writes() {
    // Process 0 appends to x, then to y; process 1 sees the y append but not the x one.
    let build = |x: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(0, json!([["append", "y", 1]]))
            .txn(1, json!([["r", "y", [1]], ["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds_for(&build(json!([])), ListAppend, &SESSION),
        one("monotonic-writes")
    );
    assert_eq!(
        kinds_for(&build(json!([1])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    // Same key, observed out of order.
    let same_key = |order: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(0, json!([["append", "x", 2]]))
            .txn(1, json!([["r", "x", order]]))
            .history()
    };
    assert_eq!(
        kinds_for(&same_key(json!([2, 1])), ListAppend, &SESSION),
        one("monotonic-writes")
    );
    assert_eq!(
        kinds_for(&same_key(json!([1, 2])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    let reg = |x: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["w", "x", 1]]))
            .txn(0, json!([["w", "y", 1]]))
            .txn(1, json!([["r", "y", 1], ["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds_for(&reg(json!(null)), RwRegister, &SESSION),
        one("monotonic-writes")
    );
    assert_eq!(
        kinds_for(&reg(json!(1)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
}

#[test]
fn writes_follow_reads() {
    // Process 0 reads process 2's append to x, then appends to y; process 1 sees the y append
    // but not the x append process 0 had read.
    let build = |x: serde_json::Value| {
        Hist::new()
            .txn(2, json!([["append", "x", 1]]))
            .txn(0, json!([["r", "x", [1]]]))
            .txn(0, json!([["append", "y", 1]]))
            .txn(1, json!([["r", "y", [1]], ["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds_for(&build(json!([])), ListAppend, &SESSION),
        one("writes-follow-reads")
    );
    assert_eq!(
        kinds_for(&build(json!([1])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    let reg = |x: serde_json::Value| {
        Hist::new()
            .txn(2, json!([["w", "x", 1]]))
            .txn(0, json!([["r", "x", 1]]))
            .txn(0, json!([["w", "y", 1]]))
            .txn(1, json!([["r", "y", 1], ["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds_for(&reg(json!(null)), RwRegister, &SESSION),
        one("writes-follow-reads")
    );
    assert_eq!(
        kinds_for(&reg(json!(1)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
}

#[test]
fn writes_follow_reads_within_one_transaction() {
    // Process 0 reads process 2's write to x and then, in the same transaction, writes y;
    // process 1 sees the y write but not the x write. Writing y first, then reading x, is no
    // violation: the write did not follow the read.
    let list = |read_first: bool, x: serde_json::Value| {
        let (r, a) = (json!(["r", "x", [1]]), json!(["append", "y", 1]));
        let mops = if read_first { json!([r, a]) } else { json!([a, r]) };
        Hist::new()
            .txn(2, json!([["append", "x", 1]]))
            .txn(0, mops)
            .txn(1, json!([["r", "y", [1]], ["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds_for(&list(true, json!([])), ListAppend, &SESSION),
        one("writes-follow-reads")
    );
    assert_eq!(
        kinds_for(&list(false, json!([])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    assert_eq!(
        kinds_for(&list(true, json!([1])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    let reg = |read_first: bool, x: serde_json::Value| {
        let (r, w) = (json!(["r", "x", 1]), json!(["w", "y", 1]));
        let mops = if read_first { json!([r, w]) } else { json!([w, r]) };
        Hist::new()
            .txn(2, json!([["w", "x", 1]]))
            .txn(0, mops)
            .txn(1, json!([["r", "y", 1], ["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds_for(&reg(true, json!(null)), RwRegister, &SESSION),
        one("writes-follow-reads")
    );
    assert_eq!(
        kinds_for(&reg(false, json!(null)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
    assert_eq!(
        kinds_for(&reg(true, json!(1)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
    let report = analyze_with(&reg(true, json!(null)), RwRegister, &[WritesFollowReads]).into_report();
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        text.contains("Process 0 read key x as 1, then wrote 1 to key y, in the same transaction T1."),
        "{text}"
    );
}

#[test]
fn consistent_prefix_long_fork() {
    let build = |x: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["append", "x", 1]])),
                (1, json!([["append", "y", 1]])),
                (2, json!([["r", "x", [1]], ["r", "y", []]])),
                (3, json!([["r", "y", [1]], ["r", "x", x]])),
            ])
            .history()
    };
    assert_eq!(
        kinds_for(&build(json!([])), ListAppend, &SESSION),
        one("consistent-prefix")
    );
    assert_eq!(
        kinds_for(&build(json!([1])), ListAppend, &SESSION),
        Vec::<String>::new()
    );
    let reg = |x: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["w", "x", 1]])),
                (1, json!([["w", "y", 1]])),
                (2, json!([["r", "x", 1], ["r", "y", null]])),
                (3, json!([["r", "y", 1], ["r", "x", x]])),
            ])
            .history()
    };
    assert_eq!(
        kinds_for(&reg(json!(null)), RwRegister, &SESSION),
        one("consistent-prefix")
    );
    assert_eq!(
        kinds_for(&reg(json!(1)), RwRegister, &SESSION),
        Vec::<String>::new()
    );
}

#[test]
fn report_names_models_and_explains_cycles() {
    let h = Hist::new()
        .txn(0, json!([["append", 5, 1]]))
        .txn(1, json!([["r", 5, [1]], ["append", 6, 1]]))
        .txn(2, json!([["r", 6, [1]], ["r", 5, []]]))
        .history();
    let report =
        analyze_with(&h, ListAppend, &[ReadCommitted, SnapshotIsolation, Serializable]).into_report();
    assert_eq!(report.verdict, faultline_checkers::report::Verdict::Invalid);
    assert!(
        report
            .summary
            .contains("violates snapshot-isolation (G-single); serializable (G-single)"),
        "{}",
        report.summary
    );
    assert!(
        report.summary.contains("satisfies read-committed"),
        "{}",
        report.summary
    );
    let steps = &report.anomalies[0].steps;
    let text = steps.join("\n");
    assert!(
        text.contains("T1 < T2 because T2 read T1's append of 1 to key 5"),
        "{text}"
    );
    assert!(
        text.contains("because T3 read key 5 as [], which does not include T1's append of 1"),
        "{text}"
    );
    let models = &report.details["models"];
    assert_eq!(models[0]["model"], "read-committed");
    assert_eq!(models[0]["verdict"], "valid");
    assert_eq!(models[1]["anomalies"][0], "G-single");
}
