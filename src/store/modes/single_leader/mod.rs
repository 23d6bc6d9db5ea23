//! Single-leader replication: one leader appends every write to its log and ships the log to the
//! followers in batches; a write is acknowledged per the replication setting (`async`: once in
//! the leader's WAL; `semi-sync`: and in one follower's; `sync`: and in every follower's).
//!
//! Reads: `leader` (only the leader answers), `any` (any node answers from its local state,
//! possibly stale), and `?after=P` (read-your-writes: the node answers once it has applied log
//! position P, else `behind`). Writes sent to a follower are refused with `not_leader` naming the
//! leader. Failover ([`election`]) is simple on purpose: heartbeats, terms, and votes that go to
//! the most up-to-date reachable node; it is not consensus (see docs/store.md).

mod election;
mod replication;
pub mod state;

use crate::store::clock::Clock;
use crate::store::config::{NodeConfig, Replication};
use crate::store::error::ApiError;
use crate::store::log::log;
use crate::store::modes::txn;
use crate::store::modes::{EngineStatus, OpResult, Reply};
use crate::store::ops::{Command, RequestOptions};
use crate::store::peers::Peers;
use crate::store::wal::Wal;
use serde_json::json;
use state::{Data, Entry, Log, LogVersion, ReadOnly, Record, Recorder};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Log entries kept in memory after compaction (older ones are only in the WAL and the data;
/// a follower that needs them gets a snapshot).
const RETAINED_ENTRIES: usize = 100_000;

/// A node's role in its current term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Leader,
    Follower,
    Candidate,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Candidate => "candidate",
        }
    }
}

/// What the leader knows about one follower's log.
#[derive(Debug, Clone, Default)]
struct Progress {
    /// The next index to send.
    next: u64,
    /// The highest index known to be in the follower's WAL (this term).
    matched: u64,
    /// The last time the follower answered (any answer).
    last_contact: Option<Instant>,
}

/// What writers waiting for replication watch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AckState {
    term: u64,
    leading: bool,
    /// Highest index replicated as the replication setting requires.
    acked: u64,
}

/// Everything behind the state lock.
struct State {
    term: u64,
    voted_for: Option<String>,
    role: Role,
    leader: Option<String>,
    log: Log,
    data: Data,
    /// When this node last heard from a leader (or granted a vote, or started an election).
    last_heard: Instant,
    /// How long without a leader before this node starts an election (randomised).
    election_after: Duration,
    /// Per peer (same order as `Peers::list`), meaningful while leading.
    progress: Vec<Progress>,
}

/// The single-leader engine.
pub struct SingleLeader {
    cfg: NodeConfig,
    clock: Arc<Clock>,
    wal: Wal,
    peers: Peers,
    state: Mutex<State>,
    /// The last applied log index (for read-your-writes waits and waking replication).
    applied: watch::Sender<u64>,
    acks: watch::Sender<AckState>,
}

impl SingleLeader {
    /// Rebuilds the state from the WAL records and starts the timers.
    pub fn start(
        cfg: NodeConfig,
        clock: Arc<Clock>,
        wal: Wal,
        records: &[Vec<u8>],
    ) -> anyhow::Result<Arc<Self>> {
        let recovered = state::replay(records)?;
        let peers = Peers::new(&cfg)?;
        let last = recovered.log.last();
        log(format_args!(
            "single-leader ({} replication): recovered term {}, log up to index {} ({} keys)",
            cfg.replication.name(),
            recovered.term,
            last.index,
            recovered.data.map.len()
        ));
        let state = State {
            term: recovered.term,
            voted_for: recovered.voted_for,
            role: Role::Follower,
            leader: None,
            log: recovered.log,
            data: recovered.data,
            last_heard: Instant::now(),
            election_after: election::random_timeout(cfg.election_timeout),
            progress: vec![Progress::default(); peers.list.len()],
        };
        let fresh = state.term == 0 && last.index == 0;
        let node = Arc::new(SingleLeader {
            applied: watch::Sender::new(last.index),
            acks: watch::Sender::new(AckState {
                term: state.term,
                leading: false,
                acked: 0,
            }),
            state: Mutex::new(state),
            cfg,
            clock,
            wal,
            peers,
        });
        if fresh && node.cfg.initial_leader == node.cfg.id {
            let mut st = node.lock();
            st.term = 1;
            st.voted_for = Some(node.cfg.id.clone());
            node.wal.append(
                Record::Term {
                    term: 1,
                    voted_for: st.voted_for.clone(),
                }
                .encode(),
            );
            node.become_leader(&mut st);
        }
        tokio::spawn(election::ticker(node.clone()));
        Ok(node)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The internal (node-to-node) routes of this design.
    pub fn routes(self: &Arc<Self>) -> axum::Router {
        replication::routes(self.clone()).merge(election::routes(self.clone()))
    }

    /// Status for the admin endpoint.
    pub fn status(&self) -> EngineStatus {
        let st = self.lock();
        let followers: Vec<_> = self
            .peers
            .list
            .iter()
            .zip(&st.progress)
            .enumerate()
            .map(|(i, (p, pr))| {
                json!({
                    "id": p.id,
                    "matched": if st.role == Role::Leader { Some(pr.matched) } else { None },
                    "reachable": self.peers.is_reachable(i),
                })
            })
            .collect();
        let last = st.log.last();
        EngineStatus {
            role: st.role.name(),
            term: st.term,
            leader: st.leader.clone(),
            applied: last.index,
            detail: json!({
                "replication": self.cfg.replication.name(),
                "last_log_term": last.term,
                "log_base": st.log.base.index,
                "voted_for": st.voted_for,
                "peers": followers,
            }),
        }
    }

    /// Serves a client command.
    pub async fn execute(&self, cmd: Command, opts: RequestOptions) -> Result<Reply, ApiError> {
        if opts.n.is_some() || opts.r.is_some() || opts.w.is_some() {
            return Err(ApiError::bad_request(
                "n, r and w apply to leaderless mode, not single-leader",
            ));
        }
        let read_mode = opts.read.clone().unwrap_or_else(|| self.cfg.reads.clone());
        if !["leader", "any"].contains(&read_mode.as_str()) {
            return Err(ApiError::bad_request(format!(
                "read={read_mode} is not a single-leader read mode (expected leader or any)"
            )));
        }
        if let Some(after) = opts.after {
            self.wait_applied(after).await?;
        }
        if cmd.is_write() {
            self.write(cmd).await
        } else {
            self.read(cmd, read_mode == "leader")
        }
    }

    async fn wait_applied(&self, after: u64) -> Result<(), ApiError> {
        let mut rx = self.applied.subscribe();
        let waited = tokio::time::timeout(self.cfg.ryw_wait, rx.wait_for(|&a| a >= after)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ApiError::behind(*self.applied.borrow(), after)),
        }
    }

