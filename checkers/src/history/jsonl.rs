//! The native format: JSON Lines, one event object per line (see GUIDE.md).
//!
//! Reading is strict: every non-blank line must be a JSON object with `process`, `type` and `f`;
//! `index` and `time` are optional (index defaults to the event's position). Unknown fields are
//! kept in [`Event::extra`].

use super::error::HistoryError;
use super::event::{Event, EventKind, Process};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::io::Write;

/// Parses JSON Lines text into events.
pub fn parse(source: &str, text: &str) -> Result<Vec<Event>, HistoryError> {
    let mut events = Vec::with_capacity(text.len() / 80);
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let raw_event: RawEvent = serde_json::from_str(trimmed).map_err(|e| {
            HistoryError::at(
                source,
                line,
                format!("not a valid history event: {}", describe_json_error(&e)),
            )
        })?;
        let event = raw_event
            .into_event(events.len() as u64, line)
            .map_err(|m| HistoryError::at(source, line, m))?;
        events.push(event);
    }
    Ok(events)
}

fn describe_json_error(e: &serde_json::Error) -> String {
    // serde_json appends " at line 1 column N"; the column is useful, the line is always 1.
    let text = e.to_string();
    match text.rfind(" at line 1 column ") {
        Some(pos) => format!(
            "{} (column {})",
            &text[..pos],
            &text[pos + " at line 1 column ".len()..]
        ),
        None => text,
    }
}

/// Serializes one event as a JSON line (without the newline).
pub fn event_to_json_line(event: &Event) -> String {
    serde_json::to_string(event).expect("events always serialize")
}

/// Writes events as JSON Lines.
pub fn write_jsonl<W: Write>(mut out: W, events: &[Event]) -> std::io::Result<()> {
    for e in events {
        serde_json::to_writer(&mut out, e)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// An event as read, before its fields are checked.
#[derive(Default)]
struct RawEvent {
    index: Option<Value>,
    time: Option<Value>,
    process: Option<Value>,
    kind: Option<Value>,
    f: Option<Value>,
    value: Option<Value>,
    key: Option<Value>,
    error: Option<Value>,
    extra: Map<String, Value>,
}

impl RawEvent {
    fn into_event(self, position: u64, line: usize) -> Result<Event, String> {
        let index = match self.index {
            None => position,
            Some(v) => v
                .as_u64()
                .ok_or_else(|| format!("field \"index\" must be a non-negative integer, found {v}"))?,
        };
        let time = match self.time {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                format!("field \"time\" must be a non-negative integer of nanoseconds, found {v}")
            })?),
        };
        let process = match self.process {
            None => return Err("missing field \"process\" (an integer, or \"nemesis\")".into()),
            Some(v) => process_from_json(&v)?,
        };
        let kind = match self.kind {
            None => return Err("missing field \"type\" (invoke, ok, fail or info)".into()),
            Some(Value::String(s)) => EventKind::from_name(&s)
                .ok_or_else(|| format!("field \"type\" must be invoke, ok, fail or info, found \"{s}\""))?,
            Some(v) => {
                return Err(format!(
                    "field \"type\" must be invoke, ok, fail or info, found {v}"
                ));
            }
        };
        let f = match self.f {
            None => return Err("missing field \"f\" (the operation's function)".into()),
            Some(Value::String(s)) => s,
            Some(v) => return Err(format!("field \"f\" must be a string, found {v}")),
        };
        Ok(Event {
            index,
            time,
            process,
            kind,
            f,
            value: self.value.unwrap_or(Value::Null),
            key: self.key,
            error: self.error,
            extra: self.extra,
            line: line as u32,
        })
    }
}

/// Reads a process id from JSON: a non-negative integer or the string "nemesis".
pub(crate) fn process_from_json(v: &Value) -> Result<Process, String> {
    match v {
        Value::Number(n) => n.as_u64().map(Process::Client).ok_or_else(|| {
            format!("field \"process\" must be a non-negative integer or \"nemesis\", found {v}")
        }),
        Value::String(s) if s == "nemesis" => Ok(Process::Nemesis),
        _ => Err(format!(
            "field \"process\" must be a non-negative integer or \"nemesis\", found {v}"
        )),
    }
}

impl<'de> de::Deserialize<'de> for RawEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawEvent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent, A::Error> {
                let mut raw = RawEvent::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let slot = match key.as_ref() {
                        "index" => &mut raw.index,
                        "time" => &mut raw.time,
                        "process" => &mut raw.process,
                        "type" => &mut raw.kind,
                        "f" => &mut raw.f,
                        "value" => &mut raw.value,
                        "key" => &mut raw.key,
                        "error" => &mut raw.error,
                        other => {
                            let v: Value = map.next_value()?;
                            if raw.extra.insert(other.to_string(), v).is_some() {
                                return Err(de::Error::custom(format!("duplicate field \"{other}\"")));
                            }
                            continue;
                        }
                    };
                    if slot.is_some() {
                        let _: IgnoredAny = map.next_value()?;
                        return Err(de::Error::custom(format!("duplicate field \"{key}\"")));
                    }
                    *slot = Some(map.next_value()?);
                }
                Ok(raw)
            }
        }
        d.deserialize_map(RawVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_guide_example_and_keeps_extra_fields() {
        let text = r#"{"index":0,"time":1200,"process":0,"type":"invoke","f":"write","value":3,"key":"k1"}
{"index":1,"time":5400,"process":0,"type":"ok","f":"write","value":3,"key":"k1","node":"n2","latency":4200}

{"index":4,"time":9500,"process":"nemesis","type":"info","f":"start-partition","value":{"kind":"isolate-leader"}}
"#;
        let events = parse("t.jsonl", text).unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].kind, EventKind::Invoke);
        assert_eq!(events[0].key, Some(Value::from("k1")));
        assert_eq!(events[1].extra.get("node"), Some(&Value::from("n2")));
        assert_eq!(events[2].process, Process::Nemesis);
        assert_eq!(events[2].line, 4);
        let line = event_to_json_line(&events[1]);
        assert_eq!(
            line,
            r#"{"index":1,"time":5400,"process":0,"type":"ok","f":"write","value":3,"key":"k1","node":"n2","latency":4200}"#
        );
    }

    #[test]
    fn round_trips_through_the_writer() {
        let text =
            r#"{"index":0,"process":1,"type":"invoke","f":"txn","value":[["append",5,1],["r",5,null]]}"#;
        let events = parse("t", text).unwrap();
        let mut out = Vec::new();
        write_jsonl(&mut out, &events).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().trim_end(), text);
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let cases = [
            (
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"okay\",\"f\":\"read\"}",
                2,
                "found \"okay\"",
            ),
            (
                "{\"process\":-1,\"type\":\"invoke\",\"f\":\"read\"}",
                1,
                "non-negative integer",
            ),
            (
                "{\"type\":\"invoke\",\"f\":\"read\"}",
                1,
                "missing field \"process\"",
            ),
            (
                "\n\n{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"",
                3,
                "not a valid history event",
            ),
            ("[1,2]", 1, "not a valid history event"),
            (
                "{\"process\":0,\"type\":\"invoke\",\"f\":7}",
                1,
                "\"f\" must be a string",
            ),
            (
                "{\"process\":0,\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}",
                1,
                "duplicate field",
            ),
        ];
        for (text, line, needle) in cases {
            let err = parse("h.jsonl", text).unwrap_err();
            assert_eq!(err.line(), Some(line), "{text}: {err}");
            assert!(err.to_string().contains(needle), "{text}: {err}");
            assert!(err.to_string().starts_with(&format!("h.jsonl:{line}: ")), "{err}");
        }
    }
}
