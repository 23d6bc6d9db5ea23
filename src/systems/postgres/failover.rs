//! A naive failover manager, as many PostgreSQL deployments run one: the harness watches the
//! primary, and when it is down, or no standby has streamed from it for a while, promotes the
//! first standby that answers and points the other standbys at it. It fences nothing: a primary
//! that was only cut off keeps taking writes until the fault heals, when the manager rebuilds it
//! as a standby of the new primary (a fresh base backup), and whatever it alone had is gone.
//! With asynchronous streaming that loses acknowledged writes; with `FIRST 2` synchronous
//! replication no commit is acknowledged that both standbys do not have.

use super::{PgClient, PgCluster};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// How long the primary must look dead before the manager promotes a standby.
const GRACE: Duration = Duration::from_secs(1);
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
    /// Actions to record, as `(f, detail)`.
    pub actions: Vec<(String, Value)>,
}

impl Failover {
    pub fn new() -> Failover {
        Failover {
            primary: 0,
            deposed: BTreeSet::new(),
            unhealthy_since: None,
            last_look: None,
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
        for &candidate in &standbys {
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
            let mut detail = json!({
                "kind": "failover",
                "from": names[old],
                "to": names[candidate],
                "why": why,
                "repointed": repointed,
            });
            if !errors.is_empty() {
                detail["errors"] = json!(errors);
            }
            self.actions.push(("failover".into(), detail));
            return;
        }
    }

    /// Why the primary looks dead, or `None` while it looks alive: its process is gone, or every
    /// standby that answers says it streams from nobody.
    async fn why_dead(&self, cluster: &PgCluster, names: &[String]) -> Option<String> {
        let primary = self.primary;
        if !cluster.is_running(primary) {
            return Some(format!("{} is down", names[primary]));
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
