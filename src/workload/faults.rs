//! The `[faults]` section of a workload: which faults the nemesis injects, when, and with which
//! parameters. Faults in `kinds` are scheduled one at a time; faults in `standing` (network
//! conditions only) are in force from before the first operation to the final heal, so they
//! combine with the scheduled ones (e.g. a constant replication lag while leaders are killed).

use super::duration::serde_duration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A kind of fault the nemesis can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// Cut one random node off from all others.
    PartitionOne,
    /// Cut the current leader off from all others.
    PartitionLeader,
    /// Cut one node that is not the current leader off from all others.
    PartitionFollower,
    /// Split the nodes into two random halves.
    PartitionHalves,
    /// Every node sees a majority, no two the same majority (needs 5+ nodes to cut anything).
    PartitionRing,
    /// Two halves joined by one bridge node that sees both.
    PartitionBridge,
    /// One random node cannot send to the others (they can still reach it).
    PartitionOneWay,
    /// SIGKILL a random node, restart it when the fault ends.
    Kill,
    /// SIGKILL the current leader, restart it when the fault ends.
    KillLeader,
    /// SIGKILL a node that is not the current leader, restart it when the fault ends.
    KillFollower,
    /// SIGSTOP a random node, SIGCONT it when the fault ends.
    Pause,
    /// SIGSTOP the current leader, SIGCONT it when the fault ends.
    PauseLeader,
    /// SIGSTOP a node that is not the current leader, SIGCONT it when the fault ends.
    PauseFollower,
    /// Bump a random node's clock by a random offset, reset when the fault ends.
    ClockBump,
    /// Flip a random node's clock back and forth while the fault lasts, then reset.
    ClockStrobe,
    /// Every node-to-node link delays its traffic by `delay` plus up to `jitter`.
    Delay,
    /// Every node-to-node link carries at most `bandwidth` bytes per second.
    Bandwidth,
    /// Every node-to-node link closes connections at random (`drop_probability` per chunk).
    DropConnections,
}

impl FaultKind {
    /// Every fault kind.
    pub const ALL: [FaultKind; 18] = [
        FaultKind::PartitionOne,
        FaultKind::PartitionLeader,
        FaultKind::PartitionFollower,
        FaultKind::PartitionHalves,
        FaultKind::PartitionRing,
        FaultKind::PartitionBridge,
        FaultKind::PartitionOneWay,
        FaultKind::Kill,
        FaultKind::KillLeader,
        FaultKind::KillFollower,
        FaultKind::Pause,
        FaultKind::PauseLeader,
        FaultKind::PauseFollower,
        FaultKind::ClockBump,
        FaultKind::ClockStrobe,
        FaultKind::Delay,
        FaultKind::Bandwidth,
        FaultKind::DropConnections,
    ];

    /// The name used in workload files and flags.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PartitionOne => "partition-one",
            FaultKind::PartitionLeader => "partition-leader",
            FaultKind::PartitionFollower => "partition-follower",
            FaultKind::PartitionHalves => "partition-halves",
            FaultKind::PartitionRing => "partition-ring",
            FaultKind::PartitionBridge => "partition-bridge",
            FaultKind::PartitionOneWay => "partition-one-way",
            FaultKind::Kill => "kill",
            FaultKind::KillLeader => "kill-leader",
            FaultKind::KillFollower => "kill-follower",
            FaultKind::Pause => "pause",
            FaultKind::PauseLeader => "pause-leader",
            FaultKind::PauseFollower => "pause-follower",
            FaultKind::ClockBump => "clock-bump",
            FaultKind::ClockStrobe => "clock-strobe",
            FaultKind::Delay => "delay",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::DropConnections => "drop-connections",
        }
    }

    /// Parses a name used in workload files and flags.
    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Faults that change how links carry traffic (and so may be standing).
    pub fn is_link_condition(self) -> bool {
        matches!(
            self,
            FaultKind::Delay | FaultKind::Bandwidth | FaultKind::DropConnections
        )
    }
}

