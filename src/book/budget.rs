//! [`WeightBudget`]: the REST request-weight limit of one market, shared by every symbol's
//! snapshot requests (python-binance #579: many symbols each fetching a deep snapshot get
//! the IP banned). Binance counts weight per IP per minute and reports the count so far in
//! `X-MBX-USED-WEIGHT-1M`; over the limit it answers 429, and an IP that keeps going is
//! banned with 418, both with `Retry-After` in seconds (PROTOCOL.md §4).
//!
//! The budget keeps its own count for the current minute, takes the server's count when it
//! is higher, spends at most [`USABLE_PERCENT`] of the limit, and after a 429/418 lets no
//! request out, for any symbol, until `Retry-After` has passed.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use binance_streams::Market;

/// Share of the limit the listener spends, leaving room for whatever else runs from the
/// same IP (another listener, a trading bot) and for the server's count running ahead.
pub(crate) const USABLE_PERCENT: u64 = 80;

/// Binance counts weight per calendar minute.
const WINDOW: Duration = Duration::from_secs(60);

/// A market's REST weight rules: the limit per minute and what a depth snapshot costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WeightRules {
    /// Request weight allowed per minute per IP.
    pub(crate) limit_per_minute: u64,
    /// Futures (`/fapi`, `/dapi`) weigh snapshots differently from spot.
    futures: bool,
}

impl WeightRules {
    /// The rules of `market`: spot and the spot testnet 6,000 a minute, USD-M and COIN-M
    /// 2,400, Binance.US 1,200 (its documented `REQUEST_WEIGHT`; not re-checked here).
    pub(crate) fn of(market: Market) -> Self {
        let (limit_per_minute, futures) = match market {
            Market::Spot | Market::Testnet => (6_000, false),
            Market::Futures | Market::CoinFutures => (2_400, true),
            Market::Us => (1_200, false),
        };
        Self {
            limit_per_minute,
            futures,
        }
    }

    /// The snapshot depths a market accepts, deepest first.
    pub(crate) fn limits(self) -> &'static [usize] {
        if self.futures {
            &[1000, 500, 100, 50]
        } else {
            &[5000, 1000, 500, 100]
        }
    }

    /// What one snapshot of `limit` levels costs: spot 5/25/50/250 for up to
    /// 100/500/1000/5000 levels (PROTOCOL.md §4); futures 2/5/10/20 for up to
    /// 50/100/500/1000 (Binance's `/fapi/v1/depth` page).
    pub(crate) fn snapshot_weight(self, limit: usize) -> u64 {
        match (self.futures, limit) {
            (false, 0..=100) => 5,
            (false, 101..=500) => 25,
            (false, 501..=1000) => 50,
            (false, _) => 250,
            (true, 0..=50) => 2,
            (true, 51..=100) => 5,
            (true, 101..=500) => 10,
            (true, _) => 20,
        }
    }

    /// The deepest snapshot that lets `symbols` books start within half the usable budget
    /// of one minute (the other half is for resyncs); the shallowest when none does — the
    /// budget then spreads the start over several minutes instead of getting the IP
    /// banned. 1,000 spot symbols: 100 levels, 5,000 weight, paced over two minutes.
    pub(crate) fn snapshot_limit(self, symbols: usize) -> usize {
        let half = self.limit_per_minute * USABLE_PERCENT / 100 / 2;
        let limits = self.limits();
        limits
            .iter()
            .copied()
            .find(|&limit| self.snapshot_weight(limit).saturating_mul(symbols as u64) <= half)
            .unwrap_or(limits[limits.len() - 1])
    }
}

/// What the budget says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// Send it now; its weight is counted.
    Go,
    /// Wait until then and ask again.
    WaitUntil(Instant),
}

/// The weight spent in the current minute, and any ban in force.
#[derive(Debug)]
pub(crate) struct WeightBudget {
    rules: WeightRules,
    /// The minute (since the epoch) `used` counts.
    minute: u64,
    used: u64,
    banned_until: Option<Instant>,
}

