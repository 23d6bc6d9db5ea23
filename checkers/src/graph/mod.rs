//! The dependency-graph checker for transactional histories, after Jepsen's Elle: infer a
//! graph of dependencies between transactions (ww, wr, rw; plus process and real-time order)
//! from list-append or rw-register histories, black-box, and find the cycles and other evidence
//! that prove an anomaly. Each requested consistency model gets a verdict and the anomalies
//! behind it; session guarantees are checked by [`crate::session`].
//!
//! Entry points: [`check`] (a [`Report`]) and [`analyze`] (the typed [`TxnAnalysis`]).
//! Definitions of every anomaly and model: `docs/consistency.md`.

mod anomaly;
mod causal;
mod cycle_report;
mod cycles;
mod depgraph;
mod dynamic_order;
mod explain;
pub(crate) mod list_append;
mod list_append_explain;
mod models;
mod orders;
mod parallel;
pub(crate) mod rw_register;
mod scc;
mod txn;
mod txn_scan;
mod txn_text;
mod watch;

pub use anomaly::{AnomalyKind, CycleOrder, CycleShape, EXPLAINED_PER_KIND, Findings};
pub use models::{ConsistencyModel, ModelVerdict, verdict_for};
pub use rw_register::RegisterOrderAssumptions;
pub use txn::{Scalar, Workload};
pub use watch::TxnWatch;

pub(crate) use cycle_report::explain_edge;
pub(crate) use cycles::{CycleClass, Search, all_classes, shortest_cycle};
pub(crate) use depgraph::{DepGraph, EdgeList, kind};
pub(crate) use explain::Ctx;
pub(crate) use scc::unpeeled;
pub(crate) use txn::{MicroOp, TxnSet};

use crate::history::{History, HistoryError, Outcome, RawValues};
use crate::report::{Report, Verdict};
use serde_json::{Map, Value, json};
use std::time::Instant;

/// What to check and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnCheckOptions {
    /// The workload the history comes from.
    pub workload: Workload,
    /// The models to judge the history against; empty means [`TxnCheckOptions::default_models`].
    pub models: Vec<ConsistencyModel>,
    /// Infer process order (needed for the `-process` cycle names).
    pub process_order: bool,
    /// Infer real-time order (needed for strict serializability).
    pub realtime_order: bool,
    /// Extra version-order assumptions for rw-register.
    pub register_order: RegisterOrderAssumptions,
    /// Search work allowed per strongly connected component and cycle class.
    pub cycle_budget: usize,
    /// rw-register: the value every key holds before any write (`None`: nil, never written).
    /// A read of it needs no writer; a write of it is refused (it would be ambiguous). Not
    /// used by list-append (every list starts empty).
    pub initial: Option<Value>,
}

impl TxnCheckOptions {
    /// Defaults for a workload: strict serializability and every session guarantee, with
    /// process and real-time order inferred.
    pub fn new(workload: Workload) -> Self {
        TxnCheckOptions {
            workload,
            models: Vec::new(),
            process_order: true,
            realtime_order: true,
            register_order: RegisterOrderAssumptions::default(),
            cycle_budget: cycles::DEFAULT_BUDGET,
            initial: None,
        }
    }

    /// The models checked when none are named.
    pub fn default_models() -> Vec<ConsistencyModel> {
        let mut m = vec![ConsistencyModel::StrictSerializable];
        m.extend(ConsistencyModel::SESSION);
        m
    }

    /// The models to check, defaults applied, sorted and without repeats.
    pub fn effective_models(&self) -> Vec<ConsistencyModel> {
        let mut m = if self.models.is_empty() {
            Self::default_models()
        } else {
            self.models.clone()
        };
        m.sort();
        m.dedup();
        m
    }
}

/// What the inference of one workload produced (for explanations and session checks).
#[derive(Debug)]
pub(crate) enum Inference {
    List(list_append::ListIndex),
    Register(rw_register::RegisterIndex),
}

