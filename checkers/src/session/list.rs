//! Session guarantees over list-append histories.
//!
//! Within a process: read-your-writes (a read of a key contains the process's latest earlier
//! append to it), monotonic reads (a read of a key is at least as long as the process's earlier
//! reads of it), and the same-key halves of monotonic writes and writes-follow-reads (a later
//! append sits after the earlier append / after everything the process had read, in the key's
//! version order). Across processes: whoever observes a process's append must, in its later
//! reads, also observe the appends that process made before it (monotonic writes) and the
//! versions it had read before it (writes-follow-reads).

use super::key_slots::KeySlots;
use crate::graph::list_append::{ListIndex, NONE, kv};
use crate::graph::{AnomalyKind, ConsistencyModel, Ctx, Findings, MicroOp};
use crate::history::Outcome;
use rustc_hash::FxHashMap;

/// The reads of each transaction, as ranges into `index.reads`.
fn reads_by_txn(index: &ListIndex, txns: usize) -> Vec<(u32, u32)> {
    let mut ranges = vec![(0u32, 0u32); txns];
    let mut i = 0;
    while i < index.reads.len() {
        let t = index.reads[i].txn as usize;
        let end = i + index.reads[i..]
            .iter()
            .take_while(|r| r.txn as usize == t)
            .count();
        ranges[t] = (i as u32, end as u32);
        i = end;
    }
    ranges
}

/// The position of a value in its key's observed order, for consistent keys.
fn position(index: &ListIndex, key: u32, value: u32) -> Option<u32> {
    index.order(key)?;
    index.pos.get(&kv(key, value)).copied()
}

/// A session's latest append to a key: its transaction, the value, and the value's position
/// in the key's order (see [`position`]).
#[derive(Clone, Copy)]
struct LastAppend {
    txn: u32,
    value: u32,
    position: Option<u32>,
}

pub(crate) fn check(
    ctx: Ctx,
    index: &ListIndex,
    sessions: &[Vec<u32>],
    wanted: &(dyn Fn(ConsistencyModel) -> bool + Sync),
    findings: &mut Findings,
) {
    let set = ctx.set;
    let ranges = reads_by_txn(index, set.txns.len());
    // Each session on its own, and the observers across sessions, on two threads.
    let observing = wanted(ConsistencyModel::MonotonicWrites) || wanted(ConsistencyModel::WritesFollowReads);
    findings.run_both(
        |findings| per_session(ctx, index, sessions, &ranges, wanted, findings),
        |findings| {
            if observing {
                observers(ctx, index, &ranges, wanted, findings);
            }
        },
    );
}

