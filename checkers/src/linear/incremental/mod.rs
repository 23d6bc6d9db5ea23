//! Linearizability checked as a history grows: each look consumes only what was added since
//! the last one.
//!
//! A run's history is read again and again while it is written (`faultline run
//! --stop-on-violation`). Checking each prefix from scratch costs the whole prefix at every
//! look; [`IncrementalCheck`] instead keeps, per key, the frontier of configurations a
//! linearization can be in (`frontier`), and feeds it each event once.
//!
//! What is settled. In a prefix, an operation invoked but not completed may still complete `ok`,
//! `fail` or `info`, and a read's value is not known before it completes; so events are fed
//! only up to the *horizon*: the invocation of the earliest operation still pending. Every
//! operation invoked before it has completed, so how it is compiled (required, optional or
//! dropped; its values) is final. Past the horizon nothing is fed until it moves; once the
//! history is finished, everything is.
//!
//! A key whose frontier empties is not linearizable, for certain: no longer history can undo
//! it (the events fed are a prefix of every continuation). A key too wide to carry exactly is
//! carried relaxed (a failure still certain, a success not proven), and one too wide even then
//! is given up here; the full check decides both. The verdict of the finished history is
//! the full check's (tested against it and a brute-force search on random histories).

mod frontier;
#[cfg(test)]
mod tests;

use super::partition::{INITIAL, LinOp, PartitionOptions, Partitioner};
use super::{LinearOptions, completion_only_error};
use crate::history::{History, HistoryError};
use crate::report::Verdict;
use frontier::Frontier;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Where one key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStanding {
    /// Linearizable so far.
    Linearizable,
    /// Not linearizable: no linearization could place this operation (its position in
    /// [`History::ops`]) before its completion.
    NotLinearizable { op: usize },
    /// Carried relaxed (too many configurations to carry exactly: operations of unknown
    /// outcome may take effect more than once): a failure would still be certain, but no
    /// failure so far proves nothing; the full check decides it.
    Relaxed,
    /// Too many configurations to carry even relaxed; only the full check can decide it.
    GivenUp,
}

/// One key's frontier and how far its events have been fed.
#[derive(Debug)]
struct KeyRun {
    frontier: Frontier,
    /// The first of the key's operations not yet invoked in the frontier.
    next_invoke: usize,
    /// Returns still to feed: (position, the key's operation index).
    returns: BinaryHeap<Reverse<(usize, u32)>>,
    standing: KeyStanding,
}

impl KeyRun {
    fn new(max_configs: usize) -> Self {
        KeyRun {
            frontier: Frontier::new(INITIAL, max_configs),
            next_invoke: 0,
            returns: BinaryHeap::new(),
            standing: KeyStanding::Linearizable,
        }
    }

    /// Feeds the key's events before `horizon`, in history order.
    fn feed(&mut self, ops: &[LinOp], horizon: usize) {
        while matches!(self.standing, KeyStanding::Linearizable | KeyStanding::Relaxed) {
            let invoke = ops.get(self.next_invoke).map(|o| o.call);
            let ret = self.returns.peek().map(|r| r.0.0).filter(|&r| r < horizon);
            match (invoke, ret) {
                (Some(call), ret) if call < horizon && ret.is_none_or(|r| call < r) => {
                    let i = self.next_invoke;
                    let op = &ops[i];
                    self.frontier.invoke(i as u32, op.action, op.ret);
                    if let Some(r) = op.ret {
                        self.returns.push(Reverse((r, i as u32)));
                    }
                    self.next_invoke += 1;
                }
                (_, Some(_)) => {
                    let Some(Reverse((_, i))) = self.returns.pop() else {
                        break;
                    };
                    self.standing = match self.frontier.ret(i) {
                        Ok(true) if self.frontier.is_relaxed() => KeyStanding::Relaxed,
                        Ok(true) => KeyStanding::Linearizable,
                        Ok(false) => KeyStanding::NotLinearizable {
                            op: ops[i as usize].op,
                        },
                        Err(frontier::TooWide) => {
                            self.frontier = Frontier::new(INITIAL, 0);
                            KeyStanding::GivenUp
                        }
                    };
                }
                _ => break,
            }
        }
    }
}

/// A linearizability check fed successive prefixes of one history.
#[derive(Debug)]
pub struct IncrementalCheck {
    opts: LinearOptions,
    partitioner: Partitioner,
    runs: Vec<KeyRun>,
    /// The first operation of the history not yet routed to its key.
    next_op: usize,
    /// Events fed so far: every event before this position.
    horizon: usize,
    finished: bool,
    /// A key whose frontier would hold more configurations than this is given up.
    max_configs: usize,
}

