//! Single-leader log shipping: the leader's per-follower shipping loop and the follower's
//! handlers for appended entries and snapshots.
//!
//! The leader keeps one request in flight per follower, each carrying every entry the follower
//! lacks (up to a batch limit) and the leader's commit index, or no entries as a heartbeat; it
//! sends again as soon as its log or its commit index moves. A follower accepts entries only
//! after its log holds the entry just before them (same index and term), drops any
//! *uncommitted* entries of its own that conflict with them, and applies up to the leader's
//! commit index (never past what it verified). Otherwise it answers with its last and its
//! committed positions, and the leader resumes from whichever of them its own log holds. When it
//! holds neither (the follower committed entries the leader does not have, which only `async`
//! and `semi-sync` failovers cause, or the follower is behind the leader's compacted log), the
//! leader sends a snapshot: its committed data and the entries after it, which replace the
//! follower's log and data.
use super::state::{Cell, Data, Entry, Log, LogVersion, Record};
use super::{Role, SingleLeader};
use crate::log::log;
use crate::raw_json;
use axum::extract::State as AxState;
use axum::{Json, Router, routing::post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Most entries sent in one request.
const MAX_BATCH: usize = 4096;

/// Entries (possibly none: a heartbeat) from the leader. The leader sends them already
/// serialised (`E` = raw JSON), in batches bounded in count and bytes
/// ([`crate::limits::BATCH_BYTES`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct AppendRequest<E = Arc<Entry>> {
    pub term: u64,
    pub leader: String,
    /// The entry just before `entries`.
    pub prev: LogVersion,
    pub entries: Vec<E>,
    /// The leader's commit index.
    pub commit: u64,
    /// The leader's clock when it read `commit` (ns since the epoch), if it had by then
    /// committed every entry it had when elected, else 0: every write committed anywhere
    /// before this time is at or before `commit`. A follower that applies up to `commit` is
    /// current as of this time (`?after_ts=`).
    #[serde(default)]
    pub leader_ts: u64,
}

/// A follower's answer: its term, whether it took the entries, its last log position and its
/// committed position.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppendResponse {
    pub term: u64,
    pub ok: bool,
    pub last: LogVersion,
    pub committed: LogVersion,
}

/// The leader's committed data at `base` (its commit index) and its entries after it, replacing
/// a follower's log and data.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotRequest {
    pub term: u64,
    pub leader: String,
    pub base: LogVersion,
    pub data: Vec<(String, Cell)>,
    pub entries: Vec<Arc<Entry>>,
}

pub fn routes(node: Arc<SingleLeader>) -> Router {
    Router::new()
        .route("/internal/sl/append", post(handle_append))
        .route("/internal/sl/snapshot", post(handle_snapshot))
        .with_state(node)
}

enum Shipment {
    Entries(AppendRequest),
    Snapshot(SnapshotRequest),
}

