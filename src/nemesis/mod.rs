//! The nemesis: faults injected into a running cluster (partitions, kills, pauses, clock skew,
//! and degraded links: delay, bandwidth limits, connection drops).
//!
//! [`schedule`] plans the faults from the seed; [`partition`] computes which links each
//! partition cuts; [`link_faults`] says what each link-condition fault does to the links. The
//! harness executes the plan against the real cluster and records every fault and heal in the
//! history as a `nemesis` event.

pub mod link_faults;
pub mod partition;
pub mod schedule;
