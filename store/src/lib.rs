//! The built-in replicated store: one node per OS process (`faultline node`), speaking HTTP/JSON,
//! replicating to its peers in one of three designs (single-leader, multi-leader, leaderless).
//! It is a real small database: its behaviour under faults follows from its design. The API and
//! the modes are documented in docs/store.md.
//!
//! Layout: [`config`] (flags and file), [`node`] (start-up and serving), [`conn`] (connection
//! cap and read timeouts), [`api`] and [`admin`] (HTTP routes), [`ops`] (request parsing),
//! [`limits`] (what the client door accepts), [`error`] (client-visible errors), [`modes`] (the
//! three designs), [`wal`] (durable log), [`raw_json`] (client values inside the node's own
//! records), [`clock`] (skewable clock), [`peers`] (node-to-node requests), [`auth`] (the
//! cluster token), [`wire`] (the client API's requests, answers and error codes, shared with the
//! harness's client). Starting nodes as child processes is harness code
//! (`faultline::cluster::launch`).

pub mod admin;
pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod conn;
pub mod error;
pub mod limits;
pub mod log;
pub mod modes;
pub mod node;
pub mod ops;
pub mod peers;
pub mod raw_json;
pub mod wal;
pub mod wire;

pub use config::NodeArgs;

/// A node configuration that cannot be used (a bad flag, peer or config file): the user's
/// input is wrong, so the binary exits 254 rather than 255.
#[derive(Debug)]
pub struct BadConfig(pub String);

impl std::fmt::Display for BadConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadConfig {}

/// Runs one store node until it is stopped.
pub fn run(args: NodeArgs) -> anyhow::Result<()> {
    let cfg = config::NodeConfig::resolve(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(node::serve(cfg))?;
    Ok(())
}
