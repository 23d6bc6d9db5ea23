//! The linearizability search for one key: Wing & Gong's algorithm with Lowe's memo cache.
//!
//! Required operations (those with a completion) sit in a doubly linked list of call and
//! return entries in history order. At each step the search tries to linearize a call that
//! comes before the first pending return (its operation could take effect now); if the model
//! accepts it and the resulting configuration is new, it lifts the operation out of the list
//! and goes on. Meeting a return entry means that operation can no longer be placed: the search
//! tries an optional (`info`) operation invoked before that return, then backtracks.
//!
//! Three prunings keep it fast on busy histories, all exact:
//! - Observers first, without branching. An operation that never changes the state (a read, a
//!   failed cas checked as a read) and that the current state allows is linearized at once, and
//!   if that fails the whole configuration fails: any linearization from here can be reordered
//!   to place it first, since it changes nothing and everything that must precede it already
//!   has.
//! - Twins: among candidates that do the same thing (say, two writes of 3), only the one that
//!   must return first is tried: in any linearization starting with another, swapping the two
//!   keeps every state and every real-time constraint. Likewise only the first of several
//!   optional twins is tried, and none when a required candidate does the same thing.
//! - Optional operations (no return entry: `info`, never completed) may take effect at any
//!   point after their invocation, or never. They are tried only after the required
//!   candidates, only if they change the state, and the cache prunes configurations dominated
//!   by one already seen (see `cache`).
//!
//! The search is exhaustive, so "not linearizable" is a proof; a deadline or a memory budget
//! makes it give up with no verdict instead.

use super::cache::{Config, StateCache};
use super::links::Links;
use super::model::Action;
use super::partition::LinOp;
use rustc_hash::FxHashMap;
use std::time::Instant;

/// When the search must stop without a verdict.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits {
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Give up when the memo cache holds more than this many bytes (0: no limit).
    pub max_cache_bytes: usize,
}

/// Why a search gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The deadline passed.
    Deadline,
    /// The memo cache outgrew its memory budget.
    Memory,
}

/// The result of a search over one key's operations (indices are into that key's `ops`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Linearizable: a witness order of every required and some optional operations.
    Linearizable { witness: Vec<u32> },
    /// Not linearizable.
    NotLinearizable {
        /// The longest order of operations found that the model accepts.
        longest: Vec<u32>,
        /// The operation whose completion came before it could be placed after `longest`.
        culprit: u32,
        /// The register state after `longest`.
        state: u32,
    },
    /// No verdict.
    GaveUp(GaveUp),
}

/// How much work a search did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Stats {
    /// Configurations recorded in the memo cache.
    pub states: u64,
    /// Loop iterations.
    pub steps: u64,
}

/// Searches for a linearization of `ops` (in invocation order) from register state `initial`.
pub(crate) fn search(ops: &[LinOp], initial: u32, limits: Limits) -> (Outcome, Stats) {
    debug_assert!(
        ops.windows(2).all(|w| w[0].call < w[1].call),
        "ops in invocation order"
    );
    let mut s = Search::new(ops, initial);
    let outcome = s.run(limits);
    let stats = Stats {
        states: s.cache.len() as u64,
        steps: s.steps,
    };
    (outcome, stats)
}

#[derive(Clone, Copy)]
struct MainEntry {
    op: u32,
    is_call: bool,
    pos: usize,
}

/// What the search does next.
#[derive(Clone, Copy)]
enum Cursor {
    /// A new configuration: check for success, then for an observer to place.
    Enter,
    /// Scanning required candidates, at this node of the main list. Pass 0 tries the
    /// candidates that help `blocked` (the operation with the first pending return: itself,
    /// or those producing the value it needs); pass 1 tries the others.
    Required { node: u32, pass: u8, blocked: u32 },
    /// Scanning optional candidates, at this node of the optional list; those invoked after
    /// `limit` (the position of the first pending return) are not candidates.
    Optional { node: u32, limit: usize },
    /// The current configuration is exhausted.
    Backtrack,
}

#[derive(Clone, Copy)]
enum FrameKind {
    /// An observer placed without branching: backtracking past it exhausts its parent.
    Forced,
    /// A required operation chosen among candidates, in this scan.
    Chosen { pass: u8, blocked: u32 },
    /// An optional operation, chosen while scanning with this limit.
    Optional { limit: usize },
}

