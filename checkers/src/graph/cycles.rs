//! Finding the shortest cycle of each anomaly class in the dependency graph.
//!
//! A cycle's class depends on the label each edge plays in it (an edge may carry several
//! kinds, e.g. ww and process). A small automaton over labels (how many rw edges so far, whether
//! the previous one was rw, whether two rw were adjacent, whether a wr / process / realtime edge
//! was used) decides membership. For each strongly connected component, and each class, we run a
//! breadth-first search over (node, automaton state) from every "anchor" edge (an edge of a
//! label every cycle of the class contains) back to the anchor's source. BFS yields the shortest
//! closed walk through the anchor; when that walk repeats a node (possible only for classes that
//! count or require several labels), a bounded depth-first search looks for a simple cycle
//! instead. Work is budgeted per component and class; a search cut short says so.

use super::anomaly::{CycleOrder, CycleShape};
use super::depgraph::{DepGraph, kind};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;

/// A class of cycles: its shape and which orders it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CycleClass {
    pub shape: CycleShape,
    pub order: CycleOrder,
}

impl CycleClass {
    /// The labels an edge may play in a cycle of this class.
    pub(crate) fn allowed(self) -> u8 {
        let data = match self.shape {
            CycleShape::G0 => kind::WW,
            CycleShape::G1c => kind::WW | kind::WR,
            _ => kind::DATA,
        };
        data | match self.order {
            CycleOrder::Data => 0,
            CycleOrder::Process => kind::PROCESS,
            CycleOrder::Realtime => kind::PROCESS | kind::REALTIME,
        }
    }

    /// The label every cycle of the class contains, used to anchor the search.
    fn anchor(self) -> u8 {
        match (self.shape, self.order) {
            (CycleShape::GSingle | CycleShape::GNonadjacent | CycleShape::G2Item, _) => kind::RW,
            (_, CycleOrder::Process) => kind::PROCESS,
            (_, CycleOrder::Realtime) => kind::REALTIME,
            (CycleShape::G1c, _) => kind::WR,
            (CycleShape::G0, _) => kind::WW,
        }
    }

    /// The fewest edges a cycle of the class can have.
    fn min_len(self) -> usize {
        if self.shape == CycleShape::GNonadjacent {
            4
        } else {
            2
        }
    }

    /// The automaton state after following an edge labelled `label` from `state`.
    fn step(self, state: State, label: u8) -> Option<State> {
        let mut s = state;
        if label == kind::RW {
            match self.shape {
                CycleShape::G0 | CycleShape::G1c => return None,
                CycleShape::GSingle if s.rws >= 1 => return None,
                CycleShape::GNonadjacent if s.last_rw => return None,
                _ => {}
            }
            if s.last_rw {
                s.adjacent = true;
            }
            s.rws = (s.rws + 1).min(2);
            s.last_rw = true;
        } else {
            s.last_rw = false;
        }
        s.wr |= label == kind::WR;
        s.extra |= match self.order {
            CycleOrder::Data => false,
            CycleOrder::Process => label == kind::PROCESS,
            CycleOrder::Realtime => label == kind::REALTIME,
        };
        if s.first == 0 {
            s.first = label;
        }
        Some(s)
    }

    /// Whether a closed walk ending in `state` belongs to the class.
    fn accepts(self, state: State) -> bool {
        let wraps_rw = state.last_rw && state.first == kind::RW && state.rws >= 2;
        let adjacent = state.adjacent || wraps_rw;
        let shape_ok = match self.shape {
            CycleShape::G0 => state.rws == 0,
            CycleShape::G1c => state.rws == 0 && state.wr,
            CycleShape::GSingle => state.rws == 1,
            CycleShape::GNonadjacent => state.rws >= 2 && !adjacent,
            CycleShape::G2Item => state.rws >= 2 && adjacent,
        };
        shape_ok && (self.order == CycleOrder::Data || state.extra)
    }
}

