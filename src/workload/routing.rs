//! The `[routing]` section of a workload: how clients choose the node for each operation. The
//! policies are the textbook's techniques; what each one does with an operation is decided in
//! one place, `run::routing`.

use super::StoreMode;
use super::duration::serde_duration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A routing policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingPolicy {
    /// Single-leader: every operation goes to the leader (reads with `read=leader`).
    Leader,
    /// Every operation goes to a random node (single-leader: writes to the leader, reads to a
    /// random node with `read=any`).
    Any,
    /// Each client keeps one node (its home) for reads, and for writes where any node takes
    /// writes; it moves to another only when its home fails it. Monotonic reads while the home
    /// lives.
    Sticky,
    /// Single-leader read-your-writes by log position: reads go to a random node, which serves
    /// them once it has committed the client's last write (`?after=POS`).
    RywPosition,
    /// Single-leader read-your-writes by routing: a client's reads go to the leader for
    /// `leader_window` after its last write, to a random node otherwise.
    RywLeaderWindow,
    /// Single-leader read-your-writes by timestamp: reads go to a random node, which serves
    /// them once it is current as of the client's last write (`?after_ts=NS`, the client's
    /// clock when the write was acknowledged).
    RywTimestamp,
}

impl RoutingPolicy {
    /// The name used in workload files.
    pub fn name(self) -> &'static str {
        match self {
            RoutingPolicy::Leader => "leader",
            RoutingPolicy::Any => "any",
            RoutingPolicy::Sticky => "sticky",
            RoutingPolicy::RywPosition => "ryw-position",
            RoutingPolicy::RywLeaderWindow => "ryw-leader-window",
            RoutingPolicy::RywTimestamp => "ryw-timestamp",
        }
    }

    /// Does this policy need a leader (single-leader mode)?
    pub fn needs_leader(self) -> bool {
        !matches!(self, RoutingPolicy::Any | RoutingPolicy::Sticky)
    }

    /// The policy when a workload names none: the leader for single-leader, the client's home
    /// node otherwise.
    pub fn default_for(mode: StoreMode) -> RoutingPolicy {
        match mode {
            StoreMode::SingleLeader => RoutingPolicy::Leader,
            StoreMode::MultiLeader | StoreMode::Leaderless => RoutingPolicy::Sticky,
        }
    }
}

/// The routing section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingConfig {
    /// The policy (default: `leader` for single-leader, `sticky` otherwise).
    pub policy: Option<RoutingPolicy>,
    /// `ryw-leader-window`: how long after a client's last write its reads go to the leader.
    #[serde(default = "default_leader_window", with = "serde_duration")]
    pub leader_window: Duration,
}

fn default_leader_window() -> Duration {
    Duration::from_secs(1)
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            policy: None,
            leader_window: default_leader_window(),
        }
    }
}

impl RoutingConfig {
    /// The policy in force for a cluster of this mode.
    pub fn policy_for(&self, mode: StoreMode) -> RoutingPolicy {
        self.policy.unwrap_or(RoutingPolicy::default_for(mode))
    }

    /// Checks the section against the store mode; returns what is wrong, in words.
    pub fn validate(&self, mode: StoreMode) -> Result<(), String> {
        let policy = self.policy_for(mode);
        if policy.needs_leader() && mode != StoreMode::SingleLeader {
            return Err(format!(
                "routing.policy = \"{}\" needs a leader: it applies to mode = \"single-leader\" only (use any or sticky)",
                policy.name()
            ));
        }
        Ok(())
    }
}
