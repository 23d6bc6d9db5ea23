//! The client API on the wire: request bodies, answers, error codes and which of them are
//! definite (the operation certainly did not take effect: a history records `fail`) or not (it
//! may have: `info`). The node writes these types and a client (the harness's
//! `faultline::client`) reads them, so both sides agree by construction. docs/store.md describes
//! the same contract in words.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A stable, machine-readable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed JSON, wrong types, missing or unknown fields, a value past the limits, an
    /// unknown micro-op or query parameter, or a malformed HTTP request.
    BadRequest,
    /// No cluster token, or the wrong one, on an `/internal/*` or `/admin/*` route.
    Unauthorized,
    /// No such route.
    NotFound,
    /// The route does not take that method.
    MethodNotAllowed,
    /// The request's head or body did not arrive within the node's read timeouts.
    RequestTimeout,
    /// A register operation on a list key, or the reverse.
    WrongType,
    /// A compare-and-set whose register did not hold `from`.
    CasMismatch,
    /// The body is larger than `--max-body-bytes`.
    PayloadTooLarge,
    /// The request's URI is too long.
    UriTooLong,
    /// Single-leader: this node does not lead; `leader` names the one it knows.
    NotLeader,
    /// The request's head is too large (too many or too long header lines).
    HeadersTooLarge,
    /// The node's limit on open connections is reached; it closed this one.
    TooManyConnections,
    /// The node did not apply a position in time (`?after=`), or a new leader has not committed
    /// what it had when elected.
    Behind,
    /// Leaderless: too few replicas are believed reachable; nothing was sent.
    NoQuorum,
    /// The node could not serve and did nothing.
    Unavailable,
    /// The operation is in some log(s) but was not acknowledged in time.
    Timeout,
    /// Single-leader: the leader lost leadership while the write waited to commit.
    SteppedDown,
    /// A bug in the node.
    Internal,
    /// The request uses an HTTP feature the node does not take (a chunked body, `CONNECT`).
    NotImplemented,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::WrongType,
        ErrorCode::CasMismatch,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::NotLeader,
        ErrorCode::HeadersTooLarge,
        ErrorCode::TooManyConnections,
        ErrorCode::Behind,
        ErrorCode::NoQuorum,
        ErrorCode::Unavailable,
        ErrorCode::Timeout,
        ErrorCode::SteppedDown,
        ErrorCode::Internal,
        ErrorCode::NotImplemented,
    ];

    /// The HTTP status the node answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::BadRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::WrongType => 409,
            ErrorCode::CasMismatch => 412,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UriTooLong => 414,
            ErrorCode::NotLeader => 421,
            ErrorCode::HeadersTooLarge => 431,
            ErrorCode::Internal => 500,
            ErrorCode::NotImplemented => 501,
            ErrorCode::TooManyConnections
            | ErrorCode::Behind
            | ErrorCode::NoQuorum
            | ErrorCode::Unavailable
            | ErrorCode::SteppedDown => 503,
            ErrorCode::Timeout => 504,
        }
    }

    /// Is a write that failed with this code certainly without effect? `timeout`,
    /// `stepped_down` and `internal` are not: the write may take effect. (A failed read-only
    /// request is always definite: reads have no effect; the node says so in `definite`.)
    pub fn definite(self) -> bool {
        !matches!(
            self,
            ErrorCode::Timeout | ErrorCode::SteppedDown | ErrorCode::Internal
        )
    }

    /// The code as written on the wire (`not_leader`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::CasMismatch => "cas_mismatch",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::NotLeader => "not_leader",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::Behind => "behind",
            ErrorCode::NoQuorum => "no_quorum",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::SteppedDown => "stepped_down",
            ErrorCode::Internal => "internal",
            ErrorCode::NotImplemented => "not_implemented",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The code (kept as text, so a client reads codes it does not know yet).
    pub error: String,
    pub message: String,
    /// True when the operation certainly did not take effect.
    pub definite: bool,
    /// The node that answered.
    pub node: String,
    /// For `not_leader`: the leader this node knows, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
}

