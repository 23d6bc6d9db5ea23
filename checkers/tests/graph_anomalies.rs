//! A minimal invalid list-append history for every anomaly the graph checker reports, each
//! beside a valid near-twin, asserting the exact anomaly kinds found.

mod support;

use faultline_checkers::graph::Workload::ListAppend;
use serde_json::json;
use support::{Hist, kinds};

fn none() -> Vec<String> {
    Vec::new()
}

fn names(k: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = k.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn g0_write_cycle() {
    let build = |y_order: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1], ["append", "y", 1]]))
            .txn(1, json!([["append", "x", 2], ["append", "y", 2]]))
            .txn(2, json!([["r", "x", [1, 2]], ["r", "y", y_order]]))
            .history()
    };
    // No single order of (transactional) writes explains both reads: also a consistent-prefix
    // violation.
    assert_eq!(
        kinds(&build(json!([2, 1])), ListAppend),
        names(&["G0", "consistent-prefix"])
    );
    assert_eq!(kinds(&build(json!([1, 2])), ListAppend), none());
}

#[test]
fn g1a_aborted_read() {
    let invalid = Hist::new()
        .failed(0, json!([["append", "x", 1]]))
        .txn(1, json!([["r", "x", [1]]]))
        .history();
    let valid = Hist::new()
        .txn(0, json!([["append", "x", 1]]))
        .txn(1, json!([["r", "x", [1]]]))
        .history();
    assert_eq!(kinds(&invalid, ListAppend), names(&["G1a"]));
    assert_eq!(kinds(&valid, ListAppend), none());
}

#[test]
fn g1b_intermediate_read() {
    let build = |read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1], ["append", "x", 2]]))
            .txn(1, json!([["r", "x", read]]))
            .history()
    };
    // Seeing T1's first append but not its second is also a cycle: T2 read T1 yet missed it.
    assert_eq!(
        kinds(&build(json!([1])), ListAppend),
        names(&["G1b", "G-single", "missed-causal-write"])
    );
    assert_eq!(kinds(&build(json!([1, 2])), ListAppend), none());
}

#[test]
fn g1c_circular_information_flow() {
    let invalid = Hist::new()
        .concurrent(&[
            (0, json!([["append", "x", 1], ["r", "y", [1]]])),
            (1, json!([["append", "y", 1], ["r", "x", [1]]])),
        ])
        .history();
    let valid = Hist::new()
        .concurrent(&[
            (0, json!([["append", "x", 1], ["r", "y", []]])),
            (1, json!([["append", "y", 1], ["r", "x", [1]]])),
        ])
        .history();
    assert_eq!(kinds(&invalid, ListAppend), names(&["G1c"]));
    // T1 missed T2's append and T2 saw T1's: T1 < T2, fine.
    assert_eq!(kinds(&valid, ListAppend), none());
}

