//! PostgreSQL streaming replication as a [`System`]: node `n1` the primary, the others hot
//! standbys, each in its own network namespace; links cut with nftables; the leader is the node
//! that is not in recovery. Each operation takes a connection of its own from a small pool per
//! node (a transaction needs one to itself); a connection whose operation did not end cleanly is
//! dropped, never reused.

use super::failover::Failover;
use super::{PgClient, PgCluster, Replication};
use crate::client::{Options, Outcome};
use crate::systems::kind::register_key;
use crate::systems::{BoxFuture, System, SystemClient, SystemOutcome, outcome_of};
use crate::workload::Workload;
use crate::workload::generator::GenOp;
use anyhow::Context;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running primary and standbys, and their client.
pub struct PgSystem {
    ids: Vec<String>,
    client: Arc<PgOps>,
    cluster: PgCluster,
    /// The naive failover manager, when the workload asks for one (`cluster.failover`).
    failover: Option<Failover>,
    /// Nodes whose fault healed (resumed, links restored) that the manager rebuilds as standbys
    /// if it deposed them, at its next look: the heal is recorded when it happens, the rebuild
    /// (a base backup, seconds) as its own `rejoin` event after it.
    rejoin_due: BTreeSet<usize>,
}

/// Register and list-append operations over pooled connections.
struct PgOps {
    ids: Vec<String>,
    addresses: Vec<String>,
    timeout: Duration,
    idle: Vec<Mutex<Vec<PgClient>>>,
}

impl PgSystem {
    /// Starts the workload's primary and standbys (logs under `dir`) and creates the tables.
    pub async fn start(workload: &Workload, dir: &Path) -> anyhow::Result<PgSystem> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let c = &workload.cluster;
        let replication = Replication {
            standby_names: c.synchronous_standby_names.clone().unwrap_or_default(),
            commit: c.synchronous_commit.clone().unwrap_or_else(|| "on".into()),
        };
        let cluster = PgCluster::start(c.nodes - 1, &replication, dir).await?;
        let n = cluster.nodes();
        let ids: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
        let client = Arc::new(PgOps {
            ids: ids.clone(),
            addresses: (0..n).map(|i| cluster.address(i)).collect(),
            timeout: workload.client.timeout,
            idle: (0..n).map(|_| Mutex::new(Vec::new())).collect(),
        });
        let primary = PgClient::connect(&client.addresses[0], Duration::from_secs(5)).await?;
        primary.create_table().await?;
        Ok(PgSystem {
            ids,
            client,
            cluster,
            failover: c.failover.then(|| {
                Failover::new(
                    c.failover_promotes.unwrap_or_default(),
                    c.synchronous_standby_names.as_deref().unwrap_or_default(),
                )
            }),
            rejoin_due: BTreeSet::new(),
        })
    }
}

impl PgOps {
    /// An idle connection to `node`, or a new one (`connect: ...` when none can be made).
    async fn connection(&self, node: usize) -> Result<PgClient, String> {
        let idle = self.idle[node].lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(c) if !c.is_closed() => Ok(c),
            _ => PgClient::connect(&self.addresses[node], self.timeout)
                .await
                .map_err(|e| format!("connect: {e:#}")),
        }
    }

    fn give_back(&self, node: usize, connection: PgClient) {
        if !connection.is_closed() {
            self.idle[node]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(connection);
        }
    }

    /// Performs `op`; reads the routing sends to the leader (`opts.read = "leader"`) are served
    /// by a primary only.
    async fn perform(&self, connection: &PgClient, op: &GenOp, opts: &Options) -> SystemOutcome<Value> {
        let key = register_key(op);
        let int = |v: &Value| v.as_i64();
        let at_primary = opts.read.as_deref() == Some("leader");
        match op.f {
            "read" if at_primary => connection
                .read_at_primary(&key)
                .await
                .map(|v| v.map(Value::from).unwrap_or(Value::Null)),
            "read" => connection
                .read(&key)
                .await
                .map(|v| v.map(Value::from).unwrap_or(Value::Null)),
            "write" => match int(&op.value) {
                Some(v) => connection.write(&key, v).await.map(|()| op.value.clone()),
                None => {
                    SystemOutcome::Fail(format!("bad_request: registers hold integers, not {}", op.value))
                }
            },
            "cas" => match (op.value.get(0).and_then(int), op.value.get(1).and_then(int)) {
                (Some(from), Some(to)) => match connection.cas(&key, from, to).await {
                    SystemOutcome::Ok(true) => SystemOutcome::Ok(op.value.clone()),
                    SystemOutcome::Ok(false) => {
                        SystemOutcome::Fail(format!("cas_mismatch: {key} does not hold {from}"))
                    }
                    SystemOutcome::Fail(e) => SystemOutcome::Fail(e),
                    SystemOutcome::Info(e) => SystemOutcome::Info(e),
                },
                _ => SystemOutcome::Fail(format!("bad_request: cas takes two integers, not {}", op.value)),
            },
            _ => match op.value.as_array() {
                Some(ops) => connection.txn(ops, at_primary).await,
                None => SystemOutcome::Fail(format!(
                    "bad_request: a transaction is a list of micro-ops, not {}",
                    op.value
                )),
            },
        }
    }
}

