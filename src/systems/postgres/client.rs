//! A register in SQL: one row per key in table `registers`, read with SELECT, written with an
//! upsert, compare-and-set with a conditional UPDATE.

use super::super::SystemOutcome;
use super::cluster::PORT;
use anyhow::{Context, Result};
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

    /// Creates the register table (on the primary).
    pub async fn create_table(&self) -> Result<()> {
        self.client
            .batch_execute("CREATE TABLE IF NOT EXISTS registers (k text PRIMARY KEY, v bigint NOT NULL)")
            .await
            .context("creating table registers")
    }

    /// How many standbys stream from this node (a primary).
    pub async fn streaming_standbys(&self) -> Result<usize> {
        let row = self
            .client
            .query_one(
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                &[],
            )
            .await
            .context("reading pg_stat_replication")?;
        let n: i64 = row.get(0);
        Ok(n as usize)
    }

    /// Promotes this node (a standby) to primary and waits until it is one.
    pub async fn promote(&self) -> Result<()> {
        self.client
            .execute("SELECT pg_promote(true, 30)", &[])
            .await
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
            Ok(Err(e)) => SystemOutcome::Fail(e.to_string()),
            Err(_) => SystemOutcome::Fail("timed out".into()),
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

    /// The outcome of a statement that changes data: an error the server reports before
    /// committing (a SQL state other than a lost connection) is `fail`; a timeout or a lost
    /// connection leaves the commit unknown: `info`.
    async fn change(
        &self,
        statement: impl std::future::Future<Output = Result<u64, tokio_postgres::Error>>,
    ) -> SystemOutcome<u64> {
        match tokio::time::timeout(self.timeout, statement).await {
            Ok(Ok(rows)) => SystemOutcome::Ok(rows),
            Ok(Err(e)) => match e.as_db_error() {
                // The server refused before commit (e.g. 25006: read-only on a standby).
                Some(db) if !db.code().code().starts_with("08") && !db.code().code().starts_with("57") => {
                    SystemOutcome::Fail(format!("{}: {}", db.code().code(), db.message()))
                }
                _ => SystemOutcome::Info(e.to_string()),
            },
            Err(_) => SystemOutcome::Info("timed out".into()),
        }
    }
}
