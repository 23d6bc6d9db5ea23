//! Quoting values in messages: at most [`QUOTE_LIMIT`] bytes of a value, so that an error about
//! a huge value (a 1 GiB line) stays readable and costs no more memory than the quote.

use serde_json::Value;
use std::io::Write;

/// The most bytes of a value an error message quotes.
pub const QUOTE_LIMIT: usize = 200;

/// A writer that keeps the first `limit` bytes and then refuses more.
struct Bounded {
    buf: Vec<u8>,
    limit: usize,
    cut: bool,
}

impl Write for Bounded {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let room = self.limit - self.buf.len();
        if data.len() > room {
            self.buf.extend_from_slice(&data[..room]);
            self.cut = true;
            return Err(std::io::Error::other("quote limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The value as compact JSON, cut to about `limit` bytes (ending in `...` when cut).
pub fn quote_json(v: &Value, limit: usize) -> String {
    let mut out = Bounded {
        buf: Vec::new(),
        limit,
        cut: false,
    };
    let _ = serde_json::to_writer(&mut out, v);
    finish(out.buf, out.cut)
}

/// A text cut to about `limit` bytes (ending in `...` when cut), at a character boundary.
pub fn quote_text(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    finish(s.as_bytes()[..limit].to_vec(), true)
}

fn finish(mut buf: Vec<u8>, cut: bool) -> String {
    // The cut may split a character: drop its partial bytes.
    let valid = match std::str::from_utf8(&buf) {
        Ok(_) => buf.len(),
        Err(e) => e.valid_up_to(),
    };
    buf.truncate(valid);
    let mut s = String::from_utf8(buf).unwrap_or_default();
    if cut {
        s.push_str("...");
    }
    s
}

/// The value quoted for an error message (at most [`QUOTE_LIMIT`] bytes of it).
pub fn quote(v: &Value) -> String {
    quote_json(v, QUOTE_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_long_values_and_keeps_short_ones() {
        assert_eq!(quote(&serde_json::json!([1, "a"])), "[1,\"a\"]");
        let big = Value::String("é".repeat(1_000_000));
        let q = quote(&big);
        assert!(q.len() <= QUOTE_LIMIT + 3, "{}", q.len());
        assert!(q.starts_with("\"éé") && q.ends_with("..."), "{q}");
        assert_eq!(quote_text("abcdef", 3), "abc...");
        assert_eq!(quote_text("ééé", 3), "é...");
    }
}
