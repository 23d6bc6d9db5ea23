//! Single-leader failover: terms, elections and stepping down.
//!
//! A follower that hears nothing from a leader for its (randomised) election timeout first asks
//! every peer whether it *would* vote for it in the next term (a pre-vote, Raft's §9.6: nothing
//! changes on either side); only with a majority of would-be votes does it become a candidate
//! for the next term and ask every peer for its vote. So a follower that was cut off or paused
//! does not come back with a higher term that deposes a live leader (without the pre-vote it
//! did, and under asynchronous replication each such needless failover could lose writes). A peer grants it only if it has
//! not heard from a live leader recently, has not voted for someone else in that term, and the
//! candidate's log is at least as up-to-date as its own (last term, then last index). The
//! candidate becomes leader with votes from a majority of the cluster *and* no answering peer
//! more up-to-date than itself: so the new leader is the most up-to-date reachable node. A
//! candidate outdone that way stands aside for a while, and the more up-to-date peer that refused
//! it stands within a few heartbeats, so split votes do not repeat under link delay. A leader
//! steps down when it sees a higher term, or when it has not heard from a majority for an
//! election timeout. Term 1 belongs to the configured initial leader of a fresh cluster.
//!
//! This is deliberately not consensus: writes are acknowledged per the replication setting, not
//! by a majority, so a failover can lose acknowledged async (or semi-sync) writes, and an old
//! leader keeps serving until it notices.

use super::pending::Pending;
use super::{Role, SingleLeader, State, commit, replication};
use crate::log::log;
use crate::modes::single_leader::state::Record;
use axum::extract::State as AxState;
use axum::{Json, Router, routing::post};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A vote request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VoteRequest {
    pub term: u64,
    pub candidate: String,
    pub last_term: u64,
    pub last_index: u64,
}

/// A vote answer, with the voter's own log position.
#[derive(Debug, Serialize, Deserialize)]
pub struct VoteResponse {
    pub term: u64,
    pub granted: bool,
    pub last_term: u64,
    pub last_index: u64,
}

/// An election timeout between `base` and twice `base`.
pub fn random_timeout(base: Duration) -> Duration {
    let ms = base.as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(ms..=ms * 2))
}

pub fn routes(node: Arc<SingleLeader>) -> Router {
    Router::new()
        .route("/internal/sl/vote", post(handle_vote))
        .route("/internal/sl/prevote", post(handle_pre_vote))
        .with_state(node)
}

/// Checks leader liveness and election timeouts every heartbeat, for the life of the node.
pub async fn ticker(node: Arc<SingleLeader>) {
    let mut tick = tokio::time::interval(node.cfg.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let start = {
            let mut st = node.lock();
            node.persist_commit(&mut st);
            match st.role {
                Role::Leader => {
                    node.check_quorum(&mut st);
                    false
                }
                Role::Follower | Role::Candidate => st.last_heard.elapsed() >= st.election_after,
            }
        };
        if start {
            tokio::spawn(run_election(node.clone()));
        }
    }
}

async fn run_election(node: Arc<SingleLeader>) {
    if !pre_vote(&node).await {
        return;
    }
    let (request, wal_seq) = {
        let mut st = node.lock();
        if st.role == Role::Leader || st.last_heard.elapsed() < st.election_after {
            return;
        }
        // Term 1 is reserved for the initial leader of a fresh cluster.
        st.term = (st.term + 1).max(2);
        st.role = Role::Candidate;
        st.leader = None;
        st.voted_for = Some(node.cfg.id.clone());
        st.last_heard = Instant::now();
        st.election_after = random_timeout(node.cfg.election_timeout);
        node.update_acks(&st);
        let last = st.log.last();
        let seq = node.wal.append(
            Record::Term {
                term: st.term,
                voted_for: st.voted_for.clone(),
            }
            .encode(),
        );
        let request = VoteRequest {
            term: st.term,
            candidate: node.cfg.id.clone(),
            last_term: last.term,
            last_index: last.index,
        };
        (request, seq)
    };
    log(format_args!(
        "no leader heard: standing for election in term {} (log at term {} index {})",
        request.term, request.last_term, request.last_index
    ));
    node.wal.wait_durable(wal_seq).await;
    let mut asks = ask_every_peer(&node, "/internal/sl/vote", &request);
    let mut votes = 1; // its own
    let mut highest_term = request.term;
    let mut outdone_by = None;
    while let Some(joined) = asks.join_next().await {
        let Ok((i, Ok(answer))) = joined else { continue };
        highest_term = highest_term.max(answer.term);
        if answer.granted {
            votes += 1;
        }
        if (answer.last_term, answer.last_index) > (request.last_term, request.last_index) {
            outdone_by = Some(node.peers.list[i].id.clone());
        }
    }
    let mut st = node.lock();
    if st.term != request.term || st.role != Role::Candidate {
        return;
    }
    if highest_term > st.term {
        node.observe_term(&mut st, highest_term, None);
        return;
    }
    let majority = node.cfg.cluster_size() / 2 + 1;
    match outdone_by {
        Some(peer) => {
            // Stand aside for a while: standing again as soon as the more up-to-date peer does
            // would split the vote again (under link delay, again and again).
            st.last_heard = Instant::now();
            st.election_after = node.cfg.election_timeout + random_timeout(node.cfg.election_timeout);
            log(format_args!(
                "election for term {} abandoned: {peer} has a more up-to-date log",
                request.term
            ))
        }
        None if votes >= majority => node.become_leader(&mut st),
        None => log(format_args!(
            "election for term {} lost: {votes} of {} votes, {majority} needed",
            request.term,
            node.cfg.cluster_size()
        )),
    }
}

