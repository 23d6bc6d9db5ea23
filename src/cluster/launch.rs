//! Starting store nodes as child processes of the `faultline` binary, on loopback, each with its
//! own data directory and stderr log file: used by the integration tests and the benchmark, and
//! available to the harness. A [`NodeProcess`] is killed (SIGKILL) and reaped when dropped, so a
//! test that fails half-way leaves no node behind.

use super::process::{ChildState, OwnedChild};
use anyhow::{Context, bail};
use faultline_store::auth::{ClusterToken, TOKEN_ENV};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to start one node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    pub id: String,
    /// The address to listen on (port 0 for an ephemeral one).
    pub listen: SocketAddr,
    /// For each peer, the address to dial (the peer itself, or a proxy in front of it).
    pub peers: Vec<(String, SocketAddr)>,
    pub data_dir: PathBuf,
    /// Further flags, e.g. `["--mode", "leaderless"]`.
    pub args: Vec<String>,
    /// The cluster token, handed to the node through its environment (never its command line).
    pub token: ClusterToken,
}

/// A running (or stopped) node process.
pub struct NodeProcess {
    pub spec: NodeSpec,
    binary: PathBuf,
    /// The address the node bound (known once it is ready).
    pub addr: SocketAddr,
    /// Where its stderr goes (appended across restarts).
    pub log_path: PathBuf,
    child: Option<OwnedChild>,
}

/// Reserves `count` distinct loopback ports for nodes to listen on, checking that each can be
/// bound, then releasing them for the nodes.
///
/// The ports are drawn at random from below the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`), not by binding port 0: a port from the ephemeral range can
/// be taken, between its release and the node's bind or while a killed node is down, as the
/// local port of any outgoing connection on the machine (a client's, a proxy's, another test's),
/// and the node could then not listen on it. Below that range only another explicit bind can
/// take it. Falls back to port 0 when that range is too small.
pub fn reserve_ports(count: usize) -> anyhow::Result<Vec<SocketAddr>> {
    let (low, high) = listen_port_range();
    let mut listeners: Vec<TcpListener> = Vec::with_capacity(count);
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ (u64::from(std::process::id()) << 32)
        | 1;
    let mut attempts = 0;
    while high > low && listeners.len() < count && attempts < 100 * count {
        attempts += 1;
        // xorshift64: a different sequence per process and moment, no fixed ports.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let port = low + (state % u64::from(high - low)) as u16;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            listeners.push(listener);
        }
    }
    while listeners.len() < count {
        listeners.push(TcpListener::bind("127.0.0.1:0").context("reserving loopback ports")?);
    }
    listeners
        .iter()
        .map(|l| l.local_addr().context("reading a reserved port"))
        .collect()
}

/// Ports from 15000 up to the start of the ephemeral range (32768 by default on Linux).
fn listen_port_range() -> (u16, u16) {
    const LOW: u16 = 15000;
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    if ephemeral_start > LOW + 1000 {
        (LOW, ephemeral_start)
    } else {
        (0, 0)
    }
}

