//! Inference for read-write register histories: wr edges straight from the (unique) values
//! read, and a version order per key built only from what can be soundly inferred: the initial
//! (nil) state precedes every write; a transaction's write follows the version it read first;
//! and, when the user asserts it, per-process (sequential keys) or real-time (linearizable keys)
//! order of the versions each transaction saw or wrote. ww and rw edges follow the version
//! order; a cycle in a key's version order is itself an anomaly (cyclic-versions).
//!
//! Only a transaction's last write to a key is a version; reading an earlier one is G1b.
//! rw edges may summarise a chain (rw then ww...) when the order is only partly known, so a
//! G-nonadjacent cycle can be named G2-item; no cycle is invented.

use super::anomaly::{AnomalyKind, Findings};
use super::depgraph::{EdgeList, kind};
use super::explain::Ctx;
use super::list_append::{AppendRef, kv};
use super::orders::{Timing, realtime_pairs};
use super::txn::MicroOp;
use crate::history::{HistoryError, Outcome};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;

/// The initial (nil) version of every key.
pub(crate) const INIT: u32 = u32::MAX;

/// Which extra sources of version order to trust.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegisterOrderAssumptions {
    /// Each process sees every key's versions in order (sequential keys).
    pub sequential_keys: bool,
    /// Versions of a key are ordered consistently with real time (linearizable keys).
    pub linearizable_keys: bool,
}

/// Why one version precedes another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionSource {
    Initial,
    /// This transaction read the first version, then wrote the second.
    ReadThenWrite(u32),
    /// The same process saw or wrote the first in one transaction, the second in a later one.
    Process(u32, u32),
    /// The first transaction completed before the second began.
    Realtime(u32, u32),
}

/// A transaction's external view of one key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyAccess {
    pub txn: u32,
    pub key: u32,
    /// Its first read, if it read the key before writing it (`Some(INIT)`: read nil).
    pub ext_read: Option<u32>,
    /// The position of that read among the transaction's micro-ops.
    pub read_mop: u32,
    /// Its last write to the key.
    pub final_write: Option<u32>,
}

/// Everything inferred from an rw-register history.
#[derive(Debug, Default)]
pub(crate) struct RegisterIndex {
    pub writers: FxHashMap<u64, AppendRef>,
    /// Version-order successors: `kv(key, version)` -> (successor, why).
    pub succ: FxHashMap<u64, Vec<(u32, VersionSource)>>,
    /// Keys whose version order is cyclic (no ww / rw edges inferred for them).
    pub cyclic_keys: FxHashSet<u32>,
    /// External accesses of ok transactions, by transaction.
    pub accesses: Vec<KeyAccess>,
}

impl RegisterIndex {
    /// True if version `a` is known to precede version `b` of `key` (bounded search).
    pub(crate) fn precedes(&self, key: u32, a: u32, b: u32) -> bool {
        if a == b {
            return false;
        }
        if a == INIT {
            return b != INIT;
        }
        let mut stack = vec![a];
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        while let Some(v) = stack.pop() {
            if seen.len() > 100_000 {
                return false;
            }
            for &(n, _) in self.succ.get(&kv(key, v)).map(Vec::as_slice).unwrap_or(&[]) {
                if n == b {
                    return true;
                }
                if seen.insert(n) {
                    stack.push(n);
                }
            }
        }
        false
    }

    fn writer_txn(&self, key: u32, v: u32) -> Option<u32> {
        self.writers.get(&kv(key, v)).map(|w| w.txn)
    }
}

