//! The link-condition faults: `delay` (fixed plus jitter), `bandwidth` (bytes per second) and
//! `drop-connections` (random connection closes), each on every node-to-node link. Scheduled,
//! they degrade the links for one fault window; standing, for the whole run. This file says
//! what each does to a link and how the history records it (`start-<kind>` / `stop-<kind>`
//! nemesis events carrying the parameters). They work on the store's per-link proxies, so
//! only the built-in store takes them.

use super::fault::{Aim, Fault, Started, Strike};
use crate::net::LinkConditions;
use crate::systems::{BoxFuture, SystemKind};
use crate::workload::{FaultConfig, FaultKind};
use serde_json::{Value, json};

/// Degrading every link for a window.
pub struct LinkCondition;

impl Fault for LinkCondition {
    fn kinds(&self) -> &'static [FaultKind] {
        &[FaultKind::Delay, FaultKind::Bandwidth, FaultKind::DropConnections]
    }

    fn aim(&self, _: FaultKind) -> Aim {
        Aim::Cluster
    }

    fn refusal(&self, kind: FaultKind, system: SystemKind) -> Option<String> {
        (system != SystemKind::Faultline).then(|| {
            format!(
                "{} needs the built-in store's per-link proxies; {}'s nodes dial each other directly inside their network namespaces (and tc netem is not available in this kernel)",
                kind.name(),
                system.name()
            )
        })
    }

    fn start<'a>(&'a self, strike: Strike<'a>, detail: &'a mut Value) -> BoxFuture<'a, Started> {
        Box::pin(async move {
            let conditions = conditions(strike.kind, strike.config).unwrap_or_default();
            let applied = match strike.system.link_proxies() {
                Some(links) => {
                    links.set_degraded(conditions);
                    true
                }
                None => false,
            };
            *detail = describe(strike.kind, strike.config);
            if !applied {
                detail["error"] = Value::from("this system has no link proxies");
            }
            Started {
                f: event_names(strike.kind).0,
                to_heal: applied,
            }
        })
    }

    fn heal_name(&self, kind: FaultKind) -> String {
        event_names(kind).1
    }

    fn heal<'a>(&'a self, strike: Strike<'a>, _: &'a mut Value) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Some(links) = strike.system.link_proxies() {
                links.set_degraded(Default::default());
            }
        })
    }
}

/// The conditions a link-condition fault puts on every link (`None` for other faults).
pub fn conditions(kind: FaultKind, config: &FaultConfig) -> Option<LinkConditions> {
    let healthy = LinkConditions::default();
    match kind {
        FaultKind::Delay => Some(LinkConditions {
            delay: config.delay,
            jitter: config.jitter,
            ..healthy
        }),
        FaultKind::Bandwidth => Some(LinkConditions {
            bandwidth: Some(config.bandwidth),
            ..healthy
        }),
        FaultKind::DropConnections => Some(LinkConditions {
            drop_probability: config.drop_probability,
            ..healthy
        }),
        _ => None,
    }
}

/// The conditions of several link-condition faults at once.
pub fn combined(kinds: &[FaultKind], config: &FaultConfig) -> LinkConditions {
    kinds
        .iter()
        .filter_map(|&k| conditions(k, config))
        .fold(LinkConditions::default(), |all, c| all.combine(&c))
}

/// The nemesis event functions of a link-condition fault: (start, stop).
pub fn event_names(kind: FaultKind) -> (String, String) {
    (format!("start-{}", kind.name()), format!("stop-{}", kind.name()))
}

/// What the history records when the fault starts: its kind, its parameters, and the links.
pub fn describe(kind: FaultKind, config: &FaultConfig) -> Value {
    let mut detail = json!({ "kind": kind.name(), "links": "all" });
    match kind {
        FaultKind::Delay => {
            detail["delay_ms"] = json!(config.delay.as_millis() as u64);
            detail["jitter_ms"] = json!(config.jitter.as_millis() as u64);
        }
        FaultKind::Bandwidth => detail["bytes_per_s"] = json!(config.bandwidth),
        FaultKind::DropConnections => detail["drop_probability"] = json!(config.drop_probability),
        _ => {}
    }
    detail
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn each_kind_sets_its_own_condition() {
        let config = FaultConfig::default();
        let delay = conditions(FaultKind::Delay, &config).unwrap();
        assert_eq!((delay.delay, delay.jitter), (config.delay, config.jitter));
        assert_eq!(delay.bandwidth, None);
        assert_eq!(
            conditions(FaultKind::Bandwidth, &config).unwrap().bandwidth,
            Some(config.bandwidth)
        );
        assert_eq!(conditions(FaultKind::Kill, &config), None);
        let both = combined(&[FaultKind::Delay, FaultKind::DropConnections], &config);
        assert_eq!(both.delay, Duration::from_millis(50));
        assert_eq!(both.drop_probability, config.drop_probability);
        let d = describe(FaultKind::Delay, &config);
        assert_eq!(
            (d["delay_ms"].as_u64(), d["jitter_ms"].as_u64()),
            (Some(50), Some(25))
        );
        assert_eq!(event_names(FaultKind::DropConnections).1, "stop-drop-connections");
    }
}
