//! A primary (node 0) and streaming standbys (nodes 1..), each in its own namespace of a
//! fabric, data and logs under the run directory.

use super::client::PgClient;
use crate::netns::Fabric;
use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;
use nix::unistd::{User, chown};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The port every node listens on, inside its own namespace.
pub const PORT: u16 = 5432;

/// How commits wait for standbys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// `synchronous_standby_names` (empty: asynchronous), e.g. `FIRST 2 (n1, n2)`, `ANY 1 (*)`.
    pub standby_names: String,
    /// `synchronous_commit`: `on`, `remote_write` or `remote_apply`.
    pub commit: String,
}

impl Replication {
    /// Asynchronous streaming: commits wait for no standby.
    pub fn asynchronous() -> Replication {
        Replication {
            standby_names: String::new(),
            commit: "on".into(),
        }
    }
}

/// A PostgreSQL primary and its standbys; every process is killed and the fabric removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    processes: Vec<Option<Child>>,
    bin: PathBuf,
    data: PathBuf,
    logs: PathBuf,
    user: User,
    fabric: Fabric,
}

/// The directory of the newest installed PostgreSQL's programs.
fn find_bin() -> Result<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|v| v.1)
        .context("PostgreSQL is not installed: scripts/setup installs it (Debian package postgresql)")
}

impl PgCluster {
    /// Starts a primary and `standbys` standbys replicating as `replication` says, with logs
    /// under `dir` (data in the fabric's scratch directory, which `postgres` can reach); returns
    /// once every standby streams from the primary.
    pub async fn start(standbys: usize, replication: &Replication, dir: &Path) -> Result<PgCluster> {
        let bin = find_bin()?;
        let user = User::from_name("postgres")?
            .context("no user `postgres` (the Debian package postgresql creates it)")?;
        let fabric = Fabric::create(1 + standbys)?;
        let data = fabric.scratch_dir()?.join("pgdata");
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        chown(&data, Some(user.uid), Some(user.gid)).context("giving the data to postgres")?;
        let mut cluster = PgCluster {
            processes: (0..=standbys).map(|_| None).collect(),
            bin,
            logs: dir.to_path_buf(),
            data,
            user,
            fabric,
        };
        cluster.init_primary(replication)?;
        cluster.start_node(0)?;
        cluster.wait_ready(0).await?;
        for node in 1..=standbys {
            cluster.base_backup(node)?;
            cluster.start_node(node)?;
            cluster.wait_ready(node).await?;
        }
        cluster.wait_streaming(standbys).await?;
        Ok(cluster)
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.data.join(name(node))
    }

    /// A command run as `postgres` in the root namespace (it reaches nodes over the bridge).
    fn as_postgres(&self, program: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(self.bin.join(program));
        command
            .uid(self.user.uid.as_raw())
            .gid(self.user.gid.as_raw())
            .stdin(Stdio::null());
        command
    }

