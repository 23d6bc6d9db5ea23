//! The fault schedule: a pure function of the workload's fault section, the run length, the
//! node count and the seed.
//!
//! Faults do not overlap: one starts every `interval` (after one interval of calm) and is healed
//! `duration` later. Kinds are used in turn, each round in a seeded random order. Every random
//! choice (which node, which split, how much skew) is made here, so a seed reproduces the
//! schedule exactly; only "the current leader" is resolved when the fault starts.

use crate::workload::{FaultConfig, FaultKind};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use std::time::Duration;

/// A fault planned for a run.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedFault {
    /// When it starts, from the beginning of the run.
    pub start: Duration,
    /// When it is healed.
    pub end: Duration,
    /// What kind of fault.
    pub kind: FaultKind,
    /// The node a random-node fault targets (also the fallback when no leader is known).
    pub node: usize,
    /// A random order of the nodes, for partitions that split the cluster.
    pub permutation: Vec<usize>,
    /// The clock offset for clock faults, in milliseconds (signed).
    pub skew_ms: i64,
}

/// Plans the faults of a run.
pub fn plan(config: &FaultConfig, time_limit: Duration, nodes: usize, seed: u64) -> Vec<PlannedFault> {
    let mut faults = Vec::new();
    if config.kinds.is_empty() || nodes == 0 || config.interval.is_zero() {
        return faults;
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut round: Vec<FaultKind> = Vec::new();
    let max_skew_ms = config.max_skew.as_millis().clamp(1, i64::MAX as u128) as i64;
    let mut start = config.interval;
    while start + config.duration <= time_limit {
        if round.is_empty() {
            round = config.kinds.clone();
            round.shuffle(&mut rng);
            round.reverse(); // popped from the back
        }
        let kind = round.pop().expect("refilled above");
        let mut permutation: Vec<usize> = (0..nodes).collect();
        permutation.shuffle(&mut rng);
        let node = rng.random_range(0..nodes);
        let magnitude = rng.random_range(max_skew_ms / 4..=max_skew_ms).max(1);
        let skew_ms = if rng.random_bool(0.5) {
            magnitude
        } else {
            -magnitude
        };
        faults.push(PlannedFault {
            start,
            end: start + config.duration,
            kind,
            node,
            permutation,
            skew_ms,
        });
        start += config.interval;
    }
    faults
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(kinds: Vec<FaultKind>) -> FaultConfig {
        FaultConfig {
            kinds,
            ..FaultConfig::default()
        }
    }

    #[test]
    fn deterministic_non_overlapping_and_within_the_limit() {
        let c = config(vec![
            FaultKind::Kill,
            FaultKind::PartitionHalves,
            FaultKind::ClockBump,
        ]);
        let a = plan(&c, Duration::from_secs(30), 5, 9);
        assert_eq!(a, plan(&c, Duration::from_secs(30), 5, 9));
        assert_ne!(a, plan(&c, Duration::from_secs(30), 5, 10));
        assert_eq!(a.len(), 7, "starts at 4s, 8s, ... 28s");
        for w in a.windows(2) {
            assert!(w[0].end <= w[1].start);
        }
        assert!(a.iter().all(|f| f.end <= Duration::from_secs(30) && f.node < 5));
        // Every kind is used in each round of three.
        let first_round: std::collections::BTreeSet<_> = a[..3].iter().map(|f| f.kind).collect();
        assert_eq!(first_round.len(), 3);
        assert!(
            a.iter()
                .all(|f| f.skew_ms.unsigned_abs() >= 1250 && f.skew_ms.unsigned_abs() <= 5000)
        );
    }

    #[test]
    fn no_kinds_no_faults() {
        assert!(plan(&config(vec![]), Duration::from_secs(30), 3, 1).is_empty());
    }
}
