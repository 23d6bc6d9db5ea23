//! Single-leader replication: one leader appends every write to its log and ships the log to the
//! followers in batches; an entry is committed per the replication setting (`async`: once in
//! the leader's WAL; `semi-sync`: and in one follower's; `sync`: and in every follower's), and a
//! write is acknowledged once its entry is committed ([`commit`]).
//!
//! Every node serves reads from its committed data only. Reads: `leader` (only the leader
//! answers; a new leader first commits every entry it had when elected), `any` (any node answers
//! from its committed data, possibly stale), and `?after=P` (read-your-writes: the node answers
//! once it has committed log position P, else `behind`). Writes sent to a follower are refused
//! with `not_leader` naming the leader. Failover ([`election`]) is simple on purpose: heartbeats,
//! terms, and votes that go to the most up-to-date reachable node; it is not consensus (see
//! docs/store.md for what each replication setting guarantees).

mod commit;
mod compaction;
mod election;
mod pending;
mod replication;
pub mod state;

use crate::clock::Clock;
use crate::config::NodeConfig;
use crate::error::ApiError;
use crate::log::log;
use crate::modes::txn;
use crate::modes::{EngineStatus, OpResult, Reply};
use crate::ops::{Command, RequestOptions};
use crate::peers::Peers;
use crate::wal::Wal;
use pending::{Pending, Speculative};
use serde_json::json;
use state::{Data, Entry, Log, LogVersion, ReadOnly, Record};
use std::collections::VecDeque;
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

/// What writers waiting for their entries to commit watch.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AckState {
    term: u64,
    leading: bool,
    commit: u64,
}

