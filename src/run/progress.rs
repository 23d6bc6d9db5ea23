//! Progress of a run on stderr: an indicatif bar (elapsed / limit, ok / fail / info counts, the
//! fault in force) when stderr is a terminal, else a plain line every few seconds.

use super::recorder::OutcomeCounts;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Shows how a run is going.
pub struct RunProgress {
    bar: Option<ProgressBar>,
    limit: Duration,
    last_line: Instant,
}

impl RunProgress {
    /// A display for a run of `limit`.
    pub fn new(limit: Duration) -> RunProgress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(limit.as_millis() as u64);
            let style = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        RunProgress {
            bar,
            limit,
            last_line: Instant::now(),
        }
    }

    /// Updates the display.
    pub fn update(&mut self, elapsed: Duration, counts: OutcomeCounts, fault: &str) {
        let fault = if fault.is_empty() {
            "none".to_string()
        } else {
            fault.to_string()
        };
        let msg = format!(
            "{:.0}s/{:.0}s  ok {}  fail {}  info {}  fault: {fault}",
            elapsed.as_secs_f64(),
            self.limit.as_secs_f64(),
            counts.ok,
            counts.fail,
            counts.info
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(elapsed.as_millis().min(self.limit.as_millis()) as u64);
                bar.set_message(msg);
            }
            None if self.last_line.elapsed() >= Duration::from_secs(5) => {
                self.last_line = Instant::now();
                eprintln!("  {msg}");
            }
            None => {}
        }
    }

    /// Announces a phase after the clients ("healing", "settling", "final reads", "checking").
    pub fn phase(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(text.to_string()),
            None => eprintln!("  {text}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
