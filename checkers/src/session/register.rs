//! Session guarantees over rw-register histories, judged with the versions known to precede
//! others (the initial nil precedes every write; see `graph::rw_register`). A violation is
//! reported only when the order proves it; versions the order cannot compare are given the
//! benefit of the doubt.

use crate::graph::rw_register::{INIT, KeyAccess, RegisterIndex};
use crate::graph::{AnomalyKind, ConsistencyModel, Ctx, Findings};
use rustc_hash::FxHashMap;

fn v(ctx: Ctx, x: u32) -> String {
    if x == INIT { "nil".into() } else { ctx.s(x) }
}

/// A process's external read of a key: (transaction, version read, micro-op position).
type ExternalRead = (u32, u32, u32);

pub(crate) fn check(
    ctx: Ctx,
    index: &RegisterIndex,
    sessions: &[Vec<u32>],
    wanted: &dyn Fn(ConsistencyModel) -> bool,
    findings: &mut Findings,
) {
    let set = ctx.set;
    // Accesses by transaction (ok transactions only, in transaction order).
    let mut by_txn: FxHashMap<u32, Vec<KeyAccess>> = FxHashMap::default();
    for a in &index.accesses {
        by_txn.entry(a.txn).or_default().push(*a);
    }
    let none: Vec<KeyAccess> = Vec::new();
    let mut writes_by: FxHashMap<(u64, u32), Vec<(u32, u32)>> = FxHashMap::default();
    let mut reads_by: FxHashMap<(u64, u32), Vec<ExternalRead>> = FxHashMap::default();
    for session in sessions {
        let mut last_write: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
        let mut last_read: FxHashMap<u32, (u32, u32)> = FxHashMap::default();
        for &t in session {
            let p = set.txns[t as usize].process;
            let accesses = by_txn.get(&t).unwrap_or(&none);
            for a in accesses {
                let k = a.key;
                if let Some(y) = a.ext_read {
                    if wanted(ConsistencyModel::ReadYourWrites)
                        && let Some(&(wt, w)) = last_write.get(&k)
                        && index.precedes(k, y, w)
                    {
                        findings.add(AnomalyKind::ReadYourWrites, || {
                            let mut an = ctx.anomaly(&[wt as usize, t as usize], Some(k));
                            an.steps.push(format!(
                                "Process {p} wrote {} to key {} in T1, then read key {} in T2 as {}, a version before its own write.",
                                v(ctx, w), ctx.s(k), ctx.s(k), v(ctx, y)
                            ));
                            an
                        });
                    }
                    if wanted(ConsistencyModel::MonotonicReads)
                        && let Some(&(rt, x)) = last_read.get(&k)
                        && index.precedes(k, y, x)
                    {
                        findings.add(AnomalyKind::MonotonicReads, || {
                            let mut an = ctx.anomaly(&[rt as usize, t as usize], Some(k));
                            an.steps.push(format!(
                                "Process {p} read key {} as {} in T1, then as {} in T2, a version before the one it had read.",
                                ctx.s(k), v(ctx, x), v(ctx, y)
                            ));
                            an
                        });
                    }
                }
                if let Some(w) = a.final_write {
                    if wanted(ConsistencyModel::MonotonicWrites)
                        && let Some(&(wt, w1)) = last_write.get(&k)
                        && index.precedes(k, w, w1)
                    {
                        findings.add(AnomalyKind::MonotonicWrites, || {
                            let mut an = ctx.anomaly(&[wt as usize, t as usize], Some(k));
                            an.steps.push(format!(
                                "Process {p} wrote {} to key {} in T1, then {} in T2, but {} precedes {} in the version order.",
                                v(ctx, w1), ctx.s(k), v(ctx, w), v(ctx, w), v(ctx, w1)
                            ));
                            an
                        });
                    }
                    if wanted(ConsistencyModel::WritesFollowReads)
                        && let Some(&(rt, x)) = last_read.get(&k)
                        && index.precedes(k, w, x)
                    {
                        findings.add(AnomalyKind::WritesFollowReads, || {
                            let mut an = ctx.anomaly(&[rt as usize, t as usize], Some(k));
                            an.steps.push(format!(
                                "Process {p} read key {} as {} in T1, then wrote {} in T2, but {} precedes {} in the version order.",
                                ctx.s(k), v(ctx, x), v(ctx, w), v(ctx, w), v(ctx, x)
                            ));
                            an
                        });
                    }
                }
            }
            for a in accesses {
                if let Some(y) = a.ext_read {
                    last_read.insert(a.key, (t, y));
                    reads_by.entry((p, a.key)).or_default().push((t, y, a.read_mop));
                }
                if let Some(w) = a.final_write {
                    last_write.insert(a.key, (t, w));
                    writes_by.entry((p, a.key)).or_default().push((t, w));
                }
            }
        }
    }
    if !(wanted(ConsistencyModel::MonotonicWrites) || wanted(ConsistencyModel::WritesFollowReads)) {
        return;
    }
    // Observers: whoever reads a process's write must not read an older version of a key than
    // the process had written (monotonic writes) or read (writes-follow-reads) before it.
    let mut txns: Vec<_> = by_txn.iter().collect();
    txns.sort_unstable_by_key(|(t, _)| **t);
    for (&t, accesses) in txns {
        let q = set.txns[t as usize].process;
        for seen in accesses {
            let Some(v2) = seen.ext_read.filter(|&x| x != INIT) else {
                continue;
            };
            let Some(w) = index.writers.get(&crate::graph::list_append::kv(seen.key, v2)) else {
                continue;
            };
            let writer = set.txns[w.txn as usize];
            if writer.process == q || !writer.possibly_committed() {
                continue;
            }
            let p = writer.process;
            // Only reads made after the observing one must reflect it.
            for other in accesses
                .iter()
                .filter(|o| o.ext_read.is_some() && o.read_mop > seen.read_mop)
            {
                let Some(y) = other.ext_read else { continue };
                let k1 = other.key;
                let before = |list: Option<&Vec<(u32, u32)>>| {
                    list.and_then(|l| l[..l.partition_point(|e| e.0 < w.txn)].last().copied())
                };
                // P's reads before the write: in earlier transactions, or earlier in its own.
                let read_before = |list: Option<&Vec<ExternalRead>>| {
                    list.and_then(|l| {
                        l[..l.partition_point(|e| e.0 < w.txn || (e.0 == w.txn && e.2 < w.mop))]
                            .last()
                            .copied()
                    })
                };
                if wanted(ConsistencyModel::MonotonicWrites)
                    && let Some((t1, w1)) = before(writes_by.get(&(p, k1)))
                    && index.precedes(k1, y, w1)
                {
                    findings.add(AnomalyKind::MonotonicWrites, || {
                        let mut an = ctx.anomaly(&[t1 as usize, w.txn as usize, t as usize], Some(k1));
                        an.steps.push(format!(
                            "Process {p} wrote {} to key {} in T1, then {} to key {} in T2.",
                            v(ctx, w1), ctx.s(k1), v(ctx, v2), ctx.s(seen.key)
                        ));
                        an.steps.push(format!(
                            "T3 (process {q}) read T2's {} but read key {} as {}, a version before T1's write.",
                            v(ctx, v2), ctx.s(k1), v(ctx, y)
                        ));
                        an
                    });
                }
                if wanted(ConsistencyModel::WritesFollowReads)
                    && let Some((t1, x, _)) = read_before(reads_by.get(&(p, k1)))
                    && index.precedes(k1, y, x)
                {
                    findings.add(AnomalyKind::WritesFollowReads, || {
                        if t1 == w.txn {
                            let mut an = ctx.anomaly(&[w.txn as usize, t as usize], Some(k1));
                            an.steps.push(format!(
                                "Process {p} read key {} as {}, then wrote {} to key {}, in the same transaction T1.",
                                ctx.s(k1), v(ctx, x), v(ctx, v2), ctx.s(seen.key)
                            ));
                            an.steps.push(format!(
                                "T2 (process {q}) read T1's {} but read key {} as {}, a version before what process {p} had read.",
                                v(ctx, v2), ctx.s(k1), v(ctx, y)
                            ));
                            return an;
                        }
                        let mut an = ctx.anomaly(&[t1 as usize, w.txn as usize, t as usize], Some(k1));
                        an.steps.push(format!(
                            "Process {p} read key {} as {} in T1, then wrote {} to key {} in T2.",
                            ctx.s(k1), v(ctx, x), v(ctx, v2), ctx.s(seen.key)
                        ));
                        an.steps.push(format!(
                            "T3 (process {q}) read T2's {} but read key {} as {}, a version before what process {p} had read.",
                            v(ctx, v2), ctx.s(k1), v(ctx, y)
                        ));
                        an
                    });
                }
            }
        }
    }
}
