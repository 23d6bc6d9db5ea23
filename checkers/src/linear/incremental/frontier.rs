//! Just-in-time linearization of one key (after Lowe, "Testing for linearizability", 2017),
//! carried from one event to the next so that a growing history is checked once, not again
//! from its start at every look.
//!
//! The frontier is the set of configurations a linearization of the events seen so far can be
//! in: the register's state and which *open* operations (invoked and not yet returned, or of
//! unknown outcome) it has already placed. Events arrive in history order. An invocation opens
//! its operation and changes nothing else. The return of a required operation `o` forces it:
//! each configuration that has not placed `o` yet is extended by every chain of open operations
//! that ends with `o`. Placing every operation as late as its return allows loses no
//! linearization (in any linearization, move each operation's point as late as possible without
//! changing the order: it lands just before the return that forces it, and the operations
//! between two returns form a chain ending with the one returning), so an empty frontier
//! proves that no linearization exists, and a frontier still holding a configuration at the
//! end is a linearization's last step.
//!
//! The search's exact prunings (see `search`) keep the frontier small:
//! - An observer (a read, a failed cas checked as a read) that the state allows is placed at
//!   once, without branching: anything that follows can be reordered to place it first.
//! - An optional operation is placed only if it changes the state and the next operation in the
//!   chain is not a blind write: an optional operation overwritten unseen can be left out.
//!   Chains end with a required operation, so every optional operation in one is followed.
//! - Dominance: of two configurations with the same state, one that has placed a subset of the
//!   other's operations, the difference being optional, can do everything the other can.
//! - An optional operation placed in every configuration can never be placed again: it is
//!   forgotten.
//!
//! Past a bound on configurations, the frontier *relaxes*: operations of unknown outcome may
//! then take effect more than once, so configurations no longer record which of them were
//! placed, and the frontier shrinks to states and required operations. That only adds
//! configurations, so an empty relaxed frontier is still a proof that no linearization exists;
//! a non-empty one proves nothing (the full search decides). Keys go wide this way when many
//! writes of unknown outcome share few values: each configuration is then a different choice
//! of which of them were used. A key too wide even relaxed is given up ([`TooWide`]).

use crate::linear::model::Action;
use rustc_hash::FxHashSet;

/// More configurations than this in a frontier: the key is given up (by default; see
/// [`Frontier::new`]).
pub(crate) const MAX_CONFIGS: usize = 4_000;

/// More chain steps than this for one return: the key is given up.
pub(crate) const MAX_CHAIN_STEPS: usize = 100_000;

/// Groups of configurations sharing a state larger than this skip the quadratic dominance test
/// (dropping dominated configurations is an optimisation; keeping them is exact).
const MAX_DOMINANCE_GROUP: usize = 256;

/// The key outgrew the frontier's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooWide;

/// One configuration: the register's state and the open operations already placed, sorted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Config {
    state: u32,
    placed: Vec<u32>,
}

impl Config {
    fn has(&self, op: u32) -> bool {
        self.placed.binary_search(&op).is_ok()
    }

    fn with(&self, op: u32, state: u32) -> Config {
        let mut placed = Vec::with_capacity(self.placed.len() + 1);
        let at = self.placed.partition_point(|&p| p < op);
        placed.extend_from_slice(&self.placed[..at]);
        placed.push(op);
        placed.extend_from_slice(&self.placed[at..]);
        Config { state, placed }
    }

    fn without(mut self, op: u32) -> Config {
        if let Ok(at) = self.placed.binary_search(&op) {
            self.placed.remove(at);
        }
        self
    }
}

/// An operation invoked and not yet returned (required), or of unknown outcome (optional).
#[derive(Debug, Clone, Copy)]
struct Open {
    op: u32,
    action: Action,
    required: bool,
    /// The position of its return (`usize::MAX` for an optional operation).
    ret: usize,
}

/// The open optional operations doing one thing, in invocation order: twins, placed first to
/// last (see [`Frontier::candidates`]).
#[derive(Debug, Clone)]
struct Twins {
    action: Action,
    ops: Vec<u32>,
}

/// The configurations of one key after the events seen so far.
#[derive(Debug, Clone)]
pub(crate) struct Frontier {
    configs: Vec<Config>,
    /// Required operations invoked and not yet returned.
    required: Vec<Open>,
    /// Optional operations not forgotten, grouped by what they do.
    optional: Vec<Twins>,
    /// The same optional operations, by number.
    optional_ids: FxHashSet<u32>,
    /// The most configurations the frontier has held.
    pub widest: usize,
    /// More configurations than this: the frontier relaxes, and if still wider, gives up.
    max_configs: usize,
    /// Optional operations may take effect more than once (see the module docs).
    relaxed: bool,
}

