//! A fabric: a bridge, and per node a namespace joined to it by a veth pair, with nftables
//! rules that cut links between nodes.

use super::cmd::{nft_in, require_root, run, run_quietly};
use super::lease::Lease;
use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::Command;

/// The most nodes one fabric holds (addresses .1 to .64; .254 is the harness).
pub const MAX_NODES: usize = 64;

/// The nftables table every node namespace gets; its input chain holds the cuts.
const TABLE: &str = "table inet faultline";

/// Network namespaces for `nodes` nodes on one bridge; torn down on drop.
#[derive(Debug)]
pub struct Fabric {
    lease: Option<Lease>,
    subnet: u8,
    nodes: usize,
}

/// The name of node `node`'s namespace in subnet `subnet`.
pub(super) fn namespace_name(subnet: u8, node: usize) -> String {
    format!("faultline-{subnet}-n{node}")
}

/// The bridge of subnet `subnet`.
pub(super) fn bridge_name(subnet: u8) -> String {
    format!("flbr{subnet}")
}

/// The host side of node `node`'s veth pair.
fn veth_name(subnet: u8, node: usize) -> String {
    format!("flv{subnet}n{node}")
}

impl Fabric {
    /// Creates the bridge and `nodes` namespaces, each with its address and an empty cut table.
    pub fn create(nodes: usize) -> Result<Fabric> {
        require_root()?;
        if nodes == 0 || nodes > MAX_NODES {
            bail!("a network fabric holds 1 to {MAX_NODES} nodes, not {nodes}");
        }
        let lease = Lease::acquire(|s| {
            std::path::Path::new("/sys/class/net")
                .join(bridge_name(s))
                .exists()
        })?;
        let mut fabric = Fabric {
            subnet: lease.subnet(),
            lease: Some(lease),
            nodes,
        };
        fabric.build().inspect_err(|_| fabric.tear_down())?;
        Ok(fabric)
    }

    fn build(&mut self) -> Result<()> {
        let bridge = bridge_name(self.subnet);
        let harness = format!("{}/24", self.harness_address());
        run("ip", &["link", "add", &bridge, "type", "bridge"])?;
        run("ip", &["addr", "add", &harness, "dev", &bridge])?;
        run("ip", &["link", "set", &bridge, "up"])?;
        for node in 0..self.nodes {
            let ns = namespace_name(self.subnet, node);
            let veth = veth_name(self.subnet, node);
            let address = format!("{}/24", self.node_address(node));
            run("ip", &["netns", "add", &ns])?;
            run(
                "ip",
                &[
                    "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
                ],
            )?;
            run("ip", &["link", "set", &veth, "master", &bridge, "up"])?;
            run("ip", &["-n", &ns, "addr", "add", &address, "dev", "eth0"])?;
            run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
            run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
            nft_in(
                &ns,
                &format!(
                    "{TABLE} {{\n  chain input {{ type filter hook input priority 0; policy accept; }}\n}}\n"
                ),
            )
            .with_context(|| format!("setting up the cut table of node {node}"))?;
        }
        Ok(())
    }

