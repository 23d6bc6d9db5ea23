//! A JSON Lines history read as it is written: bytes go in as they reach the file, each whole
//! line is parsed once, and at the end the events are paired into the same [`History`] that
//! [`History::load`] makes of the finished file (same events, line numbers, default indices,
//! warnings and errors). The harness uses it to parse a run's history while the run goes, so
//! the verdict does not wait for the file to be read back.
//!
//! Errors are found line by line, so on a broken file the first error here may not be the one
//! [`History::load`] reports (it checks the whole file's UTF-8 before any event); a caller that
//! shows errors to people reads the file back for its message.

use super::error::HistoryError;
use super::event::Event;
use super::jsonl::parse_chunk;
use super::{History, MAX_HISTORY_BYTES};

/// A history being parsed line by line as its bytes arrive.
#[derive(Debug)]
pub struct JsonlStream {
    source: String,
    events: Vec<Event>,
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
            source: source.into(),
            events: Vec::new(),
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
                &self.source,
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
                    &self.source,
                    number,
                    "the file is not valid UTF-8 text",
                ));
                return;
            }
        };
        match parse_chunk(&self.source, text, None) {
            Ok(chunk) => {
                let position = self.events.len() as u64;
                for (i, mut event) in chunk.events.into_iter().enumerate() {
                    if chunk.defaulted_index.contains(&i) {
                        event.index += position;
                    }
                    event.line += self.lines;
                    self.events.push(event);
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

    /// The history of every whole line so far (operations not yet completed are pending), or
    /// the first error.
    pub fn snapshot(&self) -> Result<History, HistoryError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => History::from_events(self.source.clone(), self.events.clone()),
        }
    }

    /// The whole history, the last line parsed even without a newline: what
    /// [`History::load`] gives for the same file.
    pub fn finish(mut self) -> Result<History, HistoryError> {
        if self.error.is_none() && !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.parse_line(&last);
        }
        match self.error {
            Some(e) => Err(e),
            None => History::from_events(self.source, self.events),
        }
    }
}
