//! Causal consistency's read rule: a transaction must see every write that happened before it,
//! where "happened before" is the transitive closure of process order and observation
//! (rw-register: T read U's write; list-append: T read a list that includes one of U's
//! appends). A violation (`missed-causal-write`) is a transaction W, a path of observation /
//! process edges from W to a reader R, and a read of R that lacks W's write to the key it read.
//!
//! As a cycle it is R -rw→ (later writers of the key) -ww→ … W -(wr|process)+→ R: one
//! anti-dependency, ww edges only on the read key, then happened-before edges. Edge labels alone
//! cannot say that the ww edges stay on one key, so this is its own search: for each writer in a
//! strongly connected component, a breadth-first walk along happened-before edges, checking each
//! reached transaction's external reads against the writer's writes. The first hit per writer is
//! the nearest one (fewest edges), and is explained in numbered steps.

use super::Inference;
use super::anomaly::{AnomalyKind, Findings};
use super::cycle_report::explain_edge;
use super::depgraph::{DepGraph, kind};
use super::explain::Ctx;
use super::list_append::{ListIndex, NONE, known_committed, kv};
use super::rw_register::{INIT, RegisterIndex};
use super::txn::MicroOp;
use crate::report::Anomaly;
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;
use std::collections::VecDeque;

/// One external read of a key: list-append, the length of the reader's view of it (its own
/// appends left out); rw-register, the version read.
#[derive(Debug, Clone, Copy)]
struct Read {
    key: u32,
    seen: u32,
}

/// One write a reader may have missed: list-append, the element's position in the key's
/// observed order (`NONE`: never observed, so after every observed element); rw-register, the
/// version written.
#[derive(Debug, Clone, Copy)]
struct Write {
    key: u32,
    value: u32,
    at: u32,
}

/// Searches every component of the graph that can hold a violation; records each violation
/// found (at most one per writer, the nearest reader). Returns true if the work budget ran out
/// in a component before any violation was found there (one may exist).
pub(crate) fn report_missed_writes(
    ctx: Ctx,
    inference: &Inference,
    graph: &DepGraph,
    budget: usize,
    findings: &mut Findings,
) -> bool {
    let mut inconclusive = false;
    for component in components(ctx, inference, graph) {
        let comp = Component::new(ctx, inference, graph, &component);
        if comp.reads.is_empty() {
            continue;
        }
        let mut work = 0usize;
        let mut found = false;
        for &w in &component {
            let Some(writes) = comp.writes.get(&w) else {
                continue;
            };
            if let Some(hit) = comp.nearest_miss(w, writes, &mut work, budget) {
                found = true;
                findings.add(AnomalyKind::MissedCausalWrite, || explain(ctx, inference, &hit));
            }
            if work >= budget {
                inconclusive |= !found;
                break;
            }
        }
    }
    inconclusive
}

