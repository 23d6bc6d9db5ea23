//! Background anti-entropy (`--anti-entropy-ms`): every interval a node picks its next peer
//! (round robin) and sends it a digest of each key both of them replicate (the key and a hash
//! of the write stamps in its cell: the per-key version). The peer answers which of those keys
//! differ on its side and which keys it holds for both that the digest left out. For each such
//! key the node pushes its own cell to the peer and pulls the peer's, merging both ways, so two
//! replicas that diverged (a write that missed a replica that was down, a lost repair) converge
//! without any client reading the key. Off by default: read repair alone then fixes only the
//! keys clients read.

use super::Leaderless;
use super::replica::{ReplicaOp, ReplicaResult};
use crate::log::log;
use crate::modes::lww::LwwCell;
use axum::Json;
use axum::extract::State as AxState;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// Keys repaired per exchange at most (the rest in the next rounds).
const MAX_REPAIRS: usize = 1024;

/// One node's per-key versions, for the keys the receiver also replicates.
#[derive(Debug, Serialize, Deserialize)]
pub struct DigestRequest {
    pub from: String,
    pub keys: Vec<(String, u64)>,
}

/// The keys whose cells differ (or that the digest did not name but the receiver holds for both).
#[derive(Debug, Serialize, Deserialize)]
pub struct DigestResponse {
    pub differ: Vec<String>,
}

/// The version of a cell: a hash of its write stamps (each write has a unique stamp, so two
/// cells with the same stamps hold the same writes).
pub fn digest(cell: &LwwCell) -> u64 {
    let mut text = String::new();
    if let Some((s, _)) = &cell.reg {
        text.push_str(&format!("r{}:{}:{};", s.ts, s.node, s.seq));
    }
    for (s, _) in &cell.items {
        text.push_str(&format!("i{}:{}:{};", s.ts, s.node, s.seq));
    }
    super::fnv1a(text.as_bytes())
}

impl Leaderless {
    /// The ids of a key's replicas (cluster default N).
    fn replica_ids(&self, key: &str) -> Vec<&str> {
        let start = (super::fnv1a(key.as_bytes()) % self.ring.len() as u64) as usize;
        (0..self.cfg.n)
            .map(|j| self.ring[(start + j) % self.ring.len()].as_str())
            .collect()
    }

    /// Does `a` replicate `key` along with this node?
    fn shared(&self, key: &str, other: &str) -> bool {
        let ids = self.replica_ids(key);
        ids.contains(&other) && ids.contains(&self.cfg.id.as_str())
    }

    /// One exchange with peer `i`; returns how many keys were repaired.
    async fn exchange(&self, i: usize) -> usize {
        let other = self.peers.list[i].id.clone();
        let keys: Vec<(String, u64)> = {
            let st = self.replica.lock();
            st.data
                .map
                .iter()
                .filter(|(k, _)| self.shared(k, &other))
                .map(|(k, c)| (k.clone(), digest(c)))
                .collect()
        };
        let request = DigestRequest {
            from: self.cfg.id.clone(),
            keys,
        };
        let Ok(answer) = self
            .peers
            .post::<_, DigestResponse>(i, "/internal/ll/digest", &request)
            .await
        else {
            return 0;
        };
        let mut repaired = 0;
        for key in answer.differ.into_iter().take(MAX_REPAIRS) {
            let mine = self.replica.lock().data.cell(&key);
            if mine != LwwCell::default() {
                let _ = self.links[i].call(ReplicaOp::Merge(key.clone(), mine)).await;
            }
            if let Ok(ReplicaResult::Cell(theirs)) = self.links[i].call(ReplicaOp::Fetch(key.clone())).await
                && theirs != LwwCell::default()
            {
                self.replica
                    .apply_durably(vec![ReplicaOp::Merge(key, theirs)])
                    .await;
            }
            repaired += 1;
        }
        repaired
    }
}

/// Exchanges digests with one peer after another, every interval, for as long as the node runs.
pub async fn run(node: Arc<Leaderless>, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    let mut next = 0;
    loop {
        tick.tick().await;
        if node.peers.list.is_empty() {
            continue;
        }
        let i = next % node.peers.list.len();
        next += 1;
        if !node.peers.is_reachable(i) {
            continue;
        }
        let repaired = node.exchange(i).await;
        if repaired > 0 {
            log(format_args!(
                "anti-entropy with {}: {repaired} keys differed and were repaired",
                node.peers.list[i].id
            ));
        }
    }
}

/// Answers a peer's digest: the keys that differ here, and the shared keys it did not name.
pub async fn handle_digest(
    AxState(node): AxState<Arc<Leaderless>>,
    Json(req): Json<DigestRequest>,
) -> Json<DigestResponse> {
    let st = node.replica.lock();
    let named: HashSet<&str> = req.keys.iter().map(|(k, _)| k.as_str()).collect();
    let mut differ: Vec<String> = req
        .keys
        .iter()
        .filter(|(k, v)| st.data.map.get(k).map(digest) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect();
    differ.extend(
        st.data
            .map
            .keys()
            .filter(|k| !named.contains(k.as_str()) && node.shared(k, &req.from))
            .cloned(),
    );
    Json(DigestResponse { differ })
}
