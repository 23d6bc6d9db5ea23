//! Inference for list-append histories: the version order of each key from its reads, the
//! ww / wr / rw edges it implies, and the anomalies that need no cycle (G1a, G1b, dirty and lost
//! updates, duplicate elements, incompatible orders, garbage reads, internal inconsistencies).
//!
//! Every ok read of a key must be a prefix of the longest ok read of that key; the longest read
//! is then the key's observed version order. Values appended but never read were appended after
//! every observed element. Keys whose reads disagree (or repeat an element) get no ww / rw edges:
//! the evidence is reported instead.

use super::anomaly::{AnomalyKind, Findings};
use super::depgraph::{EdgeList, kind};
use super::explain::Ctx;
use super::parallel;
use super::txn::{MicroOp, Span, TxnSet};
use crate::history::{HistoryError, Outcome};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;
use std::ops::Range;

/// No transaction / no position.
pub(crate) const NONE: u32 = u32::MAX;

/// Packs a key and a value id into one map key.
pub(crate) fn kv(key: u32, value: u32) -> u64 {
    ((key as u64) << 32) | value as u64
}

/// Who appended a value: the transaction and the micro-op's position in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppendRef {
    pub txn: u32,
    pub mop: u32,
}

/// What is known of one key's version order.
#[derive(Debug, Default)]
pub(crate) struct KeyOrder {
    /// The longest ok read: the observed version order.
    pub longest: Vec<u32>,
    /// The transaction that read `longest`.
    pub longest_reader: u32,
    /// False when reads disagree or repeat elements: no order is inferred.
    pub consistent: bool,
    /// `next_committed[i]`: the first position `>= i` of `longest` appended by a possibly
    /// committed transaction, or `NONE`; `longest.len() + 1` entries.
    pub next_committed: Vec<u32>,
    /// Possibly-committed transactions whose appends to the key were never observed.
    pub unobserved: Vec<u32>,
    /// The writer of each element of `longest` (`NONE` for a value nobody appended).
    pub writers: Vec<u32>,
}

/// One ok read, with the part of it that reflects other transactions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadFact {
    pub txn: u32,
    pub mop: u32,
    pub key: u32,
    pub span: Span,
    /// Length of the read without the reader's own appends (its external view).
    pub view_len: u32,
    /// False when the read contradicts the reader's own appends (an internal anomaly).
    pub valid: bool,
}

/// Everything inferred from a list-append history.
#[derive(Debug, Default)]
pub(crate) struct ListIndex {
    pub writers: FxHashMap<u64, AppendRef>,
    pub keys: FxHashMap<u32, KeyOrder>,
    /// Position of each element in its key's `longest`, for consistent keys.
    pub pos: FxHashMap<u64, u32>,
    pub reads: Vec<ReadFact>,
}

impl ListIndex {
    /// The writer of a value of a key.
    pub(crate) fn writer(&self, key: u32, value: u32) -> Option<AppendRef> {
        self.writers.get(&kv(key, value)).copied()
    }

    /// The key's order, when consistent.
    pub(crate) fn order(&self, key: u32) -> Option<&KeyOrder> {
        self.keys.get(&key).filter(|k| k.consistent)
    }

    /// The element that follows a view of `view_len` elements in the version order and was
    /// appended by a possibly-committed transaction: `(position, value)`.
    pub(crate) fn next_after(&self, key: u32, view_len: u32) -> Option<(u32, u32)> {
        let order = self.order(key)?;
        let p = *order.next_committed.get(view_len as usize)?;
        (p != NONE).then(|| (p, order.longest[p as usize]))
    }
}

/// Builds the index, adds ww / wr / rw edges, and records the non-cycle anomalies.
pub(crate) fn analyze(
    ctx: Ctx,
    edges: &mut EdgeList,
    findings: &mut Findings,
) -> Result<ListIndex, HistoryError> {
    let set = ctx.set;
    let mut index = ListIndex {
        writers: index_writers(ctx)?,
        ..Default::default()
    };
    // The longest ok read of each key.
    for (t, txn) in set.txns.iter().enumerate() {
        if txn.outcome != Outcome::Ok {
            continue;
        }
        for mop in set.mops(t) {
            if let MicroOp::ReadList {
                key,
                values: Some(span),
            } = *mop
            {
                let entry = index.keys.entry(key).or_default();
                if entry.longest.is_empty() && span.len == 0 || span.len as usize > entry.longest.len() {
                    entry.longest = set.values(span).to_vec();
                    entry.longest_reader = t as u32;
                }
                entry.consistent = true;
            }
        }
    }
    check_orders(ctx, &mut index, findings);
    order_keys(ctx, &mut index, edges, findings);
    read_edges(ctx, &mut index, edges, findings);
    lost_updates(ctx, &index, findings);
    fractured_reads(ctx, &index, findings);
    Ok(index)
}

