//! Admin endpoints for the harness: the node's status (id, mode, role, term, leader, last
//! applied log position, clock offset) and its clock controls (bump, strobe, reset), plus the
//! peers' liveness ping.

use super::error::ApiError;
use super::node::Node;
use super::ops::{self, type_name};
use super::wire::{ClockReply, Status};
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

type Body = Result<Bytes, BytesRejection>;

pub fn routes(node: Arc<Node>) -> Router {
    Router::new()
        .route("/admin/status", get(get_status))
        .route("/admin/clock/bump", post(bump))
        .route("/admin/clock/strobe", post(strobe))
        .route("/admin/clock/reset", post(reset))
        .route("/internal/ping", post(|| async { Json(json!({})) }))
        .with_state(node)
}

/// The status document (what `GET /admin/status` returns).
pub fn status(node: &Node) -> Status {
    let s = node.engine.status();
    Status {
        id: node.cfg.id.clone(),
        mode: node.cfg.mode.name().to_string(),
        role: s.role.to_string(),
        term: s.term,
        leader: s.leader,
        applied: s.applied,
        addr: node.addr.to_string(),
        pid: std::process::id(),
        clock_offset_ns: node.clock.offset_ns(),
        clock_offset_ms: node.clock.offset_ns() as f64 / 1e6,
        clock_now_ns: node.clock.now_ns(),
        clock_strobing: node.clock.strobing(),
        uptime_ms: node.started.elapsed().as_millis() as u64,
        detail: s.detail,
    }
}

async fn get_status(State(node): State<Arc<Node>>) -> Json<Status> {
    Json(status(&node))
}

fn clock_json(node: &Node) -> Json<ClockReply> {
    Json(ClockReply {
        node: node.cfg.id.clone(),
        clock_offset_ns: node.clock.offset_ns(),
        clock_offset_ms: node.clock.offset_ns() as f64 / 1e6,
        clock_strobing: node.clock.strobing(),
    })
}

fn int_field(v: &Value, name: &str) -> Result<i64, ApiError> {
    v.as_i64()
        .ok_or_else(|| ApiError::bad_request(format!("`{name}` must be an integer, got {}", type_name(v))))
}

fn positive_ms(v: &Value, name: &str) -> Result<Duration, ApiError> {
    match v.as_u64() {
        Some(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(ApiError::bad_request(format!(
            "`{name}` must be a positive integer of milliseconds, got {v}"
        ))),
    }
}

fn object(body: Body) -> Result<serde_json::Map<String, Value>, ApiError> {
    let bytes =
        body.map_err(|e| ApiError::bad_request(format!("cannot read the request body: {}", e.body_text())))?;
    if bytes.is_empty() {
        return Ok(serde_json::Map::new());
    }
    ops::parse_object(&bytes)
}

async fn bump(State(node): State<Arc<Node>>, body: Body) -> Response {
    let result = (|| {
        let [delta] = ops::take_fields(object(body)?, ["delta_ms"])?;
        int_field(&delta, "delta_ms")
    })();
    match result {
        Ok(delta_ms) => {
            let offset = node.clock.bump(delta_ms.saturating_mul(1_000_000));
            super::log::log(format_args!(
                "clock bumped by {delta_ms} ms; offset now {} ms",
                offset / 1_000_000
            ));
            clock_json(&node).into_response()
        }
        Err(e) => e.into_response_from(&node.cfg.id),
    }
}

async fn strobe(State(node): State<Arc<Node>>, body: Body) -> Response {
    let result = (|| {
        let [delta, period, duration] =
            ops::take_fields(object(body)?, ["delta_ms", "period_ms", "duration_ms"])?;
        Ok::<_, ApiError>((
            int_field(&delta, "delta_ms")?,
            positive_ms(&period, "period_ms")?,
            positive_ms(&duration, "duration_ms")?,
        ))
    })();
    match result {
        Ok((delta_ms, period, duration)) => {
            node.clock
                .strobe(delta_ms.saturating_mul(1_000_000), period, duration);
            super::log::log(format_args!(
                "clock strobing by {delta_ms} ms every {} ms for {} ms",
                period.as_millis(),
                duration.as_millis()
            ));
            clock_json(&node).into_response()
        }
        Err(e) => e.into_response_from(&node.cfg.id),
    }
}

async fn reset(State(node): State<Arc<Node>>, body: Body) -> Response {
    match object(body).and_then(|m| ops::take_fields(m, [])) {
        Ok([]) => {
            node.clock.reset();
            super::log::log(format_args!("clock reset; offset 0"));
            clock_json(&node).into_response()
        }
        Err(e) => e.into_response_from(&node.cfg.id),
    }
}
