//! `faultline clean`: removing what a killed run left behind.
//!
//! A subnet's objects are leftovers when its lease's owner is dead, or when they exist with no
//! lease at all. Fabrics of live runs are never touched.

use super::cmd::{require_root, run};
use super::fabric::{links_named, remove_subnet};
use super::lease::{forget, leases};
use anyhow::Result;
use std::collections::BTreeSet;

/// What [`clean`] removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// The subnets whose namespaces, interfaces and lease were removed.
    pub subnets: Vec<u8>,
    /// The processes killed inside those namespaces.
    pub killed: Vec<i32>,
}

/// Removes the namespaces, interfaces, rules (they live in the namespaces) and processes of
/// every fabric whose run is gone.
pub fn clean() -> Result<Cleaned> {
    require_root()?;
    let leased = leases();
    let alive: BTreeSet<u8> = leased.iter().filter(|l| l.1).map(|l| l.0).collect();
    let mut dead: BTreeSet<u8> = leased.iter().filter(|l| !l.1).map(|l| l.0).collect();
    for subnet in subnets_with_objects()? {
        if !alive.contains(&subnet) {
            dead.insert(subnet);
        }
    }
    let mut cleaned = Cleaned::default();
    for subnet in dead {
        cleaned.killed.extend(remove_subnet(subnet, 0));
        forget(subnet);
        cleaned.subnets.push(subnet);
    }
    Ok(cleaned)
}

/// Subnet numbers that some namespace, bridge or veth is named after.
fn subnets_with_objects() -> Result<BTreeSet<u8>> {
    let mut found = BTreeSet::new();
    for line in run("ip", &["netns", "list"])?.lines() {
        if let Some(s) = line
            .split_whitespace()
            .next()
            .and_then(|n| n.strip_prefix("faultline-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|s| s.parse().ok())
        {
            found.insert(s);
        }
    }
    for link in links_named(|n| n.starts_with("flbr") || n.starts_with("flv")) {
        let digits = link
            .trim_start_matches("flbr")
            .trim_start_matches("flv")
            .split('n')
            .next()
            .unwrap_or("");
        if let Ok(s) = digits.parse() {
            found.insert(s);
        }
    }
    Ok(found)
}

/// `faultline clean`: prints what it removed; exit 0 (also when there was nothing to remove).
pub fn clean_command() -> Result<u8> {
    let cleaned = clean()?;
    if cleaned.subnets.is_empty() {
        println!("nothing to clean: no fabric of a dead run is left");
    } else {
        for subnet in &cleaned.subnets {
            println!(
                "removed the namespaces, interfaces and rules of 169.254.{subnet}.0/24 (a run that is gone)"
            );
        }
        if !cleaned.killed.is_empty() {
            println!("killed {} process(es) left in them", cleaned.killed.len());
        }
    }
    Ok(crate::exit::VALID)
}