/// The strongly connected components a violation can lie in: over the graph's ww, wr, rw and
/// process edges, plus, for list-append, an edge from each reader of a key to every committed
/// append to it that no read saw (through one extra node per key, so it stays linear; the
/// graph's rw edges leave out info writers and keys with many such appends). Each component
/// without the extra nodes, sorted.
fn components(ctx: Ctx, inference: &Inference, graph: &DepGraph) -> Vec<Vec<u32>> {
    let usable = kind::WW | kind::WR | kind::RW | kind::PROCESS;
    let n = ctx.set.txns.len();
    // The edges through the extra nodes, sorted by source; the graph's own edges are walked
    // in place.
    let mut extra_edges: Vec<(u32, u32)> = Vec::new();
    let mut nodes = n;
    if let Inference::List(index) = inference {
        let mut extra: FxHashMap<u32, u32> = FxHashMap::default();
        let mut keys: Vec<u32> = index.keys.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let Some(order) = index.order(key) else { continue };
            let unseen: Vec<u32> = order
                .unobserved
                .iter()
                .copied()
                .filter(|&u| {
                    writes_of(ctx, inference, u as usize)
                        .iter()
                        .any(|w| w.key == key && w.at == NONE)
                })
                .collect();
            if unseen.is_empty() {
                continue;
            }
            let v = nodes as u32;
            nodes += 1;
            extra.insert(key, v);
            extra_edges.extend(unseen.into_iter().map(|u| (v, u)));
        }
        for r in &index.reads {
            if let Some(&v) = extra.get(&r.key)
                && r.valid
            {
                extra_edges.push((r.txn, v));
            }
        }
    }
    // The extra edges by source: `extra_targets[extra_start[a]..extra_start[a + 1]]`.
    let mut extra_start = vec![0u32; nodes + 1];
    for &(a, _) in &extra_edges {
        extra_start[a as usize + 1] += 1;
    }
    for i in 0..nodes {
        extra_start[i + 1] += extra_start[i];
    }
    let mut fill = extra_start.clone();
    let mut extra_targets = vec![0u32; extra_edges.len()];
    for &(a, b) in &extra_edges {
        extra_targets[fill[a as usize] as usize] = b;
        fill[a as usize] += 1;
    }
    drop((fill, extra_edges));
    let successors = |a: usize, sink: &mut dyn FnMut(usize)| {
        if a < n {
            let (targets, kinds) = graph.out(a);
            for (&b, &k) in targets.iter().zip(kinds) {
                if k & usable != 0 {
                    sink(b as usize);
                }
            }
        }
        for &b in &extra_targets[extra_start[a] as usize..extra_start[a + 1] as usize] {
            sink(b as usize);
        }
    };
    let alive = super::scc::unpeeled(nodes, successors);
    let mut edges: Vec<(u32, u32)> = Vec::new();
    for a in (0..nodes).filter(|&a| alive[a]) {
        successors(a, &mut |b| {
            if alive[b] {
                edges.push((a as u32, b as u32));
            }
        });
    }
    if edges.is_empty() {
        return Vec::new();
    }
    let mut out = super::scc::cyclic_sccs(nodes, &edges);
    for c in &mut out {
        c.retain(|&t| (t as usize) < n);
    }
    out.retain(|c| c.len() > 1);
    out
}

/// A violation: the happened-before path from the writer to the reader (nodes and labels),
/// the read and the write it missed.
struct Miss {
    path: Vec<usize>,
    labels: Vec<u8>,
    read: Read,
    write: Write,
}

/// One strongly connected component, with what the search needs of its transactions.
struct Component<'a> {
    graph: &'a DepGraph,
    inference: &'a Inference,
    members: FxHashSet<u32>,
    /// External reads, by transaction.
    reads: FxHashMap<u32, Vec<Read>>,
    /// Writes a reader could miss, by transaction.
    writes: FxHashMap<u32, Vec<Write>>,
    /// list-append: each key's readers in the component as (view length, reader), sorted.
    readers: FxHashMap<u32, Vec<(u32, u32)>>,
}

impl<'a> Component<'a> {
    fn new(ctx: Ctx, inference: &'a Inference, graph: &'a DepGraph, nodes: &[u32]) -> Self {
        let members: FxHashSet<u32> = nodes.iter().copied().collect();
        let reads = reads_of(inference, &members);
        let writes: FxHashMap<u32, Vec<Write>> = nodes
            .iter()
            .map(|&t| (t, writes_of(ctx, inference, t as usize)))
            .filter(|(_, w)| !w.is_empty())
            .collect();
        let mut readers: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
        if let Inference::List(_) = inference {
            for (&t, rs) in &reads {
                for r in rs {
                    readers.entry(r.key).or_default().push((r.seen, t));
                }
            }
            for list in readers.values_mut() {
                list.sort_unstable();
            }
        }
        Component {
            graph,
            inference,
            members,
            reads,
            writes,
            readers,
        }
    }

    /// The happened-before successors of `node` in the component, with the label explaining
    /// each: process order; rw-register, the transactions that read its writes; list-append,
    /// the transactions whose reads include any of its appends (a list read shows every
    /// element before its last, so it observed each of their writers, not only the last one).
    fn successors(&self, node: u32, out: &mut Vec<(u32, u8)>, work: &mut usize) {
        out.clear();
        let (targets, kinds) = self.graph.out(node as usize);
        let list = matches!(self.inference, Inference::List(_));
        for (&next, &k) in targets.iter().zip(kinds) {
            *work += 1;
            if !self.members.contains(&next) {
                continue;
            }
            if k & kind::WR != 0 && !list {
                out.push((next, kind::WR));
            } else if k & kind::PROCESS != 0 {
                out.push((next, kind::PROCESS));
            }
        }
        if list {
            for w in self.writes.get(&node).map(Vec::as_slice).unwrap_or(&[]) {
                if w.at == NONE {
                    continue;
                }
                let Some(rs) = self.readers.get(&w.key) else {
                    continue;
                };
                let from = rs.partition_point(|&(seen, _)| seen <= w.at);
                for &(_, reader) in &rs[from..] {
                    *work += 1;
                    if reader != node {
                        out.push((reader, kind::WR));
                    }
                }
            }
        }
    }

