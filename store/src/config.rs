//! A node's configuration: the `faultline node` flags, an optional TOML file with the same
//! settings (flags win), and their validation into a [`NodeConfig`].
//!
//! Peers are given as `ID=ADDR`: the address this node DIALS to reach that peer. The harness
//! points these at its own per-link proxies; a node never learns peer addresses any other way.

use crate::BadConfig;
use crate::auth::{ClusterToken, MIN_TOKEN_LEN, TOKEN_ENV};
use crate::conn::{self, ConnLimits};
use crate::wal::FsyncPolicy;
use clap::Args;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `faultline node`.
#[derive(Debug, Default, Args)]
pub struct NodeArgs {
    /// A TOML file with any of the settings below (same names, `_` for `-`; peers as a table
    /// `[peers]` of `id = "addr"`). Flags given on the command line win.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// This node's id (e.g. n1).
    #[arg(long)]
    pub id: Option<String>,
    /// Address to serve clients and peers on [default: 127.0.0.1:0, an ephemeral port].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// A peer, as ID=ADDR: the address to dial for that peer (repeat for each peer).
    #[arg(long = "peer", value_name = "ID=ADDR")]
    pub peers: Vec<String>,
    /// Directory for this node's write-ahead log.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// When the write-ahead log is synced: always (before every acknowledgement) or never.
    #[arg(long)]
    pub fsync: Option<FsyncPolicy>,
    /// single-leader, multi-leader or leaderless [default: single-leader].
    #[arg(long)]
    pub mode: Option<Mode>,
    /// Single-leader replication: sync, semi-sync or async [default: async].
    #[arg(long)]
    pub replication: Option<Replication>,
    /// Default read mode: leader|any (single-leader), quorum|local (leaderless), local
    /// (multi-leader). Overridable per request with `?read=`.
    #[arg(long)]
    pub reads: Option<String>,
    /// Single-leader: the leader of the first term [default: the lowest node id].
    #[arg(long)]
    pub initial_leader: Option<String>,
    /// Leaderless: replicas per key [default: min(3, cluster size)].
    #[arg(long)]
    pub n: Option<usize>,
    /// Leaderless: read quorum [default: n/2+1].
    #[arg(long)]
    pub r: Option<usize>,
    /// Leaderless: write quorum [default: n/2+1].
    #[arg(long)]
    pub w: Option<usize>,
    /// Leaderless: exchange per-key versions with one peer every this many milliseconds and
    /// repair the keys that differ (background anti-entropy); 0 is off [default: 0].
    #[arg(long)]
    pub anti_entropy_ms: Option<u64>,
    /// Leaderless: a coordinator keeps the writes a replica did not acknowledge (hints) and
    /// delivers them when the replica is reachable again (hinted handoff) [default: off].
    #[arg(long)]
    pub hinted_handoff: bool,
    /// Leader heartbeat interval in milliseconds [default: 50].
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// Followers start an election after this many milliseconds without a leader (randomised
    /// up to twice this) [default: 500].
    #[arg(long)]
    pub election_timeout_ms: Option<u64>,
    /// How long a write waits for replica acknowledgements before answering `timeout`
    /// [default: 2000].
    #[arg(long)]
    pub op_timeout_ms: Option<u64>,
    /// How long a read with `?after=P` waits for this node to apply P [default: 1000].
    #[arg(long)]
    pub ryw_wait_ms: Option<u64>,
    /// Timeout of one node-to-node request in milliseconds [default: 1000].
    #[arg(long)]
    pub peer_timeout_ms: Option<u64>,
    /// Largest client request body accepted, in bytes [default: 1048576].
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Compact the write-ahead log (rewrite it as a snapshot of the node's state) once this
    /// many bytes were appended since the last compaction, and at least as many as the last
    /// snapshot took; 0 never compacts [default: 67108864].
    #[arg(long)]
    pub wal_compact_bytes: Option<u64>,
    /// Test hook: pause this many milliseconds between writing a WAL rewrite's new file and
    /// renaming it over the log, so a test can kill the node inside a compaction [default: 0].
    #[arg(long, hide = true)]
    pub wal_rewrite_pause_ms: Option<u64>,
    /// Open connections (clients and peers) served at once; one past it is answered 503
    /// `too_many_connections` and closed [default: 1024].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// A request's head must arrive within this many milliseconds of its first byte, or it is
    /// answered 408 and the connection closed [default: 5000].
    #[arg(long)]
    pub header_timeout_ms: Option<u64>,
    /// A request's body must arrive within this many milliseconds of its head, or it is
    /// answered 408 and the connection closed [default: 10000].
    #[arg(long)]
    pub body_timeout_ms: Option<u64>,
    /// A kept-alive connection with no request for this many milliseconds is closed
    /// [default: 90000].
    #[arg(long)]
    pub idle_timeout_ms: Option<u64>,
    /// Once serving, write {"id","addr","pid"} as JSON to this file (atomically).
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// A file holding the cluster token that `/internal/*` and `/admin/*` requests must carry
    /// [default: the FAULTLINE_CLUSTER_TOKEN environment variable]. Never given on the command
    /// line itself, which any local user can read.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

/// Default `--wal-compact-bytes`: 64 MiB.
pub const DEFAULT_WAL_COMPACT_BYTES: u64 = 64 << 20;

/// How the cluster replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    SingleLeader,
    MultiLeader,
    Leaderless,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::SingleLeader => "single-leader",
            Mode::MultiLeader => "multi-leader",
            Mode::Leaderless => "leaderless",
        }
    }
}

