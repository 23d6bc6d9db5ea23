//! The cluster under test: `faultline node` processes on loopback, every node-to-node link
//! through the harness's [`Network`], and a [`StoreClient`] for the harness's clients.
//!
//! The nemesis owns the [`Cluster`] while a run goes (it alone kills, pauses and partitions);
//! clients hold clones of its client. Dropping a cluster kills every node.

pub mod launch;
pub mod node_flags;
pub mod process;

use crate::client::StoreClient;
use crate::net::Network;
use crate::run::run_dir::RunDir;
use crate::workload::{StoreMode, Workload};
use anyhow::{Context, bail};
use faultline_store::auth::ClusterToken;
use faultline_store::wire::Status;
use launch::{NodeProcess, NodeSpec, reserve_ports};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a status query may take before the node counts as not answering.
const STATUS_TIMEOUT: Duration = Duration::from_millis(500);

/// A running cluster.
pub struct Cluster {
    /// Node ids, `n1..nN`, index-aligned with `nodes`.
    pub ids: Vec<String>,
    nodes: Vec<NodeProcess>,
    /// The links between the nodes.
    pub network: Network,
    /// A client for every node.
    pub client: StoreClient,
    mode: StoreMode,
}

impl Cluster {
    /// Starts the network and the nodes of a workload's cluster, then waits until the cluster
    /// can serve (a leader is known to every node, or every peer is reachable).
    pub async fn start(workload: &Workload, run_dir: &RunDir, binary: &Path) -> anyhow::Result<Cluster> {
        let n = workload.cluster.nodes;
        let ids: Vec<String> = (1..=n).map(|i| format!("n{i}")).collect();
        let network = Network::start(n).await.context("starting the link proxies")?;
        let flags = node_flags::node_flags(&workload.cluster, workload.client.timeout);
        let mut nodes = Vec::with_capacity(n);
        // Outside the ephemeral range, so a killed node's port is still free when it restarts.
        let listen = reserve_ports(n)?;
        // One secret per run, for node-to-node and admin requests.
        let token = ClusterToken::generate();
        for (i, id) in ids.iter().enumerate() {
            let spec = NodeSpec {
                id: id.clone(),
                listen: listen[i],
                peers: network
                    .links_of(i)
                    .peers
                    .into_iter()
                    .map(|(peer, addr)| (ids[peer].clone(), addr))
                    .collect(),
                data_dir: run_dir.node_data(id),
                args: flags.clone(),
                token: token.clone(),
            };
            let log = run_dir.node_log(id);
            let node = tokio::task::block_in_place(|| NodeProcess::start(binary, spec, log))
                .with_context(|| format!("starting node {id}"))?;
            network.set_node_addr(i, node.addr);
            nodes.push(node);
        }
        let endpoints = nodes.iter().map(|n| (n.spec.id.clone(), n.url())).collect();
        let client = StoreClient::new(endpoints, workload.client.timeout)?.with_token(&token);
        let cluster = Cluster {
            ids,
            nodes,
            network,
            client,
            mode: workload.cluster.mode,
        };
        cluster.wait_ready(Duration::from_secs(20)).await?;
        Ok(cluster)
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True for a cluster of no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The store mode.
    pub fn mode(&self) -> StoreMode {
        self.mode
    }

    /// Each node's status document, or `None` for a node that did not answer in time.
    pub async fn statuses(&self) -> Vec<Option<Status>> {
        let queries = self.ids.iter().map(|id| async move {
            match tokio::time::timeout(STATUS_TIMEOUT, self.client.status(id)).await {
                Ok(Ok(status)) => Some(status),
                _ => None,
            }
        });
        futures_join_all(queries).await
    }

    /// The index of the node that claims leadership in the highest term, if any answers.
    pub async fn leader(&self) -> Option<usize> {
        leader_of(&self.statuses().await)
    }

    /// Waits until the cluster can serve clients.
    pub async fn wait_ready(&self, limit: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let statuses = self.statuses().await;
            if ready(self.mode, &statuses) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the cluster was not ready within {} s; node statuses: {}",
                    limit.as_secs(),
                    serde_json::to_string(&statuses).unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILLs a node.
    pub fn kill(&mut self, node: usize) {
        self.nodes[node].kill();
    }

    /// Restarts a killed node on its address with its data directory.
    pub fn restart(&mut self, node: usize) -> anyhow::Result<()> {
        let n = &mut self.nodes[node];
        tokio::task::block_in_place(|| n.restart())
    }

    /// True while the node's process runs (paused counts as running).
    pub fn is_running(&self, node: usize) -> bool {
        self.nodes[node].is_running()
    }

    /// SIGSTOPs a node.
    pub fn pause(&mut self, node: usize) -> anyhow::Result<()> {
        self.nodes[node].pause()
    }

    /// SIGCONTs a node.
    pub fn resume(&mut self, node: usize) -> anyhow::Result<()> {
        self.nodes[node].resume()
    }

    /// The nodes whose process ended on its own (not killed by the harness) since the last
    /// call, with how each ended. They count as down from then on.
    pub fn take_unexpected_exits(&mut self) -> Vec<(usize, String)> {
        self.nodes
            .iter_mut()
            .enumerate()
            .filter_map(|(i, node)| node.take_exit().map(|how| (i, how)))
            .collect()
    }

    /// Kills every node (the network goes when the cluster is dropped).
    pub fn stop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
    }

    /// The pids of the running nodes.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(NodeProcess::pid).collect()
    }
}

