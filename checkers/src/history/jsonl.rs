//! The native format: JSON Lines, one event object per line (see GUIDE.md).
//!
//! Reading is strict: every non-blank line must be a JSON object with `process`, `type` and `f`;
//! `index` and `time` are optional (index defaults to the event's position). Unknown fields are
//! kept in [`Event::extra`].

use super::error::HistoryError;
use super::event::{Event, EventKind, Process};
use super::fill_in_place::fill_in_place;
use super::json_cursor::Cursor;
use super::quote::quote;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::Write;

/// Texts at least this large are parsed in parallel, one chunk of lines per core.
const PARALLEL_FROM_BYTES: usize = 4 << 20;

/// Parses JSON Lines text into events. Large texts are split at line boundaries and parsed on
/// all cores; the result, including line numbers, default indices and which error is reported
/// (the first bad line), is the same as parsing line by line.
pub fn parse(source: &str, text: &str) -> Result<Vec<Event>, HistoryError> {
    parse_parts(source, text).map(Parts::join)
}

/// Where an event's value is in the text, when it was left as text (see [`parse_parts_lean`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawSpan {
    /// Byte offset in the whole text.
    pub start: u64,
    /// Length in bytes; [`RawSpan::NONE`]'s `u32::MAX` when the event's value was parsed.
    pub len: u32,
}

impl RawSpan {
    /// No text: the event's value is in [`Event::value`].
    pub const NONE: RawSpan = RawSpan {
        start: 0,
        len: u32::MAX,
    };
}

/// Events parsed from a whole text (side by side when large), numbered as one history.
pub(crate) struct Parts {
    events: Vec<Event>,
    /// Lean parsing: where each event's value text is, one list per piece in order; else empty.
    raw_values: Vec<Vec<RawSpan>>,
}

/// Parses JSON Lines text (in parallel when large).
pub(crate) fn parse_parts(source: &str, text: &str) -> Result<Parts, HistoryError> {
    parse_parts_with(source, text, false)
}

/// Like [`parse_parts`], but the value of every event whose `f` is `"txn"` is left as text:
/// the event's value is `null`, and [`Parts::join_lean`] gives where its text is. The
/// transactional checkers read such values straight into their compact form.
pub(crate) fn parse_parts_lean(source: &str, text: &str) -> Result<Parts, HistoryError> {
    parse_parts_with(source, text, true)
}