/// When a single-leader write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Replication {
    /// After every follower has it in its log.
    Sync,
    /// After at least one follower has it in its log.
    SemiSync,
    /// After the leader has it in its own log.
    Async,
}

impl Replication {
    pub fn name(self) -> &'static str {
        match self {
            Replication::Sync => "sync",
            Replication::SemiSync => "semi-sync",
            Replication::Async => "async",
        }
    }
}

/// The settings file: every field optional, the same names as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    id: Option<String>,
    listen: Option<SocketAddr>,
    peers: Option<BTreeMap<String, String>>,
    data_dir: Option<PathBuf>,
    fsync: Option<FsyncPolicy>,
    mode: Option<Mode>,
    replication: Option<Replication>,
    reads: Option<String>,
    initial_leader: Option<String>,
    n: Option<usize>,
    r: Option<usize>,
    w: Option<usize>,
    anti_entropy_ms: Option<u64>,
    hinted_handoff: Option<bool>,
    heartbeat_ms: Option<u64>,
    election_timeout_ms: Option<u64>,
    op_timeout_ms: Option<u64>,
    ryw_wait_ms: Option<u64>,
    peer_timeout_ms: Option<u64>,
    max_body_bytes: Option<usize>,
    wal_compact_bytes: Option<u64>,
    max_connections: Option<usize>,
    header_timeout_ms: Option<u64>,
    body_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    ready_file: Option<PathBuf>,
    token_file: Option<PathBuf>,
}

/// A peer: its id and the address to dial for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddr {
    pub id: String,
    pub addr: SocketAddr,
}

/// A validated node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub id: String,
    pub listen: SocketAddr,
    /// The other nodes, sorted by id.
    pub peers: Vec<PeerAddr>,
    pub data_dir: PathBuf,
    pub fsync: FsyncPolicy,
    /// See `--wal-compact-bytes`.
    pub wal_compact_bytes: u64,
    /// See `--wal-rewrite-pause-ms` (a test hook).
    pub wal_rewrite_pause: Duration,
    pub mode: Mode,
    pub replication: Replication,
    /// The default read mode (valid for the mode).
    pub reads: String,
    pub initial_leader: String,
    pub n: usize,
    pub r: usize,
    pub w: usize,
    /// Leaderless: the anti-entropy interval (`--anti-entropy-ms`); `None` is off.
    pub anti_entropy: Option<Duration>,
    /// Leaderless: hinted handoff (`--hinted-handoff`).
    pub hinted_handoff: bool,
    pub heartbeat: Duration,
    pub election_timeout: Duration,
    pub op_timeout: Duration,
    pub ryw_wait: Duration,
    pub peer_timeout: Duration,
    pub max_body_bytes: usize,
    /// The connection cap and read timeouts (see [`crate::conn`]).
    pub limits: ConnLimits,
    pub ready_file: Option<PathBuf>,
    /// The cluster secret (see [`crate::auth`]).
    pub token: ClusterToken,
}

