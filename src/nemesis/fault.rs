//! One fault as one piece: the [`Fault`] trait each kind of fault implements in its own file
//! (partitions in [`super::partition`], kills in [`super::kill`], pauses in [`super::pause`],
//! clock faults in [`super::clock`], link conditions in [`super::link_faults`]), and the
//! registry that finds the piece for a [`FaultKind`].
//!
//! A piece says whom its fault acts on, which systems cannot take it (refused when the
//! workload loads), what it does when it starts and heals, and what the history records: the
//! nemesis event names and the fields of their values (which the report's tooltips show). The
//! nemesis ([`crate::run::nemesis_exec`]) only resolves the target, records and keeps time.
//! Adding a fault: a variant and name in [`FaultKind`], a file here implementing [`Fault`], and
//! its line in [`PIECES`].

use super::schedule::PlannedFault;
use crate::systems::{BoxFuture, System, SystemKind};
use crate::workload::{FaultConfig, FaultKind};
use serde_json::Value;

/// Whom a fault acts on; the nemesis resolves it to a node when the fault starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aim {
    /// The whole cluster (a split, every link): no one node.
    Cluster,
    /// The node the schedule drew.
    Random,
    /// The current leader (the drawn node when none is known).
    Leader,
    /// A node that is not the current leader.
    Follower,
}

/// What a fault acts on when it starts or heals.
pub struct Strike<'a> {
    pub kind: FaultKind,
    /// The schedule's draw (split permutation, clock offset, window).
    pub plan: &'a PlannedFault,
    /// The node resolved from the fault's [`Aim`] (meaningless for [`Aim::Cluster`]).
    pub node: usize,
    pub system: &'a mut dyn System,
    pub config: &'a FaultConfig,
}

impl Strike<'_> {
    /// The id of the struck node (`n1`).
    pub fn node_id(&self) -> String {
        self.system.ids()[self.node].clone()
    }
}

/// What starting a fault did: the nemesis event to record, and whether it needs healing.
pub struct Started {
    /// The nemesis function recorded (`start-partition`, `kill`, ...).
    pub f: String,
    /// False when the fault could not take effect (nothing to heal; the error is in the detail).
    pub to_heal: bool,
}

/// A kind of fault: how it starts, how it heals, and where it applies.
pub trait Fault: Sync {
    /// The fault kinds this piece injects.
    fn kinds(&self) -> &'static [FaultKind];

    /// Whom `kind` acts on.
    fn aim(&self, kind: FaultKind) -> Aim;

    /// Why `system` cannot take `kind`, or `None` when it can.
    fn refusal(&self, kind: FaultKind, system: SystemKind) -> Option<String>;

    /// Starts the fault, adding what it did to `detail` (an `error` field if it failed).
    fn start<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, Started>;

    /// The nemesis function a heal of `kind` is recorded as (`restart`, `stop-partition`, ...):
    /// an invocation before the heal acts, a completion after.
    fn heal_name(&self, kind: FaultKind) -> String;

    /// Heals the fault, adding what it did to `detail` (an `error` field if it failed).
    fn heal<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, ()>;
}

/// Every fault piece, one per file.
const PIECES: [&dyn Fault; 5] = [
    &super::partition::Partition,
    &super::kill::Kill,
    &super::pause::Pause,
    &super::clock::ClockFault,
    &super::link_faults::LinkCondition,
];

/// The piece that injects `kind`.
pub fn fault_of(kind: FaultKind) -> &'static dyn Fault {
    PIECES
        .into_iter()
        .find(|piece| piece.kinds().contains(&kind))
        .expect("every fault kind has its piece (tested)")
}

/// The aim of a one-node fault family: `leader` aims at the leader, `follower` at a follower,
/// any other kind at the drawn node.
pub fn one_node_aim(kind: FaultKind, leader: FaultKind, follower: FaultKind) -> Aim {
    if kind == leader {
        Aim::Leader
    } else if kind == follower {
        Aim::Follower
    } else {
        Aim::Random
    }
}

/// Records an error in a fault's detail.
pub fn note_error(detail: &mut Value, result: anyhow::Result<()>) {
    if let Err(e) = result {
        detail["error"] = Value::from(format!("{e:#}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_exactly_one_piece() {
        for kind in FaultKind::ALL {
            let owners = PIECES.iter().filter(|p| p.kinds().contains(&kind)).count();
            assert_eq!(owners, 1, "{} has {owners} pieces", kind.name());
        }
    }

    #[test]
    fn faults_that_a_system_cannot_take_are_refused_with_a_reason() {
        let clock = fault_of(FaultKind::ClockBump);
        assert!(
            clock
                .refusal(FaultKind::ClockBump, SystemKind::Faultline)
                .is_none()
        );
        assert!(
            clock
                .refusal(FaultKind::ClockBump, SystemKind::Etcd)
                .unwrap()
                .contains("Go")
        );
        let delay = fault_of(FaultKind::Delay);
        assert!(delay.refusal(FaultKind::Delay, SystemKind::Postgres).is_some());
        for kind in [
            FaultKind::KillLeader,
            FaultKind::PauseFollower,
            FaultKind::PartitionRing,
        ] {
            for system in [SystemKind::Faultline, SystemKind::Etcd, SystemKind::Postgres] {
                assert_eq!(fault_of(kind).refusal(kind, system), None);
            }
        }
    }
}
