//! Batched requests from a coordinator to one replica peer. Every replica operation a node
//! coordinates is queued on the peer's link; the link sends whatever has queued up as one HTTP
//! request (a few in flight at a time), so a burst of client operations costs a few node-to-node
//! requests instead of one each.

use super::replica::{BatchRequest, BatchResponse, ReplicaOp, ReplicaResult};
use crate::peers::{PeerError, Peers};
use crate::raw_json;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most operations in one request.
const MAX_BATCH: usize = 1024;
/// Requests in flight per peer.
const IN_FLIGHT: usize = 2;

type Call = (ReplicaOp, oneshot::Sender<Result<ReplicaResult, PeerError>>);

/// The queue to one peer.
pub struct Link {
    tx: mpsc::UnboundedSender<Call>,
}

impl Link {
    /// Starts the link to peer `i`.
    pub fn start(peers: Arc<Peers>, i: usize) -> Link {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(peers, i, rx));
        Link { tx }
    }

    /// Sends one operation and waits for its answer.
    pub async fn call(&self, op: ReplicaOp) -> Result<ReplicaResult, PeerError> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send((op, tx)).is_err() {
            return Err(PeerError::Connect("the link task has stopped".into()));
        }
        rx.await
            .unwrap_or_else(|_| Err(PeerError::Uncertain("the link dropped the request".into())))
    }
}

async fn run(peers: Arc<Peers>, i: usize, mut rx: mpsc::UnboundedReceiver<Call>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut replies = Vec::new();
        let mut queued = std::iter::once(first)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .map(|(op, reply)| {
                replies.push(reply);
                op
            });
        let ops = raw_json::batch(&mut queued, MAX_BATCH);
        drop(queued);
        let peers = peers.clone();
        tokio::spawn(async move {
            let count = ops.len();
            let answer = peers
                .post::<_, BatchResponse>(i, "/internal/ll/batch", &BatchRequest { ops })
                .await;
            match answer {
                Ok(r) if r.results.len() == count => {
                    for (reply, result) in replies.into_iter().zip(r.results) {
                        let _ = reply.send(Ok(result));
                    }
                }
                Ok(r) => {
                    let e =
                        PeerError::Uncertain(format!("{count} operations sent, {} answers", r.results.len()));
                    replies
                        .into_iter()
                        .for_each(|reply| drop(reply.send(Err(e.clone()))));
                }
                Err(e) => replies
                    .into_iter()
                    .for_each(|reply| drop(reply.send(Err(e.clone())))),
            }
            drop(permit);
        });
    }
}
