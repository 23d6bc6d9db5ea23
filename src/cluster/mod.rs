//! The cluster under test: node processes, their network, and handles to control them.

pub mod process;
