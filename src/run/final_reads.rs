//! The final reads: after the heal and the settle, every key ever written is read once more,
//! from every node the workload's routing policy reads from (each node for follower reads, the
//! leader for leader reads), so a write that was acknowledged and then lost cannot go unnoticed.
//! The reads are spread over the client sessions, which continue their processes.

use super::routing::Session;
use super::workers::{self, WorkerShared};
use std::sync::Arc;
use tokio::sync::watch;

/// Performs the final reads over `sessions`; stops early if `stop` turns true.
pub async fn perform(shared: &Arc<WorkerShared>, sessions: Vec<Session>, stop: &watch::Receiver<bool>) {
    let reads = shared
        .generator
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .final_reads();
    let targets = shared.routing.final_read_targets();
    let lanes = sessions.len().max(1);
    let mut per_lane: Vec<Vec<_>> = (0..lanes).map(|_| Vec::new()).collect();
    let all = targets
        .iter()
        .flat_map(|&target| reads.iter().map(move |op| (op.clone(), target)));
    for (i, read) in all.enumerate() {
        per_lane[i % lanes].push(read);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (mut session, reads) in sessions.into_iter().zip(per_lane) {
        let shared = shared.clone();
        let mut stop = stop.clone();
        tasks.spawn(async move {
            for (op, target) in reads {
                if workers::perform(&shared, &mut session, &op, target, &mut stop)
                    .await
                    .is_none()
                {
                    break;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
