//! `pause`, `pause-leader`, `pause-follower`: SIGSTOP every process of a node, SIGCONT them when
//! the window ends. Recorded as `pause` and `resume` with the node.

use super::fault::{Aim, Fault, Started, Strike, note_error, one_node_aim};
use crate::systems::{BoxFuture, SystemKind};
use crate::workload::FaultKind;
use serde_json::Value;

/// Pausing a node and resuming it.
pub struct Pause;

impl Fault for Pause {
    fn kinds(&self) -> &'static [FaultKind] {
        &[FaultKind::Pause, FaultKind::PauseLeader, FaultKind::PauseFollower]
    }

    fn aim(&self, kind: FaultKind) -> Aim {
        one_node_aim(kind, FaultKind::PauseLeader, FaultKind::PauseFollower)
    }

    fn refusal(&self, _: FaultKind, _: SystemKind) -> Option<String> {
        None
    }

    fn start<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, Started> {
        Box::pin(async move {
            detail["node"] = Value::from(strike.node_id());
            let result = strike.system.pause(strike.node);
            let to_heal = result.is_ok();
            note_error(detail, result);
            Started {
                f: "pause".into(),
                to_heal,
            }
        })
    }

    fn heal_name(&self, _: FaultKind) -> String {
        "resume".into()
    }

    fn heal<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            detail["node"] = Value::from(strike.node_id());
            note_error(detail, strike.system.resume(strike.node));
        })
    }
}