fn parse_parts_with(source: &str, text: &str, lean: bool) -> Result<Parts, HistoryError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let base = text.as_ptr() as usize;
    let lean = lean.then_some(base);
    if text.len() < PARALLEL_FROM_BYTES || threads < 2 {
        let chunk = parse_chunk(source, text, lean)?;
        return Ok(Parts {
            events: chunk.events,
            raw_values: vec![chunk.raw_values],
        });
    }
    let pieces = split_at_lines(text, threads);
    // Each piece's line count: an upper bound on its events; their sums are where the pieces
    // start (so every thread numbers its lines, and reports errors, absolutely).
    let lines: Vec<usize> = std::thread::scope(|s| {
        let counts: Vec<_> = pieces
            .iter()
            .map(|&p| s.spawn(move || p.lines().count()))
            .collect();
        counts
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let (events, parsed) = fill_in_place(&lines, |i, first_line, slots| {
        parse_lines(source, pieces[i], lean, first_line, |event| slots.push(event))
    });
    // The first error in line order is the one reported, as line by line.
    let parsed = parsed.into_iter().collect::<Result<Vec<_>, _>>()?;
    let mut events = events.expect("every piece was parsed");
    let mut raw_values = Vec::with_capacity(parsed.len());
    let mut position_offset = 0;
    for piece in parsed {
        for &p in &piece.defaulted_index {
            events[position_offset + p].index += position_offset as u64;
        }
        position_offset += piece.events;
        raw_values.push(piece.raw_values);
    }
    Ok(Parts { events, raw_values })
}

impl Parts {
    /// The events, in order.
    pub(crate) fn join(self) -> Vec<Event> {
        self.events
    }

    /// The events, in order, and where each one's value text is (lean parsing).
    pub(crate) fn join_lean(self) -> (Vec<Event>, Vec<RawSpan>) {
        let raw_values = match <[_; 1]>::try_from(self.raw_values) {
            Ok([one]) => one,
            Err(pieces) => pieces.concat(),
        };
        (self.events, raw_values)
    }
}

/// Splits text into about `parts` pieces, each ending just after a newline (except the last).
fn split_at_lines(text: &str, parts: usize) -> Vec<&str> {
    let mut chunks = Vec::with_capacity(parts);
    let mut rest = text;
    for i in (1..parts).rev() {
        let target = rest.len() / (i + 1);
        match rest.as_bytes()[target..].iter().position(|&b| b == b'\n') {
            Some(nl) => {
                let (head, tail) = rest.split_at(target + nl + 1);
                chunks.push(head);
                rest = tail;
            }
            None => break,
        }
    }
    chunks.push(rest);
    chunks
}

/// Events parsed from a run of lines, numbered as if the run started the file.
pub(super) struct Chunk {
    pub(super) events: Vec<Event>,
    /// Lines in the run (the line offset of the next run).
    pub(super) lines: u32,
    /// Events whose `index` was absent and so defaulted to their position in this run.
    pub(super) defaulted_index: Vec<usize>,
    /// Lean parsing: where each event's value text is (one per event), else empty.
    raw_values: Vec<RawSpan>,
}

/// Parses a run of lines; with `lean` (the address of the whole text) the values of
/// transactions are left as text (see [`parse_parts_lean`]).
pub(super) fn parse_chunk(source: &str, text: &str, lean: Option<usize>) -> Result<Chunk, HistoryError> {
    let mut events = Vec::with_capacity(text.len() / 80);
    let parsed = parse_lines(source, text, lean, 0, |event| events.push(event))?;
    Ok(Chunk {
        events,
        lines: parsed.lines as u32,
        defaulted_index: parsed.defaulted_index,
        raw_values: parsed.raw_values,
    })
}

/// What [`parse_lines`] found besides the events it handed on.
struct ParsedLines {
    /// Events handed on.
    events: usize,
    /// Lines in the run.
    lines: usize,
    /// Positions in the run of the events whose `index` defaulted to that position.
    defaulted_index: Vec<usize>,
    /// Lean parsing: where each event's value text is (one per event), else empty.
    raw_values: Vec<RawSpan>,
}

/// Parses a run of lines that starts after line `first_line` of the source, handing each
/// event to `emit` in order. Events are numbered (default index) from the run's start; line
/// numbers, in events and errors, are the source's.
fn parse_lines(
    source: &str,
    text: &str,
    lean: Option<usize>,
    first_line: usize,
    mut emit: impl FnMut(Event),
) -> Result<ParsedLines, HistoryError> {
    let mut raw_values = Vec::with_capacity(if lean.is_some() { text.len() / 80 } else { 0 });
    let mut defaulted_index = Vec::new();
    let (mut lines, mut events) = (0, 0);
    for (i, raw) in text.lines().enumerate() {
        let line = first_line + i + 1;
        lines = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let scanned = lean.and_then(|_| scan_lean_event(trimmed));
        let parsed = match scanned {
            Some(raw) => Ok(raw),
            None => {
                let mut de = serde_json::Deserializer::from_str(trimmed);
                de::DeserializeSeed::deserialize(EventSeed { lean: lean.is_some() }, &mut de)
                    .and_then(|raw| de.end().map(|()| raw))
            }
        };
        let mut raw_event = parsed.map_err(|e| {
            HistoryError::at(
                source,
                line,
                format!("not a valid history event: {}", describe_json_error(&e)),
            )
        })?;
        if raw_event.index.is_none() {
            defaulted_index.push(events);
        }
        if let Some(base) = lean {
            // Only transactions keep their value as text; any other event's value is parsed.
            let text_value = raw_event.value_text.take();
            let span = match text_value {
                Some(t) if matches!(&raw_event.f, Some(Value::String(f)) if f == "txn") => RawSpan {
                    start: (t.as_ptr() as usize - base) as u64,
                    len: t.len() as u32,
                },
                Some(t) => {
                    raw_event.value = Some(serde_json::from_str(t).map_err(|e| {
                        HistoryError::at(
                            source,
                            line,
                            format!("not a valid history event: {}", describe_json_error(&e)),
                        )
                    })?);
                    RawSpan::NONE
                }
                None => RawSpan::NONE,
            };
            raw_values.push(span);
        }
        let event = raw_event
            .into_event(events as u64, line)
            .map_err(|m| HistoryError::at(source, line, m))?;
        emit(event);
        events += 1;
    }
    Ok(ParsedLines {
        events,
        lines,
        defaulted_index,
        raw_values,
    })
}

/// Reads the usual shape of an event line in place, for lean parsing: an object of `index`,
/// `time`, `process` (non-negative integers), `type`, `f` (strings) and `value` (its text), each
/// at most once, in the subset [`Cursor`] reads. `None` for any other line, which serde_json
/// then reads (and reports on), so a line read here is read as serde_json reads it.
fn scan_lean_event(line: &str) -> Option<RawEvent<'_>> {
    let mut c = Cursor::new(line);
    let mut raw = RawEvent::default();
    c.expect(b'{')?;
    loop {
        c.skip_ws();
        let key = c.string_content()?;
        c.skip_ws();
        c.expect(b':')?;
        c.skip_ws();
        match key {
            "index" | "time" | "process" => {
                let field = match key {
                    "index" => &mut raw.index,
                    "time" => &mut raw.time,
                    _ => &mut raw.process,
                };
                let text = c.integer().filter(|t| !t.starts_with('-'))?;
                field.is_none().then_some(())?;
                *field = Some(RawField(text));
            }
            "type" => {
                // Read as the kind it names (no string kept); any other text goes to serde_json.
                let kind = EventKind::from_name(c.string_content()?)?;
                raw.scanned_kind.is_none().then_some(())?;
                raw.scanned_kind = Some(kind);
            }
            "f" => {
                let text = c.string_content()?;
                raw.f.is_none().then_some(())?;
                raw.f = Some(Value::String(text.to_string()));
            }
            "value" => {
                let text = c.value()?;
                raw.value_text.is_none().then_some(())?;
                raw.value_text = Some(text);
            }
            _ => return None,
        }
        c.skip_ws();
        if c.eat(b'}') {
            break;
        }
        c.expect(b',')?;
    }
    c.skip_ws();
    c.at_end().then_some(raw)
}

