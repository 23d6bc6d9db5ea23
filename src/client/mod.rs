//! A typed async client for the built-in store, used by the tests, the benchmark and the harness.
//!
//! Every operation returns an [`Outcome`] that says how a history must record it:
//! [`Outcome::Ok`] (took effect; carries the serving node, log position, values and versions),
//! [`Outcome::Fail`] (certainly did not take effect: cas mismatch, not leader, no quorum, bad
//! request, or no connection could be made), or [`Outcome::Info`] (may or may not have taken
//! effect: timeout, connection lost mid-request, an indeterminate server error). The rule is in
//! [`classify`] and [`classify_transport`]; the bodies are the store's wire types
//! ([`faultline_store::wire`]), so the client and the node agree on them by construction.

use faultline_store::auth::ClusterToken;
use faultline_store::wire::{
    self, CasBody, ClockBump, ClockReply, ClockStrobe, ErrorBody, TxnBody, ValueBody,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
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
    /// For transactions: the version each micro-op read or wrote.
    pub versions: Vec<Value>,
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

/// A client for a cluster: node ids and their base URLs (`http://127.0.0.1:PORT`), and the
/// cluster token its admin requests carry.
#[derive(Clone)]
pub struct StoreClient {
    http: reqwest::Client,
    nodes: Vec<(String, String)>,
    token: Option<ClusterToken>,
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
            // Below the nodes' idle timeout, so the client drops an idle connection first.
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        Ok(StoreClient {
            http,
            nodes,
            token: None,
        })
    }

    /// The same client, with the cluster token for the admin routes (status, clock).
    pub fn with_token(mut self, token: &ClusterToken) -> StoreClient {
        self.token = Some(token.clone());
        self
    }

    /// The id of the `index`-th node, in the order given.
    pub fn node_id(&self, index: usize) -> Option<&str> {
        self.nodes.get(index).map(|(id, _)| id.as_str())
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
        let path = format!("/kv/{}", encode(key));
        let body = body_of(&ValueBody { value });
        self.call(node, reqwest::Method::PUT, &path, opts, Some(body))
            .await
    }

    /// Appends to a list.
    pub async fn append(&self, node: &str, key: &str, value: Value, opts: &Options) -> Outcome {
        let path = format!("/kv/{}/append", encode(key));
        let body = body_of(&ValueBody { value });
        self.call(node, reqwest::Method::POST, &path, opts, Some(body))
            .await
    }

    /// Sets the register to `to` if it holds `from`.
    pub async fn cas(&self, node: &str, key: &str, from: Value, to: Value, opts: &Options) -> Outcome {
        let path = format!("/kv/{}/cas", encode(key));
        let body = body_of(&CasBody { from, to });
        self.call(node, reqwest::Method::POST, &path, opts, Some(body))
            .await
    }

    /// Runs a transaction: `ops` is `[["append", k, v], ["r", k, null], ["w", k, v], ...]`.
    pub async fn txn(&self, node: &str, ops: Value, opts: &Options) -> Outcome {
        let body = match ops {
            Value::Array(ops) => body_of(&TxnBody { ops }),
            // Not a list of micro-ops: sent as it is, for the node to refuse.
            other => body_of(&serde_json::json!({ "ops": other })),
        };
        self.call(node, reqwest::Method::POST, "/txn", opts, Some(body))
            .await
    }

    /// The node's status document.
    pub async fn status(&self, node: &str) -> anyhow::Result<wire::Status> {
        self.admin::<(), _>(node, reqwest::Method::GET, "/admin/status", None)
            .await
    }

    /// Moves the node's clock by `delta_ms` (negative: backwards).
    pub async fn clock_bump(&self, node: &str, delta_ms: i64) -> anyhow::Result<ClockReply> {
        let body = ClockBump { delta_ms };
        self.admin(node, reqwest::Method::POST, "/admin/clock/bump", Some(&body))
            .await
    }

    /// Flips the node's clock between +delta_ms and its base every period, for a duration.
    pub async fn clock_strobe(
        &self,
        node: &str,
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    ) -> anyhow::Result<ClockReply> {
        let body = ClockStrobe {
            delta_ms,
            period_ms,
            duration_ms,
        };
        self.admin(node, reqwest::Method::POST, "/admin/clock/strobe", Some(&body))
            .await
    }

    /// Sets the node's clock offset back to zero.
    pub async fn clock_reset(&self, node: &str) -> anyhow::Result<ClockReply> {
        let body = serde_json::Map::new();
        self.admin(node, reqwest::Method::POST, "/admin/clock/reset", Some(&body))
            .await
    }

    async fn admin<B: Serialize, T: DeserializeOwned>(
        &self,
        node: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let base = self.base(node).map_err(|f| anyhow::anyhow!(f.message))?;
        let mut req = self.http.request(method, format!("{base}{path}"));
        if let Some(token) = &self.token {
            req = req.header(reqwest::header::AUTHORIZATION, token.bearer());
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => anyhow::bail!("{node} answered {status}: {}: {}", e.error, e.message),
                Err(_) => anyhow::bail!("{node} answered {status}: {}", String::from_utf8_lossy(&bytes)),
            }
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{node} answered {status} with a body that is not its status: {e}"))
    }

    async fn call(
        &self,
        node: &str,
        method: reqwest::Method,
        path: &str,
        opts: &Options,
        body: Option<Vec<u8>>,
    ) -> Outcome {
        let base = match self.base(node) {
            Ok(b) => b,
            Err(f) => return Outcome::Fail(f),
        };
        let mut req = self.http.request(method, format!("{base}{path}{}", opts.query()));
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return classify_transport(&e, node),
        };
        let status = resp.status().as_u16();
        match resp.bytes().await {
            Ok(bytes) => classify(status, &bytes),
            Err(e) => classify_transport(&e, node),
        }
    }
}

