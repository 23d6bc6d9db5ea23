//! Multi-leader replication: every node accepts writes, applies them locally with a
//! last-write-wins stamp from its own clock, acknowledges once they are in its WAL, and ships
//! them asynchronously to every other node. Each node ships only the writes it originated, in
//! order, to each peer directly (no relaying); a peer tells the sender how far it has applied
//! that origin's writes, so shipping resumes correctly after partitions and restarts.
//!
//! Reads are served from the local state (possibly stale). A transaction runs atomically on the
//! node that serves it and ships as one unit, but concurrent writes elsewhere may win some of
//! its keys and lose others under last-write-wins: there is no isolation across nodes.

use super::lww::{LwwCell, LwwData, StampSource, StampingStore};
use super::{EngineStatus, OpResult, Reply, txn};
use crate::clock::Clock;
use crate::config::NodeConfig;
use crate::error::ApiError;
use crate::log::log;
use crate::ops::{Command, RequestOptions};
use crate::peers::Peers;
use crate::raw_json;
use crate::wal::Wal;
use axum::extract::State as AxState;
use axum::{Json, Router, routing::post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Most entries shipped in one request.
const MAX_BATCH: usize = 4096;

/// One write (all effects of one client request) originated by a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shipped {
    /// The origin's sequence number for it (1, 2, ...).
    pub seq: u64,
    pub effects: Vec<(String, LwwCell)>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Record {
    Local(Arc<Shipped>),
    Remote {
        origin: String,
        entry: Arc<Shipped>,
    },
    /// A compacted log starts with the state: the data, how far each origin's writes are
    /// applied, the count of writes applied, and how many of this node's own writes every peer
    /// had when it was taken (those are not kept for shipping).
    Snapshot {
        data: Vec<(String, LwwCell)>,
        have: BTreeMap<String, u64>,
        applied: u64,
        own_base: u64,
    },
    /// One of this node's writes some peer may still need, kept for shipping by a compaction
    /// (its effects are in the snapshot before it).
    Retained(Arc<Shipped>),
}

/// Writes from `origin` (possibly none: a probe). The sender serialises them itself (`E` = raw
/// JSON), in batches bounded in count and bytes ([`crate::limits::BATCH_BYTES`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct ShipRequest<E = Arc<Shipped>> {
    pub origin: String,
    pub entries: Vec<E>,
}

/// How far the receiver has applied the origin's writes.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShipResponse {
    pub have: u64,
}

struct State {
    data: LwwData,
    stamps: StampSource,
    /// The writes this node originated, `own[i].0.seq == own_base + i + 1`, with their WAL
    /// sequence numbers: only writes already in the WAL are shipped, so a write lost in a crash
    /// before reaching the WAL never reaches a peer (its number is reused after the restart).
    own: Vec<(Arc<Shipped>, u64)>,
    /// This node's writes every peer had applied when the WAL was last compacted: no longer
    /// kept in `own`.
    own_base: u64,
    /// Per peer (same order as `Peers::list`), how many of this node's writes it said it has.
    acked: Vec<u64>,
    /// Per origin (including this node), the last of its writes applied here.
    have: BTreeMap<String, u64>,
    /// Writes applied here, from any origin (this node's log position).
    applied: u64,
}

/// The multi-leader engine.
pub struct MultiLeader {
    cfg: NodeConfig,
    clock: Arc<Clock>,
    wal: Wal,
    peers: Peers,
    state: Mutex<State>,
}

