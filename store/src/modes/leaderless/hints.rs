//! Hinted handoff (`--hinted-handoff`): when a replica does not acknowledge a write its
//! coordinator sent it (down, cut off, timed out), the coordinator keeps the write as a hint for
//! that replica (merged per key, so hints take at most one cell per key) and delivers its hints
//! once the replica answers pings again. Hints are kept in memory: a coordinator that restarts
//! loses them (anti-entropy covers that). At most [`MAX_HINTED_KEYS`] keys are kept per peer;
//! the writes to further keys are not hinted (logged), so a long outage cannot exhaust memory.
//! The quorum is not sloppy: a write still needs W of the key's own replicas.

use super::Leaderless;
use super::replica::ReplicaOp;
use crate::log::log;
use crate::modes::lww::LwwCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Keys with a hint, per peer, at most.
pub const MAX_HINTED_KEYS: usize = 100_000;

/// Hints per peer (same order as `Peers::list`).
pub struct Hints {
    per_peer: Vec<Mutex<HashMap<String, LwwCell>>>,
}

impl Hints {
    pub fn new(peers: usize) -> Hints {
        Hints {
            per_peer: (0..peers).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn lock(&self, i: usize) -> std::sync::MutexGuard<'_, HashMap<String, LwwCell>> {
        self.per_peer[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a write peer `i` did not acknowledge.
    pub fn keep(&self, i: usize, key: &str, cell: &LwwCell) {
        let mut hints = self.lock(i);
        if let Some(kept) = hints.get_mut(key) {
            kept.merge(cell);
        } else if hints.len() < MAX_HINTED_KEYS {
            hints.insert(key.to_string(), cell.clone());
        } else {
            log(format_args!(
                "hinted handoff: {MAX_HINTED_KEYS} keys already hinted for peer {i}; the write to {key:?} is not"
            ));
        }
    }
}

/// Delivers each reachable peer's hints, every heartbeat, for as long as the node runs.
pub async fn run(node: Arc<Leaderless>) {
    let mut tick = tokio::time::interval(node.cfg.heartbeat);
    loop {
        tick.tick().await;
        for i in 0..node.peers.list.len() {
            if !node.peers.is_reachable(i) {
                continue;
            }
            let due: Vec<(String, LwwCell)> = node.hints.lock(i).drain().collect();
            if due.is_empty() {
                continue;
            }
            let mut delivered = 0;
            for (key, cell) in due {
                match node.links[i]
                    .call(ReplicaOp::Merge(key.clone(), cell.clone()))
                    .await
                {
                    Ok(_) => delivered += 1,
                    Err(_) => node.hints.keep(i, &key, &cell),
                }
            }
            log(format_args!(
                "hinted handoff: delivered {delivered} hints to {}",
                node.peers.list[i].id
            ));
        }
    }
}
