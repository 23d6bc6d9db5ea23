//! The systems a run can test, behind one interface in the spirit of Jepsen's DB and client
//! protocols: the built-in store ([`store`]), and real systems nobody here wrote ([`etcd`],
//! [`postgres`]), run in network namespaces the harness creates.
//!
//! A [`System`] is a running cluster: it starts, kills, pauses, resumes and restarts its nodes,
//! cuts and heals links between them, tells which node leads (where the system has a leader),
//! and hands out a [`SystemClient`] that turns a generated operation into an [`Outcome`] by the
//! harness's rule: `fail` only when the operation certainly did not take effect, `info` when it
//! may have. Which faults apply to which system each fault's piece says ([`crate::nemesis::fault`]).
//! A system is added by writing one implementation and one arm in [`start`].

pub mod etcd;
pub mod kind;
pub mod postgres;
pub mod store;

pub use kind::SystemKind;

use crate::client::Options;
use crate::client::Outcome;
use crate::net::Network;
use crate::netns::Fabric;
use crate::run::run_dir::RunDir;
use crate::workload::Workload;
use crate::workload::generator::GenOp;
use anyhow::Context;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed future, so the interface can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The outcome of one operation on a real system, before it becomes an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemOutcome<T> {
    /// It took effect (or the read returned this).
    Ok(T),
    /// It certainly did not take effect.
    Fail(String),
    /// It may or may not have taken effect.
    Info(String),
}

impl<T> SystemOutcome<T> {
    /// Maps the value of an `Ok`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> SystemOutcome<U> {
        match self {
            SystemOutcome::Ok(v) => SystemOutcome::Ok(f(v)),
            SystemOutcome::Fail(e) => SystemOutcome::Fail(e),
            SystemOutcome::Info(e) => SystemOutcome::Info(e),
        }
    }
}

/// Turns a real system's outcome at node `node` into the harness's [`Outcome`]. A failure's
/// message starts with its code (`connect: connection refused`, `not_leader: ...`); the codes
/// `connect`, `timeout` and `connection` mean no answer came (the routing then suspects the
/// node), `connect` and `not_leader` make the routing try another node. The value of an `Ok` is
/// what the history records: the value read, or a transaction's completed micro-ops.
pub fn outcome_of(node: &str, op: &GenOp, result: SystemOutcome<serde_json::Value>) -> Outcome {
    use crate::client::{Failure, Success};
    let failure = |text: String| {
        let (code, message) = match text.split_once(": ") {
            Some((code, message)) if !code.is_empty() && !code.contains(' ') => {
                (code.to_string(), message.to_string())
            }
            _ => ("error".to_string(), text.clone()),
        };
        let answered = !matches!(code.as_str(), "connect" | "timeout" | "connection");
        Failure {
            node: Some(node.to_string()),
            code,
            message,
            leader: None,
            status: answered.then_some(0),
        }
    };
    match result {
        SystemOutcome::Ok(value) => {
            let ops = match (op.f, &value) {
                ("txn", serde_json::Value::Array(ops)) => ops.clone(),
                _ => Vec::new(),
            };
            Outcome::Ok(Success {
                node: node.to_string(),
                pos: 0,
                value,
                version: serde_json::Value::Null,
                ops,
                versions: Vec::new(),
            })
        }
        SystemOutcome::Fail(text) => Outcome::Fail(failure(text)),
        SystemOutcome::Info(text) => Outcome::Info(failure(text)),
    }
}

/// Turns a generated operation into an outcome at one node.
pub trait SystemClient: Send + Sync {
    /// Performs `op` at node `node` (an index into [`System::ids`]); `opts` carries the routing
    /// policy's read options, which a system applies where it has an equivalent.
    fn invoke<'a>(&'a self, node: usize, op: &'a GenOp, opts: &'a Options) -> BoxFuture<'a, Outcome>;
}

