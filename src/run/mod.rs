//! One run: cluster up, clients and nemesis, recorder, checkers, report.

pub mod recorder;
pub mod run_dir;
