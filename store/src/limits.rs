//! The limits of what a client may store, decided once here and checked at the client door
//! (`api`), so that everything the door accepts can be logged, replicated, snapshotted and
//! recovered: the node-to-node and WAL paths carry values without adding to their nesting (see
//! [`crate::raw_json`]) and split their batches by size, never refusing what the door took.
//!
//! - A value nests arrays and objects at most [`MAX_VALUE_DEPTH`] deep. Requests, responses and
//!   history lines wrap a value in at most four more levels, which keeps every document under
//!   the 127 levels that common JSON parsers (serde_json among them) accept.
//! - A key is 1 to [`MAX_KEY_BYTES`] bytes; a transaction holds 1 to [`MAX_TXN_OPS`] micro-ops.
//! - A request body is at most `--max-body-bytes` (default [`DEFAULT_MAX_BODY_BYTES`], at most
//!   [`MAX_BODY_BYTES_CEILING`]): that bounds every value, key and transaction too.
//! - Integers must fit in 64 bits (signed or unsigned): a longer integer literal would come back
//!   as the nearest double, not as the number sent. Other numbers are IEEE-754 doubles.

use crate::error::ApiError;
use serde_json::Value;

/// Deepest nesting of arrays and objects in a stored value (a scalar is depth 0, `[1]` is 1).
pub const MAX_VALUE_DEPTH: usize = 100;

/// Longest key, in bytes (UTF-8).
pub const MAX_KEY_BYTES: usize = 1024;

/// Most micro-ops in one transaction.
pub const MAX_TXN_OPS: usize = 1024;

/// Default largest client request body, in bytes (`--max-body-bytes`).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

/// The largest `--max-body-bytes` a node accepts.
pub const MAX_BODY_BYTES_CEILING: usize = 64 << 20;

/// Node-to-node batches (log shipping, multi-leader shipping, leaderless replica operations)
/// stop adding items once they hold this many bytes; a batch always holds at least one item, so
/// an item of any size the door accepted is still sent.
pub const BATCH_BYTES: usize = 4 << 20;

/// The nesting depth of a value: 0 for a scalar, 1 + the deepest member for an array or object.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Refuses a value nested deeper than [`MAX_VALUE_DEPTH`]; `what` names it in the message.
pub fn check_value(value: &Value, what: &str) -> Result<(), ApiError> {
    let d = depth(value);
    if d > MAX_VALUE_DEPTH {
        return Err(ApiError::bad_request(format!(
            "{what} nests arrays and objects {d} levels deep; at most {MAX_VALUE_DEPTH} are allowed"
        )));
    }
    Ok(())
}

/// Refuses a key that is empty or longer than [`MAX_KEY_BYTES`].
pub fn check_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() {
        return Err(ApiError::bad_request("the key is empty"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::bad_request(format!(
            "the key is {} bytes long; at most {MAX_KEY_BYTES} are allowed",
            key.len()
        )));
    }
    Ok(())
}

/// Refuses a transaction of no micro-ops or more than [`MAX_TXN_OPS`].
pub fn check_txn_len(len: usize) -> Result<(), ApiError> {
    if len == 0 {
        return Err(ApiError::bad_request(
            "`ops` is empty; a transaction needs at least one micro-op",
        ));
    }
    if len > MAX_TXN_OPS {
        return Err(ApiError::bad_request(format!(
            "`ops` has {len} micro-ops; at most {MAX_TXN_OPS} are allowed"
        )));
    }
    Ok(())
}

/// Refuses a `--max-body-bytes` setting outside 1..=[`MAX_BODY_BYTES_CEILING`].
pub fn check_max_body(bytes: usize) -> Result<(), String> {
    if bytes == 0 || bytes > MAX_BODY_BYTES_CEILING {
        return Err(format!(
            "--max-body-bytes {bytes} must be between 1 and {MAX_BODY_BYTES_CEILING}"
        ));
    }
    Ok(())
}

/// Refuses a JSON text holding an integer literal that does not fit in 64 bits (a JSON parser
/// would turn it into the nearest double, and the store would give back another number).
/// Scans the raw bytes, outside strings; the text need not be valid JSON (the parser that
/// follows reports that).
pub fn check_integers(body: &[u8]) -> Result<(), ApiError> {
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'"' => i = skip_string(body, i + 1),
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < body.len() && matches!(body[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                let token = &body[start..i];
                let integer = !token.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                if integer && !fits_64_bits(token) {
                    let shown = String::from_utf8_lossy(&token[..token.len().min(40)]);
                    let more = if token.len() > 40 { "..." } else { "" };
                    return Err(ApiError::bad_request(format!(
                        "the integer {shown}{more} does not fit in 64 bits (from -2^63 to 2^64-1); \
                         send larger integers as strings"
                    )));
                }
            }
            _ => i += 1,
        }
    }
    Ok(())
}

fn fits_64_bits(token: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(token) else {
        return true;
    };
    // Not a well-formed integer (e.g. "--1"): leave it to the JSON parser to refuse.
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    text.parse::<i64>().is_ok() || text.parse::<u64>().is_ok()
}

/// The index just after the string whose body starts at `i` (after its opening quote).
fn skip_string(body: &[u8], mut i: usize) -> usize {
    while i < body.len() {
        match body[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        (0..levels).fold(
            json!(1),
            |v, i| if i % 2 == 0 { json!([v]) } else { json!({ "k": v }) },
        )
    }

    #[test]
    fn depth_counts_arrays_and_objects() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a": [1, [2]], "b": 3})), 3);
        assert_eq!(depth(&nested(MAX_VALUE_DEPTH)), MAX_VALUE_DEPTH);
        assert!(check_value(&nested(MAX_VALUE_DEPTH), "the value").is_ok());
        let err = check_value(&nested(MAX_VALUE_DEPTH + 1), "the value").unwrap_err();
        assert_eq!(err.status, 400);
        assert!(
            err.message.contains("101 levels deep; at most 100"),
            "{}",
            err.message
        );
    }

    #[test]
    fn integers_must_fit_in_64_bits() {
        for ok in [
            &b"{\"value\": 18446744073709551615}"[..],
            b"[-9223372036854775808, 0, -0, 1.5e300, 123456789012345678901234.5]",
            b"{\"s\": \"99999999999999999999999\", \"e\": 1e400}",
            b"\"\\\"99999999999999999999999\"",
        ] {
            assert!(check_integers(ok).is_ok(), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"{\"value\": 18446744073709551616}"[..],
            b"[-9223372036854775809]",
            b"[1, \"x\", 123456789012345678901234567890]",
        ] {
            let err = check_integers(bad).unwrap_err();
            assert!(err.message.contains("does not fit in 64 bits"), "{}", err.message);
        }
    }

    #[test]
    fn keys_transactions_and_body_limits() {
        assert!(check_key("").is_err());
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES)).is_ok());
        assert!(check_key(&"k".repeat(MAX_KEY_BYTES + 1)).is_err());
        assert!(check_txn_len(0).is_err());
        assert!(check_txn_len(MAX_TXN_OPS).is_ok());
        assert!(check_txn_len(MAX_TXN_OPS + 1).is_err());
        assert!(check_max_body(DEFAULT_MAX_BODY_BYTES).is_ok());
        assert!(check_max_body(0).is_err());
        assert!(check_max_body(MAX_BODY_BYTES_CEILING + 1).is_err());
    }
}
