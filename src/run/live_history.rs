//! The run's history, parsed while the run goes: a thread follows `history.jsonl` as the
//! recorder writes it and parses each whole line once ([`JsonlStream`]), so when the final reads
//! end only their last few lines are left to parse and the checkers start at once, instead of
//! reading the whole file back. The history it gives is the one `faultline check` reads from
//! the saved file (`checkers/tests/jsonl_stream.rs`; the end-to-end tests compare the verdicts).
//! The `--stop-on-violation` watch checks the history so far as it stands, borrowed, not copied.

use anyhow::Context;
use faultline_checkers::history::{Format, History, JsonlStream};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the follower looks for new lines.
const POLL: Duration = Duration::from_millis(200);

/// The file being followed and what has been parsed of it.
struct Tail {
    file: File,
    stream: JsonlStream,
    buffer: Vec<u8>,
}

impl Tail {
    /// Parses whatever the recorder has written since the last call.
    fn catch_up(&mut self) {
        loop {
            match self.file.read(&mut self.buffer) {
                Ok(0) | Err(_) => return,
                Ok(n) => self.stream.feed(&self.buffer[..n]),
            }
        }
    }
}

/// A history file followed and parsed as it grows.
pub struct LiveHistory {
    path: PathBuf,
    tail: Arc<Mutex<Option<Tail>>>,
    stop: Arc<AtomicBool>,
    follower: Mutex<Option<JoinHandle<()>>>,
}

impl LiveHistory {
    /// Starts following `path` (already created by the recorder).
    pub fn follow(path: &Path) -> std::io::Result<LiveHistory> {
        let tail = Arc::new(Mutex::new(Some(Tail {
            file: File::open(path)?,
            stream: JsonlStream::new(path.display().to_string()),
            buffer: vec![0; 1 << 16],
        })));
        let stop = Arc::new(AtomicBool::new(false));
        let follower = {
            let (tail, stop) = (tail.clone(), stop.clone());
            std::thread::Builder::new()
                .name("history-follower".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(t) = lock(&tail).as_mut() {
                            t.catch_up();
                        }
                        std::thread::park_timeout(POLL);
                    }
                })?
        };
        Ok(LiveHistory {
            path: path.to_path_buf(),
            tail,
            stop,
            follower: Mutex::new(Some(follower)),
        })
    }

    /// The history of every whole line written so far (operations not yet completed read as
    /// pending); `None` if the file could not be parsed (the final check reports why).
    pub fn snapshot(&self) -> Option<History> {
        self.with_history(History::clone)
    }

    /// Calls `f` with the history of every whole line written so far, lent without a copy
    /// (the stream pairs events as it parses them); `None` if the file could not be parsed.
    /// The follower waits while `f` runs.
    pub fn with_history<R>(&self, f: impl FnOnce(&History) -> R) -> Option<R> {
        let mut tail = lock(&self.tail);
        let tail = tail.as_mut()?;
        tail.catch_up();
        tail.stream.with_history(f).ok()
    }

    /// Stops following and returns the whole history; call once the recorder has finished
    /// writing. When the stream met an error, the file is read back, so the message is the one
    /// `faultline check` gives.
    pub fn finish(&self) -> anyhow::Result<History> {
        self.stop_following();
        let parsed = lock(&self.tail).take().and_then(|mut tail| {
            tail.catch_up();
            tail.stream.finish().ok()
        });
        match parsed {
            Some(history) => Ok(history),
            None => History::load(&self.path, Some(Format::Jsonl))
                .with_context(|| format!("reading the run's history {}", self.path.display())),
        }
    }

    /// Ends the follower thread (woken at once, not at its next poll).
    fn stop_following(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(follower) = lock(&self.follower).take() {
            follower.thread().unpark();
            let _ = follower.join();
        }
    }
}

impl Drop for LiveHistory {
    fn drop(&mut self) {
        self.stop_following();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_half_written_last_line_is_left_out_until_it_is_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"{\"index\":0,\"type\":\"invoke\",\"process\":0,\"f\":\"read\",\"value\":null}\n{\"index\":1,\"type\":\"ok\",\"proc")
            .unwrap();
        let live = LiveHistory::follow(&path).unwrap();
        let prefix = live.snapshot().expect("the whole first line parses");
        assert_eq!(prefix.ops.len(), 1);
        assert!(prefix.ops[0].complete.is_none());
        file.write_all(b"ess\":0,\"f\":\"read\",\"value\":5}\n").unwrap();
        let whole = live.finish().unwrap();
        assert_eq!(whole.ops[0].complete, Some(1));
        assert_eq!(whole.source, path.display().to_string());
    }

    #[test]
    fn a_broken_file_is_reported_as_check_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        std::fs::write(&path, "{\"index\":0,\"type\":\"invoke\"}\nnot json\n").unwrap();
        let live = LiveHistory::follow(&path).unwrap();
        assert!(live.snapshot().is_none());
        let error = format!("{:#}", live.finish().unwrap_err());
        let loaded = History::load(&path, Some(Format::Jsonl)).unwrap_err();
        assert!(error.contains(&loaded.to_string()), "{error}");
    }
}
