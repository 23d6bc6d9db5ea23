//! Session guarantees (client-centric consistency, after Terry et al.): read-your-writes,
//! monotonic reads, monotonic writes, writes-follow-reads, and consistent prefix, judged from
//! the same inferred version orders and dependency graph as the transactional checks.
//!
//! A session is a client process; its transactions are ordered by the history. Each guarantee
//! gets its own anomaly kind, explained in plain words naming the process and operations.
//! Definitions: `docs/consistency.md`. [`check_register_sessions`] judges read-your-writes and
//! monotonic reads on histories of single-register operations instead.

mod key_slots;
mod list;
mod prefix;
mod register;
mod register_ops;

pub use register_ops::{GUARANTEES as REGISTER_SESSION_GUARANTEES, check_register_sessions};

use crate::graph::{AnomalyKind, ConsistencyModel, Ctx, DepGraph, Findings, Inference};
use rustc_hash::FxHashMap;

/// The anomaly kind that violates a session guarantee.
pub(crate) fn anomaly_of(model: ConsistencyModel) -> AnomalyKind {
    match model {
        ConsistencyModel::ReadYourWrites => AnomalyKind::ReadYourWrites,
        ConsistencyModel::MonotonicReads => AnomalyKind::MonotonicReads,
        ConsistencyModel::MonotonicWrites => AnomalyKind::MonotonicWrites,
        ConsistencyModel::WritesFollowReads => AnomalyKind::WritesFollowReads,
        _ => AnomalyKind::ConsistentPrefix,
    }
}

/// Checks the given session guarantees, recording violations in `findings`.
pub(crate) fn check(
    ctx: Ctx,
    inference: &Inference,
    graph: &DepGraph,
    models: &[ConsistencyModel],
    budget: usize,
    findings: &mut Findings,
) {
    if models.is_empty() {
        return;
    }
    let wanted = move |m: ConsistencyModel| models.contains(&m);
    let per_process = models.iter().any(|m| *m != ConsistencyModel::ConsistentPrefix);
    // The per-process guarantees and consistent prefix on two threads, found in this order.
    findings.run_both(
        |findings| {
            if per_process {
                let sessions = sessions(ctx);
                match inference {
                    Inference::List(index) => list::check(ctx, index, &sessions, &wanted, findings),
                    Inference::Register(index) => register::check(ctx, index, &sessions, &wanted, findings),
                }
            }
        },
        |findings| {
            if wanted(ConsistencyModel::ConsistentPrefix) {
                prefix::check(ctx, inference, graph, budget, findings);
            }
        },
    );
}

/// Each process's possibly-committed transactions, in session order.
pub(crate) fn sessions(ctx: Ctx) -> Vec<Vec<u32>> {
    let mut by_process: FxHashMap<u64, usize> = FxHashMap::default();
    let mut out: Vec<Vec<u32>> = Vec::new();
    for (t, txn) in ctx.set.txns.iter().enumerate() {
        if !txn.possibly_committed() {
            continue;
        }
        let i = *by_process.entry(txn.process).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        out[i].push(t as u32);
    }
    out
}
