//! Single-leader log shipping: the leader's per-follower shipping loop and the follower's
//! handlers for appended entries and snapshots.
//!
//! The leader keeps one request in flight per follower, each carrying every entry the follower
//! lacks (up to a batch limit), or an empty one as a heartbeat. A follower accepts entries only
//! after its log holds the entry just before them (same index and term); otherwise it answers
//! with its last position, and the leader either resumes from there (the follower's log is a
//! prefix of its own) or sends a snapshot of its whole state, which replaces the follower's log:
//! entries only the follower had are discarded.

use super::state::{Cell, Data, Entry, Log, LogVersion, Record};
use super::{Role, SingleLeader};
use crate::store::log::log;
use axum::extract::State as AxState;
use axum::{Json, Router, routing::post};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Instant;

/// Most entries sent in one request.
const MAX_BATCH: usize = 4096;

/// Entries (possibly none: a heartbeat) from the leader.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppendRequest {
    pub term: u64,
    pub leader: String,
    /// The entry just before `entries`.
    pub prev: LogVersion,
    pub entries: Vec<Arc<Entry>>,
}

/// A follower's answer: its term, whether it took the entries, and its last log position.
#[derive(Debug, Serialize, Deserialize)]
pub struct AppendResponse {
    pub term: u64,
    pub ok: bool,
    pub last: LogVersion,
}

/// The leader's whole state, replacing a follower's log.
#[derive(Debug, Serialize, Deserialize)]
pub struct SnapshotRequest {
    pub term: u64,
    pub leader: String,
    pub base: LogVersion,
    pub data: Vec<(String, Cell)>,
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
    let mut applied = node.applied.subscribe();
    loop {
        let shipment = {
            let st = node.lock();
            if st.term != term || st.role != Role::Leader {
                return;
            }
            applied.borrow_and_update();
            let next = st.progress[i].next;
            if next <= st.log.base.index || st.log.term_at(next - 1).is_none() {
                Shipment::Snapshot(SnapshotRequest {
                    term,
                    leader: node.cfg.id.clone(),
                    base: st.log.last(),
                    data: st.data.map.iter().map(|(k, c)| (k.clone(), c.clone())).collect(),
                })
            } else {
                let prev = LogVersion {
                    term: st.log.term_at(next - 1).unwrap_or(0),
                    index: next - 1,
                };
                Shipment::Entries(AppendRequest {
                    term,
                    leader: node.cfg.id.clone(),
                    prev,
                    entries: st.log.slice(next, MAX_BATCH),
                })
            }
        };
        let (sent_up_to, answer) = match &shipment {
            Shipment::Entries(req) => {
                let up_to = req.prev.index + req.entries.len() as u64;
                (
                    up_to,
                    node.peers
                        .post::<_, AppendResponse>(i, "/internal/sl/append", req)
                        .await,
                )
            }
            Shipment::Snapshot(req) => {
                log(format_args!(
                    "sending {} a snapshot at index {} ({} keys)",
                    node.peers.list[i].id,
                    req.base.index,
                    req.data.len()
                ));
                // A whole state can take longer to send and to write than a batch of entries.
                let timeout = node.cfg.peer_timeout * 10;
                let answer = node
                    .peers
                    .post_with_timeout(i, "/internal/sl/snapshot", req, timeout)
                    .await;
                (req.base.index, answer)
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
                let progress = &mut st.progress[i];
                progress.last_contact = Some(Instant::now());
                if answer.ok {
                    progress.matched = progress.matched.max(sent_up_to);
                    progress.next = sent_up_to + 1;
                } else if answer.last.index >= st.log.base.index && st.log.has(answer.last) {
                    let progress = &mut st.progress[i];
                    progress.next = answer.last.index + 1;
                } else {
                    // The follower's log is not a prefix of ours: replace it.
                    st.progress[i].next = 0;
                }
                let caught_up = answer.ok && st.progress[i].next > last_index;
                node.update_acks(&st);
                caught_up
            }
        };
        if caught_up {
            let _ = tokio::time::timeout(node.cfg.heartbeat, applied.changed()).await;
        }
    }
}

async fn handle_append(
    AxState(node): AxState<Arc<SingleLeader>>,
    Json(req): Json<AppendRequest>,
) -> Json<AppendResponse> {
    let response = {
        let mut st = node.lock();
        match node.accept_leader(&mut st, req.term, &req.leader) {
            false => AppendResponse {
                term: st.term,
                ok: false,
                last: st.log.last(),
            },
            true => append_entries(&node, &mut st, req),
        }
    };
    node.wal.wait_durable(node.wal.last_seq()).await;
    Json(response)
}

fn append_entries(node: &SingleLeader, st: &mut super::State, req: AppendRequest) -> AppendResponse {
    let refuse = |st: &super::State| AppendResponse {
        term: st.term,
        ok: false,
        last: st.log.last(),
    };
    if !st.log.has(req.prev) {
        return refuse(st);
    }
    for entry in req.entries {
        match st.log.term_at(entry.index) {
            Some(t) if t == entry.term => continue,
            Some(_) => return refuse(st),
            None if entry.index != st.log.last().index + 1 => return refuse(st),
            None => {
                node.wal.append(Record::Entry(entry.clone()).encode());
                st.data.apply(&entry);
                st.log.entries.push(entry);
            }
        }
    }
    let last = st.log.last().index;
    node.applied.send_replace(last);
    if st.log.entries.len() > 2 * super::RETAINED_ENTRIES {
        st.log.compact(last - super::RETAINED_ENTRIES as u64);
    }
    AppendResponse {
        term: st.term,
        ok: true,
        last: st.log.last(),
    }
}

async fn handle_snapshot(
    AxState(node): AxState<Arc<SingleLeader>>,
    Json(req): Json<SnapshotRequest>,
) -> Json<AppendResponse> {
    let response = {
        let mut st = node.lock();
        if node.accept_leader(&mut st, req.term, &req.leader) {
            let replaced = st.log.last();
            log(format_args!(
                "installing a snapshot from {} at index {} (term {}); replacing the log up to index {} (term {})",
                req.leader, req.base.index, req.base.term, replaced.index, replaced.term
            ));
            let records = vec![
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
            node.wal.rewrite(records);
            st.log = Log {
                base: req.base,
                entries: Vec::new(),
            };
            st.data = Data {
                map: req.data.into_iter().collect(),
            };
            node.applied.send_replace(req.base.index);
        }
        AppendResponse {
            term: st.term,
            ok: st.leader.as_deref() == Some(req.leader.as_str()) && st.log.last() == req.base,
            last: st.log.last(),
        }
    };
    node.wal.wait_durable(node.wal.last_seq()).await;
    Json(response)
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
