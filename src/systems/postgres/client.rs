//! Registers and lists in SQL. A register is one row per key in table `registers`, read with
//! SELECT, written with an upsert, compare-and-set with a conditional UPDATE. A list is one row
//! per key in table `lists` (a `bigint[]`), appended to with an upsert that concatenates; a
//! list-append transaction is one `SERIALIZABLE` transaction, except a read-only one that may
//! run on a hot standby (`REPEATABLE READ READ ONLY`, the most a standby offers).
//!
//! Failure messages start with a code (see [`crate::systems::outcome_of`]): the SQL state when the
//! server refused (`25006` on a standby asked to write), `connect`, `timeout` or `connection`.

use super::super::SystemOutcome;
use super::cluster::PORT;
use anyhow::{Context, Result};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_postgres::NoTls;

/// One connection to one node.
pub struct PgClient {
    client: tokio_postgres::Client,
    timeout: Duration,
}

impl std::fmt::Debug for PgClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgClient")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl PgClient {
    /// Connects to the node at `address`; every statement gives up after `timeout`.
    pub async fn connect(address: &str, timeout: Duration) -> Result<PgClient> {
        let config = format!(
            "host={address} port={PORT} user=postgres dbname=postgres connect_timeout={}",
            timeout.as_secs().max(1)
        );
        let (client, connection) = tokio::time::timeout(timeout, tokio_postgres::connect(&config, NoTls))
            .await
            .context("connecting timed out")?
            .with_context(|| format!("connecting to {address}"))?;
        tokio::spawn(connection);
        Ok(PgClient { client, timeout })
    }

    /// Creates the register and list tables (on the primary).
    /// Its commit waits for the synchronous standbys, so it is bounded by ten statement timeouts.
    pub async fn create_table(&self) -> Result<()> {
        let statement = self.client.batch_execute(
            "CREATE TABLE IF NOT EXISTS registers (k text PRIMARY KEY, v bigint NOT NULL);
             CREATE TABLE IF NOT EXISTS lists (k text PRIMARY KEY, v bigint[] NOT NULL)",
        );
        tokio::time::timeout(self.timeout * 10, statement)
            .await
            .context("creating tables registers and lists timed out (are the synchronous standbys up?)")?
            .context("creating tables registers and lists")
    }

    /// Whether this node is a primary (not in recovery).
    pub async fn is_primary(&self) -> Result<bool> {
        let query = self.client.query_one("SELECT NOT pg_is_in_recovery()", &[]);
        let row = tokio::time::timeout(self.timeout, query)
            .await
            .context("asking pg_is_in_recovery() timed out")?
            .context("asking pg_is_in_recovery()")?;
        Ok(row.get(0))
    }

    /// Whether this standby's WAL receiver streams from a primary now.
    pub async fn is_streaming(&self) -> Result<bool> {
        let query = self.client.query_one(
            "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'",
            &[],
        );
        let row = tokio::time::timeout(self.timeout, query)
            .await
            .context("reading pg_stat_wal_receiver timed out")?
            .context("reading pg_stat_wal_receiver")?;
        Ok(row.get::<_, i64>(0) > 0)
    }

    /// How much WAL this standby has received and flushed (`pg_last_wal_receive_lsn()`, as a
    /// byte position); an error when it has received none since it started.
    pub async fn received_wal(&self) -> Result<u64> {
        let query = self
            .client
            .query_one("SELECT (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::text", &[]);
        let row = tokio::time::timeout(self.timeout, query)
            .await
            .context("reading pg_last_wal_receive_lsn() timed out")?
            .context("reading pg_last_wal_receive_lsn()")?;
        let text: Option<String> = row.get(0);
        let text = text.context("this standby has received no WAL since it started")?;
        // numeric text: digits, possibly with a fraction part of zeros
        let whole = text.split('.').next().unwrap_or_default();
        whole
            .parse()
            .with_context(|| format!("pg_last_wal_receive_lsn() gave {text:?}"))
    }

    /// Makes this standby stream from the primary `conninfo` names (it follows the new timeline).
    pub async fn follow(&self, conninfo: &str) -> Result<()> {
        // ALTER SYSTEM refuses to run in a transaction block, so each statement goes alone.
        let alter = format!(
            "ALTER SYSTEM SET primary_conninfo = '{}'",
            conninfo.replace('\'', "''")
        );
        for statement in [alter.as_str(), "SELECT pg_reload_conf()"] {
            tokio::time::timeout(self.timeout, self.client.simple_query(statement))
                .await
                .context("repointing the standby timed out")?
                .context("repointing the standby")?;
        }
        Ok(())
    }

    /// Whether the connection is closed (it must not be reused).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// How many standbys stream from this node (a primary).
    pub async fn streaming_standbys(&self) -> Result<usize> {
        let query = self.client.query_one(
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
            &[],
        );
        let row = tokio::time::timeout(self.timeout, query)
            .await
            .context("reading pg_stat_replication timed out")?
            .context("reading pg_stat_replication")?;
        let n: i64 = row.get(0);
        Ok(n as usize)
    }

    /// Promotes this node (a standby) to primary and waits until it is one.
    pub async fn promote(&self) -> Result<()> {
        let promote = self.client.execute("SELECT pg_promote(true, 30)", &[]);
        tokio::time::timeout(Duration::from_secs(35), promote)
            .await
            .context("promoting timed out")?
            .context("promoting")?;
        Ok(())
    }

    /// Reads `key`: `Ok(None)` when absent. A read changes nothing: every failure is `fail`.
    pub async fn read(&self, key: &str) -> SystemOutcome<Option<i64>> {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
        let query = self
            .client
            .query_opt("SELECT v FROM registers WHERE k = $1", &params);
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(row)) => SystemOutcome::Ok(row.map(|r| r.get(0))),
            Ok(Err(e)) => SystemOutcome::Fail(describe(&e)),
            Err(_) => SystemOutcome::Fail("timeout: timed out".into()),
        }
    }

    /// Reads `key` only if this node is a primary: a standby answers `not_leader` (a read that
    /// must see the latest write cannot be served by a standby, which may be behind).
    pub async fn read_at_primary(&self, key: &str) -> SystemOutcome<Option<i64>> {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
        let query = self.client.query_one(
            "SELECT pg_is_in_recovery(), (SELECT v FROM registers WHERE k = $1)",
            &params,
        );
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(row)) if row.get::<_, bool>(0) => {
                SystemOutcome::Fail("not_leader: a standby does not serve reads at the primary".into())
            }
            Ok(Ok(row)) => SystemOutcome::Ok(row.get(1)),
            Ok(Err(e)) => SystemOutcome::Fail(describe(&e)),
            Err(_) => SystemOutcome::Fail("timeout: timed out".into()),
        }
    }

    /// Writes `value` to `key`.
    pub async fn write(&self, key: &str, value: i64) -> SystemOutcome<()> {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&key, &value];
        let statement = self.client.execute(
            "INSERT INTO registers (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
            &params,
        );
        self.change(statement).await.map(|_| ())
    }

    /// Sets `key` to `new` if it holds `expected`: `Ok(true)` when it did.
    pub async fn cas(&self, key: &str, expected: i64, new: i64) -> SystemOutcome<bool> {
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&key, &expected, &new];
        let statement = self
            .client
            .execute("UPDATE registers SET v = $3 WHERE k = $1 AND v = $2", &params);
        self.change(statement).await.map(|rows| rows == 1)
    }

    /// Runs a list-append transaction (`["r", k, null]` and `["append", k, v]` micro-ops) and
    /// returns its completed micro-ops. Until COMMIT is sent, any failure is `fail` (the
    /// transaction is rolled back, or its connection dropped, which aborts it); a failure of the
    /// COMMIT itself is `info` unless the server certainly refused it.
    /// With `primary_only`, a standby refuses it (`not_leader`) before reading anything.
    pub async fn txn(&self, ops: &[Value], primary_only: bool) -> SystemOutcome<Value> {
        let read_only = ops.iter().all(|m| m.get(0).and_then(Value::as_str) == Some("r"));
        // A hot standby offers at most REPEATABLE READ; on a primary, SERIALIZABLE.
        let begin = match (read_only, primary_only) {
            (true, false) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            (true, true) => "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
            (false, _) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        };
        let body = async {
            if primary_only
                && self
                    .client
                    .query_one("SELECT pg_is_in_recovery()", &[])
                    .await?
                    .get::<_, bool>(0)
            {
                return Ok(None);
            }
            self.client.batch_execute(begin).await?;
            // Index lookups, so serializable transactions lock the rows they read rather than the
            // whole (small) table, which would make nearly every pair of them conflict.
            self.client
                .batch_execute("SET LOCAL enable_seqscan = off")
                .await?;
            let mut done = Vec::with_capacity(ops.len());
            for m in ops {
                let key = match m.get(1) {
                    Some(Value::String(k)) => k.clone(),
                    Some(k) => k.to_string(),
                    None => String::new(),
                };
                match m.get(0).and_then(Value::as_str) {
                    Some("append") => {
                        let v = m.get(2).and_then(Value::as_i64).unwrap_or_default();
                        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&key, &v];
                        self.client
                            .execute(
                                "INSERT INTO lists (k, v) VALUES ($1, ARRAY[$2::bigint]) \
                                 ON CONFLICT (k) DO UPDATE SET v = lists.v || EXCLUDED.v",
                                &params,
                            )
                            .await?;
                        done.push(m.clone());
                    }
                    _ => {
                        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&key];
                        let row = self
                            .client
                            .query_opt("SELECT v FROM lists WHERE k = $1", &params)
                            .await?;
                        let list = row.map(|r| r.get::<_, Vec<i64>>(0));
                        done.push(json!(["r", m.get(1).cloned().unwrap_or(Value::Null), list]));
                    }
                }
            }
            Ok::<_, tokio_postgres::Error>(Some(done))
        };
        let done = match tokio::time::timeout(self.timeout, body).await {
            Ok(Ok(Some(done))) => done,
            Ok(Ok(None)) => {
                return SystemOutcome::Fail(
                    "not_leader: a standby does not serve transactions at the primary".into(),
                );
            }
            Ok(Err(e)) => {
                let _ = tokio::time::timeout(self.timeout, self.client.batch_execute("ROLLBACK")).await;
                return SystemOutcome::Fail(describe(&e));
            }
            Err(_) => return SystemOutcome::Fail("timeout: timed out before COMMIT was sent".into()),
        };
        match tokio::time::timeout(self.timeout, self.client.batch_execute("COMMIT")).await {
            Ok(Ok(())) => SystemOutcome::Ok(Value::Array(done)),
            Ok(Err(e)) if read_only || refused_before_commit(&e) => SystemOutcome::Fail(describe(&e)),
            Ok(Err(e)) => SystemOutcome::Info(describe(&e)),
            Err(_) if read_only => SystemOutcome::Fail("timeout: a read-only COMMIT timed out".into()),
            Err(_) => SystemOutcome::Info("timeout: COMMIT timed out".into()),
        }
    }

    /// The outcome of a statement that changes data: an error the server reports before
    /// committing (a SQL state other than a lost connection) is `fail`; a timeout or a lost
    /// connection leaves the commit unknown: `info`.
    async fn change(
        &self,
        statement: impl std::future::Future<Output = Result<u64, tokio_postgres::Error>>,
    ) -> SystemOutcome<u64> {
        match tokio::time::timeout(self.timeout, statement).await {
            Ok(Ok(rows)) => SystemOutcome::Ok(rows),
            Ok(Err(e)) if refused_before_commit(&e) => SystemOutcome::Fail(describe(&e)),
            Ok(Err(e)) => SystemOutcome::Info(describe(&e)),
            Err(_) => SystemOutcome::Info("timeout: timed out".into()),
        }
    }
}

/// The error's SQL state and message, or `connection` when the connection broke.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => format!("connection: {e}"),
    }
}

/// Whether the server certainly refused the statement before committing anything (e.g. 25006,
/// read-only on a standby; 40001, a serialization failure), as opposed to a lost connection
/// (class 08) or an operator intervention (class 57, which includes "canceling wait for
/// synchronous replication": committed locally, perhaps not on the standbys).
fn refused_before_commit(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| !db.code().code().starts_with("08") && !db.code().code().starts_with("57"))
}
