//! The errors a node returns to clients: an HTTP status, a stable machine-readable code, a message
//! for people, and whether the failure is *definite* (the operation certainly did not take
//! effect, so a client records `fail`) or *indeterminate* (it may have, so a client records
//! `info`).

use crate::wire::{ErrorBody, ErrorCode};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed client request.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The code (which gives the HTTP status).
    pub code: ErrorCode,
    /// What went wrong, in words.
    pub message: String,
    /// True when the operation certainly did not take effect (the code's default, made true for
    /// read-only requests).
    pub definite: bool,
    /// For `not_leader`: the id of the node this node believes is the leader, if any.
    pub leader: Option<String>,
}

impl ApiError {
    /// An error with this code, definite as the code says.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            definite: code.definite(),
            leader: None,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// Malformed input (400, definite).
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// A body over the size limit (413, definite).
    pub fn too_large(limit: usize) -> ApiError {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    /// No such route (404, definite).
    pub fn not_found(path: &str) -> ApiError {
        ApiError::new(
            ErrorCode::NotFound,
            format!("no endpoint {path}; see docs/store.md"),
        )
    }

    /// Wrong method for a route (405, definite).
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            ErrorCode::MethodNotAllowed,
            "this endpoint does not take that method",
        )
    }

    /// A register op on a list key or a list op on a register key (409, definite).
    pub fn wrong_type(key: &str, holds: &str, wanted: &str) -> ApiError {
        ApiError::new(
            ErrorCode::WrongType,
            format!("key {key:?} holds {holds}; cannot {wanted} it"),
        )
    }

    /// A compare-and-set whose expected value did not match (412, definite).
    pub fn cas_mismatch(key: &str, expected: &serde_json::Value, found: &serde_json::Value) -> ApiError {
        ApiError::new(
            ErrorCode::CasMismatch,
            format!("key {key:?} holds {found}, not the expected {expected}"),
        )
    }

    /// This node cannot serve the request because it is not the leader (421, definite).
    pub fn not_leader(this: &str, leader: Option<String>) -> ApiError {
        let message = match &leader {
            Some(l) => format!("{this} is not the leader; the leader is {l}"),
            None => format!("{this} is not the leader and knows no leader"),
        };
        ApiError {
            leader,
            ..ApiError::new(ErrorCode::NotLeader, message)
        }
    }

    /// A read-your-writes read on a node that had not committed the position in time (503,
    /// definite: reads have no effect).
    pub fn behind(committed: u64, after: u64) -> ApiError {
        ApiError::new(
            ErrorCode::Behind,
            format!("this node has committed log position {committed}, not yet {after}"),
        )
    }

    /// An `after_ts` read on a node not current as of that time within `--ryw-wait-ms` (503,
    /// definite: reads have no effect).
    pub fn behind_time(as_of_ns: u64, wanted_ns: u64) -> ApiError {
        ApiError::new(
            ErrorCode::Behind,
            format!(
                "this node is current as of {as_of_ns} ns since the epoch, not yet {wanted_ns} \
                 ({} ms behind)",
                wanted_ns.saturating_sub(as_of_ns) / 1_000_000
            ),
        )
    }

    /// A leader read on a new leader that had not yet committed the entries it had when elected
    /// (503, definite: reads have no effect).
    pub fn behind_leader(committed: u64, needed: u64) -> ApiError {
        ApiError::new(
            ErrorCode::Behind,
            format!(
                "this node leads but has committed log position {committed}, not yet {needed} \
                 (the last entry it had when elected): it serves leader reads once it has"
            ),
        )
    }

    /// Too few replicas are reachable to try (503, definite: nothing was sent).
    pub fn no_quorum(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NoQuorum, message)
    }

    /// The node cannot serve now and did nothing (503, definite).
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Unavailable, message)
    }

    /// Waiting for replicas timed out after the operation may have been applied somewhere
    /// (504, indeterminate).
    pub fn timeout(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Timeout, message)
    }

    /// The leader lost leadership while the write waited for replication (503, indeterminate).
    pub fn stepped_down(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::SteppedDown, message)
    }

    /// An internal error (500, indeterminate).
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::Internal, message)
    }

    /// Marks a failure of a read-only request as definite: a read has no effect either way.
    pub fn for_read_only(mut self) -> ApiError {
        self.definite = true;
        self
    }

    /// No cluster token, or a wrong one, on a guarded route (401, definite).
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            ErrorCode::Unauthorized,
            "this route needs the cluster token (Authorization: Bearer TOKEN); see docs/store.md",
        )
    }

    /// The JSON body, naming the node that answered.
    pub fn body(&self, node: &str) -> ErrorBody {
        ErrorBody {
            error: self.code.name().to_string(),
            message: self.message.clone(),
            definite: self.definite,
            node: node.to_string(),
            leader: self.leader.clone(),
        }
    }

    /// The HTTP response, naming the node that answered.
    pub fn into_response_from(self, node: &str) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body(node))).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status(), self.message)
    }
}
