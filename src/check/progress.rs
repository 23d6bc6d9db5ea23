//! The progress bar of `faultline check`: on stderr, only when stderr is a terminal, and only
//! once checking has run for more than a second (quick checks print nothing extra).
//!
//! With one file the bar counts its keys; with several it counts files.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long checking runs before the bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// The progress display; every method is cheap and safe to call from any thread.
pub(super) struct Progress {
    bar: Option<ProgressBar>,
    single_file: bool,
    stop: Option<mpsc::Sender<()>>,
    watcher: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts tracking; the bar stays hidden until `SHOW_AFTER` has passed.
    pub fn start(files: &[PathBuf]) -> Self {
        let single_file = files.len() == 1;
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                single_file,
                stop: None,
                watcher: None,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(files.len() as u64), ProgressDrawTarget::hidden());
        let template = if single_file {
            "{spinner} {msg} [{bar:30}] {pos}/{len} keys ({elapsed})"
        } else {
            "{spinner} {msg} [{bar:30}] {pos}/{len} files ({elapsed})"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let shown = bar.clone();
        let watcher = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SHOW_AFTER) {
                shown.set_draw_target(ProgressDrawTarget::stderr());
                shown.enable_steady_tick(Duration::from_millis(120));
            }
        });
        Progress {
            bar: Some(bar),
            single_file,
            stop: Some(stop),
            watcher: Some(watcher),
        }
    }

    /// A file is being loaded.
    pub fn loading(&self, file: &Path) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loading {}", file.display()));
        }
    }

    /// A loaded file is being checked.
    pub fn checking(&self, file: &Path) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("checking {}", file.display()));
        }
    }

    /// Keys checked so far in the current file.
    pub fn keys(&self, done: usize, total: usize) {
        if let (Some(bar), true) = (&self.bar, self.single_file) {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    }

    /// One more file is done.
    pub fn file_done(&self) {
        if let (Some(bar), false) = (&self.bar, self.single_file) {
            bar.inc(1);
        }
    }

    /// Runs `f` (which prints) with the bar cleared from the terminal.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar.
    pub fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