/// Builds the index, adds edges, and records the non-cycle anomalies.
pub(crate) fn analyze(
    ctx: Ctx,
    assumptions: RegisterOrderAssumptions,
    timings: &[Timing],
    edges: &mut EdgeList,
    findings: &mut Findings,
) -> Result<RegisterIndex, HistoryError> {
    let set = ctx.set;
    let mut index = RegisterIndex::default();
    for t in 0..set.txns.len() {
        for (i, mop) in set.mops(t).iter().enumerate() {
            if let MicroOp::Write { key, value } = *mop
                && let Some(first) = index.writers.insert(
                    kv(key, value),
                    AppendRef {
                        txn: t as u32,
                        mop: i as u32,
                    },
                )
            {
                let op = &ctx.history.ops[set.txns[t].op as usize];
                let first_op = &ctx.history.ops[set.txns[first.txn as usize].op as usize];
                return Err(ctx.history.error_at(
                    op.invoke,
                    format!(
                        "value {} is written to key {} again (first by the operation on line {}); the rw-register checker needs the values written to a key to be unique",
                        ctx.s(value),
                        ctx.s(key),
                        ctx.history.events[first_op.invoke].line
                    ),
                ));
            }
        }
    }
    let mut version_edges: Vec<(u32, u32, u32, VersionSource)> = Vec::new();
    let mut all_access: Vec<KeyAccess> = Vec::new();
    for (t, txn) in set.txns.iter().enumerate() {
        let mops = set.mops(t);
        let mut keys: Vec<u32> = mops.iter().map(|m| m.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            let mut access = KeyAccess {
                txn: t as u32,
                key,
                ext_read: None,
                read_mop: 0,
                final_write: None,
            };
            let mut last_own: Option<u32> = None;
            for (i, m) in mops.iter().enumerate().filter(|(_, m)| m.key() == key) {
                match *m {
                    MicroOp::Write { value, .. } => {
                        last_own = Some(value);
                        access.final_write = Some(value);
                    }
                    MicroOp::ReadRegister { value: Some(read), .. } => match last_own {
                        None => {
                            match access.ext_read {
                                None => {
                                    access.ext_read = Some(read.unwrap_or(INIT));
                                    access.read_mop = i as u32;
                                }
                                Some(first) if first != read.unwrap_or(INIT) => {
                                    findings.add(AnomalyKind::NonRepeatableRead, || {
                                        let show = |v: u32| if v == INIT { ctx.set.initial_label() } else { ctx.s(v) };
                                        let mut a = ctx.anomaly(&[t], Some(key));
                                        a.steps.push(format!(
                                            "T1 read key {} as {}, then, without writing it, read it again as {}: a transaction that sees only committed states sees one state of each key (read atomic and stronger models forbid this; read committed allows it).",
                                            ctx.s(key),
                                            show(first),
                                            show(read.unwrap_or(INIT))
                                        ));
                                        a
                                    });
                                }
                                Some(_) => {}
                            }
                            check_read(ctx, &index, t, key, read, edges, findings);
                        }
                        Some(own) if read != Some(own) => findings.add(AnomalyKind::Internal, || {
                            let mut a = ctx.anomaly(&[t], Some(key));
                            a.steps.push(format!(
                                "T1 wrote {} to key {}, then read key {} as {}: a transaction must see its own last write.",
                                ctx.s(own),
                                ctx.s(key),
                                ctx.s(key),
                                read.map_or_else(|| ctx.set.initial_label(), |v| ctx.s(v))
                            ));
                            a
                        }),
                        Some(_) => {}
                    },
                    _ => {}
                }
            }
            if !txn.possibly_committed() {
                continue;
            }
            if let (Some(r), Some(w)) = (access.ext_read, access.final_write)
                && txn.outcome == Outcome::Ok
            {
                version_edges.push((key, r, w, VersionSource::ReadThenWrite(t as u32)));
            }
            if txn.outcome == Outcome::Ok || access.final_write.is_some() {
                all_access.push(access);
            }
        }
    }
    let ok = |a: &KeyAccess| set.txns[a.txn as usize].outcome == Outcome::Ok;
    // The version a transaction leaves a key at, and the one it found it in.
    let after = |a: &KeyAccess| a.final_write.or(if ok(a) { a.ext_read } else { None });
    let before = |a: &KeyAccess| {
        if ok(a) {
            a.ext_read.or(a.final_write)
        } else {
            a.final_write
        }
    };
    if assumptions.sequential_keys {
        let mut last: FxHashMap<(u64, u32), KeyAccess> = FxHashMap::default();
        for a in &all_access {
            let p = set.txns[a.txn as usize].process;
            if let Some(prev) = last.insert((p, a.key), *a)
                && let (Some(x), Some(y)) = (after(&prev), before(a))
                && x != y
            {
                version_edges.push((a.key, x, y, VersionSource::Process(prev.txn, a.txn)));
            }
        }
    }
    if assumptions.linearizable_keys {
        let mut by_key: FxHashMap<u32, Vec<usize>> = FxHashMap::default();
        for (i, a) in all_access.iter().enumerate() {
            by_key.entry(a.key).or_default().push(i);
        }
        let access_timings: Vec<Timing> = all_access.iter().map(|a| timings[a.txn as usize]).collect();
        let mut keys: Vec<_> = by_key.into_iter().collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        for (_, items) in keys {
            realtime_pairs(&access_timings, &items, |i, j| {
                let (a, b) = (all_access[i], all_access[j]);
                if let (Some(x), Some(y)) = (after(&a), before(&b))
                    && x != y
                {
                    version_edges.push((a.key, x, y, VersionSource::Realtime(a.txn, b.txn)));
                }
            });
        }
    }
    // Only possibly-committed final writes are versions.
    let is_version = |key: u32, v: u32| {
        v == INIT
            || index.writers.get(&kv(key, v)).is_some_and(|w| {
                let wt = w.txn as usize;
                set.txns[wt].possibly_committed() && is_final_write(ctx, wt, key, v)
            })
    };
    version_edges.retain(|&(key, x, y, _)| y != INIT && is_version(key, x) && is_version(key, y));
    let mut has_pred: FxHashSet<u64> = FxHashSet::default();
    for &(key, x, y, _) in &version_edges {
        if x != INIT {
            has_pred.insert(kv(key, y));
        }
    }
    let mut versions: Vec<(u32, u32)> = index
        .writers
        .iter()
        .map(|(&packed, _)| ((packed >> 32) as u32, packed as u32))
        .filter(|&(k, v)| is_version(k, v) && !has_pred.contains(&kv(k, v)))
        .collect();
    versions.sort_unstable();
    version_edges.extend(
        versions
            .into_iter()
            .map(|(k, v)| (k, INIT, v, VersionSource::Initial)),
    );
    version_edges.sort_by_key(|&(k, x, y, _)| (k, x, y));
    version_edges.dedup_by_key(|&mut (k, x, y, _)| (k, x, y));
    for &(key, x, y, why) in &version_edges {
        index.succ.entry(kv(key, x)).or_default().push((y, why));
    }
    find_cyclic_versions(ctx, &mut index, &version_edges, findings);
    for &(key, x, y, _) in &version_edges {
        if index.cyclic_keys.contains(&key) || x == INIT {
            continue;
        }
        if let (Some(a), Some(b)) = (index.writer_txn(key, x), index.writer_txn(key, y)) {
            edges.add(a as usize, b as usize, kind::WW);
        }
    }
    all_access.retain(|a| set.txns[a.txn as usize].outcome == Outcome::Ok);
    for a in &all_access {
        let Some(x) = a.ext_read else { continue };
        if index.cyclic_keys.contains(&a.key) {
            continue;
        }
        for &(y, _) in index.succ.get(&kv(a.key, x)).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(u) = index.writer_txn(a.key, y) {
                edges.add(a.txn as usize, u as usize, kind::RW);
            }
        }
    }
    index.accesses = all_access;
    lost_updates(ctx, &index, findings);
    fractured_reads(ctx, &index, findings);
    Ok(index)
}

