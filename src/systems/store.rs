//! The built-in store as a [`System`]: `faultline node` processes on loopback, every
//! node-to-node link through a proxy of the harness's [`Network`] (so links can be cut, delayed,
//! throttled and dropped one direction at a time), clocks moved through the nodes' admin routes.

use super::{BoxFuture, Clocks, System, SystemClient};
use crate::client::{Options, Outcome, StoreClient};
use crate::cluster::Cluster;
use crate::net::Network;
use crate::workload::generator::{GenOp, KeyObject};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;

impl System for Cluster {
    fn ids(&self) -> &[String] {
        &self.ids
    }

    fn client(&self) -> Arc<dyn SystemClient> {
        Arc::new(self.client.clone())
    }

    fn leader(&self) -> BoxFuture<'_, Option<usize>> {
        Box::pin(Cluster::leader(self))
    }

    fn kill(&mut self, node: usize) -> anyhow::Result<()> {
        Cluster::kill(self, node);
        Ok(())
    }

    fn restart(&mut self, node: usize) -> BoxFuture<'_, anyhow::Result<()>> {
        let result = Cluster::restart(self, node);
        Box::pin(async move { result })
    }

    fn pause(&mut self, node: usize) -> anyhow::Result<()> {
        Cluster::pause(self, node)
    }

    fn resume(&mut self, node: usize) -> anyhow::Result<()> {
        Cluster::resume(self, node)
    }

    fn is_running(&self, node: usize) -> bool {
        Cluster::is_running(self, node)
    }

    fn take_unexpected_exits(&mut self) -> Vec<(usize, String)> {
        Cluster::take_unexpected_exits(self)
    }

    fn cut(&mut self, links: &BTreeSet<(usize, usize)>) -> anyhow::Result<()> {
        if links.is_empty() {
            self.network.heal_partition();
        } else {
            self.network.set_cut(links);
        }
        Ok(())
    }

    fn link_proxies(&mut self) -> Option<&mut Network> {
        Some(&mut self.network)
    }

    fn clocks(&self) -> Option<Arc<dyn Clocks>> {
        Some(Arc::new(StoreClocks {
            client: self.client.clone(),
            ids: self.ids.clone(),
        }))
    }

    fn stop(&mut self) {
        Cluster::stop(self)
    }
}

impl SystemClient for StoreClient {
    fn invoke<'a>(&'a self, node: usize, op: &'a GenOp, opts: &'a Options) -> BoxFuture<'a, Outcome> {
        Box::pin(async move {
            let node = self.node_id(node).unwrap_or("");
            let key = op.key.map(|k| k.to_string()).unwrap_or_default();
            match op.f {
                "read" => self.read(node, &key, opts).await,
                "write" => self.write(node, &key, op.value.clone(), opts).await,
                // A set's add is an append to the key's list (a counter's add is a read and a
                // cas, made of these operations by `run::counter_add`).
                "add" if op.object == KeyObject::Set => self.append(node, &key, op.value.clone(), opts).await,
                "cas" => {
                    let from = op.value.get(0).cloned().unwrap_or(Value::Null);
                    let to = op.value.get(1).cloned().unwrap_or(Value::Null);
                    self.cas(node, &key, from, to, opts).await
                }
                _ => self.txn(node, op.value.clone(), opts).await,
            }
        })
    }
}

/// The store's clock controls: its nodes' `/admin/clock/*` routes.
struct StoreClocks {
    client: StoreClient,
    ids: Vec<String>,
}

impl StoreClocks {
    fn id(&self, node: usize) -> &str {
        self.ids.get(node).map(String::as_str).unwrap_or("")
    }
}

impl Clocks for StoreClocks {
    fn bump(&self, node: usize, delta_ms: i64) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { self.client.clock_bump(self.id(node), delta_ms).await.map(drop) })
    }

    fn strobe(
        &self,
        node: usize,
        delta_ms: i64,
        period_ms: u64,
        duration_ms: u64,
    ) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move {
            self.client
                .clock_strobe(self.id(node), delta_ms, period_ms, duration_ms)
                .await
                .map(drop)
        })
    }

    fn reset(&self, node: usize) -> BoxFuture<'_, anyhow::Result<()>> {
        Box::pin(async move { self.client.clock_reset(self.id(node)).await.map(drop) })
    }
}
