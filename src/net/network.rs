//! The harness's network: one [`LinkProxy`] per ordered pair of nodes, and the nemesis's network
//! faults applied to them in layers: *standing* conditions on every link for the whole run (e.g.
//! a constant delay), a scheduled *degradation* (delay, bandwidth, drops) on every link, and a
//! partition (a set of cut directed links). Each link gets the combination of the layers.

use super::{LinkConditions, LinkProxy};
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// Per-node view of the network: the address this node dials for each peer.
#[derive(Debug, Clone)]
pub struct NodeLinks {
    /// `(peer index, address to dial)` for every other node.
    pub peers: Vec<(usize, SocketAddr)>,
}

/// All links of a cluster of `n` nodes.
pub struct Network {
    n: usize,
    /// `links[from][to]`, `None` on the diagonal.
    links: Vec<Vec<Option<LinkProxy>>>,
    cut: BTreeSet<(usize, usize)>,
    standing: LinkConditions,
    degraded: LinkConditions,
}

fn placeholder() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9))
}

impl Network {
    /// Starts `n * (n - 1)` proxies. Their targets are set with [`Network::set_node_addr`] once
    /// the nodes are listening; until then a connection through them is closed at once.
    pub async fn start(n: usize) -> std::io::Result<Network> {
        let mut links = Vec::with_capacity(n);
        for from in 0..n {
            let mut row = Vec::with_capacity(n);
            for to in 0..n {
                row.push(if from == to {
                    None
                } else {
                    Some(LinkProxy::start(placeholder()).await?)
                });
            }
            links.push(row);
        }
        Ok(Network {
            n,
            links,
            cut: BTreeSet::new(),
            standing: LinkConditions::default(),
            degraded: LinkConditions::default(),
        })
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True for a network of no nodes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn link(&self, from: usize, to: usize) -> &LinkProxy {
        self.links[from][to]
            .as_ref()
            .expect("no link from a node to itself")
    }

    /// The addresses node `from` must dial to reach each peer.
    pub fn links_of(&self, from: usize) -> NodeLinks {
        NodeLinks {
            peers: (0..self.n)
                .filter(|&to| to != from)
                .map(|to| (to, self.link(from, to).listen_addr()))
                .collect(),
        }
    }

    /// Tells every link into node `node` where that node now listens.
    pub fn set_node_addr(&self, node: usize, addr: SocketAddr) {
        for from in 0..self.n {
            if from != node {
                self.link(from, node).set_target(addr);
            }
        }
    }

    /// Gives every link the combination of the layers in force.
    fn apply(&self) {
        let everywhere = self.standing.combine(&self.degraded);
        for from in 0..self.n {
            for to in 0..self.n {
                if from != to {
                    let mut c = everywhere;
                    c.cut = self.cut.contains(&(from, to));
                    self.link(from, to).set_conditions(c);
                }
            }
        }
    }

    /// Makes exactly the given directed links cut (heals every other cut).
    pub fn set_cut(&mut self, cut: &BTreeSet<(usize, usize)>) {
        self.cut = cut.clone();
        self.apply();
    }

    /// Heals every cut link (other conditions stay).
    pub fn heal_partition(&mut self) {
        self.set_cut(&BTreeSet::new());
    }

    /// Conditions on every link for as long as they are set (until [`Network::heal_all`]).
    pub fn set_standing(&mut self, conditions: LinkConditions) {
        self.standing = conditions;
        self.apply();
    }

    /// A scheduled degradation of every link, on top of the standing conditions; healed by
    /// setting the default conditions.
    pub fn set_degraded(&mut self, conditions: LinkConditions) {
        self.degraded = conditions;
        self.apply();
    }

    /// Heals everything: no cut, no degradation, no standing conditions.
    pub fn heal_all(&mut self) {
        self.cut.clear();
        self.standing = LinkConditions::default();
        self.degraded = LinkConditions::default();
        self.apply();
    }

    /// The directed links currently cut.
    pub fn cut_links(&self) -> &BTreeSet<(usize, usize)> {
        &self.cut
    }

    /// The conditions on the link `from -> to` now.
    pub fn conditions(&self, from: usize, to: usize) -> LinkConditions {
        self.link(from, to).conditions()
    }

    /// Bytes forwarded over all links so far.
    pub fn bytes_forwarded(&self) -> u64 {
        self.links
            .iter()
            .flatten()
            .flatten()
            .map(LinkProxy::bytes_forwarded)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn answering_server(reply: &'static [u8]) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let _ = s.write_all(reply).await;
            }
        });
        addr
    }

    async fn reaches(addr: SocketAddr) -> bool {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            return false;
        };
        let mut b = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut b)).await,
            Ok(Ok(_))
        )
    }

    #[tokio::test]
    async fn one_way_cut_blocks_only_its_direction() {
        let mut net = Network::start(2).await.unwrap();
        net.set_node_addr(0, answering_server(b"0").await);
        net.set_node_addr(1, answering_server(b"1").await);
        let a_to_b = net.links_of(0).peers[0].1;
        let b_to_a = net.links_of(1).peers[0].1;
        assert!(reaches(a_to_b).await && reaches(b_to_a).await);
        net.set_cut(&BTreeSet::from([(0, 1)]));
        assert!(!reaches(a_to_b).await, "0 -> 1 is cut");
        assert!(reaches(b_to_a).await, "1 -> 0 still flows");
        net.heal_all();
        assert!(reaches(a_to_b).await);
    }

    #[tokio::test]
    async fn layers_combine_and_heal_separately() {
        let mut net = Network::start(3).await.unwrap();
        let ms = Duration::from_millis;
        let standing = LinkConditions {
            delay: ms(10),
            ..Default::default()
        };
        net.set_standing(standing);
        net.set_degraded(LinkConditions {
            delay: ms(5),
            bandwidth: Some(100),
            ..Default::default()
        });
        net.set_cut(&BTreeSet::from([(0, 1)]));
        let c = net.conditions(0, 1);
        assert!(c.cut);
        assert_eq!((c.delay, c.bandwidth), (ms(15), Some(100)));
        assert!(!net.conditions(1, 0).cut);
        net.heal_partition();
        net.set_degraded(LinkConditions::default());
        assert_eq!(net.conditions(0, 1), standing, "the standing delay stays");
        assert_eq!(net.conditions(2, 0), standing);
        net.heal_all();
        assert_eq!(net.conditions(0, 1), LinkConditions::default());
    }
}