impl NodeConfig {
    /// Every node id in the cluster (this one and its peers), sorted.
    pub fn all_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.peers.iter().map(|p| p.id.clone()).collect();
        ids.push(self.id.clone());
        ids.sort();
        ids
    }

    /// Number of nodes in the cluster.
    pub fn cluster_size(&self) -> usize {
        self.peers.len() + 1
    }

    /// The read modes a request may name in this mode.
    pub fn read_modes(mode: Mode) -> &'static [&'static str] {
        match mode {
            Mode::SingleLeader => &["leader", "any"],
            Mode::MultiLeader => &["local"],
            Mode::Leaderless => &["quorum", "local"],
        }
    }

    /// Resolves flags (and the file they name) into a validated configuration; the cluster
    /// token comes from `--token-file` or else from the environment ([`TOKEN_ENV`]).
    pub fn resolve(args: NodeArgs) -> Result<NodeConfig, BadConfig> {
        let env_token = std::env::var(TOKEN_ENV).ok();
        Self::resolve_with(args, env_token)
    }

    /// [`NodeConfig::resolve`] with the token variable's value given.
    pub fn resolve_with(args: NodeArgs, env_token: Option<String>) -> Result<NodeConfig, BadConfig> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        let bad = |m: String| BadConfig(m);
        let id = args
            .id
            .or(file.id)
            .ok_or_else(|| bad("--id is required".into()))?;
        check_id(&id).map_err(|m| bad(format!("--id: {m}")))?;
        let mut peers = Vec::new();
        if args.peers.is_empty() {
            for (pid, addr) in file.peers.unwrap_or_default() {
                peers.push(parse_peer(&pid, &addr)?);
            }
        } else {
            for spec in &args.peers {
                let (pid, addr) = spec.split_once('=').ok_or_else(|| {
                    bad(format!(
                        "--peer {spec:?}: expected ID=ADDR, e.g. n2=127.0.0.1:7002"
                    ))
                })?;
                peers.push(parse_peer(pid, addr)?);
            }
        }
        peers.sort_by(|a, b| a.id.cmp(&b.id));
        for pair in peers.windows(2) {
            if pair[0].id == pair[1].id {
                return Err(bad(format!("peer {} is given twice", pair[0].id)));
            }
        }
        if peers.iter().any(|p| p.id == id) {
            return Err(bad(format!("peer {id} is this node's own id")));
        }
        let data_dir = args
            .data_dir
            .or(file.data_dir)
            .ok_or_else(|| bad("--data-dir is required".into()))?;
        let mode = args.mode.or(file.mode).unwrap_or(Mode::SingleLeader);
        let replication_given = args.replication.or(file.replication);
        if replication_given.is_some() && mode != Mode::SingleLeader {
            return Err(bad(format!(
                "--replication applies to single-leader mode, not {}",
                mode.name()
            )));
        }
        let replication = replication_given.unwrap_or(Replication::Async);
        if replication == Replication::SemiSync && peers.is_empty() {
            return Err(bad("semi-sync replication needs at least one peer".into()));
        }
        let reads = args
            .reads
            .or(file.reads)
            .unwrap_or_else(|| Self::read_modes(mode)[0].to_string());
        if !Self::read_modes(mode).contains(&reads.as_str()) {
            return Err(bad(format!(
                "--reads {reads:?} is not a read mode of {} (expected one of {})",
                mode.name(),
                Self::read_modes(mode).join(", ")
            )));
        }
        let mut all: Vec<&str> = peers.iter().map(|p| p.id.as_str()).collect();
        all.push(&id);
        all.sort();
        let initial_leader = args
            .initial_leader
            .or(file.initial_leader)
            .unwrap_or_else(|| all[0].to_string());
        if !all.contains(&initial_leader.as_str()) {
            return Err(bad(format!(
                "--initial-leader {initial_leader} is not a node of this cluster"
            )));
        }
        let size = all.len();
        let quorum_given =
            args.n.or(file.n).is_some() || args.r.or(file.r).is_some() || args.w.or(file.w).is_some();
        if quorum_given && mode != Mode::Leaderless {
            return Err(bad(format!(
                "--n, --r and --w apply to leaderless mode, not {}",
                mode.name()
            )));
        }
        let n = args.n.or(file.n).unwrap_or(size.min(3));
        let r = args.r.or(file.r).unwrap_or(n / 2 + 1);
        let w = args.w.or(file.w).unwrap_or(n / 2 + 1);
        check_quorums(n, r, w, size).map_err(bad)?;
        let anti_entropy_ms = args.anti_entropy_ms.or(file.anti_entropy_ms).unwrap_or(0);
        let hinted_handoff = args.hinted_handoff || file.hinted_handoff.unwrap_or(false);
        if (anti_entropy_ms > 0 || hinted_handoff) && mode != Mode::Leaderless {
            return Err(bad(format!(
                "--anti-entropy-ms and --hinted-handoff apply to leaderless mode, not {}",
                mode.name()
            )));
        }
        let ms = |a: Option<u64>, f: Option<u64>, default: u64, name: &str| -> Result<Duration, BadConfig> {
            let v = a.or(f).unwrap_or(default);
            if v == 0 {
                return Err(BadConfig(format!("--{name} must be at least 1")));
            }
            Ok(Duration::from_millis(v))
        };
        let heartbeat = ms(args.heartbeat_ms, file.heartbeat_ms, 50, "heartbeat-ms")?;
        let election_timeout = ms(
            args.election_timeout_ms,
            file.election_timeout_ms,
            500,
            "election-timeout-ms",
        )?;
        if election_timeout < heartbeat * 2 {
            return Err(bad(
                "--election-timeout-ms must be at least twice --heartbeat-ms".into()
            ));
        }
        let max_body_bytes = args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(crate::limits::DEFAULT_MAX_BODY_BYTES);
        crate::limits::check_max_body(max_body_bytes).map_err(bad)?;
        let max_connections = args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(conn::DEFAULT_MAX_CONNECTIONS);
        if max_connections == 0 {
            return Err(bad("--max-connections must be at least 1".into()));
        }
        let limits = ConnLimits {
            max_connections,
            header_timeout: ms(
                args.header_timeout_ms,
                file.header_timeout_ms,
                conn::DEFAULT_HEADER_TIMEOUT_MS,
                "header-timeout-ms",
            )?,
            body_timeout: ms(
                args.body_timeout_ms,
                file.body_timeout_ms,
                conn::DEFAULT_BODY_TIMEOUT_MS,
                "body-timeout-ms",
            )?,
            idle_timeout: ms(
                args.idle_timeout_ms,
                file.idle_timeout_ms,
                conn::DEFAULT_IDLE_TIMEOUT_MS,
                "idle-timeout-ms",
            )?,
        };
        let token = resolve_token(args.token_file.or(file.token_file), env_token)?;
        Ok(NodeConfig {
            id,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))),
            peers,
            data_dir,
            fsync: args.fsync.or(file.fsync).unwrap_or(FsyncPolicy::Always),
            wal_compact_bytes: args
                .wal_compact_bytes
                .or(file.wal_compact_bytes)
                .unwrap_or(DEFAULT_WAL_COMPACT_BYTES),
            wal_rewrite_pause: Duration::from_millis(args.wal_rewrite_pause_ms.unwrap_or(0)),
            mode,
            replication,
            reads,
            initial_leader,
            n,
            r,
            w,
            anti_entropy: (anti_entropy_ms > 0).then(|| Duration::from_millis(anti_entropy_ms)),
            hinted_handoff,
            heartbeat,
            election_timeout,
            op_timeout: ms(args.op_timeout_ms, file.op_timeout_ms, 2000, "op-timeout-ms")?,
            ryw_wait: ms(args.ryw_wait_ms, file.ryw_wait_ms, 1000, "ryw-wait-ms")?,
            peer_timeout: ms(
                args.peer_timeout_ms,
                file.peer_timeout_ms,
                1000,
                "peer-timeout-ms",
            )?,
            max_body_bytes,
            limits,
            ready_file: args.ready_file.or(file.ready_file),
            token,
        })
    }
}