/// Automaton state along a walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct State {
    rws: u8,
    last_rw: bool,
    adjacent: bool,
    wr: bool,
    extra: bool,
    /// The first label of the walk (0 before any edge).
    first: u8,
}

impl State {
    fn pack(self) -> u32 {
        self.rws as u32
            | (self.last_rw as u32) << 2
            | (self.adjacent as u32) << 3
            | (self.wr as u32) << 4
            | (self.extra as u32) << 5
            | (self.first as u32) << 8
    }
}

/// A cycle: the nodes in order and the label of each edge (edge i goes from node i to node
/// i+1, the last back to node 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle {
    pub nodes: Vec<usize>,
    pub labels: Vec<u8>,
}

/// The result of searching one component for one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Search {
    /// The shortest cycle of the class in the component.
    Shortest(Cycle),
    /// A cycle of the class; the budget ran out before it was proved the shortest.
    Found(Cycle),
    /// No cycle of the class exists in the component.
    None,
    /// The budget ran out before any cycle was found; one may exist.
    Inconclusive,
}

/// Work allowed per component and class, in (node, state) visits plus DFS steps.
pub(crate) const DEFAULT_BUDGET: usize = 1_000_000;

/// Searches one strongly connected component (sorted node list) for the shortest cycle of
/// `class`.
pub(crate) fn shortest_cycle(
    graph: &DepGraph,
    component: &[u32],
    class: CycleClass,
    budget: usize,
) -> Search {
    let members = Members::new(component);
    let allowed = class.allowed();
    let anchor = class.anchor();
    let mut best: Option<Cycle> = None;
    let mut work = 0usize;
    let mut exhaustive = true;
    for &a in component {
        let (targets, kinds) = graph.out(a as usize);
        for (&b, &k) in targets.iter().zip(kinds) {
            if usable_labels(k, allowed) & anchor == 0 || !members.contains(b) {
                continue;
            }
            let limit = best.as_ref().map_or(usize::MAX, |c| c.nodes.len());
            if limit <= class.min_len() {
                return Search::Shortest(best.expect("limit comes from best"));
            }
            let Some(start) = class.step(State::default(), anchor) else {
                continue;
            };
            let search = Anchored {
                graph,
                members: &members,
                class,
                allowed,
                a: a as usize,
                b: b as usize,
                start,
            };
            match search.bfs(limit, &mut work, budget) {
                Walk::Simple(c) => best = Some(c),
                Walk::NotSimple(walk_len) => {
                    // The depth-first search gets a share of the budget per anchor; if it runs
                    // out, this anchor's cycles are not ruled out.
                    let mut dfs_work = 0usize;
                    let cap = (budget / 50).max(1);
                    let found = search.dfs(walk_len, limit, &mut dfs_work, cap);
                    work = work.saturating_add(dfs_work);
                    if dfs_work >= cap {
                        exhaustive = false;
                    }
                    if let Some(c) = found {
                        best = Some(c);
                    }
                }
                Walk::None => {}
            }
            if work >= budget {
                return match best {
                    Some(c) => Search::Found(c),
                    None => Search::Inconclusive,
                };
            }
        }
    }
    match (best, exhaustive) {
        (Some(c), true) => Search::Shortest(c),
        (Some(c), false) => Search::Found(c),
        (None, true) => Search::None,
        (None, false) => Search::Inconclusive,
    }
}

/// The nodes of one component: a hash set when small, a bit set over the graph when large.
pub(crate) enum Members {
    Few(FxHashSet<u32>),
    Many(fixedbitset::FixedBitSet, usize),
}

impl Members {
    fn new(component: &[u32]) -> Members {
        if component.len() < 4096 {
            return Members::Few(component.iter().copied().collect());
        }
        let max = component.iter().copied().max().unwrap_or(0) as usize;
        let mut bits = fixedbitset::FixedBitSet::with_capacity(max + 1);
        for &n in component {
            bits.insert(n as usize);
        }
        Members::Many(bits, component.len())
    }

