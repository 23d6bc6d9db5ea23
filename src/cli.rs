//! The command line: one subcommand per job. Each command's arguments live beside its code.

use clap::{Parser, Subcommand};

/// Jepsen-style consistency checker and fault injector with a built-in replicated store.
#[derive(Debug, Parser)]
#[command(name = "faultline", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check saved histories (native JSON Lines, Jepsen history.edn, or Jepsen log lines).
    Check(crate::check::CheckArgs),
    /// Run one node of the built-in replicated store (the harness starts these itself).
    Node(Box<faultline_store::NodeArgs>),
    /// Run a workload: start a cluster, drive clients, inject faults, record and check.
    Run(Box<crate::run::RunArgs>),
    /// Write the HTML report of a run directory or of a history file.
    Report(Box<crate::report::ReportArgs>),
    /// Serve a directory of runs over HTTP: an index of runs and each run's report and files.
    Serve(crate::serve::ServeArgs),
    /// Run workloads several times each and print the replication guarantees they kept or broke.
    Matrix(Box<crate::matrix::MatrixArgs>),
    /// Remove the network namespaces, interfaces, rules and processes that killed runs left.
    Clean,
}