struct Frame {
    op: u32,
    prev_state: u32,
    kind: FrameKind,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[inline]
fn config_hash(req_hash: u64, state: u32) -> u64 {
    req_hash ^ splitmix(state as u64 ^ 0x5bd1_e995)
}

#[inline]
fn flip(bits: &mut [u64], b: u32) {
    bits[b as usize / 64] ^= 1u64 << (b % 64);
}

struct Search<'a> {
    ops: &'a [LinOp],
    /// Per op: its bit in `req_bits` or `opt_bits`.
    bit: Vec<u32>,
    /// Per op: true if it never changes the state.
    observer: Vec<bool>,
    /// Per op: the scan (`epoch`) in which it was found to be the representative of its twins.
    representative_in: Vec<u64>,
    /// Counts the scans of required candidates.
    epoch: u64,
    /// Scratch map from an action to the candidate with the earliest return doing it.
    twins: FxHashMap<Action, u32>,
    /// Per optional op: its group of optional twins (same action).
    opt_group: Vec<u32>,
    /// Per group of optional twins: its members in invocation order. Only the first member
    /// not yet placed is ever placed, so the members not placed are always a suffix.
    group_members: Vec<Vec<u32>>,
    /// Per group of optional twins: how many of its members are placed.
    group_placed: Vec<u32>,
    zobrist: Vec<u64>,
    /// Call and return entries of required ops, in history order; node k is `main[k - 1]`.
    main: Vec<MainEntry>,
    main_links: Links,
    call_node: Vec<u32>,
    ret_node: Vec<u32>,
    /// Optional ops in invocation order; node k is `opt_ops[k - 1]`.
    opt_ops: Vec<u32>,
    opt_links: Links,
    opt_node: Vec<u32>,
    req_bits: Vec<u64>,
    opt_bits: Vec<u64>,
    /// The first required bit not set (all below it are set).
    first_unplaced: u32,
    /// Per required bit k: one past the last required bit that can be set while k is not
    /// (the operations invoked before k's return).
    window_end: Vec<u32>,
    /// Scratch space for the window of `req_bits` stored in the cache.
    window: Vec<u64>,
    cache: StateCache,
    state: u32,
    req_hash: u64,
    remaining: u32,
    stack: Vec<Frame>,
    /// The deepest dead end: the order, the blocked operation, the state.
    best: Option<(Vec<u32>, u32, u32)>,
    steps: u64,
    #[cfg(test)]
    weak_hash: bool,
}

