//! The summary kinds' payloads: candles, rolling tickers, the average price, mark price
//! and funding, liquidations. Each builds up from the walk's price what the kind reports.

use std::fmt::Write as _;

use binance_streams::{KLINE_INTERVALS, StreamKind, TICKER_WINDOWS};

use super::candle::{self, Candle};
use super::numbers::{Decimal, SignedDecimal};
use super::stats::Rolling;
use super::{
    AVG_PRICE_INTERVAL, BASE_FUNDING_RATE, DAY_MS, FUNDING_PERIOD_MS, Feed, MAX_FUNDING_SWING,
};

impl Feed {
    /// `kline_1m.json`. Each event adds the walk's trades to the open candle; the first
    /// event after the candle's close time sends it once more with `x:true`, and the next
    /// one opens the candle its time falls in.
    pub(super) fn write_kline(&mut self, out: &mut String, interval: u8, now: u64) {
        let interval = KLINE_INTERVALS
            .get(usize::from(interval))
            .copied()
            .unwrap_or("1m");
        let time = self.later_event_time(now);
        if let Some(closed) = self.candle.take_if(|candle| time > candle.close_time) {
            closed.write(out, &self.symbol, interval, time, true);
            return;
        }
        let fill = self.fill();
        let candle = match self.candle.take() {
            Some(mut candle) => {
                candle.add(&fill);
                candle
            }
            None => {
                let per_ms = self.per_ms();
                let (open_ms, next_ms) = candle::bounds(interval, time / per_ms);
                let open = open_ms.saturating_mul(per_ms);
                let close = next_ms.saturating_mul(per_ms).saturating_sub(1);
                Candle::new(open, close, &fill)
            }
        };
        candle.write(out, &self.symbol, interval, time, false);
        self.candle = Some(candle);
    }

    /// `24hrMiniTicker.json`, `24hrTicker.json` or `1hTicker.json`: the stream's rolling
    /// window after this event's trades.
    pub(super) fn write_ticker(&mut self, out: &mut String, now: u64) {
        let time = self.later_event_time(now);
        let fill = self.fill();
        let spot_quote = (!self.futures).then(|| self.quote());
        let window_ms = match self.kind {
            StreamKind::WindowTicker(window) => window_length(window),
            _ => DAY_MS,
        };
        let (price, tick, lot, per_ms) = (self.price, self.tick, self.lot, self.per_ms());
        let first_trade = self.next_trade_id;
        let rng = &mut self.rng;
        let window = self
            .window
            .get_or_insert_with(|| Rolling::new(window_ms, price, tick, lot, first_trade, rng));
        window.roll(&fill, tick, rng);
        let symbol = &self.symbol;
        match self.kind {
            StreamKind::MiniTicker => window.write_mini(out, symbol, time),
            StreamKind::Ticker => window.write_full(out, symbol, time, per_ms, spot_quote),
            kind => {
                let event_type = kind.event_type().unwrap_or("1hTicker");
                window.write_window(out, event_type, symbol, time, per_ms);
            }
        }
    }

    /// `avgPrice.json`: a smoothed walk on the price grid, and when the last trade was.
    pub(super) fn write_avg_price(&mut self, out: &mut String, now: u64) {
        let time = self.later_event_time(now);
        self.average = smooth(self.average, self.price, 16);
        let average = (self.average - self.average % self.tick).max(self.tick);
        let last_trade = time.saturating_sub(self.rng.below(1_000) * self.per_ms());
        let _ = write!(
            out,
            r#"{{"e":"avgPrice","E":{time},"s":"{}","i":"{AVG_PRICE_INTERVAL}","w":"{}","T":{last_trade}}}"#,
            self.symbol,
            Decimal(average),
        );
    }