/// A transaction read one of another transaction's writes, but on another key that
/// transaction wrote, read a version known to precede its write.
fn fractured_reads(ctx: Ctx, index: &RegisterIndex, findings: &mut Findings) {
    let accesses = &index.accesses;
    let mut start = 0;
    while start < accesses.len() {
        let t = accesses[start].txn;
        let end = start + accesses[start..].iter().take_while(|a| a.txn == t).count();
        let mine = &accesses[start..end];
        start = end;
        'seen: for seen in mine {
            let Some(u) = seen.ext_read.and_then(|x| index.writer_txn(seen.key, x)) else {
                continue;
            };
            if u == t {
                continue;
            }
            for other in mine.iter().filter(|o| o.key != seen.key) {
                let Some(y) = other.ext_read else { continue };
                let missed = ctx.set.mops(u as usize).iter().rev().find_map(|m| match *m {
                    MicroOp::Write { key, value } if key == other.key => Some(value),
                    _ => None,
                });
                let Some(missed) = missed else { continue };
                if index.precedes(other.key, y, missed) {
                    findings.add(AnomalyKind::FracturedRead, || {
                        let mut a = ctx.anomaly(&[t as usize, u as usize], Some(other.key));
                        a.steps.push(format!(
                            "T1 read T2's write of {} to key {}.",
                            ctx.s(seen.ext_read.unwrap_or(INIT)),
                            ctx.s(seen.key)
                        ));
                        a.steps.push(format!(
                            "But T1 read key {} as {}, a version before T2's write of {} to it: T1 saw only part of T2.",
                            ctx.s(other.key),
                            if y == INIT { ctx.set.initial_label() } else { ctx.s(y) },
                            ctx.s(missed)
                        ));
                        a
                    });
                    break 'seen;
                }
            }
        }
    }
}

