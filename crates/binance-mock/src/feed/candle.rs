//! Candles for the kline streams: Binance's interval boundaries (UTC; weeks from Monday;
//! calendar months) and a candle that grows fill by fill until its close time passes.

use std::fmt::Write as _;

use super::Fill;
use super::numbers::{Decimal, quote_amount};
use binance_streams::time::{civil_from_days, days_from_civil};

const SECOND_MS: u64 = 1_000;
const MINUTE_MS: u64 = 60 * SECOND_MS;
const HOUR_MS: u64 = 60 * MINUTE_MS;
const DAY_MS: u64 = 24 * HOUR_MS;
const WEEK_MS: u64 = 7 * DAY_MS;

/// The candle of `interval` (a `KLINE_INTERVALS` name) that contains `time_ms`: its open
/// time and the next candle's, in milliseconds since the epoch.
pub(super) fn bounds(interval: &str, time_ms: u64) -> (u64, u64) {
    match interval {
        "1M" => month_bounds(time_ms),
        "1w" => week_bounds(time_ms),
        fixed => {
            let length = fixed_length(fixed);
            let open = time_ms - time_ms % length;
            (open, open.saturating_add(length))
        }
    }
}

/// Intervals of a fixed length, aligned to the epoch as Binance aligns them.
fn fixed_length(interval: &str) -> u64 {
    match interval {
        "1s" => SECOND_MS,
        "3m" => 3 * MINUTE_MS,
        "5m" => 5 * MINUTE_MS,
        "15m" => 15 * MINUTE_MS,
        "30m" => 30 * MINUTE_MS,
        "1h" => HOUR_MS,
        "2h" => 2 * HOUR_MS,
        "4h" => 4 * HOUR_MS,
        "6h" => 6 * HOUR_MS,
        "8h" => 8 * HOUR_MS,
        "12h" => 12 * HOUR_MS,
        "1d" => DAY_MS,
        "3d" => 3 * DAY_MS,
        _ => MINUTE_MS,
    }
}

/// Weekly candles open on Monday 00:00 UTC; the epoch was a Thursday.
fn week_bounds(time_ms: u64) -> (u64, u64) {
    let since_monday = time_ms.saturating_add(3 * DAY_MS) % WEEK_MS;
    let next = time_ms.saturating_add(WEEK_MS - since_monday);
    (next.saturating_sub(WEEK_MS), next)
}

/// Monthly candles follow the calendar: 28 to 31 days.
fn month_bounds(time_ms: u64) -> (u64, u64) {
    let days = i64::try_from(time_ms / DAY_MS).unwrap_or(i64::MAX / 2);
    let (year, month, _) = civil_from_days(days);
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    let start_ms = |year, month| {
        u64::try_from(days_from_civil(year, month, 1)).map_or(0, |days| days.saturating_mul(DAY_MS))
    };
    (start_ms(year, month), start_ms(next_year, next_month))
}

/// One candle in progress: what Binance's `k` object carries.
#[derive(Debug, Clone)]
pub(super) struct Candle {
    /// `t`, in the stream's time unit.
    pub(super) open_time: u64,
    /// `T`: the last instant inside the candle, in the stream's time unit.
    pub(super) close_time: u64,
    first_trade: u64,
    last_trade: u64,
    open: u64,
    high: u64,
    low: u64,
    close: u64,
    volume: u64,
    quote_volume: u64,
    taker_buy_volume: u64,
    taker_buy_quote_volume: u64,
    trades: u64,
}

impl Candle {
    /// A candle spanning `open_time..=close_time` whose first trades are `fill`.
    pub(super) fn new(open_time: u64, close_time: u64, fill: &Fill) -> Self {
        let mut candle = Self {
            open_time,
            close_time,
            first_trade: fill.first_id,
            last_trade: fill.first_id,
            open: fill.price,
            high: fill.price,
            low: fill.price,
            close: fill.price,
            volume: 0,
            quote_volume: 0,
            taker_buy_volume: 0,
            taker_buy_quote_volume: 0,
            trades: 0,
        };
        candle.add(fill);
        candle
    }

    /// Adds `fill`'s trades: the close moves to its price and the volumes grow.
    pub(super) fn add(&mut self, fill: &Fill) {
        self.close = fill.price;
        self.high = self.high.max(fill.price);
        self.low = self.low.min(fill.price);
        self.last_trade = fill.last_id();
        self.trades = self.last_trade.saturating_sub(self.first_trade) + 1;
        let quote = quote_amount(fill.price, fill.qty);
        self.volume = self.volume.saturating_add(fill.qty);
        self.quote_volume = self.quote_volume.saturating_add(quote);
        if !fill.buyer_maker {
            self.taker_buy_volume = self.taker_buy_volume.saturating_add(fill.qty);
            self.taker_buy_quote_volume = self.taker_buy_quote_volume.saturating_add(quote);
        }
    }

    /// Writes the kline event, field for field as `kline_1m.json` (`B` is Binance's
    /// always-`"0"` "ignore" field).
    pub(super) fn write(
        &self,
        out: &mut String,
        symbol: &str,
        interval: &str,
        event_time: u64,
        closed: bool,
    ) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"{{"e":"kline","E":{event_time},"s":"{symbol}","k":{{"t":{},"T":{},"s":"{symbol}","i":"{interval}","f":{},"L":{},"o":"{}","c":"{}","h":"{}","l":"{}","v":"{}","n":{},"x":{closed},"q":"{}","V":"{}","Q":"{}","B":"0"}}}}"#,
            self.open_time,
            self.close_time,
            self.first_trade,
            self.last_trade,
            Decimal(self.open),
            Decimal(self.close),
            Decimal(self.high),
            Decimal(self.low),
            Decimal(self.volume),
            self.trades,
            Decimal(self.quote_volume),
            Decimal(self.taker_buy_volume),
            Decimal(self.taker_buy_quote_volume),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-11-25 02:00:00 UTC, a Monday.
    const MONDAY_2AM: u64 = 1_732_500_000_000;

    #[test]
    fn fixed_intervals_align_to_the_epoch() {
        assert_eq!(bounds("1m", 61_500), (60_000, 120_000));
        assert_eq!(bounds("1s", 1_999), (1_000, 2_000));
        let (open, next) = bounds("1d", MONDAY_2AM);
        assert_eq!((next - open, open % DAY_MS), (DAY_MS, 0));
        assert_eq!(bounds("nonsense", 61_500), (60_000, 120_000));
    }

    #[test]
    fn weeks_open_on_monday() {
        let (open, next) = bounds("1w", MONDAY_2AM);
        assert_eq!(open, 1_732_492_800_000, "2024-11-25 00:00 UTC");
        assert_eq!(next - open, WEEK_MS);
        assert_eq!(bounds("1w", open - 1).1, open);
    }

    #[test]
    fn months_follow_the_calendar() {
        assert_eq!(
            bounds("1M", MONDAY_2AM),
            (1_730_419_200_000, 1_733_011_200_000),
            "2024-11-01 to 2024-12-01"
        );
        let (open, next) = bounds("1M", 1_709_000_000_000);
        assert_eq!(next - open, 29 * DAY_MS, "February 2024 is a leap month");
        let (_, new_year) = bounds("1M", 1_735_000_000_000);
        assert_eq!(new_year, 1_735_689_600_000, "2025-01-01");
    }
}
