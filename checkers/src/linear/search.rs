//! The linearizability search for one key: Wing & Gong's algorithm with Lowe's memo cache.
//!
//! Required operations (those with a completion) sit in a doubly linked list of call and
//! return entries in history order. At each step the search tries to linearize a call that
//! comes before the first pending return (its operation could take effect now); if the model
//! accepts it and the resulting configuration is new, it lifts the operation out of the list
//! and goes on. Meeting a return entry means that operation can no longer be placed: the search
//! tries an optional (`info`) operation invoked before that return, then backtracks.
//!
//! Optional operations have no return entry: they may take effect at any point after their
//! invocation, or never. They are tried only after the required candidates, and only if they
//! change the register's state; the cache prunes configurations dominated by one already seen
//! (see `cache`). The search is exhaustive, so "not linearizable" is a proof; a deadline or a
//! cancel flag makes it give up with no verdict instead.

use super::cache::StateCache;
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
}

/// Why a search gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The deadline passed.
    Deadline,
    /// The cancel flag was set.
    Cancelled,
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

const HEAD: u32 = 0;

/// A doubly linked list over nodes `1..=n`, with a head (0) and tail (n+1) sentinel.
struct Links {
    next: Vec<u32>,
    prev: Vec<u32>,
}

impl Links {
    fn new(n: usize) -> Self {
        let next = (1..=n as u32 + 1).chain([n as u32 + 1]).collect();
        let prev = [0].into_iter().chain(0..=n as u32).collect();
        Links { next, prev }
    }

    fn tail(&self) -> u32 {
        (self.next.len() - 1) as u32
    }

