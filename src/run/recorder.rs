//! The history recorder: assigns each event its index and time, and streams it to
//! `history.jsonl` as it happens, one whole line per write, so the file is readable at any
//! moment (after Ctrl-C, or a crash of the harness).

use faultline_checkers::history::{Event, EventKind, Process, event_to_json_line};
use serde_json::{Map, Value};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

/// Counts of completions by type, for progress displays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
}

struct Inner {
    file: File,
    next_index: u64,
    counts: OutcomeCounts,
    write_error: Option<std::io::Error>,
}

/// Records events to a history file. Shared by every client and the nemesis.
pub struct Recorder {
    inner: Mutex<Inner>,
    start: Instant,
}

impl Recorder {
    /// Creates (truncates) the history file; times count from now.
    pub fn create(path: &Path) -> std::io::Result<Recorder> {
        Ok(Recorder {
            inner: Mutex::new(Inner {
                file: File::create(path)?,
                next_index: 0,
                counts: OutcomeCounts::default(),
                write_error: None,
            }),
            start: Instant::now(),
        })
    }

    /// Records one event and returns its index. The index and time are taken under one lock,
    /// so history order, indices and times agree with real time.
    pub fn record(
        &self,
        process: Process,
        kind: EventKind,
        f: &str,
        key: Option<Value>,
        value: Value,
        extra: Map<String, Value>,
    ) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let index = inner.next_index;
        inner.next_index += 1;
        let mut event = Event::new(index, process, kind, f, value);
        event.time = Some(self.start.elapsed().as_nanos() as u64);
        event.key = key;
        for (name, value) in extra {
            if name == "error" {
                event.error = Some(value);
            } else {
                event.extra.push((name, value));
            }
        }
        let mut line = event_to_json_line(&event);
        line.push('\n');
        if inner.write_error.is_none()
            && let Err(e) = inner.file.write_all(line.as_bytes())
        {
            inner.write_error = Some(e);
        }
        if process != Process::Nemesis {
            let c = &mut inner.counts;
            match kind {
                EventKind::Invoke => c.invoked += 1,
                EventKind::Ok => c.ok += 1,
                EventKind::Fail => c.fail += 1,
                EventKind::Info => c.info += 1,
            }
        }
        index
    }

    /// Time since the recorder was created.
    pub fn elapsed(&self) -> std::time::Duration {
        self.start.elapsed()
    }

    /// Completion counts so far.
    pub fn counts(&self) -> OutcomeCounts {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).counts
    }

    /// Flushes to disk and reports the first write error, if any happened.
    pub fn finish(&self) -> std::io::Result<u64> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = inner.write_error.take() {
            return Err(e);
        }
        inner.file.sync_all()?;
        Ok(inner.next_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_checkers::history::{Format, History};

    #[test]
    fn streams_a_readable_history() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let r = Recorder::create(&path).unwrap();
        r.record(
            Process::Client(0),
            EventKind::Invoke,
            "write",
            Some(1.into()),
            3.into(),
            Map::new(),
        );
        // Readable while the run is still going.
        let partial = History::load(&path, Some(Format::Jsonl)).unwrap();
        assert_eq!(partial.ops.len(), 1);
        let mut extra = Map::new();
        extra.insert("node".into(), "n1".into());
        extra.insert("error".into(), "timeout".into());
        r.record(
            Process::Client(0),
            EventKind::Info,
            "write",
            Some(1.into()),
            3.into(),
            extra,
        );
        r.record(
            Process::Nemesis,
            EventKind::Info,
            "start-partition",
            None,
            Value::Null,
            Map::new(),
        );
        assert_eq!(r.finish().unwrap(), 3);
        let h = History::load(&path, None).unwrap();
        assert_eq!(h.events.len(), 3);
        assert_eq!(h.events[1].error, Some(Value::from("timeout")));
        assert_eq!(h.events[1].extra_field("node"), Some(&Value::from("n1")));
        assert!(h.events[0].time <= h.events[1].time);
        assert_eq!(r.counts().info, 1);
        assert_eq!(h.nemesis, vec![2]);
    }
}