/// Sends `request` to every peer at `path` (a vote or a pre-vote), each answer with its peer's
/// index, waiting at most half an election timeout for each.
fn ask_every_peer(
    node: &Arc<SingleLeader>,
    path: &'static str,
    request: &VoteRequest,
) -> tokio::task::JoinSet<(usize, Result<VoteResponse, crate::peers::PeerError>)> {
    let timeout = node.cfg.election_timeout / 2;
    let mut asks = tokio::task::JoinSet::new();
    for i in 0..node.peers.list.len() {
        let node = node.clone();
        let request = request.clone();
        asks.spawn(async move {
            let answer = node.peers.post_with_timeout(i, path, &request, timeout).await;
            (i, answer)
        });
    }
    asks
}

/// Asks every peer whether it would vote for this node in the next term; true with a majority
/// of would-be votes (its own included). A refused pre-vote waits a new election timeout.
async fn pre_vote(node: &Arc<SingleLeader>) -> bool {
    let request = {
        let st = node.lock();
        if st.role == Role::Leader || st.last_heard.elapsed() < st.election_after {
            return false;
        }
        let last = st.log.last();
        VoteRequest {
            term: (st.term + 1).max(2),
            candidate: node.cfg.id.clone(),
            last_term: last.term,
            last_index: last.index,
        }
    };
    let mut asks = ask_every_peer(node, "/internal/sl/prevote", &request);
    let mut votes = 1; // its own
    while let Some(joined) = asks.join_next().await {
        if let Ok((_, Ok(answer))) = joined
            && answer.granted
        {
            votes += 1;
        }
    }
    let majority = node.cfg.cluster_size() / 2 + 1;
    if votes >= majority {
        return true;
    }
    let mut st = node.lock();
    if st.role != Role::Leader && st.last_heard.elapsed() >= st.election_after {
        // It has heard no leader for an election timeout: it no longer counts one as alive
        // (else it would refuse the (pre-)votes of a peer that can win, and two such nodes
        // could refuse each other, each just after its own lost pre-vote, for seconds).
        st.leader = None;
        st.last_heard = Instant::now();
        st.election_after = random_timeout(node.cfg.election_timeout);
        log(format_args!(
            "pre-vote for term {} lost: {votes} of {} would vote, {majority} needed",
            request.term,
            node.cfg.cluster_size()
        ));
    }
    false
}

/// Answers a pre-vote: would this node grant `req` as a vote? Changes nothing but, like a vote,
/// may bring a more up-to-date follower's own election forward.
async fn handle_pre_vote(
    AxState(node): AxState<Arc<SingleLeader>>,
    Json(req): Json<VoteRequest>,
) -> Json<VoteResponse> {
    let mut st = node.lock();
    let granted = node.would_vote(&mut st, &req);
    let last = st.log.last();
    Json(VoteResponse {
        term: st.term,
        granted,
        last_term: last.term,
        last_index: last.index,
    })
}

async fn handle_vote(
    AxState(node): AxState<Arc<SingleLeader>>,
    Json(req): Json<VoteRequest>,
) -> Json<VoteResponse> {
    let (response, wal_seq) = {
        let mut st = node.lock();
        let granted = node.consider_vote(&mut st, &req);
        let last = st.log.last();
        let seq = granted.then(|| {
            node.wal.append(
                Record::Term {
                    term: st.term,
                    voted_for: st.voted_for.clone(),
                }
                .encode(),
            )
        });
        let response = VoteResponse {
            term: st.term,
            granted,
            last_term: last.term,
            last_index: last.index,
        };
        (response, seq)
    };
    if let Some(seq) = wal_seq {
        node.wal.wait_durable(seq).await;
    }
    Json(response)
}

impl SingleLeader {
    /// Would this node vote for `req` (a pre-vote)? The rules of [`Self::consider_vote`]
    /// without moving to its term or recording a vote: a term below ours or a live leader
    /// refuses, so does a log behind ours; a vote already given in a term below the asked one
    /// does not bind.
    fn would_vote(&self, st: &mut State, req: &VoteRequest) -> bool {
        if req.term < st.term || self.leader_alive(st) {
            return false;
        }
        let last = st.log.last();
        let up_to_date = (req.last_term, req.last_index) >= (last.term, last.index);
        if !up_to_date {
            self.stand_soon(st);
            return false;
        }
        req.term > st.term || st.voted_for.as_deref().is_none_or(|v| v == req.candidate)
    }

