//! The built-in replicated store: one node per OS process (`faultline node`).
//!
//! (Placeholder: the node is being built in issue 3.)

use clap::Args;

/// Arguments of `faultline node`.
#[derive(Debug, Args)]
pub struct NodeArgs {}

/// Runs one store node until it is stopped.
pub fn run(_args: NodeArgs) -> anyhow::Result<u8> {
    anyhow::bail!("faultline node is not built yet")
}
