//! The three replication designs, each a small engine over the node's local state and WAL:
//! [`single_leader`] (log shipping from one leader, sync / semi-sync / async, failover by
//! election), [`multi_leader`] (every node accepts writes, asynchronous all-to-all shipping,
//! last-write-wins), and [`leaderless`] (Dynamo-style N/R/W quorums with read repair).
//!
//! Shared pieces: [`txn`] runs micro-op transactions against a locked local state, and [`lww`]
//! is the last-write-wins cell used by the two leaderless-of-sorts designs.

pub mod leaderless;
pub mod lww;
pub mod multi_leader;
pub mod single_leader;
pub mod txn;

use serde_json::Value;

/// The result of one micro-op (or of a cas): the value read (for writes, the value written)
/// and the version read or written.
#[derive(Debug, Clone, PartialEq)]
pub struct OpResult {
    pub value: Value,
    pub version: Value,
}

/// A successful reply: the log position the node read or wrote, and per micro-op results.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub pos: u64,
    pub results: Vec<OpResult>,
}

/// What the status endpoint reports about the engine.
#[derive(Debug, Clone)]
pub struct EngineStatus {
    /// `leader`, `follower` or `candidate` (single-leader); `peer` otherwise.
    pub role: &'static str,
    pub term: u64,
    pub leader: Option<String>,
    /// The last log position applied on this node.
    pub applied: u64,
    /// Mode-specific details.
    pub detail: Value,
}