impl MultiLeader {
    /// Rebuilds the state from the WAL and starts shipping to every peer.
    pub fn start(
        cfg: NodeConfig,
        clock: Arc<Clock>,
        wal: Wal,
        records: &[Vec<u8>],
    ) -> anyhow::Result<Arc<Self>> {
        let mut st = State {
            data: LwwData::default(),
            stamps: StampSource::new(&cfg.id),
            own: Vec::new(),
            own_base: 0,
            acked: vec![0; cfg.peers.len()],
            have: BTreeMap::new(),
            applied: 0,
        };
        for (i, bytes) in records.iter().enumerate() {
            let record: Record = serde_json::from_slice(bytes)
                .map_err(|e| anyhow::anyhow!("WAL record {i} is not a multi-leader record: {e}"))?;
            let (origin, entry) = match record {
                Record::Local(entry) => {
                    for (_, cell) in &entry.effects {
                        cell.reg
                            .iter()
                            .chain(&cell.items)
                            .for_each(|(s, _)| st.stamps.observe(s));
                    }
                    st.own.push((entry.clone(), 0));
                    (cfg.id.clone(), entry)
                }
                Record::Remote { origin, entry } => (origin, entry),
                Record::Retained(entry) => {
                    st.own.push((entry, 0));
                    continue;
                }
                Record::Snapshot {
                    data,
                    have,
                    applied,
                    own_base,
                } => {
                    st.data = LwwData::default();
                    for (key, cell) in &data {
                        cell.reg
                            .iter()
                            .chain(&cell.items)
                            .for_each(|(s, _)| st.stamps.observe(s));
                        st.data.merge(key, cell);
                    }
                    st.have = have;
                    st.applied = applied;
                    st.own.clear();
                    st.own_base = own_base;
                    continue;
                }
            };
            for (key, cell) in &entry.effects {
                st.data.merge(key, cell);
            }
            st.have.insert(origin, entry.seq);
            st.applied += 1;
        }
        log(format_args!(
            "multi-leader: recovered {} writes ({} of them this node's), {} keys",
            st.applied,
            st.own.len(),
            st.data.map.len()
        ));
        let peers = Peers::new(&cfg)?;
        let node = Arc::new(MultiLeader {
            state: Mutex::new(st),
            cfg,
            clock,
            wal,
            peers,
        });
        for i in 0..node.peers.list.len() {
            tokio::spawn(ship_to(node.clone(), i));
        }
        Ok(node)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn routes(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/internal/ml/ship", post(handle_ship))
            .with_state(self.clone())
    }

    pub fn status(&self) -> EngineStatus {
        let st = self.lock();
        let peers: Vec<_> = (0..self.peers.list.len())
            .map(|i| {
                json!({
                    "id": self.peers.list[i].id,
                    "reachable": self.peers.is_reachable(i),
                })
            })
            .collect();
        EngineStatus {
            role: "peer",
            term: 0,
            leader: None,
            applied: st.applied,
            detail: json!({
                "own_writes": st.own_base + st.own.len() as u64,
                "have": st.have,
                "peers": peers
            }),
        }
    }

    /// Serves a client command from the local state.
    pub async fn execute(&self, cmd: Command, opts: RequestOptions) -> Result<Reply, ApiError> {
        if opts.after.is_some()
            || opts.after_ts.is_some()
            || opts.n.is_some()
            || opts.r.is_some()
            || opts.w.is_some()
        {
            return Err(ApiError::bad_request(
                "after, after_ts, n, r and w do not apply to multi-leader mode (reads are local)",
            ));
        }
        if let Some(read) = opts.read.as_deref().filter(|r| *r != "local") {
            return Err(ApiError::bad_request(format!(
                "read={read} is not a multi-leader read mode (expected local)"
            )));
        }
        let (pos, results, wal_seq) = {
            let mut guard = self.lock();
            let st = &mut *guard;
            let mut store = StampingStore {
                data: &mut st.data,
                stamps: &mut st.stamps,
                clock: &self.clock,
                effects: Vec::new(),
            };
            let results = match cmd {
                Command::Txn { ops, .. } => {
                    txn::check_types(&store, &ops)?;
                    txn::run(&mut store, &ops)
                }
                Command::Cas { key, from, to } => {
                    txn::check_cas(&store, &key, &from)?;
                    let version = txn::LocalStore::write(&mut store, &key, to.clone());
                    vec![OpResult { value: to, version }]
                }
            };
            let effects = store.effects;
            let mut wal_seq = None;
            if !effects.is_empty() {
                let entry = Arc::new(Shipped {
                    seq: st.own_base + st.own.len() as u64 + 1,
                    effects,
                });
                let seq = self
                    .wal
                    .append(serde_json::to_vec(&Record::Local(entry.clone())).unwrap_or_default());
                wal_seq = Some(seq);
                st.have.insert(self.cfg.id.clone(), entry.seq);
                st.own.push((entry, seq));
                st.applied += 1;
            }
            (st.applied, results, wal_seq)
        };
        if let Some(seq) = wal_seq {
            self.wal.wait_durable(seq).await;
        }
        Ok(Reply { pos, results })
    }
}

impl MultiLeader {
    /// Rewrites the WAL as a snapshot if it has grown enough (see [`Wal::wants_compaction`]);
    /// returns whether it did. This node's writes some peer has not acknowledged stay in the
    /// log for shipping.
    pub fn compact_wal_if_due(&self) -> bool {
        if !self.wal.wants_compaction() {
            return false;
        }
        let mut guard = self.lock();
        let st = &mut *guard;
        let all_have = st.acked.iter().copied().min().unwrap_or(u64::MAX);
        let drop = (all_have.saturating_sub(st.own_base) as usize).min(st.own.len());
        st.own.drain(..drop);
        st.own_base += drop as u64;
        let snapshot = Record::Snapshot {
            data: st.data.map.iter().map(|(k, c)| (k.clone(), c.clone())).collect(),
            have: st.have.clone(),
            applied: st.applied,
            own_base: st.own_base,
        };
        let mut records = vec![serde_json::to_vec(&snapshot).unwrap_or_default()];
        records.extend(
            st.own
                .iter()
                .map(|(e, _)| serde_json::to_vec(&Record::Retained(e.clone())).unwrap_or_default()),
        );
        self.wal.rewrite(records);
        log(format_args!(
            "WAL compacted: a snapshot of {} keys and {} own writes kept for shipping",
            st.data.map.len(),
            st.own.len()
        ));
        true
    }
}

/// Ships this node's writes to peer `i`, forever.
async fn ship_to(node: Arc<MultiLeader>, i: usize) {
    let mut durable = node.wal.durable();
    // Unknown until the peer says how far it has applied our writes.
    let mut next: Option<u64> = None;
    loop {
        let entries: Vec<Arc<Shipped>> = match next {
            None => Vec::new(),
            Some(n) => {
                let durable_seq = *durable.borrow_and_update();
                let st = node.lock();
                // A peer never asks for writes it acknowledged, so never for compacted ones,
                // unless its data directory was wiped: it then waits for this node's new writes.
                let skip = (n - 1).saturating_sub(st.own_base) as usize;
                let pending = st.own.iter().skip(skip).take(MAX_BATCH);
                pending
                    .take_while(|(_, seq)| *seq <= durable_seq)
                    .map(|(e, _)| e.clone())
                    .collect()
            }
        };
        if next.is_some() && entries.is_empty() {
            // Caught up: wait for new writes, re-probing now and then.
            if tokio::time::timeout(node.cfg.election_timeout, durable.changed())
                .await
                .is_err()
            {
                next = None;
            }
            continue;
        }
        let request = ShipRequest {
            origin: node.cfg.id.clone(),
            entries: raw_json::batch(&mut entries.iter(), MAX_BATCH),
        };
        match node
            .peers
            .post::<_, ShipResponse>(i, "/internal/ml/ship", &request)
            .await
        {
            Ok(answer) => {
                let mut st = node.lock();
                st.acked[i] = answer.have;
                next = Some(answer.have + 1);
            }
            Err(_) => tokio::time::sleep(node.cfg.heartbeat).await,
        }
    }
}

async fn handle_ship(
    AxState(node): AxState<Arc<MultiLeader>>,
    Json(req): Json<ShipRequest>,
) -> Json<ShipResponse> {
    let have = {
        let mut st = node.lock();
        let mut have = st.have.get(&req.origin).copied().unwrap_or(0);
        for entry in req.entries {
            if entry.seq <= have {
                continue;
            }
            if entry.seq != have + 1 {
                break;
            }
            for (key, cell) in &entry.effects {
                st.data.merge(key, cell);
            }
            let record = Record::Remote {
                origin: req.origin.clone(),
                entry: entry.clone(),
            };
            node.wal.append(serde_json::to_vec(&record).unwrap_or_default());
            have = entry.seq;
            st.applied += 1;
        }
        st.have.insert(req.origin, have);
        have
    };
    node.wal.wait_durable(node.wal.last_seq()).await;
    Json(ShipResponse { have })
}