impl<'a> Search<'a> {
    fn new(ops: &'a [LinOp], initial: u32) -> Self {
        let mut bit = vec![0u32; ops.len()];
        let (mut n_req, mut n_opt) = (0u32, 0u32);
        let mut opt_ops = Vec::new();
        let mut main = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            match op.ret {
                Some(ret) => {
                    bit[i] = n_req;
                    n_req += 1;
                    main.push(MainEntry {
                        op: i as u32,
                        is_call: true,
                        pos: op.call,
                    });
                    main.push(MainEntry {
                        op: i as u32,
                        is_call: false,
                        pos: ret,
                    });
                }
                None => {
                    bit[i] = n_opt;
                    n_opt += 1;
                    opt_ops.push(i as u32);
                }
            }
        }
        main.sort_unstable_by_key(|e| e.pos);
        let mut call_node = vec![0u32; ops.len()];
        let mut ret_node = vec![0u32; ops.len()];
        for (k, e) in main.iter().enumerate() {
            let nodes = if e.is_call { &mut call_node } else { &mut ret_node };
            nodes[e.op as usize] = k as u32 + 1;
        }
        let mut opt_node = vec![0u32; ops.len()];
        for (k, &op) in opt_ops.iter().enumerate() {
            opt_node[op as usize] = k as u32 + 1;
        }
        let mut opt_group = vec![0u32; ops.len()];
        let mut group_of: FxHashMap<Action, u32> = FxHashMap::default();
        let mut group_members: Vec<Vec<u32>> = Vec::new();
        for &op in &opt_ops {
            let g = *group_of.entry(ops[op as usize].action).or_insert_with(|| {
                group_members.push(Vec::new());
                group_members.len() as u32 - 1
            });
            opt_group[op as usize] = g;
            group_members[g as usize].push(op);
        }
        let observer = ops
            .iter()
            .map(|o| match o.action {
                Action::Read(_) | Action::ReadOther(_) => true,
                Action::Cas(e, n) => e == n,
                Action::Write(_) => false,
            })
            .collect();
        let req_calls: Vec<usize> = ops.iter().filter(|o| o.required()).map(|o| o.call).collect();
        let window_end = ops
            .iter()
            .filter_map(|o| o.ret)
            .map(|ret| req_calls.partition_point(|&call| call < ret) as u32)
            .collect();
        let opt_bits = vec![0u64; (n_opt as usize).div_ceil(64)];
        let cache = StateCache::new(opt_bits.len());
        let mut search = Search {
            ops,
            bit,
            observer,
            representative_in: vec![0; ops.len()],
            epoch: 0,
            twins: FxHashMap::default(),
            opt_group,
            group_placed: vec![0; group_members.len()],
            group_members,
            zobrist: (0..ops.len() as u64).map(splitmix).collect(),
            main_links: Links::new(main.len()),
            main,
            call_node,
            ret_node,
            opt_links: Links::new(opt_ops.len()),
            opt_ops,
            opt_node,
            req_bits: vec![0u64; (n_req as usize).div_ceil(64)],
            opt_bits,
            first_unplaced: 0,
            window_end,
            window: Vec::new(),
            cache,
            state: initial,
            req_hash: 0,
            remaining: n_req,
            stack: Vec::new(),
            best: None,
            steps: 0,
            #[cfg(test)]
            weak_hash: false,
        };
        search.remember(0, initial);
        search
    }

    fn run(&mut self, limits: Limits) -> Outcome {
        let mut cursor = Cursor::Enter;
        loop {
            self.steps += 1;
            if self.steps & 0xfff == 0
                && let Some(reason) = gave_up(&limits, &self.cache)
            {
                return Outcome::GaveUp(reason);
            }
            cursor = match cursor {
                Cursor::Enter => {
                    if self.remaining == 0 {
                        return Outcome::Linearizable {
                            witness: self.stack.iter().map(|f| f.op).collect(),
                        };
                    }
                    match self.allowed_observer() {
                        Some(op) => {
                            let next = self.state;
                            if self.place_required(op, next, FrameKind::Forced) {
                                Cursor::Enter
                            } else {
                                Cursor::Backtrack
                            }
                        }
                        None => {
                            self.mark_representatives();
                            Cursor::Required {
                                node: self.main_links.first(),
                                pass: 0,
                                blocked: self.first_pending_return(),
                            }
                        }
                    }
                }
                Cursor::Required { node, pass, blocked } => {
                    let entry = self.main.get((node as usize).wrapping_sub(1)).copied();
                    match entry {
                        Some(entry) if node != self.main_links.tail() && entry.is_call => {
                            let op = entry.op as usize;
                            if !self.observer[op]
                                && self.representative_in[op] == self.epoch
                                && self.helps(op, blocked) == (pass == 0)
                                && let Some(next) = self.ops[op].action.step(self.state)
                                && self.place_required(op, next, FrameKind::Chosen { pass, blocked })
                            {
                                Cursor::Enter
                            } else {
                                Cursor::Required {
                                    node: self.main_links.next(node),
                                    pass,
                                    blocked,
                                }
                            }
                        }
                        _ if pass == 0 => Cursor::Required {
                            node: self.main_links.first(),
                            pass: 1,
                            blocked,
                        },
                        _ => Cursor::Optional {
                            node: self.opt_links.first(),
                            limit: self
                                .ops
                                .get(blocked as usize)
                                .and_then(|b| b.ret)
                                .unwrap_or(usize::MAX),
                        },
                    }
                }
                Cursor::Optional { node, limit } => {
                    let op = match self.opt_ops.get((node as usize).wrapping_sub(1)) {
                        Some(&op) if node != self.opt_links.tail() && self.ops[op as usize].call < limit => {
                            op as usize
                        }
                        _ => {
                            cursor = Cursor::Backtrack;
                            continue;
                        }
                    };
                    if self.first_unplaced_twin(op)
                        && let Some(next) = self.ops[op].action.step(self.state)
                        && next != self.state
                        && !self.required_candidate_does(self.ops[op].action)
                        && self.place_optional(op, next, limit)
                    {
                        Cursor::Enter
                    } else {
                        Cursor::Optional {
                            node: self.opt_links.next(node),
                            limit,
                        }
                    }
                }
                Cursor::Backtrack => {
                    self.record_dead_end();
                    let Some(frame) = self.undo() else {
                        let (longest, culprit, state) = self.best.take().unwrap_or_default();
                        return Outcome::NotLinearizable {
                            longest,
                            culprit,
                            state,
                        };
                    };
                    match frame.kind {
                        FrameKind::Forced => Cursor::Backtrack,
                        FrameKind::Chosen { pass, blocked } => {
                            self.mark_representatives();
                            Cursor::Required {
                                node: self.main_links.next(self.call_node[frame.op as usize]),
                                pass,
                                blocked,
                            }
                        }
                        FrameKind::Optional { limit } => Cursor::Optional {
                            node: self.opt_links.next(self.opt_node[frame.op as usize]),
                            limit,
                        },
                    }
                }
            };
        }
    }

    /// A candidate observer the current state allows, if any.
    fn allowed_observer(&self) -> Option<usize> {
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                return None;
            }
            let op = entry.op as usize;
            if self.observer[op] && self.ops[op].action.step(self.state).is_some() {
                return Some(op);
            }
            node = self.main_links.next(node);
        }
        None
    }

    /// Starts a new scan of the required candidates: among candidates with the same action
    /// (observers aside), marks the one with the earliest return (the first invoked on ties).
    fn mark_representatives(&mut self) {
        self.epoch += 1;
        self.twins.clear();
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                break;
            }
            let op = entry.op;
            if !self.observer[op as usize] {
                let ret = self.ops[op as usize].ret;
                self.twins
                    .entry(self.ops[op as usize].action)
                    .and_modify(|best| {
                        if ret < self.ops[*best as usize].ret {
                            *best = op;
                        }
                    })
                    .or_insert(op);
            }
            node = self.main_links.next(node);
        }
        for &op in self.twins.values() {
            self.representative_in[op as usize] = self.epoch;
        }
    }

    /// True if optional `op` is the first member of its group of twins not yet placed.
    fn first_unplaced_twin(&self, op: usize) -> bool {
        let g = self.opt_group[op] as usize;
        self.group_members[g].get(self.group_placed[g] as usize) == Some(&(op as u32))
    }

    /// True if a required candidate (other than an observer) does `action`: placing it
    /// dominates placing an optional twin.
    fn required_candidate_does(&self, action: Action) -> bool {
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                return false;
            }
            if self.ops[entry.op as usize].action == action {
                return true;
            }
            node = self.main_links.next(node);
        }
        false
    }

    /// The operation whose return is the first pending one (`u32::MAX` if none).
    fn first_pending_return(&self) -> u32 {
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                return entry.op;
            }
            node = self.main_links.next(node);
        }
        u32::MAX
    }

    /// True if placing `op` now is a step towards placing `blocked`: it is `blocked`, or it
    /// gives the register a value `blocked` needs. Only the order of the search depends on it.
    fn helps(&self, op: usize, blocked: u32) -> bool {
        let Some(b) = self.ops.get(blocked as usize) else {
            return false;
        };
        if op == blocked as usize {
            return true;
        }
        let produces = match self.ops[op].action {
            Action::Write(v) | Action::Cas(_, v) => v,
            Action::Read(_) | Action::ReadOther(_) => return false,
        };
        match b.action {
            Action::Read(v) | Action::Cas(v, _) => produces == v,
            Action::ReadOther(e) => produces != e,
            Action::Write(_) => false,
        }
    }

    fn is_placed(&self, bit: u32) -> bool {
        self.req_bits[bit as usize / 64] >> (bit % 64) & 1 == 1
    }

    /// The cache hash of a configuration. Tests can make it degenerate (every configuration
    /// with the same state collides) to check that the cache never relies on it for equality.
    fn hash_of(&self, req_hash: u64, state: u32) -> u64 {
        #[cfg(test)]
        if self.weak_hash {
            return state as u64;
        }
        config_hash(req_hash, state)
    }

    /// Records the current configuration, with state `next` and required-set hash `hash`,
    /// in the cache; true if it is new.
    fn remember(&mut self, hash: u64, next: u32) -> bool {
        let first = self.first_unplaced as usize;
        let end = self.window_end.get(first).map_or(first, |&e| e as usize);
        let bits = end - first;
        let (base, shift) = (first / 64, first % 64);
        self.window.clear();
        for i in 0..bits.div_ceil(64) {
            let lo = self.req_bits[base + i] >> shift;
            let hi = match (shift, self.req_bits.get(base + i + 1)) {
                (1.., Some(&w)) => w << (64 - shift),
                _ => 0,
            };
            self.window.push(lo | hi);
        }
        if !bits.is_multiple_of(64)
            && let Some(last) = self.window.last_mut()
        {
            *last &= (1u64 << (bits % 64)) - 1;
        }
        self.cache.insert(Config {
            hash: self.hash_of(hash, next),
            state: next,
            first: self.first_unplaced,
            window: &self.window,
            opt: &self.opt_bits,
        })
    }

    /// Linearizes a required op next if the configuration it leads to is new.
    fn place_required(&mut self, op: usize, next: u32, kind: FrameKind) -> bool {
        let bit = self.bit[op];
        flip(&mut self.req_bits, bit);
        let old_first = self.first_unplaced;
        while self.first_unplaced < self.window_end.len() as u32 && self.is_placed(self.first_unplaced) {
            self.first_unplaced += 1;
        }
        let hash = self.req_hash ^ self.zobrist[op];
        if !self.remember(hash, next) {
            flip(&mut self.req_bits, bit);
            self.first_unplaced = old_first;
            return false;
        }
        self.stack.push(Frame {
            op: op as u32,
            prev_state: self.state,
            kind,
        });
        self.state = next;
        self.req_hash = hash;
        self.remaining -= 1;
        self.main_links.lift(self.call_node[op]);
        self.main_links.lift(self.ret_node[op]);
        true
    }

    /// Linearizes an optional op next if the configuration it leads to is new.
    fn place_optional(&mut self, op: usize, next: u32, limit: usize) -> bool {
        flip(&mut self.opt_bits, self.bit[op]);
        if !self.remember(self.req_hash, next) {
            flip(&mut self.opt_bits, self.bit[op]);
            return false;
        }
        self.stack.push(Frame {
            op: op as u32,
            prev_state: self.state,
            kind: FrameKind::Optional { limit },
        });
        self.state = next;
        self.opt_links.lift(self.opt_node[op]);
        self.group_placed[self.opt_group[op] as usize] += 1;
        true
    }

    /// Takes back the last placed op.
    fn undo(&mut self) -> Option<Frame> {
        let frame = self.stack.pop()?;
        let op = frame.op as usize;
        self.state = frame.prev_state;
        if self.ops[op].required() {
            flip(&mut self.req_bits, self.bit[op]);
            self.first_unplaced = self.first_unplaced.min(self.bit[op]);
            self.req_hash ^= self.zobrist[op];
            self.remaining += 1;
            self.main_links.unlift(self.ret_node[op]);
            self.main_links.unlift(self.call_node[op]);
        } else {
            flip(&mut self.opt_bits, self.bit[op]);
            self.opt_links.unlift(self.opt_node[op]);
            self.group_placed[self.opt_group[op] as usize] -= 1;
        }
        Some(frame)
    }

    /// Remembers the current configuration if it is the deepest dead end so far, with the
    /// operation that blocks it (the first pending return).
    fn record_dead_end(&mut self) {
        if self
            .best
            .as_ref()
            .is_some_and(|(longest, _, _)| longest.len() >= self.stack.len())
        {
            return;
        }
        let mut node = self.main_links.first();
        while node != self.main_links.tail() {
            let entry = self.main[node as usize - 1];
            if !entry.is_call {
                let order = self.stack.iter().map(|f| f.op).collect();
                self.best = Some((order, entry.op, self.state));
                return;
            }
            node = self.main_links.next(node);
        }
    }
}

fn gave_up(limits: &Limits, cache: &StateCache) -> Option<GaveUp> {
    if limits.max_cache_bytes > 0 && cache.bytes() > limits.max_cache_bytes {
        return Some(GaveUp::Memory);
    }
    if limits.deadline.is_some_and(|d| Instant::now() >= d) {
        return Some(GaveUp::Deadline);
    }
    None
}

#[cfg(test)]
mod tests;