impl Frontier {
    /// A register holding `initial`, no event seen; given up past `max_configs` configurations.
    pub(crate) fn new(initial: u32, max_configs: usize) -> Self {
        Frontier {
            configs: vec![Config {
                state: initial,
                placed: Vec::new(),
            }],
            required: Vec::new(),
            optional: Vec::new(),
            optional_ids: FxHashSet::default(),
            widest: 1,
            max_configs,
            relaxed: false,
        }
    }

    /// Operations open now (required ones not yet returned, and optional ones not forgotten).
    pub(crate) fn open_ops(&self) -> usize {
        self.required.len() + self.optional_ids.len()
    }

    /// The invocation of operation `op`, with the position of the return it must precede
    /// (`None`: optional).
    pub(crate) fn invoke(&mut self, op: u32, action: Action, ret: Option<usize>) {
        match ret {
            Some(ret) => self.required.push(Open {
                op,
                action,
                required: true,
                ret,
            }),
            None => {
                self.optional_ids.insert(op);
                match self.optional.iter_mut().find(|t| t.action == action) {
                    Some(twins) => twins.ops.push(op),
                    None => self.optional.push(Twins {
                        action,
                        ops: vec![op],
                    }),
                }
            }
        }
    }

    /// The return of required operation `op`: every configuration places it. `Ok(false)` when no
    /// configuration can (the key is not linearizable; the frontier is then left empty).
    pub(crate) fn ret(&mut self, op: u32) -> Result<bool, TooWide> {
        let configs = std::mem::take(&mut self.configs);
        let next = match self.forced(&configs, op) {
            Ok(next) => next,
            Err(TooWide) if !self.relaxed => {
                self.relaxed = true;
                let relaxed: FxHashSet<Config> =
                    configs.into_iter().map(|c| self.without_optional(c)).collect();
                let relaxed: Vec<Config> = relaxed.into_iter().collect();
                self.forced(&relaxed, op)?
            }
            Err(TooWide) => return Err(TooWide),
        };
        self.required.retain(|o| o.op != op);
        let canonical: FxHashSet<Config> = next.into_iter().map(|c| self.observed(c)).collect();
        self.configs = canonical.into_iter().collect();
        self.drop_dominated();
        self.forget_placed_everywhere();
        self.widest = self.widest.max(self.configs.len());
        Ok(!self.configs.is_empty())
    }

    /// True once optional operations may take effect more than once (an empty frontier is still
    /// a proof; a non-empty one is not).
    pub(crate) fn is_relaxed(&self) -> bool {
        self.relaxed
    }

    /// Each configuration of `configs` with required operation `op` placed, then forgotten.
    fn forced(&self, configs: &[Config], op: u32) -> Result<FxHashSet<Config>, TooWide> {
        let mut next: FxHashSet<Config> = FxHashSet::default();
        let mut steps = 0;
        for config in configs {
            if config.has(op) {
                next.insert(config.clone().without(op));
            } else {
                for reached in self.chains_to(config, op, &mut steps)? {
                    next.insert(reached.without(op));
                }
            }
            if next.len() > self.max_configs {
                return Err(TooWide);
            }
        }
        Ok(next)
    }

    /// `config` without the optional operations it placed (for a relaxed frontier).
    fn without_optional(&self, mut config: Config) -> Config {
        config.placed.retain(|p| !self.optional_ids.contains(p));
        config
    }

    /// Every configuration reached from `from` by a chain of open operations ending with `last`.
    fn chains_to(&self, from: &Config, last: u32, steps: &mut usize) -> Result<Vec<Config>, TooWide> {
        let mut reached = Vec::new();
        let mut seen: FxHashSet<(Config, bool)> = FxHashSet::default();
        // (configuration, whether the operation placed last was optional)
        let mut stack = vec![(from.clone(), false)];
        let mut candidates = Vec::new();
        while let Some((config, after_optional)) = stack.pop() {
            *steps += 1;
            if *steps > MAX_CHAIN_STEPS {
                return Err(TooWide);
            }
            match self.allowed_observer(&config) {
                Some(observer) => {
                    candidates.clear();
                    candidates.push((observer, config.state));
                }
                None => self.candidates(&config, after_optional, &mut candidates),
            }
            for &(op, state) in &candidates {
                let next = match op.required || !self.relaxed {
                    true => config.with(op.op, state),
                    false => Config {
                        state,
                        placed: config.placed.clone(),
                    },
                };
                if op.op == last {
                    reached.push(next);
                } else if seen.insert((next.clone(), !op.required)) {
                    stack.push((next, !op.required));
                }
            }
        }
        Ok(reached)
    }