    /// Breadth-first walk from `w` along happened-before edges inside the component; the first
    /// reached transaction with a read that misses one of `writes`.
    fn nearest_miss(&self, w: u32, writes: &[Write], work: &mut usize, budget: usize) -> Option<Miss> {
        let mut parent: FxHashMap<u32, (u32, u8)> = FxHashMap::default();
        parent.insert(w, (w, 0));
        let mut queue = VecDeque::from([w]);
        let mut next = Vec::new();
        while let Some(node) = queue.pop_front() {
            *work += 1;
            if *work >= budget {
                return None;
            }
            if node != w
                && let Some(rs) = self.reads.get(&node)
            {
                for r in rs {
                    let missed = writes
                        .iter()
                        .find(|x| x.key == r.key && misses(self.inference, r, x));
                    if let Some(write) = missed {
                        let (mut path, mut labels) = (vec![node as usize], Vec::new());
                        let mut at = node;
                        while at != w {
                            let (prev, label) = parent[&at];
                            path.push(prev as usize);
                            labels.push(label);
                            at = prev;
                        }
                        path.reverse();
                        labels.reverse();
                        return Some(Miss {
                            path,
                            labels,
                            read: *r,
                            write: *write,
                        });
                    }
                }
            }
            self.successors(node, &mut next, work);
            for &(succ, label) in &next {
                if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(succ) {
                    e.insert((node, label));
                    queue.push_back(succ);
                }
            }
        }
        None
    }
}

/// True if the read does not include the write (same key).
fn misses(inference: &Inference, read: &Read, write: &Write) -> bool {
    match inference {
        // Positions `seen..` are missing from a view of `seen` elements; `NONE` is past them all.
        Inference::List(_) => write.at >= read.seen,
        Inference::Register(index) => index.precedes(read.key, read.seen, write.value),
    }
}

/// The external reads of the component's transactions, by transaction (only keys with a
/// known version order).
fn reads_of(inference: &Inference, members: &FxHashSet<u32>) -> FxHashMap<u32, Vec<Read>> {
    let mut out: FxHashMap<u32, Vec<Read>> = FxHashMap::default();
    match inference {
        Inference::List(index) => {
            for r in &index.reads {
                if r.valid && members.contains(&r.txn) && index.order(r.key).is_some() {
                    out.entry(r.txn).or_default().push(Read {
                        key: r.key,
                        seen: r.view_len,
                    });
                }
            }
        }
        Inference::Register(index) => {
            for a in &index.accesses {
                if let Some(x) = a.ext_read
                    && members.contains(&a.txn)
                    && !index.cyclic_keys.contains(&a.key)
                {
                    out.entry(a.txn).or_default().push(Read { key: a.key, seen: x });
                }
            }
        }
    }
    out
}

/// The writes of transaction `t` a reader could miss. List-append: each append to a key with a
/// known order, at its observed position, or unobserved (only when `t` is known to have
/// committed: ok, or a read saw another of its appends; an info transaction's unobserved
/// append may otherwise never have happened). rw-register: its last write to
/// each key whose version order is acyclic.
fn writes_of(ctx: Ctx, inference: &Inference, t: usize) -> Vec<Write> {
    let set = ctx.set;
    let txn = &set.txns[t];
    if !txn.possibly_committed() {
        return Vec::new();
    }
    let mops = set.mops(t);
    match inference {
        Inference::List(index) => list_writes(index, mops, known_committed(index, set, t as u32)),
        Inference::Register(index) => register_writes(index, mops),
    }
}

fn list_writes(index: &ListIndex, mops: &[MicroOp], committed: bool) -> Vec<Write> {
    mops.iter()
        .filter_map(|m| match *m {
            MicroOp::Append { key, value } if index.order(key).is_some() => {
                match index.pos.get(&kv(key, value)) {
                    Some(&p) => Some(Write { key, value, at: p }),
                    None if committed => Some(Write { key, value, at: NONE }),
                    None => None,
                }
            }
            _ => None,
        })
        .collect()
}

fn register_writes(index: &RegisterIndex, mops: &[MicroOp]) -> Vec<Write> {
    let mut out: Vec<Write> = Vec::new();
    for m in mops {
        if let MicroOp::Write { key, value } = *m
            && !index.cyclic_keys.contains(&key)
        {
            // Only the last write to a key is a version.
            out.retain(|w| w.key != key);
            out.push(Write { key, value, at: 0 });
        }
    }
    out
}

