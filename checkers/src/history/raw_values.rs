//! Loading a history whose transactions' values stay as text.
//!
//! A large transactional history is mostly its values: as [`serde_json::Value`]s (each number a
//! heap string, for exactness) they take many times the file's size. [`History::load_lean`]
//! reads a JSON Lines history with the value of every `txn` event left as text in the file's
//! bytes ([`RawValues`]) and `null` in [`Event::value`](super::Event::value); the transactional
//! checker parses that text straight into its compact form. Other formats load as usual (every
//! value parsed, no text kept).

use super::jsonl::{self, RawSpan};
use super::{Format, History, HistoryError, parse_events, read_history_text};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A regular file's length and modification time.
fn file_identity(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok().filter(|m| m.is_file())?;
    Some((meta.len(), meta.modified().ok()?))
}

/// The values of a history's transactions as text, by event position.
#[derive(Debug, Default)]
pub struct RawValues {
    /// The file's text (empty once released, see [`RawValues::release_text`]).
    text: String,
    /// For each event, where its value is in `text` ([`RawSpan::NONE`]: in the event).
    spans: Vec<RawSpan>,
    /// The file, when it is a regular file: its path, length and modification time, to read a
    /// value back after the text is released (if the file is unchanged).
    file: Option<(PathBuf, u64, SystemTime)>,
}

impl RawValues {
    /// Frees the text when it can be read back from an unchanged regular file (only a few
    /// values are ever read back: those of transactions in explanations).
    pub fn release_text(&mut self) {
        if self.file.is_some() {
            self.text = String::new();
        }
    }

    /// The value text of the event at position `event`, when it was left as text: from
    /// memory, or read back from the file if the text was released and the file is unchanged.
    pub fn read_back(&self, event: usize) -> Option<String> {
        if !self.text.is_empty() {
            return self.get(event).map(str::to_string);
        }
        let span = *self.spans.get(event)?;
        let (path, len, modified) = self.file.as_ref()?;
        if span.len == RawSpan::NONE.len || file_identity(path)? != (*len, *modified) {
            return None;
        }
        let mut file = std::fs::File::open(path).ok()?;
        file.seek(SeekFrom::Start(span.start)).ok()?;
        let mut bytes = vec![0u8; span.len as usize];
        file.read_exact(&mut bytes).ok()?;
        String::from_utf8(bytes).ok()
    }

    /// The value text of the event at position `event`, when it was left as text.
    pub fn get(&self, event: usize) -> Option<&str> {
        let span = self.spans.get(event)?;
        if span.len == RawSpan::NONE.len {
            return None;
        }
        let start = span.start as usize;
        self.text.get(start..start + span.len as usize)
    }

    /// True when no value was left as text.
    pub fn is_empty(&self) -> bool {
        self.spans.iter().all(|s| s.len == RawSpan::NONE.len)
    }
}

impl History {
    /// Reads a history file like [`History::load`], but a JSON Lines history's transaction
    /// values (events with `f` `"txn"`) stay as text in the returned [`RawValues`] and are
    /// `null` in the events. Everything else (validation, pairing, errors) is the same.
    pub fn load_lean(path: &Path, format: Option<Format>) -> Result<(History, RawValues), HistoryError> {
        let before = file_identity(path);
        let (source, text, format) = read_history_text(path, format)?;
        // The file can be read back only if it did not change while it was read.
        let file = before
            .filter(|&id| file_identity(path) == Some(id) && id.0 == text.len() as u64)
            .map(|(len, modified)| (path.to_path_buf(), len, modified));
        if format != Format::Jsonl {
            let (events, skipped_lines) = parse_events(&source, &text, format)?;
            drop(text);
            let mut history = History::from_events(source, events)?;
            history.skipped_lines = skipped_lines;
            return Ok((history, RawValues::default()));
        }
        let (events, spans) = jsonl::parse_parts_lean(&source, &text)?.join_lean();
        let history = History::from_events(source, events)?;
        Ok((history, RawValues { text, spans, file }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_values_stay_as_text_and_the_rest_is_the_same() {
        let dir = std::env::temp_dir().join(format!("faultline-raw-values-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("h.jsonl");
        let text = concat!(
            "{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"append\",1,18446744073709551616]]}\n",
            "{\"index\":1,\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"kill\",\"value\":{\"node\":\"n1\"}}\n",
            "{\"index\":2,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\": [[\"append\",1,18446744073709551616]] }\n",
            "{\"index\":3,\"process\":1,\"type\":\"invoke\",\"value\":[[\"r\",1,null]]}\n",
        );
        std::fs::write(&path, text).unwrap();
        let full = History::load(&path, None).unwrap();
        let (lean, raw) = History::load_lean(&path, None).unwrap();
        assert_eq!(lean.ops, full.ops);
        assert_eq!(raw.get(0), Some("[[\"append\",1,18446744073709551616]]"));
        assert_eq!(raw.get(2), Some("[[\"append\",1,18446744073709551616]]"));
        assert!(lean.events[0].value.is_null() && lean.events[2].value.is_null());
        // Not a transaction, or no `f` written: the value is parsed as usual.
        assert_eq!((raw.get(1), raw.get(3)), (None, None));
        assert_eq!(lean.events[1].value, full.events[1].value);
        assert_eq!(lean.events[3].value, full.events[3].value);
        // Released, the text is read back from the unchanged file; not once it changed.
        let mut raw = raw;
        raw.release_text();
        assert_eq!(raw.get(0), None);
        assert_eq!(
            raw.read_back(2).as_deref(),
            Some("[[\"append\",1,18446744073709551616]]")
        );
        assert_eq!(raw.read_back(1), None);
        for (a, b) in lean.events.iter().zip(&full.events) {
            assert_eq!(
                (a.index, a.line, a.process, a.kind, &a.f),
                (b.index, b.line, b.process, b.kind, &b.f)
            );
        }
        // Bad input names the same line either way.
        std::fs::write(
            &path,
            format!("{text}{{\"index\":4,\"process\":2,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[1,}}\n"),
        )
        .unwrap();
        let e1 = History::load(&path, None).unwrap_err();
        let e2 = History::load_lean(&path, None).unwrap_err();
        assert_eq!((e1.line(), e2.line()), (Some(5), Some(5)), "{e1} / {e2}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
