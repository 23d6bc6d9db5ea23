//! The built-in replicated store: one node per OS process (`faultline node`), speaking HTTP/JSON,
//! replicating to its peers in one of three designs (single-leader, multi-leader, leaderless).
//! It is a real small database: its behaviour under faults follows from its design. The API and
//! the modes are documented in docs/store.md.
//!
//! Layout: [`config`] (flags and file), [`node`] (start-up and serving), [`api`] and [`admin`]
//! (HTTP routes), [`ops`] (request parsing), [`error`] (client-visible errors), [`modes`] (the
//! three designs), [`wal`] (durable log), [`clock`] (skewable clock), [`peers`] (node-to-node
//! requests), [`launch`] (starting nodes as child processes, for tests, benchmarks and the
//! harness).

pub mod admin;
pub mod api;
pub mod clock;
pub mod config;
pub mod error;
pub mod launch;
pub mod log;
pub mod modes;
pub mod node;
pub mod ops;
pub mod peers;
pub mod wal;

pub use config::NodeArgs;

use crate::exit::BadInput;

/// Runs one store node until it is stopped.
pub fn run(args: NodeArgs) -> anyhow::Result<u8> {
    let cfg = config::NodeConfig::resolve(args).map_err(|e| anyhow::Error::new(BadInput(e.0)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(node::serve(cfg))?;
    Ok(crate::exit::VALID)
}
