//! The progress bar of `faultline check`: on stderr, only when stderr is a terminal, and only
//! once checking has run for more than a second (quick checks print nothing extra).
//!
//! With one file the bar counts its keys and names the keys being searched; with several it
//! counts files.

use faultline_checkers::linear::KeyProgress;
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

    /// Keys checked so far in the current file, and those being searched.
    pub fn keys(&self, p: &KeyProgress<'_>) {
        if let (Some(bar), true) = (&self.bar, self.single_file) {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            if let Some(message) = searching(p.searching) {
                bar.set_message(message);
            }
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

/// "searching k7 (9442 operations)", "searching k7 (9442 operations), k9 (9407 operations)".
fn searching(keys: &[(String, usize)]) -> Option<String> {
    if keys.is_empty() {
        return None;
    }
    let each: Vec<String> = keys
        .iter()
        .map(|(name, ops)| format!("{name} ({ops} operations)"))
        .collect();
    Some(format!("searching {}", each.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_keys_being_searched() {
        assert_eq!(searching(&[]), None);
        let keys = [("k7".to_string(), 9442), ("k9".to_string(), 12)];
        assert_eq!(
            searching(&keys).as_deref(),
            Some("searching k7 (9442 operations), k9 (12 operations)")
        );
    }
}
