//! Reconnect pacing: exponential backoff with "equal" jitter ("Exponential Backoff and
//! Jitter", AWS Architecture Blog, 2015): the n-th retry waits a uniform random time in
//! `[w/2, w]` with `w = min(cap, first * 2^n)`, so symbols that lost their connections
//! together do not come back together, and yet every step waits at least half its window:
//! a server that fails each connection at once gets at most 7 connections from a symbol in
//! its first 5 s (waits of at least 50, 100, 200, ... ms), where full jitter (`[0, w]`)
//! promises no such bound.

use std::time::Duration;

use crate::util::jitter::Jitter;

/// Upper bound of the first retry's wait: the first retry is fast (a working connection that
/// dropped is back in 50–100 ms), while symbols that dropped together still spread.
pub(crate) const FIRST_RETRY_CEILING: Duration = Duration::from_millis(100);

/// No wait is longer than this.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(30);

/// Backoff state for one reader.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    attempt: u32,
    jitter: Jitter,
}

impl Backoff {
    /// A fresh backoff with jitter of its own.
    pub(crate) fn new() -> Self {
        Self {
            attempt: 0,
            jitter: Jitter::new(),
        }
    }

    /// The wait before the next attempt, between half and all of its window; each call
    /// doubles the window until the cap.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let ceiling = FIRST_RETRY_CEILING
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(MAX_RETRY_DELAY);
        self.attempt = self.attempt.saturating_add(1);
        ceiling.mul_f64(0.5 + 0.5 * self.jitter.fraction())
    }

    /// Starts over after a healthy connection.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new();
        let mut ceiling = FIRST_RETRY_CEILING;
        for _ in 0..20 {
            let delay = backoff.next_delay();
            assert!(delay <= ceiling, "{delay:?} > {ceiling:?}");
            assert!(delay >= ceiling / 2, "{delay:?} < half of {ceiling:?}");
            ceiling = (ceiling * 2).min(MAX_RETRY_DELAY);
        }
        backoff.reset();
        assert!(backoff.next_delay() <= FIRST_RETRY_CEILING);
    }

    #[test]
    fn a_symbol_failing_at_once_connects_at_most_seven_times_in_five_seconds() {
        let mut backoff = Backoff::new();
        let mut elapsed = Duration::ZERO;
        let mut connections = 1;
        loop {
            elapsed += backoff.next_delay();
            if elapsed >= Duration::from_secs(5) {
                break;
            }
            connections += 1;
        }
        assert!(connections <= 7, "{connections}");
    }

    #[test]
    fn jitter_spreads_retries() {
        let mut backoff = Backoff::new();
        for _ in 0..10 {
            backoff.next_delay();
        }
        let delays: Vec<Duration> = (0..100).map(|_| backoff.next_delay()).collect();
        let min = delays.iter().min().unwrap();
        let max = delays.iter().max().unwrap();
        assert!(*max - *min > Duration::from_secs(5), "{min:?}..{max:?}");
        assert!(*max <= MAX_RETRY_DELAY);
        assert!(*min >= MAX_RETRY_DELAY / 2);
    }
}