/// Maps every appended value to its writer; a value appended twice to a key is bad input.
fn index_writers(ctx: Ctx) -> Result<FxHashMap<u64, AppendRef>, HistoryError> {
    let set = ctx.set;
    let mut writers: FxHashMap<u64, AppendRef> = FxHashMap::default();
    writers.reserve(set.mops.len() / 2);
    for t in 0..set.txns.len() {
        for (i, mop) in set.mops(t).iter().enumerate() {
            if let MicroOp::Append { key, value } = *mop {
                let r = AppendRef {
                    txn: t as u32,
                    mop: i as u32,
                };
                if let Some(first) = writers.insert(kv(key, value), r) {
                    let op = &ctx.history.ops[set.txns[t].op as usize];
                    let first_op = &ctx.history.ops[set.txns[first.txn as usize].op as usize];
                    return Err(ctx.history.error_at(
                        op.invoke,
                        format!(
                            "value {} is appended to key {} again (first by the operation on line {}); the list-append checker needs the values appended to a key to be unique",
                            ctx.s(value),
                            ctx.s(key),
                            ctx.history.events[first_op.invoke].line
                        ),
                    ));
                }
            }
        }
    }
    Ok(writers)
}

/// Checks every ok read against the longest read of its key: prefixes only, no duplicates.
fn check_orders(ctx: Ctx, index: &mut ListIndex, findings: &mut Findings) {
    let set = ctx.set;
    let mut seen: FxHashSet<u32> = FxHashSet::default();
    let mut duplicate_keys: FxHashSet<u32> = FxHashSet::default();
    let mut incompatible_keys: FxHashSet<u32> = FxHashSet::default();
    for (t, txn) in set.txns.iter().enumerate() {
        if txn.outcome != Outcome::Ok {
            continue;
        }
        for mop in set.mops(t) {
            let MicroOp::ReadList {
                key,
                values: Some(span),
            } = *mop
            else {
                continue;
            };
            let values = set.values(span);
            let order = index.keys.get_mut(&key).expect("every read key has an entry");
            let is_prefix = order.longest.starts_with(values);
            if !is_prefix || order.longest_reader == t as u32 {
                seen.clear();
                let dup = values.iter().copied().find(|v| !seen.insert(*v));
                if let Some(dup) = dup {
                    order.consistent = false;
                    if duplicate_keys.insert(key) {
                        findings.add(AnomalyKind::DuplicateElements, || {
                            let mut a = ctx.anomaly(&[t], Some(key));
                            a.steps.push(format!(
                                "T1 read key {} as {}, which contains {} more than once; each value is appended once.",
                                ctx.s(key),
                                ctx.span(span),
                                ctx.s(dup)
                            ));
                            a.details = json!({"value": ctx.json(dup)});
                            a
                        });
                    }
                }
            }
            if !is_prefix {
                order.consistent = false;
                if incompatible_keys.insert(key) {
                    let other = order.longest_reader as usize;
                    let longest = ctx.list(&order.longest);
                    findings.add(AnomalyKind::IncompatibleOrder, || {
                        let mut a = ctx.anomaly(&[t, other], Some(key));
                        a.steps.push(format!("T1 read key {} as {}.", ctx.s(key), ctx.span(span)));
                        a.steps.push(format!("T2 read key {} as {longest}.", ctx.s(key)));
                        a.steps.push(
                            "Neither read is a prefix of the other, so no single order of appends explains both."
                                .into(),
                        );
                        a
                    });
                }
            }
        }
    }
}