/// The cluster token from its file, or else from the environment; a node has no default.
fn resolve_token(file: Option<PathBuf>, env_token: Option<String>) -> Result<ClusterToken, BadConfig> {
    let (text, source) = match (file, env_token) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| BadConfig(format!("cannot read the token file {}: {e}", path.display())))?;
            (text, format!("the token file {}", path.display()))
        }
        (None, Some(text)) => (text, format!("${TOKEN_ENV}")),
        (None, None) => {
            return Err(BadConfig(format!(
                "no cluster token: give --token-file FILE or set {TOKEN_ENV} (the same token on \
                 every node of the cluster, at least {MIN_TOKEN_LEN} characters; see docs/store.md)"
            )));
        }
    };
    ClusterToken::parse(&text).map_err(|m| BadConfig(format!("{source}: {m}")))
}

/// Checks leaderless replication settings against the cluster size.
pub fn check_quorums(n: usize, r: usize, w: usize, cluster_size: usize) -> Result<(), String> {
    if n == 0 || n > cluster_size {
        return Err(format!(
            "n = {n} must be between 1 and the cluster size {cluster_size}"
        ));
    }
    if r == 0 || r > n {
        return Err(format!("r = {r} must be between 1 and n = {n}"));
    }
    if w == 0 || w > n {
        return Err(format!("w = {w} must be between 1 and n = {n}"));
    }
    Ok(())
}

fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!("node id {id:?} must be 1 to 64 characters"));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "node id {id:?} may only hold letters, digits, '-' and '_'"
        ));
    }
    Ok(())
}