/// The typed result of a check.
#[derive(Debug)]
pub struct TxnAnalysis {
    /// The workload checked.
    pub workload: Workload,
    /// Every anomaly found (whether or not a requested model forbids it).
    pub findings: Findings,
    /// Anomaly kinds whose search was cut short by the budget (they may exist).
    pub inconclusive: Vec<AnomalyKind>,
    /// Anomaly kinds not looked for: they need real-time or process order, which a
    /// completion-only history does not give.
    pub not_checked: Vec<AnomalyKind>,
    /// The history was completion-only (no invocations).
    pub completion_only: bool,
    /// The verdict of each requested model.
    pub models: Vec<ModelVerdict>,
    /// Counts: transactions, edges, elapsed time.
    pub stats: Map<String, Value>,
}

impl TxnAnalysis {
    /// The overall verdict: the worst over the requested models.
    pub fn verdict(&self) -> Verdict {
        self.models.iter().fold(Verdict::Valid, |v, m| v.worst(m.verdict))
    }

    /// The kinds of anomaly found, sorted.
    pub fn anomaly_kinds(&self) -> Vec<AnomalyKind> {
        self.findings.kinds()
    }

    /// The verdict of one model, if it was requested.
    pub fn model(&self, model: ConsistencyModel) -> Option<&ModelVerdict> {
        self.models.iter().find(|m| m.model == model)
    }

    /// The analysis as a [`Report`]: anomalies forbidden by a requested model, explained;
    /// per-model verdicts in `details.models`.
    pub fn into_report(self) -> Report {
        let verdict = self.verdict();
        let model_names: Vec<&str> = self.models.iter().map(|m| m.model.name()).collect();
        let summary = summarize(&self.models, self.stats.get("transactions"));
        let mut report = Report::new(self.workload.name(), model_names.join(", "), verdict, summary);
        let relevant = |k: AnomalyKind| self.models.iter().any(|m| m.model.forbids(k));
        let mut explained: Vec<_> = self
            .findings
            .explained
            .iter()
            .filter(|(k, _)| relevant(*k))
            .collect();
        // By kind, then smallest evidence first.
        explained.sort_by_key(|(k, a)| (*k, a.events.len(), a.steps.len()));
        report.anomalies = explained.into_iter().map(|(_, a)| a.clone()).collect();
        let mut counts = Map::new();
        let mut other = Map::new();
        for k in self.findings.kinds() {
            let n = json!(self.findings.counts[&k]);
            if relevant(k) {
                counts.insert(k.name().into(), n)
            } else {
                other.insert(k.name().into(), n)
            };
        }
        report.stats = self.stats;
        report.details = json!({
            "models": self.models,
            "anomaly_counts": counts,
            "other_anomalies": other,
            "inconclusive": self.inconclusive.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "not_checked": self.not_checked.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "completion_only": self.completion_only,
        });
        report
    }
}

fn summarize(models: &[ModelVerdict], txns: Option<&Value>) -> String {
    let txns = txns.and_then(Value::as_u64).unwrap_or(0);
    let broken: Vec<String> = models
        .iter()
        .filter(|m| m.verdict == Verdict::Invalid)
        .map(|m| format!("{} ({})", m.model, m.anomalies.join(", ")))
        .collect();
    let unknown: Vec<&str> = models
        .iter()
        .filter(|m| m.verdict == Verdict::Unknown)
        .map(|m| m.model.name())
        .collect();
    let valid: Vec<&str> = models
        .iter()
        .filter(|m| m.verdict == Verdict::Valid)
        .map(|m| m.model.name())
        .collect();
    let mut parts = Vec::new();
    if !broken.is_empty() {
        parts.push(format!("violates {}", broken.join("; ")));
    }
    if !unknown.is_empty() {
        let why = if models.iter().any(|m| !m.not_checked.is_empty()) {
            "not checkable without invocations, or search budget spent"
        } else {
            "search budget spent"
        };
        parts.push(format!("unknown for {} ({why})", unknown.join(", ")));
    }
    if !valid.is_empty() {
        parts.push(format!("satisfies {}", valid.join(", ")));
    }
    format!("{txns} transactions: {}", parts.join("; "))
}