#[test]
fn g_single_read_skew() {
    let build = |x_read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(1, json!([["r", "x", [1]], ["append", "y", 1]]))
            .txn(2, json!([["r", "y", [1]], ["r", "x", x_read]]))
            .history()
    };
    // Process 1 read x, then (in the same transaction) appended to y; process 2 saw that
    // append but not the x process 1 had read: also a writes-follow-reads violation, and a
    // missed causal write (T1's append happened before T3 through T2).
    assert_eq!(
        kinds(&build(json!([])), ListAppend),
        names(&["G-single", "writes-follow-reads", "missed-causal-write"])
    );
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn fractured_read_is_also_read_skew() {
    let build = |x_read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1], ["append", "y", 1]]))
            .txn(1, json!([["r", "x", x_read], ["r", "y", [1]]]))
            .history()
    };
    assert_eq!(
        kinds(&build(json!([])), ListAppend),
        names(&["G-single", "fractured-read", "missed-causal-write"])
    );
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn g_nonadjacent_long_fork() {
    let build = |t4_x: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["append", "x", 1]])),
                (1, json!([["append", "y", 1]])),
                (2, json!([["r", "x", [1]], ["r", "y", []]])),
                (3, json!([["r", "y", [1]], ["r", "x", t4_x]])),
            ])
            .history()
    };
    assert_eq!(
        kinds(&build(json!([])), ListAppend),
        names(&["G-nonadjacent", "consistent-prefix"])
    );
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn g2_item_write_skew() {
    let build = |t2_x: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["r", "x", []], ["r", "y", []], ["append", "x", 1]])),
                (1, json!([["r", "x", t2_x], ["r", "y", []], ["append", "y", 1]])),
            ])
            .history()
    };
    assert_eq!(kinds(&build(json!([])), ListAppend), names(&["G2-item"]));
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn process_and_realtime_variants() {
    // G0: T2 < T1 by the order read; T1 < T2 by process (or real-time) order.
    let g0 = |p2: u64| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(p2, json!([["append", "x", 2]]))
            .txn(5, json!([["r", "x", [2, 1]]]))
            .history()
    };
    assert_eq!(
        kinds(&g0(0), ListAppend),
        names(&["G0-process", "monotonic-writes"])
    );
    assert_eq!(kinds(&g0(1), ListAppend), names(&["G0-realtime"]));
    let g0_twin = Hist::new()
        .txn(0, json!([["append", "x", 1]]))
        .txn(0, json!([["append", "x", 2]]))
        .txn(5, json!([["r", "x", [1, 2]]]))
        .history();
    assert_eq!(kinds(&g0_twin, ListAppend), none());

    // G1c: T2 -wr-> T1 -process/realtime-> T3 -wr-> T2, with T2 concurrent to both.
    let g1c = |p3: u64, y: serde_json::Value| {
        Hist::new()
            .invoke(1, json!([["append", "x", 1], ["r", "y", y]]))
            .txn(0, json!([["r", "x", [1]]]))
            .txn(p3, json!([["append", "y", 1]]))
            .ok(1)
            .history()
    };
    assert_eq!(kinds(&g1c(0, json!([1])), ListAppend), names(&["G1c-process"]));
    assert_eq!(kinds(&g1c(2, json!([1])), ListAppend), names(&["G1c-realtime"]));
    assert_eq!(kinds(&g1c(0, json!([])), ListAppend), none());

    // G-single: T1 appends, a later transaction misses it.
    let single = |p2: u64, x: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(p2, json!([["r", "x", x]]))
            .history()
    };
    assert_eq!(
        kinds(&single(0, json!([])), ListAppend),
        names(&["G-single-process", "read-your-writes", "missed-causal-write"])
    );
    assert_eq!(
        kinds(&single(1, json!([])), ListAppend),
        names(&["G-single-realtime"])
    );
    assert_eq!(kinds(&single(1, json!([1])), ListAppend), none());

    // G-nonadjacent: T1 -order-> T2 -rw-> T3 -wr-> T4 -rw-> T1, T3 and T4 concurrent with all.
    let nonadjacent = |p2: u64, t4_x: serde_json::Value| {
        Hist::new()
            .invoke(2, json!([["append", "y", 1]]))
            .invoke(3, json!([["r", "y", [1]], ["r", "x", t4_x]]))
            .txn(0, json!([["append", "x", 1]]))
            .txn(p2, json!([["r", "y", []]]))
            .ok(2)
            .ok(3)
            .history()
    };
    assert_eq!(
        kinds(&nonadjacent(0, json!([])), ListAppend),
        names(&["G-nonadjacent-process"])
    );
    assert_eq!(
        kinds(&nonadjacent(1, json!([])), ListAppend),
        names(&["G-nonadjacent-realtime"])
    );
    assert_eq!(kinds(&nonadjacent(0, json!([1])), ListAppend), none());

    // G2-item: T2 -rw-> T3 -rw-> T1 -order-> T2, T3 concurrent with all.
    let g2 = |p2: u64, t3_x: serde_json::Value| {
        Hist::new()
            .invoke(2, json!([["r", "x", t3_x], ["append", "y", 1]]))
            .txn(0, json!([["append", "x", 1]]))
            .txn(p2, json!([["r", "y", []]]))
            .ok(2)
            .history()
    };
    assert_eq!(kinds(&g2(0, json!([])), ListAppend), names(&["G2-item-process"]));
    assert_eq!(kinds(&g2(1, json!([])), ListAppend), names(&["G2-item-realtime"]));
    assert_eq!(kinds(&g2(0, json!([1])), ListAppend), none());
}