fn parse_peer(id: &str, addr: &str) -> Result<PeerAddr, BadConfig> {
    check_id(id).map_err(|m| BadConfig(format!("peer: {m}")))?;
    let addr = addr.parse::<SocketAddr>().map_err(|_| {
        BadConfig(format!(
            "peer {id}: {addr:?} is not an IP:port address (e.g. 127.0.0.1:7002)"
        ))
    })?;
    Ok(PeerAddr {
        id: id.to_string(),
        addr,
    })
}

fn load_file(path: &Path) -> Result<FileConfig, BadConfig> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadConfig(format!("cannot read the config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| BadConfig(format!("config file {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> NodeArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            a: NodeArgs,
        }
        let mut argv = vec!["node", "--id", "n2", "--data-dir", "/tmp/x"];
        argv.extend_from_slice(extra);
        Wrap::try_parse_from(argv).unwrap().a
    }

    const TOKEN: &str = "0123456789abcdef";

    fn resolve(args: NodeArgs) -> Result<NodeConfig, BadConfig> {
        NodeConfig::resolve_with(args, Some(TOKEN.into()))
    }

    #[test]
    fn the_token_comes_from_its_file_or_the_environment_and_is_required() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "fedcba9876543210fedcba\n").unwrap();
        let file_arg = ["--token-file", path.to_str().unwrap()];
        let c = NodeConfig::resolve_with(args(&file_arg), Some(TOKEN.into())).unwrap();
        assert_eq!(c.token.secret(), "fedcba9876543210fedcba", "the file wins");
        assert_eq!(resolve(args(&[])).unwrap().token.secret(), TOKEN);
        let none = NodeConfig::resolve_with(args(&[]), None).unwrap_err().0;
        assert!(
            none.contains("no cluster token") && none.contains(TOKEN_ENV),
            "{none}"
        );
        let short = NodeConfig::resolve_with(args(&[]), Some("abc".into()))
            .unwrap_err()
            .0;
        assert!(
            short.contains(TOKEN_ENV) && short.contains("at least 16"),
            "{short}"
        );
        let missing = ["--token-file", "/nonexistent/token"];
        let e = NodeConfig::resolve_with(args(&missing), None).unwrap_err().0;
        assert!(e.contains("/nonexistent/token"), "{e}");
    }

    #[test]
    fn defaults_and_peers() {
        let c = resolve(args(&[
            "--peer",
            "n3=127.0.0.1:9003",
            "--peer",
            "n1=127.0.0.1:9001",
        ]))
        .unwrap();
        assert_eq!(c.all_ids(), vec!["n1", "n2", "n3"]);
        assert_eq!(c.peers[0].id, "n1");
        assert_eq!(c.initial_leader, "n1");
        assert_eq!(c.mode, Mode::SingleLeader);
        assert_eq!(c.reads, "leader");
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
        assert_eq!((c.n, c.r, c.w), (3, 2, 2));
    }

    #[test]
    fn rejects_inconsistent_settings() {
        let err = |extra: &[&str]| resolve(args(extra)).unwrap_err().0;
        assert!(err(&["--peer", "n3"]).contains("ID=ADDR"));
        assert!(err(&["--peer", "n3=nowhere"]).contains("IP:port"));
        assert!(err(&["--peer", "n2=127.0.0.1:1"]).contains("own id"));
        assert!(err(&["--mode", "leaderless", "--n", "3"]).contains("cluster size"));
        assert!(err(&["--mode", "multi-leader", "--replication", "sync"]).contains("single-leader"));
        assert!(err(&["--reads", "quorum"]).contains("not a read mode"));
        assert!(err(&["--replication", "semi-sync"]).contains("at least one peer"));
        assert!(err(&["--initial-leader", "n9"]).contains("not a node"));
    }

    #[test]
    fn reads_a_config_file_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(
            &path,
            "mode = \"leaderless\"\nn = 2\nr = 1\nw = 2\nheartbeat_ms = 20\n[peers]\nn1 = \"127.0.0.1:9001\"\n",
        )
        .unwrap();
        let c = resolve(args(&["--config", path.to_str().unwrap(), "--r", "2"])).unwrap();
        assert_eq!(c.mode, Mode::Leaderless);
        assert_eq!((c.n, c.r, c.w), (2, 2, 2));
        assert_eq!(c.heartbeat, Duration::from_millis(20));
        assert_eq!(c.peers.len(), 1);
        std::fs::write(&path, "bogus = 1\n").unwrap();
        let e = resolve(args(&["--config", path.to_str().unwrap()]))
            .unwrap_err()
            .0;
        assert!(e.contains("bogus"), "{e}");
    }
}
