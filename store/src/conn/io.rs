//! One client or peer connection as the HTTP server sees it ([`Guarded`]): the socket, with the
//! header read timeout and the keep-alive idle timeout enforced on its reads, and hyper's own
//! bodiless error answers (400, 414, 431) rewritten into the node's JSON error answers.
//!
//! The connection moves between three states: `Head` (a request's head is arriving; the header
//! deadline runs), `Busy` (the head has arrived; the body timeout and the handler are the
//! request's business) and `Idle` (an answer was written; the idle deadline runs until the next
//! request's first byte). A connection starts in `Head`: a client opens one to send a request.

use super::{ConnLimits, Slot};
use crate::error::ApiError;
use crate::wire::ErrorCode;
use axum::http::StatusCode;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a request head; `seen` bytes of it have arrived.
    Head { seen: usize },
    /// A request is being served.
    Busy,
    /// Kept alive between requests.
    Idle,
    /// The header deadline passed: the 408 answer is being written, then the connection ends.
    TimedOut,
}

/// A served connection (see the module documentation).
pub struct Guarded {
    inner: TcpStream,
    limits: ConnLimits,
    node: Arc<str>,
    state: State,
    /// The last bytes read, to find the blank line that ends a head across reads.
    tail: [u8; 3],
    deadline: Pin<Box<Sleep>>,
    /// Bytes owed to the socket before anything else is written: a rewritten error answer or
    /// the 408 of a header timeout.
    pending: Vec<u8>,
    _slot: Slot,
}

impl Guarded {
    pub(super) fn new(inner: TcpStream, limits: ConnLimits, node: Arc<str>, slot: Slot) -> Guarded {
        Guarded {
            inner,
            limits,
            node,
            state: State::Head { seen: 0 },
            tail: [0; 3],
            deadline: Box::pin(tokio::time::sleep(limits.header_timeout)),
            pending: Vec::new(),
            _slot: slot,
        }
    }

    /// Notes the bytes just read: the first byte of a request starts the header deadline, the
    /// blank line ending its head stops it.
    fn saw(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match self.state {
                State::Idle => {
                    self.state = State::Head { seen: 0 };
                    self.tail = [0; 3];
                    let at = Instant::now() + self.limits.header_timeout;
                    self.deadline.as_mut().reset(at);
                }
                State::Busy | State::TimedOut => return,
                State::Head { .. } => {}
            }
            if let State::Head { seen } = &mut self.state {
                *seen += 1;
            }
            let ends_head =
                b == b'\n' && (self.tail[2] == b'\n' || (self.tail[2] == b'\r' && self.tail[1] == b'\n'));
            self.tail = [self.tail[1], self.tail[2], b];
            if ends_head {
                self.state = State::Busy;
            }
        }
    }

    /// Writes what is owed to the socket first.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            self.pending.drain(..n);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.state == State::TimedOut {
            ready!(this.poll_pending(cx))?;
            return Poll::Ready(Ok(())); // end of stream: hyper drops the connection
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled()[before..].to_vec();
                this.saw(&filled);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                let watched = matches!(this.state, State::Head { .. } | State::Idle);
                if !watched || this.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                match this.state {
                    State::Head { seen } if seen > 0 => {
                        let err = ApiError::new(
                            ErrorCode::RequestTimeout,
                            format!(
                                "the request's head did not arrive within {} ms \
                                 (--header-timeout-ms); the connection is closed",
                                this.limits.header_timeout.as_millis()
                            ),
                        );
                        this.pending = raw_response(&err, &this.node);
                        this.state = State::TimedOut;
                        ready!(this.poll_pending(cx))?;
                        Poll::Ready(Ok(()))
                    }
                    // Nothing of a request arrived: close quietly.
                    _ => Poll::Ready(Ok(())),
                }
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        if this.state == State::Busy || matches!(this.state, State::Head { .. }) {
            // An answer: the connection is idle once it is written (and the next byte read
            // starts a new head).
            this.state = State::Idle;
            let at = Instant::now() + this.limits.idle_timeout;
            this.deadline.as_mut().reset(at);
        }
        if let Some(rewritten) = rewrite_bare_error(buf, &this.node) {
            this.pending = rewritten;
            // The caller's bytes are taken: they are replaced by the rewritten answer, which is
            // written before anything else and at the latest on flush.
            let _ = this.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    /// False, so hyper writes each answer's head (and small body) in one contiguous buffer,
    /// which is what [`rewrite_bare_error`] inspects.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// An error as a complete HTTP/1.1 answer that closes the connection.
pub fn raw_response(err: &ApiError, node: &str) -> Vec<u8> {
    let body = serde_json::to_vec(&err.body(node)).unwrap_or_else(|_| b"{}".to_vec());
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// hyper answers a request it cannot parse by itself, with a status and no body. The node's
/// routes never send a 400, 414 or 431 without a JSON body, so a whole head with one of those
/// statuses and `content-length: 0` is hyper's; it becomes the node's JSON answer.
fn rewrite_bare_error(buf: &[u8], node: &str) -> Option<Vec<u8>> {
    if buf.len() > 512 || !buf.starts_with(b"HTTP/1.") {
        return None;
    }
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    if head_end + 4 != buf.len() || buf.len() < 13 {
        return None;
    }
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let bodiless = head
        .split("\r\n")
        .any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !bodiless {
        return None;
    }
    let err = match &head[9..12] {
        "400" => ApiError::bad_request(
            "malformed HTTP request (request line, a header, or the body's framing); see \
             docs/store.md",
        ),
        "414" => ApiError::new(ErrorCode::UriTooLong, "the request's URI is too long"),
        "431" => ApiError::new(
            ErrorCode::HeadersTooLarge,
            "the request's head is too large (too many or too long header lines)",
        ),
        _ => return None,
    };
    Some(raw_response(&err, node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_bodiless_errors_are_rewritten() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(rewrite_bare_error(bare, "n1").unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
        assert!(out.contains("\"error\":\"headers_too_large\""), "{out}");
        assert!(out.contains("\"node\":\"n1\""), "{out}");
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{out}");
        for status in ["400 Bad Request", "414 URI Too Long"] {
            let bare = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n\r\n");
            assert!(rewrite_bare_error(bare.as_bytes(), "n1").is_some(), "{status}");
        }
        // The node's own answers (with a body) and other statuses pass untouched.
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 20\r\n\r\n";
        assert!(rewrite_bare_error(ours, "n1").is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(rewrite_bare_error(ok, "n1").is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}";
        assert!(rewrite_bare_error(with_body, "n1").is_none());
    }
}