impl NodeProcess {
    /// Starts a node and waits (up to 15 s) until it serves.
    pub fn start(binary: &Path, spec: NodeSpec, log_path: PathBuf) -> anyhow::Result<NodeProcess> {
        let mut node = NodeProcess {
            addr: spec.listen,
            spec,
            binary: binary.to_path_buf(),
            log_path,
            child: None,
        };
        node.launch()?;
        Ok(node)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        let ready = self.spec.data_dir.with_extension("ready");
        let _ = std::fs::remove_file(&ready);
        std::fs::create_dir_all(&self.spec.data_dir)
            .with_context(|| format!("creating {}", self.spec.data_dir.display()))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .with_context(|| format!("opening {}", self.log_path.display()))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("node")
            .args(["--id", &self.spec.id])
            .args(["--listen", &self.addr.to_string()])
            .arg("--data-dir")
            .arg(&self.spec.data_dir)
            .arg("--ready-file")
            .arg(&ready);
        for (id, addr) in &self.spec.peers {
            cmd.arg("--peer").arg(format!("{id}={addr}"));
        }
        cmd.args(&self.spec.args)
            .env(TOKEN_ENV, self.spec.token.secret())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let child = OwnedChild::spawn(cmd).with_context(|| format!("starting {}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready)
                && let Ok(announced) = serde_json::from_str::<faultline_store::wire::Ready>(&text)
                && let Ok(addr) = announced.addr.parse()
            {
                self.addr = addr;
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && child.state() == ChildState::Exited
            {
                let status = child.exit_description();
                self.child = None;
                let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                bail!(
                    "node {} exited ({status}) before it was ready; its log ends:\n{}",
                    self.spec.id,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            if Instant::now() > deadline {
                self.kill();
                bail!(
                    "node {} was not ready within 15 s (log: {})",
                    self.spec.id,
                    self.log_path.display()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The node's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(OwnedChild::pid)
    }

    /// Has the process been started and not killed by us? (See [`NodeProcess::exited`].)
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// If the process exited on its own (crashed), how it ended.
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        (child.state() == ChildState::Exited).then(|| child.exit_description())
    }

    /// If the process exited on its own, how it ended; the node then counts as not running
    /// (so a heal restarts it). Each exit is reported once.
    pub fn take_exit(&mut self) -> Option<String> {
        let description = self.exited()?;
        self.child = None;
        Some(description)
    }

    /// Pauses the process (SIGSTOP), returning once the kernel reports it stopped.
    pub fn pause(&mut self) -> anyhow::Result<()> {
        let id = &self.spec.id;
        self.child
            .as_mut()
            .with_context(|| format!("node {id} is not running"))?
            .pause()
    }

    /// Resumes a paused process (SIGCONT).
    pub fn resume(&mut self) -> anyhow::Result<()> {
        let id = &self.spec.id;
        self.child
            .as_mut()
            .with_context(|| format!("node {id} is not running"))?
            .resume()
    }

    /// Sends any other signal to the process.
    pub fn signal(&self, signal: Signal) -> anyhow::Result<()> {
        let pid = self.pid().context("the node is not running")?;
        kill(Pid::from_raw(pid as i32), signal)
            .with_context(|| format!("sending {signal} to {}", self.spec.id))
    }

    /// Kills the process with SIGKILL and reaps it (no-op if it is not running).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill();
        }
    }

    /// Starts the node again with the same settings, data directory and address.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.launch()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A cluster of node processes on loopback, every node dialing its peers directly, sharing one
/// fresh cluster token.
pub struct LocalCluster {
    pub nodes: Vec<NodeProcess>,
    pub token: ClusterToken,
}

impl LocalCluster {
    /// Starts `size` nodes `n1..` with data under `dir` and the same extra flags for all.
    pub fn start(binary: &Path, dir: &Path, size: usize, args: &[&str]) -> anyhow::Result<LocalCluster> {
        let addrs = reserve_ports(size)?;
        let ids: Vec<String> = (1..=size).map(|i| format!("n{i}")).collect();
        let token = ClusterToken::generate();
        let mut nodes = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let peers = ids
                .iter()
                .zip(&addrs)
                .filter(|(other, _)| *other != id)
                .map(|(other, addr)| (other.clone(), *addr))
                .collect();
            let spec = NodeSpec {
                id: id.clone(),
                listen: addrs[i],
                peers,
                data_dir: dir.join(id),
                args: args.iter().map(|s| s.to_string()).collect(),
                token: token.clone(),
            };
            nodes.push(NodeProcess::start(binary, spec, dir.join(format!("{id}.log")))?);
        }
        Ok(LocalCluster { nodes, token })
    }

    /// The node with this id.
    pub fn node(&mut self, id: &str) -> &mut NodeProcess {
        let i = self
            .nodes
            .iter()
            .position(|n| n.spec.id == id)
            .unwrap_or_else(|| panic!("no node {id}"));
        &mut self.nodes[i]
    }

    /// (id, base URL) of every node.
    pub fn endpoints(&self) -> Vec<(String, String)> {
        self.nodes.iter().map(|n| (n.spec.id.clone(), n.url())).collect()
    }
}
