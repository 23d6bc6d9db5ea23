//! One directed link: a TCP proxy that forwards connections from node A to node B under the
//! link's current [`LinkConditions`]: healthy, cut, delayed (fixed plus jitter), limited in
//! bandwidth, or dropping connections.
//!
//! A cut stalls the link: nothing crosses it in either direction, on new connections and on
//! connections already open (HTTP keep-alive cannot bypass it). Bytes and closes that arrive
//! during a cut wait at the proxy, so healing delivers them late, in order, and drops nothing
//! already delivered: the proxy behaves like a network that stops moving packets and later
//! resumes. A client that gives up during the cut sees a timeout, as under a real partition.
//!
//! Each direction of a connection is a pipeline: a reader stamps every chunk it reads with the
//! time it is due (arrival + delay + a random jitter, never before the previous chunk's), and a
//! writer delivers the chunks in order at their due times, paced by the bandwidth limit. A
//! dropped connection is closed in both directions at once, with whatever was in flight.

use super::LinkConditions;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Chunks in flight per direction of a connection before the reader waits (backpressure).
const CHUNKS_IN_FLIGHT: usize = 256;

/// A running proxy for one directed link.
pub struct LinkProxy {
    listen: SocketAddr,
    conditions: watch::Sender<LinkConditions>,
    target: watch::Sender<SocketAddr>,
    forwarded: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    accept_task: JoinHandle<()>,
}

/// What the connection tasks of one link share.
#[derive(Clone)]
struct LinkShared {
    conditions: watch::Receiver<LinkConditions>,
    forwarded: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
}

impl LinkProxy {
    /// Starts a proxy on an ephemeral loopback port, forwarding to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<LinkProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let listen = listener.local_addr()?;
        let (conditions, conditions_rx) = watch::channel(LinkConditions::default());
        let (target_tx, target_rx) = watch::channel(target);
        let shared = LinkShared {
            conditions: conditions_rx,
            forwarded: Arc::new(AtomicU64::new(0)),
            dropped: Arc::new(AtomicU64::new(0)),
        };
        let (forwarded, dropped) = (shared.forwarded.clone(), shared.dropped.clone());
        let accept_task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((inbound, _)) = accepted else { continue };
                        let _ = inbound.set_nodelay(true);
                        let target = *target_rx.borrow();
                        connections.spawn(serve_connection(inbound, target, shared.clone()));
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(LinkProxy {
            listen,
            conditions,
            target: target_tx,
            forwarded,
            dropped,
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

    /// Applies new conditions, to open connections as well as new ones.
    pub fn set_conditions(&self, conditions: LinkConditions) {
        self.conditions.send_replace(conditions);
    }

    /// The conditions in force.
    pub fn conditions(&self) -> LinkConditions {
        *self.conditions.borrow()
    }

    /// Cuts the link: traffic on it stalls until [`LinkProxy::heal`].
    pub fn cut(&self) {
        self.conditions.send_modify(|c| c.cut = true);
    }

    /// Heals a cut: stalled traffic resumes, in order (other conditions stay).
    pub fn heal(&self) {
        self.conditions.send_modify(|c| c.cut = false);
    }

    /// True while the link is not cut.
    pub fn is_open(&self) -> bool {
        !self.conditions.borrow().cut
    }

    /// Total bytes forwarded so far, both directions.
    pub fn bytes_forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::Relaxed)
    }

    /// Connections closed by a drop so far.
    pub fn connections_dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        // Aborting the accept task drops its JoinSet, which aborts every connection task.
        self.accept_task.abort();
    }
}

/// Waits until the link is not cut; false if the proxy is gone.
async fn wait_open(conditions: &mut watch::Receiver<LinkConditions>) -> bool {
    conditions.wait_for(|c| !c.cut).await.is_ok()
}

async fn serve_connection(inbound: TcpStream, target: SocketAddr, shared: LinkShared) {
    // A connection opened during a cut does not reach the target until the link heals.
    if !wait_open(&mut shared.conditions.clone()).await {
        return;
    }
    let Ok(outbound) = TcpStream::connect(target).await else {
        return; // the target is down: the source sees its connection closed
    };
    let _ = outbound.set_nodelay(true);
    let (in_read, in_write) = inbound.into_split();
    let (out_read, out_write) = outbound.into_split();
    let (drop_tx, drop_rx) = watch::channel(false);
    let forward = direction(in_read, out_write, &shared, &drop_tx, &drop_rx);
    let backward = direction(out_read, in_write, &shared, &drop_tx, &drop_rx);
    // Each direction ends on its own (a half-close lets the other go on), or both at once
    // when the connection is dropped: returning drops the sockets, closing them.
    let mut dropped = drop_rx.clone();
    tokio::select! {
        _ = async { tokio::join!(forward, backward) } => {}
        _ = dropped.wait_for(|d| *d) => {}
    }
}

