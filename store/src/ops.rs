//! Client operations as the node understands them: keys, micro-ops, commands, per-request options,
//! and the strict parsing of request bodies and query strings into them.
//!
//! Every client request becomes a [`Command`]: a transaction of micro-ops (`r`, `w`, `append`;
//! single reads, writes and appends are one-op transactions) or a compare-and-set. Parsing never
//! panics: bad input becomes an [`ApiError`] that says what is wrong.

use super::error::ApiError;
use super::limits;
use serde_json::Value;

/// What a micro-op does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicroFn {
    /// `["r", k, null]`: read the key (a register's value, a list, or null when absent).
    Read,
    /// `["w", k, v]`: set the key's register to `v`.
    Write,
    /// `["append", k, v]`: append `v` to the key's list.
    Append,
}

impl MicroFn {
    /// The name used on the wire.
    pub fn name(self) -> &'static str {
        match self {
            MicroFn::Read => "r",
            MicroFn::Write => "w",
            MicroFn::Append => "append",
        }
    }
}

/// One micro-op of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct MicroOp {
    pub f: MicroFn,
    /// The key as the node stores it (integers are stored as their decimal text).
    pub key: String,
    /// The key as the client sent it (echoed back unchanged in the reply).
    pub key_json: Value,
    /// The argument (null for reads).
    pub value: Value,
}

impl MicroOp {
    /// A micro-op on a key given as text (as in a URL path).
    pub fn new(f: MicroFn, key: String, value: Value) -> MicroOp {
        MicroOp {
            f,
            key_json: Value::String(key.clone()),
            key,
            value,
        }
    }

    /// Does this micro-op change state?
    pub fn is_write(&self) -> bool {
        self.f != MicroFn::Read
    }

    /// The micro-op as the client sees it, with `result` in the value slot.
    pub fn render(&self, result: Value) -> Value {
        Value::Array(vec![
            Value::String(self.f.name().into()),
            self.key_json.clone(),
            result,
        ])
    }
}

/// What a client asked for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A transaction of micro-ops, applied in order. Single reads, writes and appends are
    /// one-op transactions (see [`Command::single`]).
    Txn { ops: Vec<MicroOp>, single: bool },
    /// Set `key` to `to` if its register currently holds `from`.
    Cas { key: String, from: Value, to: Value },
}

impl Command {
    /// A single read, write or append on one key.
    pub fn single(f: MicroFn, key: String, value: Value) -> Command {
        Command::Txn {
            ops: vec![MicroOp::new(f, key, value)],
            single: true,
        }
    }

    /// Does this command (possibly) change state?
    pub fn is_write(&self) -> bool {
        match self {
            Command::Txn { ops, .. } => ops.iter().any(MicroOp::is_write),
            Command::Cas { .. } => true,
        }
    }
}

/// Per-request options from the query string. Which ones apply depends on the mode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestOptions {
    /// `read=leader|any` (single-leader), `read=quorum|local` (leaderless), `read=local`
    /// (multi-leader).
    pub read: Option<String>,
    /// `after=P`: serve only once this node has applied log position `P` (read-your-writes).
    pub after: Option<u64>,
    /// `after_ts=NS`: serve only once this node is current as of time `NS` (nanoseconds since
    /// the Unix epoch): it holds every write committed anywhere before then (single-leader;
    /// read-your-writes by the client's last-write timestamp).
    pub after_ts: Option<u64>,
    /// `n=`, `r=`, `w=`: leaderless replication factor and quorums for this request.
    pub n: Option<usize>,
    pub r: Option<usize>,
    pub w: Option<usize>,
}

/// Parses a raw query string (`a=1&b=2`) into options; unknown names are errors.
pub fn parse_query(raw: Option<&str>) -> Result<RequestOptions, ApiError> {
    let mut opts = RequestOptions::default();
    let Some(raw) = raw else { return Ok(opts) };
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |what: &str| -> Result<u64, ApiError> {
            value.parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "query parameter `{name}` must be a non-negative integer ({what}), got `{value}`"
                ))
            })
        };
        match name {
            "read" => opts.read = Some(value.to_string()),
            "after" => opts.after = Some(number("a log position")?),
            "after_ts" => opts.after_ts = Some(number("nanoseconds since the Unix epoch")?),
            "n" => opts.n = Some(number("a replica count")? as usize),
            "r" => opts.r = Some(number("a read quorum")? as usize),
            "w" => opts.w = Some(number("a write quorum")? as usize),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter `{name}` (expected read, after, after_ts, n, r or w)"
                )));
            }
        }
    }
    Ok(opts)
}

/// Parses a request body as a JSON object. Integer literals must fit in 64 bits (see
/// [`limits::check_integers`]).
pub fn parse_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the request body is empty; expected a JSON object",
        ));
    }
    limits::check_integers(body)?;
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        let hint = if e.to_string().contains("recursion limit") {
            format!(
                " (values may nest arrays and objects at most {} levels deep)",
                limits::MAX_VALUE_DEPTH
            )
        } else {
            String::new()
        };
        ApiError::bad_request(format!("the request body is not valid JSON: {e}{hint}"))
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::bad_request(format!(
            "the request body must be a JSON object, got {}",
            type_name(&other)
        ))),
    }
}

