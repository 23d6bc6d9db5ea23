//! Dependency-graph inference as transactions complete, for `faultline run --stop-on-violation`.
//!
//! The watch of a run looks at the history every second or so; checking the whole prefix with
//! the dependency-graph checker at every look costs the whole prefix each time. Instead each
//! transaction is fed once, when it completes, into a running inference (`list_append.rs`:
//! each key's order, grown as longer reads arrive; `rw_register.rs`: the version order that
//! reads followed by writes give), which adds the dependency edges each new fact implies
//! (ww, wr, rw, and real-time order through the frontier of transactions completed ok, which
//! implies process order: a process invokes again only after an ok completion). Every
//! edge added is a true dependency of the history, whatever later operations do: orders only
//! grow, and a writer or reader, once fed, keeps its outcome.
//!
//! [`TxnWatch::advance`] says whether the transactions fed since the last call *may* have
//! made an anomaly: a cycle appeared (an edge the graph's topological order, kept as edges
//! arrive, cannot take) or grew (after the first cycle: more edges inside strongly connected
//! components than at the last look), or evidence that needs no cycle appeared (each inference
//! lists its own). Only then does the caller check the whole prefix, which decides.
//! Transactions still pending are not fed (their outcome is not final): what depends on them
//! waits until they complete. `checkers/tests/graph_watch.rs` checks, on simulated stores'
//! histories of both workloads cut at every event, that the whole-prefix check never finds a
//! violation the watch would not send it to by the time those transactions completed.

mod list_append;
mod rw_register;

use super::dynamic_order::DynamicOrder;
use super::rw_register::RegisterOrderAssumptions;
use super::scc;
use super::txn::{TxnSet, Workload};
use crate::history::{EventKind, History, HistoryError, Outcome, Process, RawValues};
use list_append::ListInference;
use rustc_hash::FxHashMap;
use rw_register::RegisterInference;

/// The running inference of a transactional history (see the module docs).
#[derive(Debug)]
pub struct TxnWatch {
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
    graph: Growing,
    inference: Inference,
}

/// The workload's own inference.
#[derive(Debug)]
enum Inference {
    List(ListInference),
    Register(RegisterInference),
}

/// The dependency graph as it grows, and what a look should hear of it.
#[derive(Debug)]
pub(super) struct Growing {
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
    pub(super) suspect: bool,
}

impl Growing {
    fn add_node(&mut self) {
        if let Some(order) = &mut self.order {
            order.add_node();
        }
    }

    /// Adds the dependency `from -> to` (nothing for a transaction's edge to itself).
    pub(super) fn edge(&mut self, from: u32, to: u32) {
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

    /// True when a cycle appeared or grew since the last look (`edges_before` edges then), or
    /// evidence needing no cycle was seen; the graph has `nodes` nodes.
    fn look(&mut self, nodes: usize, edges_before: usize) -> bool {
        let mut flag = std::mem::take(&mut self.suspect);
        // While the graph is acyclic there is no component to count (none before: the first
        // cycle makes the count grow from zero).
        if self.order.is_none() && self.edge_count > edges_before {
            let cyclic = self.cyclic_edge_count(nodes);
            flag |= cyclic > self.cyclic_edges;
            self.cyclic_edges = cyclic;
        }
        flag
    }

    /// Edges whose two ends lie in one strongly connected component.
    fn cyclic_edge_count(&self, nodes: usize) -> usize {
        let components = scc::cyclic_sccs(nodes, &self.edges);
        if components.is_empty() {
            return 0;
        }
        let mut component = vec![u32::MAX; nodes];
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
}

/// True for ok and info transactions: they may have taken effect.
pub(super) fn committed(set: &TxnSet, t: u32) -> bool {
    set.txns[t as usize].possibly_committed()
}

impl TxnWatch {
    /// Nothing fed yet, for a history of `workload`; `None` when the check needs what this
    /// inference does not follow (rw-register's version-order assumptions, an initial value).
    pub fn new(
        workload: Workload,
        assumptions: RegisterOrderAssumptions,
        initial: Option<&serde_json::Value>,
    ) -> Option<Self> {
        if assumptions != RegisterOrderAssumptions::default() || initial.is_some_and(|v| !v.is_null()) {
            return None;
        }
        let set = TxnSet::empty(workload, None);
        let inference = match workload {
            Workload::ListAppend => Inference::List(ListInference::default()),
            Workload::RwRegister => Inference::Register(RegisterInference::default()),
        };
        Some(TxnWatch {
            set,
            scanned: 0,
            invocations: 0,
            in_flight: FxHashMap::default(),
            realtime_preds: FxHashMap::default(),
            frontier: Vec::new(),
            graph: Growing {
                edges: Vec::new(),
                edge_count: 0,
                order: Some(DynamicOrder::default()),
                cyclic_edges: 0,
                suspect: false,
            },
            inference,
        })
    }

    /// Transactions fed so far.
    pub fn txns_fed(&self) -> usize {
        self.set.txns.len()
    }

    /// Dependency edges inferred so far.
    pub fn edges(&self) -> usize {
        self.graph.edge_count
    }

    /// Feeds every transaction `history` (the same history, grown since the last call)
    /// completed since the last call. True when what was fed may have made an anomaly: the
    /// caller then checks the whole history so far. An error (an operation that is not a
    /// transaction of the workload, a history without invocations) means this inference cannot
    /// follow the history; the caller checks the whole prefix at every look instead.
    pub fn advance(&mut self, history: &History) -> Result<bool, HistoryError> {
        if history.completion_only {
            return Err(HistoryError::whole(&history.source, "a completion-only history"));
        }
        let edges_before = self.graph.edge_count;
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
        Ok(self.graph.look(self.set.txns.len(), edges_before))
    }

    /// Feeds the completed operation `op` of `history`.
    fn feed(&mut self, history: &History, op: usize) -> Result<(), HistoryError> {
        let operation = &history.ops[op];
        self.set.parse_op(history, &RawValues::default(), operation)?;
        let t = (self.set.txns.len() - 1) as u32;
        self.graph.add_node();
        let preds = self.realtime_preds.remove(&op).unwrap_or_default();
        if committed(&self.set, t) {
            for p in preds {
                self.graph.edge(p, t);
            }
        }
        if operation.outcome == Outcome::Ok {
            let invoked = operation.invoke;
            self.frontier.retain(|&(joined, _)| joined > invoked);
            self.frontier.push((operation.complete.unwrap_or(invoked), t));
        }
        match &mut self.inference {
            Inference::List(list) => list.feed(&self.set, &mut self.graph, t),
            Inference::Register(register) => register.feed(&self.set, &mut self.graph, t),
        }
        Ok(())
    }
}
