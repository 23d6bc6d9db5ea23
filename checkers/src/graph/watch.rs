//! List-append inference as transactions complete, for `faultline run --stop-on-violation`.
//!
//! The watch of a run looks at the history every second or so; checking the whole prefix with
//! the dependency-graph checker at every look costs the whole prefix each time. Instead each
//! transaction is fed once, when it completes, into a running inference: each key's observed
//! version order (the longest read so far, grown as longer reads arrive), the writer of every
//! appended value, and the edges they imply (ww along the order, wr from a read's last element,
//! rw from a read to the next committed append after it, and to the appends not yet observed;
//! real-time order through the frontier of transactions completed ok, which implies process
//! order: a process invokes again only after an ok completion). Every
//! edge added is a true dependency of the history, whatever later operations do: orders only
//! grow, and a writer or reader, once fed, keeps its outcome.
//!
//! [`ListAppendWatch::advance`] says whether the transactions fed since the last call *may*
//! have made an anomaly: a cycle appeared (an edge the graph's topological order, kept as
//! edges arrive, cannot take) or grew (after the first cycle: more edges inside strongly
//! connected components than at the last look), or one of the evidence patterns that need no cycle appeared (a read that
//! contradicts its own transaction, repeats an element or disagrees with the key's order; a
//! read of an aborted or not-yet-known append; an intermediate read; two transactions reading
//! one version and appending to it; a value appended twice). Only then does the caller check
//! the whole prefix, which decides. Transactions still pending are not fed (their outcome is
//! not final): what depends on them waits until they complete. `checkers/tests/graph_watch.rs`
//! checks, on simulated stores' histories cut at every event, that the whole-prefix check never
//! finds a violation the watch would not send it to by the time those transactions completed.