/// The faults section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Which faults, used in turn (in a seeded random order). Leader and follower faults pick
    /// their node when they start, from the nodes' status.
    #[serde(default)]
    pub kinds: Vec<FaultKind>,
    /// Link conditions (`delay`, `bandwidth`, `drop-connections`) in force for the whole run,
    /// under the scheduled faults.
    #[serde(default)]
    pub standing: Vec<FaultKind>,
    /// A new fault starts every `interval` (the first after one interval of calm).
    #[serde(default = "default_fault_interval", with = "serde_duration")]
    pub interval: Duration,
    /// Each fault lasts this long, then is healed.
    #[serde(default = "default_fault_duration", with = "serde_duration")]
    pub duration: Duration,
    /// Largest clock offset a clock fault applies.
    #[serde(default = "default_max_skew", with = "serde_duration")]
    pub max_skew: Duration,
    /// `delay`: the fixed delay of every link...
    #[serde(default = "default_delay", with = "serde_duration")]
    pub delay: Duration,
    /// ...plus a random extra delay up to this much (order is kept).
    #[serde(default = "default_jitter", with = "serde_duration")]
    pub jitter: Duration,
    /// `bandwidth`: bytes per second each link carries.
    #[serde(default = "default_bandwidth")]
    pub bandwidth: u64,
    /// `drop-connections`: the probability that a chunk of bytes closes its connection.
    #[serde(default = "default_drop_probability")]
    pub drop_probability: f64,
}

fn default_fault_interval() -> Duration {
    Duration::from_secs(4)
}
fn default_fault_duration() -> Duration {
    Duration::from_secs(2)
}
fn default_max_skew() -> Duration {
    Duration::from_secs(5)
}
fn default_delay() -> Duration {
    Duration::from_millis(50)
}
fn default_jitter() -> Duration {
    Duration::from_millis(25)
}
fn default_bandwidth() -> u64 {
    16 * 1024
}
fn default_drop_probability() -> f64 {
    0.05
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            kinds: Vec::new(),
            standing: Vec::new(),
            interval: default_fault_interval(),
            duration: default_fault_duration(),
            max_skew: default_max_skew(),
            delay: default_delay(),
            jitter: default_jitter(),
            bandwidth: default_bandwidth(),
            drop_probability: default_drop_probability(),
        }
    }
}

impl FaultConfig {
    /// Checks the section; returns what is wrong, in words.
    pub fn validate(&self) -> Result<(), String> {
        if !self.kinds.is_empty() && self.duration >= self.interval {
            return Err(
                "faults.duration must be shorter than faults.interval (faults do not overlap)".into(),
            );
        }
        for kind in &self.standing {
            if !kind.is_link_condition() {
                return Err(format!(
                    "faults.standing takes link conditions only (delay, bandwidth, drop-connections), found {}",
                    kind.name()
                ));
            }
            if self.kinds.contains(kind) {
                return Err(format!(
                    "fault {} is both standing and scheduled; pick one",
                    kind.name()
                ));
            }
        }
        let uses = |k: FaultKind| self.kinds.contains(&k) || self.standing.contains(&k);
        let limit = Duration::from_secs(10);
        let total_delay = self.delay + self.jitter;
        if uses(FaultKind::Delay) && (total_delay > limit || total_delay.is_zero()) {
            return Err("faults.delay + faults.jitter must be positive and at most 10s".into());
        }
        if uses(FaultKind::Bandwidth) && self.bandwidth == 0 {
            return Err("faults.bandwidth must be at least 1 (bytes per second)".into());
        }
        if uses(FaultKind::DropConnections) && !(self.drop_probability > 0.0 && self.drop_probability <= 1.0)
        {
            return Err(format!(
                "faults.drop_probability must be above 0 and at most 1, found {}",
                self.drop_probability
            ));
        }
        Ok(())
    }
}
