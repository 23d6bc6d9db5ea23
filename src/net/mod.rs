//! The fault-injecting network between store nodes.
//!
//! Every directed node-to-node link goes through its own [`LinkProxy`], a TCP proxy owned by
//! the harness. A [`Network`] holds one proxy per ordered pair of nodes and applies the nemesis's
//! network faults (partitions as cut links; delay, bandwidth limits and connection drops as
//! [`LinkConditions`]) without touching the nodes themselves.

mod conditions;
mod network;
mod proxy;

pub use conditions::LinkConditions;
pub use network::{Network, NodeLinks};
pub use proxy::LinkProxy;
