//! A typed async client for the built-in store, used by the tests, the benchmark and the harness.
//!
//! Every operation returns an [`Outcome`] that says how a history must record it:
//! [`Outcome::Ok`] (took effect; carries the serving node, log position, values and versions),
//! [`Outcome::Fail`] (certainly did not take effect: cas mismatch, not leader, no quorum, bad
//! request, or no connection could be made), or [`Outcome::Info`] (may or may not have taken
//! effect: timeout, connection lost mid-request, an indeterminate server error). The rule is in
//! [`classify`] and [`classify_transport`].

use serde_json::{Value, json};
use std::time::Duration;

/// The result of one operation, classified for the history.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The operation took effect (or the read returned).
    Ok(Success),
    /// The operation certainly did not take effect.
    Fail(Failure),
    /// The operation may or may not have taken effect.
    Info(Failure),
}

impl Outcome {
    /// `"ok"`, `"fail"` or `"info"`: the history's completion type.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok(_) => "ok",
            Outcome::Fail(_) => "fail",
            Outcome::Info(_) => "info",
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }

    /// The success, if any.
    pub fn ok(&self) -> Option<&Success> {
        match self {
            Outcome::Ok(s) => Some(s),
            _ => None,
        }
    }

    /// The failure, if any (definite or not).
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Ok(_) => None,
            Outcome::Fail(f) | Outcome::Info(f) => Some(f),
        }
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Success {
    /// The node that served it.
    pub node: String,
    /// The log position it read or wrote (single-leader: the log index; other modes: the
    /// serving node's local count of applied writes).
    pub pos: u64,
    /// For reads: the value read (null when absent).
    pub value: Value,
    /// For single operations: the version read or written (mode-specific JSON).
    pub version: Value,
    /// For transactions: the micro-ops with reads filled in.
    pub ops: Vec<Value>,
    /// The whole answer.
    pub body: Value,
}

/// A failed answer (definite or not).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The node that answered, if one did.
    pub node: Option<String>,
    /// The error code (`cas_mismatch`, `not_leader`, `timeout`, ..., or `connect`,
    /// `transport` for failures before an answer).
    pub code: String,
    pub message: String,
    /// For `not_leader`: the node believed to be the leader.
    pub leader: Option<String>,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
}

/// Per-request options (query parameters); `None` means the node's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// `leader` / `any` (single-leader), `quorum` / `local` (leaderless), `local` (multi-leader).
    pub read: Option<String>,
    /// Read-your-writes: serve only once the node has applied this log position.
    pub after: Option<u64>,
    /// Read-your-writes by timestamp: serve only once the node is current as of this time
    /// (nanoseconds since the Unix epoch).
    pub after_ts: Option<u64>,
    pub n: Option<usize>,
    pub r: Option<usize>,
    pub w: Option<usize>,
}