    /// A directory for the nodes' data that users other than root can reach (PostgreSQL runs
    /// as `postgres`, and a run directory may sit under a private one): created on first use
    /// (mode 0711), removed with the fabric, and by `faultline clean` after a killed run.
    pub fn scratch_dir(&self) -> Result<std::path::PathBuf> {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch_path(self.subnet);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711))
            .with_context(|| format!("opening {} to other users", dir.display()))?;
        Ok(dir)
    }

    /// What the fabric is, in a few lines: subnet, bridge, each node's namespace and address.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "subnet 169.254.{0}.0/24\nbridge {1} (the harness at {2})\n",
            self.subnet,
            bridge_name(self.subnet),
            self.harness_address()
        );
        for node in 0..self.nodes {
            text += &format!(
                "n{} namespace {} address {}\n",
                node + 1,
                self.namespace(node),
                self.node_address(node)
            );
        }
        text
    }

    /// The subnet number S of `169.254.S.0/24`.
    pub fn subnet(&self) -> u8 {
        self.subnet
    }

    /// How many nodes the fabric holds.
    pub fn nodes(&self) -> usize {
        self.nodes
    }

    /// Node `node`'s address (`169.254.S.node+1`).
    pub fn node_address(&self, node: usize) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.subnet, node as u8 + 1)
    }

    /// The address of the harness on the bridge, which no cut ever blocks.
    pub fn harness_address(&self) -> Ipv4Addr {
        Ipv4Addr::new(169, 254, self.subnet, 254)
    }

    /// Node `node`'s namespace name.
    pub fn namespace(&self, node: usize) -> String {
        namespace_name(self.subnet, node)
    }

    /// A command that runs `program` inside node `node`'s namespace (`ip netns exec` execs the
    /// program, so the child's pid is the program's own: signals reach it directly).
    pub fn command(&self, node: usize, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespace(node), program]);
        command
    }

    /// A command that runs `program` inside node `node`'s namespace as `user` (for systems that
    /// refuse to run as root): the child enters the namespace, then drops to the user's ids,
    /// then execs `program`, so its pid is the program's own.
    pub fn command_as(&self, node: usize, program: &str, user: &nix::unistd::User) -> Result<Command> {
        use std::os::unix::process::CommandExt;
        let path = format!("/run/netns/{}", self.namespace(node));
        let netns = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
        let (uid, gid) = (user.uid, user.gid);
        let mut command = Command::new(program);
        // SAFETY: the closure runs in the forked child before exec and only makes system calls
        // (setns, setgroups, setgid, setuid), which are async-signal-safe; the namespace file is
        // opened in the parent and moved in.
        unsafe {
            command.pre_exec(move || {
                nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET)?;
                nix::unistd::setgroups(&[gid])?;
                nix::unistd::setgid(gid)?;
                nix::unistd::setuid(uid)?;
                Ok(())
            });
        }
        Ok(command)
    }

    /// Sends `signal` to every process in node `node`'s namespace (a system's node may be many
    /// processes in their own process groups: PostgreSQL puts each backend in its own), and
    /// returns how many there were.
    pub fn signal_all(&self, node: usize, signal: nix::sys::signal::Signal) -> usize {
        let pids = pids_in(&self.namespace(node));
        for &pid in &pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
        pids.len()
    }

    /// Makes `cuts` the set of cut directed links: for each `(from, to)`, packets from `from`
    /// are dropped on arrival at `to`. Every link not listed is healed. Each node's rules are
    /// replaced atomically.
    pub fn cut(&self, cuts: &[(usize, usize)]) -> Result<()> {
        for &(from, to) in cuts {
            if from >= self.nodes || to >= self.nodes || from == to {
                bail!(
                    "no link from node {from} to node {to} in a fabric of {} nodes",
                    self.nodes
                );
            }
        }
        for to in 0..self.nodes {
            let sources: BTreeSet<String> = cuts
                .iter()
                .filter(|&&(_, t)| t == to)
                .map(|&(from, _)| self.node_address(from).to_string())
                .collect();
            let mut script = "flush chain inet faultline input\n".to_string();
            if !sources.is_empty() {
                let list: Vec<String> = sources.into_iter().collect();
                script.push_str(&format!(
                    "add rule inet faultline input ip saddr {{ {} }} drop\n",
                    list.join(", ")
                ));
            }
            nft_in(&self.namespace(to), &script).with_context(|| format!("cutting links into node {to}"))?;
        }
        Ok(())
    }

    /// Heals every link.
    pub fn heal(&self) -> Result<()> {
        self.cut(&[])
    }

    /// Kills whatever still runs in the namespaces, then removes them, the veths, the bridge and
    /// the lease. Idempotent; also done on drop.
    pub fn tear_down(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        remove_subnet(self.subnet, self.nodes);
        lease.release();
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        self.tear_down();
    }
}

/// Removes everything named after `subnet`: processes in its namespaces first (a namespace
/// with live processes lingers, and so do its veths), then namespaces, veths and bridge.
/// Returns the pids it killed.
pub(super) fn remove_subnet(subnet: u8, nodes_hint: usize) -> Vec<i32> {
    let mut namespaces: BTreeSet<String> = (0..nodes_hint).map(|n| namespace_name(subnet, n)).collect();
    let prefix = format!("faultline-{subnet}-n");
    if let Ok(list) = run("ip", &["netns", "list"]) {
        for line in list.lines() {
            if let Some(name) = line.split_whitespace().next()
                && name.starts_with(&prefix)
            {
                namespaces.insert(name.to_string());
            }
        }
    }
    let mut killed = Vec::new();
    for ns in &namespaces {
        killed.extend(kill_everything_in(ns));
    }
    for ns in &namespaces {
        run_quietly("ip", &["netns", "delete", ns]);
    }
    let veth_prefix = format!("flv{subnet}n");
    for link in links_named(|name| name.starts_with(&veth_prefix)) {
        run_quietly("ip", &["link", "delete", &link]);
    }
    run_quietly("ip", &["link", "delete", &bridge_name(subnet)]);
    let _ = std::fs::remove_dir_all(scratch_path(subnet));
    killed
}

/// Where the scratch directory of subnet `subnet` lives (see [`Fabric::scratch_dir`]).
fn scratch_path(subnet: u8) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/var/tmp/faultline-netns-{subnet}"))
}

/// The processes in namespace `ns`.
fn pids_in(ns: &str) -> Vec<i32> {
    run("ip", &["netns", "pids", ns])
        .map(|out| out.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// SIGKILLs every process in namespace `ns` and waits (briefly) until none is left.
fn kill_everything_in(ns: &str) -> Vec<i32> {
    let pids = pids_in;
    let found = pids(ns);
    for &pid in &found {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    }
    for _ in 0..100 {
        if pids(ns).is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    found
}

/// Interfaces in the root namespace whose name satisfies `wanted`.
pub(super) fn links_named(wanted: impl Fn(&str) -> bool) -> Vec<String> {
    std::fs::read_dir("/sys/class/net")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| wanted(n))
                .collect()
        })
        .unwrap_or_default()
}
