//! Jepsen log lines, as written by `jepsen.util` while a test runs:
//! `INFO  jepsen.util - 3 :invoke :read nil`, tab-separated.
//!
//! Each op line holds a process (an integer or `:nemesis`), a type, a function and a value (any
//! EDN). Lines logged by other loggers are not operations: they are counted and reported, not
//! parsed; a `jepsen.util` line that does not have the op shape is an error.

use super::edn::{Edn, parse_edn_value};
use super::error::HistoryError;
use super::event::{Event, EventKind, Process};

/// The marker that precedes an operation in a log line.
const MARKER: &str = "jepsen.util";

/// Parses log text; returns the events and how many non-op log lines were passed over.
pub fn parse(source: &str, text: &str) -> Result<(Vec<Event>, usize), HistoryError> {
    let mut events = Vec::new();
    let mut skipped = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let Some(marker) = raw.find(MARKER) else {
            if looks_like_log_line(raw) {
                skipped += 1;
                continue;
            }
            return Err(HistoryError::at(
                source,
                line,
                format!(
                    "expected a Jepsen log line such as \"INFO  jepsen.util - 3\t:invoke\t:read\tnil\", found \"{}\"",
                    clip(raw)
                ),
            ));
        };
        let rest = raw[marker + MARKER.len()..].trim_start();
        let rest = rest
            .strip_prefix("- ")
            .or_else(|| rest.strip_prefix(": "))
            .or_else(|| rest.strip_prefix('-'))
            .or_else(|| rest.strip_prefix(':'))
            .unwrap_or(rest);
        let event =
            parse_op(rest, events.len() as u64, line).map_err(|m| HistoryError::at(source, line, m))?;
        events.push(event);
    }
    Ok((events, skipped))
}

fn looks_like_log_line(raw: &str) -> bool {
    ["INFO", "WARN", "DEBUG", "ERROR", "TRACE", "FATAL"]
        .iter()
        .any(|level| raw.contains(level))
}

fn clip(s: &str) -> String {
    let end = s.char_indices().nth(60).map(|(i, _)| i).unwrap_or(s.len());
    if end < s.len() {
        format!("{}...", &s[..end])
    } else {
        s.to_string()
    }
}

fn next_field(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    if s.is_empty() {
        return None;
    }
    let end = s.find([' ', '\t']).unwrap_or(s.len());
    Some((&s[..end], &s[end..]))
}

fn parse_op(text: &str, position: u64, line: usize) -> Result<Event, String> {
    let shape = "expected \"PROCESS\t:TYPE\t:F\tVALUE\" after \"jepsen.util -\"";
    let (process_text, rest) = next_field(text).ok_or(shape)?;
    let process =
        match process_text {
            ":nemesis" | "nemesis" => Process::Nemesis,
            p => Process::Client(p.parse::<u64>().map_err(|_| {
                format!("the process must be a non-negative integer or :nemesis, found \"{p}\"")
            })?),
        };
    let (type_text, rest) = next_field(rest).ok_or(shape)?;
    let kind = type_text
        .strip_prefix(':')
        .and_then(EventKind::from_name)
        .ok_or_else(|| format!("the type must be :invoke, :ok, :fail or :info, found \"{type_text}\""))?;
    let (f_text, rest) = next_field(rest).ok_or(shape)?;
    let f = f_text.strip_prefix(':').unwrap_or(f_text).to_string();
    let value_text = rest.trim();
    let value = if value_text.is_empty() {
        Edn::Nil
    } else {
        parse_edn_value(value_text).map_err(|(_, m)| format!("bad value \"{}\": {m}", clip(value_text)))?
    };
    let mut event = Event::new(position, process, kind, f, value.to_json());
    event.line = line as u32;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tabs_spaces_nemesis_and_other_loggers() {
        let text = "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
                    INFO  jepsen.util - 3   :ok     :read   2\n\
                    INFO  jepsen.core - Running test\n\
                    INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
                    INFO  jepsen.util - 2\t:info\t:cas\t:timed-out\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\t{:cut [\"n1\"]}\n";
        let (events, skipped) = parse("e.log", text).unwrap();
        assert_eq!(skipped, 1);
        assert_eq!(events.len(), 5);
        assert_eq!(events[1].value, json!(2));
        assert_eq!(events[2].value, json!([3, 0]));
        assert_eq!(events[2].line, 4);
        assert_eq!(events[3].value, json!("timed-out"));
        assert_eq!(events[4].process, Process::Nemesis);
    }

    #[test]
    fn errors() {
        let cases = [
            ("INFO  jepsen.util - x\t:invoke\t:read\tnil", "process must be"),
            ("INFO  jepsen.util - 1\tinvoke\t:read\tnil", "type must be"),
            ("INFO  jepsen.util - 1\t:invoke", "expected"),
            ("INFO  jepsen.util - 1\t:ok\t:read\t[1 2", "bad value"),
            ("garbage", "expected a Jepsen log line"),
        ];
        for (text, needle) in cases {
            let e = parse("e.log", text).unwrap_err();
            assert_eq!(e.line(), Some(1));
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