/// Reads one event object (the text of one JSON object) at `position` in the history, from
/// `line` of the source: the same rules as a JSON Lines line. elle-cli's JSON arrays use it.
pub(crate) fn parse_object(
    source: &str,
    text: &str,
    position: u64,
    line: usize,
) -> Result<Event, HistoryError> {
    let raw_event: RawEvent = serde_json::from_str(text).map_err(|e| {
        HistoryError::at(
            source,
            line,
            format!("not a valid history event: {}", describe_json_error(&e)),
        )
    })?;
    raw_event
        .into_event(position, line)
        .map_err(|m| HistoryError::at(source, line, m))
}

pub(crate) fn describe_json_error(e: &serde_json::Error) -> String {
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

/// A field read as its JSON text (no allocation); the common case, a plain non-negative
/// integer, is parsed straight from the text.
#[derive(Clone, Copy)]
struct RawField<'a>(&'a str);

impl RawField<'_> {
    /// The field as a non-negative integer, if it is written as one.
    fn as_u64(self) -> Option<u64> {
        let text = self.0;
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok()
        } else {
            None
        }
    }

    /// The field as a JSON value (for the uncommon cases and for messages).
    fn value(self) -> Value {
        serde_json::from_str(self.0).unwrap_or(Value::Null)
    }
}

/// An event as read, before its fields are checked.
#[derive(Default)]
struct RawEvent<'a> {
    index: Option<RawField<'a>>,
    time: Option<RawField<'a>>,
    process: Option<RawField<'a>>,
    kind: Option<Value>,
    /// Lean scanning: the `type`, already read as the kind it names.
    scanned_kind: Option<EventKind>,
    f: Option<Value>,
    value: Option<Value>,
    /// Lean parsing: the value as text (not yet parsed).
    value_text: Option<&'a str>,
    key: Option<Value>,
    error: Option<Value>,
    extra: Vec<(String, Value)>,
}