/// Checks a history of transactions and returns a report.
/// Each anomaly says which nodes served its transactions and which faults were in force.
pub fn check(history: &History, options: &TxnCheckOptions) -> Result<Report, HistoryError> {
    let mut report = analyze(history, options)?.into_report();
    crate::situation::annotate_report(history, &mut report);
    Ok(report)
}

/// Checks a history of transactions and returns the typed analysis.
pub fn analyze(history: &History, options: &TxnCheckOptions) -> Result<TxnAnalysis, HistoryError> {
    analyze_lean(history, RawValues::default(), options)
}

/// [`analyze`] for a history from [`History::load_lean`]: the transactions' values are read
/// from `raw` (the same verdicts, anomalies and errors as the history loaded in full).
pub fn analyze_lean(
    history: &History,
    raw: RawValues,
    options: &TxnCheckOptions,
) -> Result<TxnAnalysis, HistoryError> {
    let started = Instant::now();
    // A completion-only history has no real-time or process order: what needs them is not
    // checked (and said), and the assumptions built on them are refused.
    let unordered = history.completion_only;
    if unordered && (options.register_order.sequential_keys || options.register_order.linearizable_keys) {
        return Err(HistoryError::whole(
            &history.source,
            "--sequential-keys and --linearizable-keys order versions by process and real time, which a completion-only history (no invocations) does not give",
        ));
    }
    if options.workload == Workload::ListAppend && options.initial.as_ref().is_some_and(|v| !v.is_null()) {
        return Err(HistoryError::whole(
            &history.source,
            "list-append has no initial value: every list starts empty, and a read shows every append in it",
        ));
    }
    let mut not_checked: Vec<AnomalyKind> = Vec::new();
    let models = options.effective_models();
    let mut phases = Map::new();
    let mut lap = Instant::now();
    let mut phase = |name: &str| {
        phases.insert(name.to_string(), json!(lap.elapsed().as_millis() as u64));
        lap = Instant::now();
    };
    let set = TxnSet::parse_lean(history, raw, options.workload, options.initial.as_ref())?;
    phase("parse_ms");
    let ctx = Ctx { history, set: &set };
    let mut findings = Findings::default();
    let mut edges = EdgeList::default();
    let timings = orders::timings(history, &set);
    let forbidden_by_any = |k: AnomalyKind| models.iter().any(|m| m.forbids(k));
    let mut inconclusive = Vec::new();
    let classes: Vec<CycleClass> = all_classes()
        .into_iter()
        .filter(|c| forbidden_by_any(AnomalyKind::Cycle(c.shape, c.order)))
        .filter(|c| match c.order {
            CycleOrder::Data => true,
            CycleOrder::Process | CycleOrder::Realtime if unordered => {
                not_checked.push(AnomalyKind::Cycle(c.shape, c.order));
                false
            }
            CycleOrder::Process => options.process_order,
            CycleOrder::Realtime => {
                if !options.realtime_order {
                    inconclusive.push(AnomalyKind::Cycle(c.shape, c.order));
                }
                options.realtime_order
            }
        })
        .collect();
    // Process and real-time edges need no inference: on a second core beside it, for large
    // histories (edges are sorted when the graph is frozen, so their order does not matter).
    let process_order = classes.iter().any(|c| c.order != CycleOrder::Data);
    let realtime_order = classes.iter().any(|c| c.order == CycleOrder::Realtime);
    let order_edges_of = || {
        let mut order_edges = EdgeList::default();
        if process_order {
            orders::add_process_edges(&set, &mut order_edges);
        }
        if realtime_order {
            orders::add_realtime_edges(&timings, &mut order_edges);
        }
        order_edges
    };
    let infer = |edges: &mut EdgeList, findings: &mut Findings| -> Result<Inference, HistoryError> {
        Ok(match options.workload {
            Workload::ListAppend => Inference::List(list_append::analyze(ctx, edges, findings)?),
            Workload::RwRegister => Inference::Register(rw_register::analyze(
                ctx,
                options.register_order,
                &timings,
                edges,
                findings,
            )?),
        })
    };
    let (inference, order_edges) = if parallel::parts_for(set.txns.len()) > 1 {
        std::thread::scope(|s| {
            let beside = s.spawn(order_edges_of);
            let inference = infer(&mut edges, &mut findings);
            let order_edges = beside
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (inference, Some(order_edges))
        })
    } else {
        (infer(&mut edges, &mut findings), None)
    };
    let inference = inference?;
    phase("infer_ms");
    edges.append(order_edges.unwrap_or_else(order_edges_of));
    let inferred_edges = edges.len();
    let graph = edges.freeze(set.txns.len());
    phase("orders_and_graph_ms");
    let session_models: Vec<ConsistencyModel> = ConsistencyModel::SESSION
        .into_iter()
        .filter(|s| {
            let k = crate::session::anomaly_of(*s);
            forbidden_by_any(k)
        })
        .filter(|s| {
            // Session guarantees other than consistent prefix follow each process's session.
            let per_process = *s != ConsistencyModel::ConsistentPrefix;
            if unordered && per_process {
                not_checked.push(crate::session::anomaly_of(*s));
            }
            !(unordered && per_process)
        })
        .collect();
    // Cycles (with causal's missed writes) and session guarantees are independent searches of
    // the same graph: one thread each, their findings added in this order.
    let ((cut_short, cycles_ms), sessions_ms) = findings.run_both(
        |findings| {
            let started = Instant::now();
            let mut cut_short = cycle_report::report_cycles(
                ctx,
                &inference,
                &graph,
                &classes,
                options.cycle_budget,
                findings,
            );
            if forbidden_by_any(AnomalyKind::MissedCausalWrite)
                && causal::report_missed_writes(ctx, &inference, &graph, options.cycle_budget, findings)
            {
                cut_short.push(AnomalyKind::MissedCausalWrite);
            }
            (cut_short, started.elapsed().as_millis() as u64)
        },
        |findings| {
            let started = Instant::now();
            crate::session::check(
                ctx,
                &inference,
                &graph,
                &session_models,
                options.cycle_budget,
                findings,
            );
            started.elapsed().as_millis() as u64
        },
    );
    inconclusive.extend(cut_short);
    phases.insert("cycles_ms".into(), json!(cycles_ms));
    phases.insert("sessions_ms".into(), json!(sessions_ms));
    let found = findings.kinds();
    let verdicts: Vec<ModelVerdict> = models
        .iter()
        .map(|&m| verdict_for(m, &found, &inconclusive, &not_checked))
        .collect();
    let count = |o: Outcome| set.txns.iter().filter(|t| t.outcome == o).count();
    let mut stats = Map::new();
    stats.insert("transactions".into(), json!(set.txns.len()));
    stats.insert("ok".into(), json!(count(Outcome::Ok)));
    stats.insert("info".into(), json!(count(Outcome::Info)));
    stats.insert("fail".into(), json!(count(Outcome::Fail)));
    stats.insert("micro_ops".into(), json!(set.mops.len()));
    stats.insert("inferred_edges".into(), json!(inferred_edges));
    stats.insert("graph_edges".into(), json!(graph.edge_count()));
    stats.insert("elapsed_ms".into(), json!(started.elapsed().as_millis() as u64));
    stats.extend(phases);
    Ok(TxnAnalysis {
        workload: options.workload,
        findings,
        inconclusive,
        not_checked,
        completion_only: unordered,
        models: verdicts,
        stats,
    })
}
#[cfg(test)]
mod cycles_oracle;
#[cfg(test)]
mod parallel_tests;