/// Everything behind the state lock.
struct State {
    term: u64,
    voted_for: Option<String>,
    role: Role,
    leader: Option<String>,
    log: Log,
    /// The committed data: the effects of exactly the entries up to `commit`. Client reads
    /// see nothing else.
    data: Data,
    /// The commit index: the entries up to here are committed and applied to `data`.
    commit: u64,
    /// The commit index last recorded in the WAL.
    commit_persisted: u64,
    /// Leader only: the effects of the entries after `commit`, to decide new writes against.
    pending: Pending,
    /// Leader only: the last log index when it became leader. It serves `read=leader` reads
    /// only once this is committed (entries of earlier terms may have been acknowledged).
    term_start: u64,
    /// Leader only: the highest index known to be in its own WAL, and the (WAL sequence number,
    /// index) of appends not yet known durable.
    own_durable: u64,
    unsynced: VecDeque<(u64, u64)>,
    /// How current this follower's committed data is: it holds every write committed anywhere
    /// before this time (nanoseconds since the epoch, the leader's clock), learnt from the
    /// leader's appends (see [`replication::AppendRequest::leader_ts`]). A leader is current
    /// as of now once it has committed `term_start`.
    as_of_ns: u64,
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
    /// The commit index (for `after=` waits and a new leader's first reads).
    committed: watch::Sender<u64>,
    /// (last log index, commit index): wakes the shipping loops.
    log_changes: watch::Sender<(u64, u64)>,
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
            "single-leader ({} replication): recovered term {}, log up to index {}, committed up to {} ({} keys)",
            cfg.replication.name(),
            recovered.term,
            last.index,
            recovered.commit,
            recovered.data.map.len()
        ));
        let state = State {
            term: recovered.term,
            voted_for: recovered.voted_for,
            role: Role::Follower,
            leader: None,
            log: recovered.log,
            data: recovered.data,
            commit: recovered.commit,
            commit_persisted: recovered.commit,
            pending: Pending::default(),
            term_start: 0,
            as_of_ns: 0,
            own_durable: 0,
            unsynced: VecDeque::new(),
            last_heard: Instant::now(),
            election_after: election::random_timeout(cfg.election_timeout),
            progress: vec![Progress::default(); peers.list.len()],
        };
        let fresh = state.term == 0 && last.index == 0;
        let node = Arc::new(SingleLeader {
            committed: watch::Sender::new(state.commit),
            log_changes: watch::Sender::new((last.index, state.commit)),
            acks: watch::Sender::new(AckState {
                term: state.term,
                leading: false,
                commit: state.commit,
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
            applied: st.commit,
            detail: json!({
                "replication": self.cfg.replication.name(),
                "commit": st.commit,
                "last_log_index": last.index,
                "pending_keys": st.pending.len(),
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
            self.wait_position(after).await?;
        }
        if let Some(ts) = opts.after_ts {
            self.wait_current(ts).await?;
        }
        if cmd.is_write() {
            self.write(cmd).await
        } else {
            self.read(cmd, read_mode == "leader").await
        }
    }

    /// Serves a read from the committed data. With `leader_only`, only a leader answers, and a
    /// new leader first waits (up to `--ryw-wait-ms`) until it has committed every entry it had
    /// when elected: some may have been committed and acknowledged by an earlier leader.
    async fn read(&self, cmd: Command, leader_only: bool) -> Result<Reply, ApiError> {
        let Command::Txn { ops, .. } = cmd else {
            unreachable!("a read is a read-only transaction")
        };
        let deadline = tokio::time::Instant::now() + self.cfg.ryw_wait;
        let mut committed = self.committed.subscribe();
        loop {
            let needed = {
                let st = self.lock();
                if leader_only && st.role != Role::Leader {
                    return Err(ApiError::not_leader(&self.cfg.id, st.leader.clone()));
                }
                if !leader_only || st.commit >= st.term_start {
                    let results = txn::run(&mut ReadOnly(&st.data), &ops);
                    return Ok(Reply {
                        pos: st.commit,
                        results,
                    });
                }
                st.term_start
            };
            let waited = tokio::time::timeout_at(deadline, committed.wait_for(|&c| c >= needed)).await;
            if waited.is_err() {
                return Err(ApiError::behind_leader(*self.committed.borrow(), needed));
            }
        }
    }

    async fn write(&self, cmd: Command) -> Result<Reply, ApiError> {
        let decided = {
            let mut st = self.lock();
            if st.role != Role::Leader {
                return Err(ApiError::not_leader(&self.cfg.id, st.leader.clone()));
            }
            self.append_write(&mut st, cmd)
        };
        match decided {
            Decided::Appended { term, index, results } => {
                self.wait_committed(term, index).await?;
                Ok(Reply { pos: index, results })
            }
            Decided::Refused { error, term, at } => {
                // Decided against entries not yet committed: answer once they are, so the
                // refusal never reflects a state that a failover could still undo.
                match self.wait_committed(term, at).await {
                    Ok(()) => Err(error),
                    Err(_) => Err(ApiError::unavailable(format!(
                        "refused ({}) against log position {at}, which was not committed in time; the request did not take effect",
                        error.code
                    ))),
                }
            }
            Decided::RefusedCommitted(error) => Err(error),
        }
    }

    /// On the leader: decides a write against the speculative view and appends its entry.
    fn append_write(&self, st: &mut State, cmd: Command) -> Decided {
        let version = LogVersion {
            term: st.term,
            index: st.log.last().index + 1,
        };
        let st = &mut *st;
        let mut view = Speculative {
            data: &st.data,
            pending: &mut st.pending,
            version,
            effects: Vec::new(),
        };
        let checked = match &cmd {
            Command::Txn { ops, .. } => txn::check_types(&view, ops),
            Command::Cas { key, from, .. } => txn::check_cas(&view, key, from),
        };
        if let Err(error) = checked {
            let at = version.index - 1;
            return if at <= st.commit {
                Decided::RefusedCommitted(error)
            } else {
                Decided::Refused {
                    error,
                    term: version.term,
                    at,
                }
            };
        }
        let results = match cmd {
            Command::Txn { ops, .. } => txn::run(&mut view, &ops),
            Command::Cas { key, to, .. } => {
                let version = txn::LocalStore::write(&mut view, &key, to.clone());
                vec![OpResult { value: to, version }]
            }
        };
        let entry = Arc::new(Entry {
            term: version.term,
            index: version.index,
            ts: self.clock.now_ns(),
            effects: view.effects,
        });
        let wal_seq = self.wal.append(Record::Entry(entry.clone()).encode());
        st.log.entries.push(entry);
        st.unsynced.push_back((wal_seq, version.index));
        self.notify_shipping(st);
        self.compact(st);
        Decided::Appended {
            term: version.term,
            index: version.index,
            results,
        }
    }

    /// Keeps the in-memory log short: forgets committed entries beyond the retained count (a
    /// follower that needs them gets a snapshot).
    fn compact(&self, st: &mut State) {
        if st.log.entries.len() > 2 * RETAINED_ENTRIES {
            let upto = st.log.last().index - RETAINED_ENTRIES as u64;
            st.log.compact(upto.min(st.commit));
        }
    }
}

/// What the leader decided for a write.
enum Decided {
    /// Appended at `index` of `term`; the results go to the client once it is committed.
    Appended {
        term: u64,
        index: u64,
        results: Vec<OpResult>,
    },
    /// Refused against the view after log position `at`, which is not yet committed.
    Refused { error: ApiError, term: u64, at: u64 },
    /// Refused against committed data.
    RefusedCommitted(ApiError),
}