/// Takes the named fields out of a body object; missing or extra fields are errors.
pub fn take_fields<const K: usize>(
    mut map: serde_json::Map<String, Value>,
    names: [&str; K],
) -> Result<[Value; K], ApiError> {
    let mut out: [Value; K] = std::array::from_fn(|_| Value::Null);
    for (slot, name) in out.iter_mut().zip(names) {
        *slot = map.remove(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "the request body lacks the field `{name}` (expected fields: {})",
                names.join(", ")
            ))
        })?;
    }
    if let Some(extra) = map.keys().next() {
        return Err(ApiError::bad_request(format!(
            "unknown field `{extra}` in the request body (expected fields: {})",
            names.join(", ")
        )));
    }
    Ok(out)
}

/// Parses the body of `POST /txn`: `{"ops": [["r", k, null], ["w", k, v], ["append", k, v]]}`.
pub fn parse_txn(body: &[u8]) -> Result<Vec<MicroOp>, ApiError> {
    let [ops] = take_fields(parse_object(body)?, ["ops"])?;
    let Value::Array(ops) = ops else {
        return Err(ApiError::bad_request(format!(
            "`ops` must be an array, got {}",
            type_name(&ops)
        )));
    };
    limits::check_txn_len(ops.len())?;
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| parse_micro_op(i, op))
        .collect()
}

fn parse_micro_op(i: usize, op: Value) -> Result<MicroOp, ApiError> {
    let bad = |what: String| ApiError::bad_request(format!("micro-op {i}: {what}"));
    let Value::Array(mut parts) = op else {
        return Err(bad(format!(
            "expected an array [f, key, value], got {}",
            type_name(&op)
        )));
    };
    if parts.len() != 3 {
        return Err(bad(format!(
            "expected 3 elements [f, key, value], got {}",
            parts.len()
        )));
    }
    let value = parts.pop().unwrap_or(Value::Null);
    let key_json = parts.pop().unwrap_or(Value::Null);
    let f = match &parts[0] {
        Value::String(s) if s == "r" => MicroFn::Read,
        Value::String(s) if s == "w" => MicroFn::Write,
        Value::String(s) if s == "append" => MicroFn::Append,
        other => {
            return Err(bad(format!(
                "unknown operation {other}; expected \"r\", \"w\" or \"append\""
            )));
        }
    };
    let key = match &key_json {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        other => {
            return Err(bad(format!(
                "the key must be a string or an integer, got {other}"
            )));
        }
    };
    limits::check_key(&key).map_err(|e| bad(e.message))?;
    if f == MicroFn::Read && !value.is_null() {
        return Err(bad(format!("a read's value must be null, got {value}")));
    }
    limits::check_value(&value, "its value").map_err(|e| bad(e.message))?;
    Ok(MicroOp {
        f,
        key,
        key_json,
        value,
    })
}

/// A short name of a JSON value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_list_append_transaction() {
        let ops = parse_txn(br#"{"ops":[["append",5,1],["r","k",null],["w","x",[1,2]]]}"#).unwrap();
        assert_eq!(ops.len(), 3);
        assert_eq!(ops[0].f, MicroFn::Append);
        assert_eq!(ops[0].key, "5");
        assert_eq!(ops[0].key_json, json!(5));
        assert_eq!(ops[1].f, MicroFn::Read);
        assert_eq!(ops[2].value, json!([1, 2]));
        assert_eq!(ops[0].render(json!([1])), json!(["append", 5, [1]]));
    }

    #[test]
    fn rejects_bad_transactions_with_a_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"{", "not valid JSON"),
            (b"[1]", "must be a JSON object"),
            (br#"{"ops":[]}"#, "at least one"),
            (br#"{"ops":3}"#, "must be an array"),
            (br#"{"ops":[["x","k",1]]}"#, "unknown operation"),
            (br#"{"ops":[["r","k",1]]}"#, "must be null"),
            (br#"{"ops":[["r",1.5,null]]}"#, "string or an integer"),
            (br#"{"ops":[["r","k"]]}"#, "3 elements"),
            (br#"{"ops":[["r","",null]]}"#, "empty"),
            (br#"{"ops":[],"x":1}"#, "unknown field `x`"),
            (br#"{"op":[]}"#, "lacks the field `ops`"),
        ];
        for (body, expected) in cases {
            let err = parse_txn(body).unwrap_err();
            assert!(
                err.message.contains(expected),
                "{:?}: {}",
                String::from_utf8_lossy(body),
                err.message
            );
            assert_eq!(err.status(), 400);
            assert!(err.definite);
        }
    }

    #[test]
    fn parses_query_options() {
        let o = parse_query(Some("read=any&after=17&r=2&w=3&n=3&after_ts=5")).unwrap();
        assert_eq!(o.read.as_deref(), Some("any"));
        assert_eq!(o.after_ts, Some(5));
        assert_eq!((o.after, o.n, o.r, o.w), (Some(17), Some(3), Some(2), Some(3)));
        assert!(
            parse_query(Some("after=-1"))
                .unwrap_err()
                .message
                .contains("after")
        );
        assert!(
            parse_query(Some("zz=1"))
                .unwrap_err()
                .message
                .contains("unknown query parameter")
        );
        assert_eq!(parse_query(None).unwrap(), RequestOptions::default());
    }
}
