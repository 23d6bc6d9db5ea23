//! The node's connections: how many it holds and how long it waits for a client.
//!
//! - A cap on open connections ([`Listener`]): one past the cap is answered `503
//!   too_many_connections` (JSON, `connection: close`) and closed, never served.
//! - A header read timeout and a keep-alive idle timeout on each connection ([`io::Guarded`]):
//!   a request whose head has not fully arrived within `--header-timeout-ms` of its first byte
//!   (or of the connection's opening) is answered `408 request_timeout` and closed; a kept-alive
//!   connection with no request for `--idle-timeout-ms` is closed quietly (the default is longer
//!   than the harness client's 30 s pool timeout, so keep-alive works as before).
//! - A body read timeout ([`body::read_within`]): a request whose body has not fully arrived
//!   within `--body-timeout-ms` of its head is answered `408 request_timeout` and closed.
//! - JSON bodies on the answers hyper sends by itself for a malformed request (400), a URI too
//!   long (414) or a head too large (431) ([`io::Guarded`] rewrites them), like every other error.

pub mod body;
pub mod io;

use crate::error::ApiError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The connection limits of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Open client and peer connections served at once.
    pub max_connections: usize,
    /// From a request's first byte (or the connection's opening) to the end of its head.
    pub header_timeout: Duration,
    /// From the end of a request's head to the end of its body.
    pub body_timeout: Duration,
    /// A kept-alive connection with no request in flight.
    pub idle_timeout: Duration,
}

/// Default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default `--header-timeout-ms`.
pub const DEFAULT_HEADER_TIMEOUT_MS: u64 = 5_000;
/// Default `--body-timeout-ms`.
pub const DEFAULT_BODY_TIMEOUT_MS: u64 = 10_000;
/// Default `--idle-timeout-ms`: longer than the harness client's 30 s pool idle timeout, so the
/// client, not the node, closes an idle kept-alive connection.
pub const DEFAULT_IDLE_TIMEOUT_MS: u64 = 90_000;

/// Refused connections being answered at once; past this a refused connection is dropped
/// without an answer, so a flood cannot make the refusals themselves hold sockets.
const MAX_REFUSING: usize = 64;

/// The accepting socket, with the connection cap.
pub struct Listener {
    inner: TcpListener,
    limits: ConnLimits,
    node: Arc<str>,
    open: Arc<AtomicUsize>,
    refusing: Arc<AtomicUsize>,
}

impl Listener {
    pub fn new(inner: TcpListener, limits: ConnLimits, node: &str) -> Listener {
        Listener {
            inner,
            limits,
            node: node.into(),
            open: Arc::new(AtomicUsize::new(0)),
            refusing: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Answers a connection past the cap with a JSON 503 and closes it; the request (if any
    /// arrives) is read and discarded for a moment first, so the client sees the answer rather
    /// than a reset.
    fn refuse(&self, mut stream: TcpStream) {
        if self.refusing.fetch_add(1, Ordering::SeqCst) >= MAX_REFUSING {
            self.refusing.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let refusing = self.refusing.clone();
        let answer = io::raw_response(
            &ApiError::new(
                crate::wire::ErrorCode::TooManyConnections,
                format!(
                    "this node serves at most {} connections at once (--max-connections); \
                     this one was closed",
                    self.limits.max_connections
                ),
            ),
            &self.node,
        );
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                stream.write_all(&answer).await?;
                stream.shutdown().await?;
                let mut sink = [0u8; 4096];
                while stream.read(&mut sink).await? > 0 {}
                Ok::<_, std::io::Error>(())
            })
            .await;
            refusing.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

impl axum::serve::Listener for Listener {
    type Io = io::Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.inner.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a little
                    // rather than spin.
                    crate::log::log(format_args!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if self.open.load(Ordering::SeqCst) >= self.limits.max_connections {
                self.refuse(stream);
                continue;
            }
            let _ = stream.set_nodelay(true);
            let slot = Slot::take(self.open.clone());
            return (
                io::Guarded::new(stream, self.limits, self.node.clone(), slot),
                addr,
            );
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One counted open connection; the count drops when the connection does.
pub struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(open: Arc<AtomicUsize>) -> Slot {
        open.fetch_add(1, Ordering::SeqCst);
        Slot(open)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
