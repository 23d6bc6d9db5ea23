//! The graph checker gives the same report whether its loops run in one part or in several:
//! simulated histories (valid and broken stores, both workloads) checked with the number of
//! parts forced to 1, 2, 3 and 5 on this thread, so even small histories take the parallel
//! path; every anomaly, explanation, count and edge total must match, in the same order.

#[path = "../../tests/support/sim.rs"]
mod sim;

use super::parallel::with_parts;
use super::{ConsistencyModel, TxnCheckOptions, Workload, analyze};
use crate::history::History;
use serde_json::Value;
use sim::{Ops, SimConfig, Store, generate};

/// The report as JSON without its timings.
fn report(history: &History, workload: Workload, parts: usize) -> Value {
    let mut options = TxnCheckOptions::new(workload);
    options.models = ConsistencyModel::ALL.to_vec();
    let analysis = with_parts(parts, || analyze(history, &options)).expect("the check runs");
    let mut json = serde_json::to_value(analysis.into_report()).expect("a report is JSON");
    let stats = json["stats"].as_object_mut().expect("stats");
    stats.retain(|name, _| !name.ends_with("_ms"));
    json
}

#[test]
fn parts_do_not_change_reports() {
    let stores = [
        Store::StrictSerializable,
        Store::StaleReads { max_lag: 6 },
        Store::SnapshotIsolation,
        Store::ReadCommitted,
    ];
    let mut broken = 0;
    for (ops, workload) in [
        (Ops::ListAppend, Workload::ListAppend),
        (Ops::RwRegister, Workload::RwRegister),
    ] {
        for store in stores {
            for seed in 0..3 {
                let events = generate(SimConfig::new(store, ops, 400, seed));
                let history = History::from_events("sim", events).expect("a well-formed history");
                let one = report(&history, workload, 1);
                assert!(one["stats"]["graph_edges"].as_u64().unwrap_or(0) > 400, "{one}");
                if one["anomalies"].as_array().is_some_and(|a| !a.is_empty()) {
                    broken += 1;
                }
                for parts in [2, 3, 5] {
                    assert_eq!(
                        report(&history, workload, parts),
                        one,
                        "{store:?} {ops:?} seed {seed}, {parts} parts"
                    );
                }
            }
        }
    }
    // The comparison covers explained anomalies, not only valid histories.
    assert!(broken >= 12, "only {broken} histories had anomalies");
}