    fn read(&self, cmd: Command, leader_only: bool) -> Result<Reply, ApiError> {
        let st = self.lock();
        if leader_only && st.role != Role::Leader {
            return Err(ApiError::not_leader(&self.cfg.id, st.leader.clone()));
        }
        let Command::Txn { ops, .. } = cmd else {
            unreachable!("a read is a read-only transaction")
        };
        let results = txn::run(&mut ReadOnly(&st.data), &ops);
        Ok(Reply {
            pos: st.log.last().index,
            results,
        })
    }

    async fn write(&self, cmd: Command) -> Result<Reply, ApiError> {
        let (term, index, wal_seq, results) = {
            let mut st = self.lock();
            if st.role != Role::Leader {
                return Err(ApiError::not_leader(&self.cfg.id, st.leader.clone()));
            }
            let version = LogVersion {
                term: st.term,
                index: st.log.last().index + 1,
            };
            let st = &mut *st;
            let mut recorder = Recorder {
                data: &mut st.data,
                version,
                effects: Vec::new(),
            };
            let results = match cmd {
                Command::Txn { ops, .. } => {
                    txn::check_types(&recorder, &ops)?;
                    txn::run(&mut recorder, &ops)
                }
                Command::Cas { key, from, to } => {
                    txn::check_cas(&recorder, &key, &from)?;
                    let version = txn::LocalStore::write(&mut recorder, &key, to.clone());
                    vec![OpResult { value: to, version }]
                }
            };
            let entry = Arc::new(Entry {
                term: version.term,
                index: version.index,
                ts: self.clock.now_ns(),
                effects: recorder.effects,
            });
            let wal_seq = self.wal.append(Record::Entry(entry.clone()).encode());
            st.log.entries.push(entry);
            self.applied.send_replace(version.index);
            if st.log.entries.len() > 2 * RETAINED_ENTRIES {
                // A follower more than this far behind will get a snapshot.
                st.log.compact(version.index - RETAINED_ENTRIES as u64);
            }
            (version.term, version.index, wal_seq, results)
        };
        self.wal.wait_durable(wal_seq).await;
        if self.cfg.replication != Replication::Async && !self.peers.list.is_empty() {
            self.wait_replicated(term, index).await?;
        }
        Ok(Reply { pos: index, results })
    }

    /// Waits until the replication setting is met for `index`, or leadership is lost, or the
    /// operation timeout passes.
    async fn wait_replicated(&self, term: u64, index: u64) -> Result<(), ApiError> {
        let mut rx = self.acks.subscribe();
        let wait = rx.wait_for(|a| a.term != term || !a.leading || a.acked >= index);
        match tokio::time::timeout(self.cfg.op_timeout, wait).await {
            Ok(Ok(a)) if a.term == term && a.leading => Ok(()),
            Ok(_) => Err(ApiError::stepped_down(format!(
                "{} stopped leading term {term} before index {index} was replicated ({}); it may survive or not",
                self.cfg.id,
                self.cfg.replication.name()
            ))),
            Err(_) => Err(ApiError::timeout(format!(
                "index {index} is in the leader's log but was not replicated ({}) within {} ms; it may survive or not",
                self.cfg.replication.name(),
                self.cfg.op_timeout.as_millis()
            ))),
        }
    }

    /// Publishes the term, role and replicated index to writers waiting for acknowledgements.
    fn update_acks(&self, st: &State) {
        let matched = st.progress.iter().map(|p| p.matched);
        let acked = match self.cfg.replication {
            Replication::Sync => matched.min().unwrap_or(u64::MAX),
            Replication::SemiSync => matched.max().unwrap_or(0),
            Replication::Async => st.log.last().index,
        };
        self.acks.send_replace(AckState {
            term: st.term,
            leading: st.role == Role::Leader,
            acked,
        });
    }
}
