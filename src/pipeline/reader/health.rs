//! How the reader judges a connection's health, and what a loss costs:
//! - **silence** ([`SilenceLimit`]): a stream pushed on a schedule (depth, klines, tickers,
//!   prices) that sends no data for a multiple of its cadence is dead even if it answers
//!   pings — Binance's retired futures URLs did exactly that in April 2026. Event-driven
//!   kinds (trades, the book ticker, liquidations) may rightly be quiet for hours, so they
//!   get a limit only when asked (`--max-silence`). A connection that goes silent soon
//!   after it opened (within [`SHORT_LIVED_LIMITS`] limits), time after time, is more
//!   likely a quiet market than a dead stream: the limit doubles with each such connection
//!   in a row (up to [`MAX_SILENCE_DOUBLINGS`] times), so an illiquid book settles at a
//!   few reconnects an hour instead of one a minute. A connection that streamed for longer
//!   before its silence (a glitch on a liquid stream) or that ended any other way starts
//!   the count over.
//! - **the backoff after a loss** ([`reconnect_wait`]): it starts over only after a
//!   connection was healthy ([`HEALTHY_AFTER`]), so a server that accepts, delivers a frame
//!   and fails cannot pull a symbol into a reconnect storm; a clean close of a healthy
//!   connection (the 24 h cut) reconnects at once.

use std::time::{Duration, Instant};

use binance_streams::StreamKind;

use super::backoff::Backoff;
use super::link::Link;
use super::{Cause, Next, Reader, Session, lost};
use crate::util::duration::format_duration;

/// A connection that delivered data and stayed up this long was healthy: its loss starts
/// the backoff over. Long enough that a server failing every connection soon after its
/// first frames is paced by the growing backoff (one symbol: at most 7 connections in the
/// first 5 s, then one per 15–30 s), short against the hours a working connection lasts.
pub(crate) const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// The shortest read timeout the timers set: a timer due sooner waits this long.
pub(crate) const MIN_READ_TIMEOUT: Duration = Duration::from_millis(10);

/// The longest read timeout the timers set, whatever is due: a safety net under the
/// timers' own arithmetic. 1,000 idle symbols then wake at most 200 times a second.
pub(crate) const MAX_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Silent connections in a row double the silence limit, at most this many times (8×).
pub(crate) const MAX_SILENCE_DOUBLINGS: u32 = 3;

/// A connection lost to silence younger than this many of its limits counts towards the
/// doubling: it was silent for much of its life.
pub(crate) const SHORT_LIVED_LIMITS: u32 = 4;

/// How long a connection may go without data before it is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SilenceLimit {
    /// The limit for a connection after one that was not silent.
    pub after: Duration,
    /// The kind whose schedule set it (or, for `--max-silence`, the kind it guards).
    pub kind: StreamKind,
    /// That kind's cadence; `None` when the limit is `--max-silence`.
    pub cadence: Option<Duration>,
}

/// What the user chose about silence: `[connection]` `silence_multiple` and
/// `silence_floor`, and `--max-silence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SilenceRule {
    /// A fixed-cadence stream is silent after this many of its periods without data; 0
    /// turns cadence-based limits off.
    pub multiple: u32,
    /// ...but never sooner than this.
    pub floor: Duration,
    /// The limit for every kind, event-driven ones included, when set.
    pub max_silence: Option<Duration>,
}

impl SilenceRule {
    /// The limit of a connection carrying `kinds` (on a futures market when `futures`):
    /// the tightest of its fixed-cadence kinds' limits (`multiple` × cadence, at least
    /// `floor`) and `max_silence`. Any data frame resets the clock: the reader does not
    /// decode kinds. `None` when nothing limits it: event-driven kinds without
    /// `--max-silence` are left to the ping.
    pub(crate) fn limit(&self, kinds: &[StreamKind], futures: bool) -> Option<SilenceLimit> {
        let scheduled = kinds
            .iter()
            .filter(|_| self.multiple > 0)
            .filter_map(|kind| {
                let cadence = kind.cadence(futures)?;
                Some(SilenceLimit {
                    after: cadence.saturating_mul(self.multiple).max(self.floor),
                    kind: *kind,
                    cadence: Some(cadence),
                })
            })
            .min_by_key(|limit| limit.after);
        let asked = self.max_silence.and_then(|after| {
            let guarded = kinds
                .iter()
                .find(|kind| kind.cadence(futures).is_none())
                .or(kinds.first())?;
            Some(SilenceLimit {
                after,
                kind: *guarded,
                cadence: None,
            })
        });
        match (scheduled, asked) {
            (Some(scheduled), Some(asked)) if asked.after < scheduled.after => Some(asked),
            (Some(scheduled), _) => Some(scheduled),
            (None, asked) => asked,
        }
    }
}

impl SilenceLimit {
    /// The limit for a connection that follows `streak` silent ones in a row.
    pub(crate) fn for_streak(&self, streak: u32) -> Duration {
        self.after
            .saturating_mul(1 << streak.min(MAX_SILENCE_DOUBLINGS))
    }

