//! A register client over etcd's v3 JSON gateway: `/v3/kv/range` reads, `/v3/kv/put` writes,
//! `/v3/kv/txn` compare-and-sets. Keys and values travel base64-encoded, int64s as strings, and
//! fields at their default value (a false `succeeded`, an empty `kvs`) are absent. Failure
//! messages start with a code (`connect:`, `timeout:`, `connection:`, `etcd:`), see
//! [`crate::systems::outcome_of`].

use super::super::SystemOutcome;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};
use std::time::Duration;

/// A client of one etcd cluster; each call names the member it goes to.
#[derive(Debug, Clone)]
pub struct EtcdClient {
    http: reqwest::Client,
}

/// Where a request went wrong.
enum Failure {
    /// The request certainly never reached etcd (refused connection).
    NotSent(String),
    /// It may have reached etcd and taken effect.
    Unknown(String),
}

impl EtcdClient {
    /// A client whose requests give up after `timeout`.
    pub fn new(timeout: Duration) -> anyhow::Result<EtcdClient> {
        let http = reqwest::Client::builder().timeout(timeout).no_proxy().build()?;
        Ok(EtcdClient { http })
    }

    async fn call(&self, url: &str, route: &str, body: Value) -> Result<Value, Failure> {
        let response = self
            .http
            .post(format!("{url}{route}"))
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    Failure::NotSent(format!("connect: connection refused: {e}"))
                } else if e.is_timeout() {
                    Failure::Unknown("timeout: timed out".to_string())
                } else {
                    Failure::Unknown(format!("connection: {e}"))
                }
            })?;
        let status = response.status();
        let reply: Value = response
            .json()
            .await
            .map_err(|e| Failure::Unknown(format!("connection: unreadable reply ({status}): {e}")))?;
        if !status.is_success() || reply.get("error").is_some() {
            let message = reply
                .get("error")
                .or_else(|| reply.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("no message");
            return Err(Failure::Unknown(format!("etcd: answered {status}: {message}")));
        }
        Ok(reply)
    }

    /// Reads `key` linearizably (the member confirms with the leader): `Ok(None)` when absent.
    /// A read changes nothing, so every failure is `fail`.
    pub async fn read(&self, url: &str, key: &str) -> SystemOutcome<Option<i64>> {
        self.range(url, key, false).await
    }

    /// Reads `key` from the member's own state (`serializable`): no round to the leader, so a
    /// member that is cut off or behind answers with what it has.
    pub async fn read_local(&self, url: &str, key: &str) -> SystemOutcome<Option<i64>> {
        self.range(url, key, true).await
    }

    async fn range(&self, url: &str, key: &str, serializable: bool) -> SystemOutcome<Option<i64>> {
        let mut body = json!({ "key": BASE64.encode(key) });
        if serializable {
            body["serializable"] = Value::from(true);
        }
        match self.call(url, "/v3/kv/range", body).await {
            Ok(reply) => match first_value(&reply) {
                Ok(value) => SystemOutcome::Ok(value),
                Err(e) => SystemOutcome::Fail(format!("etcd: {e}")),
            },
            Err(Failure::NotSent(e) | Failure::Unknown(e)) => SystemOutcome::Fail(e),
        }
    }

    /// Writes `value` to `key`.
    pub async fn write(&self, url: &str, key: &str, value: i64) -> SystemOutcome<()> {
        let body = json!({ "key": BASE64.encode(key), "value": BASE64.encode(value.to_string()) });
        match self.call(url, "/v3/kv/put", body).await {
            Ok(_) => SystemOutcome::Ok(()),
            Err(failure) => write_failure(failure),
        }
    }

    /// Sets `key` to `new` if it holds `expected`: `Ok(true)` when it did, `Ok(false)` when the
    /// comparison failed (etcd then changed nothing, the register's `fail`).
    pub async fn cas(&self, url: &str, key: &str, expected: i64, new: i64) -> SystemOutcome<bool> {
        let key64 = BASE64.encode(key);
        let body = json!({
            "compare": [{
                "key": key64,
                "target": "VALUE",
                "result": "EQUAL",
                "value": BASE64.encode(expected.to_string()),
            }],
            "success": [{ "requestPut": { "key": key64, "value": BASE64.encode(new.to_string()) } }],
        });
        match self.call(url, "/v3/kv/txn", body).await {
            Ok(reply) => SystemOutcome::Ok(reply.get("succeeded").and_then(Value::as_bool) == Some(true)),
            Err(failure) => write_failure(failure),
        }
    }

    /// Member `url`'s view of the cluster: (its own member id, the leader's member id), from
    /// `/v3/maintenance/status`.
    pub async fn status(&self, url: &str) -> Option<(String, String)> {
        let reply = self.call(url, "/v3/maintenance/status", json!({})).await.ok()?;
        let me = reply.pointer("/header/member_id")?.as_str()?.to_string();
        let leader = reply.get("leader")?.as_str()?.to_string();
        Some((me, leader))
    }
}

fn write_failure<T>(failure: Failure) -> SystemOutcome<T> {
    match failure {
        Failure::NotSent(e) => SystemOutcome::Fail(e),
        Failure::Unknown(e) => SystemOutcome::Info(e),
    }
}

/// The integer value of the first key-value of a range reply, or `None` when there is none.
fn first_value(reply: &Value) -> Result<Option<i64>, String> {
    let Some(kv) = reply
        .get("kvs")
        .and_then(Value::as_array)
        .and_then(|kvs| kvs.first())
    else {
        return Ok(None);
    };
    let encoded = kv.get("value").and_then(Value::as_str).unwrap_or("");
    let bytes = BASE64
        .decode(encoded)
        .map_err(|e| format!("a value that is not base64 ({encoded}): {e}"))?;
    let text = String::from_utf8_lossy(&bytes);
    text.parse()
        .map(Some)
        .map_err(|_| format!("a value that is not an integer: {text}"))
}
