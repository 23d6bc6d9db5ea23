//! A naive failover manager, as many PostgreSQL deployments run one: the harness watches the
//! primary, and when it is down, or no standby has streamed from it for a while, promotes a
//! standby (the first that answers, or with `failover_promotes = "most-advanced"` the one that
//! received the most WAL) and points the other standbys at it. It fences nothing: a primary
//! that was only cut off keeps taking writes until the fault heals, when the manager rebuilds it
//! as a standby of the new primary (a fresh base backup), and whatever it alone had is gone.
//! With asynchronous streaming that loses acknowledged writes; with `FIRST 2` synchronous
//! replication no commit is acknowledged that both standbys do not have. With `ANY 1`
//! ("semi-synchronous") every acknowledged commit is on some standby but not on every one: only
//! promoting the most advanced standby keeps them all (the WAL is one sequence, so the standby
//! with the highest received position has every commit any standby acknowledged) — provided
//! the manager has heard the position of every standby that may hold such a commit. Under
//! `ANY k` of `s` standbys a commit is on at least `k` of them, so positions from `s - k + 1`
//! standbys always include one that has it: with fewer answers (a standby restarting, cut off,
//! or still starting up after a rebuild) the most-advanced manager waits instead of promoting
//! a standby that may lack acknowledged commits (before it did, and lost them).

use super::{PgClient, PgCluster};
use crate::workload::Promotes;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long the primary must look dead before the manager promotes a standby.
const GRACE: Duration = Duration::from_secs(1);
/// How long after a promotion the manager gives the other standbys to stream from the new
/// primary (they switch timelines) before it counts their silence against it.
const SETTLE: Duration = Duration::from_secs(5);
/// How often the manager looks.
const EVERY: Duration = Duration::from_millis(300);
/// How long a health query may take.
const QUERY_TIMEOUT: Duration = Duration::from_millis(500);

/// The manager's state.
#[derive(Debug)]
pub(super) struct Failover {
    /// The node the manager treats as the primary.
    pub primary: usize,
    /// Former primaries still holding data of their own (rebuilt when they are back).
    pub deposed: BTreeSet<usize>,
    unhealthy_since: Option<Instant>,
    last_look: Option<Instant>,
    /// When it last promoted a standby.
    promoted_at: Option<Instant>,
    /// Actions to record, as `(f, detail)`.
    pub actions: Vec<(String, Value)>,
    /// Which standby it promotes.
    promotes: Promotes,
    /// How many standbys must have a commit before it is acknowledged (`k` of `FIRST k` or
    /// `ANY k`; 0 for asynchronous streaming).
    sync_count: usize,
    /// Since when a most-advanced promotion has waited for standbys' positions.
    waiting_since: Option<Instant>,
}

impl Failover {
    /// A manager for a primary configured with `synchronous_standby_names = standby_names`.
    pub fn new(promotes: Promotes, standby_names: &str) -> Failover {
        Failover {
            promotes,
            sync_count: sync_count(standby_names),
            waiting_since: None,
            primary: 0,
            deposed: BTreeSet::new(),
            unhealthy_since: None,
            last_look: None,
            promoted_at: None,
            actions: Vec::new(),
        }
    }