impl ErrorBody {
    /// The code, if it is one this version knows.
    pub fn code(&self) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.name() == self.error)
    }
}

/// The body of every successful answer to a client route. Which fields are present depends on
/// the request: a single read has `value` and `version`; a write, append or cas has `version`;
/// a transaction has `ops` (reads filled in, Jepsen style) and `versions` (one per micro-op).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The node that served the request.
    pub node: String,
    /// The log position read or written (see docs/store.md).
    pub pos: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<Value>>,
}

/// `PUT /kv/{key}` and `POST /kv/{key}/append`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueBody {
    pub value: Value,
}

/// `POST /kv/{key}/cas`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasBody {
    pub from: Value,
    pub to: Value,
}

/// `POST /txn`: micro-ops `["r", k, null]`, `["w", k, v]`, `["append", k, v]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnBody {
    pub ops: Vec<Value>,
}

/// `POST /admin/clock/bump`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockBump {
    pub delta_ms: i64,
}

/// `POST /admin/clock/strobe`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockStrobe {
    pub delta_ms: i64,
    pub period_ms: u64,
    pub duration_ms: u64,
}

/// The answer to the clock routes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockReply {
    pub node: String,
    pub clock_offset_ns: i64,
    pub clock_offset_ms: f64,
    pub clock_strobing: bool,
}

/// `GET /admin/status`. `detail` is mode-specific (see docs/store.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub id: String,
    pub mode: String,
    /// `leader`, `follower` or `candidate` (single-leader); `peer` otherwise.
    pub role: String,
    pub term: u64,
    pub leader: Option<String>,
    /// The last log position applied on this node.
    pub applied: u64,
    pub addr: String,
    pub pid: u32,
    pub clock_offset_ns: i64,
    pub clock_offset_ms: f64,
    pub clock_now_ns: u64,
    pub clock_strobing: bool,
    pub uptime_ms: u64,
    pub detail: Value,
}

/// What a node writes to its `--ready-file` once it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ready {
    pub id: String,
    /// The address it bound (`IP:PORT`).
    pub addr: String,
    pub pid: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_only_three_are_indeterminate() {
        for code in ErrorCode::ALL {
            let text = serde_json::to_value(code).unwrap();
            assert_eq!(text, Value::from(code.name()));
            assert_eq!(serde_json::from_value::<ErrorCode>(text).unwrap(), code);
            assert!((400..600).contains(&code.status()));
        }
        let indeterminate: Vec<_> = ErrorCode::ALL.into_iter().filter(|c| !c.definite()).collect();
        assert_eq!(
            indeterminate,
            [ErrorCode::Timeout, ErrorCode::SteppedDown, ErrorCode::Internal]
        );
        let body = ErrorBody {
            error: "no_quorum".into(),
            message: "m".into(),
            definite: true,
            node: "n1".into(),
            leader: None,
        };
        assert_eq!(body.code(), Some(ErrorCode::NoQuorum));
        assert_eq!(
            ErrorBody {
                error: "future".into(),
                ..body
            }
            .code(),
            None
        );
    }

    #[test]
    fn replies_carry_only_their_fields() {
        let write = Reply {
            node: "n1".into(),
            pos: 3,
            version: Some(serde_json::json!({"term": 1, "index": 3})),
            ..Reply::default()
        };
        assert_eq!(
            serde_json::to_value(&write).unwrap(),
            serde_json::json!({"node": "n1", "pos": 3, "version": {"term": 1, "index": 3}})
        );
        // A read of a missing key says `"value": null`; a client takes an absent value as null.
        let read: Reply =
            serde_json::from_str(r#"{"node":"n2","pos":4,"value":null,"version":null}"#).unwrap();
        assert_eq!((read.value, read.ops), (None, None));
    }
}
