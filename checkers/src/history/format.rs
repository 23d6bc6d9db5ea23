//! History formats and their detection from content (and, as a tie-break, the file extension).

use std::path::Path;
use std::str::FromStr;

/// A history file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The native JSON Lines format.
    Jsonl,
    /// Jepsen's `history.edn`.
    Edn,
    /// Jepsen log lines (`INFO  jepsen.util - 3 :invoke :read nil`, tab-separated).
    JepsenLog,
    /// elle-cli's JSON: one array of op objects (`[{"type":"ok","f":"txn",...}, ...]`).
    ElleJson,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "jsonl" | "json" => Ok(Format::Jsonl),
            "edn" => Ok(Format::Edn),
            "jepsen-log" | "log" => Ok(Format::JepsenLog),
            "elle-json" => Ok(Format::ElleJson),
            other => Err(format!(
                "unknown history format \"{other}\" (expected jsonl, edn, jepsen-log or elle-json)"
            )),
        }
    }
}

/// Guesses the format from the first significant characters of the text, then the extension.
pub fn detect_format(path: &Path, text: &str) -> Option<Format> {
    for line in text.lines() {
        let t = line.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if t.is_empty() || t.starts_with(';') {
            continue;
        }
        if t.contains("jepsen.util") {
            return Some(Format::JepsenLog);
        }
        let after_brace = t.strip_prefix('{').map(|r| r.trim_start());
        match after_brace {
            Some(r) if r.starts_with('"') || r.starts_with('}') => return Some(Format::Jsonl),
            Some(r) if r.starts_with(':') => return Some(Format::Edn),
            _ => {}
        }
        if let Some(rest) = t.strip_prefix('[') {
            // An array whose first element is a JSON object (`{"`): elle-cli's JSON; `{:`
            // (or anything else): an EDN vector. The element may start on a later line.
            let at = rest.as_ptr() as usize - text.as_ptr() as usize;
            let after = text[at..].trim_start();
            let json_object = after
                .strip_prefix('{')
                .is_some_and(|r| r.trim_start().starts_with('"'));
            return Some(if json_object {
                Format::ElleJson
            } else {
                Format::Edn
            });
        }
        if t.starts_with('(') || t.starts_with("#jepsen") {
            return Some(Format::Edn);
        }
        break;
    }
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") | Some("json") => Some(Format::Jsonl),
        Some("edn") => Some(Format::Edn),
        Some("log") => Some(Format::JepsenLog),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content_first() {
        let p = Path::new("x.txt");
        assert_eq!(detect_format(p, "{\"process\":0}"), Some(Format::Jsonl));
        assert_eq!(detect_format(p, "; c\n\n{:type :invoke}"), Some(Format::Edn));
        assert_eq!(detect_format(p, "[{:type :invoke}]"), Some(Format::Edn));
        assert_eq!(detect_format(p, "[{\"type\":\"ok\"}]"), Some(Format::ElleJson));
        assert_eq!(
            detect_format(p, "; c\n[\n  { \"type\": \"ok\"}]"),
            Some(Format::ElleJson)
        );
        assert_eq!(detect_format(p, "[\n{:type :ok}]"), Some(Format::Edn));
        assert_eq!(
            detect_format(p, "INFO  jepsen.util - 1\t:invoke\t:read\tnil"),
            Some(Format::JepsenLog)
        );
        assert_eq!(detect_format(Path::new("h.edn"), ""), Some(Format::Edn));
        assert_eq!(detect_format(p, "hello"), None);
    }
}
