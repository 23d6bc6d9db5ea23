//! Exactness of the prunings around the search (`prepare`'s drops and deadlines, `precheck`'s
//! refutations, `window`'s refutations from a suffix of the history, the runner's staged search,
//! the search's rule that an optional operation is read right away), against a
//! brute-force search over every order, on random small histories of compiled operations. Each
//! rule must fire often enough here that a generator no longer exercising it fails the test.
//! (`tests/linear_oracle.rs` checks the whole checker, from history files, the same way.)
//! `FAULTLINE_ORACLE_SCALE=N` runs N times as many cases.

use super::model::Action;
use super::partition::LinOp;
use super::search::{self, Limits, Outcome};
use super::{precheck, prepare, runner, window, witness};
use rustc_hash::FxHashSet;

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Operations invoked one to four steps apart, lasting up to 8 steps; a third of the writes
/// and cas operations have unknown outcomes. With `fresh`, every write and cas writes a new
/// value (so values have one producer), else values are drawn from 0..4. Results come from a
/// simulated register (each operation takes effect at a point inside its interval; one of
/// unknown outcome later, or never) and 70% of the time one read is then made to see something
/// else: with fresh values, usually an older value (a stale read).
fn random_ops(rng: &mut Lcg, fresh: bool, initial: u32) -> Vec<LinOp> {
    let n = 4 + rng.below(9) as usize;
    let mut ops = Vec::new();
    let mut effect_at = Vec::new();
    let mut t = 0;
    let mut next_value = initial + 1;
    for _ in 0..n {
        t += 1 + rng.below(4) as usize;
        let ret = t + 1 + rng.below(8) as usize;
        let new = if fresh {
            next_value += 1;
            next_value - 1
        } else {
            rng.below(4) as u32
        };
        let action = match rng.below(5) {
            0 | 1 => Action::Read(0),
            2 | 3 => Action::Write(new),
            _ => Action::Cas(0, new),
        };
        let unknown = !matches!(action, Action::Read(_)) && rng.chance(33);
        // In half-steps: the call at 2t, the return at 2ret + 1, the effect in between.
        let at = 2 * t + 1 + 2 * rng.below((ret - t) as u64) as usize;
        effect_at.push(match unknown {
            true if rng.chance(50) => None,
            true => Some(at + 2 * rng.below(10) as usize),
            false => Some(at),
        });
        ops.push(LinOp::at(2 * t, (!unknown).then_some(2 * ret + 1), action));
    }
    let mut order: Vec<usize> = (0..n).filter(|&i| effect_at[i].is_some()).collect();
    order.sort_by_key(|&i| effect_at[i]);
    let mut state = initial;
    let mut history = vec![initial];
    for i in order {
        ops[i].action = match ops[i].action {
            Action::Read(_) => Action::Read(state),
            Action::Cas(_, new) if rng.chance(70) => Action::Cas(state, new),
            Action::Cas(..) if ops[i].required() => {
                Action::ReadOther(history[rng.below(history.len() as u64) as usize] ^ 1)
            }
            other => other,
        };
        if let Some(next) = ops[i].action.step(state) {
            if next != state {
                history.push(next);
            }
            state = next;
        }
    }
    let reads: Vec<usize> = (0..n)
        .filter(|&i| matches!(ops[i].action, Action::Read(_)))
        .collect();
    if !reads.is_empty() && rng.chance(70) {
        let i = reads[rng.below(reads.len() as u64) as usize];
        let seen = match fresh {
            true if rng.chance(80) => history[rng.below(history.len() as u64) as usize],
            _ => rng.below(4) as u32,
        };
        ops[i].action = Action::Read(seen);
    }
    ops
}

/// True if some order of `ops` is legal: the model accepts it from `initial`, every required
/// operation is in it, none twice, and none comes after an operation invoked after it returned.
fn brute_force(ops: &[LinOp], initial: u32) -> bool {
    fn rest(ops: &[LinOp], placed: u32, state: u32, failed: &mut FxHashSet<(u32, u32)>) -> bool {
        let unplaced = |j: usize| placed >> j & 1 == 0;
        if (0..ops.len()).all(|j| !unplaced(j) || !ops[j].required()) {
            return true;
        }
        if failed.contains(&(placed, state)) {
            return false;
        }
        for i in (0..ops.len()).filter(|&i| unplaced(i)) {
            let must_wait =
                (0..ops.len()).any(|j| unplaced(j) && ops[j].ret.is_some_and(|r| r < ops[i].call));
            if must_wait {
                continue;
            }
            if let Some(next) = ops[i].action.step(state)
                && rest(ops, placed | 1 << i, next, failed)
            {
                return true;
            }
        }
        failed.insert((placed, state));
        false
    }
    rest(ops, 0, initial, &mut FxHashSet::default())
}

#[derive(Debug, Default)]
struct Fired {
    valid: usize,
    invalid: usize,
    dropped_unknown: usize,
    dropped_reads: usize,
    deadlines: usize,
    overwritten: usize,
    unsourced: usize,
    windows: usize,
    window_refutes: usize,
    staged_windows: usize,
}

