//! Tests of the search: small hand-made histories, deadlines and memory budgets, and random
//! histories checked with a degenerate cache hash (the verdict must not depend on it).

use super::*;
use crate::linear::model::Action;

fn run(ops: &[LinOp]) -> Outcome {
    search(ops, 0, Limits::default()).0
}

#[test]
fn sequential_and_concurrent_histories() {
    // w1 [0,1], r1 [2,3]: fine.
    let ok = [
        LinOp::at(0, Some(1), Action::Write(1)),
        LinOp::at(2, Some(3), Action::Read(1)),
    ];
    assert_eq!(run(&ok), Outcome::Linearizable { witness: vec![0, 1] });
    // r1 [0,3] concurrent with w1 [1,2]: the read goes after the write.
    let concurrent = [
        LinOp::at(0, Some(3), Action::Read(1)),
        LinOp::at(1, Some(2), Action::Write(1)),
    ];
    assert_eq!(run(&concurrent), Outcome::Linearizable { witness: vec![1, 0] });
    // w1 [0,1] then r0 [2,3]: a stale read.
    let stale = [
        LinOp::at(0, Some(1), Action::Write(1)),
        LinOp::at(2, Some(3), Action::Read(0)),
    ];
    assert_eq!(
        run(&stale),
        Outcome::NotLinearizable {
            longest: vec![0],
            complete: true,
            culprit: 1,
            state: 1
        }
    );
}

#[test]
fn optional_ops_may_happen_late_or_never() {
    // info w1 at 0; r0 [1,2]; r1 [3,4]; r1 again [5,6].
    let late = [
        LinOp::at(0, None, Action::Write(1)),
        LinOp::at(1, Some(2), Action::Read(0)),
        LinOp::at(3, Some(4), Action::Read(1)),
        LinOp::at(5, Some(6), Action::Read(1)),
    ];
    assert_eq!(
        run(&late),
        Outcome::Linearizable {
            witness: vec![1, 0, 2, 3]
        }
    );
    // info w1 never taking effect.
    let never = [
        LinOp::at(0, None, Action::Write(1)),
        LinOp::at(1, Some(2), Action::Read(0)),
    ];
    assert_eq!(run(&never), Outcome::Linearizable { witness: vec![1] });
    // But it cannot take effect before it was invoked.
    let early = [
        LinOp::at(0, Some(1), Action::Read(1)),
        LinOp::at(2, None, Action::Write(1)),
    ];
    assert!(matches!(run(&early), Outcome::NotLinearizable { culprit: 0, .. }));
    // Nor twice: r1, r0 after w0... : info w1, ok w0 [1,2], r1 [3,4], r0 [5,6] -> invalid
    // (w1 must come after w0 for r1, then nothing resets to 0).
    let twice = [
        LinOp::at(0, None, Action::Write(1)),
        LinOp::at(1, Some(2), Action::Write(0)),
        LinOp::at(3, Some(4), Action::Read(1)),
        LinOp::at(5, Some(6), Action::Read(0)),
    ];
    assert!(matches!(run(&twice), Outcome::NotLinearizable { culprit: 3, .. }));
}

#[test]
fn deadline_gives_up() {
    let ops: Vec<LinOp> = (0..10_000)
        .map(|i| LinOp::at(2 * i, Some(2 * i + 1), Action::Write(1)))
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

/// A small deterministic generator (no dependency on the test crate's generators).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn random_ops(rng: &mut Lcg) -> Vec<LinOp> {
    let n = 4 + rng.below(10) as usize;
    let mut ops: Vec<LinOp> = Vec::new();
    let mut t = 0;
    for _ in 0..n {
        t += 1 + rng.below(3) as usize;
        let v = rng.below(3) as u32;
        let action = match rng.below(5) {
            0 | 1 => Action::Read(v),
            2 => Action::Write(v),
            3 => Action::Cas(v, rng.below(3) as u32),
            _ => Action::ReadOther(v),
        };
        let ret = match (action, rng.below(8)) {
            (Action::Write(_) | Action::Cas(..), 0) => None,
            _ => Some(t + 1 + rng.below(12) as usize * 2),
        };
        ops.push(LinOp::at(t * 2, ret.map(|r| r * 2 + 1), action));
    }
    ops
}

/// Checks an order against the model and real time: every required op that returned
/// before another was invoked comes first.
fn legal(ops: &[LinOp], order: &[u32]) -> bool {
    let mut state = 0;
    for (i, &o) in order.iter().enumerate() {
        let Some(next) = ops[o as usize].action.step(state) else {
            return false;
        };
        state = next;
        let later = &order[i + 1..];
        let must_precede = ops.iter().enumerate().any(|(j, other)| {
            later.contains(&(j as u32)) && other.ret.is_some_and(|r| r < ops[o as usize].call)
        });
        if must_precede {
            return false;
        }
    }
    true
}

#[test]
fn verdicts_do_not_depend_on_the_hash_and_orders_are_legal() {
    let mut rng = Lcg(42);
    let (mut valid, mut invalid) = (0, 0);
    for _ in 0..3000 {
        let ops = random_ops(&mut rng);
        let normal = search(&ops, 0, Limits::default()).0;
        let mut weak = Search::new(&ops, 0);
        weak.weak_hash = true;
        weak.cache = StateCache::new(weak.opt_bits.len());
        weak.remember(0, 0, false);
        let weak = weak.run(Limits::default());
        match (&normal, &weak) {
            (Outcome::Linearizable { witness: a }, Outcome::Linearizable { witness: b }) => {
                valid += 1;
                assert!(legal(&ops, a) && legal(&ops, b), "{ops:?}");
                let required = ops.iter().enumerate().filter(|(_, o)| o.required());
                for (i, _) in required {
                    assert!(a.contains(&(i as u32)), "witness misses a required op: {ops:?}");
                }
            }
            (Outcome::NotLinearizable { longest: a, .. }, Outcome::NotLinearizable { longest: b, .. }) => {
                invalid += 1;
                assert!(legal(&ops, a) && legal(&ops, b), "{ops:?}");
            }
            _ => panic!("verdicts differ with a degenerate hash: {normal:?} vs {weak:?} for {ops:?}"),
        }
    }
    assert!(valid > 300 && invalid > 300, "{valid} valid, {invalid} invalid");
}
