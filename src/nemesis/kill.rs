//! `kill`, `kill-leader`, `kill-follower`: SIGKILL a node (every process of it), restart it when
//! the window ends. Recorded as `kill` and `restart` with the node.

use super::fault::{Aim, Fault, Started, Strike, note_error, one_node_aim};
use crate::systems::{BoxFuture, SystemKind};
use crate::workload::FaultKind;
use serde_json::Value;

/// Killing a node and restarting it.
pub struct Kill;

impl Fault for Kill {
    fn kinds(&self) -> &'static [FaultKind] {
        &[FaultKind::Kill, FaultKind::KillLeader, FaultKind::KillFollower]
    }

    fn aim(&self, kind: FaultKind) -> Aim {
        one_node_aim(kind, FaultKind::KillLeader, FaultKind::KillFollower)
    }

    fn refusal(&self, _: FaultKind, _: SystemKind) -> Option<String> {
        None
    }

    fn start<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, Started> {
        Box::pin(async move {
            detail["node"] = Value::from(strike.node_id());
            note_error(detail, strike.system.kill(strike.node));
            Started {
                f: "kill".into(),
                to_heal: true,
            }
        })
    }

    fn heal_name(&self, _: FaultKind) -> String {
        "restart".into()
    }

    fn heal<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            detail["node"] = Value::from(strike.node_id());
            note_error(detail, strike.system.restart(strike.node).await);
        })
    }
}
