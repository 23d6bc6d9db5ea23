//! Turns the cycle searches into explained anomalies: for each class a model needs, the
//! shortest cycle in each strongly connected component, written as numbered steps
//! ("T1 < T2 because T2 read T1's append of 1 to key 5", ...).

use super::Inference;
use super::anomaly::{AnomalyKind, CycleOrder, CycleShape, Findings};
use super::cycles::{Cycle, CycleClass, Search, shortest_cycle, usable_labels};
use super::depgraph::{DepGraph, kind};
use super::explain::Ctx;
use crate::report::Anomaly;
use serde_json::json;

/// Searches `classes` and records the cycles found; returns the classes whose search was cut
/// short without finding a cycle somewhere it might exist.
pub(crate) fn report_cycles(
    ctx: Ctx,
    inference: &Inference,
    graph: &DepGraph,
    classes: &[CycleClass],
    budget: usize,
    findings: &mut Findings,
) -> Vec<AnomalyKind> {
    let mut inconclusive = Vec::new();
    let all_allowed = classes.iter().fold(0u8, |m, c| m | c.allowed());
    if graph.cyclic_components(all_allowed).is_empty() {
        return inconclusive;
    }
    for &class in classes {
        let allowed = class.allowed();
        let kind = AnomalyKind::Cycle(class.shape, class.order);
        for component in graph.cyclic_components_where(|k| usable_labels(k, allowed) != 0) {
            match shortest_cycle(graph, &component, class, budget) {
                Search::Shortest(c) => {
                    findings.add(kind, || explain_cycle(ctx, inference, graph, &c, class, true))
                }
                Search::Found(c) => {
                    findings.add(kind, || explain_cycle(ctx, inference, graph, &c, class, false))
                }
                Search::None => {}
                Search::Inconclusive => {
                    if !inconclusive.contains(&kind) {
                        inconclusive.push(kind);
                    }
                }
            }
        }
    }
    inconclusive
}

/// A cycle as numbered steps: who the transactions are, why each edge holds, and what the
/// cycle means.
pub(crate) fn explain_cycle(
    ctx: Ctx,
    inference: &Inference,
    graph: &DepGraph,
    cycle: &Cycle,
    class: CycleClass,
    shortest: bool,
) -> Anomaly {
    // Start from the earliest transaction, so T1 is the first one invoked.
    let first = (0..cycle.nodes.len())
        .min_by_key(|&i| cycle.nodes[i])
        .unwrap_or(0);
    let mut cycle = cycle.clone();
    cycle.nodes.rotate_left(first);
    cycle.labels.rotate_left(first);
    let mut a = ctx.anomaly(&cycle.nodes, None);
    let n = cycle.nodes.len();
    let mut edges_json = Vec::new();
    for i in 0..n {
        let (from, to) = (cycle.nodes[i], cycle.nodes[(i + 1) % n]);
        let names = (format!("T{}", i + 1), format!("T{}", (i + 1) % n + 1));
        let label = cycle.labels[i];
        let text = explain_edge(ctx, inference, from, to, label, (&names.0, &names.1));
        let lead = if i + 1 == n { "However, " } else { "" };
        a.steps.push(format!("{lead}{text}."));
        edges_json.push(json!({
            "from": ctx.index(from),
            "to": ctx.index(to),
            "kind": kind::name(label),
            "kinds": kind_names(graph.kinds(from, to)),
        }));
    }
    let chain: Vec<String> = (1..=n).chain([1]).map(|i| format!("T{i}")).collect();
    let rws = cycle.labels.iter().filter(|&&l| l == kind::RW).count();
    let shape = match class.shape {
        CycleShape::G0 => "only write-write dependencies (a dirty write)".to_string(),
        CycleShape::G1c => "write-write and write-read dependencies (circular information flow)".to_string(),
        CycleShape::GSingle => "exactly one anti-dependency (read skew)".to_string(),
        CycleShape::GNonadjacent => format!("{rws} anti-dependencies, no two adjacent"),
        CycleShape::G2Item => format!("{rws} anti-dependencies, two of them adjacent (write skew)"),
    };
    let order = match class.order {
        CycleOrder::Data => "",
        CycleOrder::Process => ", and it needs process order",
        CycleOrder::Realtime => ", and it needs real-time order",
    };
    a.steps.push(format!(
        "So {} is a cycle of {n} edges with {shape}{order}: no order of the transactions satisfies it.",
        chain.join(" < ")
    ));
    a.details = json!({"cycle": edges_json, "shortest": shortest});
    a
}

fn kind_names(bits: u8) -> Vec<&'static str> {
    [kind::WW, kind::WR, kind::RW, kind::PROCESS, kind::REALTIME]
        .into_iter()
        .filter(|b| bits & b != 0)
        .map(kind::name)
        .collect()
}

/// Why one edge holds, in words.
pub(crate) fn explain_edge(
    ctx: Ctx,
    inference: &Inference,
    from: usize,
    to: usize,
    label: u8,
    names: (&str, &str),
) -> String {
    let (a, b) = names;
    match label {
        kind::PROCESS => format!(
            "{a} < {b} because process {} ran {a} before {b}",
            ctx.set.txns[from].process
        ),
        kind::REALTIME => {
            let ev_a = ctx.events(from);
            let ev_b = ctx.events(to);
            format!(
                "{a} < {b} because {a} completed (index {}) before {b} was invoked (index {})",
                ev_a.last().copied().unwrap_or_default(),
                ev_b[0]
            )
        }
        _ => match inference {
            Inference::List(index) => {
                super::list_append_explain::explain_edge(ctx, index, from, to, label, names)
            }
            Inference::Register(index) => {
                super::rw_register::explain_edge(ctx, index, from, to, label, names)
            }
        },
    }
}
