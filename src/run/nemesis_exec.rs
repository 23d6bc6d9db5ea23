//! Executes the planned faults against the running cluster, recording each fault and each heal
//! in the history as a `nemesis` info event, and publishing the current fault for progress
//! displays. Standing faults (link conditions for the whole run) start before the clients and
//! end at the final heal. While it runs, the nemesis also watches the nodes: a node whose
//! process ends on its own (not killed by the nemesis) is recorded as a `node-exited` event.

use super::recorder::Recorder;
use super::routing::Routing;
use crate::nemesis::link_faults;
use crate::nemesis::partition::{self, Cut};
use crate::nemesis::schedule::PlannedFault;
use crate::systems::System;
use crate::workload::{FaultConfig, FaultKind};
use faultline_checkers::history::{EventKind, Process};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How often the nemesis looks for nodes that exited on their own.
const EXIT_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// A fault in force, and what healing it takes.
enum Active {
    Partition,
    Degraded,
    Killed(usize),
    Paused(usize),
    Clock(usize),
}

/// A fault window, as it happened, for results and reports (read back leniently: every field
/// optional).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct FaultWindow {
    pub kind: String,
    /// Seconds from the start of the run.
    pub start_s: f64,
    pub end_s: Option<f64>,
    /// What the fault did (nodes, cut links, offsets).
    pub detail: Value,
}

/// A node whose process ended on its own, outside the nemesis.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NodeExit {
    pub node: String,
    /// Seconds from the start of the run (when the nemesis noticed).
    pub at_s: f64,
    /// How it ended ("exit status: 101", "signal: 9 (SIGKILL)").
    pub status: String,
}

/// Runs the nemesis.
pub struct NemesisRunner {
    pub cluster: Box<dyn System>,
    pub recorder: Arc<Recorder>,
    pub routing: Arc<Routing>,
    /// The faults section: the parameters of the faults.
    pub config: FaultConfig,
    /// The fault in force, for progress displays ("" when none).
    pub current: Arc<Mutex<String>>,
    pub windows: Vec<FaultWindow>,
    /// Nodes that exited on their own.
    pub node_exits: Vec<NodeExit>,
}

impl NemesisRunner {
    fn record(&self, f: &str, value: Value) {
        self.recorder
            .record(Process::Nemesis, EventKind::Info, f, None, value, Map::new());
    }

