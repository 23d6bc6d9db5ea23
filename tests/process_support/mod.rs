//! Shared by the end-to-end tests that run the binary and must leave no process behind: the
//! binary and the committed workloads, and the live processes whose command line mentions a
//! marker (a run directory, a browser profile), read from /proc.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `faultline` binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_faultline"))
}

/// A committed workload file, `workloads/NAME.toml`.
pub fn workload(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workloads")
        .join(format!("{name}.toml"))
}

/// Processes (other than zombies) whose command line mentions `marker`.
pub fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.chars().all(|c| c.is_ascii_digit())) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| s.rsplit(") ").next().unwrap_or("").starts_with('Z'))
            .unwrap_or(true);
        if cmdline.contains(marker) && !zombie {
            found.push(format!("{pid}: {cmdline}"));
        }
    }
    found
}

/// Processes (other than zombies) whose command line mentions `marker` or whose working
/// directory lies under it (a PostgreSQL backend renames itself, but works in its data
/// directory).
pub fn processes_using(marker: &str) -> Vec<String> {
    let mut found = processes_mentioning(marker);
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.chars().all(|c| c.is_ascii_digit())) else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) else {
            continue;
        };
        let zombie = std::fs::read_to_string(entry.path().join("stat"))
            .map(|s| s.rsplit(") ").next().unwrap_or("").starts_with('Z'))
            .unwrap_or(true);
        if cwd.starts_with(marker) && !zombie && !found.iter().any(|f| f.starts_with(&format!("{pid}:"))) {
            found.push(format!("{pid}: cwd {}", cwd.display()));
        }
    }
    found
}