/// A violation in numbered steps: the write, each happened-before edge, the read that missed it.
fn explain(ctx: Ctx, inference: &Inference, miss: &Miss) -> Anomaly {
    let n = miss.path.len();
    let mut a = ctx.anomaly(&miss.path, Some(miss.read.key));
    let key = ctx.s(miss.read.key);
    let last = format!("T{n}");
    let wrote = match inference {
        Inference::List(_) => format!("T1 appended {} to key {key}", ctx.s(miss.write.value)),
        Inference::Register(_) => format!("T1 wrote {} to key {key}", ctx.s(miss.write.value)),
    };
    a.steps.push(format!("{wrote}."));
    let mut path_json = Vec::new();
    for i in 0..n - 1 {
        let names = (format!("T{}", i + 1), format!("T{}", i + 2));
        let (from, to, label) = (miss.path[i], miss.path[i + 1], miss.labels[i]);
        let text = match inference {
            Inference::List(index) if label == kind::WR => {
                list_observed_text(ctx, index, from, to, (&names.0, &names.1))
            }
            _ => explain_edge(ctx, inference, from, to, label, (&names.0, &names.1)),
        };
        a.steps.push(format!("{text}."));
        path_json.push(json!({"from": ctx.index(from), "to": ctx.index(to), "kind": kind::name(label)}));
    }
    let read_text = match inference {
        Inference::List(index) => list_read_text(ctx, index, miss),
        Inference::Register(index) => register_read_text(ctx, index, miss),
    };
    a.steps.push(format!("However, {last} {read_text}."));
    let chain: Vec<String> = (1..=n).map(|i| format!("T{i}")).collect();
    a.steps.push(format!(
        "So T1's write happened before {last} ({}, through what each read and process order), yet {last} did not see it: causal consistency requires every transaction to see every write that happened before it.",
        chain.join(" < ")
    ));
    a.details = json!({
        "happened_before": path_json,
        "key": ctx.json(miss.read.key),
        "missed": ctx.json(miss.write.value),
    });
    a
}

fn list_read_text(ctx: Ctx, index: &ListIndex, miss: &Miss) -> String {
    let reader = *miss.path.last().expect("a path has a reader");
    let key = miss.read.key;
    let view = index
        .reads
        .iter()
        .find(|r| r.txn as usize == reader && r.key == key && r.view_len == miss.read.seen)
        .map(|r| ctx.list(&ctx.set.values(r.span)[..r.view_len as usize]))
        .unwrap_or_else(|| "a shorter list".to_string());
    let value = ctx.s(miss.write.value);
    let place = match index.order(key) {
        Some(order) if miss.write.at != NONE => format!(
            "{value} is element {} of key {}'s observed order {}",
            miss.write.at + 1,
            ctx.s(key),
            ctx.list(&order.longest)
        ),
        _ => format!("no read ever saw {value}, so it comes after every element any read saw"),
    };
    format!(
        "read key {} as {view}, which does not include T1's append of {value} ({place})",
        ctx.s(key)
    )
}

fn register_read_text(ctx: Ctx, _index: &RegisterIndex, miss: &Miss) -> String {
    let seen = if miss.read.seen == INIT {
        ctx.set.initial_label()
    } else {
        ctx.s(miss.read.seen)
    };
    format!(
        "read key {} as {seen}, a version known to precede T1's write of {}",
        ctx.s(miss.read.key),
        ctx.s(miss.write.value)
    )
}

/// Why `from` happened before `to` in list-append: `to` read a list that includes one of
/// `from`'s appends.
fn list_observed_text(ctx: Ctx, index: &ListIndex, from: usize, to: usize, names: (&str, &str)) -> String {
    let (a, b) = names;
    for r in index.reads.iter().filter(|r| r.txn as usize == to && r.valid) {
        let view = &ctx.set.values(r.span)[..r.view_len as usize];
        if let Some(&v) = view
            .iter()
            .find(|&&v| index.writer(r.key, v).is_some_and(|w| w.txn as usize == from))
        {
            return format!(
                "{a} < {b} because {b} read key {} as {}, which includes {a}'s append of {}",
                ctx.s(r.key),
                ctx.list(view),
                ctx.s(v)
            );
        }
    }
    format!("{a} < {b} (wr dependency)")
}