/// Ships the log to peer `i` for as long as this node leads `term`.
pub async fn ship_to(node: Arc<SingleLeader>, i: usize, term: u64) {
    let mut changes = node.log_changes.subscribe();
    loop {
        let shipment = {
            let st = node.lock();
            if st.term != term || st.role != Role::Leader {
                return;
            }
            changes.borrow_and_update();
            next_shipment(&node, &st, i, term)
        };
        let (sent_up_to, answer) = match &shipment {
            Shipment::Entries(req) => {
                // Serialised outside the state lock; what the byte budget leaves out goes next.
                let req = AppendRequest {
                    term: req.term,
                    leader: req.leader.clone(),
                    prev: req.prev,
                    entries: raw_json::batch(&mut req.entries.iter(), MAX_BATCH),
                    commit: req.commit,
                    leader_ts: req.leader_ts,
                };
                let up_to = req.prev.index + req.entries.len() as u64;
                (
                    up_to,
                    node.peers
                        .post::<_, AppendResponse>(i, "/internal/sl/append", &req)
                        .await,
                )
            }
            Shipment::Snapshot(req) => {
                log(format_args!(
                    "sending {} a snapshot at index {} ({} keys) and {} entries after it",
                    node.peers.list[i].id,
                    req.base.index,
                    req.data.len(),
                    req.entries.len()
                ));
                // A whole state can take longer to send and to write than a batch of entries.
                let timeout = node.cfg.peer_timeout * 10;
                let answer = node
                    .peers
                    .post_with_timeout(i, "/internal/sl/snapshot", req, timeout)
                    .await;
                (req.base.index + req.entries.len() as u64, answer)
            }
        };
        let caught_up = match answer {
            Err(_) => {
                tokio::time::sleep(node.cfg.heartbeat).await;
                continue;
            }
            Ok(answer) => {
                let mut st = node.lock();
                if answer.term > st.term {
                    node.observe_term(&mut st, answer.term, None);
                    return;
                }
                if st.term != term || st.role != Role::Leader {
                    return;
                }
                let last_index = st.log.last().index;
                let holds = |at: LogVersion| at.index >= st.log.base.index && st.log.has(at);
                let next = if answer.ok {
                    sent_up_to + 1
                } else if holds(answer.last) {
                    answer.last.index + 1
                } else if holds(answer.committed) {
                    // The follower's uncommitted tail differs from ours: it drops it when the
                    // entries after its committed position arrive.
                    answer.committed.index + 1
                } else {
                    // Its committed entries are not ours (or too old for our log): replace them.
                    0
                };
                let progress = &mut st.progress[i];
                progress.last_contact = Some(Instant::now());
                progress.next = next;
                if answer.ok {
                    progress.matched = progress.matched.max(sent_up_to);
                }
                node.advance_commit(&mut st);
                answer.ok && next > last_index
            }
        };
        if caught_up {
            let _ = tokio::time::timeout(node.cfg.heartbeat, changes.changed()).await;
        }
    }
}

/// What to send follower `i` next: the entries it lacks, or a snapshot.
fn next_shipment(node: &SingleLeader, st: &super::State, i: usize, term: u64) -> Shipment {
    let next = st.progress[i].next;
    match st.log.position(next.saturating_sub(1)) {
        Some(prev) if next > st.log.base.index => Shipment::Entries(AppendRequest {
            term,
            leader: node.cfg.id.clone(),
            prev,
            entries: st.log.slice(next, MAX_BATCH),
            commit: st.commit,
            leader_ts: if st.commit >= st.term_start {
                node.clock.now_ns()
            } else {
                0
            },
        }),
        _ => Shipment::Snapshot(SnapshotRequest {
            term,
            leader: node.cfg.id.clone(),
            // The base is never after the commit index, so the log holds its position.
            base: st.log.position(st.commit).unwrap_or(st.log.base),
            data: st.data.map.iter().map(|(k, c)| (k.clone(), c.clone())).collect(),
            entries: st.log.slice(st.commit + 1, usize::MAX),
        }),
    }
}

async fn handle_append(
    AxState(node): AxState<Arc<SingleLeader>>,
    Json(req): Json<AppendRequest>,
) -> Json<AppendResponse> {
    let response = {
        let mut st = node.lock();
        match node.accept_leader(&mut st, req.term, &req.leader) {
            false => refusal(&st),
            true => append_entries(&node, &mut st, req),
        }
    };
    node.wal.wait_durable(node.wal.last_seq()).await;
    Json(response)
}

fn committed_position(st: &super::State) -> LogVersion {
    st.log.position(st.commit).unwrap_or(st.log.base)
}

fn refusal(st: &super::State) -> AppendResponse {
    AppendResponse {
        term: st.term,
        ok: false,
        last: st.log.last(),
        committed: committed_position(st),
    }
}

