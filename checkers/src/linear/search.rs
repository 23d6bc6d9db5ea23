//! The linearizability search for one key: Wing & Gong's algorithm with Lowe's memo cache.
//!
//! Required operations (those with a completion) sit in a doubly linked list of call and
//! return entries in history order. At each step the search tries to linearize a call that
//! comes before the first pending return (its operation could take effect now); if the model
//! accepts it and the resulting configuration is new, it lifts the operation out of the list
//! and goes on. Meeting a return entry means that operation can no longer be placed: the search
//! tries an optional (`info`) operation invoked before that return, then backtracks.
//!
//! Two prunings keep it fast on busy histories, both exact:
//! - Observers first, without branching. An operation that never changes the state (a read, a
//!   failed cas checked as a read) and that the current state allows is linearized at once, and
//!   if that fails the whole configuration fails: any linearization from here can be reordered
//!   to place it first, since it changes nothing and everything that must precede it already
//!   has.
//! - Optional operations (no return entry: `info`, never completed) may take effect at any
//!   point after their invocation, or never. They are tried only after the required
//!   candidates, only if they change the state, and the cache prunes configurations dominated
//!   by one already seen (see `cache`).
//!
//! The search is exhaustive, so "not linearizable" is a proof; a deadline or a cancel flag
//! makes it give up with no verdict instead.

use super::cache::StateCache;
use super::links::Links;
use super::model::Action;
use super::partition::LinOp;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// When the search must stop without a verdict.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits<'a> {
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Give up when this flag is set (another thread asked to stop).
    pub cancel: Option<&'a AtomicBool>,
    /// Give up when the memo cache holds more than this many bytes (0: no limit).
    pub max_cache_bytes: usize,
}

