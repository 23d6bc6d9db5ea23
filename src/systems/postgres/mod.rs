//! PostgreSQL 15 streaming replication (Debian `postgresql`): a primary and hot standbys in
//! network namespaces, started as the `postgres` user (PostgreSQL refuses to run as root), and
//! a register client in SQL.

mod client;
mod cluster;
mod failover;
mod system;

pub use client::PgClient;
pub use cluster::{PgCluster, Replication};
pub use system::PgSystem;
