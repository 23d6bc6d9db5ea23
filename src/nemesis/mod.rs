//! The nemesis: faults injected into a running cluster (partitions, kills, pauses, clock skew).
//!
//! [`schedule`] plans the faults from the seed; [`partition`] computes which links each
//! partition cuts. The harness executes the plan against the real cluster and records every
//! fault and heal in the history as a `nemesis` event.

pub mod partition;
pub mod schedule;