fn append_entries(node: &SingleLeader, st: &mut super::State, req: AppendRequest) -> AppendResponse {
    if !st.log.has(req.prev) {
        return refusal(st);
    }
    let verified = req.prev.index + req.entries.len() as u64;
    for entry in req.entries {
        match st.log.term_at(entry.index) {
            Some(t) if t == entry.term => continue,
            Some(t) if entry.index > st.commit => {
                log(format_args!(
                    "dropping uncommitted entries {}..={} (entry {} of term {t} conflicts with {}'s of term {})",
                    entry.index,
                    st.log.last().index,
                    entry.index,
                    req.leader,
                    entry.term
                ));
                st.log.truncate_after(entry.index - 1);
                node.wal.append(
                    Record::Truncate {
                        after: entry.index - 1,
                    }
                    .encode(),
                );
                node.wal.append(Record::Entry(entry.clone()).encode());
                st.log.entries.push(entry);
            }
            // A committed entry conflicts: the leader will send a snapshot.
            Some(_) => return refusal(st),
            None if entry.index != st.log.last().index + 1 => return refusal(st),
            None => {
                node.wal.append(Record::Entry(entry.clone()).encode());
                st.log.entries.push(entry);
            }
        }
    }
    node.apply_committed(st, req.commit.min(verified));
    if req.leader_ts > 0 && st.commit >= req.commit {
        st.as_of_ns = st.as_of_ns.max(req.leader_ts);
    }
    if st.log.entries.len() > 2 * super::RETAINED_ENTRIES {
        let upto = st.log.last().index - super::RETAINED_ENTRIES as u64;
        st.log.compact(upto.min(st.commit));
    }
    AppendResponse {
        term: st.term,
        ok: true,
        last: st.log.last(),
        committed: committed_position(st),
    }
}

async fn handle_snapshot(
    AxState(node): AxState<Arc<SingleLeader>>,
    Json(req): Json<SnapshotRequest>,
) -> Json<AppendResponse> {
    let response = {
        let mut st = node.lock();
        let expected_last = req.entries.last().map_or(req.base, |e| LogVersion {
            term: e.term,
            index: e.index,
        });
        let leader = req.leader.clone();
        if node.accept_leader(&mut st, req.term, &req.leader) {
            install_snapshot(&node, &mut st, req);
        }
        let ok = st.leader.as_deref() == Some(leader.as_str()) && st.log.last() == expected_last;
        AppendResponse {
            term: st.term,
            ok,
            last: st.log.last(),
            committed: committed_position(&st),
        }
    };
    node.wal.wait_durable(node.wal.last_seq()).await;
    Json(response)
}

/// Replaces this follower's log and data by the leader's snapshot and the entries after it.
fn install_snapshot(node: &SingleLeader, st: &mut super::State, req: SnapshotRequest) {
    let replaced = st.log.last();
    log(format_args!(
        "installing a snapshot from {} at index {} (term {}) with {} entries after it; replacing the log up to index {} (term {}), committed up to {}",
        req.leader,
        req.base.index,
        req.base.term,
        req.entries.len(),
        replaced.index,
        replaced.term,
        st.commit
    ));
    let mut records = vec![
        Record::Term {
            term: st.term,
            voted_for: st.voted_for.clone(),
        }
        .encode(),
        Record::Snapshot {
            base: req.base,
            data: req.data.clone(),
        }
        .encode(),
    ];
    records.extend(req.entries.iter().map(|e| Record::Entry(e.clone()).encode()));
    node.wal.rewrite(records);
    st.log = Log {
        base: req.base,
        entries: req.entries,
    };
    st.data = Data {
        map: req.data.into_iter().collect(),
    };
    st.commit = req.base.index;
    st.commit_persisted = req.base.index;
    st.pending.clear();
    node.committed.send_replace(st.commit);
    node.update_acks(st);
}

impl SingleLeader {
    /// Handles the term of a request from a would-be leader: refuses a stale term, otherwise
    /// moves to the term and follows the sender.
    fn accept_leader(&self, st: &mut super::State, term: u64, leader: &str) -> bool {
        if term < st.term {
            return false;
        }
        if term > st.term {
            self.observe_term(st, term, None);
        }
        if st.role == Role::Leader {
            // Two leaders in one term cannot come from elections; refuse rather than merge.
            log(format_args!(
                "refusing entries from {leader}: this node leads term {term} itself"
            ));
            return false;
        }
        self.follow(st, leader);
        true
    }
}
