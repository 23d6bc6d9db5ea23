//! The node's log lines on stderr: `[faultline n1 +12.345s] message`. Only events worth reading
//! (start-up, recovery, role and term changes, elections, snapshots, peer reachability changes,
//! clock changes) are logged, never individual client requests.

use std::sync::OnceLock;
use std::time::Instant;

static NODE: OnceLock<(String, Instant)> = OnceLock::new();

/// Sets the node id shown on every line (first call wins).
pub fn init(id: &str) {
    let _ = NODE.set((id.to_string(), Instant::now()));
}

/// Writes one line to stderr.
pub fn log(message: std::fmt::Arguments<'_>) {
    let (id, start) = NODE.get_or_init(|| ("?".to_string(), Instant::now()));
    eprintln!(
        "[faultline {id} +{:.3}s] {message}",
        start.elapsed().as_secs_f64()
    );
}