/// The guarantees within each session: read-your-writes, monotonic reads, and the
/// same-process halves of monotonic writes and writes-follow-reads.
fn per_session(
    ctx: Ctx,
    index: &ListIndex,
    sessions: &[Vec<u32>],
    ranges: &[(u32, u32)],
    wanted: &(dyn Fn(ConsistencyModel) -> bool + Sync),
    findings: &mut Findings,
) {
    let set = ctx.set;
    let keys = set.mops.iter().map(|m| m.key() as usize + 1).max().unwrap_or(0);
    // key -> the latest append; key -> the longest read (its position in `index.reads`).
    let mut last_append: KeySlots<LastAppend> = KeySlots::new(keys);
    let mut longest_read: KeySlots<u32> = KeySlots::new(keys);
    // This transaction's appends, to update `last_append` with once it is checked.
    let mut appended: Vec<(u32, LastAppend)> = Vec::new();
    for session in sessions {
        last_append.clear();
        longest_read.clear();
        for &t in session {
            let txn = set.txns[t as usize];
            let p = txn.process;
            let (first_read, end_read) = ranges[t as usize];
            let reads = (first_read..end_read).filter(|&i| index.reads[i as usize].valid);
            for i in reads.clone() {
                let r = &index.reads[i as usize];
                let ordered = index.order(r.key).is_some();
                if wanted(ConsistencyModel::ReadYourWrites)
                    && let Some(w) = last_append.get(r.key)
                    && !match ordered {
                        true => w.position.is_some_and(|p| p < r.span.len),
                        false => set.values(r.span).contains(&w.value),
                    }
                {
                    let (wt, v) = (w.txn, w.value);
                    findings.add(AnomalyKind::ReadYourWrites, || {
                        let mut a = ctx.anomaly(&[wt as usize, t as usize], Some(r.key));
                        a.steps.push(format!(
                            "Process {p} appended {} to key {} in T1 (index {}), then read key {} in T2 (index {}) as {} and did not see {}.",
                            ctx.s(v), ctx.s(r.key), ctx.index(wt as usize), ctx.s(r.key), ctx.index(t as usize),
                            ctx.span(r.span), ctx.s(v)
                        ));
                        a
                    });
                }
                if wanted(ConsistencyModel::MonotonicReads)
                    && ordered
                    && let Some(prev) = longest_read.get(r.key).map(|i| index.reads[i as usize])
                    && r.span.len < prev.span.len
                {
                    let rt = prev.txn;
                    findings.add(AnomalyKind::MonotonicReads, || {
                        let mut a = ctx.anomaly(&[rt as usize, t as usize], Some(r.key));
                        a.steps.push(format!(
                            "Process {p} read key {} as {} in T1 (index {}), then as {} in T2 (index {}): an older state, losing {}.",
                            ctx.s(r.key), ctx.span(prev.span), ctx.index(rt as usize), ctx.span(r.span),
                            ctx.index(t as usize),
                            ctx.list(&set.values(prev.span)[r.span.len as usize..])
                        ));
                        a
                    });
                }
            }
            appended.clear();
            for m in set.mops(t as usize) {
                let MicroOp::Append { key, value } = *m else {
                    continue;
                };
                let position = position(index, key, value);
                appended.push((
                    key,
                    LastAppend {
                        txn: t,
                        value,
                        position,
                    },
                ));
                let Some(pos) = position else {
                    continue;
                };
                if wanted(ConsistencyModel::MonotonicWrites)
                    && let Some(w) = last_append.get(key)
                    && w.txn != t
                    && w.position.is_none_or(|p1| p1 > pos)
                {
                    let (wt, v1) = (w.txn, w.value);
                    findings.add(AnomalyKind::MonotonicWrites, || {
                        let mut a = ctx.anomaly(&[wt as usize, t as usize], Some(key));
                        let order = index.order(key).map(|o| ctx.list(&o.longest)).unwrap_or_default();
                        a.steps.push(format!(
                            "Process {p} appended {} to key {} in T1 (index {}), then {} in T2 (index {}).",
                            ctx.s(v1),
                            ctx.s(key),
                            ctx.index(wt as usize),
                            ctx.s(value),
                            ctx.index(t as usize)
                        ));
                        a.steps.push(format!(
                            "But key {} was read as {order}: {} became visible without {} before it.",
                            ctx.s(key),
                            ctx.s(value),
                            ctx.s(v1)
                        ));
                        a
                    });
                }
                if wanted(ConsistencyModel::WritesFollowReads)
                    && let Some(prev) = longest_read.get(key).map(|i| index.reads[i as usize])
                    && prev.txn != t
                    && pos < prev.span.len
                {
                    let rt = prev.txn;
                    findings.add(AnomalyKind::WritesFollowReads, || {
                        let mut a = ctx.anomaly(&[rt as usize, t as usize], Some(key));
                        let order = index.order(key).map(|o| ctx.list(&o.longest)).unwrap_or_default();
                        a.steps.push(format!(
                            "Process {p} read key {} as {} in T1 (index {}), then appended {} in T2 (index {}).",
                            ctx.s(key), ctx.span(prev.span), ctx.index(rt as usize), ctx.s(value), ctx.index(t as usize)
                        ));
                        a.steps.push(format!(
                            "But key {} was read as {order}: {} was placed before versions process {p} had already read.",
                            ctx.s(key), ctx.s(value)
                        ));
                        a
                    });
                }
            }
            // Update the session state with this transaction.
            for i in reads {
                let r = &index.reads[i as usize];
                let longer = longest_read
                    .get(r.key)
                    .is_none_or(|prev| r.span.len > index.reads[prev as usize].span.len);
                if longer {
                    longest_read.set(r.key, i);
                }
            }
            for &(key, append) in &appended {
                last_append.set(key, append);
            }
        }
    }
}

