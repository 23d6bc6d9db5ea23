//! Starting, killing, pausing and restarting etcd nodes, one per namespace of a fabric.

use crate::netns::Fabric;
use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

/// The client port every node listens on, inside its own namespace.
pub const CLIENT_PORT: u16 = 2379;
/// The peer port every node listens on, inside its own namespace.
const PEER_PORT: u16 = 2380;

/// An etcd cluster of `fabric.nodes()` members; every process is killed and the fabric removed
/// on drop.
#[derive(Debug)]
pub struct EtcdCluster {
    processes: Vec<Option<Child>>,
    dir: PathBuf,
    // Dropped after the processes (fields drop in order of declaration, and Drop kills first).
    fabric: Fabric,
}

impl EtcdCluster {
    /// Starts `nodes` etcd members in a new fabric, with data and logs under `dir`.
    pub fn start(nodes: usize, dir: &Path) -> Result<EtcdCluster> {
        which_etcd()?;
        let fabric = Fabric::create(nodes)?;
        let mut cluster = EtcdCluster {
            processes: (0..nodes).map(|_| None).collect(),
            dir: dir.to_path_buf(),
            fabric,
        };
        for node in 0..nodes {
            cluster.start_node(node)?;
        }
        Ok(cluster)
    }

    /// The fabric the members live in (for cuts).
    pub fn fabric(&self) -> &Fabric {
        &self.fabric
    }

    /// How many members the cluster has.
    pub fn nodes(&self) -> usize {
        self.processes.len()
    }

    /// The client URL of member `node`.
    pub fn client_url(&self, node: usize) -> String {
        format!("http://{}:{CLIENT_PORT}", self.fabric.node_address(node))
    }

    /// Member `node`'s name, as the harness names nodes (`n1` for node 0).
    fn name(node: usize) -> String {
        format!("n{}", node + 1)
    }

    /// Whether member `node`'s process runs (paused counts as running).
    pub fn is_running(&self, node: usize) -> bool {
        self.processes[node].is_some()
    }

    /// Starts member `node` (again, after a kill: its data directory makes it rejoin).
    pub fn start_node(&mut self, node: usize) -> Result<()> {
        if self.processes[node].is_some() {
            bail!("etcd member {node} is already running");
        }
        let address = self.fabric.node_address(node);
        let peers: Vec<String> = (0..self.nodes())
            .map(|n| {
                format!(
                    "{}=http://{}:{PEER_PORT}",
                    Self::name(n),
                    self.fabric.node_address(n)
                )
            })
            .collect();
        let data = self.dir.join(Self::name(node));
        let log_path = self.dir.join(format!("{}.log", Self::name(node)));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let child = self
            .fabric
            .command(node, "etcd")
            .args(["--name", &Self::name(node)])
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen-client-urls", &format!("http://{address}:{CLIENT_PORT}")])
            .args([
                "--advertise-client-urls",
                &format!("http://{address}:{CLIENT_PORT}"),
            ])
            .args(["--listen-peer-urls", &format!("http://{address}:{PEER_PORT}")])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://{address}:{PEER_PORT}"),
            ])
            .args(["--initial-cluster", &peers.join(",")])
            .args(["--initial-cluster-state", "new"])
            .args([
                "--initial-cluster-token",
                &format!("faultline-{}", self.fabric.subnet()),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log handle")?)
            .stderr(log)
            .spawn()
            .context("starting etcd")?;
        self.processes[node] = Some(child);
        Ok(())
    }

    /// SIGKILLs member `node` and reaps it.
    pub fn kill_node(&mut self, node: usize) -> Result<()> {
        if let Some(mut child) = self.processes[node].take() {
            child.kill().context("killing etcd")?;
            child.wait().context("reaping etcd")?;
        }
        Ok(())
    }

    /// Pauses (SIGSTOP) or resumes (SIGCONT) member `node`.
    pub fn pause_node(&self, node: usize, pause: bool) -> Result<()> {
        let Some(child) = &self.processes[node] else {
            bail!("etcd member {node} is not running");
        };
        let signal = if pause { Signal::SIGSTOP } else { Signal::SIGCONT };
        kill(Pid::from_raw(child.id() as i32), signal).context("signalling etcd")?;
        Ok(())
    }

    /// Whether member `node` has exited on its own (not killed by us); reaps it if so.
    pub fn exited(&mut self, node: usize) -> Option<std::process::ExitStatus> {
        let status = self.processes[node].as_mut()?.try_wait().ok()??;
        self.processes[node] = None;
        Some(status)
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        // SIGKILL ends paused members too; the fabric's own drop then removes the namespaces.
        for node in 0..self.nodes() {
            let _ = self.kill_node(node);
        }
    }
}

fn which_etcd() -> Result<()> {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join("etcd").is_file()))
        .unwrap_or(false);
    if !found {
        bail!("etcd is not installed: scripts/setup installs it (Debian package etcd-server)");
    }
    Ok(())
}
