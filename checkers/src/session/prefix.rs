//! Consistent prefix: every transaction's reads must see a prefix of one global order of
//! writes. If T's reads saw W's write but not U's (T read a version U overwrote), W must come
//! before U in that order; with the version orders (ww), these constraints must be acyclic. A
//! cycle among them is the evidence, e.g. the "long fork": two readers who saw two writes in
//! opposite orders.

use crate::graph::{
    AnomalyKind, Ctx, CycleClass, CycleOrder, CycleShape, DepGraph, EdgeList, Findings, Inference, kind,
};
use serde_json::json;

pub(crate) fn check(
    ctx: Ctx,
    inference: &Inference,
    graph: &DepGraph,
    budget: usize,
    findings: &mut Findings,
) {
    let n = ctx.set.txns.len();
    // W must precede U in the order of writes: by a version order (ww), or because a reader of
    // W's write read a version U overwrote. Walked in place first: when peeling leaves nothing,
    // that order has no cycle and the graph of it is never built (the usual case).
    let successors = |w: usize, sink: &mut dyn FnMut(usize)| {
        let (targets, kinds) = graph.out(w);
        for (&t, &k) in targets.iter().zip(kinds) {
            if k & kind::WW != 0 {
                sink(t as usize);
            }
            if k & kind::WR != 0 {
                let (overwriters, their_kinds) = graph.out(t as usize);
                for (&u, &uk) in overwriters.iter().zip(their_kinds) {
                    if uk & kind::RW != 0 && u as usize != w && graph.kinds(w, u as usize) & kind::WW == 0 {
                        sink(u as usize);
                    }
                }
            }
        }
    };
    if !crate::graph::unpeeled(n, successors).contains(&true) {
        return;
    }
    let mut wr_in: Vec<(u32, u32)> = Vec::new();
    for from in 0..n {
        let (targets, kinds) = graph.out(from);
        for (&to, &k) in targets.iter().zip(kinds) {
            if k & kind::WR != 0 {
                wr_in.push((to, from as u32));
            }
        }
    }
    wr_in.sort_unstable();
    let mut edges = EdgeList::default();
    for from in 0..n {
        let (targets, kinds) = graph.out(from);
        for (&to, &k) in targets.iter().zip(kinds) {
            if k & kind::WW != 0 {
                edges.add(from, to as usize, kind::WW);
            }
        }
    }
    let mut i = 0;
    while i < wr_in.len() {
        let reader = wr_in[i].0;
        let end = i + wr_in[i..].iter().take_while(|e| e.0 == reader).count();
        let (targets, kinds) = graph.out(reader as usize);
        for (&u, &k) in targets.iter().zip(kinds) {
            if k & kind::RW == 0 {
                continue;
            }
            for &(_, w) in &wr_in[i..end] {
                if w != u && graph.kinds(w as usize, u as usize) & kind::WW == 0 {
                    edges.add(w as usize, u as usize, kind::WW);
                }
            }
        }
        i = end;
    }
    let order = edges.freeze(n);
    let class = CycleClass {
        shape: CycleShape::G0,
        order: CycleOrder::Data,
    };
    // (W, U) -> the reader that orders them, for the few edges a cycle explains: the first
    // reader (in transaction order) of W's write that U overwrote, when no version order
    // already puts W before U.
    let via = |(w, u): (u32, u32)| -> Option<u32> {
        if graph.kinds(w as usize, u as usize) & kind::WW != 0 {
            return None;
        }
        let (readers, kinds) = graph.out(w as usize);
        readers
            .iter()
            .zip(kinds)
            .filter(|&(_, &k)| k & kind::WR != 0)
            .map(|(&r, _)| r)
            .find(|&r| graph.kinds(r as usize, u as usize) & kind::RW != 0)
    };
    for component in order.cyclic_components(kind::WW) {
        let cycle = match crate::graph::shortest_cycle(&order, &component, class, budget) {
            crate::graph::Search::Shortest(c) | crate::graph::Search::Found(c) => c,
            _ => continue,
        };
        findings.add(AnomalyKind::ConsistentPrefix, || {
            let m = cycle.nodes.len();
            let mut readers: Vec<usize> = Vec::new();
            for i in 0..m {
                let (w, u) = (cycle.nodes[i] as u32, cycle.nodes[(i + 1) % m] as u32);
                if let Some(r) = via((w, u))
                    && !readers.contains(&(r as usize))
                {
                    readers.push(r as usize);
                }
            }
            let mut all = cycle.nodes.clone();
            all.extend(readers.iter().copied());
            let mut a = ctx.anomaly(&all, None);
            let name = |t: usize| format!("T{}", all.iter().position(|&x| x == t).unwrap_or(0) + 1);
            for i in 0..m {
                let (w, u) = (cycle.nodes[i], cycle.nodes[(i + 1) % m]);
                let (nw, nu) = (name(w), name(u));
                let text = match via((w as u32, u as u32)) {
                    Some(r) => {
                        let nr = name(r as usize);
                        let saw = crate::graph::explain_edge(ctx, inference, w, r as usize, kind::WR, (&nw, &nr));
                        let missed = crate::graph::explain_edge(ctx, inference, r as usize, u, kind::RW, (&nr, &nu));
                        format!("{nw}'s write precedes {nu}'s in any order {nr} saw a prefix of: {saw}; and {missed}")
                    }
                    None => crate::graph::explain_edge(ctx, inference, w, u, kind::WW, (&nw, &nu)),
                };
                a.steps.push(format!("{text}."));
            }
            a.steps.push(
                "These orderings form a cycle: no single order of writes has every read above as a prefix."
                    .into(),
            );
            a.details = json!({"writers": cycle.nodes.iter().map(|&t| ctx.index(t)).collect::<Vec<_>>()});
            a
        });
    }
}