    /// The count of short-lived silent connections in a row after one more, lost to
    /// silence at `age` while `streak` preceded it.
    pub(crate) fn next_streak(&self, streak: u32, age: Duration) -> u32 {
        let used = self.for_streak(streak);
        if age < used.saturating_mul(SHORT_LIVED_LIMITS) {
            streak.saturating_add(1)
        } else {
            0
        }
    }

    /// Why a connection silent for `silent` is being replaced.
    fn describe(&self, silent: Duration) -> String {
        let silent = format_duration(silent);
        match self.cadence {
            Some(every) => format!(
                "no data for {silent} on a {} stream, which updates every {}",
                self.kind,
                format_duration(every)
            ),
            None => format!(
                "no data for {silent} on a {} stream (--max-silence {})",
                self.kind,
                format_duration(self.after)
            ),
        }
    }
}

/// Whether a lost connection had been healthy: it delivered data and stayed up
/// [`HEALTHY_AFTER`].
pub(crate) fn was_healthy(delivered: u64, age: Duration) -> bool {
    delivered > 0 && age >= HEALTHY_AFTER
}

/// The wait before reconnecting after a loss. A healthy connection starts the backoff
/// over, and its clean close (Binance's daily cut, a planned restart) is routine: back at
/// once. Anything else waits the next backoff step.
pub(crate) fn reconnect_wait(clean: bool, healthy: bool, backoff: &mut Backoff) -> Duration {
    if healthy {
        backoff.reset();
    }
    if clean && healthy {
        Duration::ZERO
    } else {
        backoff.next_delay()
    }
}

impl Reader {
    /// The timers of an open connection, at `now` (a read came back empty, or brought a
    /// control frame): the ping, the silence limit, queue-drop reports. `Some` when the
    /// connection is dead. Otherwise the read timeout is set to when the next of them is
    /// due (at least [`MIN_READ_TIMEOUT`], at most [`MAX_READ_TIMEOUT`], the ping's silence
    /// or the silence limit): a quiet connection wakes its reader when there is something
    /// to do, not every second.
    // Rare: kept out of the hot read loop's frame.
    #[inline(never)]
    pub(super) fn check_health(
        &self,
        link: &mut Link,
        now: Instant,
        session: &mut Session,
    ) -> Option<Next> {
        link.catch_up(now);
        let liveness = self.settings.liveness;
        if let Err(reason) = link.keep_alive(now, liveness) {
            return Some(lost(link, reason, Cause::Failed));
        }
        let mut due = link
            .keep_alive_due(liveness)
            .map_or(link.replace_at, |due| due.min(link.replace_at));
        // Data resets the timers without them looking (no clock read per frame), so no
        // read may wait longer than the shortest a timer can be after data.
        let mut longest = MAX_READ_TIMEOUT.min(liveness.ping_after);
        if let Some(rule) = self.settings.silence {
            let limit = rule.for_streak(session.silent_streak);
            let silent = link.silent_for(now);
            if silent >= limit {
                return Some(lost(link, rule.describe(silent), Cause::Silent));
            }
            if let Some(silent_at) = link.last_data().checked_add(limit) {
                due = due.min(silent_at);
            }
            longest = longest.min(limit);
        }
        if let Some(count) = session.drops.due(now) {
            self.report_drops(count, session);
        }
        if let Some(report) = session.drops.next_due() {
            due = due.min(report);
        }
        let timeout = due
            .saturating_duration_since(now)
            .min(longest)
            .max(MIN_READ_TIMEOUT);
        if let Err(error) = link.adapt_read_timeout(timeout) {
            return Some(lost(
                link,
                format!("cannot set the read timeout: {error}"),
                Cause::Failed,
            ));
        }
        None
    }

    /// The silence limit of the connection opening now (after `session`'s silent streak),
    /// for `/healthz`; `None` when nothing limits silence.
    pub(super) fn current_silence_limit(&self, session: &Session) -> Option<Duration> {
        self.settings
            .silence
            .map(|limit| limit.for_streak(session.silent_streak))
    }