    fn run_as_postgres(&self, program: &str, args: &[&str]) -> Result<()> {
        let out = self
            .as_postgres(program)
            .args(args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    fn init_primary(&self, replication: &Replication) -> Result<()> {
        let dir = self.node_dir(0);
        let dir_str = dir.to_string_lossy();
        self.run_as_postgres(
            "initdb",
            &[
                "-D",
                &dir_str,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        let conf = format!(
            "\n# faultline\nport = {PORT}\nunix_socket_directories = ''\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\nwal_receiver_timeout = '2s'\nwal_sender_timeout = '2s'\nsynchronous_standby_names = '{}'\nsynchronous_commit = {}\n",
            replication.standby_names.replace('\'', "''"),
            replication.commit
        );
        append(&dir.join("postgresql.conf"), &conf)?;
        append(
            &dir.join("pg_hba.conf"),
            "\nhost all all 169.254.0.0/16 trust\nhost replication all 169.254.0.0/16 trust\n",
        )
    }

    /// The connection string a standby `node` streams from `primary` with.
    pub fn conninfo(&self, node: usize, primary: usize) -> String {
        format!(
            "host={} port={PORT} user=postgres application_name={}",
            self.fabric.node_address(primary),
            name(node)
        )
    }

    /// Makes node `node` a fresh standby of `primary`: killed, its data replaced by a base
    /// backup of the primary, started again (what a naive failover manager does with a deposed
    /// primary; whatever it alone had is gone).
    pub fn rejoin(&mut self, node: usize, primary: usize) -> Result<()> {
        self.kill_node(node)?;
        let dir = self.node_dir(node);
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        self.base_backup_from(node, primary)?;
        self.start_node(node)
    }

    fn base_backup(&self, node: usize) -> Result<()> {
        self.base_backup_from(node, 0)
    }

    fn base_backup_from(&self, node: usize, primary: usize) -> Result<()> {
        let dir = self.node_dir(node);
        let source = self.conninfo(node, primary);
        self.run_as_postgres(
            "pg_basebackup",
            &[
                "-d",
                &source,
                "-D",
                &dir.to_string_lossy(),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        )
    }

    /// The fabric the nodes live in (for cuts).
    pub fn fabric(&self) -> &Fabric {
        &self.fabric
    }

    /// The address clients connect to for node `node` (port [`PORT`]).
    pub fn address(&self, node: usize) -> String {
        self.fabric.node_address(node).to_string()
    }

    /// Starts node `node` on its data directory (again, after a kill: it recovers).
    pub fn start_node(&mut self, node: usize) -> Result<()> {
        if self.processes[node].is_some() {
            bail!("PostgreSQL node {node} is already running");
        }
        let log_path = self.logs.join(format!("{}.log", name(node)));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let listen = format!("listen_addresses={}", self.address(node));
        let child = self
            .fabric
            .command_as(node, &self.bin.join("postgres").to_string_lossy(), &self.user)?
            .arg("-D")
            .arg(self.node_dir(node))
            .args(["-c", &listen])
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("duplicating the log handle")?)
            .stderr(log)
            .spawn()
            .context("starting postgres")?;
        self.processes[node] = Some(child);
        Ok(())
    }

    /// SIGKILLs node `node`'s postmaster and every backend (every process in its namespace:
    /// each backend is in a process group of its own) and reaps the postmaster.
    pub fn kill_node(&mut self, node: usize) -> Result<()> {
        if let Some(mut child) = self.processes[node].take() {
            self.fabric.signal_all(node, Signal::SIGKILL);
            child.kill().ok();
            child.wait().context("reaping postgres")?;
        }
        Ok(())
    }

    /// Pauses (SIGSTOP) or resumes (SIGCONT) every process of node `node`.
    pub fn pause_node(&self, node: usize, pause: bool) -> Result<()> {
        if self.processes[node].is_none() {
            bail!("PostgreSQL node {} is not running", name(node));
        }
        let signal = if pause { Signal::SIGSTOP } else { Signal::SIGCONT };
        self.fabric.signal_all(node, signal);
        Ok(())
    }

    /// Whether node `node`'s postmaster runs (paused counts as running).
    pub fn is_running(&self, node: usize) -> bool {
        self.processes[node].is_some()
    }

    /// Whether node `node`'s postmaster exited on its own (not killed by us); reaps it if so,
    /// and kills what is left of its process group.
    pub fn exited(&mut self, node: usize) -> Option<std::process::ExitStatus> {
        let child = self.processes[node].as_mut()?;
        let status = child.try_wait().ok()??;
        self.fabric.signal_all(node, Signal::SIGKILL);
        self.processes[node] = None;
        Some(status)
    }

    /// How many nodes the cluster has.
    pub fn nodes(&self) -> usize {
        self.processes.len()
    }

    async fn wait_ready(&self, node: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match PgClient::connect(&self.address(node), Duration::from_secs(2)).await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(e).context(format!(
                        "PostgreSQL node {0} never accepted connections (see {0}.log)",
                        name(node)
                    ));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    async fn wait_streaming(&self, standbys: usize) -> Result<()> {
        let primary = PgClient::connect(&self.address(0), Duration::from_secs(2)).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let streaming = primary.streaming_standbys().await?;
            if streaming >= standbys {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{streaming} of {standbys} standbys stream from the primary after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for node in 0..self.processes.len() {
            let _ = self.kill_node(node);
        }
    }
}

/// Node `node`'s name, as the harness names nodes (`n1` for node 0, the first primary).
fn name(node: usize) -> String {
    format!("n{}", node + 1)
}

fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("appending to {}", path.display()))
}
