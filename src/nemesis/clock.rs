//! `clock-bump` (move a node's clock by the drawn offset) and `clock-strobe` (flip it back and
//! forth every 100 ms for the window), through the system's [`crate::systems::Clocks`]; reset
//! when the window ends. Recorded as `clock-bump` / `clock-strobe` (with `delta_ms`, and
//! `period_ms` for a strobe) and `clock-reset`.

use super::fault::{Aim, Fault, Started, Strike, note_error};
use crate::systems::{BoxFuture, SystemKind};
use crate::workload::FaultKind;
use serde_json::Value;

/// How often a strobe flips the clock.
const STROBE_PERIOD_MS: u64 = 100;

/// Skewing a node's clock.
pub struct ClockFault;

impl Fault for ClockFault {
    fn kinds(&self) -> &'static [FaultKind] {
        &[FaultKind::ClockBump, FaultKind::ClockStrobe]
    }

    fn aim(&self, _: FaultKind) -> Aim {
        Aim::Random
    }

    fn refusal(&self, kind: FaultKind, system: SystemKind) -> Option<String> {
        match system {
            SystemKind::Faultline => None,
            SystemKind::Etcd => Some(format!(
                "{} does not apply to etcd: its clock cannot be moved from outside (libfaketime has no effect on Go binaries)",
                kind.name()
            )),
            SystemKind::Postgres => Some(format!(
                "{} is not implemented for postgres: its servers run on the real clock (no libfaketime in their environment)",
                kind.name()
            )),
        }
    }

    fn start<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, Started> {
        Box::pin(async move {
            detail["node"] = Value::from(strike.node_id());
            detail["delta_ms"] = Value::from(strike.plan.skew_ms);
            let result = match strike.system.clocks() {
                None => Err(anyhow::anyhow!("this system's clocks cannot be moved")),
                Some(clocks) if strike.kind == FaultKind::ClockBump => {
                    clocks.bump(strike.node, strike.plan.skew_ms).await
                }
                Some(clocks) => {
                    detail["period_ms"] = Value::from(STROBE_PERIOD_MS);
                    let window_ms = (strike.plan.end - strike.plan.start).as_millis() as u64;
                    clocks
                        .strobe(strike.node, strike.plan.skew_ms, STROBE_PERIOD_MS, window_ms)
                        .await
                }
            };
            note_error(detail, result);
            Started {
                f: strike.kind.name().into(),
                to_heal: true,
            }
        })
    }

    fn heal_name(&self, _: FaultKind) -> String {
        "clock-reset".into()
    }

    fn heal<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            detail["node"] = Value::from(strike.node_id());
            if let Some(clocks) = strike.system.clocks() {
                note_error(detail, clocks.reset(strike.node).await);
            }
        })
    }
}
