//! The body read timeout: every request's body is read whole, within `--body-timeout-ms` and
//! within its size limit, before any route sees it. A body that does not arrive in time is
//! answered `408 request_timeout` (JSON) and the connection closed; one past the limit `413
//! payload_too_large`. Client routes take at most `--max-body-bytes`; node-to-node routes
//! (`/internal/*`, already past the token check) have no size limit, since a snapshot holds
//! the whole data.

use crate::error::ApiError;
use crate::node::Node;
use crate::wire::ErrorCode;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// Why a body could not be read.
enum BodyError {
    TooLarge,
    Broken(String),
}

/// The layer in front of every route (inside the token check).
pub async fn read_within(State(node): State<Arc<Node>>, request: Request, next: Next) -> Response {
    let limit = if request.uri().path().starts_with("/internal/") {
        usize::MAX
    } else {
        node.cfg.max_body_bytes
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let id = &node.cfg.id;
    if declared.is_some_and(|len| len > limit as u64) {
        return closing(ApiError::too_large(limit).into_response_from(id));
    }
    let (parts, body) = request.into_parts();
    let timeout = node.cfg.limits.body_timeout;
    match tokio::time::timeout(timeout, read_limited(body, limit)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(BodyError::TooLarge)) => closing(ApiError::too_large(limit).into_response_from(id)),
        Ok(Err(BodyError::Broken(e))) => closing(
            ApiError::bad_request(format!("cannot read the request body: {e}")).into_response_from(id),
        ),
        Err(_) => closing(
            ApiError::new(
                ErrorCode::RequestTimeout,
                format!(
                    "the request's body did not arrive within {} ms (--body-timeout-ms); the \
                     connection is closed",
                    timeout.as_millis()
                ),
            )
            .into_response_from(id),
        ),
    }
}

/// Asks hyper to close the connection after this answer: the rest of the body, if any, is
/// never read.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut out: Vec<u8> = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if out.len().saturating_add(data.len()) > limit {
                return Err(BodyError::TooLarge);
            }
            if out.is_empty() && body.is_end_stream() {
                return Ok(data);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(out))
}
