//! Rolling-window statistics for the ticker streams (`miniTicker`, `ticker`,
//! `ticker_1h|4h|1d`): a window that already holds a market's worth of trading, gains the
//! stream's fills at its end and loses about as many at its start, so the trade count and
//! volumes stay steady while open, high, low and last follow the price walk.

use std::fmt::Write as _;

use super::Fill;
use super::numbers::{
    Decimal, Percent, SignedDecimal, average_price, change_percent, difference, quote_amount, scale,
};
use crate::rand::Rng;

/// Trades per second a window is filled with: enough for realistic counts (`n`).
const TRADES_PER_SECOND: u64 = 2;

/// Average lots per trade of the walk's fills, so a new window's volume is about what
/// rolling keeps it at.
const LOTS_PER_TRADE: u64 = 35;

/// How far the open may wander from where it started, in ticks.
const MAX_OPEN_DRIFT_TICKS: u64 = 200;

/// The best bid and ask a full 24 h ticker carries (`b`, `B`, `a`, `A`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Quote {
    pub(super) bid: u64,
    pub(super) bid_qty: u64,
    pub(super) ask: u64,
    pub(super) ask_qty: u64,
}

/// One window's statistics, in 1e-8 units.
#[derive(Debug, Clone)]
pub(super) struct Rolling {
    window_ms: u64,
    /// Where the open started; it wanders around it.
    anchor: u64,
    open: u64,
    high: u64,
    low: u64,
    close: u64,
    /// `x`: the price of the trade just before the window.
    before_open: u64,
    last_qty: u64,
    volume: u64,
    quote_volume: u64,
    first_trade: u64,
    last_trade: u64,
}

impl Rolling {
    /// A window of `window_ms` ending at `price`, already full of trades (ids from
    /// `first_trade`), opened up to 1 % away from `price`.
    pub(super) fn new(
        window_ms: u64,
        price: u64,
        tick: u64,
        lot: u64,
        first_trade: u64,
        rng: &mut Rng,
    ) -> Self {
        let percent = i64::try_from(price / tick.max(1) / 100).unwrap_or(1).max(1);
        let open = shift(
            price,
            tick,
            rng.below(2 * percent as u64 + 1) as i64 - percent,
        );
        let high = shift(open.max(price), tick, rng.below(percent as u64) as i64);
        let low = shift(open.min(price), tick, -(rng.below(percent as u64) as i64));
        let trades = (window_ms / 1_000 * TRADES_PER_SECOND).max(1);
        let volume = lot.saturating_mul(trades).saturating_mul(LOTS_PER_TRADE);
        Self {
            window_ms,
            anchor: open,
            open,
            high,
            low,
            close: price,
            before_open: shift(open, tick, rng.below(3) as i64 - 1),
            last_qty: lot,
            volume,
            quote_volume: quote_amount(low / 2 + high / 2, volume),
            first_trade,
            last_trade: first_trade.saturating_add(trades - 1),
        }
    }

    /// Moves the window on by one event: `fill`'s trades join at the end, about as many old
    /// ones leave at the start (taking their share of the volume), and the open (the price
    /// a window ago, unrelated to the price now) wanders a tick now and then.
    pub(super) fn roll(&mut self, fill: &Fill, tick: u64, rng: &mut Rng) {
        let dropped = rng.below(2 * fill.count + 1).min(self.trades() - 1);
        if dropped > 0 {
            let trades = self.trades();
            self.volume -= scale(self.volume, dropped, trades);
            self.quote_volume -= scale(self.quote_volume, dropped, trades);
            self.first_trade += dropped;
            self.drift_open(tick, rng);
        }
        self.last_trade = self.last_trade.saturating_add(fill.count);
        self.close = fill.price;
        self.last_qty = fill.qty;
        self.volume = self.volume.saturating_add(fill.qty);
        self.quote_volume = self
            .quote_volume
            .saturating_add(quote_amount(fill.price, fill.qty));
        self.high = self.high.max(self.close).max(self.open);
        self.low = self.low.min(self.close).min(self.open);
    }

    /// A random walk of the open, pulled back when it strays from where it started.
    fn drift_open(&mut self, tick: u64, rng: &mut Rng) {
        let strayed = self.open.abs_diff(self.anchor) > MAX_OPEN_DRIFT_TICKS * tick;
        let ticks = if strayed {
            if self.open > self.anchor { -1 } else { 1 }
        } else {
            match rng.below(4) {
                0 => 1,
                1 => -1,
                _ => return,
            }
        };
        self.before_open = self.open;
        self.open = shift(self.open, tick, ticks);
    }