/// A request body (the wire types serialise infallibly: string keys, JSON values).
fn body_of(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

/// Classifies an HTTP answer. 2xx with a [`wire::Reply`] body is `Ok`. An error body's
/// ([`wire::ErrorBody`]) `definite` field decides `Fail` (true) or `Info` (false); without a
/// readable body, 4xx is `Fail` (the request was refused) and anything else `Info`.
pub fn classify(status: u16, body: &[u8]) -> Outcome {
    if (200..300).contains(&status) {
        return match serde_json::from_slice::<wire::Reply>(body) {
            Ok(reply) => Outcome::Ok(Success {
                node: reply.node,
                pos: reply.pos,
                value: reply.value.unwrap_or(Value::Null),
                version: reply.version.unwrap_or(Value::Null),
                ops: reply.ops.unwrap_or_default(),
                versions: reply.versions.unwrap_or_default(),
            }),
            // A success we cannot read: it took effect, but what it says is unknown.
            Err(e) => Outcome::Info(Failure {
                node: None,
                code: "bad_answer".into(),
                message: format!("HTTP {status} with a body that is not a reply: {e}"),
                leader: None,
                status: Some(status),
            }),
        };
    }
    let Ok(error) = serde_json::from_slice::<ErrorBody>(body) else {
        let failure = Failure {
            node: None,
            code: "bad_answer".into(),
            message: format!("HTTP {status} without a JSON error body"),
            leader: None,
            status: Some(status),
        };
        return if (400..500).contains(&status) {
            Outcome::Fail(failure)
        } else {
            Outcome::Info(failure)
        };
    };
    let definite = error.definite;
    let failure = Failure {
        node: Some(error.node),
        code: error.error,
        message: error.message,
        leader: error.leader,
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
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn classifies_answers_for_the_history() {
        let ok = classify(
            200,
            &bytes(json!({"node":"n1","pos":7,"value":3,"version":{"term":1,"index":7}})),
        );
        assert_eq!(ok.kind(), "ok");
        assert_eq!(ok.ok().unwrap().pos, 7);
        assert_eq!(ok.ok().unwrap().value, json!(3));
        let cas = classify(
            412,
            &bytes(json!({"error":"cas_mismatch","message":"m","definite":true,"node":"n1"})),
        );
        assert_eq!(cas.kind(), "fail");
        let nl = classify(
            421,
            &bytes(json!({"error":"not_leader","message":"m","definite":true,"leader":"n2","node":"n1"})),
        );
        assert_eq!(nl.failure().unwrap().leader.as_deref(), Some("n2"));
        let timeout = json!({"error":"timeout","message":"m","definite":false,"node":"n1"});
        assert_eq!(classify(504, &bytes(timeout)).kind(), "info");
        let no_quorum = json!({"error":"no_quorum","message":"m","definite":true,"node":"n1"});
        assert_eq!(classify(503, &bytes(no_quorum)).kind(), "fail");
        assert_eq!(classify(502, b"").kind(), "info");
        assert_eq!(classify(400, b"").kind(), "fail");
        assert_eq!(
            classify(200, b"{}").kind(),
            "info",
            "an unreadable success is unknown"
        );
    }

    #[test]
    fn the_store_decides_definite_by_code() {
        // Every code the node can send, with the definiteness the node gives it by default.
        for code in faultline_store::wire::ErrorCode::ALL {
            let body =
                json!({"error": code.name(), "message": "m", "definite": code.definite(), "node": "n1"});
            let expected = if code.definite() { "fail" } else { "info" };
            assert_eq!(classify(code.status(), &bytes(body)).kind(), expected, "{code}");
        }
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
