//! Histories: the contract between the harness that records operations and the checkers.
//!
//! A history is a sequence of [`Event`]s (invocations and completions, Jepsen style). This
//! module reads it from the native JSON Lines format, Jepsen's EDN `history.edn`, or Jepsen log
//! lines, or elle-cli's JSON ([`Format`]), validates it strictly, and pairs invocations with their completions into
//! [`Operation`]s that checkers consume; [`fault_windows`] pairs its nemesis events into the
//! faults in force.

mod edn;
mod edn_history;
mod elle_json;
mod error;
mod event;
mod faults;
mod fill_in_place;
mod format;
mod independent;
mod jepsen_log;
mod json_cursor;
mod jsonl;
mod jsonl_stream;
mod pairing;
mod quote;
mod raw_values;

pub use edn::{Edn, parse_edn_value};
pub use error::HistoryError;
pub use event::{Event, EventKind, Process};
pub use faults::{FaultWindow, fault_windows, in_force};
pub use format::{Format, detect_format};
pub use independent::{has_independent_txns, is_independent_txn, keyed_by_tuples, split_independent};
pub use jsonl::{event_to_json_line, write_jsonl};
pub use jsonl_stream::JsonlStream;
pub use pairing::{Operation, Outcome};
pub use quote::{QUOTE_LIMIT, quote, quote_json, quote_text};
pub use raw_values::RawValues;

pub(crate) use json_cursor::Cursor;

use std::path::Path;

/// Regular files at least this large are read in parts, one per core.
const PARALLEL_READ_FROM_BYTES: u64 = 16 << 20;

/// Reads a regular file of `len` bytes in parts on all cores (positioned reads into disjoint
/// parts of one buffer). `None` when the file holds a NUL byte or did not read back as exactly
/// `len` bytes (it changed while read, or a read failed): the caller then reads it in order,
/// which reports the problem.
#[cfg(unix)]
fn read_in_parts(file: &std::fs::File, len: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_part = len.div_ceil(threads).max(1);
    let mut bytes = vec![0u8; len];
    let all_read = std::thread::scope(|s| {
        let parts: Vec<_> = bytes
            .chunks_mut(per_part)
            .enumerate()
            .map(|(i, part)| {
                s.spawn(move || file.read_exact_at(part, (i * per_part) as u64).is_ok() && !part.contains(&0))
            })
            .collect();
        let read: Vec<bool> = parts.into_iter().map(|p| p.join().unwrap_or(false)).collect();
        read.into_iter().all(|ok| ok)
    });
    let mut past_end = [0u8; 1];
    let at_end = matches!(file.read_at(&mut past_end, len as u64), Ok(0));
    (all_read && at_end).then_some(bytes)
}

#[cfg(not(unix))]
fn read_in_parts(_file: &std::fs::File, _len: usize) -> Option<Vec<u8>> {
    None
}

/// Reads events in `format`; also returns how many non-operation log lines were passed over.
fn parse_events(source: &str, text: &str, format: Format) -> Result<(Vec<Event>, usize), HistoryError> {
    Ok(match format {
        Format::Jsonl => (jsonl::parse(source, text)?, 0),
        Format::Edn => (edn_history::parse(source, text)?, 0),
        Format::JepsenLog => jepsen_log::parse(source, text)?,
        Format::ElleJson => (elle_json::parse(source, text)?, 0),
    })
}

/// The largest history file `History::load` reads (4 GiB): beyond it, an error, rather than
/// running out of memory on a device or a runaway file.
pub const MAX_HISTORY_BYTES: u64 = 4 << 30;

/// Reads a file of at most `limit` bytes, in chunks, refusing early what cannot be a text
/// history: a NUL byte (`/dev/zero`, a binary file), or more than `limit` bytes.
fn read_bounded(path: &Path, source: &str, limit: u64) -> Result<Vec<u8>, HistoryError> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| HistoryError::io(source, e))?;
    let too_big = || {
        HistoryError::whole(
            source,
            format!(
                "the file is larger than {limit} bytes, the most faultline reads as one history; split it, or check it in parts"
            ),
        )
    };
    let known_len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    if known_len.is_some_and(|n| n > limit) {
        return Err(too_big());
    }
    if let Some(len) = known_len.filter(|&n| n >= PARALLEL_READ_FROM_BYTES)
        && let Some(bytes) = read_in_parts(&file, len as usize)
    {
        return Ok(bytes);
    }
    let mut bytes = Vec::with_capacity(known_len.unwrap_or(0) as usize);
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HistoryError::io(source, e)),
        };
        if let Some(at) = chunk[..n].iter().position(|&b| b == 0) {
            let line = bytes.iter().chain(&chunk[..at]).filter(|&&b| b == b'\n').count() + 1;
            return Err(HistoryError::at(
                source,
                line,
                format!(
                    "a NUL byte (at byte {}): this is binary data, not a text history",
                    bytes.len() + at
                ),
            ));
        }
        if (bytes.len() + n) as u64 > limit {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk[..n]);
    }
    Ok(bytes)
}