    /// `n`: trades in the window.
    fn trades(&self) -> u64 {
        self.last_trade - self.first_trade + 1
    }

    /// `w`: the volume-weighted average price, inside the window's range.
    fn weighted_average(&self) -> u64 {
        // max-then-min rather than clamp: no input can make it panic.
        average_price(self.quote_volume, self.volume)
            .max(self.low)
            .min(self.high)
    }

    /// `O`: when the window opened, in the stream's time unit.
    fn open_time(&self, event_time: u64, per_ms: u64) -> u64 {
        event_time.saturating_sub(self.window_ms.saturating_mul(per_ms))
    }

    /// `<s>@miniTicker`, as `24hrMiniTicker.json`.
    pub(super) fn write_mini(&self, out: &mut String, symbol: &str, event_time: u64) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            r#"{{"e":"24hrMiniTicker","E":{event_time},"s":"{symbol}","c":"{}","o":"{}","h":"{}","l":"{}","v":"{}","q":"{}"}}"#,
            Decimal(self.close),
            Decimal(self.open),
            Decimal(self.high),
            Decimal(self.low),
            Decimal(self.volume),
            Decimal(self.quote_volume),
        );
    }

    /// `<s>@ticker`: spot as `24hrTicker.json`, with `x` and the best bid and ask
    /// (`spot_quote`); USD-M futures send the same without them (`None`).
    pub(super) fn write_full(
        &self,
        out: &mut String,
        symbol: &str,
        event_time: u64,
        per_ms: u64,
        spot_quote: Option<Quote>,
    ) {
        let _ = write!(
            out,
            r#"{{"e":"24hrTicker","E":{event_time},"s":"{symbol}","p":"{}","P":"{}","w":"{}","#,
            SignedDecimal(difference(self.close, self.open)),
            Percent(change_percent(self.close, self.open)),
            Decimal(self.weighted_average()),
        );
        if let Some(quote) = spot_quote {
            let _ = write!(out, r#""x":"{}","#, Decimal(self.before_open));
            let _ = write!(
                out,
                r#""c":"{}","Q":"{}","b":"{}","B":"{}","a":"{}","A":"{}","#,
                Decimal(self.close),
                Decimal(self.last_qty),
                Decimal(quote.bid),
                Decimal(quote.bid_qty),
                Decimal(quote.ask),
                Decimal(quote.ask_qty),
            );
        } else {
            let _ = write!(
                out,
                r#""c":"{}","Q":"{}","#,
                Decimal(self.close),
                Decimal(self.last_qty)
            );
        }
        let _ = write!(
            out,
            r#""o":"{}","h":"{}","l":"{}","v":"{}","q":"{}","O":{},"C":{event_time},"F":{},"L":{},"n":{}}}"#,
            Decimal(self.open),
            Decimal(self.high),
            Decimal(self.low),
            Decimal(self.volume),
            Decimal(self.quote_volume),
            self.open_time(event_time, per_ms),
            self.first_trade,
            self.last_trade,
            self.trades(),
        );
    }

    /// `<s>@ticker_<window>`, as `1hTicker.json`; `event_type` is `1hTicker`, `4hTicker` or
    /// `1dTicker`.
    pub(super) fn write_window(
        &self,
        out: &mut String,
        event_type: &str,
        symbol: &str,
        event_time: u64,
        per_ms: u64,
    ) {
        let _ = write!(
            out,
            r#"{{"e":"{event_type}","E":{event_time},"s":"{symbol}","p":"{}","P":"{}","o":"{}","h":"{}","l":"{}","c":"{}","w":"{}","v":"{}","q":"{}","O":{},"C":{event_time},"F":{},"L":{},"n":{}}}"#,
            SignedDecimal(difference(self.close, self.open)),
            Percent(change_percent(self.close, self.open)),
            Decimal(self.open),
            Decimal(self.high),
            Decimal(self.low),
            Decimal(self.close),
            Decimal(self.weighted_average()),
            Decimal(self.volume),
            Decimal(self.quote_volume),
            self.open_time(event_time, per_ms),
            self.first_trade,
            self.last_trade,
            self.trades(),
        );
    }
}

/// `price` moved by `ticks` ticks, never below one tick.
fn shift(price: u64, tick: u64, ticks: i64) -> u64 {
    let moved = tick.saturating_mul(ticks.unsigned_abs());
    let shifted = if ticks < 0 {
        price.saturating_sub(moved)
    } else {
        price.saturating_add(moved)
    };
    shifted.max(tick)
}
