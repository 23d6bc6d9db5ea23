//! The replica side of the leaderless design: this node's copy of the keys placed on it, the
//! batched operations coordinators send it (fetch a key's cell, merge a cell into a key), and
//! their WAL records and replay. Merges are acknowledged only once they are in the WAL.

use crate::modes::lww::{LwwCell, LwwData, StampSource};
use crate::wal::Wal;
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, MutexGuard};

/// One operation a coordinator asks of a replica.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReplicaOp {
    /// Return the key's cell.
    Fetch(String),
    /// Merge the cell into the key (a write, or a read repair).
    Merge(String, LwwCell),
}

/// A replica's answer to one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReplicaResult {
    Cell(LwwCell),
    Merged,
}

/// A batch of operations (from one coordinator to one replica). The coordinator serialises them
/// itself (`O` = raw JSON), in batches bounded in count and bytes
/// ([`crate::limits::BATCH_BYTES`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchRequest<O = ReplicaOp> {
    pub ops: Vec<O>,
}

/// The answers, in the same order.
#[derive(Debug, Serialize, Deserialize)]
pub struct BatchResponse {
    pub results: Vec<ReplicaResult>,
}

/// A WAL record: the merges of one batch, or one part of a snapshot (which also carries the
/// count of merges applied when it was taken).
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    merges: Vec<(String, LwwCell)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    applied: Option<u64>,
}

/// Keys per snapshot record, so no record grows with the data.
const SNAPSHOT_KEYS_PER_RECORD: usize = 1024;

pub struct ReplicaState {
    pub data: LwwData,
    /// Merges applied here (this node's log position).
    pub applied: u64,
}

/// This node's replica.
pub struct Replica {
    state: Mutex<ReplicaState>,
    pub wal: Wal,
}

impl Replica {
    /// Replays the WAL; notes this node's own stamps so its counter never repeats.
    pub fn recover(wal: Wal, records: &[Vec<u8>], stamps: &mut StampSource) -> anyhow::Result<Replica> {
        let mut st = ReplicaState {
            data: LwwData::default(),
            applied: 0,
        };
        for (i, bytes) in records.iter().enumerate() {
            let record: Record = serde_json::from_slice(bytes)
                .map_err(|e| anyhow::anyhow!("WAL record {i} is not a leaderless record: {e}"))?;
            for (key, cell) in &record.merges {
                cell.reg
                    .iter()
                    .chain(&cell.items)
                    .for_each(|(s, _)| stamps.observe(s));
                st.data.merge(key, cell);
                st.applied += 1;
            }
            if let Some(applied) = record.applied {
                st.applied = applied;
            }
        }
        Ok(Replica {
            state: Mutex::new(st),
            wal,
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, ReplicaState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a batch; returns the answers and, if it merged anything, the WAL sequence number
    /// to wait for before acknowledging.
    pub fn apply(&self, ops: Vec<ReplicaOp>) -> (Vec<ReplicaResult>, Option<u64>) {
        let mut st = self.lock();
        let mut merges = Vec::new();
        let results: Vec<ReplicaResult> = ops
            .into_iter()
            .map(|op| match op {
                ReplicaOp::Fetch(key) => ReplicaResult::Cell(st.data.cell(&key)),
                ReplicaOp::Merge(key, cell) => {
                    if st.data.merge(&key, &cell) {
                        st.applied += 1;
                        merges.push((key, cell));
                    }
                    ReplicaResult::Merged
                }
            })
            .collect();
        let any_merge = results.contains(&ReplicaResult::Merged);
        let seq = if !merges.is_empty() {
            Some(
                self.wal.append(
                    serde_json::to_vec(&Record {
                        merges,
                        applied: None,
                    })
                    .unwrap_or_default(),
                ),
            )
        } else {
            // A merge that changed nothing may repeat one still on its way to the disk.
            any_merge.then(|| self.wal.last_seq())
        };
        (results, seq)
    }

    /// Rewrites the WAL as a snapshot of every key's cell if it has grown enough (see
    /// [`Wal::wants_compaction`]); returns whether it did. The cells merge into an empty replica
    /// exactly as the merges they replace did.
    pub fn compact_wal_if_due(&self) -> bool {
        if !self.wal.wants_compaction() {
            return false;
        }
        let st = self.lock();
        let cells: Vec<(String, LwwCell)> = st.data.map.iter().map(|(k, c)| (k.clone(), c.clone())).collect();
        let records = cells
            .chunks(SNAPSHOT_KEYS_PER_RECORD)
            .map(|chunk| {
                let record = Record {
                    merges: chunk.to_vec(),
                    applied: Some(st.applied),
                };
                serde_json::to_vec(&record).unwrap_or_default()
            })
            .collect();
        self.wal.rewrite(records);
        crate::log::log(format_args!("WAL compacted: a snapshot of {} keys", cells.len()));
        true
    }

    /// Applies a batch and waits until its merges are durable.
    pub async fn apply_durably(&self, ops: Vec<ReplicaOp>) -> Vec<ReplicaResult> {
        let (results, seq) = self.apply(ops);
        if let Some(seq) = seq {
            self.wal.wait_durable(seq).await;
        }
        results
    }
}
