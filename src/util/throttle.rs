//! [`Throttle`]: keeps a flood of identical problems down to one line now and a count every
//! so often.

use std::time::{Duration, Instant};

/// Rate-limits reports of one kind of event: the first occurrence is reported at once,
/// later ones are counted and reported together at most once per interval.
#[derive(Debug)]
pub(crate) struct Throttle {
    interval: Duration,
    next_report: Option<Instant>,
    pending: u64,
}

impl Throttle {
    /// A throttle that reports at most once per `interval`.
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            next_report: None,
            pending: 0,
        }
    }

    /// Counts `count` occurrences at `now`; returns the number to report when a report is due.
    pub(crate) fn record(&mut self, count: u64, now: Instant) -> Option<u64> {
        self.pending += count;
        self.due(now)
    }

    /// When the occurrences waiting will be due for their report; `None` when none wait.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.next_report.filter(|_| self.pending > 0)
    }

    /// Whether occurrences are waiting to be reported (no clock read needed to ask).
    pub(crate) fn has_pending(&self) -> bool {
        self.pending > 0
    }

    /// Returns the occurrences held back, when their report is due (for idle ticks, so the
    /// last burst is reported even if nothing else happens).
    pub(crate) fn due(&mut self, now: Instant) -> Option<u64> {
        if self.pending == 0 || self.next_report.is_some_and(|at| now < at) {
            return None;
        }
        self.next_report = Some(now + self.interval);
        Some(std::mem::take(&mut self.pending))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_now_then_one_count_per_interval() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut throttle = Throttle::new(10 * second);
        assert_eq!(throttle.record(1, start), Some(1));
        assert_eq!(throttle.record(3, start + second), None);
        assert_eq!(throttle.record(2, start + 2 * second), None);
        assert_eq!(throttle.due(start + 9 * second), None);
        assert_eq!(throttle.due(start + 10 * second), Some(5));
        assert_eq!(throttle.due(start + 30 * second), None);
        assert_eq!(throttle.record(1, start + 31 * second), Some(1));
    }

    #[test]
    fn the_next_report_is_due_only_while_occurrences_wait() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut throttle = Throttle::new(10 * second);
        assert_eq!(throttle.next_due(), None);
        assert_eq!(throttle.record(1, start), Some(1));
        assert_eq!(throttle.next_due(), None, "reported at once, nothing waits");
        assert_eq!(throttle.record(2, start + second), None);
        assert_eq!(throttle.next_due(), Some(start + 10 * second));
        assert_eq!(throttle.due(start + 10 * second), Some(2));
        assert_eq!(throttle.next_due(), None);
    }
}