    /// Looks at the primary (at most every [`EVERY`]) and fails over when it has looked dead
    /// for [`GRACE`].
    pub async fn watch(&mut self, cluster: &PgCluster, names: &[String]) {
        if self.last_look.is_some_and(|at| at.elapsed() < EVERY) {
            return;
        }
        self.last_look = Some(Instant::now());
        let why = self.why_dead(cluster, names).await;
        let Some(why) = why else {
            self.unhealthy_since = None;
            return;
        };
        let since = *self.unhealthy_since.get_or_insert_with(Instant::now);
        if since.elapsed() < GRACE {
            return;
        }
        let old = self.primary;
        let standbys: Vec<usize> = (0..names.len())
            .filter(|&n| n != old && !self.deposed.contains(&n) && cluster.is_running(n))
            .collect();
        let (candidates, positions) = self.candidates(cluster, &standbys, names).await;
        // Every standby that may hold an acknowledged commit: all but the old primary and the
        // deposed ones (a standby down now may have acknowledged before it went down).
        let holders = (0..names.len())
            .filter(|&n| n != old && !self.deposed.contains(&n))
            .count();
        let needed = self.positions_needed(holders);
        if positions.len() < needed {
            self.waiting_since.get_or_insert_with(Instant::now);
            return;
        }
        for candidate in candidates {
            let Ok(client) = PgClient::connect(&cluster.address(candidate), QUERY_TIMEOUT).await else {
                continue;
            };
            if client.promote().await.is_err() {
                continue;
            }
            let mut repointed = Vec::new();
            let mut errors = Vec::new();
            for &other in standbys.iter().filter(|&&s| s != candidate) {
                let result = match PgClient::connect(&cluster.address(other), QUERY_TIMEOUT).await {
                    Ok(c) => c.follow(&cluster.conninfo(other, candidate)).await,
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => repointed.push(names[other].clone()),
                    Err(e) => errors.push(format!("{}: {e:#}", names[other])),
                }
            }
            self.primary = candidate;
            self.deposed.insert(old);
            self.unhealthy_since = None;
            self.promoted_at = Some(Instant::now());
            let mut detail = json!({
                "kind": "failover",
                "from": names[old],
                "to": names[candidate],
                "why": why,
                "repointed": repointed,
            });
            if !positions.is_empty() {
                detail["received"] = json!(positions);
            }
            if let Some(since) = self.waiting_since.take() {
                detail["waited_for_positions_ms"] = json!(since.elapsed().as_millis() as u64);
            }
            if !errors.is_empty() {
                detail["errors"] = json!(errors);
            }
            self.actions.push(("failover".into(), detail));
            return;
        }
    }

    /// How many standbys' WAL positions a most-advanced promotion needs, of `holders` that may
    /// hold acknowledged commits: `holders - k + 1` when every commit is on `k` of them (so one
    /// answer at least has it), 1 for first-answering or asynchronous streaming (nothing to keep).
    fn positions_needed(&self, holders: usize) -> usize {
        if self.promotes == Promotes::FirstAnswering || self.sync_count == 0 {
            return 0;
        }
        (holders + 1).saturating_sub(self.sync_count).max(1)
    }

    /// The standbys in the order the manager tries to promote them, and (for most-advanced) the
    /// WAL position each had received, for the record.
    async fn candidates(
        &self,
        cluster: &PgCluster,
        standbys: &[usize],
        names: &[String],
    ) -> (Vec<usize>, serde_json::Map<String, Value>) {
        let mut positions = serde_json::Map::new();
        if self.promotes == Promotes::FirstAnswering {
            return (standbys.to_vec(), positions);
        }
        let mut ranked = Vec::new();
        for &standby in standbys {
            let Ok(client) = PgClient::connect(&cluster.address(standby), QUERY_TIMEOUT).await else {
                continue;
            };
            if let Ok(lsn) = client.received_wal().await {
                positions.insert(names[standby].clone(), Value::from(format_lsn(lsn)));
                ranked.push((lsn, standby));
            }
        }
        // Highest position first; a standby that cannot say how far it is is not promoted.
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        (ranked.into_iter().map(|(_, s)| s).collect(), positions)
    }