/// One direction of a connection: a reader that stamps due times and a writer that delivers.
async fn direction(
    from: tokio::net::tcp::OwnedReadHalf,
    to: tokio::net::tcp::OwnedWriteHalf,
    shared: &LinkShared,
    drop_tx: &watch::Sender<bool>,
    drop_rx: &watch::Receiver<bool>,
) {
    let (chunks_tx, chunks_rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let reader = read_chunks(from, chunks_tx, shared, drop_tx);
    let writer = write_chunks(to, chunks_rx, shared.clone());
    let mut dropped = drop_rx.clone();
    tokio::select! {
        _ = async { tokio::join!(reader, writer) } => {}
        _ = dropped.wait_for(|d| *d) => {}
    }
}

/// A chunk of bytes and when it is due at the far end (`None` bytes: the end of the stream).
type Chunk = (Instant, Option<Vec<u8>>);

async fn read_chunks(
    mut from: tokio::net::tcp::OwnedReadHalf,
    chunks: mpsc::Sender<Chunk>,
    shared: &LinkShared,
    drop_tx: &watch::Sender<bool>,
) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(rand::random());
    let mut last_due = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or_default();
        let conditions = *shared.conditions.borrow();
        if n > 0 && conditions.drop_probability > 0.0 && rng.random::<f64>() < conditions.drop_probability {
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            drop_tx.send_replace(true);
            return;
        }
        let mut due = Instant::now() + conditions.delay;
        if !conditions.jitter.is_zero() {
            due += conditions.jitter.mul_f64(rng.random::<f64>());
        }
        due = due.max(last_due);
        last_due = due;
        let bytes = (n > 0).then(|| buf[..n].to_vec());
        if chunks.send((due, bytes)).await.is_err() || n == 0 {
            return;
        }
    }
}

async fn write_chunks(
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut chunks: mpsc::Receiver<Chunk>,
    mut shared: LinkShared,
) {
    // When the link is next free to start sending, under a bandwidth limit.
    let mut free_at = Instant::now();
    while let Some((due, bytes)) = chunks.recv().await {
        tokio::time::sleep_until(due).await;
        if !wait_open(&mut shared.conditions).await {
            return;
        }
        let Some(bytes) = bytes else {
            let _ = to.shutdown().await;
            return;
        };
        let conditions = *shared.conditions.borrow();
        let transmission = conditions.transmission_time(bytes.len());
        if !transmission.is_zero() {
            free_at = free_at.max(Instant::now()) + transmission;
            tokio::time::sleep_until(free_at).await;
        }
        if to.write_all(&bytes).await.is_err() {
            return;
        }
        shared.forwarded.fetch_add(bytes.len() as u64, Ordering::Relaxed);
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

    #[tokio::test]
    async fn delay_and_jitter_hold_bytes_back_in_order() {
        let proxy = LinkProxy::start(echo_server().await).await.unwrap();
        let mut conn = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        assert_eq!(round_trip(&mut conn, b"warm").await, b"warm");
        proxy.set_conditions(LinkConditions {
            delay: Duration::from_millis(100),
            jitter: Duration::from_millis(50),
            ..Default::default()
        });
        let started = std::time::Instant::now();
        // Many small writes: jitter must not reorder them.
        let msg: Vec<u8> = (0..200u8).collect();
        for b in msg.chunks(7) {
            conn.write_all(b).await.unwrap();
        }
        let mut got = vec![0u8; msg.len()];
        conn.read_exact(&mut got).await.unwrap();
        assert_eq!(got, msg, "delivered in order");
        // Two crossings of the link (there and back), each at least the fixed delay.
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
        proxy.set_conditions(LinkConditions::default());
        let started = std::time::Instant::now();
        assert_eq!(round_trip(&mut conn, b"fast").await, b"fast");
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_bandwidth_limit_paces_the_bytes() {
        let proxy = LinkProxy::start(echo_server().await).await.unwrap();
        proxy.set_conditions(LinkConditions {
            bandwidth: Some(20_000),
            ..Default::default()
        });
        let mut conn = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        let started = std::time::Instant::now();
        let msg = vec![7u8; 4_000];
        conn.write_all(&msg).await.unwrap();
        let mut got = vec![0u8; msg.len()];
        conn.read_exact(&mut got).await.unwrap();
        // 4,000 bytes each way at 20,000 bytes/s: at least 0.2 s per crossing, minus the
        // first chunk of each, which may go out at once.
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_drop_closes_the_connection_both_ways() {
        let proxy = LinkProxy::start(echo_server().await).await.unwrap();
        let mut conn = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        assert_eq!(round_trip(&mut conn, b"before").await, b"before");
        proxy.set_conditions(LinkConditions {
            drop_probability: 1.0,
            ..Default::default()
        });
        conn.write_all(b"lost").await.unwrap();
        let mut buf = [0u8; 4];
        let n = timeout(Duration::from_secs(5), conn.read(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0, "the connection is closed, the bytes never delivered");
        assert_eq!(proxy.connections_dropped(), 1);
        proxy.set_conditions(LinkConditions::default());
        let mut fresh = TcpStream::connect(proxy.listen_addr()).await.unwrap();
        assert_eq!(round_trip(&mut fresh, b"after").await, b"after");
    }
}