/// The cross-process halves of monotonic writes and writes-follow-reads. For each later read
/// of a key by an observer, the candidates are short: the appends missing from the read (its
/// key's order past the read, and the unobserved appends) and the longer reads of the key.
fn observers(
    ctx: Ctx,
    index: &ListIndex,
    ranges: &[(u32, u32)],
    wanted: &dyn Fn(ConsistencyModel) -> bool,
    findings: &mut Findings,
) {
    let set = ctx.set;
    // Dense process numbers, so "the latest transaction of process p observed" is an array.
    let mut dense: FxHashMap<u64, usize> = FxHashMap::default();
    let proc_of: Vec<usize> = set
        .txns
        .iter()
        .map(|t| {
            let next = dense.len();
            *dense.entry(t.process).or_insert(next)
        })
        .collect();
    let (by_len, key_reads) = reads_by_key_longest_first(index);
    // slot[p]: position in `seen` of process p's latest transaction observed so far.
    let mut seen: Vec<(usize, u32, u32, u32)> = Vec::new();
    let mut slot: Vec<u32> = vec![NONE; dense.len()];
    let latest = |slot: &[u32], seen: &[(usize, u32, u32, u32)], p: usize| match slot[p] {
        NONE => None,
        i => Some(seen[i as usize]),
    };
    for (t, txn) in set.txns.iter().enumerate() {
        if txn.outcome != Outcome::Ok {
            continue;
        }
        let (a, b) = ranges[t];
        let reads = &index.reads[a as usize..b as usize];
        for s in &seen {
            slot[s.0] = NONE;
        }
        seen.clear();
        let me = proc_of[t];
        let mut reported_mw = false;
        let mut reported_wfr = false;
        // Reads in the order the transaction made them: each must reflect what the earlier
        // ones observed.
        for r in reads.iter().filter(|r| r.valid) {
            let Some(order) = index.order(r.key) else { continue };
            if !seen.is_empty() && !reported_mw && wanted(ConsistencyModel::MonotonicWrites) {
                let missing = order.writers[r.span.len as usize..]
                    .iter()
                    .zip(&order.longest[r.span.len as usize..])
                    .map(|(&w, &v)| (w, Some(v)))
                    .chain(order.unobserved.iter().map(|&w| (w, None)));
                for (w1, v1) in missing {
                    if w1 == NONE || w1 as usize == t {
                        continue;
                    }
                    let Some((_, w2, k2, v2)) = latest(&slot, &seen, proc_of[w1 as usize]) else {
                        continue;
                    };
                    if w1 >= w2 {
                        continue;
                    }
                    let v1 = v1.or_else(|| first_append(ctx, w1, r.key)).unwrap_or(NONE);
                    reported_mw = true;
                    let p = set.txns[w1 as usize].process;
                    findings.add(AnomalyKind::MonotonicWrites, || {
                        let mut a = ctx.anomaly(&[w1 as usize, w2 as usize, t], Some(r.key));
                        a.steps.push(format!(
                            "Process {p} appended {} to key {} in T1, then {} to key {} in T2.",
                            ctx.s(v1), ctx.s(r.key), ctx.s(v2), ctx.s(k2)
                        ));
                        a.steps.push(format!(
                            "T3 (process {}) saw T2's append of {} to key {}, but then read key {} as {}, without T1's earlier append of {}.",
                            txn.process, ctx.s(v2), ctx.s(k2), ctx.s(r.key), ctx.span(r.span), ctx.s(v1)
                        ));
                        a
                    });
                    break;
                }
            }
            if !seen.is_empty() && !reported_wfr && wanted(ConsistencyModel::WritesFollowReads) {
                let (start, end) = key_reads.get(r.key as usize).copied().unwrap_or((0, 0));
                for &(_, len, ri) in by_len[start..end].iter().take_while(|e| e.1 > r.span.len) {
                    let earlier = index.reads[ri as usize];
                    let rt = earlier.txn;
                    if rt as usize == t {
                        continue;
                    }
                    let Some((_, w2, k2, v2)) = latest(&slot, &seen, proc_of[rt as usize]) else {
                        continue;
                    };
                    // The read must come before the append: in an earlier transaction, or
                    // earlier in the same one.
                    let same_txn = rt == w2;
                    let append_mop = index.writer(k2, v2).map_or(0, |a| a.mop);
                    if rt > w2 || (same_txn && earlier.mop > append_mop) {
                        continue;
                    }
                    reported_wfr = true;
                    let p = set.txns[rt as usize].process;
                    findings.add(AnomalyKind::WritesFollowReads, || {
                        if same_txn {
                            let mut a = ctx.anomaly(&[w2 as usize, t], Some(r.key));
                            a.steps.push(format!(
                                "Process {p} read key {} as {}, then appended {} to key {}, in the same transaction T1.",
                                ctx.s(r.key), ctx.list(&order.longest[..len as usize]), ctx.s(v2), ctx.s(k2)
                            ));
                            a.steps.push(format!(
                                "T2 (process {}) saw T1's append of {} to key {}, but then read key {} as {}, an older state than process {p} had read before writing.",
                                txn.process, ctx.s(v2), ctx.s(k2), ctx.s(r.key), ctx.span(r.span)
                            ));
                            return a;
                        }
                        let mut a = ctx.anomaly(&[rt as usize, w2 as usize, t], Some(r.key));
                        a.steps.push(format!(
                            "Process {p} read key {} as {} in T1, then appended {} to key {} in T2.",
                            ctx.s(r.key), ctx.list(&order.longest[..len as usize]), ctx.s(v2), ctx.s(k2)
                        ));
                        a.steps.push(format!(
                            "T3 (process {}) saw T2's append of {} to key {}, but then read key {} as {}, an older state than process {p} had read before writing.",
                            txn.process, ctx.s(v2), ctx.s(k2), ctx.s(r.key), ctx.span(r.span)
                        ));
                        a
                    });
                    break;
                }
            }
            for (p, &w) in order.writers[..r.view_len as usize].iter().enumerate() {
                if w == NONE {
                    continue;
                }
                let d = proc_of[w as usize];
                if d == me || !set.txns[w as usize].possibly_committed() {
                    continue;
                }
                match slot[d] {
                    NONE => {
                        slot[d] = seen.len() as u32;
                        seen.push((d, w, r.key, order.longest[p]));
                    }
                    i if seen[i as usize].1 >= w => {}
                    i => seen[i as usize] = (d, w, r.key, order.longest[p]),
                }
            }
        }
    }
}