    fn set_current(&self, text: String) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = text;
    }

    /// Starts the standing faults (before the clients): their conditions on every link, and a
    /// `start-<kind>` event each.
    pub fn start_standing(&mut self) {
        if self.config.standing.is_empty() {
            return;
        }
        let conditions = link_faults::combined(&self.config.standing, &self.config);
        if let Some(links) = self.cluster.link_proxies() {
            links.set_standing(conditions);
        }
        for &kind in &self.config.standing.clone() {
            let mut detail = link_faults::describe(kind, &self.config);
            detail["standing"] = Value::from(true);
            self.record(&link_faults::event_names(kind).0, detail.clone());
            self.windows.push(FaultWindow {
                kind: kind.name().to_string(),
                start_s: self.recorder.elapsed().as_secs_f64(),
                end_s: None,
                detail,
            });
        }
    }

    /// Records every node that exited on its own since the last check (a `node-exited` event
    /// each); the routing stops trusting it as leader.
    pub fn check_node_exits(&mut self) {
        for (node, status) in self.cluster.take_unexpected_exits() {
            let id = self.cluster.ids()[node].clone();
            eprintln!("\nfaultline: node {id} exited on its own ({status})");
            self.record(
                "node-exited",
                json!({ "kind": "node-exited", "node": id, "status": status }),
            );
            self.routing.suspect(node);
            self.node_exits.push(NodeExit {
                node: id,
                at_s: self.recorder.elapsed().as_secs_f64(),
                status,
            });
        }
    }

    /// Records what the system did on its own (e.g. a failover), and lets clients find the
    /// leader again after it.
    async fn record_system_actions(&mut self) {
        let actions = self.cluster.watch().await;
        if actions.is_empty() {
            return;
        }
        for (f, detail) in actions {
            self.record(&f, detail);
        }
        self.routing.set_leader(self.cluster.leader().await);
    }

    /// Runs the plan, healing each fault when its window ends. When `stop` turns true (Ctrl-C)
    /// it returns at once, leaving the fault in force to the final heal.
    pub async fn run(&mut self, plan: &[PlannedFault], mut stop: watch::Receiver<bool>) {
        for fault in plan {
            if !self.sleep_until(fault.start, &mut stop).await {
                return;
            }
            let active = self.start_fault(fault).await;
            if !self.sleep_until(fault.end, &mut stop).await {
                return;
            }
            if let Some(active) = active {
                self.heal(active, fault).await;
            }
        }
    }

    /// Sleeps until `at` (from the start of the run), watching for node exits; false if `stop`
    /// turned true first.
    async fn sleep_until(&mut self, at: Duration, stop: &mut watch::Receiver<bool>) -> bool {
        loop {
            self.check_node_exits();
            self.record_system_actions().await;
            let now = self.recorder.elapsed();
            if at <= now || *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep((at - now).min(EXIT_CHECK_INTERVAL)) => {}
                _ = stop.wait_for(|s| *s) => return false,
            }
        }
        !*stop.borrow()
    }

    /// Watches for node exits until `stop` turns true or `until` passes (after the last fault).
    pub async fn watch_until(&mut self, until: Duration, mut stop: watch::Receiver<bool>) {
        self.sleep_until(until, &mut stop).await;
    }

    fn names(&self, nodes: &[usize]) -> Vec<String> {
        nodes.iter().map(|&i| self.cluster.ids()[i].clone()).collect()
    }

    /// Picks the target node: the current leader for leader faults, a node other than the
    /// current leader for follower faults (the planned node, or the next one if the planned
    /// node leads), else the planned node. With no leader known, the planned node.
    async fn target(&self, fault: &PlannedFault) -> (usize, Option<&'static str>) {
        use FaultKind::*;
        let leader_fault = matches!(fault.kind, PartitionLeader | KillLeader | PauseLeader);
        let follower_fault = matches!(fault.kind, PartitionFollower | KillFollower | PauseFollower);
        if !leader_fault && !follower_fault {
            return (fault.node, None);
        }
        match self.cluster.leader().await {
            Some(l) if leader_fault => (l, None),
            Some(l) if l == fault.node => ((fault.node + 1) % self.cluster.len(), None),
            Some(_) => (fault.node, None),
            None => (
                fault.node,
                Some("no node claimed leadership; used the planned node"),
            ),
        }
    }

    async fn start_fault(&mut self, fault: &PlannedFault) -> Option<Active> {
        let n = self.cluster.len();
        let kind = fault.kind;
        let (node, note) = self.target(fault).await;
        let mut detail = json!({ "kind": kind.name() });
        if let Some(note) = note {
            detail["note"] = Value::from(note);
        }
        let (f, active) = match kind {
            FaultKind::PartitionOne
            | FaultKind::PartitionLeader
            | FaultKind::PartitionFollower
            | FaultKind::PartitionHalves
            | FaultKind::PartitionRing
            | FaultKind::PartitionBridge
            | FaultKind::PartitionOneWay => {
                let cut: Cut = match kind {
                    FaultKind::PartitionHalves => partition::halves(&fault.permutation),
                    FaultKind::PartitionRing => partition::majorities_ring(&fault.permutation),
                    FaultKind::PartitionBridge => partition::bridge(&fault.permutation),
                    FaultKind::PartitionOneWay => partition::one_way(n, node),
                    _ => partition::isolate(n, node),
                };
                if let Err(e) = self.cluster.cut(&cut.links) {
                    detail["error"] = Value::from(format!("{e:#}"));
                }
                let groups: Vec<Vec<String>> = cut.groups.iter().map(|g| self.names(g)).collect();
                let links: Vec<[String; 2]> = cut
                    .links
                    .iter()
                    .map(|&(a, b)| [self.cluster.ids()[a].clone(), self.cluster.ids()[b].clone()])
                    .collect();
                detail["cut"] = json!(groups);
                detail["links"] = json!(links);
                if matches!(
                    kind,
                    FaultKind::PartitionLeader
                        | FaultKind::PartitionFollower
                        | FaultKind::PartitionOne
                        | FaultKind::PartitionOneWay
                ) {
                    detail["node"] = Value::from(self.cluster.ids()[node].clone());
                }
                ("start-partition", Some(Active::Partition))
            }
            FaultKind::Kill | FaultKind::KillLeader | FaultKind::KillFollower => {
                if let Err(e) = self.cluster.kill(node) {
                    detail["error"] = Value::from(format!("{e:#}"));
                }
                detail["node"] = Value::from(self.cluster.ids()[node].clone());
                ("kill", Some(Active::Killed(node)))
            }
            FaultKind::Pause | FaultKind::PauseLeader | FaultKind::PauseFollower => {
                detail["node"] = Value::from(self.cluster.ids()[node].clone());
                match self.cluster.pause(node) {
                    Ok(()) => ("pause", Some(Active::Paused(node))),
                    Err(e) => {
                        detail["error"] = Value::from(format!("{e:#}"));
                        ("pause", None)
                    }
                }
            }
            FaultKind::Delay | FaultKind::Bandwidth | FaultKind::DropConnections => {
                let conditions = link_faults::conditions(kind, &self.config).unwrap_or_default();
                if let Some(links) = self.cluster.link_proxies() {
                    links.set_degraded(conditions);
                }
                detail = link_faults::describe(kind, &self.config);
                let f = link_faults::event_names(kind).0;
                self.record(&f, detail.clone());
                self.begin_window(kind, detail);
                return Some(Active::Degraded);
            }
            FaultKind::ClockBump | FaultKind::ClockStrobe => {
                detail["node"] = Value::from(self.cluster.ids()[node].clone());
                detail["delta_ms"] = Value::from(fault.skew_ms);
                let clocks = self.cluster.clocks();
                let result = match &clocks {
                    None => Err(anyhow::anyhow!("this system's clocks cannot be moved")),
                    Some(clocks) if kind == FaultKind::ClockBump => clocks.bump(node, fault.skew_ms).await,
                    Some(clocks) => {
                        let period_ms = 100;
                        detail["period_ms"] = Value::from(period_ms);
                        let duration_ms = (fault.end - fault.start).as_millis() as u64;
                        clocks.strobe(node, fault.skew_ms, period_ms, duration_ms).await
                    }
                };
                if let Err(e) = result {
                    detail["error"] = Value::from(format!("{e:#}"));
                }
                (
                    if kind == FaultKind::ClockBump {
                        "clock-bump"
                    } else {
                        "clock-strobe"
                    },
                    Some(Active::Clock(node)),
                )
            }
        };
        self.record(f, detail.clone());
        self.begin_window(kind, detail);
        active
    }

    fn begin_window(&mut self, kind: FaultKind, detail: Value) {
        self.set_current(describe(&detail));
        self.windows.push(FaultWindow {
            kind: kind.name().to_string(),
            start_s: self.recorder.elapsed().as_secs_f64(),
            end_s: None,
            detail,
        });
    }

    async fn heal(&mut self, active: Active, fault: &PlannedFault) {
        let (f, mut detail) = match active {
            Active::Partition => {
                let mut d = json!({ "kind": fault.kind.name() });
                if let Err(e) = self.cluster.cut(&Default::default()) {
                    d["error"] = Value::from(format!("{e:#}"));
                }
                ("stop-partition".to_string(), d)
            }
            Active::Degraded => {
                if let Some(links) = self.cluster.link_proxies() {
                    links.set_degraded(Default::default());
                }
                (link_faults::event_names(fault.kind).1, json!({}))
            }
            Active::Killed(node) => {
                let mut d = json!({ "node": self.cluster.ids()[node] });
                if let Err(e) = self.cluster.restart(node).await {
                    d["error"] = Value::from(format!("{e:#}"));
                }
                ("restart".to_string(), d)
            }
            Active::Paused(node) => {
                let mut d = json!({ "node": self.cluster.ids()[node] });
                if let Err(e) = self.cluster.resume(node) {
                    d["error"] = Value::from(format!("{e:#}"));
                }
                ("resume".to_string(), d)
            }
            Active::Clock(node) => {
                let mut d = json!({ "node": self.cluster.ids()[node] });
                if let Some(clocks) = self.cluster.clocks()
                    && let Err(e) = clocks.reset(node).await
                {
                    d["error"] = Value::from(format!("{e:#}"));
                }
                ("clock-reset".to_string(), d)
            }
        };
        detail["kind"] = Value::from(fault.kind.name());
        self.record(&f, detail);
        self.set_current(String::new());
        let now = self.recorder.elapsed().as_secs_f64();
        if let Some(w) = self
            .windows
            .iter_mut()
            .rev()
            .find(|w| w.end_s.is_none() && w.kind == fault.kind.name())
        {
            w.end_s = Some(now);
        }
        // A new leader may have been elected: let clients find it again.
        self.routing.set_leader(self.cluster.leader().await);
    }

    /// After the last fault: the standing faults end (a `stop-<kind>` event each), every link is
    /// healed, every node resumed, every clock reset, and every node restarted, except after
    /// Ctrl-C (`interrupted`: the nodes are about to be stopped). Recorded as one `heal-all`
    /// event.
    pub async fn heal_all(&mut self, interrupted: bool) {
        self.check_node_exits();
        for &kind in &self.config.standing.clone() {
            let f = link_faults::event_names(kind).1;
            self.record(&f, json!({ "kind": kind.name(), "standing": true }));
        }
        let mut problems = Vec::new();
        if let Some(links) = self.cluster.link_proxies() {
            links.heal_all();
        }
        if let Err(e) = self.cluster.cut(&Default::default()) {
            problems.push(format!("healing the links: {e:#}"));
        }
        let clocks = self.cluster.clocks();
        let mut down = Vec::new();
        for node in 0..self.cluster.len() {
            if !self.cluster.is_running(node) {
                if interrupted {
                    down.push(self.cluster.ids()[node].clone());
                    continue;
                } else if let Err(e) = self.cluster.restart(node).await {
                    problems.push(format!("{}: {e:#}", self.cluster.ids()[node]));
                }
            }
            let _ = self.cluster.resume(node);
            if let Some(clocks) = &clocks
                && let Err(e) = clocks.reset(node).await
            {
                problems.push(format!("{}: clock reset failed: {e:#}", self.cluster.ids()[node]));
            }
        }
        let mut detail = json!({ "kind": "heal-all" });
        if !problems.is_empty() {
            detail["errors"] = json!(problems);
        }
        if interrupted {
            detail["interrupted"] = Value::from(true);
            detail["left_down"] = json!(down);
        }
        if !interrupted {
            self.record_system_actions().await;
        }
        self.record("heal-all", detail);
        let now = self.recorder.elapsed().as_secs_f64();
        for w in self.windows.iter_mut().filter(|w| w.end_s.is_none()) {
            w.end_s = Some(now);
        }
        self.set_current(String::new());
        if !interrupted {
            self.routing.set_leader(self.cluster.leader().await);
        }
    }
}

/// A short description of a fault for progress displays.
fn describe(detail: &Value) -> String {
    let kind = detail["kind"].as_str().unwrap_or("fault");
    match detail.get("node").and_then(Value::as_str) {
        Some(node) => format!("{kind} {node}"),
        None => kind.to_string(),
    }
}