/// Reads a history file as text and tells its format (`format`, or detected): the source
/// label, the text and the format.
fn read_history_text(path: &Path, format: Option<Format>) -> Result<(String, String, Format), HistoryError> {
    let source = path.display().to_string();
    let bytes = read_bounded(path, &source, MAX_HISTORY_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        HistoryError::at(&source, line, "the file is not valid UTF-8 text")
    })?;
    let format = match format {
        Some(f) => f,
        None => detect_format(path, &text).ok_or_else(|| {
            HistoryError::whole(
                &source,
                "cannot tell the history format (expected JSON Lines, Jepsen EDN, Jepsen log lines or an elle-cli JSON array); pass --format",
            )
        })?,
    };
    Ok((source, text, format))
}

/// A validated history: its events in order, and the client operations paired from them.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Where the history came from (a file path, or a label such as `<stdin>`), for messages.
    pub source: String,
    /// Every event, in history order (the order of the file).
    pub events: Vec<Event>,
    /// Client operations, one per invocation, ordered by invocation position.
    pub ops: Vec<Operation>,
    /// Positions in `events` of the nemesis (fault injector) events.
    pub nemesis: Vec<usize>,
    /// Lines of a Jepsen log that were log output of other loggers, not operations.
    pub skipped_lines: usize,
    /// What the reader assumed that the user should know (printed with the verdict).
    pub warnings: Vec<String>,
    /// No client event is an invocation: each op is its completion alone (Elle accepts such
    /// histories). Nothing orders such ops in real time or per process: checkers that need
    /// those orders must not infer them (the transactional checker reports what it could not
    /// check; linearizability refuses the history).
    pub completion_only: bool,
}

/// The warning a completion-only history gets.
pub const COMPLETION_ONLY_WARNING: &str = "no op is an invocation (a completion-only history): no real-time or process order is inferred, and what depends on them is not checked";

/// Elle-style histories may give no process: when no client op names one, they are all one
/// process (0), with a warning; when some do and some do not, an error at the first without.
fn one_process_if_none_named(source: &str, events: &mut [Event]) -> Result<Vec<String>, HistoryError> {
    let missing = events.iter().filter(|e| e.process == event::NO_PROCESS).count();
    if missing == 0 {
        return Ok(Vec::new());
    }
    let clients = events.iter().filter(|e| e.process != Process::Nemesis).count();
    if missing < clients {
        let first = events
            .iter()
            .find(|e| e.process == event::NO_PROCESS)
            .map_or(0, |e| e.line);
        return Err(HistoryError::at(
            source,
            first as usize,
            "this op has no process, but others have one: give every op a process, or none",
        ));
    }
    for e in events.iter_mut().filter(|e| e.process == event::NO_PROCESS) {
        e.process = Process::Client(0);
    }
    Ok(vec![format!(
        "no op names a process: all {missing} are taken as one process, 0 (so they must not overlap)"
    )])
}

impl History {
    /// Builds a history from events: checks invocation/completion pairing and pairs them.
    pub fn from_events(source: impl Into<String>, mut events: Vec<Event>) -> Result<Self, HistoryError> {
        let source = source.into();
        let completion_only = pairing::is_completion_only(&events);
        let mut warnings = Vec::new();
        let (ops, nemesis) = if completion_only {
            warnings.push(COMPLETION_ONLY_WARNING.to_string());
            for e in events.iter_mut().filter(|e| e.process == event::NO_PROCESS) {
                e.process = Process::Client(0);
            }
            pairing::completions_alone(&events)
        } else {
            warnings = one_process_if_none_named(&source, &mut events)?;
            pairing::pair(&source, &events)?
        };
        Ok(History {
            source,
            events,
            ops,
            nemesis,
            skipped_lines: 0,
            warnings,
            completion_only,
        })
    }

    /// Parses a history from text in the given format.
    pub fn parse(source: impl Into<String>, text: &str, format: Format) -> Result<Self, HistoryError> {
        let source = source.into();
        let (events, skipped_lines) = parse_events(&source, text, format)?;
        let mut history = History::from_events(source, events)?;
        history.skipped_lines = skipped_lines;
        Ok(history)
    }

    /// Reads and parses a history file. With `format` `None`, the format is detected from the
    /// content (and, when the content is ambiguous, the file extension).
    pub fn load(path: &Path, format: Option<Format>) -> Result<Self, HistoryError> {
        let (source, text, format) = read_history_text(path, format)?;
        // The text can be large: free it before the events are paired.
        let (events, skipped_lines) = match format {
            Format::Jsonl => {
                let parts = jsonl::parse_parts(&source, &text)?;
                drop(text);
                (parts.join(), 0)
            }
            _ => {
                let parsed = parse_events(&source, &text, format)?;
                drop(text);
                parsed
            }
        };
        let mut history = History::from_events(source, events)?;
        history.skipped_lines = skipped_lines;
        Ok(history)
    }

