//! One directed link: a TCP proxy that forwards connections from node A to node B, and that
//! can be cut and healed.
//!
//! A cut stalls the link: nothing crosses it in either direction, on new connections and on
//! connections already open (HTTP keep-alive cannot bypass it). Bytes and closes that arrive
//! during a cut wait at the proxy, so healing delivers them late, in order, and drops nothing
//! already delivered: the proxy behaves like a network that stops moving packets and later
//! resumes. A client that gives up during the cut sees a timeout, as under a real partition.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy for one directed link.
pub struct LinkProxy {
    listen: SocketAddr,
    open: watch::Sender<bool>,
    target: watch::Sender<SocketAddr>,
    forwarded: Arc<AtomicU64>,
    accept_task: JoinHandle<()>,
}

impl LinkProxy {
    /// Starts a proxy on an ephemeral loopback port, forwarding to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let listen = listener.local_addr()?;
        let (open, open_rx) = watch::channel(true);
        let (target_tx, target_rx) = watch::channel(target);
        let forwarded = Arc::new(AtomicU64::new(0));
        let counter = forwarded.clone();
        let accept_task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((inbound, _)) = accepted else { continue };
                        let _ = inbound.set_nodelay(true);
                        let target = *target_rx.borrow();
                        connections.spawn(serve_connection(inbound, target, open_rx.clone(), counter.clone()));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(LinkProxy {
            listen,
            open,
            target: target_tx,
            forwarded,
            accept_task,
        })
    }

    /// The address the source node dials to reach the target through this link.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    /// Points new connections at a different target (a node restarted elsewhere).
    pub fn set_target(&self, target: SocketAddr) {
        self.target.send_replace(target);
    }

    /// Cuts the link: traffic on it stalls until [`LinkProxy::heal`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Heals the link: stalled traffic resumes, in order.
    pub fn heal(&self) {
        self.open.send_replace(true);
    }

    /// True while the link is not cut.
    pub fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// Total bytes forwarded so far, both directions.
    pub fn bytes_forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection task.
        self.accept_task.abort();
    }
}

async fn wait_open(open: &mut watch::Receiver<bool>) -> bool {
    open.wait_for(|is_open| *is_open).await.is_ok()
}

async fn serve_connection(
    inbound: TcpStream,
    target: SocketAddr,
    mut open: watch::Receiver<bool>,
    forwarded: Arc<AtomicU64>,
) {
    // A connection opened during a cut does not reach the target until the link heals.
    if !wait_open(&mut open).await {
        return;
    }
    let Ok(outbound) = TcpStream::connect(target).await else {
        return; // the target is down: the source sees its connection closed
    };
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let forward = pump(in_read, out_write, open.clone(), forwarded.clone());
    let backward = pump(out_read, in_write, open, forwarded);
    let _ = tokio::join!(forward, backward);
}

/// Copies one direction of a connection, waiting while the link is cut before every write
/// and before passing on the end of the stream.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut open: watch::Receiver<bool>,
    forwarded: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or_default();
        if !wait_open(&mut open).await {
            return;
        }
        if n == 0 {
            let _ = to.shutdown().await;
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        forwarded.fetch_add(n as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    /// An echo server that answers each read with the same bytes.
    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
        s.write_all(msg).await.unwrap();
        let mut got = vec![0u8; msg.len()];
        s.read_exact(&mut got).await.unwrap();
        got
    }

    #[tokio::test]
    async fn forwards_then_stalls_open_connections_when_cut_and_delivers_on_heal() {
        let proxy = LinkProxy::start(echo_server().await).await.unwrap();
        let mut conn = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        assert_eq!(round_trip(&mut conn, b"hello").await, b"hello");

        proxy.cut();
        conn.write_all(b"during cut").await.unwrap();
        let mut got = vec![0u8; 10];
        let stalled = timeout(Duration::from_millis(300), conn.read_exact(&mut got)).await;
        assert!(
            stalled.is_err(),
            "a kept-alive connection must not cross a cut link"
        );

        // A new connection during the cut stalls too.
        let mut fresh = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        fresh.write_all(b"new").await.unwrap();
        let mut got_fresh = vec![0u8; 3];
        assert!(
            timeout(Duration::from_millis(200), fresh.read_exact(&mut got_fresh))
                .await
                .is_err()
        );

        proxy.heal();
        timeout(Duration::from_secs(5), conn.read_exact(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            got, b"during cut",
            "what was sent during the cut is delivered after the heal"
        );
        timeout(Duration::from_secs(5), fresh.read_exact(&mut got_fresh))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got_fresh, b"new");
        assert_eq!(round_trip(&mut conn, b"after").await, b"after");
        assert!(proxy.bytes_forwarded() >= 2 * (5 + 10 + 3 + 5));
    }

    #[tokio::test]
    async fn a_dead_target_closes_the_source_connection() {
        let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let dead = unused.local_addr().unwrap();
        drop(unused);
        let proxy = LinkProxy::start(dead).await.unwrap();
        let mut conn = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        let mut buf = [0u8; 1];
        let n = timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0);
    }
}
