//! etcd 3.4 (Debian `etcd-server`): a cluster in network namespaces, and a register client over
//! its v3 JSON gateway.
//!
//! Clock faults do not apply: etcd is a Go binary, which reads the clock through the vDSO and
//! ignores libfaketime.

mod client;
mod cluster;
mod system;

pub use client::EtcdClient;
pub use cluster::{CLIENT_PORT, EtcdCluster};
pub use system::EtcdSystem;