/// For consistent keys: positions, ww edges along the observed order, unobserved writers and
/// dirty updates. Keys are independent: large histories take them in parts, one per core, and
/// merge the parts in key order.
fn order_keys(ctx: Ctx, index: &mut ListIndex, edges: &mut EdgeList, findings: &mut Findings) {
    let set = ctx.set;
    let committed = |t: u32| set.txns[t as usize].possibly_committed();
    let mut keys: Vec<u32> = index
        .keys
        .iter()
        .filter(|(_, order)| order.consistent)
        .map(|(&key, _)| key)
        .collect();
    keys.sort_unstable();
    let parts = parallel::parts_for(set.mops.len());
    let shared: &ListIndex = index;
    let ordered = parallel::map_ranges(parallel::ranges(keys.len(), parts), |range| {
        let mut part = KeysPart::default();
        for &key in &keys[range] {
            order_key(ctx, shared, key, &mut part);
        }
        part
    });
    let positions: usize = ordered.iter().map(|p| p.positions.len()).sum();
    index.pos.reserve(positions);
    for part in ordered {
        for (key, writers, next_committed) in part.orders {
            let order = index.keys.get_mut(&key).expect("listed above");
            order.writers = writers;
            order.next_committed = next_committed;
        }
        index.pos.extend(part.positions);
        edges.append(part.edges);
        findings.absorb(part.findings);
    }
    // Appends never observed come after every observed element of their key.
    let shared: &ListIndex = index;
    let unobserved = parallel::map_parts(set.txns.len(), |range| {
        let mut found: Vec<(u32, u32)> = Vec::new();
        for t in range {
            if !committed(t as u32) {
                continue;
            }
            for mop in set.mops(t) {
                if let MicroOp::Append { key, value } = *mop
                    && shared.order(key).is_some()
                    && !shared.pos.contains_key(&kv(key, value))
                {
                    found.push((key, t as u32));
                }
            }
        }
        found
    });
    let mut by_writer: Vec<(u32, u32)> = unobserved.into_iter().flatten().collect();
    by_writer.sort_unstable();
    by_writer.dedup();
    for (key, txn) in by_writer {
        let order = index.keys.get_mut(&key).expect("consistent keys have entries");
        order.unobserved.push(txn);
        let last = order.longest.iter().rev().find_map(|&v| {
            let w = index.writers.get(&kv(key, v))?;
            committed(w.txn).then_some(w.txn)
        });
        if let Some(last) = last
            && known_committed(index, set, txn)
        {
            edges.add(last as usize, txn as usize, kind::WW);
        }
    }
}

/// What [`order_key`] found for a run of keys: each key's writers and `next_committed`, the
/// position of every observed element, the ww edges and the dirty updates.
#[derive(Default)]
struct KeysPart {
    orders: Vec<(u32, Vec<u32>, Vec<u32>)>,
    positions: Vec<(u64, u32)>,
    edges: EdgeList,
    findings: Findings,
}

/// The observed order of one consistent key: its writers, positions and ww edges.
fn order_key(ctx: Ctx, index: &ListIndex, key: u32, part: &mut KeysPart) {
    let set = ctx.set;
    let committed = |t: u32| set.txns[t as usize].possibly_committed();
    let order = &index.keys[&key];
    let n = order.longest.len();
    let mut next_committed = vec![NONE; n + 1];
    let writers: Vec<u32> = order
        .longest
        .iter()
        .map(|&v| index.writers.get(&kv(key, v)).map_or(NONE, |w| w.txn))
        .collect();
    let mut prev_committed: Option<u32> = None;
    let mut failed_before: Option<u32> = None;
    for (p, (&v, &w)) in order.longest.iter().zip(&writers).enumerate() {
        part.positions.push((kv(key, v), p as u32));
        if w == NONE {
            continue;
        }
        if !committed(w) {
            failed_before.get_or_insert(v);
            continue;
        }
        if let Some(prev) = prev_committed {
            part.edges.add(prev as usize, w as usize, kind::WW);
        }
        prev_committed = Some(w);
        if let Some(failed_value) = failed_before.take() {
            let (f, c) = (index.writers[&kv(key, failed_value)].txn as usize, w as usize);
            part.findings.add(AnomalyKind::DirtyUpdate, || {
                let mut a = ctx.anomaly(&[f, c], Some(key));
                a.steps.push(format!(
                    "The observed order of key {} is {}.",
                    ctx.s(key),
                    ctx.list(&order.longest)
                ));
                a.steps.push(format!(
                    "T1 appended {} and failed; T2 appended {} after it and may have committed: a write on top of an aborted write.",
                    ctx.s(failed_value),
                    ctx.s(v)
                ));
                a
            });
        }
    }
    let mut next = NONE;
    for p in (0..n).rev() {
        if writers[p] != NONE && committed(writers[p]) {
            next = p as u32;
        }
        next_committed[p] = next;
    }
    part.orders.push((key, writers, next_committed));
}