use super::dynamic_order::DynamicOrder;
use super::list_append::{NONE, kv};
use super::scc;
use super::txn::{MicroOp, TxnSet, Workload};
use crate::history::{EventKind, History, HistoryError, Outcome, Process, RawValues};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Most appends not yet observed in a key that a read at its tip gets rw edges to (and most
/// readers at the tip a new unobserved append gets edges from); past it, a key adds none.
const MAX_UNOBSERVED_LINKS: usize = 256;

/// What is known of one key so far.
#[derive(Debug, Default)]
struct KeyState {
    /// The longest ok read so far: the observed version order.
    longest: Vec<u32>,
    /// The writer (fed transaction) of each element of `longest`, `NONE` while unknown.
    writer_at: Vec<u32>,
    /// Reads disagree or repeat an element: no more order edges.
    inconsistent: bool,
    /// Possibly committed writers whose append to the key is not (yet) in `longest`.
    unobserved: Vec<u32>,
    /// Readers by the length of their external view of the key.
    readers: BTreeMap<u32, Vec<u32>>,
}

/// The running list-append inference (see the module docs).
#[derive(Debug)]
pub struct ListAppendWatch {
    set: TxnSet,
    /// Events of the history looked at so far.
    scanned: usize,
    /// Client invocations among them (operations are numbered in invocation order).
    invocations: usize,
    /// Client process -> its operation in flight (by id in `History::ops`).
    in_flight: FxHashMap<u64, usize>,
    /// Operation in flight -> the transactions completed ok before its invocation that no
    /// later such completion implies (its real-time predecessors).
    realtime_preds: FxHashMap<usize, Vec<u32>>,
    /// Transactions completed ok and not implied by a later one, with their completion's
    /// position.
    frontier: Vec<(usize, u32)>,
    /// Appended value (key, value) -> its writer and the micro-op's position in it.
    writers: FxHashMap<u64, (u32, u32)>,
    /// Observed value -> its position in its key's order.
    pos: FxHashMap<u64, u32>,
    keys: FxHashMap<u32, KeyState>,
    /// Values read before any fed transaction appended them.
    awaiting: FxHashSet<u64>,
    /// Readers whose view of a key ends in a value whose writer is not fed yet.
    readers_ending: FxHashMap<u64, Vec<u32>>,
    /// (key, view length) -> transactions that read that version first and appended after.
    read_then_appended: FxHashMap<(u32, u32), u32>,
    /// Every edge, once the graph has a cycle (before, the order holds them).
    edges: Vec<(u32, u32)>,
    /// Edges inferred so far.
    edge_count: usize,
    /// A topological order of the graph, kept as edges arrive, while it has no cycle: a look
    /// then costs what it fed. Once an edge closes a cycle, `None`, and each look that added
    /// edges finds the strongly connected components of the whole graph instead.
    order: Option<DynamicOrder>,
    /// Edges inside strongly connected components at the last look.
    cyclic_edges: usize,
    /// Evidence needing no cycle seen since the last look.
    suspect: bool,
}

impl Default for ListAppendWatch {
    fn default() -> Self {
        Self::new()
    }
}

impl ListAppendWatch {
    /// Nothing fed yet.
    pub fn new() -> Self {
        let set = TxnSet::parse_lean(
            &History::default(),
            RawValues::default(),
            Workload::ListAppend,
            None,
        )
        .expect("an empty history parses");
        ListAppendWatch {
            set,
            scanned: 0,
            invocations: 0,
            in_flight: FxHashMap::default(),
            realtime_preds: FxHashMap::default(),
            frontier: Vec::new(),
            writers: FxHashMap::default(),
            pos: FxHashMap::default(),
            keys: FxHashMap::default(),
            awaiting: FxHashSet::default(),
            readers_ending: FxHashMap::default(),
            read_then_appended: FxHashMap::default(),
            edges: Vec::new(),
            edge_count: 0,
            order: Some(DynamicOrder::default()),
            cyclic_edges: 0,
            suspect: false,
        }
    }

    /// Transactions fed so far.
    pub fn txns_fed(&self) -> usize {
        self.set.txns.len()
    }

    /// Dependency edges inferred so far.
    pub fn edges(&self) -> usize {
        self.edge_count
    }

    /// Feeds every transaction `history` (the same history, grown since the last call)
    /// completed since the last call. True when what was fed may have made an anomaly: the
    /// caller then checks the whole history so far. An error (an operation that is not a
    /// list-append transaction, a history without invocations) means this inference cannot
    /// follow the history; the caller checks the whole prefix at every look instead.
    pub fn advance(&mut self, history: &History) -> Result<bool, HistoryError> {
        if history.completion_only {
            return Err(HistoryError::whole(&history.source, "a completion-only history"));
        }
        let edges_before = self.edge_count;
        while self.scanned < history.events.len() {
            let pos = self.scanned;
            self.scanned += 1;
            let event = &history.events[pos];
            let Process::Client(process) = event.process else {
                continue;
            };
            if event.kind == EventKind::Invoke {
                let op = self.invocations;
                debug_assert_eq!(history.ops[op].invoke, pos);
                self.invocations += 1;
                self.in_flight.insert(process, op);
                let preds = self.frontier.iter().map(|&(_, t)| t).collect();
                self.realtime_preds.insert(op, preds);
                continue;
            }
            let Some(op) = self.in_flight.remove(&process) else {
                continue;
            };
            self.feed(history, op)?;
        }
        let mut flag = std::mem::take(&mut self.suspect);
        // While the graph is acyclic there is no component to count (none before: the first
        // cycle makes the count grow from zero).
        if self.order.is_none() && self.edge_count > edges_before {
            let cyclic = self.cyclic_edge_count();
            flag |= cyclic > self.cyclic_edges;
            self.cyclic_edges = cyclic;
        }
        Ok(flag)
    }

    /// Edges whose two ends lie in one strongly connected component.
    fn cyclic_edge_count(&self) -> usize {
        let components = scc::cyclic_sccs(self.set.txns.len(), &self.edges);
        if components.is_empty() {
            return 0;
        }
        let mut component = vec![u32::MAX; self.set.txns.len()];
        for (c, nodes) in components.iter().enumerate() {
            for &n in nodes {
                component[n as usize] = c as u32;
            }
        }
        let inside = |(a, b): &(u32, u32)| {
            component[*a as usize] != u32::MAX && component[*a as usize] == component[*b as usize]
        };
        self.edges.iter().filter(|e| inside(e)).count()
    }

    fn edge(&mut self, from: u32, to: u32) {
        if from == to {
            return;
        }
        self.edge_count += 1;
        match &mut self.order {
            Some(order) => {
                if !order.add_edge(from, to) {
                    self.edges = order.edges();
                    self.edges.push((from, to));
                    self.order = None;
                }
            }
            None => self.edges.push((from, to)),
        }
    }

    fn committed(&self, t: u32) -> bool {
        self.set.txns[t as usize].possibly_committed()
    }

    /// Feeds the completed operation `op` of `history`.
    fn feed(&mut self, history: &History, op: usize) -> Result<(), HistoryError> {
        let operation = &history.ops[op];
        self.set.parse_op(history, &RawValues::default(), operation)?;
        let t = (self.set.txns.len() - 1) as u32;
        let txn = self.set.txns[t as usize];
        if let Some(order) = &mut self.order {
            order.add_node();
        }
        let preds = self.realtime_preds.remove(&op).unwrap_or_default();
        if txn.possibly_committed() {
            for p in preds {
                self.edge(p, t);
            }
        }
        if operation.outcome == Outcome::Ok {
            let invoked = operation.invoke;
            self.frontier.retain(|&(joined, _)| joined > invoked);
            self.frontier.push((operation.complete.unwrap_or(invoked), t));
        }
        let mops: Vec<MicroOp> = self.set.mops(t as usize).to_vec();
        for (i, mop) in mops.iter().enumerate() {
            if let MicroOp::Append { key, value } = *mop {
                self.append(t, i as u32, key, value);
            }
        }
        if txn.outcome == Outcome::Ok {
            for (i, mop) in mops.iter().enumerate() {
                if let MicroOp::ReadList {
                    key,
                    values: Some(span),
                } = *mop
                {
                    let values = self.set.values(span).to_vec();
                    self.read(t, &mops, i, key, &values);
                }
            }
        }
        Ok(())
    }

    /// Transaction `t`'s append of `value` to `key` (its micro-op `mop`).
    fn append(&mut self, t: u32, mop: u32, key: u32, value: u32) {
        let id = kv(key, value);
        if self.writers.insert(id, (t, mop)).is_some() {
            self.suspect = true; // appended twice: the check reports the history as bad input
            return;
        }
        let committed = self.committed(t);
        if self.awaiting.remove(&id) && !committed {
            self.suspect = true; // an aborted append was read
        }
        for reader in self.readers_ending.remove(&id).unwrap_or_default() {
            self.wr_edge(t, mop, key, reader);
        }
        if !committed {
            return;
        }
        let Some(&p) = self.pos.get(&id) else {
            // Not observed yet: after every observed element.
            let state = self.keys.entry(key).or_default();
            if state.inconsistent {
                return;
            }
            state.unobserved.push(t);
            let last = state.writer_at.iter().rev().copied().find(|&w| w != NONE);
            let tip = state.longest.len() as u32;
            let at_tip: Vec<u32> = state.readers.get(&tip).cloned().unwrap_or_default();
            let linked =
                state.unobserved.len() <= MAX_UNOBSERVED_LINKS && at_tip.len() <= MAX_UNOBSERVED_LINKS;
            if let Some(last) = last {
                self.edge(last, t);
            }
            if linked {
                for r in at_tip {
                    self.edge(r, t);
                }
            }
            return;
        };
        self.place_writer(key, p, t);
    }

    /// Writer `t` (possibly committed) of position `p` of `key`'s order is known: ww edges
    /// to and from the nearest known writers around it, rw edges from the readers whose next
    /// committed append it is.
    fn place_writer(&mut self, key: u32, p: u32, t: u32) {
        let state = self.keys.get_mut(&key).expect("an observed value's key is known");
        if state.inconsistent {
            return;
        }
        state.writer_at[p as usize] = t;
        let before = (0..p as usize).rev().find(|&q| state.writer_at[q] != NONE);
        let after = (p as usize + 1..state.writer_at.len())
            .find(|&q| state.writer_at[q] != NONE)
            .map(|q| state.writer_at[q]);
        let from = before.map_or(0, |q| q as u32 + 1);
        let readers: Vec<u32> = state
            .readers
            .range(from..=p)
            .flat_map(|(_, r)| r.iter().copied())
            .collect();
        let prev = before.map(|q| state.writer_at[q]);
        if let Some(prev) = prev {
            self.edge(prev, t);
        }
        if let Some(next) = after {
            self.edge(t, next);
        }
        for r in readers {
            self.edge(r, t);
        }
    }

    /// Reader `r`'s view of a key ends in the append `mop` of `writer`.
    fn wr_edge(&mut self, writer: u32, mop: u32, key: u32, r: u32) {
        if !self.committed(writer) {
            self.suspect = true; // an aborted read
            return;
        }
        self.edge(writer, r);
        let later = self.set.mops(writer as usize)[mop as usize + 1..]
            .iter()
            .any(|m| matches!(*m, MicroOp::Append { key: k, .. } if k == key));
        if later {
            self.suspect = true; // an intermediate read
        }
    }

    /// Transaction `t`'s ok read (micro-op `i` of `mops`) of `key` as `values`.
    fn read(&mut self, t: u32, mops: &[MicroOp], i: usize, key: u32, values: &[u32]) {
        let own: Vec<u32> = mops[..i]
            .iter()
            .filter_map(|m| match *m {
                MicroOp::Append { key: k, value } if k == key => Some(value),
                _ => None,
            })
            .collect();
        let view_len = values.len().saturating_sub(own.len());
        let view = &values[..view_len];
        let foreign_own = view
            .iter()
            .any(|&v| self.writers.get(&kv(key, v)).is_some_and(|w| w.0 == t));
        if !values.ends_with(&own) || foreign_own {
            self.suspect = true; // internal
            return;
        }
        let first_on_key = mops.iter().position(|m| m.key() == key) == Some(i);
        let appends_later = mops[i..]
            .iter()
            .any(|m| matches!(*m, MicroOp::Append { key: k, .. } if k == key));
        if first_on_key && appends_later {
            let n = self.read_then_appended.entry((key, view_len as u32)).or_insert(0);
            *n += 1;
            if *n > 1 {
                // A lost update: a cycle too, unless a key's unobserved appends pass the cap.
                self.suspect = true;
            }
        }
        let mut seen = FxHashSet::default();
        if !values.iter().all(|v| seen.insert(*v)) {
            self.suspect = true; // duplicate elements
            self.keys.entry(key).or_default().inconsistent = true;
        }
        self.grow_order(key, values);
        for &v in view {
            let id = kv(key, v);
            match self.writers.get(&id) {
                Some(&(w, _)) if !self.committed(w) => self.suspect = true,
                Some(_) => {}
                None => {
                    self.awaiting.insert(id);
                }
            }
        }
        if let Some(&last) = view.last() {
            let id = kv(key, last);
            match self.writers.get(&id).copied() {
                Some((w, mop)) => self.wr_edge(w, mop, key, t),
                None => self.readers_ending.entry(id).or_default().push(t),
            }
        }
        let state = self.keys.entry(key).or_default();
        if state.inconsistent {
            return;
        }
        state.readers.entry(view_len as u32).or_default().push(t);
        let next = (view_len..state.writer_at.len())
            .map(|q| state.writer_at[q])
            .find(|&w| w != NONE);
        let mut targets: Vec<u32> = next.into_iter().collect();
        if view_len == state.longest.len() && state.unobserved.len() <= MAX_UNOBSERVED_LINKS {
            targets.extend(state.unobserved.iter().copied());
        }
        for u in targets {
            self.edge(t, u);
        }
    }

    /// A read of `key` as `values`: checked against the order so far, which grows when the
    /// read is longer.
    fn grow_order(&mut self, key: u32, values: &[u32]) {
        let state = self.keys.entry(key).or_default();
        if state.inconsistent {
            return;
        }
        let n = state.longest.len();
        let compatible = if values.len() <= n {
            state.longest.starts_with(values)
        } else {
            values.starts_with(&state.longest)
        };
        if !compatible {
            state.inconsistent = true;
            self.suspect = true; // incompatible orders
            return;
        }
        if values.len() <= n {
            return;
        }
        state.longest.extend_from_slice(&values[n..]);
        state.writer_at.resize(values.len(), NONE);
        let mut placed = Vec::new();
        for (p, &v) in values.iter().enumerate().skip(n) {
            let id = kv(key, v);
            self.pos.insert(id, p as u32);
            match self.writers.get(&id) {
                Some(&(w, _)) if self.set.txns[w as usize].possibly_committed() => placed.push((p as u32, w)),
                Some(_) => self.suspect = true, // an aborted append in the order
                None => {
                    self.awaiting.insert(id);
                }
            }
        }
        let state = self.keys.get_mut(&key).expect("entered above");
        let newly: FxHashSet<u32> = placed.iter().map(|&(_, w)| w).collect();
        state.unobserved.retain(|u| !newly.contains(u));
        for (p, w) in placed {
            self.place_writer(key, p, w);
        }
    }
}
