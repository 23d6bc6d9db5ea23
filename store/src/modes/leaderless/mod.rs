//! Leaderless, Dynamo-style replication. Any node coordinates any request: it places the key on
//! N replicas (consistent placement over the sorted node ids), sends the operation to all N, and
//! answers after W write acknowledgements or R read replies, returning the newest version
//! (highest last-write-wins stamp) among the replies. Replicas that replied with an older cell
//! are repaired in the background (read repair). N, R and W are per cluster and per request.
//! Two more repairs are switchable per cluster: background anti-entropy ([`anti_entropy`]) and
//! hinted handoff ([`hints`]).
//!
//! Writes are blind (no read first), stamped by the coordinator's clock. A compare-and-set is a
//! quorum read then a quorum write: not atomic. A transaction runs its micro-ops one after the
//! other, each a quorum operation, seeing its own earlier writes; it has no isolation and no
//! atomicity across micro-ops.

pub mod anti_entropy;
pub mod hints;
mod link;
pub mod replica;

use super::lww::{LwwCell, Stamp, StampSource};
use super::{EngineStatus, OpResult, Reply};
use crate::clock::Clock;
use crate::config::{NodeConfig, check_quorums};
use crate::error::ApiError;
use crate::log::log;
use crate::ops::{Command, MicroFn, RequestOptions};
use crate::peers::{PeerError, Peers};
use crate::wal::Wal;
use axum::extract::State as AxState;
use axum::{Json, Router, routing::post};
use link::Link;
use replica::{BatchRequest, BatchResponse, Replica, ReplicaOp, ReplicaResult};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Where one replica of a key lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Local,
    Peer(usize),
}

/// What a fan-out gathered.
struct Gathered {
    replies: Vec<(Target, ReplicaResult)>,
    failures: Vec<PeerError>,
    timed_out: bool,
}

/// The leaderless engine.
pub struct Leaderless {
    cfg: NodeConfig,
    clock: Arc<Clock>,
    /// Every node id, sorted: the placement ring.
    ring: Vec<String>,
    replica: Arc<Replica>,
    peers: Arc<Peers>,
    links: Vec<Link>,
    stamps: Mutex<StampSource>,
    /// Writes peers did not acknowledge (kept with `--hinted-handoff` only).
    hints: hints::Hints,
}

/// The quorum settings of one request.
#[derive(Debug, Clone, Copy)]
struct Quorum {
    n: usize,
    r: usize,
    w: usize,
    local_reads: bool,
}

impl Leaderless {
    /// A fresh stamp from this node's (possibly skewed) clock, above every stamp it made before.
    fn next_stamp(&self) -> Stamp {
        self.stamps
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next(&self.clock)
    }

    /// Replays the WAL and starts the links to every peer.
    pub fn start(
        cfg: NodeConfig,
        clock: Arc<Clock>,
        wal: Wal,
        records: &[Vec<u8>],
    ) -> anyhow::Result<Arc<Self>> {
        let mut stamps = StampSource::new(&cfg.id);
        let replica = Arc::new(Replica::recover(wal, records, &mut stamps)?);
        {
            let st = replica.lock();
            log(format_args!(
                "leaderless (n={} r={} w={}): recovered {} merges, {} keys",
                cfg.n,
                cfg.r,
                cfg.w,
                st.applied,
                st.data.map.len()
            ));
        }
        let peers = Arc::new(Peers::new(&cfg)?);
        let peers_count = peers.list.len();
        let links = (0..peers.list.len())
            .map(|i| Link::start(peers.clone(), i))
            .collect();
        let node = Arc::new(Leaderless {
            ring: cfg.all_ids(),
            cfg,
            clock,
            replica,
            peers,
            links,
            stamps: Mutex::new(stamps),
            hints: hints::Hints::new(peers_count),
        });
        tokio::spawn(ping_peers(node.clone()));
        if node.cfg.hinted_handoff {
            tokio::spawn(hints::run(node.clone()));
        }
        if let Some(interval) = node.cfg.anti_entropy {
            tokio::spawn(anti_entropy::run(node.clone(), interval));
        }
        Ok(node)
    }