    /// An error about the event at position `pos` in `events`, naming its line.
    pub fn error_at(&self, pos: usize, message: impl Into<String>) -> HistoryError {
        HistoryError::at(&self.source, self.events[pos].line as usize, message)
    }

    /// An operation's value: for `ok`, the completion's (what was read or done); otherwise the
    /// invocation's (what was attempted; an `info`/`fail` completion's value is often an error).
    pub fn value(&self, op: &Operation) -> &serde_json::Value {
        match (op.outcome, op.complete) {
            (Outcome::Ok, Some(c)) => &self.events[c].value,
            _ => &self.events[op.invoke].value,
        }
    }

    /// The invocation event of an operation.
    pub fn invocation(&self, op: &Operation) -> &Event {
        &self.events[op.invoke]
    }

    /// The completion event of an operation, if it completed.
    pub fn completion(&self, op: &Operation) -> Option<&Event> {
        op.complete.map(|c| &self.events[c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn reading_in_parts_gives_the_bytes_or_hands_back() {
        let dir = std::env::temp_dir().join(format!("faultline-read-parts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.jsonl");
        let text: String = (0..2000).map(|i| format!("{{\"index\":{i}}}\n")).collect();
        std::fs::write(&path, &text).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(read_in_parts(&file, text.len()).as_deref(), Some(text.as_bytes()));
        // Not the length the file has: the careful reader takes over.
        assert_eq!(read_in_parts(&file, text.len() - 1), None);
        assert_eq!(read_in_parts(&file, text.len() + 1), None);
        let mut binary = text.clone().into_bytes();
        binary[text.len() - 3] = 0;
        std::fs::write(&path, &binary).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(read_in_parts(&file, binary.len()), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ops_without_a_process_are_one_process_with_a_warning() {
        let h = History::parse(
            "h.edn",
            "{:type :invoke :f :write :value 1}\n{:type :ok :f :write :value 1}\n{:type :info :f :kill :process :nemesis}\n",
            Format::Edn,
        )
        .unwrap();
        assert_eq!(h.events[0].process, Process::Client(0));
        assert_eq!(h.ops.len(), 1);
        assert!(
            h.warnings[0].contains("all 2 are taken as one process, 0"),
            "{:?}",
            h.warnings
        );
        let named = History::parse(
            "h.jsonl",
            r#"{"process":3,"type":"invoke","f":"read"}"#,
            Format::Jsonl,
        )
        .unwrap();
        assert!(named.warnings.is_empty());
        let e = History::parse(
            "h.jsonl",
            "{\"process\":3,\"type\":\"invoke\",\"f\":\"read\"}\n{\"type\":\"invoke\",\"f\":\"read\"}\n",
            Format::Jsonl,
        )
        .unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
        assert!(
            e.to_string().contains("has no process, but others have one"),
            "{e}"
        );
    }

    #[test]
    fn completions_alone_are_ops_with_no_order_and_a_warning() {
        let h = History::parse(
            "h.edn",
            "{:type :ok :value [[:append 1 1]]}\n{:type :info :f :kill :process :nemesis}\n{:type :fail :value [[:append 1 2]]}\n",
            Format::Edn,
        )
        .unwrap();
        assert!(h.completion_only);
        assert_eq!(h.ops.len(), 2);
        assert_eq!(h.ops[1].outcome, Outcome::Fail);
        assert_eq!((h.ops[1].invoke, h.ops[1].complete), (2, Some(2)));
        assert_eq!(h.warnings, vec![COMPLETION_ONLY_WARNING.to_string()]);
        // One invocation makes it an ordinary history, where a lone completion is an error.
        let e = History::parse(
            "h.edn",
            "{:type :ok :value [[:append 1 1]] :process 0}\n{:type :invoke :value [[:append 1 2]] :process 1}\n",
            Format::Edn,
        )
        .unwrap_err();
        assert!(e.to_string().contains("no invocation in flight"), "{e}");
        assert!(!History::parse("h.edn", "", Format::Edn).unwrap().completion_only);
    }

    #[test]
    fn reading_is_bounded_and_refuses_binary_data() {
        let dir = std::env::temp_dir().join(format!("faultline-read-bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("h.jsonl");
        std::fs::write(&text, "0123456789\n0123456789\n").unwrap();
        assert_eq!(read_bounded(&text, "h", 22).unwrap().len(), 22);
        let e = read_bounded(&text, "h", 21).unwrap_err();
        assert!(e.to_string().contains("larger than 21 bytes"), "{e}");
        let nul = dir.join("nul");
        std::fs::write(&nul, b"{}\n\n{\0}").unwrap();
        let e = read_bounded(&nul, "nul", 100).unwrap_err();
        assert_eq!(e.line(), Some(3), "{e}");
        assert!(e.to_string().contains("NUL byte (at byte 5)"), "{e}");
        // A device that never ends is refused at its first chunk.
        let e = read_bounded(Path::new("/dev/zero"), "/dev/zero", MAX_HISTORY_BYTES).unwrap_err();
        assert!(e.to_string().contains("NUL byte (at byte 0)"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
