//! One history event: an invocation or completion of an operation by a process.
//!
//! Field names and meanings follow Jepsen, so an event converts 1:1 between the native JSON
//! Lines format and Jepsen's `history.edn`.

use serde::{Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// The process the readers give an op written without one (Elle-style histories); a history
/// where every client op lacks a process becomes one process, 0 (see `History::from_events`).
pub(crate) const NO_PROCESS: Process = Process::Client(u64::MAX);

/// Who performed an event: a client process (single-threaded), or the nemesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client process id. After an `info` completion the harness uses a fresh id.
    Client(u64),
    /// The fault injector.
    Nemesis,
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(p) => write!(f, "{p}"),
            Process::Nemesis => f.write_str("nemesis"),
        }
    }
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

/// The type of an event (Jepsen's `:type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The operation was invoked.
    Invoke,
    /// It completed and took effect.
    Ok,
    /// It completed and certainly did not take effect.
    Fail,
    /// Its outcome is unknown: it may take effect at any later time, or never.
    Info,
}

impl EventKind {
    /// Parses the type name used in histories (`invoke`, `ok`, `fail`, `info`).
    pub fn from_name(name: &str) -> Option<EventKind> {
        match name {
            "invoke" => Some(EventKind::Invoke),
            "ok" => Some(EventKind::Ok),
            "fail" => Some(EventKind::Fail),
            "info" => Some(EventKind::Info),
            _ => None,
        }
    }

    /// The name used in histories.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Invoke => "invoke",
            EventKind::Ok => "ok",
            EventKind::Fail => "fail",
            EventKind::Info => "info",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One line of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the history as recorded (Jepsen's `:index`).
    pub index: u64,
    /// Nanoseconds since the run began, when known.
    pub time: Option<u64>,
    /// Who performed it.
    pub process: Process,
    /// Invocation or completion type.
    pub kind: EventKind,
    /// The function: `read`, `write`, `cas`, `txn`, or a nemesis action.
    pub f: String,
    /// The operation's argument or result.
    pub value: Value,
    /// The key, for multi-key histories in the native format.
    pub key: Option<Value>,
    /// An error description a client attached, if any.
    pub error: Option<Value>,
    /// Any other fields, in the order they were written (see [`Event::extra_field`]).
    pub extra: Vec<(String, Value)>,
    /// The 1-based line of the source this event was read from (0 when built in memory).
    pub line: u32,
}

impl Event {
    /// A new event with no key, error, or extra fields.
    pub fn new(index: u64, process: Process, kind: EventKind, f: impl Into<String>, value: Value) -> Self {
        Event {
            index,
            time: None,
            process,
            kind,
            f: f.into(),
            value,
            key: None,
            error: None,
            extra: Vec::new(),
            line: 0,
        }
    }

    /// The value of an extra field (one other than index, time, process, type, f, value, key
    /// and error), if the event has it.
    pub fn extra_field(&self, name: &str) -> Option<&Value> {
        self.extra.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("index", &self.index)?;
        if let Some(t) = self.time {
            map.serialize_entry("time", &t)?;
        }
        map.serialize_entry("process", &self.process)?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("f", &self.f)?;
        map.serialize_entry("value", &self.value)?;
        if let Some(k) = &self.key {
            map.serialize_entry("key", k)?;
        }
        if let Some(e) = &self.error {
            map.serialize_entry("error", e)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The function of an op written without one (Elle's histories omit `:f` on transactions):
/// `txn` when the value is a non-empty list of micro-ops `[f key value]` with `f` one of
/// `append`, `r`, `w`; otherwise `None` (the op must then name its function).
pub(crate) fn infer_function(value: &Value) -> Option<&'static str> {
    let Value::Array(mops) = value else { return None };
    let is_mop = |m: &Value| {
        matches!(m, Value::Array(parts) if parts.len() == 3
            && matches!(parts[0].as_str(), Some("append" | "r" | "w")))
    };
    (!mops.is_empty() && mops.iter().all(is_mop)).then_some("txn")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transactions_are_recognised_by_their_value() {
        assert_eq!(
            infer_function(&json!([["append", 1, 2], ["r", 1, null]])),
            Some("txn")
        );
        assert_eq!(infer_function(&json!([["w", "x", 1]])), Some("txn"));
        assert_eq!(infer_function(&json!([])), None);
        assert_eq!(infer_function(&json!([["cas", 1, 2]])), None);
        assert_eq!(infer_function(&json!(3)), None);
        assert_eq!(infer_function(&json!([["r", 1]])), None);
    }
}