    /// Compacts this replica's WAL if it has grown enough; returns whether it did.
    pub fn compact_wal_if_due(&self) -> bool {
        self.replica.compact_wal_if_due()
    }

    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/internal/ll/batch", post(handle_batch))
            .route("/internal/ll/digest", post(anti_entropy::handle_digest))
            .with_state(self.clone())
    }

    pub fn status(&self) -> EngineStatus {
        let applied = self.replica.lock().applied;
        let peers: Vec<_> = (0..self.peers.list.len())
            .map(|i| json!({"id": self.peers.list[i].id, "reachable": self.peers.is_reachable(i)}))
            .collect();
        EngineStatus {
            role: "peer",
            term: 0,
            leader: None,
            applied,
            detail: json!({"n": self.cfg.n, "r": self.cfg.r, "w": self.cfg.w, "peers": peers}),
        }
    }

    fn quorum(&self, opts: &RequestOptions) -> Result<Quorum, ApiError> {
        if opts.after.is_some() || opts.after_ts.is_some() {
            return Err(ApiError::bad_request(
                "after and after_ts apply to single-leader mode, not leaderless",
            ));
        }
        let read = opts.read.clone().unwrap_or_else(|| self.cfg.reads.clone());
        let local_reads = match read.as_str() {
            "quorum" => false,
            "local" => true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "read={other} is not a leaderless read mode (expected quorum or local)"
                )));
            }
        };
        let n = opts.n.unwrap_or(self.cfg.n);
        let r = opts
            .r
            .unwrap_or(if opts.n.is_some() { n / 2 + 1 } else { self.cfg.r });
        let w = opts
            .w
            .unwrap_or(if opts.n.is_some() { n / 2 + 1 } else { self.cfg.w });
        check_quorums(n, r, w, self.ring.len()).map_err(ApiError::bad_request)?;
        Ok(Quorum { n, r, w, local_reads })
    }

    /// The N replicas of a key: N consecutive nodes of the ring from the key's hash.
    fn placement(&self, key: &str, n: usize) -> Vec<Target> {
        let start = (fnv1a(key.as_bytes()) % self.ring.len() as u64) as usize;
        (0..n)
            .map(|j| {
                let id = &self.ring[(start + j) % self.ring.len()];
                match self.peers.index_of(id) {
                    Some(i) => Target::Peer(i),
                    None => Target::Local,
                }
            })
            .collect()
    }

    /// Serves a client command as its coordinator.
    pub async fn execute(self: &Arc<Self>, cmd: Command, opts: RequestOptions) -> Result<Reply, ApiError> {
        let q = self.quorum(&opts)?;
        let read_only = !cmd.is_write();
        let result = match cmd {
            Command::Cas { key, from, to } => self.cas(&key, from, to, q).await,
            Command::Txn { ops, .. } => {
                let mut own_writes: HashMap<String, LwwCell> = HashMap::new();
                let mut results = Vec::with_capacity(ops.len());
                let mut wrote = false;
                for op in &ops {
                    let step = match op.f {
                        MicroFn::Read => self.read(&op.key, q).await.map(|mut cell| {
                            if let Some(mine) = own_writes.get(&op.key) {
                                cell.merge(mine);
                            }
                            let (value, version) = cell.visible();
                            OpResult { value, version }
                        }),
                        MicroFn::Write | MicroFn::Append => {
                            let stamp = self.next_stamp();
                            let version = stamp.to_json();
                            let cell = if op.f == MicroFn::Write {
                                LwwCell::register(stamp, op.value.clone())
                            } else {
                                LwwCell::element(stamp, op.value.clone())
                            };
                            let sent = self.write(&op.key, cell.clone(), q).await;
                            wrote = wrote || sent.as_ref().map_or_else(|e| !e.definite, |_| true);
                            own_writes.entry(op.key.clone()).or_default().merge(&cell);
                            sent.map(|_| OpResult {
                                value: op.value.clone(),
                                version,
                            })
                        }
                    };
                    match step {
                        Ok(r) => results.push(r),
                        // Earlier writes of this transaction took effect: its outcome is unknown.
                        Err(mut e) if wrote => {
                            e.definite = false;
                            e.message =
                                format!("{} (earlier writes of this transaction were applied)", e.message);
                            return Err(e);
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(results)
            }
        };
        let results = result.map_err(|e| if read_only { e.for_read_only() } else { e })?;
        Ok(Reply {
            pos: self.replica.lock().applied,
            results,
        })
    }

    async fn cas(
        self: &Arc<Self>,
        key: &str,
        from: Value,
        to: Value,
        q: Quorum,
    ) -> Result<Vec<OpResult>, ApiError> {
        let cell = self.read(key, q).await?;
        if cell.kind() == Some(super::txn::Kind::List) {
            return Err(ApiError::wrong_type(key, "a list", "compare-and-set"));
        }
        let (current, _) = cell.visible();
        if current != from {
            return Err(ApiError::cas_mismatch(key, &from, &current));
        }
        let stamp = self.next_stamp();
        let version = stamp.to_json();
        self.write(key, LwwCell::register(stamp, to.clone()), q).await?;
        Ok(vec![OpResult { value: to, version }])
    }

    /// A quorum (or local) read: the merge of R replicas' cells; stale replicas are repaired.
    async fn read(self: &Arc<Self>, key: &str, q: Quorum) -> Result<LwwCell, ApiError> {
        if q.local_reads {
            return Ok(self.replica.lock().data.cell(key));
        }
        let targets = self.placement(key, q.n);
        self.check_reachable(&targets, q.r, "read")?;
        let got = self
            .fan_out(&targets, ReplicaOp::Fetch(key.to_string()), q.r)
            .await;
        if got.replies.len() < q.r {
            return Err(self.shortfall(&got, q.r, "read").for_read_only());
        }
        let mut newest = LwwCell::default();
        for (_, reply) in &got.replies {
            if let ReplicaResult::Cell(cell) = reply {
                newest.merge(cell);
            }
        }
        for (target, reply) in got.replies {
            if let ReplicaResult::Cell(cell) = reply
                && cell != newest
            {
                let node = self.clone();
                let repair = ReplicaOp::Merge(key.to_string(), newest.clone());
                tokio::spawn(async move { node.send(target, repair).await });
            }
        }
        Ok(newest)
    }

    /// A quorum write of one cell.
    async fn write(self: &Arc<Self>, key: &str, cell: LwwCell, q: Quorum) -> Result<(), ApiError> {
        let targets = self.placement(key, q.n);
        self.check_reachable(&targets, q.w, "write")?;
        let got = self
            .fan_out(&targets, ReplicaOp::Merge(key.to_string(), cell), q.w)
            .await;
        if got.replies.len() >= q.w {
            return Ok(());
        }
        let nothing_delivered =
            got.replies.is_empty() && !got.timed_out && got.failures.iter().all(PeerError::not_delivered);
        if nothing_delivered {
            return Err(ApiError::unavailable(format!(
                "no replica of key {key:?} could be reached; nothing was written"
            )));
        }
        Err(self.shortfall(&got, q.w, "write"))
    }

    fn check_reachable(&self, targets: &[Target], need: usize, what: &str) -> Result<(), ApiError> {
        let up = targets
            .iter()
            .filter(|t| match t {
                Target::Local => true,
                Target::Peer(i) => self.peers.is_reachable(*i),
            })
            .count();
        if up < need {
            return Err(ApiError::no_quorum(format!(
                "{up} of {} replicas are reachable; a {what} needs {need}; nothing was sent",
                targets.len()
            )));
        }
        Ok(())
    }

    fn shortfall(&self, got: &Gathered, need: usize, what: &str) -> ApiError {
        let why = got
            .failures
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        let message = format!("{what}: {} of {need} replicas answered{why}", got.replies.len());
        if got.timed_out {
            ApiError::timeout(format!("{message} within {} ms", self.cfg.op_timeout.as_millis()))
        } else {
            ApiError::timeout(message)
        }
    }

    /// Sends `op` to every target; returns once `need` replied, all answered, or the operation
    /// timeout passed. Requests still in flight carry on in the background.
    async fn fan_out(self: &Arc<Self>, targets: &[Target], op: ReplicaOp, need: usize) -> Gathered {
        let (tx, mut rx) = mpsc::channel(targets.len().max(1));
        for &target in targets {
            let (node, op, tx) = (self.clone(), op.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tx.send((target, node.send(target, op).await)).await;
            });
        }
        drop(tx);
        let mut got = Gathered {
            replies: Vec::new(),
            failures: Vec::new(),
            timed_out: false,
        };
        let deadline = tokio::time::Instant::now() + self.cfg.op_timeout;
        while got.replies.len() < need {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some((target, Ok(reply)))) => got.replies.push((target, reply)),
                Ok(Some((_, Err(e)))) => got.failures.push(e),
                Ok(None) => break,
                Err(_) => {
                    got.timed_out = true;
                    break;
                }
            }
        }
        got
    }

    async fn send(&self, target: Target, op: ReplicaOp) -> Result<ReplicaResult, PeerError> {
        match target {
            Target::Local => {
                let mut results = self.replica.apply_durably(vec![op]).await;
                results
                    .pop()
                    .ok_or_else(|| PeerError::Uncertain("no local result".into()))
            }
            Target::Peer(i) => {
                let hint = match &op {
                    ReplicaOp::Merge(key, cell) if self.cfg.hinted_handoff => {
                        Some((key.clone(), cell.clone()))
                    }
                    _ => None,
                };
                let result = self.links[i].call(op).await;
                if let (Err(_), Some((key, cell))) = (&result, hint) {
                    self.hints.keep(i, &key, &cell);
                }
                result
            }
        }
    }
}

async fn handle_batch(
    AxState(node): AxState<Arc<Leaderless>>,
    Json(req): Json<BatchRequest>,
) -> Json<BatchResponse> {
    Json(BatchResponse {
        results: node.replica.apply_durably(req.ops).await,
    })
}

/// Keeps each peer's reachability fresh (it decides `no_quorum`), pinging every heartbeat.
async fn ping_peers(node: Arc<Leaderless>) {
    let mut tick = tokio::time::interval(node.cfg.heartbeat);
    loop {
        tick.tick().await;
        for i in 0..node.peers.list.len() {
            let peers = node.peers.clone();
            tokio::spawn(async move {
                let _ = peers.post::<_, Value>(i, "/internal/ping", &json!({})).await;
            });
        }
    }
}

/// FNV-1a, 64 bit: a stable hash for placement (the same on every node and every build).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn fnv1a_is_the_standard_hash() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
