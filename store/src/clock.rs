//! The node's clock: the system clock plus an offset that the admin API can bump, strobe or
//! reset at run time. Every timestamp the node makes (last-write-wins stamps, log entry times,
//! status) comes from here, so skewing it has the effects it would have on a real database.
//!
//! The clock reads the wall clock once at start and then advances with the monotonic clock, so
//! it only ever moves backwards when the offset is lowered. Timers (heartbeats, election
//! timeouts) use the monotonic clock directly: this store has no leases, so skew cannot break
//! single-leader safety, only last-write-wins ordering.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::task::JoinHandle;

/// A skewable clock, in nanoseconds since the Unix epoch.
pub struct Clock {
    start_wall_ns: i64,
    start: Instant,
    /// The offset currently in force, in nanoseconds.
    offset_ns: AtomicI64,
    /// The offset a strobe oscillates around (the offset outside strobes).
    base_offset_ns: AtomicI64,
    strobe: Mutex<Option<JoinHandle<()>>>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock with no offset.
    pub fn new() -> Clock {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Clock {
            start_wall_ns: wall.as_nanos() as i64,
            start: Instant::now(),
            offset_ns: AtomicI64::new(0),
            base_offset_ns: AtomicI64::new(0),
            strobe: Mutex::new(None),
        }
    }

    /// Now, in nanoseconds since the Unix epoch, including the offset (never below zero).
    pub fn now_ns(&self) -> u64 {
        let elapsed = self.start.elapsed().as_nanos() as i64;
        let t = self
            .start_wall_ns
            .saturating_add(elapsed)
            .saturating_add(self.offset_ns.load(Ordering::Relaxed));
        t.max(0) as u64
    }

    /// The offset in force, in nanoseconds.
    pub fn offset_ns(&self) -> i64 {
        self.offset_ns.load(Ordering::Relaxed)
    }

    /// Is a strobe running?
    pub fn strobing(&self) -> bool {
        self.strobe
            .lock()
            .map(|s| s.as_ref().is_some_and(|h| !h.is_finished()))
            .unwrap_or(false)
    }

    /// Adds `delta_ns` to the offset (stops any strobe first). Returns the new offset.
    pub fn bump(&self, delta_ns: i64) -> i64 {
        self.stop_strobe();
        let new = self
            .base_offset_ns
            .load(Ordering::Relaxed)
            .saturating_add(delta_ns);
        self.base_offset_ns.store(new, Ordering::Relaxed);
        self.offset_ns.store(new, Ordering::Relaxed);
        new
    }

    /// Sets the offset back to zero and stops any strobe.
    pub fn reset(&self) {
        self.stop_strobe();
        self.base_offset_ns.store(0, Ordering::Relaxed);
        self.offset_ns.store(0, Ordering::Relaxed);
    }

    /// For `duration`, flips the offset between `base + delta_ns` and `base` every `period`,
    /// then leaves it at `base`. Must be called inside a tokio runtime.
    pub fn strobe(self: &std::sync::Arc<Self>, delta_ns: i64, period: Duration, duration: Duration) {
        self.stop_strobe();
        let clock = self.clone();
        let handle = tokio::spawn(async move {
            let base = clock.base_offset_ns.load(Ordering::Relaxed);
            let end = Instant::now() + duration;
            let mut high = true;
            while Instant::now() < end {
                let offset = if high { base.saturating_add(delta_ns) } else { base };
                clock.offset_ns.store(offset, Ordering::Relaxed);
                high = !high;
                tokio::time::sleep(period.min(end.saturating_duration_since(Instant::now()))).await;
            }
            clock.offset_ns.store(base, Ordering::Relaxed);
        });
        if let Ok(mut slot) = self.strobe.lock() {
            *slot = Some(handle);
        }
    }

    fn stop_strobe(&self) {
        if let Ok(mut slot) = self.strobe.lock()
            && let Some(handle) = slot.take()
        {
            handle.abort();
        }
        self.offset_ns
            .store(self.base_offset_ns.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn bump_moves_the_clock_and_reset_restores_it() {
        let clock = Clock::new();
        let before = clock.now_ns();
        assert_eq!(clock.bump(-10_000_000_000), -10_000_000_000);
        let skewed = clock.now_ns();
        assert!(
            skewed + 9_000_000_000 < before,
            "bumping back 10 s moves the clock back"
        );
        clock.bump(4_000_000_000);
        assert_eq!(clock.offset_ns(), -6_000_000_000);
        clock.reset();
        assert_eq!(clock.offset_ns(), 0);
        assert!(clock.now_ns() >= before);
    }

    #[tokio::test]
    async fn strobe_oscillates_then_returns_to_base() {
        let clock = Arc::new(Clock::new());
        clock.strobe(1_000_000_000, Duration::from_millis(5), Duration::from_millis(60));
        let mut seen_high = false;
        let mut seen_base = false;
        for _ in 0..40 {
            match clock.offset_ns() {
                1_000_000_000 => seen_high = true,
                0 => seen_base = true,
                other => panic!("unexpected offset {other}"),
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(seen_high && seen_base);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(clock.offset_ns(), 0);
        assert!(!clock.strobing());
    }
}
