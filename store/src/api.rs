//! The client HTTP API: key-value routes, transactions, and JSON errors for every kind of bad
//! request (malformed JSON, wrong types, unknown operations or parameters, oversized bodies,
//! unknown routes). Every response names the node that served it.
//!
//! Routes (see docs/store.md for the full contract):
//! `GET /kv/{key}`, `PUT /kv/{key}` `{"value":v}`, `POST /kv/{key}/append` `{"value":v}`,
//! `POST /kv/{key}/cas` `{"from":a,"to":b}`, `POST /txn` `{"ops":[[f,k,v],...]}`.

use super::error::ApiError;
use super::limits;
use super::modes::Reply;
use super::node::Node;
use super::ops::{self, Command, MicroFn, MicroOp};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

type Body = Result<Bytes, BytesRejection>;
type KeyPath = Result<Path<String>, PathRejection>;

/// The client routes.
pub fn routes(node: Arc<Node>) -> Router {
    Router::new()
        .route("/kv/{key}", get(read).put(write))
        .route("/kv/{key}/append", post(append))
        .route("/kv/{key}/cas", post(cas))
        .route("/txn", post(txn))
        .with_state(node)
}

/// JSON answers for unknown routes and wrong methods (added to the whole router).
pub fn fallbacks(router: Router, node: Arc<Node>) -> Router {
    let id = node.cfg.id.clone();
    let id2 = id.clone();
    router
        .fallback(move |uri: Uri| {
            let id = id.clone();
            async move { ApiError::not_found(uri.path()).into_response_from(&id) }
        })
        .method_not_allowed_fallback(move || {
            let id = id2.clone();
            async move { ApiError::method_not_allowed().into_response_from(&id) }
        })
}

async fn read(State(node): State<Arc<Node>>, key: KeyPath, RawQuery(query): RawQuery) -> Response {
    let cmd = key_of(key).map(|k| Command::single(MicroFn::Read, k, Value::Null));
    serve(node, cmd, query).await
}

async fn write(
    State(node): State<Arc<Node>>,
    key: KeyPath,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let cmd = parse_value_body(&node, key, body).map(|(k, v)| Command::single(MicroFn::Write, k, v));
    serve(node, cmd, query).await
}

async fn append(
    State(node): State<Arc<Node>>,
    key: KeyPath,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let cmd = parse_value_body(&node, key, body).map(|(k, v)| Command::single(MicroFn::Append, k, v));
    serve(node, cmd, query).await
}

async fn cas(State(node): State<Arc<Node>>, key: KeyPath, RawQuery(query): RawQuery, body: Body) -> Response {
    let cmd = (|| {
        let key = key_of(key)?;
        let bytes = body_of(&node, body)?;
        let [from, to] = ops::take_fields(ops::parse_object(&bytes)?, ["from", "to"])?;
        limits::check_value(&from, "`from`")?;
        limits::check_value(&to, "`to`")?;
        Ok(Command::Cas { key, from, to })
    })();
    serve(node, cmd, query).await
}

async fn txn(State(node): State<Arc<Node>>, RawQuery(query): RawQuery, body: Body) -> Response {
    let cmd = body_of(&node, body)
        .and_then(|b| ops::parse_txn(&b))
        .map(|ops| Command::Txn { ops, single: false });
    serve(node, cmd, query).await
}

fn key_of(key: KeyPath) -> Result<String, ApiError> {
    let Path(key) =
        key.map_err(|e| ApiError::bad_request(format!("bad key in the path: {}", e.body_text())))?;
    limits::check_key(&key)?;
    Ok(key)
}

fn body_of(node: &Node, body: Body) -> Result<Bytes, ApiError> {
    body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(node.cfg.max_body_bytes)
        } else {
            ApiError::bad_request(format!("cannot read the request body: {}", e.body_text()))
        }
    })
}

fn parse_value_body(node: &Node, key: KeyPath, body: Body) -> Result<(String, Value), ApiError> {
    let key = key_of(key)?;
    let bytes = body_of(node, body)?;
    let [value] = ops::take_fields(ops::parse_object(&bytes)?, ["value"])?;
    limits::check_value(&value, "the value")?;
    Ok((key, value))
}

async fn serve(node: Arc<Node>, cmd: Result<Command, ApiError>, query: Option<String>) -> Response {
    let id = node.cfg.id.clone();
    let prepared = cmd.and_then(|cmd| Ok((cmd, ops::parse_query(query.as_deref())?)));
    let (cmd, opts) = match prepared {
        Ok(p) => p,
        Err(e) => return e.into_response_from(&id),
    };
    match node.engine.execute(cmd.clone(), opts).await {
        Ok(reply) => Json(render(&id, &cmd, reply)).into_response(),
        Err(e) => e.into_response_from(&id),
    }
}

/// The success body: `node`, `pos`, and per command shape `value` + `version` (single ops and
/// cas) or `ops` + `versions` (transactions, Jepsen style: reads filled in).
fn render(node: &str, cmd: &Command, reply: Reply) -> Value {
    let mut body = json!({"node": node, "pos": reply.pos});
    match cmd {
        Command::Txn { ops, single: true } => {
            let result = reply.results.into_iter().next();
            let (value, version) = result.map(|r| (r.value, r.version)).unwrap_or_default();
            if ops.first().is_some_and(|o| o.f == MicroFn::Read) {
                body["value"] = value;
            }
            body["version"] = version;
        }
        Command::Txn { ops, single: false } => {
            let rendered: Vec<Value> = ops
                .iter()
                .zip(&reply.results)
                .map(|(op, r): (&MicroOp, _)| op.render(r.value.clone()))
                .collect();
            body["ops"] = Value::Array(rendered);
            body["versions"] = Value::Array(reply.results.into_iter().map(|r| r.version).collect());
        }
        Command::Cas { .. } => {
            let result = reply.results.into_iter().next();
            body["version"] = result.map(|r| r.version).unwrap_or_default();
        }
    }
    body
}
