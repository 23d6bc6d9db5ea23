//! The harness's network: one [`LinkProxy`] per ordered pair of nodes, and partitions applied
//! as sets of cut directed links.

use super::LinkProxy;
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

    /// Makes exactly the given directed links cut (heals every other link).
    pub fn set_cut(&mut self, cut: &BTreeSet<(usize, usize)>) {
        for from in 0..self.n {
            for to in 0..self.n {
                if from == to {
                    continue;
                }
                if cut.contains(&(from, to)) {
                    self.link(from, to).cut();
                } else {
                    self.link(from, to).heal();
                }
            }
        }
        self.cut = cut.clone();
    }

    /// Heals every link.
    pub fn heal_all(&mut self) {
        self.set_cut(&BTreeSet::new());
    }

    /// The directed links currently cut.
    pub fn cut_links(&self) -> &BTreeSet<(usize, usize)> {
        &self.cut
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
}
