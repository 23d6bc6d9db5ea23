//! The search's state: the lists of candidates, the sets of operations placed, the stack of
//! choices and the memo cache, and the moves that change them (place, undo, remember).

use super::{Frame, FrameKind, MainEntry};
use crate::linear::cache::{Config, StateCache};
use crate::linear::links::Links;
use crate::linear::model::Action;
use crate::linear::partition::LinOp;
use rustc_hash::FxHashMap;

/// A 64-bit mixer (SplitMix64's finalizer): per-op Zobrist keys and state hashing.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The hash of a configuration: its required set's Zobrist hash mixed with the state.
#[inline]
fn config_hash(req_hash: u64, state: u32) -> u64 {
    req_hash ^ splitmix(state as u64 ^ 0x5bd1_e995)
}

/// Toggles bit `b`.
#[inline]
fn flip(bits: &mut [u64], b: u32) {
    bits[b as usize / 64] ^= 1u64 << (b % 64);
}

/// One search over one key's operations.
pub(super) struct Search<'a> {
    /// The key's operations, in invocation order.
    pub(super) ops: &'a [LinOp],
    /// Per op: its bit in `req_bits` or `opt_bits`.
    pub(super) bit: Vec<u32>,
    /// Per op: true if it never changes the state.
    pub(super) observer: Vec<bool>,
    /// Per op: the scan (`epoch`) in which it was found to be the representative of its twins.
    pub(super) representative_in: Vec<u64>,
    /// Counts the scans of required candidates.
    pub(super) epoch: u64,
    /// Scratch map from an action to the candidate with the earliest return doing it.
    pub(super) twins: FxHashMap<Action, u32>,
    /// Per optional op: its group of optional twins (same action).
    pub(super) opt_group: Vec<u32>,
    /// Per group of optional twins: its members in invocation order. Only the first member
    /// not yet placed is ever placed, so the members not placed are always a suffix.
    pub(super) group_members: Vec<Vec<u32>>,
    /// Per group of optional twins: how many of its members are placed.
    pub(super) group_placed: Vec<u32>,
    pub(super) zobrist: Vec<u64>,
    /// Call and return entries of required ops, in history order; node k is `main[k - 1]`.
    pub(super) main: Vec<MainEntry>,
    pub(super) main_links: Links,
    pub(super) call_node: Vec<u32>,
    pub(super) ret_node: Vec<u32>,
    /// Optional ops in invocation order; node k is `opt_ops[k - 1]`.
    pub(super) opt_ops: Vec<u32>,
    pub(super) opt_links: Links,
    pub(super) opt_node: Vec<u32>,
    pub(super) req_bits: Vec<u64>,
    pub(super) opt_bits: Vec<u64>,
    /// The first required bit not set (all below it are set).
    pub(super) first_unplaced: u32,
    /// Per required bit k: one past the last required bit that can be set while k is not
    /// (the operations invoked before k's return).
    pub(super) window_end: Vec<u32>,
    /// Scratch space for the window of `req_bits` stored in the cache.
    pub(super) window: Vec<u64>,
    pub(super) cache: StateCache,
    pub(super) state: u32,
    pub(super) req_hash: u64,
    pub(super) remaining: u32,
    pub(super) stack: Vec<Frame>,
    /// The deepest dead end: the order, the blocked operation, the state.
    pub(super) best: Option<(Vec<u32>, u32, u32)>,
    pub(super) steps: u64,
    #[cfg(test)]
    pub(super) weak_hash: bool,
}

impl<'a> Search<'a> {
    pub(super) fn new(ops: &'a [LinOp], initial: u32) -> Self {
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
        search.remember(0, initial, false);
        search
    }

    pub(super) fn is_placed(&self, bit: u32) -> bool {
        self.req_bits[bit as usize / 64] >> (bit % 64) & 1 == 1
    }

    /// The cache hash of a configuration. Tests can make it degenerate (every configuration
    /// with the same state collides) to check that the cache never relies on it for equality.
    pub(super) fn hash_of(&self, req_hash: u64, state: u32) -> u64 {
        #[cfg(test)]
        if self.weak_hash {
            return state as u64;
        }
        config_hash(req_hash, state)
    }

    /// True if the last operation placed was optional: the next must read the value it left
    /// (see the module comment of `search`).
    pub(super) fn after_optional(&self) -> bool {
        self.stack
            .last()
            .is_some_and(|f| matches!(f.kind, FrameKind::Optional { .. }))
    }

    /// True if `action` may be placed next: anything may, except that a blind write may not
    /// follow an optional operation (it would make that operation pointless).
    pub(super) fn may_come_next(&self, action: Action) -> bool {
        !matches!(action, Action::Write(_)) || !self.after_optional()
    }

    /// Records the current configuration, with state `next` and required-set hash `hash`,
    /// in the cache; true if it is new. `restricted`: it is reached by an optional operation.
    pub(super) fn remember(&mut self, hash: u64, next: u32, restricted: bool) -> bool {
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
            restricted,
        })
    }

    /// Linearizes a required op next if the configuration it leads to is new.
    pub(super) fn place_required(&mut self, op: usize, next: u32, kind: FrameKind) -> bool {
        let bit = self.bit[op];
        flip(&mut self.req_bits, bit);
        let old_first = self.first_unplaced;
        while self.first_unplaced < self.window_end.len() as u32 && self.is_placed(self.first_unplaced) {
            self.first_unplaced += 1;
        }
        let hash = self.req_hash ^ self.zobrist[op];
        if !self.remember(hash, next, false) {
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
    pub(super) fn place_optional(&mut self, op: usize, next: u32, limit: usize) -> bool {
        flip(&mut self.opt_bits, self.bit[op]);
        if !self.remember(self.req_hash, next, true) {
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
    pub(super) fn undo(&mut self) -> Option<Frame> {
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
    pub(super) fn record_dead_end(&mut self) {
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