/// Runs futures concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    // These futures borrow the cluster, so they cannot be spawned: poll them together here.
    let futures: Vec<F> = futures.into_iter().collect();
    let n = futures.len();
    let mut outputs: Vec<Option<F::Output>> = (0..n).map(|_| None).collect();
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs
        .into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// The node claiming leadership in the highest term.
pub fn leader_of(statuses: &[Option<Status>]) -> Option<usize> {
    statuses
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let s = s.as_ref()?;
            (s.role == "leader").then_some((s.term, i))
        })
        .max()
        .map(|(_, i)| i)
}

/// Whether statuses show a cluster ready for clients.
fn ready(mode: StoreMode, statuses: &[Option<Status>]) -> bool {
    if statuses.iter().any(Option::is_none) {
        return false;
    }
    let all = statuses.iter().flatten();
    match mode {
        StoreMode::SingleLeader => match leader_of(statuses) {
            Some(l) => {
                let id = &statuses[l].as_ref().expect("answered").id;
                all.clone().all(|s| s.leader.as_ref() == Some(id))
            }
            None => false,
        },
        StoreMode::Leaderless => all.clone().all(|s| {
            s.detail["peers"]
                .as_array()
                .is_some_and(|peers| peers.iter().all(|p| p["reachable"] == true))
        }),
        StoreMode::MultiLeader => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(id: &str, role: &str, term: u64, leader: &str) -> Option<Status> {
        Some(Status {
            id: id.into(),
            mode: "single-leader".into(),
            role: role.into(),
            term,
            leader: Some(leader.into()),
            applied: 0,
            addr: "127.0.0.1:1".into(),
            pid: 1,
            clock_offset_ns: 0,
            clock_offset_ms: 0.0,
            clock_now_ns: 0,
            clock_strobing: false,
            uptime_ms: 0,
            detail: serde_json::Value::Null,
        })
    }

    #[test]
    fn leader_is_the_highest_term_claim() {
        let s = vec![
            status("n1", "leader", 2, "n1"),
            None,
            status("n3", "leader", 3, "n3"),
        ];
        assert_eq!(leader_of(&s), Some(2));
        assert!(!ready(StoreMode::SingleLeader, &s));
        let s = vec![status("n1", "follower", 3, "n2"), status("n2", "leader", 3, "n2")];
        assert!(ready(StoreMode::SingleLeader, &s));
    }
}
