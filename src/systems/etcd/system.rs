//! etcd as a [`System`]: members in network namespaces, links cut with nftables, the leader
//! from `/v3/maintenance/status`, register operations over the v3 JSON gateway.

use super::{EtcdClient, EtcdCluster};
use crate::client::{Options, Outcome};
use crate::systems::kind::register_key;
use crate::systems::{BoxFuture, System, SystemClient, SystemOutcome, outcome_of};
use crate::workload::Workload;
use crate::workload::generator::GenOp;
use anyhow::{Context, bail};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running etcd cluster and its client.
pub struct EtcdSystem {
    ids: Vec<String>,
    client: Arc<EtcdOps>,
    cluster: EtcdCluster,
}

/// Register operations at the members' client URLs.
struct EtcdOps {
    client: EtcdClient,
    ids: Vec<String>,
    urls: Vec<String>,
}

impl EtcdSystem {
    /// Starts the workload's members (data and logs under `dir`) and waits until every member
    /// names the same leader.
    pub async fn start(workload: &Workload, dir: &Path) -> anyhow::Result<EtcdSystem> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let n = workload.cluster.nodes;
        let cluster = tokio::task::block_in_place(|| EtcdCluster::start(n, dir))?;
        let ids: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
        let client = Arc::new(EtcdOps {
            client: EtcdClient::new(workload.client.timeout)?,
            ids: ids.clone(),
            urls: (0..n).map(|i| cluster.client_url(i)).collect(),
        });
        let system = EtcdSystem { ids, client, cluster };
        system.wait_ready(Duration::from_secs(30)).await?;
        Ok(system)
    }

    async fn wait_ready(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let views = self.client.views().await;
            let leaders: Vec<&String> = views.iter().flatten().map(|(_, leader)| leader).collect();
            if leaders.len() == views.len() && leaders.windows(2).all(|w| w[0] == w[1]) && !leaders.is_empty()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "etcd did not agree on a leader within {} s (views: {views:?}); see the members' logs under nodes/",
                    limit.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl EtcdOps {
    /// Each member's (own member id, leader's member id), `None` where it did not answer.
    async fn views(&self) -> Vec<Option<(String, String)>> {
        let mut views = Vec::with_capacity(self.urls.len());
        for url in &self.urls {
            views.push(self.client.status(url).await);
        }
        views
    }
}

impl SystemClient for EtcdOps {
    /// Reads are linearizable, except under a routing policy that reads at any node
    /// (`opts.read = "any"`): those are etcd's serializable reads, served from the member's own
    /// state, as a follower read of the built-in store is.
    fn invoke<'a>(&'a self, node: usize, op: &'a GenOp, opts: &'a Options) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let url = &self.urls[node];
            let id = &self.ids[node];
            let key = register_key(op);
            let int = |v: &Value| v.as_i64();
            let result: SystemOutcome<Value> = match op.f {
                "read" if opts.read.as_deref() == Some("any") => self
                    .client
                    .read_local(url, &key)
                    .await
                    .map(|v| v.map(Value::from).unwrap_or(Value::Null)),
                "read" => self
                    .client
                    .read(url, &key)
                    .await
                    .map(|v| v.map(Value::from).unwrap_or(Value::Null)),
                "write" => match int(&op.value) {
                    Some(v) => self.client.write(url, &key, v).await.map(|()| op.value.clone()),
                    None => SystemOutcome::Fail(format!("etcd registers hold integers, not {}", op.value)),
                },
                "cas" => match (op.value.get(0).and_then(int), op.value.get(1).and_then(int)) {
                    (Some(from), Some(to)) => match self.client.cas(url, &key, from, to).await {
                        SystemOutcome::Ok(true) => SystemOutcome::Ok(op.value.clone()),
                        SystemOutcome::Ok(false) => {
                            SystemOutcome::Fail(format!("cas_mismatch: {key} does not hold {from}"))
                        }
                        SystemOutcome::Fail(e) => SystemOutcome::Fail(e),
                        SystemOutcome::Info(e) => SystemOutcome::Info(e),
                    },
                    _ => SystemOutcome::Fail(format!("etcd cas takes two integers, not {}", op.value)),
                },
                other => SystemOutcome::Fail(format!("etcd takes read, write and cas, not {other}")),
            };
            outcome_of(id, op, result)
        })
    }
}

impl System for EtcdSystem {
    fn ids(&self) -> &[String] {
        &self.ids
    }

    fn client(&self) -> Arc<dyn SystemClient> {
        self.client.clone()
    }

    fn leader(&self) -> BoxFuture<'_, Option<usize>> {
        Box::pin(async move {
            let views = self.client.views().await;
            let leader = views.iter().flatten().map(|(_, leader)| leader).next()?;
            views
                .iter()
                .position(|v| v.as_ref().is_some_and(|(me, _)| me == leader))
        })
    }

    fn kill(&mut self, node: usize) -> anyhow::Result<()> {
        self.cluster.kill_node(node)
    }

    fn restart(&mut self, node: usize) -> BoxFuture<'_, anyhow::Result<()>> {
        let result = self.cluster.start_node(node);
        Box::pin(async move { result })
    }

    fn pause(&mut self, node: usize) -> anyhow::Result<()> {
        self.cluster.pause_node(node, true)
    }

    fn resume(&mut self, node: usize) -> anyhow::Result<()> {
        if !self.cluster.is_running(node) {
            return Ok(());
        }
        self.cluster.pause_node(node, false)
    }

    fn is_running(&self, node: usize) -> bool {
        self.cluster.is_running(node)
    }

    fn take_unexpected_exits(&mut self) -> Vec<(usize, String)> {
        (0..self.ids.len())
            .filter_map(|node| self.cluster.exited(node).map(|status| (node, status.to_string())))
            .collect()
    }

    fn cut(&mut self, links: &BTreeSet<(usize, usize)>) -> anyhow::Result<()> {
        let links: Vec<(usize, usize)> = links.iter().copied().collect();
        self.cluster.fabric().cut(&links)
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