    /// Keeps count of short-lived silent connections in a row (lost after `age`); a
    /// silent one's `reason` says what its replacement is allowed when that changes.
    pub(super) fn note_loss(
        &self,
        cause: Cause,
        reason: String,
        age: Duration,
        session: &mut Session,
    ) -> String {
        let Some(limit) = self.settings.silence.filter(|_| cause == Cause::Silent) else {
            session.silent_streak = 0;
            return reason;
        };
        let used = limit.for_streak(session.silent_streak);
        session.silent_streak = limit.next_streak(session.silent_streak, age);
        let next = limit.for_streak(session.silent_streak);
        if next == used {
            return reason;
        }
        format!(
            "{reason}; its replacement may stay silent up to {}",
            format_duration(next)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::reader::backoff::FIRST_RETRY_CEILING;

    fn kinds(names: &[&str]) -> Vec<StreamKind> {
        names.iter().map(|name| name.parse().unwrap()).collect()
    }

    const RULE: SilenceRule = SilenceRule {
        multiple: 20,
        floor: Duration::from_secs(30),
        max_silence: None,
    };

    #[test]
    fn a_scheduled_kind_is_silent_after_a_multiple_of_its_cadence_but_not_before_the_floor() {
        let kline = RULE.limit(&kinds(&["kline_1m"]), false).unwrap();
        assert_eq!(kline.after, Duration::from_secs(40));
        assert_eq!(kline.cadence, Some(Duration::from_secs(2)));
        assert_eq!(
            kline.describe(Duration::from_secs(41)),
            "no data for 41s on a kline_1m stream, which updates every 2s"
        );
        let depth = RULE.limit(&kinds(&["depth@100ms"]), false).unwrap();
        assert_eq!(depth.after, Duration::from_secs(30), "the floor");
        let mark = RULE.limit(&kinds(&["markPrice"]), true).unwrap();
        assert_eq!(mark.after, Duration::from_secs(60));
    }

    #[test]
    fn a_combined_connection_takes_its_tightest_scheduled_kind() {
        let limit = RULE
            .limit(&kinds(&["trade", "markPrice", "kline_1m"]), false)
            .unwrap();
        assert_eq!(limit.kind, "kline_1m".parse().unwrap());
        assert_eq!(limit.after, Duration::from_secs(40));
    }

    #[test]
    fn event_driven_kinds_are_limited_only_when_asked() {
        assert_eq!(RULE.limit(&kinds(&["trade", "bookTicker"]), false), None);
        let asked = SilenceRule {
            max_silence: Some(Duration::from_secs(10)),
            ..RULE
        };
        let trade = asked.limit(&kinds(&["trade"]), false).unwrap();
        assert_eq!(trade.after, Duration::from_secs(10));
        assert_eq!(
            trade.describe(Duration::from_secs(12)),
            "no data for 12s on a trade stream (--max-silence 10s)"
        );
        // The tightest wins, whichever set it.
        let mixed = asked.limit(&kinds(&["kline_1m", "trade"]), false).unwrap();
        assert_eq!(mixed.after, Duration::from_secs(10));
        let loose = SilenceRule {
            max_silence: Some(Duration::from_secs(600)),
            ..RULE
        };
        let mixed = loose.limit(&kinds(&["kline_1m", "trade"]), false).unwrap();
        assert_eq!(mixed.after, Duration::from_secs(40));
        let off = SilenceRule {
            multiple: 0,
            ..RULE
        };
        assert_eq!(off.limit(&kinds(&["kline_1m"]), false), None);
    }

    #[test]
    fn silent_connections_in_a_row_double_the_limit_up_to_a_cap() {
        let limit = RULE.limit(&kinds(&["depth"]), false).unwrap();
        let limits: Vec<u64> = (0..6).map(|n| limit.for_streak(n).as_secs()).collect();
        assert_eq!(limits, [30, 60, 120, 240, 240, 240]);
    }

    #[test]
    fn only_connections_silent_soon_after_opening_double_the_next_limit() {
        let limit = RULE.limit(&kinds(&["depth"]), false).unwrap();
        let mut streak = 0;
        let mut lose = |age_secs: u64| {
            streak = limit.next_streak(streak, Duration::from_secs(age_secs));
            limit.for_streak(streak).as_secs()
        };
        // Dead on arrival, again and again: 30 s, 60 s, 120 s, 240 s, then no further.
        let limits = [lose(31), lose(61), lose(121), lose(241), lose(241)];
        assert_eq!(limits, [60, 120, 240, 240, 240]);
        // An hour of streaming before the silence: a glitch, the count starts over.
        assert_eq!(lose(3600), 30);
    }

    #[test]
    fn only_a_healthy_connection_starts_the_backoff_over() {
        let mut backoff = Backoff::new();
        for _ in 0..6 {
            backoff.next_delay();
        }
        // One frame, then a failure, a second in: the backoff keeps growing.
        assert!(!was_healthy(1, Duration::from_secs(1)));
        assert!(!was_healthy(0, Duration::from_secs(3600)));
        let wait = reconnect_wait(false, false, &mut backoff);
        assert!(wait > FIRST_RETRY_CEILING * 16, "{wait:?}");
        // Even a clean close of an unhealthy connection waits.
        assert!(reconnect_wait(true, false, &mut backoff) > FIRST_RETRY_CEILING * 16);
        // The daily cut of a healthy connection: back at once, backoff reset.
        assert!(was_healthy(1, HEALTHY_AFTER));
        assert_eq!(reconnect_wait(true, true, &mut backoff), Duration::ZERO);
        assert!(backoff.next_delay() <= FIRST_RETRY_CEILING);
        // A healthy connection that failed: the first, short step.
        for _ in 0..6 {
            backoff.next_delay();
        }
        assert!(reconnect_wait(false, true, &mut backoff) <= FIRST_RETRY_CEILING);
    }
}