/// Walks every ok read: internal consistency, garbage and aborted reads, wr and rw edges.
/// Large histories are walked in parts (runs of transactions, one per core), merged in order.
fn read_edges(ctx: Ctx, index: &mut ListIndex, edges: &mut EdgeList, findings: &mut Findings) {
    let shared: &ListIndex = index;
    let parts = parallel::map_parts(ctx.set.txns.len(), |range| {
        let mut part = ReadsPart::default();
        read_edges_of(ctx, shared, range, &mut part);
        part
    });
    index.reads.reserve(parts.iter().map(|p| p.reads.len()).sum());
    for part in parts {
        index.reads.extend(part.reads);
        edges.append(part.edges);
        findings.absorb(part.findings);
    }
}

/// What [`read_edges_of`] found for a run of transactions.
#[derive(Default)]
struct ReadsPart {
    reads: Vec<ReadFact>,
    edges: EdgeList,
    findings: Findings,
}

/// [`read_edges`] for the transactions in `txns`.
fn read_edges_of(ctx: Ctx, index: &ListIndex, txns: Range<usize>, part: &mut ReadsPart) {
    let set = ctx.set;
    let (edges, findings) = (&mut part.edges, &mut part.findings);
    let mut own: Vec<u32> = Vec::new();
    for t in txns {
        let txn = &set.txns[t];
        if txn.outcome != Outcome::Ok {
            continue;
        }
        let mops = set.mops(t);
        for (i, mop) in mops.iter().enumerate() {
            let MicroOp::ReadList {
                key,
                values: Some(span),
            } = *mop
            else {
                continue;
            };
            let values = set.values(span);
            own.clear();
            own.extend(mops[..i].iter().filter_map(|m| match *m {
                MicroOp::Append { key: k, value } if k == key => Some(value),
                _ => None,
            }));
            let view_len = values.len().saturating_sub(own.len());
            let view = &values[..view_len];
            // Writers of the view's elements: from the observed order when the key has one.
            let view_writers: Vec<u32> = match index.order(key) {
                Some(order) => order.writers[..view_len].to_vec(),
                None => view
                    .iter()
                    .map(|&v| index.writer(key, v).map_or(NONE, |w| w.txn))
                    .collect(),
            };
            let foreign_own = view_writers.iter().find(|&&w| w == t as u32);
            let valid = values.ends_with(&own) && foreign_own.is_none();
            part.reads.push(ReadFact {
                txn: t as u32,
                mop: i as u32,
                key,
                span,
                view_len: view_len as u32,
                valid,
            });
            if !valid {
                findings.add(AnomalyKind::Internal, || {
                    let mut a = ctx.anomaly(&[t], Some(key));
                    a.steps.push(format!(
                        "Before this read T1 had appended {} to key {}, so the read must end with exactly those values (and contain no other value of T1).",
                        ctx.list(&own),
                        ctx.s(key)
                    ));
                    a.steps.push(format!("But T1 read key {} as {}.", ctx.s(key), ctx.span(span)));
                    a
                });
                continue;
            }
            for (&v, &writer) in view.iter().zip(&view_writers) {
                if writer != NONE && set.txns[writer as usize].possibly_committed() {
                    continue;
                }
                match index.writer(key, v) {
                    None => findings.add(AnomalyKind::GarbageRead, || {
                        let mut a = ctx.anomaly(&[t], Some(key));
                        a.steps.push(format!(
                            "T1 read key {} as {}, which contains {}, but no transaction appended {} to key {}.",
                            ctx.s(key),
                            ctx.span(span),
                            ctx.s(v),
                            ctx.s(v),
                            ctx.s(key)
                        ));
                        a.details = json!({"value": ctx.json(v)});
                        a
                    }),
                    Some(w) if !set.txns[w.txn as usize].possibly_committed() => {
                        findings.add(AnomalyKind::G1a, || {
                            let mut a = ctx.anomaly(&[t, w.txn as usize], Some(key));
                            a.steps.push(format!(
                                "T1 read key {} as {}, which contains {}.",
                                ctx.s(key),
                                ctx.span(span),
                                ctx.s(v)
                            ));
                            a.steps.push(format!(
                                "{} was appended to key {} only by T2, which failed: T1 read an aborted write.",
                                ctx.s(v),
                                ctx.s(key)
                            ));
                            a
                        })
                    }
                    Some(_) => {}
                }
            }
            if let Some(&last) = view.last()
                && let Some(w) = index.writer(key, last)
                && set.txns[w.txn as usize].possibly_committed()
            {
                edges.add(w.txn as usize, t, kind::WR);
                let later = set.mops(w.txn as usize)[w.mop as usize + 1..]
                    .iter()
                    .find_map(|m| match *m {
                        MicroOp::Append { key: k, value } if k == key => Some(value),
                        _ => None,
                    });
                if let Some(later) = later {
                    findings.add(AnomalyKind::G1b, || {
                        let mut a = ctx.anomaly(&[t, w.txn as usize], Some(key));
                        a.steps.push(format!(
                            "T1 read key {} as {}, ending with T2's append of {}.",
                            ctx.s(key),
                            ctx.span(span),
                            ctx.s(last)
                        ));
                        a.steps.push(format!(
                            "T2 went on to append {} to key {}: T1 read an intermediate state of T2.",
                            ctx.s(later),
                            ctx.s(key)
                        ));
                        a
                    });
                }
            }
            for u in rw_targets(index, set, key, view_len as u32) {
                edges.add(t, u as usize, kind::RW);
            }
        }
    }
}

