//! The commit index: when an entry counts as committed, applying committed entries to the data,
//! and what waits for commitment (writers, refusals, `after=` reads, a new leader's reads).
//!
//! The leader commits an entry once the replication setting holds for it: `async`, it is in the
//! leader's own WAL; `semi-sync`, also in at least one follower's WAL; `sync`, also in every
//! follower's WAL (a follower's WAL counts once it acknowledged the entry in the leader's
//! current term). Commit is in log order: committing index `i` commits every entry before it.
//! The leader sends its commit index with every append (heartbeats too); a follower applies up
//! to it, but never past the last entry it has verified to match the leader's log.
//!
//! Committed entries are applied to the node's data, which every client read uses; nothing
//! after the commit index is ever read by a client.

use super::state::Record;
use super::{AckState, Role, SingleLeader, State};
use crate::config::Replication;
use crate::error::ApiError;
use std::sync::Arc;

impl SingleLeader {
    /// On the leader: commits what the replication setting allows (never moves backwards).
    pub(super) fn advance_commit(&self, st: &mut State) {
        if st.role != Role::Leader {
            return;
        }
        let matched = st.progress.iter().map(|p| p.matched);
        let replicated = match self.cfg.replication {
            Replication::Async => u64::MAX,
            Replication::SemiSync => matched.max().unwrap_or(u64::MAX),
            Replication::Sync => matched.min().unwrap_or(u64::MAX),
        };
        let candidate = st.own_durable.min(replicated).min(st.log.last().index);
        if candidate > st.commit {
            self.apply_committed(st, candidate);
        }
    }

    /// Applies the entries after the commit index up to `to` (which the log must hold) to the
    /// data, and tells writers, readers and the shipping loops.
    pub(super) fn apply_committed(&self, st: &mut State, to: u64) {
        let to = to.min(st.log.last().index);
        if to <= st.commit {
            return;
        }
        let st = &mut *st;
        for index in st.commit + 1..=to {
            let Some(entry) = st.log.entry(index) else {
                // Unreachable: the base is never after the commit index.
                break;
            };
            st.data.apply(entry);
            st.pending.forget_committed(entry, to);
        }
        st.commit = to;
        self.committed.send_replace(to);
        self.notify_shipping(st);
        self.update_acks(st);
    }

    /// Wakes the shipping loops: the log or the commit index changed.
    pub(super) fn notify_shipping(&self, st: &State) {
        self.log_changes.send_replace((st.log.last().index, st.commit));
    }

    /// Publishes the term, role and commit index to writers waiting for their entries.
    pub(super) fn update_acks(&self, st: &State) {
        self.acks.send_replace(AckState {
            term: st.term,
            leading: st.role == Role::Leader,
            commit: st.commit,
        });
    }

    /// Records the commit index in the WAL if it moved since last time (a recovery hint; called
    /// every heartbeat rather than on every commit, to keep the WAL lean).
    pub(super) fn persist_commit(&self, st: &mut State) {
        if st.commit > st.commit_persisted {
            self.wal.append(Record::Commit { index: st.commit }.encode());
            st.commit_persisted = st.commit;
        }
    }

    /// Waits until this node, still leading `term`, has committed `index`; else `stepped_down`
    /// (it stopped leading first) or `timeout` (after `--op-timeout-ms`). Both are
    /// indeterminate: the entry is in some logs and may be committed later, or lost.
    pub(super) async fn wait_committed(&self, term: u64, index: u64) -> Result<(), ApiError> {
        let mut rx = self.acks.subscribe();
        let wait = rx.wait_for(|a| a.term != term || !a.leading || a.commit >= index);
        match tokio::time::timeout(self.cfg.op_timeout, wait).await {
            Ok(Ok(a)) if a.term == term && a.leading => Ok(()),
            Ok(_) => Err(ApiError::stepped_down(format!(
                "{} stopped leading term {term} before index {index} was committed ({}); it may survive or not",
                self.cfg.id,
                self.cfg.replication.name()
            ))),
            Err(_) => Err(ApiError::timeout(format!(
                "index {index} is in the leader's log but was not committed ({}) within {} ms; it may survive or not",
                self.cfg.replication.name(),
                self.cfg.op_timeout.as_millis()
            ))),
        }
    }

    /// How current this node's committed data is (see `State::as_of_ns`): now on a leader that
    /// has committed every entry it had when elected, else what the leader last told it.
    pub(super) fn current_as_of_ns(&self) -> u64 {
        let st = self.lock();
        if st.role == Role::Leader && st.commit >= st.term_start {
            self.clock.now_ns()
        } else {
            st.as_of_ns
        }
    }

    /// Waits (up to `--ryw-wait-ms`) until this node is current as of `ts` (ns since the epoch).
    pub(super) async fn wait_current(&self, ts: u64) -> Result<(), ApiError> {
        let deadline = tokio::time::Instant::now() + self.cfg.ryw_wait;
        loop {
            let as_of = self.current_as_of_ns();
            if as_of >= ts {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ApiError::behind_time(as_of, ts));
            }
            // The leader's appends arrive every heartbeat at least: polling is cheap enough.
            tokio::time::sleep((deadline - now).min(std::time::Duration::from_millis(2))).await;
        }
    }

    /// Waits (up to `--ryw-wait-ms`) until this node has committed log position `after`.
    pub(super) async fn wait_position(&self, after: u64) -> Result<(), ApiError> {
        let mut rx = self.committed.subscribe();
        let waited = tokio::time::timeout(self.cfg.ryw_wait, rx.wait_for(|&c| c >= after)).await;
        match waited {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ApiError::behind(*self.committed.borrow(), after)),
        }
    }
}

/// On the leader of `term`: follows the WAL's durable sequence number and moves the leader's
/// own durable index (the `async` commit point) accordingly, once per WAL batch.
pub(super) async fn track_durability(node: Arc<SingleLeader>, term: u64) {
    let mut durable = node.wal.durable();
    loop {
        let seq = *durable.borrow_and_update();
        {
            let mut st = node.lock();
            if st.term != term || st.role != Role::Leader {
                return;
            }
            let mut advanced = false;
            while let Some(&(s, index)) = st.unsynced.front()
                && s <= seq
            {
                st.unsynced.pop_front();
                st.own_durable = st.own_durable.max(index);
                advanced = true;
            }
            if advanced {
                node.advance_commit(&mut st);
            }
        }
        if durable.changed().await.is_err() {
            return;
        }
    }
}