/// Why a search gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The deadline passed.
    Deadline,
    /// The cancel flag was set.
    Cancelled,
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
pub(crate) fn search(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Outcome, Stats) {
    debug_assert!(ops.windows(2).all(|w| w[0].call < w[1].call), "ops in invocation order");
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
    cache: StateCache,
    state: u32,
    req_hash: u64,
    remaining: u32,
    stack: Vec<Frame>,
    /// The deepest dead end: the order, the blocked operation, the state.
    best: Option<(Vec<u32>, u32, u32)>,
    steps: u64,
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
        let observer = ops
            .iter()
            .map(|o| match o.action {
                Action::Read(_) | Action::ReadOther(_) => true,
                Action::Cas(e, n) => e == n,
                Action::Write(_) => false,
            })
            .collect();
        let req_bits = vec![0u64; (n_req as usize).div_ceil(64)];
        let opt_bits = vec![0u64; (n_opt as usize).div_ceil(64)];
        let mut cache = StateCache::new(req_bits.len(), opt_bits.len());
        cache.insert(config_hash(0, initial), initial, &req_bits, &opt_bits);
        Search {
            ops,
            bit,
            observer,
            zobrist: (0..ops.len() as u64).map(splitmix).collect(),
            main_links: Links::new(main.len()),
            main,
            call_node,
            ret_node,
            opt_links: Links::new(opt_ops.len()),
            opt_ops,
            opt_node,
            req_bits,
            opt_bits,
            cache,
            state: initial,
            req_hash: 0,
            remaining: n_req,
            stack: Vec::new(),
            best: None,
            steps: 0,
        }
    }

    fn run(&mut self, limits: Limits<'_>) -> Outcome {
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
                        None => Cursor::Required {
                            node: self.main_links.first(),
                            pass: 0,
                            blocked: self.first_pending_return(),
                        },
                    }
                }
                Cursor::Required { node, pass, blocked } => {
                    let entry = self.main.get((node as usize).wrapping_sub(1)).copied();
                    match entry {
                        Some(entry) if node != self.main_links.tail() && entry.is_call => {
                            let op = entry.op as usize;
                            if !self.observer[op]
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
                            limit: self.ops.get(blocked as usize).and_then(|b| b.ret).unwrap_or(usize::MAX),
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
                    if let Some(next) = self.ops[op].action.step(self.state)
                        && next != self.state
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
                        FrameKind::Chosen { pass, blocked } => Cursor::Required {
                            node: self.main_links.next(self.call_node[frame.op as usize]),
                            pass,
                            blocked,
                        },
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

    /// Linearizes a required op next if the configuration it leads to is new.
    fn place_required(&mut self, op: usize, next: u32, kind: FrameKind) -> bool {
        flip(&mut self.req_bits, self.bit[op]);
        let hash = self.req_hash ^ self.zobrist[op];
        if !self
            .cache
            .insert(config_hash(hash, next), next, &self.req_bits, &self.opt_bits)
        {
            flip(&mut self.req_bits, self.bit[op]);
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
        if !self
            .cache
            .insert(config_hash(self.req_hash, next), next, &self.req_bits, &self.opt_bits)
        {
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
        true
    }

    /// Takes back the last placed op.
    fn undo(&mut self) -> Option<Frame> {
        let frame = self.stack.pop()?;
        let op = frame.op as usize;
        self.state = frame.prev_state;
        if self.ops[op].required() {
            flip(&mut self.req_bits, self.bit[op]);
            self.req_hash ^= self.zobrist[op];
            self.remaining += 1;
            self.main_links.unlift(self.ret_node[op]);
            self.main_links.unlift(self.call_node[op]);
        } else {
            flip(&mut self.opt_bits, self.bit[op]);
            self.opt_links.unlift(self.opt_node[op]);
        }
        Some(frame)
    }

    /// Remembers the current configuration if it is the deepest dead end so far, with the
    /// operation that blocks it (the first pending return).
    fn record_dead_end(&mut self) {
        if self.best.as_ref().is_some_and(|(longest, _, _)| longest.len() >= self.stack.len()) {
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

fn gave_up(limits: &Limits<'_>, cache: &StateCache) -> Option<GaveUp> {
    if limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Some(GaveUp::Cancelled);
    }
    if limits.max_cache_bytes > 0 && cache.bytes() > limits.max_cache_bytes {
        return Some(GaveUp::Memory);
    }
    if limits.deadline.is_some_and(|d| Instant::now() >= d) {
        return Some(GaveUp::Deadline);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::model::Action;

    fn op(call: usize, ret: Option<usize>, action: Action) -> LinOp {
        LinOp {
            op: call,
            call,
            ret,
            action,
        }
    }

    fn run(ops: &[LinOp]) -> Outcome {
        search(ops, 0, Limits::default()).0
    }

    #[test]
    fn sequential_and_concurrent_histories() {
        // w1 [0,1], r1 [2,3]: fine.
        let ok = [op(0, Some(1), Action::Write(1)), op(2, Some(3), Action::Read(1))];
        assert_eq!(run(&ok), Outcome::Linearizable { witness: vec![0, 1] });
        // r1 [0,3] concurrent with w1 [1,2]: the read goes after the write.
        let concurrent = [op(0, Some(3), Action::Read(1)), op(1, Some(2), Action::Write(1))];
        assert_eq!(run(&concurrent), Outcome::Linearizable { witness: vec![1, 0] });
        // w1 [0,1] then r0 [2,3]: a stale read.
        let stale = [op(0, Some(1), Action::Write(1)), op(2, Some(3), Action::Read(0))];
        assert_eq!(
            run(&stale),
            Outcome::NotLinearizable {
                longest: vec![0],
                culprit: 1,
                state: 1
            }
        );
    }

    #[test]
    fn optional_ops_may_happen_late_or_never() {
        // info w1 at 0; r0 [1,2]; r1 [3,4]; r1 again [5,6].
        let late = [
            op(0, None, Action::Write(1)),
            op(1, Some(2), Action::Read(0)),
            op(3, Some(4), Action::Read(1)),
            op(5, Some(6), Action::Read(1)),
        ];
        assert_eq!(
            run(&late),
            Outcome::Linearizable {
                witness: vec![1, 0, 2, 3]
            }
        );
        // info w1 never taking effect.
        let never = [op(0, None, Action::Write(1)), op(1, Some(2), Action::Read(0))];
        assert_eq!(run(&never), Outcome::Linearizable { witness: vec![1] });
        // But it cannot take effect before it was invoked.
        let early = [op(0, Some(1), Action::Read(1)), op(2, None, Action::Write(1))];
        assert!(matches!(run(&early), Outcome::NotLinearizable { culprit: 0, .. }));
        // Nor twice: r1, r0 after w0... : info w1, ok w0 [1,2], r1 [3,4], r0 [5,6] -> invalid
        // (w1 must come after w0 for r1, then nothing resets to 0).
        let twice = [
            op(0, None, Action::Write(1)),
            op(1, Some(2), Action::Write(0)),
            op(3, Some(4), Action::Read(1)),
            op(5, Some(6), Action::Read(0)),
        ];
        assert!(matches!(run(&twice), Outcome::NotLinearizable { culprit: 3, .. }));
    }

    #[test]
    fn deadline_gives_up() {
        let ops: Vec<LinOp> = (0..10_000)
            .map(|i| op(2 * i, Some(2 * i + 1), Action::Write(1)))
            .collect();
        let limits = Limits {
            deadline: Some(Instant::now()),
            ..Limits::default()
        };
        assert_eq!(search(&ops, 0, limits).0, Outcome::GaveUp(GaveUp::Deadline));
        let limits = Limits {
            max_cache_bytes: 1000,
            ..Limits::default()
        };
        assert_eq!(search(&ops, 0, limits).0, Outcome::GaveUp(GaveUp::Memory));
    }
}