/// A read as `observers` looks for longer ones: (key, length, position in `ListIndex::reads`).
type LongRead = (u32, u32, u32);

/// Valid reads of keys with an order, by key, longest first, then in read order (see
/// [`LongRead`]); and each key's range of them (empty for a key without such reads). Grouped
/// by key with a counting sort, then each key's few reads sorted by length.
fn reads_by_key_longest_first(index: &ListIndex) -> (Vec<LongRead>, Vec<(usize, usize)>) {
    let keys = index.reads.iter().map(|r| r.key as usize + 1).max().unwrap_or(0);
    let mut ordered = vec![false; keys];
    for (&key, order) in &index.keys {
        if order.consistent && (key as usize) < keys {
            ordered[key as usize] = true;
        }
    }
    let counted = || {
        index
            .reads
            .iter()
            .enumerate()
            .filter(|(_, r)| r.valid && ordered[r.key as usize])
    };
    let mut key_reads: Vec<(usize, usize)> = vec![(0, 0); keys];
    for (_, r) in counted() {
        key_reads[r.key as usize].1 += 1;
    }
    let mut total = 0;
    for range in &mut key_reads {
        let count = range.1;
        *range = (total, total);
        total += count;
    }
    // Placed in read order, so each key's reads are in read order before sorting by length.
    let mut by_len = vec![(0u32, 0u32, 0u32); total];
    for (i, r) in counted() {
        let range = &mut key_reads[r.key as usize];
        by_len[range.1] = (r.key, r.span.len, i as u32);
        range.1 += 1;
    }
    for &(start, end) in &key_reads {
        by_len[start..end].sort_by_key(|e| std::cmp::Reverse(e.1));
    }
    (by_len, key_reads)
}

/// A transaction's first append to a key.
fn first_append(ctx: Ctx, t: u32, key: u32) -> Option<u32> {
    ctx.set.mops(t as usize).iter().find_map(|m| match *m {
        MicroOp::Append { key: k, value } if k == key => Some(value),
        _ => None,
    })
}