impl Options {
    fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.read {
            parts.push(format!("read={}", encode(r)));
        }
        let numbers = [
            ("after", self.after),
            ("after_ts", self.after_ts),
            ("n", self.n.map(|v| v as u64)),
        ];
        let more = [("r", self.r.map(|v| v as u64)), ("w", self.w.map(|v| v as u64))];
        for (name, v) in numbers.into_iter().chain(more) {
            if let Some(v) = v {
                parts.push(format!("{name}={v}"));
            }
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// A client for a cluster: node ids and their base URLs (`http://127.0.0.1:PORT`).
#[derive(Clone)]
pub struct StoreClient {
    http: reqwest::Client,
    nodes: Vec<(String, String)>,
}

impl StoreClient {
    /// A client with this per-request timeout (keep it above the nodes' `--op-timeout-ms`, so a
    /// node's own `timeout` answer arrives first).
    pub fn new(nodes: Vec<(String, String)>, timeout: Duration) -> anyhow::Result<StoreClient> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .build()?;
        Ok(StoreClient { http, nodes })
    }

    /// The node ids, in the order given.
    pub fn node_ids(&self) -> Vec<String> {
        self.nodes.iter().map(|(id, _)| id.clone()).collect()
    }

    fn base(&self, node: &str) -> Result<&str, Failure> {
        self.nodes
            .iter()
            .find(|(id, _)| id == node)
            .map(|(_, url)| url.as_str())
            .ok_or_else(|| Failure {
                node: None,
                code: "unknown_node".into(),
                message: format!("no node {node} in this client's cluster"),
                leader: None,
                status: None,
            })
    }

    /// Reads a key.
    pub async fn read(&self, node: &str, key: &str, opts: &Options) -> Outcome {
        self.call(
            node,
            reqwest::Method::GET,
            &format!("/kv/{}", encode(key)),
            opts,
            None,
        )
        .await
    }

    /// Writes a register value.
    pub async fn write(&self, node: &str, key: &str, value: Value, opts: &Options) -> Outcome {
        let body = json!({ "value": value });
        self.call(
            node,
            reqwest::Method::PUT,
            &format!("/kv/{}", encode(key)),
            opts,
            Some(body),
        )
        .await
    }

    /// Appends to a list.
    pub async fn append(&self, node: &str, key: &str, value: Value, opts: &Options) -> Outcome {
        let body = json!({ "value": value });
        let path = format!("/kv/{}/append", encode(key));
        self.call(node, reqwest::Method::POST, &path, opts, Some(body))
            .await
    }

    /// Sets the register to `to` if it holds `from`.
    pub async fn cas(&self, node: &str, key: &str, from: Value, to: Value, opts: &Options) -> Outcome {
        let body = json!({ "from": from, "to": to });
        let path = format!("/kv/{}/cas", encode(key));
        self.call(node, reqwest::Method::POST, &path, opts, Some(body))
            .await
    }

    /// Runs a transaction: `ops` is `[["append", k, v], ["r", k, null], ["w", k, v], ...]`.
    pub async fn txn(&self, node: &str, ops: Value, opts: &Options) -> Outcome {
        self.call(
            node,
            reqwest::Method::POST,
            "/txn",
            opts,
            Some(json!({ "ops": ops })),
        )
        .await
    }

    /// The node's status document.
    pub async fn status(&self, node: &str) -> anyhow::Result<Value> {
        self.admin(node, reqwest::Method::GET, "/admin/status", None)
            .await
    }

    /// Moves the node's clock by `delta_ms` (negative: backwards).
    pub async fn clock_bump(&self, node: &str, delta_ms: i64) -> anyhow::Result<Value> {
        let body = json!({ "delta_ms": delta_ms });
        self.admin(node, reqwest::Method::POST, "/admin/clock/bump", Some(body))
            .await
    }

    /// Flips the node's clock between +delta_ms and its base every period, for a duration.
    pub async fn clock_strobe(
        &self,
        node: &str,
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    ) -> anyhow::Result<Value> {
        let body = json!({ "delta_ms": delta_ms, "period_ms": period_ms, "duration_ms": duration_ms });
        self.admin(node, reqwest::Method::POST, "/admin/clock/strobe", Some(body))
            .await
    }

    /// Sets the node's clock offset back to zero.
    pub async fn clock_reset(&self, node: &str) -> anyhow::Result<Value> {
        self.admin(node, reqwest::Method::POST, "/admin/clock/reset", Some(json!({})))
            .await
    }

    async fn admin(
        &self,
        node: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let base = self.base(node).map_err(|f| anyhow::anyhow!(f.message))?;
        let mut req = self.http.request(method, format!("{base}{path}"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            anyhow::bail!("{node} answered {status}: {body}");
        }
        Ok(body)
    }

    async fn call(
        &self,
        node: &str,
        method: reqwest::Method,
        path: &str,
        opts: &Options,
        body: Option<Value>,
    ) -> Outcome {
        let base = match self.base(node) {
            Ok(b) => b,
            Err(f) => return Outcome::Fail(f),
        };
        let mut req = self.http.request(method, format!("{base}{path}{}", opts.query()));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return classify_transport(&e, node),
        };
        let status = resp.status().as_u16();
        match resp.bytes().await {
            Ok(bytes) => classify(status, serde_json::from_slice(&bytes).ok()),
            Err(e) => classify_transport(&e, node),
        }
    }
}

/// Classifies an HTTP answer. 2xx with a JSON body is `Ok`. An error body's `definite` field
/// decides `Fail` (true) or `Info` (false); without a readable body, 4xx is `Fail` (the request
/// was refused) and anything else `Info`.
pub fn classify(status: u16, body: Option<Value>) -> Outcome {
    let Some(body) = body else {
        let failure = Failure {
            node: None,
            code: "bad_answer".into(),
            message: format!("HTTP {status} without a JSON body"),
            leader: None,
            status: Some(status),
        };
        return if (400..500).contains(&status) {
            Outcome::Fail(failure)
        } else {
            Outcome::Info(failure)
        };
    };
    let text = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    if (200..300).contains(&status) {
        return Outcome::Ok(Success {
            node: text("node").unwrap_or_default(),
            pos: body.get("pos").and_then(Value::as_u64).unwrap_or(0),
            value: body.get("value").cloned().unwrap_or(Value::Null),
            version: body.get("version").cloned().unwrap_or(Value::Null),
            ops: body
                .get("ops")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            body,
        });
    }
    let definite = body
        .get("definite")
        .and_then(Value::as_bool)
        .unwrap_or((400..500).contains(&status));
    let failure = Failure {
        node: text("node"),
        code: text("error").unwrap_or_else(|| format!("http_{status}")),
        message: text("message").unwrap_or_else(|| body.to_string()),
        leader: text("leader"),
        status: Some(status),
    };
    if definite {
        Outcome::Fail(failure)
    } else {
        Outcome::Info(failure)
    }
}

/// Classifies a failure before any answer: a connection that could not be made is `Fail` (the
/// request never left); a timeout or a connection lost mid-request is `Info`.
pub fn classify_transport(e: &reqwest::Error, node: &str) -> Outcome {
    let failure = |code: &str| Failure {
        node: Some(node.to_string()),
        code: code.to_string(),
        message: format!("{e}"),
        leader: None,
        status: None,
    };
    if e.is_connect() {
        Outcome::Fail(failure("connect"))
    } else if e.is_timeout() {
        Outcome::Info(failure("timeout"))
    } else {
        Outcome::Info(failure("transport"))
    }
}

/// Percent-encodes a path segment or query value (everything but unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_answers_for_the_history() {
        let ok = classify(
            200,
            Some(json!({"node":"n1","pos":7,"value":3,"version":{"term":1,"index":7}})),
        );
        assert_eq!(ok.kind(), "ok");
        assert_eq!(ok.ok().unwrap().pos, 7);
        let cas = classify(
            412,
            Some(json!({"error":"cas_mismatch","message":"m","definite":true,"node":"n1"})),
        );
        assert_eq!(cas.kind(), "fail");
        let nl = classify(
            421,
            Some(json!({"error":"not_leader","definite":true,"leader":"n2","node":"n1"})),
        );
        assert_eq!(nl.failure().unwrap().leader.as_deref(), Some("n2"));
        assert_eq!(
            classify(504, Some(json!({"error":"timeout","definite":false}))).kind(),
            "info"
        );
        assert_eq!(
            classify(503, Some(json!({"error":"no_quorum","definite":true}))).kind(),
            "fail"
        );
        assert_eq!(classify(502, None).kind(), "info");
        assert_eq!(classify(400, None).kind(), "fail");
    }

    #[test]
    fn encodes_keys_and_options() {
        assert_eq!(encode("a b/ç"), "a%20b%2F%C3%A7");
        let o = Options {
            read: Some("any".into()),
            after: Some(5),
            r: Some(2),
            ..Options::default()
        };
        assert_eq!(o.query(), "?read=any&after=5&r=2");
        assert_eq!(Options::default().query(), "");
    }
}