/// The transactions a read of `view_len` elements must precede (anti-dependencies): the writer
/// of the next observed element when there is one (later observed writers follow it by ww
/// edges); otherwise every committed transaction whose append to the key was never observed.
/// Lists only grow, so a committed append missing from a read was serialized after the reader,
/// whatever the (unknown) order of the unobserved appends among themselves.
pub(crate) fn rw_targets(index: &ListIndex, set: &TxnSet, key: u32, view_len: u32) -> Vec<u32> {
    let Some(order) = index.order(key) else {
        return Vec::new();
    };
    if let Some((_, v)) = index.next_after(key, view_len) {
        return vec![index.writers[&kv(key, v)].txn];
    }
    let targets: Vec<u32> = order
        .unobserved
        .iter()
        .copied()
        .filter(|&u| known_committed(index, set, u))
        .collect();
    // Every such read links to every unobserved writer; past this many writers a key could
    // make the graph quadratic, so it keeps only what inference from reads alone gives (none).
    if targets.len() > MAX_UNOBSERVED_RW_TARGETS {
        return Vec::new();
    }
    targets
}

/// True if transaction `t` is known to have committed: it is ok, or it is info and a read saw
/// one of its appends (so its appends nobody saw happened too).
pub(crate) fn known_committed(index: &ListIndex, set: &TxnSet, t: u32) -> bool {
    set.txns[t as usize].outcome == Outcome::Ok
        || set.mops(t as usize).iter().any(|m| match *m {
            MicroOp::Append { key, value } => index.pos.contains_key(&kv(key, value)),
            _ => false,
        })
}

/// Most unobserved appenders of one key that each complete read gets an rw edge to.
const MAX_UNOBSERVED_RW_TARGETS: usize = 64;

/// Lost updates: two committed transactions read the same version of a key, then appended to
/// it.
fn lost_updates(ctx: Ctx, index: &ListIndex, findings: &mut Findings) {
    let set = ctx.set;
    let mut groups: FxHashMap<(u32, u32), Vec<(u32, Span)>> = FxHashMap::default();
    for r in &index.reads {
        if !r.valid || index.order(r.key).is_none() {
            continue;
        }
        let mops = set.mops(r.txn as usize);
        let first_on_key = mops.iter().position(|m| m.key() == r.key) == Some(r.mop as usize);
        let appends_later = mops[r.mop as usize..]
            .iter()
            .any(|m| matches!(*m, MicroOp::Append { key, .. } if key == r.key));
        if first_on_key && appends_later {
            groups
                .entry((r.key, r.view_len))
                .or_default()
                .push((r.txn, r.span));
        }
    }
    let mut groups: Vec<_> = groups.into_iter().filter(|(_, g)| g.len() > 1).collect();
    groups.sort_unstable_by_key(|(k, _)| *k);
    for ((key, _), group) in groups {
        findings.add(AnomalyKind::LostUpdate, || {
            let txns: Vec<usize> = group.iter().map(|(t, _)| *t as usize).collect();
            let mut a = ctx.anomaly(&txns, Some(key));
            let version = ctx.list(set.values(group[0].1));
            a.steps.push(format!(
                "T1..T{} all read key {} in the same state {version} and then appended to it.",
                txns.len(),
                ctx.s(key)
            ));
            a.steps.push(
                "Whichever committed second overwrote a state it never saw: the others' updates were lost to it."
                    .into(),
            );
            a
        });
    }
}

