//! The nemesis: faults injected into a running cluster (partitions, kills, pauses, clock skew,
//! and degraded links: delay, bandwidth limits, connection drops).
//!
//! [`schedule`] plans the faults from the seed. Each kind of fault is one piece implementing
//! [`fault::Fault`] in its own file: [`partition`], [`kill`], [`pause`], [`clock`],
//! [`link_faults`]. The harness executes the plan against the real cluster and records every
//! fault and heal in the history as a `nemesis` event.

pub mod clock;
pub mod fault;
pub mod kill;
pub mod link_faults;
pub mod partition;
pub mod pause;
pub mod schedule;