fn check_one(ops: &[LinOp], initial: u32, fired: &mut Fired) {
    let expected = brute_force(ops, initial);
    let plain = search::search(ops, initial, Limits::default()).0;
    let prepared = prepare::prepare(ops, initial);
    let simplified = prepare::search(ops, initial, Limits::default()).0;
    // The runner's search with small step budgets, so that many histories go through windows.
    let mut outcomes = vec![plain, simplified.clone()];
    for steps in [1, 2 + ops.len() as u64] {
        let (staged, stats) = runner::staged_search(ops, initial, Limits::default(), steps, &[1, 2, 4]);
        fired.staged_windows += usize::from(stats.window_refuted);
        outcomes.push(staged);
    }
    for outcome in &outcomes {
        match outcome {
            Outcome::Linearizable { .. } => assert!(expected, "a false valid for {ops:?}: {outcome:?}"),
            Outcome::NotLinearizable { .. } => assert!(!expected, "a false invalid for {ops:?}: {outcome:?}"),
            Outcome::GaveUp(why) => panic!("gave up ({why:?}) on {ops:?}"),
        }
    }
    if let Outcome::Linearizable { witness } = &simplified {
        assert_eq!(witness::verify(ops, initial, witness), Ok(()), "{ops:?}");
    }
    if let Outcome::NotLinearizable { longest, culprit, .. } = &simplified {
        assert!(!longest.contains(culprit), "{ops:?}");
    }
    if precheck::overwritten(ops, initial).is_some() {
        assert!(
            !expected,
            "the overwritten check refuted a linearizable history: {ops:?}"
        );
        fired.overwritten += 1;
    }
    if precheck::unsourced(ops, initial).is_some() {
        assert!(
            !expected,
            "the unsourced check refuted a linearizable history: {ops:?}"
        );
        fired.unsourced += 1;
    }
    if precheck::unexplained(ops, initial).is_some() {
        assert!(
            !expected,
            "the unexplained check refuted a linearizable history: {ops:?}"
        );
    }
    // Every window (see `window`) that has no linearization from any value the register could
    // hold at its cut refutes the whole history.
    for first in 1..ops.len() {
        let (cut_ops, _) = window::window_at(ops, ops[first].call);
        let starts = window::starts(ops, initial, first);
        if starts.iter().all(|&s| !brute_force(&cut_ops, s)) {
            assert!(
                !expected,
                "window at {first} refuted a linearizable history: {ops:?}"
            );
            fired.windows += 1;
            break;
        }
    }
    // The windows the runner tries, before each operation: a refutation is only ever reported
    // for a history the full search refutes too.
    for hint in 0..ops.len() as u32 {
        if let Some(culprit) = window::refute(ops, initial, hint, &[1, 2, 4], Limits::default()) {
            assert!(
                matches!(simplified, Outcome::NotLinearizable { .. }),
                "a window before {hint} refuted a key the full search does not: {ops:?}"
            );
            assert!((culprit as usize) < ops.len(), "{ops:?}");
            fired.window_refutes += 1;
            break;
        }
    }
    let kept = |i: usize| prepared.original.contains(&(i as u32));
    let dropped = |required: bool| (0..ops.len()).any(|i| !kept(i) && ops[i].required() == required);
    fired.dropped_unknown += usize::from(dropped(false));
    fired.dropped_reads += usize::from(dropped(true));
    let inherited = prepared
        .ops
        .iter()
        .zip(&prepared.original)
        .any(|(p, &i)| p.required() && !ops[i as usize].required());
    fired.deadlines += usize::from(inherited);
    if expected {
        fired.valid += 1;
    } else {
        fired.invalid += 1;
    }
}

#[test]
fn prunings_agree_with_brute_force_on_random_histories() {
    for (seed, fresh, initial) in [(1, true, 0), (2, true, 1), (3, false, 0)] {
        let mut rng = Lcg(seed);
        let mut fired = Fired::default();
        let scale: usize = std::env::var("FAULTLINE_ORACLE_SCALE")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        for _ in 0..6000 * scale.max(1) {
            check_one(&random_ops(&mut rng, fresh, initial), initial, &mut fired);
        }
        eprintln!("seed {seed}: {fired:?}");
        assert!(fired.valid > 600 && fired.invalid > 600, "seed {seed}: {fired:?}");
        assert!(
            fired.dropped_unknown > 300 && fired.deadlines > 300,
            "seed {seed}: {fired:?}"
        );
        assert!(fired.dropped_reads > 100, "seed {seed}: {fired:?}");
        if fresh {
            assert!(fired.overwritten > 300, "seed {seed}: {fired:?}");
        }
        assert!(fired.unsourced > 300, "seed {seed}: {fired:?}");
        assert!(fired.windows > 300, "seed {seed}: {fired:?}");
        assert!(fired.window_refutes > 300, "seed {seed}: {fired:?}");
        assert!(fired.staged_windows > 150, "seed {seed}: {fired:?}");
    }
}