#[test]
fn internal_inconsistency() {
    let build = |read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1], ["r", "x", read]]))
            .history()
    };
    assert_eq!(kinds(&build(json!([])), ListAppend), names(&["internal"]));
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn dirty_update() {
    let build = |first_fails: bool| {
        let mut h = Hist::new();
        if first_fails {
            h.failed(0, json!([["append", "x", 1]]));
        } else {
            h.txn(0, json!([["append", "x", 1]]));
        }
        h.txn(1, json!([["append", "x", 2]]))
            .txn(2, json!([["r", "x", [1, 2]]]))
            .history()
    };
    assert_eq!(kinds(&build(true), ListAppend), names(&["G1a", "dirty-update"]));
    assert_eq!(kinds(&build(false), ListAppend), none());
}

#[test]
fn lost_update() {
    let build = |t2_read: serde_json::Value| {
        Hist::new()
            .concurrent(&[
                (0, json!([["r", "x", []], ["append", "x", 1]])),
                (1, json!([["r", "x", t2_read], ["append", "x", 2]])),
            ])
            .history()
    };
    // Neither append is ever read, yet each reader missed the other's append: each must come
    // before the other, a cycle of two anti-dependencies (G2-item) as well as a lost update.
    assert_eq!(
        kinds(&build(json!([])), ListAppend),
        names(&["G2-item", "lost-update"])
    );
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn duplicate_elements() {
    let build = |read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(1, json!([["r", "x", read]]))
            .history()
    };
    assert_eq!(
        kinds(&build(json!([1, 1])), ListAppend),
        names(&["duplicate-elements"])
    );
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn incompatible_order() {
    let build = |second: serde_json::Value| {
        Hist::new()
            .concurrent(&[(0, json!([["append", "x", 1]])), (1, json!([["append", "x", 2]]))])
            .txn(2, json!([["r", "x", [1, 2]]]))
            .txn(3, json!([["r", "x", second]]))
            .history()
    };
    assert_eq!(
        kinds(&build(json!([2, 1])), ListAppend),
        names(&["incompatible-order"])
    );
    assert_eq!(kinds(&build(json!([1, 2])), ListAppend), none());
}

#[test]
fn garbage_read() {
    let build = |read: serde_json::Value| {
        Hist::new()
            .txn(0, json!([["append", "x", 1]]))
            .txn(1, json!([["r", "x", read]]))
            .history()
    };
    // 9 is observed, so T1's unobserved append of 1 came after it: T2 missed T1, which had
    // completed before T2 began.
    assert_eq!(
        kinds(&build(json!([9])), ListAppend),
        names(&["G-single-realtime", "garbage-read"])
    );
    let only_garbage = Hist::new().txn(1, json!([["r", "x", [9]]])).history();
    assert_eq!(kinds(&only_garbage, ListAppend), names(&["garbage-read"]));
    assert_eq!(kinds(&build(json!([1])), ListAppend), none());
}

#[test]
fn info_transactions_may_or_may_not_commit() {
    // An info append that someone read committed; one nobody read may never have.
    let read = Hist::new()
        .invoke(0, json!([["append", "x", 1]]))
        .info(0)
        .txn(1, json!([["r", "x", [1]]]))
        .history();
    assert_eq!(kinds(&read, ListAppend), none());
    let unread = Hist::new()
        .invoke(0, json!([["append", "x", 1]]))
        .info(0)
        .txn(1, json!([["r", "x", []]]))
        .history();
    assert_eq!(kinds(&unread, ListAppend), none());
}
