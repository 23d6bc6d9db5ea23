//! The fault-injecting network between store nodes.
//!
//! Every directed node-to-node link goes through its own [`LinkProxy`], a TCP proxy owned by
//! the harness. A [`Network`] holds one proxy per ordered pair of nodes and applies partitions
//! by cutting and healing those links, without touching the nodes themselves.

mod network;
mod proxy;

pub use network::{Network, NodeLinks};
pub use proxy::LinkProxy;