impl RawEvent<'_> {
    fn into_event(self, position: u64, line: usize) -> Result<Event, String> {
        let index = match self.index {
            None => position,
            Some(v) => v.as_u64().ok_or_else(|| {
                format!(
                    "field \"index\" must be a non-negative integer, found {}",
                    quote(&v.value())
                )
            })?,
        };
        let time = match self.time {
            None => None,
            Some(v) if v.0 == "null" => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                format!(
                    "field \"time\" must be a non-negative integer of nanoseconds, found {}",
                    quote(&v.value())
                )
            })?),
        };
        let process = match self.process {
            None => super::event::NO_PROCESS,
            Some(v) => match v.as_u64() {
                Some(p) => Process::Client(p),
                None => process_from_json(&v.value())?,
            },
        };
        let kind = match self.kind {
            None => self
                .scanned_kind
                .ok_or("missing field \"type\" (invoke, ok, fail or info)")?,
            Some(Value::String(s)) => EventKind::from_name(&s)
                .ok_or_else(|| format!("field \"type\" must be invoke, ok, fail or info, found \"{s}\""))?,
            Some(v) => {
                return Err(format!(
                    "field \"type\" must be invoke, ok, fail or info, found {}",
                    quote(&v)
                ));
            }
        };
        let f = match self.f {
            None => match self.value.as_ref().and_then(super::event::infer_function) {
                Some(f) => f.to_string(),
                None => {
                    return Err(
                        "missing field \"f\" (the operation's function; it may be left out only for a transaction, a list of [f key value] micro-ops)"
                            .into(),
                    );
                }
            },
            Some(Value::String(s)) => s,
            Some(v) => return Err(format!("field \"f\" must be a string, found {}", quote(&v))),
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
            format!(
                "field \"process\" must be a non-negative integer or \"nemesis\", found {}",
                quote(v)
            )
        }),
        Value::String(s) if s == "nemesis" => Ok(Process::Nemesis),
        _ => Err(format!(
            "field \"process\" must be a non-negative integer or \"nemesis\", found {}",
            quote(v)
        )),
    }
}

impl<'de> de::Deserialize<'de> for RawEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de::DeserializeSeed::deserialize(EventSeed { lean: false }, d)
    }
}

/// Reads a [`RawEvent`]; with `lean`, the value is kept as text.
struct EventSeed {
    lean: bool,
}

