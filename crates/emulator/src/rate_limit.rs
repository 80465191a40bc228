//! Per-action request rate limits (trtc-contract.md §1.7): a token bucket per action,
//! refilled continuously, holding at most one second's worth of requests.

use std::{collections::HashMap, time::Instant};

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    buckets: HashMap<&'static str, (f64, Instant)>,
}

impl RateLimiter {
    /// `per_second` requests per second per action; 0 disables the limit.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter { per_second: f64::from(per_second), buckets: HashMap::new() }
    }

    /// Takes one token for `action`; false when the action is over its limit.
    pub fn try_acquire(&mut self, action: &'static str, now: Instant) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let (tokens, last) = self.buckets.entry(action).or_insert((self.per_second, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.per_second);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_over_the_limit_is_refused_and_time_refills_the_bucket() {
        let mut limiter = RateLimiter::new(20);
        let t0 = Instant::now();
        let granted = (0..30).filter(|_| limiter.try_acquire("StopAIConversation", t0)).count();
        assert_eq!(granted, 20, "one second's worth passes, the rest is refused");
        assert!(limiter.try_acquire("DescribeAIConversation", t0), "each action has its own bucket");
        assert!(!limiter.try_acquire("StopAIConversation", t0 + Duration::from_millis(10)));
        assert!(limiter.try_acquire("StopAIConversation", t0 + Duration::from_millis(60)), "50 ms refills one token");
    }

    #[test]
    fn zero_disables_the_limit() {
        let mut limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        assert!((0..1000).all(|_| limiter.try_acquire("StartAIConversation", t0)));
    }
}