    /// `futures_markPriceUpdate.json`: the mark a fraction of a tick off the walk, the index
    /// a smoothed walk, the estimated settle price near the index, a funding rate that
    /// wanders a little around 0.01 %, and the next 8-hourly funding time.
    pub(super) fn write_mark_price(&mut self, out: &mut String, now: u64) {
        let time = self.later_event_time(now);
        self.average = smooth(self.average, self.price, 8);
        let index = self.average + self.rng.below(self.tick);
        let mark = self.price + self.rng.below(self.tick);
        let settle = index.saturating_sub(self.rng.below(self.tick / 2 + 1));
        let nudge = self.rng.below(21) as i64 - 10;
        self.funding_rate = (self.funding_rate + nudge).clamp(
            BASE_FUNDING_RATE - MAX_FUNDING_SWING,
            BASE_FUNDING_RATE + MAX_FUNDING_SWING,
        );
        let period = FUNDING_PERIOD_MS.saturating_mul(self.per_ms());
        let next_funding = (time / period + 1).saturating_mul(period);
        let _ = write!(
            out,
            r#"{{"e":"markPriceUpdate","E":{time},"s":"{}","p":"{}","i":"{}","P":"{}","r":"{}","T":{next_funding}}}"#,
            self.symbol,
            Decimal(mark),
            Decimal(index),
            Decimal(settle),
            SignedDecimal(self.funding_rate),
        );
    }

    /// `futures_forceOrder.json`: a liquidation near the walk. A liquidated long is sold
    /// (`SELL`, limit price under the fills), a short bought back (`BUY`, above them); most
    /// fill completely (`FILLED`, `z` = `q`), some partly (`PARTIALLY_FILLED`).
    pub(super) fn write_force_order(&mut self, out: &mut String, now: u64) {
        let time = self.later_event_time(now);
        let sell = self.rng.below(2) == 0;
        let slippage = self.tick * (1 + self.rng.below(20));
        let limit = if sell {
            self.price.saturating_sub(slippage).max(self.tick)
        } else {
            self.price + slippage
        };
        // Liquidations are big: $1,000 to $500,000 (log-uniform), a quarter above $100,000.
        let fraction = self.rng.next_f64();
        let notional = 1_000.0 * 500f64.powf(fraction);
        let lots = self.lots_for_notional(notional) / self.lot.max(1);
        let filled_lots = if lots > 1 && self.rng.below(6) == 0 {
            1 + self.rng.below(lots - 1)
        } else {
            lots
        };
        let last_lots = if self.rng.below(2) == 0 {
            filled_lots
        } else {
            1 + self.rng.below(filled_lots)
        };
        let trade_time = time.saturating_sub(self.rng.below(5) * self.per_ms());
        let _ = write!(
            out,
            r#"{{"e":"forceOrder","E":{time},"o":{{"s":"{}","S":"{}","o":"LIMIT","f":"IOC","q":"{}","p":"{}","ap":"{}","X":"{}","l":"{}","z":"{}","T":{trade_time}}}}}"#,
            self.symbol,
            if sell { "SELL" } else { "BUY" },
            Decimal(self.lot * lots),
            Decimal(limit),
            Decimal(self.price),
            if filled_lots == lots {
                "FILLED"
            } else {
                "PARTIALLY_FILLED"
            },
            Decimal(self.lot * last_lots),
            Decimal(self.lot * filled_lots),
        );
    }
}

/// The length of a rolling-window ticker's window (`TICKER_WINDOWS`), in milliseconds.
pub(super) fn window_length(window: u8) -> u64 {
    match TICKER_WINDOWS.get(usize::from(window)) {
        Some(&"1h") => 3_600_000,
        Some(&"4h") => 4 * 3_600_000,
        _ => DAY_MS,
    }
}

/// An exponential moving average: `average` moved `1/weight` of the way to `price`.
fn smooth(average: u64, price: u64, weight: u64) -> u64 {
    let weight = u128::from(weight.max(1));
    let smoothed = (u128::from(average) * (weight - 1) + u128::from(price)) / weight;
    u64::try_from(smoothed).unwrap_or(price)
}
