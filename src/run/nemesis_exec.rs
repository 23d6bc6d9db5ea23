//! Executes the planned faults against the running cluster (each fault's start and heal are its
//! piece's, see [`crate::nemesis::fault`]), recording each fault and each heal in the history
//! as a `nemesis` info event, and publishing the current fault for progress
//! displays. Standing faults (link conditions for the whole run) start before the clients and
//! end at the final heal. While it runs, the nemesis also watches the nodes: a node whose
//! process ends on its own (not killed by the nemesis) is recorded as a `node-exited` event.

use super::recorder::Recorder;
use super::routing::Routing;
use crate::nemesis::fault::{Aim, Strike, fault_of};
use crate::nemesis::link_faults;
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

/// A fault in force: the node it was resolved to (its piece knows what healing takes).
struct Active {
    node: usize,
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
        self.record_as(EventKind::Info, f, value);
    }

    /// Records a nemesis event of `kind`: `Invoke` before a heal acts, `Info` for what was done.
    fn record_as(&self, kind: EventKind, f: &str, value: Value) {
        self.recorder
            .record(Process::Nemesis, kind, f, None, value, Map::new());
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
            // A fault that starts late (the system's own actions, such as a failover manager's
            // rebuild, held the nemesis) still lasts its whole duration.
            let started = self.recorder.elapsed();
            let active = self.start_fault(fault).await;
            let heal_at = fault.end.max(started + (fault.end - fault.start));
            if !self.sleep_until(heal_at, &mut stop).await {
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

    /// Resolves whom a fault acts on: the current leader for leader faults, a node other than
    /// the current leader for follower faults (the planned node, or the next one if the planned
    /// node leads), else the planned node. With no leader known, the planned node.
    async fn target(&self, aim: Aim, planned: usize) -> (usize, Option<&'static str>) {
        if matches!(aim, Aim::Cluster | Aim::Random) {
            return (planned, None);
        }
        match self.cluster.leader().await {
            Some(l) if aim == Aim::Leader => (l, None),
            Some(l) if l == planned => ((planned + 1) % self.cluster.len(), None),
            Some(_) => (planned, None),
            None => (planned, Some("no node claimed leadership; used the planned node")),
        }
    }

    async fn start_fault(&mut self, fault: &PlannedFault) -> Option<Active> {
        let piece = fault_of(fault.kind);
        let (node, note) = self.target(piece.aim(fault.kind), fault.node).await;
        let mut detail = json!({ "kind": fault.kind.name() });
        if let Some(note) = note {
            detail["note"] = Value::from(note);
        }
        let strike = Strike {
            kind: fault.kind,
            plan: fault,
            node,
            system: self.cluster.as_mut(),
            config: &self.config,
        };
        let started = piece.start(strike, &mut detail).await;
        self.record(&started.f, detail.clone());
        self.begin_window(fault.kind, detail);
        started.to_heal.then_some(Active { node })
    }

    /// The latest window of `kind` not yet healed.
    fn open_window(&mut self, kind: FaultKind) -> Option<&mut FaultWindow> {
        self.windows
            .iter_mut()
            .rev()
            .find(|w| w.end_s.is_none() && w.kind == kind.name())
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

    /// Heals a fault: an invocation recorded before the heal acts (from then on the fault may be
    /// lifting: availability stops counting the window there), a completion after it.
    async fn heal(&mut self, active: Active, fault: &PlannedFault) {
        let piece = fault_of(fault.kind);
        let f = piece.heal_name(fault.kind);
        let mut began = json!({ "kind": fault.kind.name() });
        if let Some(node) = self
            .open_window(fault.kind)
            .and_then(|w| w.detail.get("node").cloned())
        {
            began["node"] = node;
        }
        self.record_as(EventKind::Invoke, &f, began);
        let mut detail = json!({});
        let strike = Strike {
            kind: fault.kind,
            plan: fault,
            node: active.node,
            system: self.cluster.as_mut(),
            config: &self.config,
        };
        piece.heal(strike, &mut detail).await;
        detail["kind"] = Value::from(fault.kind.name());
        self.record(&f, detail);
        self.set_current(String::new());
        let now = self.recorder.elapsed().as_secs_f64();
        if let Some(w) = self.open_window(fault.kind) {
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
        self.record_as(EventKind::Invoke, "heal-all", json!({ "kind": "heal-all" }));
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
