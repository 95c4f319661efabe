//! Login rate limiting (sans-IO: the caller passes the time).
//!
//! Failed logins are counted per key (the client address and the user name, each on
//! its own); after `max_failures` within `window` the key is refused until the oldest
//! failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Counts recent failures per key.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    max_failures: usize,
    failures: HashMap<String, VecDeque<Instant>>,
}

impl LoginLimiter {
    pub fn new(window: Duration, max_failures: usize) -> Self {
        LoginLimiter {
            window,
            max_failures,
            failures: HashMap::new(),
        }
    }

    fn prune(&mut self, key: &str, now: Instant) -> usize {
        let Some(q) = self.failures.get_mut(key) else {
            return 0;
        };
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            q.pop_front();
        }
        let n = q.len();
        if n == 0 {
            self.failures.remove(key);
        }
        n
    }

    /// How long the key must wait before trying again, if it is limited now.
    pub fn retry_after(&mut self, key: &str, now: Instant) -> Option<Duration> {
        if self.prune(key, now) < self.max_failures {
            return None;
        }
        let oldest = *self.failures.get(key)?.front()?;
        Some(
            self.window
                .saturating_sub(now.duration_since(oldest))
                .max(Duration::from_secs(1)),
        )
    }

    /// Records a failed attempt.
    pub fn failed(&mut self, key: &str, now: Instant) {
        self.prune(key, now);
        self.failures
            .entry(key.to_owned())
            .or_default()
            .push_back(now);
        if self.failures.len() > 100_000 {
            // Bound memory under a flood of distinct keys: forget the quietest.
            self.failures.retain(|_, q| q.len() > 1);
        }
    }

    /// Forgets a key's failures after a successful login.
    pub fn succeeded(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_after_max_failures_within_the_window() {
        let t0 = Instant::now();
        let mut l = LoginLimiter::new(Duration::from_secs(60), 3);
        for i in 0..3 {
            assert_eq!(l.retry_after("ip", t0), None, "attempt {i}");
            l.failed("ip", t0 + Duration::from_secs(i));
        }
        let wait = l.retry_after("ip", t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(l.retry_after("other", t0), None);
        assert_eq!(
            l.retry_after("ip", t0 + Duration::from_secs(61)),
            None,
            "window passed"
        );
        l.failed("ip", t0);
        l.succeeded("ip");
        assert_eq!(l.retry_after("ip", t0), None);
    }
}