impl IncrementalCheck {
    /// A check with `opts`' model, initial value, failed-cas treatment and key routing (its
    /// budgets are the full check's, not this one's).
    pub fn new(opts: &LinearOptions) -> Self {
        IncrementalCheck {
            opts: opts.clone(),
            partitioner: Partitioner::new(PartitionOptions {
                model: opts.model,
                failed_cas: opts.failed_cas,
                independent: opts.independent,
                initial: opts.initial.clone(),
            }),
            runs: Vec::new(),
            next_op: 0,
            horizon: 0,
            finished: false,
            max_configs: frontier::MAX_CONFIGS,
        }
    }

    /// The same check giving a key up once its frontier would hold more than `max_configs`
    /// configurations (0: every key, at its first return; for tests of what happens then).
    pub fn with_max_configs(mut self, max_configs: usize) -> Self {
        self.max_configs = max_configs;
        self
    }

    /// Feeds what `history` (a longer prefix of the same history than the last call's) adds;
    /// `finished` when it is the whole history (operations still pending then never complete).
    /// A bad operation is the same error the full check gives.
    pub fn advance(&mut self, history: &History, finished: bool) -> Result<(), HistoryError> {
        if history.completion_only {
            return Err(completion_only_error(history));
        }
        let ops = &history.ops;
        let horizon = match finished {
            true => usize::MAX,
            false => ops
                .get(self.next_op..)
                .unwrap_or_default()
                .iter()
                .filter(|o| o.complete.is_none())
                .map(|o| o.invoke)
                .min()
                .unwrap_or(history.events.len()),
        };
        while let Some(op) = ops.get(self.next_op).filter(|o| o.invoke < horizon) {
            let key = self.partitioner.add(history, op)?;
            if key == self.runs.len() {
                self.runs.push(KeyRun::new(self.max_configs));
            }
            self.next_op += 1;
        }
        for (run, key) in self.runs.iter_mut().zip(&self.partitioner.keys) {
            run.feed(&key.ops, horizon);
        }
        self.horizon = self.horizon.max(horizon.min(history.events.len()));
        self.finished = finished;
        Ok(())
    }

    /// Each key (`None`: the history names none) with its standing, in order of first appearance.
    pub fn keys(&self) -> impl Iterator<Item = (Option<&Value>, KeyStanding)> {
        self.partitioner
            .keys
            .iter()
            .zip(&self.runs)
            .map(|(k, r)| (k.key.as_ref(), r.standing))
    }

    /// The first key found not linearizable, with the operation that could not be placed.
    pub fn first_violation(&self) -> Option<(Option<&Value>, usize)> {
        self.keys().find_map(|(key, standing)| match standing {
            KeyStanding::NotLinearizable { op } => Some((key, op)),
            _ => None,
        })
    }

    /// The options it was made with.
    pub fn options(&self) -> &LinearOptions {
        &self.opts
    }

    /// The keys given up (too wide to carry), for a check from scratch.
    pub fn given_up(&self) -> Vec<Option<Value>> {
        self.keys()
            .filter(|(_, s)| *s == KeyStanding::GivenUp)
            .map(|(k, _)| k.cloned())
            .collect()
    }

    /// The keys carried relaxed (see [`KeyStanding::Relaxed`]).
    pub fn relaxed(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.standing == KeyStanding::Relaxed)
            .count()
    }

    /// Invalid once a key is; valid once the finished history has every key linearizable;
    /// unknown otherwise (not finished, or a key relaxed or given up).
    pub fn verdict(&self) -> Verdict {
        let standings = || self.runs.iter().map(|r| r.standing);
        if standings().any(|s| matches!(s, KeyStanding::NotLinearizable { .. })) {
            Verdict::Invalid
        } else if self.finished && standings().all(|s| s == KeyStanding::Linearizable) {
            Verdict::Valid
        } else {
            Verdict::Unknown
        }
    }

    /// Events fed so far (every event before this position of the history).
    pub fn events_fed(&self) -> usize {
        self.horizon
    }

    /// The most configurations any key's frontier has held.
    pub fn widest_frontier(&self) -> usize {
        self.runs.iter().map(|r| r.frontier.widest).max().unwrap_or(0)
    }

    /// Operations open now across keys (pending, and of unknown outcome still placeable).
    pub fn open_ops(&self) -> usize {
        self.runs.iter().map(|r| r.frontier.open_ops()).sum()
    }
}