    /// Why the primary looks dead, or `None` while it looks alive: its process is gone, or every
    /// standby that answers says it streams from nobody (not counted for [`SETTLE`] after a
    /// promotion).
    async fn why_dead(&self, cluster: &PgCluster, names: &[String]) -> Option<String> {
        let primary = self.primary;
        if !cluster.is_running(primary) {
            return Some(format!("{} is down", names[primary]));
        }
        if self.promoted_at.is_some_and(|at| at.elapsed() < SETTLE) {
            return None;
        }
        let mut answered = 0;
        for standby in (0..names.len()).filter(|&n| n != primary && !self.deposed.contains(&n)) {
            if !cluster.is_running(standby) {
                continue;
            }
            let Ok(client) = PgClient::connect(&cluster.address(standby), QUERY_TIMEOUT).await else {
                continue;
            };
            match client.is_streaming().await {
                Ok(true) => return None,
                Ok(false) => answered += 1,
                Err(_) => {}
            }
        }
        (answered > 0).then(|| format!("no standby streams from {}", names[primary]))
    }

    /// Rebuilds `node` as a standby of the primary if it is a deposed primary and runs (or is
    /// about to be started: `starting`); records it.
    pub fn rejoin_if_deposed(
        &mut self,
        cluster: &mut PgCluster,
        node: usize,
        names: &[String],
        starting: bool,
    ) {
        if !self.deposed.contains(&node) || !(starting || cluster.is_running(node)) {
            return;
        }
        let mut detail = json!({ "kind": "rejoin", "node": names[node], "primary": names[self.primary] });
        match tokio::task::block_in_place(|| cluster.rejoin(node, self.primary)) {
            Ok(()) => {
                self.deposed.remove(&node);
            }
            Err(e) => detail["error"] = Value::from(format!("{e:#}")),
        }
        self.actions.push(("rejoin".into(), detail));
    }
}

/// The number of synchronous standbys `synchronous_standby_names` asks for: `k` of `FIRST k
/// (...)` or `ANY k (...)`, 1 for a plain list (PostgreSQL reads it as `FIRST 1`), 0 when empty.
fn sync_count(standby_names: &str) -> usize {
    let names = standby_names.trim();
    if names.is_empty() {
        return 0;
    }
    let mut words = names.split_whitespace();
    let first = words.next().unwrap_or_default();
    if first.eq_ignore_ascii_case("first") || first.eq_ignore_ascii_case("any") {
        let count = words.next().unwrap_or_default();
        let digits: String = count.chars().take_while(char::is_ascii_digit).collect();
        return digits.parse().unwrap_or(1);
    }
    names
        .split_whitespace()
        .next()
        .and_then(|w| {
            w.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .ok()
        })
        .filter(|_| names.contains('('))
        .unwrap_or(1)
}

/// A WAL position as PostgreSQL writes it (`0/3000148`).
fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_count_reads_every_form_postgres_accepts() {
        assert_eq!(sync_count(""), 0);
        assert_eq!(sync_count("ANY 1 (*)"), 1);
        assert_eq!(sync_count("any 2 (n2, n3)"), 2);
        assert_eq!(sync_count("FIRST 2 (n2, n3)"), 2);
        assert_eq!(sync_count("2 (n2, n3)"), 2);
        assert_eq!(sync_count("n2, n3"), 1);
        assert_eq!(sync_count("*"), 1);
    }

    #[test]
    fn most_advanced_needs_enough_positions_to_include_every_acknowledged_commit() {
        let any1 = Failover::new(Promotes::MostAdvanced, "ANY 1 (*)");
        assert_eq!(any1.positions_needed(2), 2, "ANY 1 of 2: both");
        let first2 = Failover::new(Promotes::MostAdvanced, "FIRST 2 (*)");
        assert_eq!(first2.positions_needed(2), 1, "FIRST 2 of 2: any one has it all");
        let any1_of_4 = Failover::new(Promotes::MostAdvanced, "ANY 1 (*)");
        assert_eq!(any1_of_4.positions_needed(4), 4);
        let any2_of_4 = Failover::new(Promotes::MostAdvanced, "ANY 2 (*)");
        assert_eq!(any2_of_4.positions_needed(4), 3);
        assert_eq!(Failover::new(Promotes::MostAdvanced, "").positions_needed(2), 0);
        assert_eq!(
            Failover::new(Promotes::FirstAnswering, "ANY 1 (*)").positions_needed(2),
            0
        );
    }
}
