//! A JSON Lines history read as it is written: bytes go in as they reach the file, each whole
//! line is parsed once, and the events make the same [`History`] that [`History::load`] makes
//! of the finished file (same events, line numbers, default indices, warnings and errors). The
//! harness uses it to parse a run's history while the run goes, so the verdict does not wait
//! for the file to be read back.
//!
//! Events are paired into operations as they are parsed, so the history so far can be lent
//! ([`JsonlStream::with_history`]) without copying or pairing it again: a look at a long run
//! costs what the run added. That holds while pairing one event at a time gives what pairing
//! the whole file gives: every client event names a process and the first is an invocation
//! (what the harness writes). Otherwise (Elle's process-less or completion-only histories,
//! whose reading depends on the whole file) the events are paired from scratch when asked.
//!
//! Errors are found line by line, so on a broken file the first error here may not be the one
//! [`History::load`] reports (it checks the whole file's UTF-8 before any event); a caller that
//! shows errors to people reads the file back for its message.

use super::error::HistoryError;
use super::event::Event;
use super::event::{EventKind, NO_PROCESS, Process};
use super::jsonl::parse_chunk;
use super::pairing::Pairer;
use super::{History, MAX_HISTORY_BYTES};

/// A history being parsed line by line as its bytes arrive.
#[derive(Debug)]
pub struct JsonlStream {
    /// Every event of a whole line so far; while `pairing` is on, their operations too.
    history: History,
    /// Pairs each event as it is parsed; `None` once the history is one that only the whole
    /// file can pair (see the module docs).
    pairing: Option<LivePairing>,
    /// A client event was parsed already.
    any_client: bool,
    /// Whole lines parsed so far.
    lines: u32,
    /// Bytes of an unfinished last line.
    partial: Vec<u8>,
    /// Bytes fed so far.
    fed: u64,
    /// The first error; once set, nothing more is parsed.
    error: Option<HistoryError>,
}

impl JsonlStream {
    /// An empty history named `source` (the file path, as [`History::load`] names it).
    pub fn new(source: impl Into<String>) -> Self {
        JsonlStream {
            history: History {
                source: source.into(),
                ..History::default()
            },
            pairing: Some(LivePairing::default()),
            any_client: false,
            lines: 0,
            partial: Vec::new(),
            fed: 0,
            error: None,
        }
    }

    /// Takes the next bytes of the file and parses every line they finish. After an error
    /// (bad UTF-8, a bad event, a file beyond [`MAX_HISTORY_BYTES`]) nothing more is parsed and
    /// [`JsonlStream::finish`] returns that error.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.fed += bytes.len() as u64;
        if self.fed > MAX_HISTORY_BYTES {
            self.error = Some(HistoryError::whole(
                &self.history.source,
                format!(
                    "the file is larger than {MAX_HISTORY_BYTES} bytes, the most faultline reads as one history"
                ),
            ));
            return;
        }
        let mut rest = bytes;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, tail) = rest.split_at(nl + 1);
            rest = tail;
            if self.partial.is_empty() {
                self.parse_line(line);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.parse_line(&whole);
            }
            if self.error.is_some() {
                return;
            }
        }
        self.partial.extend_from_slice(rest);
    }

    /// Parses one line (with its newline, except for a last line without one).
    fn parse_line(&mut self, line: &[u8]) {
        let number = self.lines as usize + 1;
        let text = match std::str::from_utf8(line) {
            Ok(text) => text,
            Err(_) => {
                self.error = Some(HistoryError::at(
                    &self.history.source,
                    number,
                    "the file is not valid UTF-8 text",
                ));
                return;
            }
        };
        match parse_chunk(&self.history.source, text, None) {
            Ok(chunk) => {
                let position = self.history.events.len() as u64;
                for (i, mut event) in chunk.events.into_iter().enumerate() {
                    if chunk.defaulted_index.contains(&i) {
                        event.index += position;
                    }
                    event.line += self.lines;
                    self.history.events.push(event);
                    self.pair_last();
                }
                self.lines += chunk.lines.max(1);
            }
            Err(mut e) => {
                if let HistoryError::Line { line, .. } = &mut e {
                    *line += self.lines as usize;
                }
                self.error = Some(e);
            }
        }
    }

    /// Pairs the event just parsed, or turns live pairing off for good when this event makes
    /// the history one that only the whole file can pair.
    fn pair_last(&mut self) {
        let Some(pairing) = &mut self.pairing else {
            return;
        };
        let pos = self.history.events.len() - 1;
        let event = &self.history.events[pos];
        if event.process != Process::Nemesis {
            let first_client = !std::mem::replace(&mut self.any_client, true);
            if event.process == NO_PROCESS || first_client && event.kind != EventKind::Invoke {
                self.pairing = None;
                self.history.ops = Vec::new();
                self.history.nemesis = Vec::new();
                return;
            }
        }
        if pairing.error.is_some() {
            return;
        }
        let h = &mut self.history;
        if let Err(e) = pairing
            .pairer
            .pair_next(&h.source, &h.events, pos, &mut h.ops, &mut h.nemesis)
        {
            pairing.error = Some(e);
        }
    }

    /// Calls `f` with the history of every whole line so far (operations not yet completed
    /// are pending), or returns the first error. The history is lent as it stands when it was
    /// paired as it was parsed, built afresh otherwise.
    pub fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> Result<R, HistoryError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        match &self.pairing {
            Some(LivePairing { error: Some(e), .. }) => Err(e.clone()),
            Some(_) => Ok(f(&self.history)),
            None => Ok(f(&self.paired_afresh(self.history.events.clone())?)),
        }
    }

    /// The history of every whole line so far (operations not yet completed are pending), or
    /// the first error: a copy of what [`JsonlStream::with_history`] lends.
    pub fn snapshot(&self) -> Result<History, HistoryError> {
        self.with_history(History::clone)
    }

    /// The whole history, the last line parsed even without a newline: what
    /// [`History::load`] gives for the same file.
    pub fn finish(mut self) -> Result<History, HistoryError> {
        if self.error.is_none() && !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.parse_line(&last);
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.pairing {
            Some(LivePairing { error: Some(e), .. }) => Err(e),
            Some(_) => Ok(self.history),
            None => {
                let events = std::mem::take(&mut self.history.events);
                self.paired_afresh(events)
            }
        }
    }

    /// `events` (this stream's) paired as [`History::load`] pairs a whole file.
    fn paired_afresh(&self, events: Vec<Event>) -> Result<History, HistoryError> {
        History::from_events(self.history.source.clone(), events)
    }
}

/// The state of pairing events as they are parsed.
#[derive(Debug, Default)]
struct LivePairing {
    pairer: Pairer,
    /// The first pairing error: the history's error unless a later line cannot be parsed
    /// (the whole file is parsed before it is paired) or names no process.
    error: Option<HistoryError>,
}
