//! Leases on link-local subnets: which run owns `169.254.S.0/24` and everything named after S.
//!
//! A lease is a file `LEASE_DIR/S.lease` holding the owner's pid and its start time (so a
//! recycled pid is not mistaken for the owner). It is created before anything else of the fabric
//! and removed after everything else, so an object named after S without a live lease is a
//! leftover.

use anyhow::{Context, Result, bail};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

/// Where leases live (tmpfs: a reboot, which also drops every namespace, empties it).
pub const LEASE_DIR: &str = "/run/faultline/netns";

/// Subnet numbers a fabric may take: 169.254.0/24 and .255/24 are reserved by RFC 3927, and
/// 169.254.169/24 holds the cloud metadata address on many hosts.
fn usable(subnet: u8) -> bool {
    !matches!(subnet, 0 | 169 | 255)
}

/// A held lease on one subnet; dropping it does not release it (see [`Lease::release`]).
#[derive(Debug)]
pub struct Lease {
    subnet: u8,
}

impl Lease {
    /// Takes the first free subnet, starting from one derived from this process, skipping those
    /// whose bridge exists without being ours. `in_use` says whether a subnet's objects exist.
    pub fn acquire(in_use: impl Fn(u8) -> bool) -> Result<Lease> {
        fs::create_dir_all(LEASE_DIR).with_context(|| format!("creating {LEASE_DIR}"))?;
        let me = Owner::this_process()?;
        let start = (std::process::id() % 251) as u8;
        for step in 0..=255u16 {
            let subnet = start.wrapping_add(step as u8);
            if !usable(subnet) {
                continue;
            }
            let path = lease_path(subnet);
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    if in_use(subnet) {
                        // Objects with no lease: a leftover that `faultline clean` removes.
                        drop(file);
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    writeln!(file, "{} {}", me.pid, me.start)
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(Lease { subnet });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
        bail!(
            "every link-local subnet 169.254.S.0/24 is leased in {LEASE_DIR}: run `faultline clean` to remove what dead runs left"
        )
    }

    /// The leased subnet number S.
    pub fn subnet(&self) -> u8 {
        self.subnet
    }

    /// Gives the subnet back (after everything named after it is gone).
    pub fn release(self) {
        let _ = fs::remove_file(lease_path(self.subnet));
    }
}

fn lease_path(subnet: u8) -> PathBuf {
    PathBuf::from(LEASE_DIR).join(format!("{subnet}.lease"))
}

/// The process that holds a lease.
#[derive(Debug, PartialEq, Eq)]
struct Owner {
    pid: u32,
    start: u64,
}

impl Owner {
    fn this_process() -> Result<Owner> {
        let pid = std::process::id();
        let start = start_time(pid).context("reading this process's start time")?;
        Ok(Owner { pid, start })
    }

    fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is parenthesised and may hold spaces: count after its end.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// The subnets whose lease file exists, each with whether its owner is still alive.
pub fn leases() -> Vec<(u8, bool)> {
    let Ok(entries) = fs::read_dir(LEASE_DIR) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(subnet) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".lease"))
            .and_then(|n| n.parse::<u8>().ok())
        else {
            continue;
        };
        let owner = fs::read_to_string(entry.path()).ok().and_then(|text| {
            let mut parts = text.split_whitespace();
            Some(Owner {
                pid: parts.next()?.parse().ok()?,
                start: parts.next()?.parse().ok()?,
            })
        });
        let alive = match owner {
            Some(owner) => owner.is_alive(),
            // A lease still being written belongs to a run starting right now; one left
            // unwritten for a minute belongs to a run killed while it started.
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() < 60),
        };
        found.push((subnet, alive));
    }
    found.sort_unstable();
    found
}

/// Removes the lease file of `subnet` (for a dead owner's leftovers).
pub fn forget(subnet: u8) {
    let _ = fs::remove_file(lease_path(subnet));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not_the_owner() {
        let me = Owner::this_process().unwrap();
        assert!(me.is_alive());
        let impostor = Owner {
            pid: me.pid,
            start: me.start + 1,
        };
        assert!(!impostor.is_alive());
    }

    #[test]
    fn reserved_subnets_are_never_leased() {
        assert!(!usable(0) && !usable(169) && !usable(255));
        assert!(usable(1) && usable(254));
    }
}