impl WeightBudget {
    /// A fresh budget for a market's rules.
    pub(crate) fn new(rules: WeightRules) -> Self {
        Self {
            rules,
            minute: 0,
            used: 0,
            banned_until: None,
        }
    }

    /// Asks to spend `weight` at `now` (wall-clock seconds since the epoch in `unix_secs`).
    pub(crate) fn request(&mut self, weight: u64, now: Instant, unix_secs: u64) -> Permit {
        if let Some(until) = self.banned_until {
            if now < until {
                return Permit::WaitUntil(until);
            }
            self.banned_until = None;
        }
        self.roll(unix_secs);
        let usable = self.rules.limit_per_minute * USABLE_PERCENT / 100;
        if self.used + weight > usable && self.used > 0 {
            let into_minute = unix_secs % WINDOW.as_secs();
            let wait = WINDOW.as_secs() - into_minute;
            return Permit::WaitUntil(now + Duration::from_secs(wait));
        }
        self.used += weight;
        Permit::Go
    }

    /// The server's `X-MBX-USED-WEIGHT-1M`: its count wins when higher than ours.
    pub(crate) fn server_used(&mut self, used: u64, unix_secs: u64) {
        self.roll(unix_secs);
        self.used = self.used.max(used);
    }

    /// A 429 or 418: no request for any symbol until `retry_after` has passed.
    pub(crate) fn back_off(&mut self, now: Instant, retry_after: Duration) {
        let until = now + retry_after;
        self.banned_until = Some(self.banned_until.map_or(until, |known| known.max(until)));
    }

    fn roll(&mut self, unix_secs: u64) {
        let minute = unix_secs / WINDOW.as_secs();
        if minute != self.minute {
            self.minute = minute;
            self.used = 0;
        }
    }
}

/// Wall-clock seconds since the Unix epoch.
pub(crate) fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_depth_shrinks_so_many_symbols_start_without_a_ban() {
        let spot = WeightRules::of(Market::Spot);
        assert_eq!(spot.snapshot_limit(1), 5000);
        assert_eq!(spot.snapshot_limit(40), 1000);
        assert_eq!(spot.snapshot_limit(200), 100);
        assert_eq!(spot.snapshot_limit(1000), 100);
        let futures = WeightRules::of(Market::Futures);
        assert_eq!(futures.snapshot_limit(1), 1000);
        assert_eq!(futures.snapshot_limit(200), 50);
        assert_eq!(futures.snapshot_limit(1000), 50);
        // 1,000 spot books cost 5,000 weight: under the limit, so no 429.
        assert!(spot.snapshot_weight(spot.snapshot_limit(1000)) * 1000 < 6_000);
        assert!(futures.snapshot_weight(futures.snapshot_limit(1000)) * 1000 < 2_400);
    }

    #[test]
    fn the_budget_waits_for_the_next_minute_and_for_retry_after() {
        let mut budget = WeightBudget::new(WeightRules::of(Market::Futures));
        let now = Instant::now();
        let minute = 1_800_000_000 / 60 * 60;
        // 80 % of 2,400 is 1,920: 96 snapshots of 20.
        for _ in 0..96 {
            assert_eq!(budget.request(20, now, minute + 10), Permit::Go);
        }
        assert_eq!(
            budget.request(20, now, minute + 10),
            Permit::WaitUntil(now + Duration::from_secs(50))
        );
        assert_eq!(
            budget.request(20, now, minute + 60),
            Permit::Go,
            "new minute"
        );
        budget.server_used(1_910, minute + 61);
        assert!(matches!(
            budget.request(20, now, minute + 61),
            Permit::WaitUntil(_)
        ));
        budget.back_off(now, Duration::from_secs(3));
        assert_eq!(
            budget.request(5, now, minute + 130),
            Permit::WaitUntil(now + Duration::from_secs(3))
        );
        let later = now + Duration::from_secs(3);
        assert_eq!(budget.request(5, later, minute + 130), Permit::Go);
    }
}
