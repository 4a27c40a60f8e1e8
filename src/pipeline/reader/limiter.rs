//! The connection-attempt limiter shared by every reader. Binance allows 300 connection
//! attempts per 5 minutes per IP and bans an IP that keeps going (PROTOCOL.md §4).
//!
//! It is a GCRA (generic cell rate algorithm) with a burst: the first `burst` attempts go at
//! once, later ones are spaced `interval` apart, where `interval` is chosen so that *no*
//! window of the configured length ever holds more than the allowed attempts
//! (`burst + window / interval = attempts`). A 1,000-symbol start or a mass reconnect thus
//! trickles in instead of tripping a ban. A 429 or 418 answer pauses every reader
//! ([`ConnectLimiter::pause_until`]).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Which share of the allowance may go at once; the rest is spread over the window.
const BURST_SHARE: u32 = 5;

/// Paces connection attempts across all readers.
#[derive(Debug)]
pub(crate) struct ConnectLimiter {
    interval: Duration,
    tolerance: Duration,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// GCRA's theoretical arrival time of the next attempt.
    next: Instant,
    /// No attempt before this (an exchange's `Retry-After`).
    paused_until: Option<Instant>,
}

impl ConnectLimiter {
    /// At most `attempts` attempts in any `window`.
    pub(crate) fn new(attempts: u32, window: Duration) -> Self {
        let attempts = attempts.max(1);
        let burst = (attempts / BURST_SHARE).max(1);
        let spread = (attempts - burst).max(1);
        let interval = window / spread;
        Self {
            interval,
            // `burst` attempts fit before `next` moves past now.
            tolerance: interval * (burst - 1),
            state: Mutex::new(State {
                next: Instant::now(),
                paused_until: None,
            }),
        }
    }

    /// How many attempts may go at once.
    pub(crate) fn burst(&self) -> u32 {
        u32::try_from(self.tolerance.as_nanos() / self.interval.as_nanos().max(1)).unwrap_or(0) + 1
    }

    /// The spacing between attempts once the burst is used.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }

    /// Books the next attempt slot at or after `now`; the caller waits until it.
    pub(crate) fn reserve(&self, now: Instant) -> Instant {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let earliest = state.next.checked_sub(self.tolerance).unwrap_or(now);
        let mut slot = now.max(earliest);
        if let Some(paused) = state.paused_until {
            slot = slot.max(paused);
        }
        state.next = state.next.max(slot) + self.interval;
        slot
    }

    /// Holds every attempt until `until` (an HTTP 429/418 `Retry-After`).
    pub(crate) fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.paused_until = Some(state.paused_until.map_or(until, |paused| paused.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slots booked by `count` attempts that all ask at `start`.
    fn slots(limiter: &ConnectLimiter, start: Instant, count: usize) -> Vec<Instant> {
        (0..count).map(|_| limiter.reserve(start)).collect()
    }

    #[test]
    fn a_burst_goes_at_once_then_attempts_are_spaced() {
        let limiter = ConnectLimiter::new(300, Duration::from_secs(300));
        assert_eq!(limiter.burst(), 60);
        let start = Instant::now();
        let booked = slots(&limiter, start, 100);
        assert!(booked[..60].iter().all(|slot| *slot == start));
        assert_eq!(booked[60] - start, limiter.interval());
        assert_eq!(booked[99] - booked[98], limiter.interval());
    }

    #[test]
    fn no_window_ever_holds_more_than_the_allowance() {
        let window = Duration::from_secs(300);
        let limiter = ConnectLimiter::new(300, window);
        let start = Instant::now();
        let booked = slots(&limiter, start, 1000);
        for (index, slot) in booked.iter().enumerate() {
            let in_window = booked[index..]
                .iter()
                .take_while(|later| **later - *slot < window)
                .count();
            assert!(
                in_window <= 300,
                "{in_window} attempts within 5 minutes of attempt {index}"
            );
        }
    }

    #[test]
    fn a_pause_holds_everyone() {
        let limiter = ConnectLimiter::new(300, Duration::from_secs(300));
        let start = Instant::now();
        let until = start + Duration::from_secs(2);
        limiter.pause_until(until);
        assert!(slots(&limiter, start, 5).iter().all(|slot| *slot >= until));
    }
}