    /// The operations a chain may place next from `config`, with the state each leaves. Of
    /// several unplaced operations doing the same thing, only one: the required one that must
    /// return first, or else the optional one invoked first. Swapping two operations doing the
    /// same thing in a linearization keeps every state and every real-time constraint (the one
    /// returning first goes first), and an optional one can give way to a required one, so the
    /// others find nothing new; always placing the first optional twin also keeps
    /// configurations that differ only in which twin they placed from being told apart. An
    /// optional operation must change the state, and a blind write may not follow one.
    fn candidates(&self, config: &Config, after_optional: bool, out: &mut Vec<(Open, u32)>) {
        out.clear();
        let unplaced = |o: &&Open| !config.has(o.op);
        let may_follow = |action: Action| !(after_optional && matches!(action, Action::Write(_)));
        for op in self.required.iter().filter(unplaced) {
            let first_twin = !self
                .required
                .iter()
                .filter(unplaced)
                .any(|t| t.action == op.action && (t.ret, t.op) < (op.ret, op.op));
            if first_twin
                && may_follow(op.action)
                && let Some(state) = op.action.step(config.state)
            {
                out.push((*op, state));
            }
        }
        for twins in &self.optional {
            if !may_follow(twins.action)
                || self
                    .required
                    .iter()
                    .filter(unplaced)
                    .any(|r| r.action == twins.action)
            {
                continue;
            }
            let Some(state) = twins.action.step(config.state).filter(|&s| s != config.state) else {
                continue;
            };
            if let Some(&op) = twins.ops.iter().find(|&&op| !config.has(op)) {
                let op = Open {
                    op,
                    action: twins.action,
                    required: false,
                    ret: usize::MAX,
                };
                out.push((op, state));
            }
        }
    }

    /// An open required operation that does not change the state and that `config` allows.
    fn allowed_observer(&self, config: &Config) -> Option<Open> {
        self.required.iter().copied().find(|o| {
            matches!(o.action, Action::Read(_) | Action::ReadOther(_))
                && !config.has(o.op)
                && o.action.step(config.state).is_some()
        })
    }

    /// `config` with every observer its state allows placed.
    fn observed(&self, mut config: Config) -> Config {
        while let Some(observer) = self.allowed_observer(&config) {
            config = config.with(observer.op, config.state);
        }
        config
    }

    /// Drops each configuration that another with the same state dominates: it placed a subset
    /// of the other's operations, the others it lacks all optional.
    fn drop_dominated(&mut self) {
        self.configs.sort_unstable_by_key(|c| (c.state, c.placed.len()));
        let mut keep = vec![true; self.configs.len()];
        let mut start = 0;
        while start < self.configs.len() {
            let state = self.configs[start].state;
            let end = start + self.configs[start..].partition_point(|c| c.state == state);
            if end - start <= MAX_DOMINANCE_GROUP {
                for a in start..end {
                    for b in start..end {
                        if a != b
                            && keep[b]
                            && dominates(&self.configs[b], &self.configs[a], &self.optional_ids)
                        {
                            keep[a] = false;
                            break;
                        }
                    }
                }
            }
            start = end;
        }
        let mut keep = keep.into_iter();
        self.configs.retain(|_| keep.next().unwrap_or(true));
    }

    /// Forgets the optional operations every configuration has placed: none can place them
    /// again, so they no longer tell configurations apart.
    fn forget_placed_everywhere(&mut self) {
        let Some(first) = self.configs.first() else {
            return;
        };
        let everywhere: FxHashSet<u32> = first
            .placed
            .iter()
            .copied()
            .filter(|p| self.optional_ids.contains(p) && self.configs.iter().all(|c| c.has(*p)))
            .collect();
        if everywhere.is_empty() {
            return;
        }
        self.optional_ids.retain(|p| !everywhere.contains(p));
        for twins in &mut self.optional {
            twins.ops.retain(|p| !everywhere.contains(p));
        }
        self.optional.retain(|t| !t.ops.is_empty());
        for config in &mut self.configs {
            config.placed.retain(|p| !everywhere.contains(p));
        }
    }
}

/// True if `better` placed a strict subset of `worse`'s operations and those it lacks are all in
/// `optional`.
fn dominates(better: &Config, worse: &Config, optional: &FxHashSet<u32>) -> bool {
    better.placed.len() < worse.placed.len()
        && better.placed.iter().all(|&p| worse.has(p))
        && worse
            .placed
            .iter()
            .all(|&p| better.has(p) || optional.contains(&p))
}