    /// True while this node leads or has heard from a leader within an election timeout.
    fn leader_alive(&self, st: &State) -> bool {
        st.role == Role::Leader
            || (st.leader.is_some() && st.last_heard.elapsed() < self.cfg.election_timeout)
    }

    /// A candidate behind this follower's log cannot win, and no leader is heard: stand soon
    /// (within a few heartbeats) rather than after a full election timeout.
    fn stand_soon(&self, st: &mut State) {
        if st.role == Role::Follower {
            let soon = self.cfg.heartbeat * rand::rng().random_range(1..=4);
            st.election_after = st.election_after.min(st.last_heard.elapsed() + soon);
        }
    }

    /// Decides a vote request (and moves to its term when it is higher and not refused for
    /// leader stickiness).
    fn consider_vote(&self, st: &mut State, req: &VoteRequest) -> bool {
        if req.term < st.term {
            return false;
        }
        if self.leader_alive(st) {
            return false;
        }
        if req.term > st.term {
            self.observe_term(st, req.term, None);
        }
        let last = st.log.last();
        let up_to_date = (req.last_term, req.last_index) >= (last.term, last.index);
        let free = st.voted_for.as_deref().is_none_or(|v| v == req.candidate);
        if up_to_date && free {
            st.voted_for = Some(req.candidate.clone());
            st.last_heard = Instant::now();
            true
        } else {
            if !up_to_date {
                self.stand_soon(st);
            }
            false
        }
    }

    /// Moves to a higher term as a follower (persisting it), knowing `leader` if given.
    pub(super) fn observe_term(&self, st: &mut State, term: u64, leader: Option<String>) {
        if term > st.term {
            if st.role == Role::Leader {
                log(format_args!(
                    "stepping down: saw term {term} (was leading term {})",
                    st.term
                ));
            }
            st.term = term;
            st.voted_for = None;
            st.role = Role::Follower;
            st.leader = leader;
            st.pending.clear();
            self.wal.append(
                Record::Term {
                    term,
                    voted_for: None,
                }
                .encode(),
            );
            self.update_acks(st);
        }
    }

    /// Accepts `leader` as the leader of the current term.
    pub(super) fn follow(&self, st: &mut State, leader: &str) {
        if st.role != Role::Follower || st.leader.as_deref() != Some(leader) {
            log(format_args!("following {leader} in term {}", st.term));
        }
        st.role = Role::Follower;
        st.leader = Some(leader.to_string());
        st.last_heard = Instant::now();
        st.pending.clear();
        self.update_acks(st);
    }

    /// Takes the lead of the current term. The entries after the commit index stay: the new
    /// leader commits them once the replication setting holds for them in its term, and serves
    /// `read=leader` reads only after that (see `term_start`).
    pub(super) fn become_leader(self: &Arc<Self>, st: &mut State) {
        st.role = Role::Leader;
        st.leader = Some(self.cfg.id.clone());
        let last = st.log.last().index;
        let next = last + 1;
        for p in &mut st.progress {
            *p = super::Progress {
                next,
                matched: 0,
                last_contact: Some(Instant::now()),
            };
        }
        st.term_start = last;
        st.pending = Pending::rebuild(st.log.slice(st.commit + 1, usize::MAX).iter().map(|e| &**e));
        // Its own log may not all be in its WAL yet: the durability tracker moves this on.
        st.own_durable = st.commit;
        st.unsynced.clear();
        st.unsynced.push_back((self.wal.last_seq(), last));
        log(format_args!(
            "became leader of term {} (log up to index {}, committed up to {})",
            st.term, last, st.commit
        ));
        self.update_acks(st);
        tokio::spawn(commit::track_durability(self.clone(), st.term));
        for i in 0..self.peers.list.len() {
            tokio::spawn(replication::ship_to(self.clone(), i, st.term));
        }
    }

    /// A leader that has not heard from a majority for an election timeout steps down.
    fn check_quorum(&self, st: &mut State) {
        let window = self.cfg.election_timeout;
        let heard = st
            .progress
            .iter()
            .filter(|p| p.last_contact.is_some_and(|t| t.elapsed() < window))
            .count();
        let majority = self.cfg.cluster_size() / 2 + 1;
        if heard + 1 < majority {
            log(format_args!(
                "stepping down from term {}: heard from {heard} of {} peers in {} ms",
                st.term,
                self.peers.list.len(),
                window.as_millis()
            ));
            st.role = Role::Follower;
            st.leader = None;
            st.last_heard = Instant::now();
            st.pending.clear();
            self.update_acks(st);
        }
    }
}
