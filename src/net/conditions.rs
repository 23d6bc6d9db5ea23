//! What a link does to the traffic on it: cut (stall), delay (fixed plus jitter), a bandwidth
//! limit, and random connection drops. A [`LinkProxy`](super::LinkProxy) applies them to every
//! byte it forwards; the nemesis changes them while a run goes.

use std::time::Duration;

/// How one directed link treats its traffic. The default is a healthy link.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LinkConditions {
    /// Nothing crosses the link (it stalls until healed).
    pub cut: bool,
    /// Every chunk of bytes is delivered this much later than it arrived...
    pub delay: Duration,
    /// ...plus a random extra delay up to this much (order is kept: a chunk never overtakes
    /// the one before it).
    pub jitter: Duration,
    /// At most this many bytes per second cross the link (`None`: no limit).
    pub bandwidth: Option<u64>,
    /// Each chunk of bytes closes its connection (both directions) with this probability,
    /// instead of being delivered.
    pub drop_probability: f64,
}

impl LinkConditions {
    /// Both sets of conditions at once: cut if either cuts, delays and jitters add up, the
    /// tighter bandwidth limit, and the higher drop probability.
    pub fn combine(&self, other: &LinkConditions) -> LinkConditions {
        LinkConditions {
            cut: self.cut || other.cut,
            delay: self.delay + other.delay,
            jitter: self.jitter + other.jitter,
            bandwidth: match (self.bandwidth, other.bandwidth) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            drop_probability: self.drop_probability.max(other.drop_probability),
        }
    }

    /// How long a chunk of `bytes` occupies a link limited to `bandwidth` bytes per second.
    pub fn transmission_time(&self, bytes: usize) -> Duration {
        match self.bandwidth {
            Some(rate) if rate > 0 => Duration::from_secs_f64(bytes as f64 / rate as f64),
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining_keeps_the_worse_of_each() {
        let ms = Duration::from_millis;
        let a = LinkConditions {
            delay: ms(10),
            jitter: ms(5),
            bandwidth: Some(1000),
            ..Default::default()
        };
        let b = LinkConditions {
            cut: true,
            delay: ms(20),
            bandwidth: Some(500),
            drop_probability: 0.1,
            ..Default::default()
        };
        let c = a.combine(&b);
        assert!(c.cut);
        assert_eq!((c.delay, c.jitter, c.bandwidth), (ms(30), ms(5), Some(500)));
        assert_eq!(c.drop_probability, 0.1);
        assert_eq!(a.combine(&LinkConditions::default()), a);
        assert_eq!(a.transmission_time(500), ms(500));
        assert_eq!(LinkConditions::default().transmission_time(500), Duration::ZERO);
    }
}
