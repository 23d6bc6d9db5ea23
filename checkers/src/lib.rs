//! faultline-checkers: pure, synchronous checkers for histories of concurrent operations.
//!
//! A history (see [`history`]) goes in, a [`report::Report`] with a [`report::Verdict`] comes
//! out. Nothing here touches sockets, processes or clocks, so the crate can be used on its own to
//! check histories inside another project's test suite.

pub mod availability;
pub mod graph;
pub mod history;
pub mod linear;
pub mod lost_appends;
pub mod objects;
pub mod plain;
pub mod report;
pub mod session;
pub mod situation;

// The integration tests' history simulator is shared with unit tests (`graph::parallel_tests`),
// and it names this crate as an outside user does.
#[cfg(test)]
extern crate self as faultline_checkers;