fn is_final_write(ctx: Ctx, t: usize, key: u32, v: u32) -> bool {
    ctx.set.mops(t).iter().rev().find_map(|m| match *m {
        MicroOp::Write { key: k, value } if k == key => Some(value),
        _ => None,
    }) == Some(v)
}

/// Garbage, aborted and intermediate reads, and the wr edge, for one external read.
fn check_read(
    ctx: Ctx,
    index: &RegisterIndex,
    t: usize,
    key: u32,
    read: Option<u32>,
    edges: &mut EdgeList,
    findings: &mut Findings,
) {
    let Some(v) = read else { return };
    let set = ctx.set;
    let Some(w) = index.writers.get(&kv(key, v)) else {
        findings.add(AnomalyKind::GarbageRead, || {
            let mut a = ctx.anomaly(&[t], Some(key));
            a.steps.push(format!(
                "T1 read key {} as {}, but no transaction wrote {} to key {}.",
                ctx.s(key),
                ctx.s(v),
                ctx.s(v),
                ctx.s(key)
            ));
            a
        });
        return;
    };
    let wt = w.txn as usize;
    if wt == t {
        return;
    }
    if !set.txns[wt].possibly_committed() {
        findings.add(AnomalyKind::G1a, || {
            let mut a = ctx.anomaly(&[t, wt], Some(key));
            a.steps.push(format!(
                "T1 read key {} as {}, which only T2 wrote, and T2 failed: T1 read an aborted write.",
                ctx.s(key),
                ctx.s(v)
            ));
            a
        });
        return;
    }
    edges.add(wt, t, kind::WR);
    if !is_final_write(ctx, wt, key, v) {
        findings.add(AnomalyKind::G1b, || {
            let mut a = ctx.anomaly(&[t, wt], Some(key));
            a.steps.push(format!(
                "T1 read key {} as {}, which T2 wrote and then overwrote in the same transaction: T1 read an intermediate state.",
                ctx.s(key),
                ctx.s(v)
            ));
            a
        });
    }
}

/// Reports keys whose version order has a cycle.
fn find_cyclic_versions(
    ctx: Ctx,
    index: &mut RegisterIndex,
    version_edges: &[(u32, u32, u32, VersionSource)],
    findings: &mut Findings,
) {
    let mut ids: FxHashMap<u64, u32> = FxHashMap::default();
    let mut nodes: Vec<(u32, u32)> = Vec::new();
    let mut graph_edges: Vec<(u32, u32)> = Vec::new();
    let mut id = |key: u32, v: u32, nodes: &mut Vec<(u32, u32)>| {
        *ids.entry(kv(key, v)).or_insert_with(|| {
            nodes.push((key, v));
            nodes.len() as u32 - 1
        })
    };
    for &(key, x, y, _) in version_edges {
        if x == INIT {
            continue;
        }
        let (a, b) = (id(key, x, &mut nodes), id(key, y, &mut nodes));
        graph_edges.push((a, b));
    }
    for scc in super::scc::cyclic_sccs(nodes.len(), &graph_edges) {
        let key = nodes[scc[0] as usize].0;
        if !index.cyclic_keys.insert(key) {
            continue;
        }
        let mut values: Vec<u32> = scc.iter().map(|&n| nodes[n as usize].1).collect();
        values.sort_unstable();
        let reasons: Vec<String> = version_edges
            .iter()
            .filter(|&&(k, x, y, _)| k == key && values.contains(&x) && values.contains(&y))
            .map(|&(_, x, y, why)| format!("{} precedes {} because {}", ctx.s(x), ctx.s(y), reason(ctx, why)))
            .collect();
        findings.add(AnomalyKind::CyclicVersions, || {
            let mut a = ctx.anomaly(&[], Some(key));
            a.steps.push(format!(
                "The versions {} of key {} must each precede the next, in a circle:",
                ctx.list(&values),
                ctx.s(key)
            ));
            a.steps.extend(reasons);
            a.details = json!({"versions": values.iter().map(|&v| ctx.json(v)).collect::<Vec<_>>()});
            a
        });
    }
}