    fn contains(&self, n: u32) -> bool {
        match self {
            Members::Few(set) => set.contains(&n),
            Members::Many(bits, _) => bits.contains(n as usize),
        }
    }

    fn len(&self) -> usize {
        match self {
            Members::Few(set) => set.len(),
            Members::Many(_, len) => *len,
        }
    }
}

/// BFS parents: (node, packed state) -> (previous (node, packed state), label used).
type Parents = FxHashMap<(u32, u32), ((u32, u32), u8)>;

enum Walk {
    Simple(Cycle),
    /// The shortest closed walk has this many edges but repeats a node.
    NotSimple(usize),
    None,
}

/// One anchored search in a component: cycles of `class` that start with the edge `a -> b`,
/// taken with the label that put the class in `start`.
struct Anchored<'g> {
    graph: &'g DepGraph,
    members: &'g Members,
    class: CycleClass,
    allowed: u8,
    a: usize,
    b: usize,
    start: State,
}

impl Anchored<'_> {
    /// BFS from `b` (after the anchor edge `a -> b`) back to `a`, over walks shorter than `limit`.
    fn bfs(&self, limit: usize, work: &mut usize, budget: usize) -> Walk {
        let Anchored {
            graph,
            members,
            class,
            allowed,
            a,
            b,
            start,
        } = *self;
        let anchor_label = start.first;
        // (node, packed state) -> (parent key, label used to get here)
        let mut parent: Parents = FxHashMap::default();
        let start_key = (b as u32, start.pack());
        parent.insert(start_key, ((a as u32, 0), anchor_label));
        let mut queue: VecDeque<(u32, State, usize)> = VecDeque::from([(b as u32, start, 1)]);
        while let Some((node, state, len)) = queue.pop_front() {
            *work += 1;
            // Closing from here makes a walk of len + 1 edges; BFS pops in order of len.
            if len + 1 >= limit || *work >= budget {
                return Walk::None;
            }
            let (targets, kinds) = graph.out(node as usize);
            for (&next, &k) in targets.iter().zip(kinds) {
                if !members.contains(next) {
                    continue;
                }
                for label in each_label(usable_labels(k, allowed)) {
                    let Some(s) = class.step(state, label) else {
                        continue;
                    };
                    if next as usize == a {
                        if class.accepts(s) && len + 1 < limit {
                            let (nodes, labels_path) = unwind(&parent, (node, state.pack()), label, a);
                            let simple = {
                                let mut seen = FxHashSet::default();
                                nodes.iter().all(|n| seen.insert(*n))
                            };
                            return if simple {
                                Walk::Simple(Cycle {
                                    nodes,
                                    labels: labels_path,
                                })
                            } else {
                                Walk::NotSimple(nodes.len())
                            };
                        }
                        continue;
                    }
                    let key = (next, s.pack());
                    if parent.contains_key(&key) {
                        continue;
                    }
                    parent.insert(key, ((node, state.pack()), label));
                    queue.push_back((next, s, len + 1));
                }
            }
        }
        Walk::None
    }

    /// Depth-first search for a simple cycle through the anchor, with between `min_len` and
    /// `limit - 1` edges; the shortest such within the budget.
    fn dfs(&self, min_len: usize, limit: usize, work: &mut usize, budget: usize) -> Option<Cycle> {
        let (a, b) = (self.a, self.b);
        // Iterative deepening: the first depth that yields a cycle yields a shortest one.
        let max_len = limit.saturating_sub(1).min(self.members.len());
        for depth in min_len.max(2)..=max_len {
            let mut path = DfsPath {
                nodes: vec![a, b],
                labels: vec![self.start.first],
                on_path: [a, b].into_iter().collect(),
            };
            if self.dfs_step(self.start, depth, &mut path, work, budget) {
                return Some(Cycle {
                    nodes: path.nodes,
                    labels: path.labels,
                });
            }
            if *work >= budget {
                return None;
            }
        }
        None
    }

    fn dfs_step(
        &self,
        state: State,
        depth: usize,
        path: &mut DfsPath,
        work: &mut usize,
        budget: usize,
    ) -> bool {
        let Anchored {
            graph,
            members,
            class,
            allowed,
            a,
            ..
        } = *self;
        *work += 1;
        if *work >= budget {
            return false;
        }
        let node = *path.nodes.last().expect("path starts with two nodes");
        let (targets, kinds) = graph.out(node);
        for (&next, &k) in targets.iter().zip(kinds) {
            *work += 1;
            let next = next as usize;
            if !members.contains(next as u32) {
                continue;
            }
            for label in each_label(usable_labels(k, allowed)) {
                let Some(s) = class.step(state, label) else {
                    continue;
                };
                let edges_so_far = path.labels.len() + 1;
                if next == a {
                    if edges_so_far == depth && class.accepts(s) {
                        path.labels.push(label);
                        return true;
                    }
                    continue;
                }
                if edges_so_far >= depth || path.on_path.contains(&next) {
                    continue;
                }
                path.nodes.push(next);
                path.labels.push(label);
                path.on_path.insert(next);
                if self.dfs_step(s, depth, path, work, budget) {
                    return true;
                }
                path.on_path.remove(&next);
                path.labels.pop();
                path.nodes.pop();
            }
        }
        false
    }
}