impl<'de> de::DeserializeSeed<'de> for EventSeed {
    type Value = RawEvent<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawEvent<'de>, D::Error> {
        struct RawVisitor {
            lean: bool,
        }
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent<'de>, A::Error> {
                let mut raw = RawEvent::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let field = match key.as_ref() {
                        "index" => Some(&mut raw.index),
                        "time" => Some(&mut raw.time),
                        "process" => Some(&mut raw.process),
                        _ => None,
                    };
                    if let Some(field) = field {
                        if field.is_some() {
                            let _: IgnoredAny = map.next_value()?;
                            return Err(de::Error::custom(format!("duplicate field \"{key}\"")));
                        }
                        let text: &serde_json::value::RawValue = map.next_value()?;
                        *field = Some(RawField(text.get()));
                        continue;
                    }
                    if self.lean && key == "value" {
                        if raw.value_text.is_some() {
                            let _: IgnoredAny = map.next_value()?;
                            return Err(de::Error::custom(format!("duplicate field \"{key}\"")));
                        }
                        let text: &serde_json::value::RawValue = map.next_value()?;
                        raw.value_text = Some(text.get());
                        continue;
                    }
                    let slot = match key.as_ref() {
                        "type" => &mut raw.kind,
                        "f" => &mut raw.f,
                        "value" => &mut raw.value,
                        "key" => &mut raw.key,
                        "error" => &mut raw.error,
                        other => {
                            let v: Value = map.next_value()?;
                            if raw.extra.iter().any(|(k, _)| k == other) {
                                return Err(de::Error::custom(format!("duplicate field \"{other}\"")));
                            }
                            raw.extra.push((other.to_string(), v));
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
        d.deserialize_map(RawVisitor { lean: self.lean })
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
        assert_eq!(events[1].extra_field("node"), Some(&Value::from("n2")));
        assert_eq!(events[2].process, Process::Nemesis);
        assert_eq!(events[2].line, 4);
        let line = event_to_json_line(&events[1]);
        assert_eq!(
            line,
            r#"{"index":1,"time":5400,"process":0,"type":"ok","f":"write","value":3,"key":"k1","node":"n2","latency":4200}"#
        );
    }

    #[test]
    fn a_transaction_needs_no_f() {
        let events = parse("t", r#"{"process":0,"type":"invoke","value":[["append",1,2]]}"#).unwrap();
        assert_eq!(events[0].f, "txn");
        let e = parse("t", r#"{"process":0,"type":"invoke","value":3}"#).unwrap_err();
        assert!(e.to_string().contains("missing field \"f\""), "{e}");
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
    fn parallel_parsing_matches_line_by_line_parsing() {
        let mut text = String::new();
        for i in 0..120_000u64 {
            if i % 1000 == 7 {
                text.push_str("\n  \n");
            }
            if i % 3 == 0 {
                text.push_str(&format!(
                    "{{\"process\":{i},\"type\":\"invoke\",\"f\":\"read\",\"value\":null}}\n"
                ));
            } else {
                text.push_str(&format!(
                    "{{\"index\":{},\"time\":{i},\"process\":{i},\"type\":\"invoke\",\"f\":\"write\",\"value\":{i}}}\n",
                    i * 10
                ));
            }
        }
        assert!(text.len() >= PARALLEL_FROM_BYTES);
        let parallel = parse("big", &text).unwrap();
        let sequential = parse_chunk("big", &text, None).unwrap().events;
        assert_eq!(parallel.len(), 120_000);
        assert!(parallel == sequential, "parallel and sequential parses differ");
        // The reported error is the first bad line, with its absolute number.
        let mut lines: Vec<&str> = text.lines().collect();
        let (early, late) = (lines.len() / 2 + 5, lines.len() - 3);
        lines[late] = "{oops";
        lines[early] = "{\"process\":0}";
        let bad = lines.join("\n");
        let e = parse("big", &bad).unwrap_err();
        assert_eq!(e.line(), Some(early + 1), "{e}");
        assert!(e.to_string().contains("missing field \"type\""), "{e}");
    }

    #[test]
    fn parallel_lean_parsing_matches_line_by_line_lean_parsing() {
        let mut text = String::new();
        for i in 0..60_000u64 {
            if i % 997 == 3 {
                text.push_str("\n\n");
            }
            let index = if i % 5 == 0 {
                String::new()
            } else {
                format!("\"index\":{i},")
            };
            text.push_str(&format!(
                "{{{index}\"process\":{},\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",{},{i}],[\"r\",{},null]]}}\n",
                i % 7,
                i % 11,
                i % 13
            ));
            if i % 101 == 0 {
                text.push_str("{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\",\"value\":{\"node\":\"n1\"}}\n");
            }
        }
        assert!(text.len() >= PARALLEL_FROM_BYTES);
        let (parallel, spans) = parse_parts_lean("big", &text).unwrap().join_lean();
        let sequential = parse_chunk("big", &text, Some(text.as_ptr() as usize)).unwrap();
        assert!(
            parallel == sequential.events,
            "parallel and sequential lean parses differ"
        );
        assert_eq!(spans.len(), parallel.len());
        let span_pairs = |s: &[RawSpan]| s.iter().map(|s| (s.start, s.len)).collect::<Vec<_>>();
        assert_eq!(span_pairs(&spans), span_pairs(&sequential.raw_values));
        // A bad line in each piece: the first one is reported, by its number in the file.
        let mut lines: Vec<&str> = text.lines().collect();
        let (early, late) = (lines.len() / 3, lines.len() - 10);
        lines[early] = "{\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[";
        lines[late] = "{oops";
        let bad = lines.join("\n");
        let e = parse_parts_lean("big", &bad).err().unwrap();
        assert_eq!(e.line(), Some(early + 1), "{e}");
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
                "{\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[]}\n{\"process\":0,\"type\":\"okay\",\"f\":\"txn\",\"value\":[]}",
                2,
                "found \"okay\"",
            ),
            (
                "{\"process\":0,\"type\":\"ok\",\"type\":\"ok\",\"f\":\"txn\",\"value\":[]}",
                1,
                "duplicate field",
            ),
            (
                "{\"process\":0,\"f\":\"txn\",\"value\":[]}",
                1,
                "missing field \"type\"",
            ),
            (
                "{\"process\":-1,\"type\":\"invoke\",\"f\":\"read\"}",
                1,
                "non-negative integer",
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
            // Lean parsing (its own scanner first) reports the same error.
            let lean = parse_parts_lean("h.jsonl", text).err().unwrap();
            assert_eq!(lean.to_string(), err.to_string());
            assert!(err.to_string().contains(needle), "{text}: {err}");
            assert!(err.to_string().starts_with(&format!("h.jsonl:{line}: ")), "{err}");
        }
    }
}