    #[inline]
    fn lift(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    /// Restores a lifted node; nodes must be restored in the reverse order of lifting.
    #[inline]
    fn unlift(&mut self, node: u32) {
        let (p, n) = (self.prev[node as usize], self.next[node as usize]);
        self.next[p as usize] = node;
        self.prev[n as usize] = node;
    }
}

#[derive(Clone, Copy)]
struct MainEntry {
    op: u32,
    is_call: bool,
    pos: usize,
}

/// Where the scan of candidates at the current configuration stands.
#[derive(Clone, Copy)]
enum Cursor {
    /// Scanning the required list at this node.
    Required(u32),
    /// Scanning optional operations at this node; those invoked after `limit` (the position of
    /// the first pending return, whose operation is `blocked`) are not candidates.
    Optional { node: u32, limit: usize, blocked: u32 },
}

struct Frame {
    op: u32,
    prev_state: u32,
    /// For an optional operation: the scan it was taken from, to resume after backtracking.
    limit: usize,
    blocked: u32,
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

/// Searches for a linearization of `ops` (in invocation order) from register state `initial`.
pub(crate) fn search(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Outcome, Stats) {
    // Bit positions: required ops and optional ops are numbered separately.
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
    // Node k (1-based) of the main list is main[k - 1].
    let mut call_node = vec![0u32; ops.len()];
    let mut ret_node = vec![0u32; ops.len()];
    for (k, e) in main.iter().enumerate() {
        if e.is_call {
            call_node[e.op as usize] = k as u32 + 1;
        } else {
            ret_node[e.op as usize] = k as u32 + 1;
        }
    }
    let mut opt_node = vec![0u32; ops.len()];
    for (k, &op) in opt_ops.iter().enumerate() {
        opt_node[op as usize] = k as u32 + 1;
    }
    let zobrist: Vec<u64> = (0..ops.len() as u64).map(splitmix).collect();
    let mut main_links = Links::new(main.len());
    let mut opt_links = Links::new(opt_ops.len());
    let main_tail = main_links.tail();
    let opt_tail = opt_links.tail();
    let mut req_bits = vec![0u64; (n_req as usize).div_ceil(64)];
    let mut opt_bits = vec![0u64; (n_opt as usize).div_ceil(64)];
    let mut cache = StateCache::new(req_bits.len(), opt_bits.len());

    let mut state = initial;
    let mut req_hash = 0u64;
    let mut remaining = n_req;
    let mut stack: Vec<Frame> = Vec::new();
    let mut best: Option<(Vec<u32>, u32, u32)> = None;
    let mut stats = Stats::default();
    cache.insert(config_hash(req_hash, state), state, &req_bits, &opt_bits);
    let mut cursor = Cursor::Required(main_links.next[HEAD as usize]);

    let flip = |bits: &mut [u64], b: u32| bits[b as usize / 64] ^= 1u64 << (b % 64);

    loop {
        stats.steps += 1;
        if stats.steps & 0xfff == 0
            && let Some(reason) = gave_up(&limits)
        {
            stats.states = cache.len() as u64;
            return (Outcome::GaveUp(reason), stats);
        }
        if remaining == 0 {
            stats.states = cache.len() as u64;
            let witness = stack.iter().map(|f| f.op).collect();
            return (Outcome::Linearizable { witness }, stats);
        }
        match cursor {
            Cursor::Required(node) => {
                if node == main_tail {
                    // Unreachable while required ops remain; treat as "no deadline".
                    let first = opt_links.next[HEAD as usize];
                    cursor = Cursor::Optional {
                        node: first,
                        limit: usize::MAX,
                        blocked: u32::MAX,
                    };
                    continue;
                }
                let entry = main[node as usize - 1];
                if !entry.is_call {
                    cursor = Cursor::Optional {
                        node: opt_links.next[HEAD as usize],
                        limit: entry.pos,
                        blocked: entry.op,
                    };
                    continue;
                }
                let op = entry.op as usize;
                if let Some(next_state) = ops[op].action.step(state) {
                    flip(&mut req_bits, bit[op]);
                    let h = req_hash ^ zobrist[op];
                    if cache.insert(config_hash(h, next_state), next_state, &req_bits, &opt_bits) {
                        stack.push(Frame {
                            op: op as u32,
                            prev_state: state,
                            limit: 0,
                            blocked: 0,
                        });
                        state = next_state;
                        req_hash = h;
                        remaining -= 1;
                        main_links.lift(call_node[op]);
                        main_links.lift(ret_node[op]);
                        cursor = Cursor::Required(main_links.next[HEAD as usize]);
                        continue;
                    }
                    flip(&mut req_bits, bit[op]);
                }
                cursor = Cursor::Required(main_links.next[node as usize]);
            }
            Cursor::Optional { node, limit, blocked } => {
                let exhausted = node == opt_tail || ops[opt_ops[node as usize - 1] as usize].call > limit;
                if !exhausted {
                    let op = opt_ops[node as usize - 1] as usize;
                    if let Some(next_state) = ops[op].action.step(state)
                        && next_state != state
                    {
                        flip(&mut opt_bits, bit[op]);
                        if cache.insert(
                            config_hash(req_hash, next_state),
                            next_state,
                            &req_bits,
                            &opt_bits,
                        ) {
                            stack.push(Frame {
                                op: op as u32,
                                prev_state: state,
                                limit,
                                blocked,
                            });
                            state = next_state;
                            opt_links.lift(node);
                            cursor = Cursor::Required(main_links.next[HEAD as usize]);
                            continue;
                        }
                        flip(&mut opt_bits, bit[op]);
                    }
                    cursor = Cursor::Optional {
                        node: opt_links.next[node as usize],
                        limit,
                        blocked,
                    };
                    continue;
                }
                // Nothing can be placed here: remember the deepest dead end, then backtrack.
                if best
                    .as_ref()
                    .is_none_or(|(longest, _, _)| stack.len() > longest.len())
                {
                    best = Some((stack.iter().map(|f| f.op).collect(), blocked, state));
                }
                let Some(frame) = stack.pop() else {
                    stats.states = cache.len() as u64;
                    let (longest, culprit, state) = best.unwrap_or_default();
                    return (
                        Outcome::NotLinearizable {
                            longest,
                            culprit,
                            state,
                        },
                        stats,
                    );
                };
                let op = frame.op as usize;
                state = frame.prev_state;
                if ops[op].required() {
                    flip(&mut req_bits, bit[op]);
                    req_hash ^= zobrist[op];
                    remaining += 1;
                    main_links.unlift(ret_node[op]);
                    main_links.unlift(call_node[op]);
                    cursor = Cursor::Required(main_links.next[call_node[op] as usize]);
                } else {
                    flip(&mut opt_bits, bit[op]);
                    opt_links.unlift(opt_node[op]);
                    cursor = Cursor::Optional {
                        node: opt_links.next[opt_node[op] as usize],
                        limit: frame.limit,
                        blocked: frame.blocked,
                    };
                }
            }
        }
    }
}

fn gave_up(limits: &Limits<'_>) -> Option<GaveUp> {
    if limits.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Some(GaveUp::Cancelled);
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
            cancel: None,
        };
        assert_eq!(search(&ops, 0, limits).0, Outcome::GaveUp(GaveUp::Deadline));
    }
}
