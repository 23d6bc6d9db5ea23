//! Shared helpers of the store integration tests: clusters of real `faultline node` processes on
//! ephemeral loopback ports (optionally with a TCP proxy on every directed node-to-node link, as
//! the harness will have), a client for them, and polling helpers. Every process is killed and
//! reaped when its guard drops, also when a test fails.

#![allow(dead_code)]

pub mod proxy;

use faultline::client::{Options, Outcome, StoreClient};
use faultline::cluster::launch::{LocalCluster, NodeProcess, NodeSpec, reserve_ports};
use faultline_store::auth::ClusterToken;
use proxy::Proxy;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_faultline"))
}

/// Fast failure detection, so tests do not wait long for elections.
pub const FAST: &[&str] = &[
    "--heartbeat-ms",
    "25",
    "--election-timeout-ms",
    "250",
    "--op-timeout-ms",
    "1500",
];

/// A cluster, its data directory, and a client.
pub struct TestCluster {
    /// Proxies by (from, to) node id, when links are proxied.
    pub proxies: HashMap<(String, String), Proxy>,
    pub cluster: LocalCluster,
    pub client: StoreClient,
    pub dir: tempfile::TempDir,
}

impl TestCluster {
    /// Nodes n1..n{size} dialing each other directly, with [`FAST`] timings unless `args` sets
    /// the same flag.
    pub fn start(size: usize, args: &[&str]) -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut all: Vec<&str> = FAST
            .chunks(2)
            .filter(|pair| !args.contains(&pair[0]))
            .flatten()
            .copied()
            .collect();
        all.extend_from_slice(args);
        let cluster =
            LocalCluster::start(&binary(), dir.path(), size, &all).unwrap_or_else(|e| panic!("{e:#}"));
        let client = StoreClient::new(cluster.endpoints(), Duration::from_secs(5))
            .expect("client")
            .with_token(&cluster.token);
        TestCluster {
            proxies: HashMap::new(),
            cluster,
            client,
            dir,
        }
    }

    /// Nodes n1..n{size} whose every directed link goes through its own proxy.
    pub async fn start_proxied(size: usize, args: &[&str]) -> TestCluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let addrs = reserve_ports(size).expect("ports");
        let ids: Vec<String> = (1..=size).map(|i| format!("n{i}")).collect();
        let token = ClusterToken::generate();
        let mut proxies = HashMap::new();
        for from in &ids {
            for (to, addr) in ids.iter().zip(&addrs) {
                if from != to {
                    proxies.insert((from.clone(), to.clone()), Proxy::start(*addr).await);
                }
            }
        }
        let mut all: Vec<String> = FAST.iter().map(|s| s.to_string()).collect();
        all.extend(args.iter().map(|s| s.to_string()));
        let mut nodes = Vec::new();
        for (id, addr) in ids.iter().zip(&addrs) {
            let peers = ids
                .iter()
                .filter(|other| *other != id)
                .map(|other| (other.clone(), proxies[&(id.clone(), other.clone())].addr))
                .collect();
            let spec = NodeSpec {
                id: id.clone(),
                listen: *addr,
                peers,
                data_dir: dir.path().join(id),
                args: all.clone(),
                token: token.clone(),
            };
            let log = dir.path().join(format!("{id}.log"));
            nodes.push(NodeProcess::start(&binary(), spec, log).unwrap_or_else(|e| panic!("{e:#}")));
        }
        let cluster = LocalCluster { nodes, token };
        let client = StoreClient::new(cluster.endpoints(), Duration::from_secs(5))
            .expect("client")
            .with_token(&cluster.token);
        let t = TestCluster {
            proxies,
            cluster,
            client,
            dir,
        };
        t.wait_peers_reachable(Duration::from_secs(10)).await;
        t
    }

    /// Waits until every node reports every peer reachable, where its mode tracks that (a
    /// leaderless node refuses with `no_quorum` until its first pings to the others succeed).
    pub async fn wait_peers_reachable(&self, within: Duration) {
        let deadline = Instant::now() + within;
        for (id, _) in self.cluster.endpoints() {
            loop {
                let status = self.client.status(&id).await.ok();
                let peers = status.as_ref().and_then(|s| s.detail["peers"].as_array());
                match peers {
                    Some(peers) if peers.iter().all(|p| p["reachable"] == true) => break,
                    None if status.is_some() => break,
                    _ => {}
                }
                assert!(
                    Instant::now() < deadline,
                    "{id} does not see every peer: {status:?}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Cuts (or restores) the directed link from -> to.
    pub fn set_link(&self, from: &str, to: &str, up: bool) {
        let proxy = &self.proxies[&(from.to_string(), to.to_string())];
        if up { proxy.unblock() } else { proxy.block() }
    }

    /// Cuts (or restores) both directions between a and b.
    pub fn set_links(&self, a: &str, b: &str, up: bool) {
        self.set_link(a, b, up);
        self.set_link(b, a, up);
    }

    pub fn node(&mut self, id: &str) -> &mut NodeProcess {
        self.cluster.node(id)
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir.path().join(format!("{id}.log"))
    }

    /// The node among `among` that all of `among` agree is the leader (single-leader mode).
    pub async fn agreed_leader(&self, among: &[&str]) -> Option<String> {
        let mut leader: Option<String> = None;
        for id in among {
            let status = self.client.status(id).await.ok()?;
            let theirs = status.leader?;
            if leader.as_ref().is_some_and(|l| *l != theirs) {
                return None;
            }
            leader = Some(theirs);
        }
        let leader = leader.filter(|l| among.contains(&l.as_str()))?;
        let status = self.client.status(&leader).await.ok()?;
        (status.role == "leader").then_some(leader)
    }

    /// Waits until the nodes in `among` agree on a leader.
    pub async fn wait_leader(&self, among: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.agreed_leader(among).await {
                return l;
            }
            assert!(
                Instant::now() < deadline,
                "no agreed leader among {among:?} within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Prints the nodes' logs (for failing tests).
    pub fn dump_logs(&self) {
        for n in &self.cluster.nodes {
            let text = std::fs::read_to_string(self.log_path(&n.spec.id)).unwrap_or_default();
            eprintln!("----- {} -----\n{text}", n.spec.id);
        }
    }
}

/// Polls `read` on `node` until `check` holds for the value read, or panics after `within`.
pub async fn wait_value(
    client: &StoreClient,
    node: &str,
    key: &str,
    opts: &Options,
    within: Duration,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let outcome = client.read(node, key, opts).await;
        if let Outcome::Ok(s) = &outcome
            && check(&s.value)
        {
            return s.value.clone();
        }
        assert!(
            Instant::now() < deadline,
            "{node}: key {key} never satisfied the check; last {outcome:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of a successful outcome, or a panic naming the failure.
pub fn ok_value(outcome: Outcome, what: &str) -> serde_json::Value {
    match outcome {
        Outcome::Ok(s) => s.value,
        other => panic!("{what}: expected ok, got {other:?}"),
    }
}

pub fn any() -> Options {
    Options {
        read: Some("any".into()),
        ..Options::default()
    }
}

pub fn local() -> Options {
    Options {
        read: Some("local".into()),
        ..Options::default()
    }
}

pub fn data_dir(dir: &Path, id: &str) -> PathBuf {
    dir.join(id)
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
    }
}
