//! Node-to-node requests: one HTTP/JSON client for all peers, dialing only the configured peer
//! addresses (which the harness points at its proxies), and what the node knows about each
//! peer's reachability (whether the last request to it succeeded), logged only when it changes.

use super::config::{NodeConfig, PeerAddr};
use super::log::log;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Why a peer request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    /// No connection could be made: the request was certainly not delivered.
    Connect(String),
    /// Anything else (timeout, reset, bad status): the request may or may not have been handled.
    Uncertain(String),
}

impl PeerError {
    /// Was the request certainly not delivered?
    pub fn not_delivered(&self) -> bool {
        matches!(self, PeerError::Connect(_))
    }
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Connect(m) | PeerError::Uncertain(m) => f.write_str(m),
        }
    }
}

/// One peer.
pub struct Peer {
    pub id: String,
    base_url: String,
    /// Whether the last request reached it (for logging changes only).
    reachable: AtomicBool,
}

/// All peers of this node, in id order.
pub struct Peers {
    http: reqwest::Client,
    pub list: Vec<Peer>,
    timeout: Duration,
    self_id: String,
    /// `Authorization` header value: the cluster token.
    bearer: String,
}

impl Peers {
    pub fn new(config: &NodeConfig) -> anyhow::Result<Peers> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .connect_timeout(config.peer_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .build()?;
        let list = config.peers.iter().map(Peer::new).collect();
        Ok(Peers {
            http,
            list,
            timeout: config.peer_timeout,
            self_id: config.id.clone(),
            bearer: config.token.bearer(),
        })
    }

    /// The index of a peer by id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.list.iter().position(|p| p.id == id)
    }

    /// Did the last request to peer `i` succeed (true before any request)?
    pub fn is_reachable(&self, i: usize) -> bool {
        self.list[i].reachable.load(Ordering::Relaxed)
    }

    /// POSTs `body` as JSON to `path` on peer `i` and decodes the JSON answer.
    pub async fn post<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        i: usize,
        path: &str,
        body: &Req,
    ) -> Result<Resp, PeerError> {
        self.post_with_timeout(i, path, body, self.timeout).await
    }

    /// Like [`Peers::post`] with an explicit timeout.
    pub async fn post_with_timeout<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        i: usize,
        path: &str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Resp, PeerError> {
        let peer = &self.list[i];
        let result = self.send(peer, path, body, timeout).await;
        self.note(peer, &result);
        result
    }

    async fn send<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        peer: &Peer,
        path: &str,
        body: &Req,
        timeout: Duration,
    ) -> Result<Resp, PeerError> {
        let url = format!("{}{}", peer.base_url, path);
        let response = self
            .http
            .post(&url)
            .header("x-faultline-from", &self.self_id)
            .header(reqwest::header::AUTHORIZATION, &self.bearer)
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    PeerError::Connect(format!("cannot connect to {}: {e}", peer.id))
                } else {
                    PeerError::Uncertain(format!("request to {} failed: {e}", peer.id))
                }
            })?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(PeerError::Uncertain(format!(
                "{} answered {status}: {text}",
                peer.id
            )));
        }
        response
            .json::<Resp>()
            .await
            .map_err(|e| PeerError::Uncertain(format!("bad answer from {}: {e}", peer.id)))
    }

    fn note<T>(&self, peer: &Peer, result: &Result<T, PeerError>) {
        let ok = result.is_ok();
        if peer.reachable.swap(ok, Ordering::Relaxed) != ok {
            match result {
                Ok(_) => log(format_args!("peer {} is reachable again", peer.id)),
                Err(e) => log(format_args!("peer {} unreachable: {e}", peer.id)),
            }
        }
    }
}

impl Peer {
    fn new(p: &PeerAddr) -> Peer {
        Peer {
            id: p.id.clone(),
            base_url: format!("http://{}", p.addr),
            reachable: AtomicBool::new(true),
        }
    }
}
