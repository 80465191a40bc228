//! Full-jitter exponential backoff: the n-th retry waits a uniform draw from
//! `[0, min(cap, base × 2ⁿ)]`, so many consoles that lost the same hub do not come back in
//! step. Nothing else lives here.

use std::time::Duration;

use rand::Rng;

/// Reconnect delays for one link.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff { base, cap: cap.max(base), attempt: 0 }
    }

    /// The ceiling of the next draw: `min(cap, base × 2^attempt)`.
    pub(crate) fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The next delay; each call raises the ceiling until it reaches the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        jitter(Duration::ZERO, ceiling)
    }

    /// After a connection that worked: start again from `base`.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// A uniform draw from `[low, high]` (`low` when the range is empty).
pub(crate) fn jitter(low: Duration, high: Duration) -> Duration {
    let (low_ms, high_ms) = (millis(low), millis(high));
    if high_ms <= low_ms {
        return low;
    }
    Duration::from_millis(rand::rng().random_range(low_ms..=high_ms))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap_and_draws_stay_under_it() {
        let mut backoff = Backoff::new(Duration::from_millis(250), Duration::from_secs(15));
        let mut ceilings = Vec::new();
        for _ in 0..10 {
            let ceiling = backoff.ceiling();
            ceilings.push(ceiling.as_millis());
            let delay = backoff.next_delay();
            assert!(delay <= ceiling, "{delay:?} above its ceiling {ceiling:?}");
        }
        assert_eq!(ceilings, [250, 500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000, 15_000]);
        backoff.reset();
        assert_eq!(backoff.ceiling(), Duration::from_millis(250));
    }

    #[test]
    fn draws_are_spread_over_the_whole_range() {
        // Full jitter, not "ceiling plus a little": over many draws some are in the lower
        // and some in the upper quarter.
        let draws: Vec<Duration> = (0..400).map(|_| jitter(Duration::ZERO, Duration::from_millis(1_000))).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_millis(250)), "no low draw in 400");
        assert!(draws.iter().any(|d| *d > Duration::from_millis(750)), "no high draw in 400");
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(1_000)));
    }

    #[test]
    fn many_attempts_never_overflow() {
        let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(30));
        for _ in 0..1_000 {
            assert!(backoff.next_delay() <= Duration::from_secs(30));
        }
        assert_eq!(jitter(Duration::from_secs(2), Duration::from_secs(1)), Duration::from_secs(2));
    }
}