/// Clock faults, for systems whose nodes' clocks the harness can move.
pub trait Clocks: Send + Sync {
    /// Moves node `node`'s clock by `delta_ms`.
    fn bump(&self, node: usize, delta_ms: i64) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Flips node `node`'s clock between `+delta_ms` and its base every `period_ms`, for
    /// `duration_ms`.
    fn strobe(
        &self,
        node: usize,
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    ) -> BoxFuture<'_, anyhow::Result<()>>;
    /// Puts node `node`'s clock back.
    fn reset(&self, node: usize) -> BoxFuture<'_, anyhow::Result<()>>;
}

/// A running cluster of one system. Dropping it (or [`System::stop`]) ends every process it
/// started; dropping it removes everything else it created (namespaces, rules, proxies).
pub trait System: Send + Sync {
    /// Node ids, `n1..nN`, index-aligned with every `node` argument.
    fn ids(&self) -> &[String];
    /// A client for the harness's workers.
    fn client(&self) -> Arc<dyn SystemClient>;
    /// The node that leads now, where the system has a leader and it answers.
    fn leader(&self) -> BoxFuture<'_, Option<usize>>;
    /// SIGKILLs node `node`.
    fn kill(&mut self, node: usize) -> anyhow::Result<()>;
    /// Starts a killed node again on its data.
    fn restart(&mut self, node: usize) -> BoxFuture<'_, anyhow::Result<()>>;
    /// SIGSTOPs node `node` (every process of it).
    fn pause(&mut self, node: usize) -> anyhow::Result<()>;
    /// SIGCONTs node `node`.
    fn resume(&mut self, node: usize) -> anyhow::Result<()>;
    /// Whether node `node`'s process runs (paused counts as running).
    fn is_running(&self, node: usize) -> bool;
    /// The nodes whose process ended on its own since the last call, with how each ended.
    fn take_unexpected_exits(&mut self) -> Vec<(usize, String)>;
    /// Makes `links` the set of cut directed links `(from, to)`; every other link is healed.
    fn cut(&mut self, links: &BTreeSet<(usize, usize)>) -> anyhow::Result<()>;
    /// The per-link proxies, for link conditions (delay, bandwidth, drops), where the system's
    /// links go through them.
    fn link_proxies(&mut self) -> Option<&mut Network> {
        None
    }
    /// Clock control, where the system has it.
    fn clocks(&self) -> Option<Arc<dyn Clocks>> {
        None
    }
    /// What the system's own machinery did since the last call (a failover manager promoting a
    /// standby, a deposed primary rebuilt), as `(f, detail)` pairs the nemesis records; called
    /// every few hundred milliseconds while faults run.
    fn watch(&mut self) -> BoxFuture<'_, Vec<(String, serde_json::Value)>> {
        Box::pin(async { Vec::new() })
    }
    /// The network namespaces the nodes live in, for systems that the harness isolates that way.
    fn fabric(&self) -> Option<&Fabric> {
        None
    }
    /// Kills every node.
    fn stop(&mut self);
}

impl dyn System + '_ {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids().len()
    }

    /// True for a cluster of no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids().is_empty()
    }
}

/// Starts the workload's system and waits until it can serve clients. Where its nodes live in
/// network namespaces, `nodes/network.txt` in the run directory says which (for people reading
/// the logs, and for checking that nothing of the run is left).
pub async fn start(workload: &Workload, run_dir: &RunDir, binary: &Path) -> anyhow::Result<Box<dyn System>> {
    let system: Box<dyn System> = match workload.cluster.system {
        SystemKind::Faultline => Box::new(crate::cluster::Cluster::start(workload, run_dir, binary).await?),
        SystemKind::Etcd => Box::new(etcd::EtcdSystem::start(workload, &run_dir.root.join("nodes")).await?),
        SystemKind::Postgres => {
            Box::new(postgres::PgSystem::start(workload, &run_dir.root.join("nodes")).await?)
        }
    };
    if let Some(fabric) = system.fabric() {
        let path = run_dir.root.join("nodes").join("network.txt");
        std::fs::write(&path, fabric.describe()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(system)
}
