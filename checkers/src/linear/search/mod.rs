//! The linearizability search for one key: Wing & Gong's algorithm with Lowe's memo cache.
//!
//! Required operations (those with a completion) sit in a doubly linked list of call and
//! return entries in history order. At each step the search tries to linearize a call that
//! comes before the first pending return (its operation could take effect now); if the model
//! accepts it and the resulting configuration is new, it lifts the operation out of the list
//! and goes on. Meeting a return entry means that operation can no longer be placed: the search
//! tries an optional (`info`) operation invoked before that return, then backtracks.
//!
//! Four prunings keep it fast on busy histories, all exact:
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
//! - An optional operation must be read right away: the operation placed after it may not be
//!   a blind write. In a linearization where an optional operation is followed by a write (or
//!   comes last), removing it changes no state any other operation sees; repeating that gives
//!   a linearization in which every optional operation's value is read (by a read, a cas, or
//!   a failed cas checked as a read) by the next operation, so searching only those is
//!   complete. Without it, every set of `info` writes that could have taken effect and been
//!   overwritten unseen is a configuration of its own. `prepare` drops, before the search,
//!   the optional operations that nothing could ever read that way.
//!
//! The search is exhaustive, so "not linearizable" is a proof; a deadline or a memory budget
//! makes it give up with no verdict instead.

use super::cache::StateCache;
use super::partition::LinOp;
use state::Search;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

mod candidates;
mod state;

/// When the search must stop without a verdict.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Limits<'a> {
    /// Give up at this instant.
    pub deadline: Option<Instant>,
    /// Give up once this is set (the verdict was decided elsewhere).
    pub stop: Option<&'a AtomicBool>,
    /// Give up when the memo cache holds more than this many bytes (0: no limit).
    pub max_cache_bytes: usize,
    /// Give up after about this many steps (0: no limit).
    pub max_steps: u64,
}

/// Why a key was left undecided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GaveUp {
    /// The time budget ran out.
    Deadline,
    /// The search's memo cache outgrew its memory budget.
    Memory,
    /// The search's step budget ran out.
    Steps,
    /// The search's witness failed the independent check (a bug in the search).
    BadWitness,
    /// Not searched, or its search stopped: another key had already failed, which decides the
    /// verdict (see `LinearOptions::all_keys`).
    Stopped,
}

impl GaveUp {
    /// A short machine-readable name.
    pub fn name(self) -> &'static str {
        match self {
            GaveUp::Deadline => "time-budget",
            GaveUp::Memory => "memory-budget",
            GaveUp::Steps => "step-budget",
            GaveUp::BadWitness => "bad-witness",
            GaveUp::Stopped => "not-searched",
        }
    }
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
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
        /// False when the search for `longest` was cut short by its own budget (a longer one
        /// may exist); the verdict does not depend on it.
        complete: bool,
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
    /// The key was refuted from a window of its history (`window`), not by the whole search.
    pub window_refuted: bool,
}

/// Searches for a linearization of `ops` (in invocation order) from register state `initial`.
pub(crate) fn search(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Outcome, Stats) {
    let (outcome, _, stats) = run(ops, initial, limits);
    (outcome, stats)
}

/// A legal order of some of a search's operations, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prefix {
    /// The operations, in the order the model accepts them.
    pub order: Vec<u32>,
    /// The register state after them.
    pub state: u32,
    /// False when the search gave up before it could tell whether a longer order exists.
    pub complete: bool,
}

/// The longest legal order of `ops` a search finds within `limits`: a linearization of them
/// all, or the deepest dead end, also when the search gives up.
pub(crate) fn longest_prefix(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Prefix, Stats) {
    let (outcome, deepest, stats) = run(ops, initial, limits);
    let prefix = match outcome {
        Outcome::Linearizable { witness } => Prefix {
            state: witness
                .iter()
                .fold(initial, |s, &i| ops[i as usize].action.step(s).unwrap_or(s)),
            order: witness,
            complete: true,
        },
        Outcome::NotLinearizable { longest, state, .. } => Prefix {
            order: longest,
            state,
            complete: true,
        },
        Outcome::GaveUp(_) => {
            let (order, state) = deepest.unwrap_or((Vec::new(), initial));
            Prefix {
                order,
                state,
                complete: false,
            }
        }
    };
    (prefix, stats)
}

/// Runs a search; also returns its deepest dead end (order, state) when it gave up.
fn run(ops: &[LinOp], initial: u32, limits: Limits<'_>) -> (Outcome, Option<(Vec<u32>, u32)>, Stats) {
    debug_assert!(
        ops.windows(2).all(|w| w[0].call < w[1].call),
        "ops in invocation order"
    );
    let mut s = Search::new(ops, initial);
    let outcome = s.run(limits);
    let stats = Stats {
        states: s.cache.len() as u64,
        steps: s.steps,
        window_refuted: false,
    };
    let deepest = match outcome {
        Outcome::GaveUp(_) => s.best.take().map(|(order, _, state)| (order, state)),
        _ => None,
    };
    (outcome, deepest, stats)
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

impl Search<'_> {
    fn run(&mut self, limits: Limits<'_>) -> Outcome {
        let mut cursor = Cursor::Enter;
        loop {
            self.steps += 1;
            // Limits are looked at every 4096 steps, and when the step budget runs out exactly.
            if (self.steps & 0xfff == 0 || self.steps == limits.max_steps)
                && let Some(reason) = gave_up(&limits, &self.cache, self.steps)
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
                                && self.may_come_next(self.ops[op].action)
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
                        && self.may_come_next(self.ops[op].action)
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
                            complete: true,
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
}

fn gave_up(limits: &Limits<'_>, cache: &StateCache, steps: u64) -> Option<GaveUp> {
    if limits.stop.is_some_and(|s| s.load(Ordering::Relaxed)) {
        return Some(GaveUp::Stopped);
    }
    if limits.max_steps > 0 && steps >= limits.max_steps {
        return Some(GaveUp::Steps);
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
mod tests;