/// A standby's refusal to write is the routing's `not_leader`.
fn as_harness_code(text: String) -> String {
    // 25006: a write on a standby; 0A000: a serializable transaction begun on a standby.
    match text
        .strip_prefix("25006: ")
        .or_else(|| text.strip_prefix("0A000: "))
    {
        Some(rest) => format!("not_leader: {rest}"),
        None => text,
    }
}

/// Whether a connection that ended an operation with this failure is still in a known state.
fn reusable(text: &str) -> bool {
    !["timeout:", "connection:", "connect:"]
        .iter()
        .any(|p| text.starts_with(p))
}

impl SystemClient for PgOps {
    fn invoke<'a>(&'a self, node: usize, op: &'a GenOp, opts: &'a Options) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let id = &self.ids[node];
            let connection = match self.connection(node).await {
                Ok(c) => c,
                Err(e) => return outcome_of(id, op, SystemOutcome::Fail(e)),
            };
            let result = self.perform(&connection, op, opts).await;
            let clean = match &result {
                SystemOutcome::Ok(_) => true,
                SystemOutcome::Fail(e) | SystemOutcome::Info(e) => reusable(e),
            };
            if clean {
                self.give_back(node, connection);
            }
            let result = match result {
                SystemOutcome::Fail(e) => SystemOutcome::Fail(as_harness_code(e)),
                SystemOutcome::Info(e) => SystemOutcome::Info(as_harness_code(e)),
                ok => ok,
            };
            outcome_of(id, op, result)
        })
    }
}

impl System for PgSystem {
    fn ids(&self) -> &[String] {
        &self.ids
    }

    fn client(&self) -> Arc<dyn SystemClient> {
        self.client.clone()
    }

    /// The node the failover manager treats as the primary (when it answers as one), else the
    /// first node that is not in recovery.
    fn leader(&self) -> BoxFuture<'_, Option<usize>> {
        Box::pin(async move {
            let designated = self.failover.as_ref().map(|f| f.primary);
            let order = designated.into_iter().chain(0..self.ids.len());
            for node in order {
                if !self.cluster.is_running(node) {
                    continue;
                }
                let Ok(connection) = self.client.connection(node).await else {
                    continue;
                };
                if let Ok(primary) = connection.is_primary().await {
                    self.client.give_back(node, connection);
                    if primary {
                        return Some(node);
                    }
                }
            }
            None
        })
    }

    fn kill(&mut self, node: usize) -> anyhow::Result<()> {
        self.cluster.kill_node(node)
    }

    /// Starts a killed node on its data, or, if the failover manager deposed it, as a fresh
    /// standby of the new primary.
    fn restart(&mut self, node: usize) -> BoxFuture<'_, anyhow::Result<()>> {
        let result = match &mut self.failover {
            Some(f) if f.deposed.contains(&node) => {
                f.rejoin_if_deposed(&mut self.cluster, node, &self.ids, true);
                Ok(())
            }
            _ => self.cluster.start_node(node),
        };
        Box::pin(async move { result })
    }

    fn pause(&mut self, node: usize) -> anyhow::Result<()> {
        self.cluster.pause_node(node, true)
    }

    fn resume(&mut self, node: usize) -> anyhow::Result<()> {
        if !self.cluster.is_running(node) {
            return Ok(());
        }
        self.cluster.pause_node(node, false)?;
        self.rejoin_due.insert(node);
        Ok(())
    }

    fn watch(&mut self) -> BoxFuture<'_, Vec<(String, Value)>> {
        Box::pin(async move {
            let Some(f) = &mut self.failover else {
                return Vec::new();
            };
            for node in std::mem::take(&mut self.rejoin_due) {
                f.rejoin_if_deposed(&mut self.cluster, node, &self.ids, false);
            }
            f.watch(&self.cluster, &self.ids).await;
            std::mem::take(&mut f.actions)
        })
    }

    fn is_running(&self, node: usize) -> bool {
        self.cluster.is_running(node)
    }

    fn take_unexpected_exits(&mut self) -> Vec<(usize, String)> {
        (0..self.ids.len())
            .filter_map(|node| self.cluster.exited(node).map(|status| (node, status.to_string())))
            .collect()
    }

    /// Cuts links; when every link is healed, a deposed primary that kept running (cut off, not
    /// killed) is rebuilt as a standby of the new one (at the manager's next look).
    fn cut(&mut self, links: &BTreeSet<(usize, usize)>) -> anyhow::Result<()> {
        let list: Vec<(usize, usize)> = links.iter().copied().collect();
        self.cluster.fabric().cut(&list)?;
        if links.is_empty() {
            self.rejoin_due.extend(0..self.ids.len());
        }
        Ok(())
    }

    fn fabric(&self) -> Option<&crate::netns::Fabric> {
        Some(self.cluster.fabric())
    }

    fn stop(&mut self) {
        for node in 0..self.ids.len() {
            let _ = self.cluster.kill_node(node);
        }
    }
}
