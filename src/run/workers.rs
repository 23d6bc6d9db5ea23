//! The client workers: each takes the next operation from the shared generator when the rate
//! allows, records its invocation, performs it, and records its completion. After an `info`
//! completion a worker continues under a fresh process id (old id + concurrency), as in Jepsen.

use super::client_ops::execute;
use super::recorder::Recorder;
use super::routing::{Routing, Session};
use crate::systems::SystemClient;
use crate::workload::generator::{GenOp, OpGenerator};
use faultline_checkers::history::{EventKind, Process};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Paces operations to a global rate: each operation takes the next free time slot.
pub struct RateLimiter {
    period: Option<Duration>,
    next_slot: Mutex<Instant>,
}

impl RateLimiter {
    /// `rate` operations per second over all workers; 0 means unlimited.
    pub fn new(rate: f64) -> RateLimiter {
        RateLimiter {
            period: (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate)),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this caller's slot.
    pub async fn acquire(&self) {
        if let Some(slot) = self.reserve(Instant::now()) {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Takes the next free slot at or after `now` (none when unlimited).
    fn reserve(&self, now: Instant) -> Option<Instant> {
        let period = self.period?;
        let mut next = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        // Do not bank slots while everyone was busy: no bursts after a stall.
        let slot = (*next).max(now);
        *next = slot + period;
        Some(slot)
    }
}

/// What every worker shares.
pub struct WorkerShared {
    pub client: Arc<dyn SystemClient>,
    pub routing: Arc<Routing>,
    pub recorder: Arc<Recorder>,
    pub generator: Arc<Mutex<OpGenerator>>,
    pub limiter: RateLimiter,
    pub concurrency: usize,
    pub seed: u64,
}

/// Records the invocation, performs the operation (at `target` first if given and the routing
/// policy allows: see [`Routing::final_read_targets`]), records the completion. If `stop` turns
/// true first, the operation is abandoned with no completion (the history reads it as info).
pub async fn perform(
    shared: &WorkerShared,
    session: &mut Session,
    op: &GenOp,
    target: Option<usize>,
    stop: &mut watch::Receiver<bool>,
) -> Option<EventKind> {
    let key = op.key.map(Value::from);
    shared.recorder.record(
        Process::Client(session.process),
        EventKind::Invoke,
        op.f,
        key.clone(),
        op.value.clone(),
        Map::new(),
    );
    let completion = tokio::select! {
        c = execute(shared.client.as_ref(), &shared.routing, session, op, target) => c,
        _ = stop.wait_for(|s| *s) => return None,
    };
    shared.recorder.record(
        Process::Client(session.process),
        completion.kind,
        op.f,
        key,
        completion.value,
        completion.extra,
    );
    if completion.kind == EventKind::Info {
        session.continue_as_new_process(shared.concurrency);
    }
    Some(completion.kind)
}

/// One worker: operations until `deadline`, until `end_early` turns true (the operation in
/// flight completes), or until `stop` (Ctrl-C) turns true (it is abandoned). Returns its session,
/// which the final reads continue.
pub async fn worker(
    shared: Arc<WorkerShared>,
    index: usize,
    deadline: Instant,
    mut stop: watch::Receiver<bool>,
    mut end_early: watch::Receiver<bool>,
) -> Session {
    let nodes = shared.routing.ids.len();
    let mut session = Session::new(
        index as u64,
        index % nodes,
        Xoshiro256PlusPlus::seed_from_u64(
            shared.seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(index as u64 + 1)),
        ),
    );
    loop {
        tokio::select! {
            _ = shared.limiter.acquire() => {}
            _ = stop.wait_for(|s| *s) => return session,
            Ok(_) = end_early.wait_for(|e| *e) => return session,
        }
        if Instant::now() >= deadline || *stop.borrow() || *end_early.borrow() {
            return session;
        }
        let op = shared
            .generator
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_op();
        if perform(&shared, &mut session, &op, None, &mut stop)
            .await
            .is_none()
        {
            return session;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_spaces_operations_and_does_not_burst() {
        let l = RateLimiter::new(10.0);
        let t0 = Instant::now();
        let slots: Vec<_> = (0..5).map(|_| l.reserve(t0).unwrap() - t0).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(slots, vec![ms(0), ms(100), ms(200), ms(300), ms(400)]);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(l.reserve(later), Some(later), "no banked slots after a stall");
        assert_eq!(l.reserve(later), Some(later + ms(100)));
        assert_eq!(RateLimiter::new(0.0).reserve(t0), None);
    }
}
