//! Network isolation for processes that are not ours: one network namespace per node.
//!
//! A real database's node cannot be given a proxy per directed link: its peers all dial its one
//! advertised address. So each node runs in its own network namespace, joined to a bridge the
//! run creates by a veth pair, with an address in a link-local /24 the run leases
//! (`169.254.S.0/24`). The harness, in the root namespace, reaches every node through the
//! bridge's own address. Links between nodes are cut with nftables rules inside the receiving
//! node's namespace ([`Fabric::cut`]); the harness's own address is never cut.
//!
//! Everything a fabric creates carries its subnet number in its name (namespaces
//! `faultline-S-nI`, bridge `flbrS`, host-side veths `flvSnI`) and is recorded in a lease file
//! naming the owning process, so that [`clean`] can remove what a killed run left behind without
//! touching the fabrics of runs still alive.

mod cmd;
mod fabric;
mod lease;
mod leftovers;

pub use fabric::Fabric;
pub use lease::LEASE_DIR;
pub use leftovers::{Cleaned, clean, clean_command};
