//! The faultline harness as a library: the commands of the `faultline` binary (the built-in
//! store's node is the crate `faultline-store`), and (as they land) the network, nemesis, clients, workloads, runs and reports.
//!
//! `src/main.rs` is a thin shell over this crate, so integration tests, examples and benchmarks
//! can use the same pieces the binary does.

pub mod check;
pub mod check_txn;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod exit;
pub mod matrix;
pub mod nemesis;
pub mod net;
pub mod netns;
pub mod report;
pub mod run;
pub mod serve;
pub mod systems;
pub mod txn_independent;
pub mod workload;
