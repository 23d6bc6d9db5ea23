//! One store node: opens its WAL, starts the engine of the configured mode, binds its address,
//! announces readiness (stdout line and `--ready-file`), and serves the client, admin and
//! internal routes on one port until SIGTERM, SIGINT or SIGKILL.

use super::admin;
use super::api;
use super::auth;
use super::clock::Clock;
use super::config::{Mode, NodeConfig};
use super::conn;
use super::error::ApiError;
use super::log::log;
use super::modes::leaderless::Leaderless;
use super::modes::multi_leader::MultiLeader;
use super::modes::single_leader::SingleLeader;
use super::modes::{EngineStatus, Reply};
use super::ops::{Command, RequestOptions};
use super::wal::Wal;
use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The engine of the configured mode.
pub enum Engine {
    SingleLeader(Arc<SingleLeader>),
    MultiLeader(Arc<MultiLeader>),
    Leaderless(Arc<Leaderless>),
}

impl Engine {
    pub async fn execute(&self, cmd: Command, opts: RequestOptions) -> Result<Reply, ApiError> {
        match self {
            Engine::SingleLeader(e) => e.execute(cmd, opts).await,
            Engine::MultiLeader(e) => e.execute(cmd, opts).await,
            Engine::Leaderless(e) => e.execute(cmd, opts).await,
        }
    }

    pub fn status(&self) -> EngineStatus {
        match self {
            Engine::SingleLeader(e) => e.status(),
            Engine::MultiLeader(e) => e.status(),
            Engine::Leaderless(e) => e.status(),
        }
    }

    /// Compacts the WAL if it has grown enough; returns whether it did.
    pub fn compact_wal_if_due(&self) -> bool {
        match self {
            Engine::SingleLeader(e) => e.compact_wal_if_due(),
            Engine::MultiLeader(e) => e.compact_wal_if_due(),
            Engine::Leaderless(e) => e.compact_wal_if_due(),
        }
    }

    fn routes(&self) -> axum::Router {
        match self {
            Engine::SingleLeader(e) => e.routes(),
            Engine::MultiLeader(e) => e.routes(),
            Engine::Leaderless(e) => e.routes(),
        }
    }
}

/// A running node.
pub struct Node {
    pub cfg: NodeConfig,
    pub clock: Arc<Clock>,
    pub engine: Engine,
    /// The address actually bound.
    pub addr: SocketAddr,
    pub started: Instant,
}

/// Runs the node until it is told to stop.
pub async fn serve(cfg: NodeConfig) -> anyhow::Result<()> {
    super::log::init(&cfg.id);
    let listener = bind(cfg.listen).await?;
    let addr = listener.local_addr().context("reading the bound address")?;
    if !addr.ip().is_loopback() {
        log(format_args!(
            "WARNING: listening on {addr}, not a loopback address: other machines can reach this \
             node; its client routes take requests from anyone, and only the cluster token guards \
             /internal/* and /admin/*"
        ));
    }
    let (wal, recovered) = Wal::open(&cfg.data_dir, cfg.fsync)?;
    wal.compact_after(cfg.wal_compact_bytes);
    wal.pause_rewrites(cfg.wal_rewrite_pause);
    if recovered.truncated_bytes > 0 {
        log(format_args!(
            "WAL: cut {} bytes of torn or corrupt tail after {} intact records",
            recovered.truncated_bytes,
            recovered.records.len()
        ));
    }
    let clock = Arc::new(Clock::new());
    let records = &recovered.records;
    let engine = match cfg.mode {
        Mode::SingleLeader => {
            Engine::SingleLeader(SingleLeader::start(cfg.clone(), clock.clone(), wal, records)?)
        }
        Mode::MultiLeader => {
            Engine::MultiLeader(MultiLeader::start(cfg.clone(), clock.clone(), wal, records)?)
        }
        Mode::Leaderless => Engine::Leaderless(Leaderless::start(cfg.clone(), clock.clone(), wal, records)?),
    };
    drop(recovered);
    // Node-to-node bodies have no size limit: a snapshot holds the whole data, which grows past
    // any fixed limit (lists grow by appends). Batches are bounded by their senders.
    let internal = engine.routes().layer(DefaultBodyLimit::disable());
    let node = Arc::new(Node {
        cfg,
        clock,
        engine,
        addr,
        started: Instant::now(),
    });
    let client = api::routes(node.clone())
        .merge(admin::routes(node.clone()))
        .layer(DefaultBodyLimit::max(node.cfg.max_body_bytes));
    let app = api::fallbacks(client.merge(internal), node.clone())
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            conn::body::read_within,
        ))
        .layer(axum::middleware::from_fn_with_state(node.clone(), auth::guard));
    tokio::spawn(compact_wal(node.clone()));
    announce(&node)?;
    tokio::spawn(async {
        stop_signal().await;
        log(format_args!("stopping on signal"));
        std::process::exit(0);
    });
    let listener = conn::Listener::new(listener, node.cfg.limits, &node.cfg.id);
    axum::serve(listener, app).await.context("serving")?;
    Ok(())
}

/// How often the WAL's growth is checked.
const COMPACTION_CHECK: Duration = Duration::from_millis(100);

/// Compacts the WAL whenever it has grown enough, for as long as the node runs.
async fn compact_wal(node: Arc<Node>) {
    loop {
        tokio::time::sleep(COMPACTION_CHECK).await;
        node.engine.compact_wal_if_due();
    }
}

/// Binds with SO_REUSEADDR, retrying for a while if the address is still in use (a restart on
/// the port of a node killed a moment ago).
async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()
        } else {
            tokio::net::TcpSocket::new_v6()
        }
        .context("creating a socket")?;
        socket.set_reuseaddr(true).context("setting SO_REUSEADDR")?;
        match socket.bind(addr).and_then(|_| socket.listen(1024)) {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("binding {addr}")),
        }
    }
}

/// Prints the ready line and writes the ready file (atomically).
fn announce(node: &Node) -> anyhow::Result<()> {
    let id = &node.cfg.id;
    log(format_args!(
        "serving on {} ({} mode, pid {})",
        node.addr,
        node.cfg.mode.name(),
        std::process::id()
    ));
    println!("faultline node {id} ready on {}", node.addr);
    if let Some(path) = &node.cfg.ready_file {
        let ready = super::wire::Ready {
            id: id.clone(),
            addr: node.addr.to_string(),
            pid: std::process::id(),
        };
        let body = serde_json::to_vec(&ready).context("encoding the ready file")?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, body).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    }
    Ok(())
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
