//! Shared helpers of the report and serve tests: the binary, a guard that kills a child's whole
//! process group (and reaps it) when dropped, also when a test fails, and a headless Chromium
//! driven over the WebDriver protocol (`browser`).

#![allow(dead_code)]

pub mod browser;
#[path = "../process_support/mod.rs"]
mod process_support;

#[allow(unused_imports)] // not every test that shares this module looks for processes
pub use process_support::processes_mentioning;

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_faultline"))
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A child process in its own process group; dropping the guard kills the group and reaps the
/// child.
pub struct GroupGuard {
    pub child: Child,
}

impl GroupGuard {
    /// Spawns `cmd` in a new process group with stdout piped.
    pub fn spawn(mut cmd: Command) -> GroupGuard {
        cmd.process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
        GroupGuard { child }
    }

    /// Reads stdout lines until one contains `marker`; returns that line. Panics after `limit`.
    pub fn wait_for_line(&mut self, marker: &str, limit: Duration) -> String {
        let stdout: ChildStdout = self.child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        let marker = marker.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains(&marker) {
                    let _ = tx.send(line);
                    // Keep draining so the child never blocks on a full pipe.
                }
            }
        });
        rx.recv_timeout(limit)
            .unwrap_or_else(|_| panic!("no line containing the marker within {limit:?}"))
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let pgid = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(pgid, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A register history of `n` operations over 100 keys by 20 client slots, one operation at a
/// time (so real-time order decides everything), with a network partition and a kill in the
/// nemesis lane. Every 500th operation is an `info` write that never takes effect (its client
/// continues under a new process id) and every 97th write fails. The read at `stale_at` (not a
/// multiple of 3, so a read) returns the key's previous value: the one anomaly.
pub fn register_history(n: usize, stale_at: usize) -> String {
    use std::fmt::Write as _;
    const SLOTS: u64 = 20;
    const KEYS: usize = 100;
    let mut out = String::new();
    let mut values: Vec<Vec<u64>> = vec![Vec::new(); KEYS];
    let mut process: Vec<u64> = (0..SLOTS).collect();
    let mut index = 0u64;
    let mut line = |out: &mut String,
                    time: u64,
                    p: &str,
                    kind: &str,
                    f: &str,
                    value: &str,
                    key: Option<usize>| {
        let key = key.map(|k| format!(",\"key\":{k}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{{\"index\":{index},\"time\":{time},\"process\":{p},\"type\":\"{kind}\",\"f\":\"{f}\",\"value\":{value}{key}}}"
        );
        index += 1;
    };
    for i in 0..n {
        let t = i as u64 * 10_000;
        if i == n * 3 / 10 {
            let cut = r#"{"kind":"partition-leader","node":"n1","cut":[["n1"],["n2","n3"]]}"#;
            line(&mut out, t, "\"nemesis\"", "info", "start-partition", cut, None);
        }
        if i == n * 4 / 10 {
            line(
                &mut out,
                t,
                "\"nemesis\"",
                "info",
                "stop-partition",
                r#"{"kind":"partition-leader"}"#,
                None,
            );
        }
        if i == n * 6 / 10 {
            line(
                &mut out,
                t,
                "\"nemesis\"",
                "info",
                "kill",
                r#"{"kind":"kill","node":"n2"}"#,
                None,
            );
        }
        if i == n * 7 / 10 + 5 {
            line(
                &mut out,
                t,
                "\"nemesis\"",
                "info",
                "restart",
                r#"{"kind":"kill","node":"n2"}"#,
                None,
            );
        }
        let slot = i % SLOTS as usize;
        let p = process[slot].to_string();
        let key = (i * 7 + i / 1000) % KEYS;
        if i % 3 == 0 {
            let outcome = if i % 500 == 0 {
                "info"
            } else if i % 97 == 0 {
                "fail"
            } else {
                "ok"
            };
            line(&mut out, t, &p, "invoke", "write", &i.to_string(), Some(key));
            line(
                &mut out,
                t + 8_000,
                &p,
                outcome,
                "write",
                &i.to_string(),
                Some(key),
            );
            if outcome == "ok" {
                values[key].push(i as u64);
            }
            if outcome == "info" {
                process[slot] += SLOTS;
            }
        } else {
            let seen = if i == stale_at && values[key].len() >= 2 {
                values[key][values[key].len() - 2].to_string()
            } else {
                values[key].last().map_or("null".to_string(), |v| v.to_string())
            };
            line(&mut out, t, &p, "invoke", "read", "null", Some(key));
            line(&mut out, t + 8_000, &p, "ok", "read", &seen, Some(key));
        }
    }
    out
}