/// Fractured reads: a transaction observed one of another transaction's appends (on some key)
/// but read a key that transaction also appended to without its append.
/// Large histories are searched in parts (runs of readers, one per core), merged in order.
fn fractured_reads(ctx: Ctx, index: &ListIndex, findings: &mut Findings) {
    let reads = &index.reads;
    // Cut between readers: a part starts at the first read of a transaction.
    let mut ranges = parallel::ranges(reads.len(), parallel::parts_for(reads.len()));
    for i in 1..ranges.len() {
        let mut cut = ranges[i].start.max(ranges[i - 1].start);
        while cut > 0 && cut < reads.len() && reads[cut].txn == reads[cut - 1].txn {
            cut += 1;
        }
        ranges[i - 1].end = cut;
        ranges[i].start = cut;
    }
    let last = ranges.len() - 1;
    ranges[last].end = ranges[last].end.max(ranges[last].start);
    for part in parallel::map_ranges(ranges, |range| {
        let mut found = Findings::default();
        fractured_reads_of(ctx, index, range, &mut found);
        found
    }) {
        findings.absorb(part);
    }
}

/// [`fractured_reads`] for the readers of `index.reads[range]` (whole transactions).
fn fractured_reads_of(ctx: Ctx, index: &ListIndex, range: Range<usize>, findings: &mut Findings) {
    let set = ctx.set;
    // observed_by[w] == t + 1 when the current reader t observed writer w, at observed_at[w].
    let mut observed_by: Vec<u32> = vec![0; set.txns.len()];
    let mut observed_at: Vec<(u32, u32)> = vec![(0, 0); set.txns.len()];
    let mut start = range.start;
    while start < range.end {
        let t = index.reads[start].txn;
        let end = start
            + index.reads[start..range.end]
                .iter()
                .take_while(|r| r.txn == t)
                .count();
        let reads = &index.reads[start..end];
        start = end;
        let mut any = false;
        for r in reads.iter().filter(|r| r.valid) {
            let Some(order) = index.order(r.key) else { continue };
            for (p, &w) in order.writers[..r.view_len as usize].iter().enumerate() {
                if w != NONE && w != t && observed_by[w as usize] != t + 1 {
                    observed_by[w as usize] = t + 1;
                    observed_at[w as usize] = (r.key, order.longest[p]);
                    any = true;
                }
            }
        }
        if !any {
            continue;
        }
        'reads: for r in reads.iter().filter(|r| r.valid) {
            let Some(order) = index.order(r.key) else { continue };
            let missing = order.writers[r.view_len as usize..]
                .iter()
                .copied()
                .filter(|&w| w != NONE)
                .chain(order.unobserved.iter().copied());
            for u in missing {
                if observed_by[u as usize] != t + 1 {
                    continue;
                }
                let (seen_key, seen_value) = observed_at[u as usize];
                if seen_key == r.key || u == t {
                    continue;
                }
                let missed = set.mops(u as usize).iter().find_map(|m| match *m {
                    MicroOp::Append { key, value } if key == r.key => Some(value),
                    _ => None,
                });
                let Some(missed) = missed else { continue };
                findings.add(AnomalyKind::FracturedRead, || {
                    let mut a = ctx.anomaly(&[t as usize, u as usize], Some(r.key));
                    a.steps.push(format!(
                        "T1 observed T2's append of {} to key {}.",
                        ctx.s(seen_value),
                        ctx.s(seen_key)
                    ));
                    a.steps.push(format!(
                        "But T1 read key {} as {}, without T2's append of {} to it: T1 saw only part of T2.",
                        ctx.s(r.key),
                        ctx.list(&set.values(r.span)[..r.view_len as usize]),
                        ctx.s(missed)
                    ));
                    a
                });
                break 'reads;
            }
        }
    }
}