/// The walk of a depth-first search: its nodes from the anchor, the labels of its edges, and
/// the nodes as a set.
struct DfsPath {
    nodes: Vec<usize>,
    labels: Vec<u8>,
    on_path: FxHashSet<usize>,
}

/// Rebuilds the cycle ending with the edge `last -> a` labelled `label`.
fn unwind(parent: &Parents, last: (u32, u32), label: u8, a: usize) -> (Vec<usize>, Vec<u8>) {
    let mut nodes = Vec::new();
    let mut labels = vec![label];
    let mut key = last;
    loop {
        nodes.push(key.0 as usize);
        let (prev, l) = parent[&key];
        labels.push(l);
        if prev.0 as usize == a && prev.1 == 0 {
            break;
        }
        key = prev;
    }
    nodes.push(a);
    nodes.reverse();
    labels.reverse();
    // labels[0] is the anchor label (a -> nodes[1]), and the last is (nodes[last] -> a).
    (nodes, labels)
}

/// The labels an edge of kinds `k` may play in a cycle: the allowed kinds it has, except that
/// an edge counts as process order only when it is not also a ww or wr edge, and as real-time
/// order only when it is neither of those nor a process edge (so a cycle is named by the
/// strongest evidence it has).
pub(crate) fn usable_labels(k: u8, allowed: u8) -> u8 {
    let mut labels = k & allowed;
    if k & (kind::WW | kind::WR) != 0 {
        labels &= !(kind::PROCESS | kind::REALTIME);
    }
    if k & kind::PROCESS != 0 {
        labels &= !kind::REALTIME;
    }
    labels
}

/// Each single-bit label set in `labels`, lowest first.
fn each_label(mut labels: u8) -> impl Iterator<Item = u8> {
    std::iter::from_fn(move || {
        (labels != 0).then(|| {
            let label = labels & labels.wrapping_neg();
            labels &= labels - 1;
            label
        })
    })
}

/// Every class, in the order searched and reported.
pub(crate) fn all_classes() -> Vec<CycleClass> {
    let shapes = [
        CycleShape::G0,
        CycleShape::G1c,
        CycleShape::GSingle,
        CycleShape::GNonadjacent,
        CycleShape::G2Item,
    ];
    let mut out = Vec::new();
    for order in [CycleOrder::Data, CycleOrder::Process, CycleOrder::Realtime] {
        for shape in shapes {
            out.push(CycleClass { shape, order });
        }
    }
    out
}