/// Why a version precedes another, in words.
fn reason(ctx: Ctx, why: VersionSource) -> String {
    match why {
        VersionSource::Initial => format!(
            "every written version follows the initial {}",
            ctx.set.initial_label()
        ),
        VersionSource::ReadThenWrite(t) => format!(
            "the transaction at index {} read the first and then wrote the second",
            ctx.index(t as usize)
        ),
        VersionSource::Process(a, b) => format!(
            "process {} saw or wrote the first (index {}) before the second (index {}), and keys are assumed sequential",
            ctx.set.txns[a as usize].process,
            ctx.index(a as usize),
            ctx.index(b as usize)
        ),
        VersionSource::Realtime(a, b) => format!(
            "the transaction at index {} (which saw or wrote the first) completed before the one at index {} (which saw or wrote the second) began, and keys are assumed linearizable",
            ctx.index(a as usize),
            ctx.index(b as usize)
        ),
    }
}

/// Two committed transactions read the same version of a key and both wrote it.
fn lost_updates(ctx: Ctx, index: &RegisterIndex, findings: &mut Findings) {
    let mut groups: FxHashMap<(u32, u32), Vec<usize>> = FxHashMap::default();
    for a in &index.accesses {
        if let (Some(r), Some(_)) = (a.ext_read, a.final_write) {
            groups.entry((a.key, r)).or_default().push(a.txn as usize);
        }
    }
    let mut groups: Vec<_> = groups.into_iter().filter(|(_, g)| g.len() > 1).collect();
    groups.sort_unstable();
    for ((key, version), txns) in groups {
        findings.add(AnomalyKind::LostUpdate, || {
            let mut a = ctx.anomaly(&txns, Some(key));
            let v = if version == INIT { ctx.set.initial_label() } else { ctx.s(version) };
            a.steps.push(format!(
                "T1..T{} all read key {} as {v} and then wrote it; whichever committed later overwrote a write it never saw.",
                txns.len(),
                ctx.s(key)
            ));
            a
        });
    }
}

/// Why the edge `from -> to` holds, in words.
pub(crate) fn explain_edge(
    ctx: Ctx,
    index: &RegisterIndex,
    from: usize,
    to: usize,
    bit: u8,
    names: (&str, &str),
) -> String {
    let (a, b) = names;
    let v = |x: u32| {
        if x == INIT {
            ctx.set.initial_label()
        } else {
            ctx.s(x)
        }
    };
    match bit {
        kind::WR => {
            if let Some(acc) = index.accesses.iter().find(|acc| {
                acc.txn as usize == to
                    && acc
                        .ext_read
                        .is_some_and(|r| index.writer_txn(acc.key, r) == Some(from as u32))
            }) {
                return format!(
                    "{a} < {b} because {b} read {a}'s write of {} to key {}",
                    v(acc.ext_read.unwrap_or(INIT)),
                    ctx.s(acc.key)
                );
            }
        }
        kind::WW | kind::RW => {
            for (&packed, succ) in &index.succ {
                let (key, x) = ((packed >> 32) as u32, packed as u32);
                let source_ok = if bit == kind::WW {
                    x != INIT && index.writer_txn(key, x) == Some(from as u32)
                } else {
                    index
                        .accesses
                        .iter()
                        .any(|acc| acc.txn as usize == from && acc.key == key && acc.ext_read == Some(x))
                };
                if !source_ok {
                    continue;
                }
                for &(y, why) in succ {
                    if index.writer_txn(key, y) == Some(to as u32) {
                        let what = if bit == kind::WW {
                            format!("{a} wrote {} to key {}", v(x), ctx.s(key))
                        } else {
                            format!("{a} read key {} as {}", ctx.s(key), v(x))
                        };
                        return format!(
                            "{a} < {b} because {what}, and {b}'s write of {} follows that version ({})",
                            v(y),
                            reason(ctx, why)
                        );
                    }
                }
            }
        }
        _ => {}
    }
    format!("{a} < {b} ({} dependency)", kind::name(bit))
}
