//! The mock's market: one [`Feed`] per stream name (`ethusdt@trade`), shared by every
//! connection to that stream so ids continue across reconnects, with a random-walk price
//! that looks alive. Every stream kind has a generator. Payloads follow Binance's field sets
//! and field order byte for byte (`binance-streams/fixtures/`), spot or USD-M futures
//! ([`Feed::futures`]), with spot's 8-decimal price strings.
//!
//! Ids are what the listener's sequence checks expect (PROTOCOL.md §8): trade and aggTrade
//! ids step by one; depth update ids chain (`U` = previous `u` + 1 on spot, `pu` = previous
//! `u` on futures); book tickers and partial books carry increasing ids; the snapshot kinds
//! (klines, tickers, average and mark prices, liquidations) carry strictly increasing event
//! times, because the listener drops an event whose `E` it has seen as a copy.

mod book;
mod candle;
mod numbers;
mod stats;

use std::collections::VecDeque;
use std::fmt::Write as _;

use tungstenite::Utf8Bytes;

use crate::rand::{Rng, hash_str};
use binance_streams::{KLINE_INTERVALS, StreamKind, TICKER_WINDOWS};
use book::{BookIds, Ladder, Side};
use candle::Candle;
use numbers::{Decimal, SignedDecimal, UNITS_PER_WHOLE};
use stats::{Quote, Rolling};

/// Recent payloads kept per stream, so overlapping connections and replays send the same
/// bytes for the same id.
const LOG_CAPACITY: usize = 16_384;

/// Changed levels per side in one diff-depth event, at most.
const DIFF_LEVELS: u64 = 3;

/// The averaging window `avgPrice` names in `i`.
const AVG_PRICE_INTERVAL: &str = "5m";

/// USD-M funding happens every 8 hours, at 00:00, 08:00 and 16:00 UTC.
const FUNDING_PERIOD_MS: u64 = 8 * 3_600_000;

/// The usual funding rate, 0.01 % (in 1e-8), and how far the mock lets it wander from it.
const BASE_FUNDING_RATE: i64 = 10_000;
const MAX_FUNDING_SWING: i64 = 40_000;

/// The window of `miniTicker` and `ticker`.
const DAY_MS: u64 = 86_400_000;

/// The trades one event of the walk stands for.
#[derive(Debug, Clone, Copy)]
struct Fill {
    price: u64,
    /// Their total quantity.
    qty: u64,
    /// How many trades, with consecutive ids from `first_id`; at least one.
    count: u64,
    first_id: u64,
    /// The buyer was the maker: the taker sold.
    buyer_maker: bool,
}

impl Fill {
    fn last_id(&self) -> u64 {
        self.first_id.saturating_add(self.count.max(1) - 1)
    }
}

/// One stream's state: the next id, where the price is, and what the kind builds up from
/// it (a candle, a rolling window, an average, a funding rate).
#[derive(Debug, Clone)]
pub struct Feed {
    symbol: String,
    kind: StreamKind,
    futures: bool,
    micros: bool,
    /// The stream's event counter: trade `t`, aggTrade `a`, bookTicker `u`; the other kinds
    /// derive their ids from it or from the clock.
    next_id: u64,
    /// The next underlying trade id (aggTrade `f`, kline `f`).
    next_trade_id: u64,
    price: u64,
    tick: u64,
    lot: u64,
    rng: Rng,
    book: BookIds,
    /// The last snapshot event time (`E`), which the next one must exceed.
    last_event_time: u64,
    candle: Option<Candle>,
    window: Option<Rolling>,
    /// A smoothed price: `avgPrice`'s average, `markPrice`'s index.
    average: u64,
    /// `markPrice`'s funding rate, in 1e-8.
    funding_rate: i64,
}

impl Feed {
    /// A spot feed for `stream_symbol` (any case) of `kind`, whose first event has id
    /// `first_id`, with times in milliseconds.
    pub fn new(stream_symbol: &str, kind: StreamKind, first_id: u64) -> Self {
        let symbol = stream_symbol.to_uppercase();
        let (price, tick, lot) = reference_price(&symbol);
        let seed = hash_str(&symbol) ^ hash_str(&kind.name());
        Self {
            rng: Rng::with_seed(seed),
            book: BookIds::new(seed),
            symbol,
            kind,
            futures: false,
            micros: false,
            next_id: first_id,
            next_trade_id: first_id.saturating_mul(3),
            price,
            tick,
            lot,
            last_event_time: 0,
            candle: None,
            window: None,
            average: price,
            funding_rate: BASE_FUNDING_RATE,
        }
    }

    /// USD-M futures shapes instead of spot's where they differ: aggTrade (`nq`, no `M`),
    /// bookTicker (`e`, `E`, `T`), depth and partial depth (`T`, `pu`, diff-shaped), and
    /// ticker (no `x` or best bid and ask). Kinds only one market has keep that market's
    /// shape: trade, avgPrice and the window tickers are spot's; markPrice and forceOrder
    /// futures'.
    pub fn futures(mut self, futures: bool) -> Self {
        self.futures = futures;
        self
    }

    /// Times in microseconds (Binance's `timeUnit=MICROSECOND`): `now` is then in µs, and
    /// so are candle bounds, ticker windows and funding times.
    pub fn micros(mut self, micros: bool) -> Self {
        self.micros = micros;
        self
    }

    /// The id the next event will carry.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Writes the next event's payload into `out` (cleared first) and advances the feed.
    /// `now` is the event time in the stream's time unit (ms, or µs with [`Feed::micros`]).
    pub fn next_payload(&mut self, out: &mut String, now: u64) {
        out.clear();
        self.step_price();
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        match self.kind {
            StreamKind::Trade => self.write_trade(out, id, now),
            StreamKind::AggTrade => self.write_agg_trade(out, id, now),
            StreamKind::BookTicker => self.write_book_ticker(out, id, now),
            StreamKind::Depth(_) => self.write_depth(out, id, now),
            StreamKind::PartialDepth(levels, _) => {
                self.write_partial_depth(out, id, u64::from(levels), now);
            }
            StreamKind::Kline(interval) => self.write_kline(out, interval, now),
            StreamKind::MiniTicker | StreamKind::Ticker | StreamKind::WindowTicker(_) => {
                self.write_ticker(out, now);
            }
            StreamKind::AvgPrice => self.write_avg_price(out, now),
            StreamKind::MarkPrice(_) => self.write_mark_price(out, now),
            StreamKind::ForceOrder => self.write_force_order(out, now),
        }
    }

    /// A fresh feed with this one's settings whose first event is `id`: the stand-in for an
    /// event older than a stream's log.
    fn stand_in(&self, id: u64) -> Self {
        Self::new(&self.symbol, self.kind, id)
            .futures(self.futures)
            .micros(self.micros)
    }

    /// Time units per millisecond.
    fn per_ms(&self) -> u64 {
        if self.micros { 1_000 } else { 1 }
    }

    /// An event time after the stream's previous one. The listener deduplicates snapshot
    /// streams by `E`, so two events in one millisecond (a fast rate, or a market-mode
    /// catch-up generating many at once) must not share it.
    fn later_event_time(&mut self, now: u64) -> u64 {
        let time = now.max(self.last_event_time.saturating_add(1));
        self.last_event_time = time;
        time
    }

    /// A transaction or trade time a moment before `now`, as Binance stamps them.
    fn moment_before(&mut self, now: u64) -> u64 {
        now.saturating_sub(self.rng.below(3))
    }

    /// The trades of one event at the walk's price: one to three, with the stream's next
    /// trade ids.
    fn fill(&mut self) -> Fill {
        let count = 1 + self.rng.below(3);
        let first_id = self.next_trade_id;
        self.next_trade_id = self.next_trade_id.saturating_add(count);
        Fill {
            price: self.price,
            qty: self.lot * (1 + self.rng.below(40) * self.rng.below(8)),
            count,
            first_id,
            buyer_maker: self.rng.below(2) == 0,
        }
    }

    /// The best bid and ask around the walk: the bid at the price or a tick under it, the
    /// ask one or two ticks above the bid.
    fn quote(&mut self) -> Quote {
        let bid = self
            .price
            .saturating_sub(self.tick * self.rng.below(2))
            .max(self.tick);
        Quote {
            bid,
            bid_qty: self.lot * (1 + self.rng.below(500)),
            ask: bid + self.tick * (1 + self.rng.below(2)),
            ask_qty: self.lot * (1 + self.rng.below(500)),
        }
    }

    /// `trade.json`.
    fn write_trade(&mut self, out: &mut String, id: u64, now: u64) {
        let fill = self.fill();
        let time = self.moment_before(now);
        // Writing to a String cannot fail (here and in every writer below).
        let _ = write!(
            out,
            r#"{{"e":"trade","E":{now},"s":"{}","t":{id},"p":"{}","q":"{}","T":{time},"m":{},"M":true}}"#,
            self.symbol,
            Decimal(fill.price),
            Decimal(fill.qty),
            fill.buyer_maker,
        );
    }

    /// `aggTrade.json`, or `futures_aggTrade.json`: futures add `nq` (the quantity without
    /// retail-price-improvement orders, at most `q`) and drop `M`.
    fn write_agg_trade(&mut self, out: &mut String, id: u64, now: u64) {
        let fill = self.fill();
        let time = self.moment_before(now);
        let (symbol, price, qty) = (&self.symbol, Decimal(fill.price), Decimal(fill.qty));
        let (first, last, maker) = (fill.first_id, fill.last_id(), fill.buyer_maker);
        let _ = if self.futures {
            let rpi = if self.rng.below(5) == 0 {
                self.lot * self.rng.below(fill.qty / self.lot)
            } else {
                0
            };
            let normal = Decimal(fill.qty - rpi);
            write!(
                out,
                r#"{{"e":"aggTrade","E":{now},"s":"{symbol}","a":{id},"p":"{price}","q":"{qty}","nq":"{normal}","f":{first},"l":{last},"T":{time},"m":{maker}}}"#
            )
        } else {
            write!(
                out,
                r#"{{"e":"aggTrade","E":{now},"s":"{symbol}","a":{id},"p":"{price}","q":"{qty}","f":{first},"l":{last},"T":{time},"m":{maker},"M":true}}"#
            )
        };
    }

    /// `bookTicker.json` (no event type or time), or `futures_bookTicker.json`. The update id
    /// is the stream's counter: increasing, which is all Binance promises.
    fn write_book_ticker(&mut self, out: &mut String, id: u64, now: u64) {
        let quote = self.quote();
        if self.futures {
            let time = self.moment_before(now);
            let _ = write!(out, r#"{{"e":"bookTicker","u":{id},"E":{now},"T":{time},"#);
        } else {
            let _ = write!(out, r#"{{"u":{id},"#);
        }
        let _ = write!(
            out,
            r#""s":"{}","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
            self.symbol,
            Decimal(quote.bid),
            Decimal(quote.bid_qty),
            Decimal(quote.ask),
            Decimal(quote.ask_qty),
        );
    }

    /// `depthUpdate.json` (`U` = previous `u` + 1), or `futures_depthUpdate.json` (`pu` =
    /// previous `u`): a few changed levels near the top of the book, some removed (qty 0).
    fn write_depth(&mut self, out: &mut String, id: u64, now: u64) {
        let _ = write!(out, r#"{{"e":"depthUpdate","E":{now},"#);
        self.write_update_ids(out, id, now);
        let quote = self.quote();
        let bids = self.rng.below(DIFF_LEVELS + 1);
        let asks = self.rng.below(DIFF_LEVELS + 1).max(u64::from(bids == 0));
        out.push_str(r#""b":"#);
        let bid_start = quote.bid.saturating_sub(self.tick * self.rng.below(3));
        self.ladder(Side::Bid, bid_start.max(self.tick), bids, 4)
            .write(out, &mut self.rng);
        out.push_str(r#","a":"#);
        let ask_start = quote.ask + self.tick * self.rng.below(3);
        self.ladder(Side::Ask, ask_start, asks, 4)
            .write(out, &mut self.rng);
        out.push('}');
    }

    /// `partialDepth5.json` (`lastUpdateId`, `bids`, `asks`), or on futures
    /// `futures_partialDepth5.json` (the diff shape): the top `levels` of each side.
    fn write_partial_depth(&mut self, out: &mut String, id: u64, levels: u64, now: u64) {
        let (bids_key, asks_key) = if self.futures {
            let _ = write!(out, r#"{{"e":"depthUpdate","E":{now},"#);
            self.write_update_ids(out, id, now);
            (r#""b":"#, r#","a":"#)
        } else {
            let _ = write!(out, r#"{{"lastUpdateId":{},"#, self.book.last(id));
            (r#""bids":"#, r#","asks":"#)
        };
        let quote = self.quote();
        out.push_str(bids_key);
        self.ladder(Side::Bid, quote.bid, levels, 0)
            .write(out, &mut self.rng);
        out.push_str(asks_key);
        self.ladder(Side::Ask, quote.ask, levels, 0)
            .write(out, &mut self.rng);
        out.push('}');
    }

    /// The update-id fields of a depth event after `E`: spot `"s","U","u"`, futures
    /// `"T","s","U","u","pu"`, each followed by a comma.
    fn write_update_ids(&mut self, out: &mut String, id: u64, now: u64) {
        let symbol = &self.symbol;
        let _ = if self.futures {
            let range = self.book.futures(id);
            let time = now.saturating_sub(self.rng.below(3));
            write!(
                out,
                r#""T":{time},"s":"{symbol}","U":{},"u":{},"pu":{},"#,
                range.first, range.last, range.previous
            )
        } else {
            let range = self.book.spot(id);
            write!(
                out,
                r#""s":"{symbol}","U":{},"u":{},"#,
                range.first, range.last
            )
        };
    }

    fn ladder(&self, side: Side, best: u64, levels: u64, delete_one_in: u64) -> Ladder {
        Ladder {
            side,
            best,
            levels,
            tick: self.tick,
            lot: self.lot,
            delete_one_in,
        }
    }

    /// `kline_1m.json`. Each event adds the walk's trades to the open candle; the first
    /// event after the candle's close time sends it once more with `x:true`, and the next
    /// one opens the candle its time falls in.
    fn write_kline(&mut self, out: &mut String, interval: u8, now: u64) {
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
    fn write_ticker(&mut self, out: &mut String, now: u64) {
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
    fn write_avg_price(&mut self, out: &mut String, now: u64) {
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
    fn write_mark_price(&mut self, out: &mut String, now: u64) {
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
    fn write_force_order(&mut self, out: &mut String, now: u64) {
        let time = self.later_event_time(now);
        let sell = self.rng.below(2) == 0;
        let slippage = self.tick * (1 + self.rng.below(20));
        let limit = if sell {
            self.price.saturating_sub(slippage).max(self.tick)
        } else {
            self.price + slippage
        };
        let lots = 1 + self.rng.below(200);
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

    /// A random walk in ticks with a pull back towards the reference price, so a long
    /// simulation neither drifts to zero nor explodes.
    fn step_price(&mut self) {
        let (reference, _, _) = reference_price(&self.symbol);
        let roll = self.rng.below(100);
        let ticks = match roll {
            0..=44 => 0i64,
            45..=69 => 1,
            70..=94 => -1,
            95..=97 => 3,
            _ => -3,
        };
        let pull = if self.price > reference + reference / 50 {
            -1
        } else if self.price + reference / 50 < reference {
            1
        } else {
            0
        };
        let moved = (self.price as i64 + (ticks + pull) * self.tick as i64).max(self.tick as i64);
        self.price = moved as u64;
    }
}

/// The length of a rolling-window ticker's window (`TICKER_WINDOWS`), in milliseconds.
fn window_length(window: u8) -> u64 {
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

/// A stream's feed plus its recent payloads: every connection to the stream asks it for
/// payloads by id, so ids (and their bytes) are shared, not per connection.
#[derive(Debug)]
pub struct StreamLog {
    feed: Feed,
    log: VecDeque<Utf8Bytes>,
    /// The id of `log[0]`.
    first_logged: u64,
    /// Connections served so far.
    pub connections: u64,
}

impl StreamLog {
    /// A log for `stream_symbol`'s spot `kind` stream, starting at id 1.
    pub fn new(stream_symbol: &str, kind: StreamKind) -> Self {
        Self::from_feed(Feed::new(stream_symbol, kind, 1))
    }

    /// A log of `feed`'s events, starting at its next id.
    pub fn from_feed(feed: Feed) -> Self {
        Self {
            first_logged: feed.next_id(),
            feed,
            log: VecDeque::new(),
            connections: 0,
        }
    }

    /// The id the next newly generated event will carry.
    pub fn next_id(&self) -> u64 {
        self.feed.next_id()
    }

    /// The payload of event `id`, generating events up to it if they do not exist yet.
    /// `now` stamps newly generated events. An id older than the log gets a fresh
    /// stand-in payload with the same id.
    pub fn payload(&mut self, id: u64, now: u64, scratch: &mut String) -> Utf8Bytes {
        while self.feed.next_id() <= id {
            self.feed.next_payload(scratch, now);
            if self.log.len() == LOG_CAPACITY {
                self.log.pop_front();
                self.first_logged += 1;
            }
            self.log.push_back(Utf8Bytes::from(scratch.as_str()));
        }
        let logged = id
            .checked_sub(self.first_logged)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|offset| self.log.get(offset));
        match logged {
            Some(payload) => payload.clone(),
            None => {
                let mut stand_in = self.feed.stand_in(id);
                stand_in.next_payload(scratch, now);
                Utf8Bytes::from(scratch.as_str())
            }
        }
    }
}

/// Where a symbol trades and its tick and lot sizes, in 1e-8 units. Well-known symbols get
/// believable numbers; others a stable price derived from their name.
fn reference_price(symbol: &str) -> (u64, u64, u64) {
    let whole = |units: f64| (units * UNITS_PER_WHOLE as f64) as u64;
    match symbol {
        "BTCUSDT" => (whole(97_000.0), whole(0.01), whole(0.00001)),
        "ETHUSDT" => (whole(3_010.0), whole(0.01), whole(0.0001)),
        "BNBUSDT" => (whole(610.0), whole(0.01), whole(0.001)),
        "SOLUSDT" => (whole(150.0), whole(0.01), whole(0.001)),
        "XRPUSDT" => (whole(2.2), whole(0.0001), whole(0.1)),
        "DOGEUSDT" => (whole(0.31), whole(0.00001), whole(1.0)),
        _ => {
            let price = 1 + hash_str(symbol) % 500;
            (price * UNITS_PER_WHOLE, whole(0.001), whole(0.01))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde::de::{IgnoredAny, MapAccess, Visitor};

    use super::*;
    use crate::Chain;
    use binance_streams::{Event, Payload, UpdateSpeed, parse_event};

    /// Payloads generated per kind and flavor.
    const EVENTS: usize = 400;

    /// 2024-11-25 02:00:00 UTC.
    const START_MS: u64 = 1_732_500_000_000;

    /// Every stream kind: every kline interval and ticker window, every depth speed, 5, 10
    /// and 20 levels, and both mark-price speeds.
    fn every_kind() -> Vec<StreamKind> {
        let speeds = [UpdateSpeed::Standard, UpdateSpeed::Fast, UpdateSpeed::Slow];
        let mut kinds = vec![
            StreamKind::Trade,
            StreamKind::AggTrade,
            StreamKind::BookTicker,
            StreamKind::MiniTicker,
            StreamKind::Ticker,
            StreamKind::AvgPrice,
            StreamKind::MarkPrice(false),
            StreamKind::MarkPrice(true),
            StreamKind::ForceOrder,
        ];
        kinds.extend(speeds.map(StreamKind::Depth));
        for levels in [5, 10, 20] {
            kinds.extend(speeds.map(|speed| StreamKind::PartialDepth(levels, speed)));
        }
        kinds.extend((0..KLINE_INTERVALS.len() as u8).map(StreamKind::Kline));
        kinds.extend((0..TICKER_WINDOWS.len() as u8).map(StreamKind::WindowTicker));
        kinds
    }

    /// How far the clock moves between two events of `kind` in the tests: klines fast
    /// enough that every interval, months included, closes a few candles.
    fn clock_step(kind: StreamKind) -> u64 {
        match kind {
            StreamKind::Kline(interval) => {
                let name = KLINE_INTERVALS[usize::from(interval)];
                let (open, next) = candle::bounds(name, START_MS);
                ((next - open) / 40).max(1)
            }
            _ => 100,
        }
    }

    /// `EVENTS` payloads of `kind`, on a clock from `START_MS` (times in `unit` per ms).
    fn payloads(kind: StreamKind, futures: bool, micros: bool) -> Vec<String> {
        let per_ms = if micros { 1_000 } else { 1 };
        let mut feed = Feed::new("ethusdt", kind, 1)
            .futures(futures)
            .micros(micros);
        let mut now = START_MS * per_ms;
        (0..EVENTS)
            .map(|_| {
                let mut payload = String::new();
                feed.next_payload(&mut payload, now);
                now += clock_step(kind) * per_ms;
                payload
            })
            .collect()
    }

    /// An 8-decimal string as 1e-8 units, exactly.
    fn units(text: &str) -> u64 {
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let fraction = format!("{fraction:0<8}");
        whole.parse::<u64>().unwrap() * UNITS_PER_WHOLE + fraction.parse::<u64>().unwrap()
    }

    /// Depth levels as `(price, qty)` in units.
    fn levels(raw: &serde_json::value::RawValue) -> Vec<(u64, u64)> {
        let levels: Vec<(String, String)> = serde_json::from_str(raw.get()).unwrap();
        levels.iter().map(|(p, q)| (units(p), units(q))).collect()
    }

    fn assert_sorted(bids: &[(u64, u64)], asks: &[(u64, u64)], payload: &str) {
        assert!(bids.windows(2).all(|w| w[0].0 > w[1].0), "{payload}");
        assert!(asks.windows(2).all(|w| w[0].0 < w[1].0), "{payload}");
        if let (Some(bid), Some(ask)) = (bids.first(), asks.first()) {
            assert!(bid.0 < ask.0, "{payload}");
        }
    }

    /// `low <= open, close <= high`.
    fn assert_range(open: &str, close: &str, high: &str, low: &str, payload: &str) {
        let (o, c, h, l) = (units(open), units(close), units(high), units(low));
        assert!(l <= o.min(c) && o.max(c) <= h, "{payload}");
    }

    #[test]
    fn every_kind_parses_and_passes_the_sequence_check_in_both_flavors() {
        for futures in [false, true] {
            for kind in every_kind() {
                let mut check = Chain::default();
                for payload in payloads(kind, futures, false) {
                    let event = parse_event(kind, &payload)
                        .unwrap_or_else(|error| panic!("{kind} {futures}: {error}: {payload}"));
                    let point = event.sequence().expect(&payload);
                    assert!(check.next(point), "{kind}: {payload}");
                    assert_consistent(kind, futures, &event, &payload);
                }
            }
        }
    }

    /// What each kind's payload must say to be believable.
    fn assert_consistent(kind: StreamKind, futures: bool, event: &Event<'_>, payload: &str) {
        match event {
            Event::Trade(trade) => assert!(trade.trade_time <= trade.event_time, "{payload}"),
            Event::AggTrade(agg) => {
                assert!(agg.first_trade_id <= agg.last_trade_id, "{payload}");
                assert_eq!(agg.normal_qty.is_some(), futures, "{payload}");
                if let Some(normal) = &agg.normal_qty {
                    assert!(units(normal) <= units(&agg.qty), "{payload}");
                }
            }
            Event::BookTicker(ticker) => {
                assert!(
                    units(&ticker.bid_price) < units(&ticker.ask_price),
                    "{payload}"
                );
                assert_eq!(ticker.event_time.is_some(), futures, "{payload}");
            }
            Event::Depth(depth) => {
                assert_eq!(depth.prev_final_update_id.is_some(), futures, "{payload}");
                assert!(depth.first_update_id <= depth.final_update_id, "{payload}");
                let (bids, asks) = (levels(depth.bids), levels(depth.asks));
                assert!(!bids.is_empty() || !asks.is_empty(), "{payload}");
                assert_sorted(&bids, &asks, payload);
            }
            Event::PartialDepth(depth) => {
                let StreamKind::PartialDepth(count, _) = kind else {
                    unreachable!()
                };
                assert_eq!(depth.last_update_id.is_none(), futures, "{payload}");
                let (bids, asks) = (levels(depth.bids().unwrap()), levels(depth.asks().unwrap()));
                assert_eq!((bids.len(), asks.len()), (count.into(), count.into()));
                assert!(
                    bids.iter().chain(&asks).all(|level| level.1 > 0),
                    "{payload}"
                );
                assert_sorted(&bids, &asks, payload);
            }
            Event::Kline(kline) => {
                let candle = &kline.candle;
                assert_eq!(candle.interval, kind.name()["kline_".len()..], "{payload}");
                assert!(candle.open_time < candle.close_time, "{payload}");
                assert!(kline.event_time >= candle.open_time, "{payload}");
                assert_eq!(
                    kline.event_time > candle.close_time,
                    candle.closed,
                    "{payload}"
                );
                let trades = candle.last_trade_id - candle.first_trade_id + 1;
                assert_eq!(trades, candle.trades as i64, "{payload}");
                assert_range(
                    &candle.open,
                    &candle.close,
                    &candle.high,
                    &candle.low,
                    payload,
                );
                assert!(units(&candle.taker_buy_volume) <= units(&candle.volume));
            }
            Event::MiniTicker(ticker) => {
                assert_range(
                    &ticker.open,
                    &ticker.close,
                    &ticker.high,
                    &ticker.low,
                    payload,
                );
            }
            Event::Ticker(ticker) => assert_ticker(kind, futures, ticker, payload),
            Event::AvgPrice(avg) => {
                assert!(avg.last_trade_time <= avg.event_time, "{payload}");
                assert!(units(&avg.avg_price) > 0, "{payload}");
            }
            Event::MarkPrice(mark) => {
                let rate: f64 = mark.funding_rate.as_deref().unwrap().parse().unwrap();
                assert!(rate.abs() < 0.001, "{payload}");
                assert!(
                    mark.next_funding_time.unwrap() > mark.event_time,
                    "{payload}"
                );
                let (p, i) = (
                    units(&mark.mark_price),
                    units(mark.index_price.as_deref().unwrap()),
                );
                assert!(p.abs_diff(i) < p / 100, "{payload}");
            }
            Event::ForceOrder(force) => {
                let order = &force.order;
                let (q, z, l) = (
                    units(&order.qty),
                    units(&order.filled_qty),
                    units(&order.last_filled_qty),
                );
                assert!(0 < l && l <= z && z <= q, "{payload}");
                assert_eq!(order.status == "FILLED", z == q, "{payload}");
                let (price, average) = (units(&order.price), units(&order.avg_price));
                match order.side.as_ref() {
                    "SELL" => assert!(price < average, "{payload}"),
                    "BUY" => assert!(price > average, "{payload}"),
                    other => panic!("side {other}"),
                }
                assert!(order.trade_time <= force.event_time, "{payload}");
            }
        }
    }

    fn assert_ticker(
        kind: StreamKind,
        futures: bool,
        ticker: &binance_streams::wire::Ticker<'_>,
        payload: &str,
    ) {
        assert_range(
            &ticker.open,
            &ticker.last_price,
            &ticker.high,
            &ticker.low,
            payload,
        );
        let average = units(&ticker.weighted_avg_price);
        assert!(
            units(&ticker.low) <= average && average <= units(&ticker.high),
            "{payload}"
        );
        let trades = ticker.last_trade_id - ticker.first_trade_id + 1;
        assert_eq!(trades, ticker.trades as i64, "{payload}");
        let window = match kind {
            StreamKind::WindowTicker(window) => window_length(window),
            _ => DAY_MS,
        };
        assert_eq!(ticker.close_time - ticker.open_time, window, "{payload}");
        let change = units(&ticker.last_price) as i128 - units(&ticker.open) as i128;
        let printed = ticker.price_change.replace('-', "");
        assert_eq!(units(&printed) as i128, change.abs(), "{payload}");
        let spot_full = kind == StreamKind::Ticker && !futures;
        assert_eq!(ticker.best_bid_price.is_some(), spot_full, "{payload}");
        if let (Some(bid), Some(ask)) = (&ticker.best_bid_price, &ticker.best_ask_price) {
            assert!(units(bid) < units(ask), "{payload}");
        }
    }

    #[test]
    fn klines_close_and_the_next_candle_follows() {
        for futures in [false, true] {
            for interval in 0..KLINE_INTERVALS.len() as u8 {
                let kind = StreamKind::Kline(interval);
                let mut closed = 0;
                let mut last_close: Option<u64> = None;
                for payload in payloads(kind, futures, false) {
                    let Ok(Event::Kline(kline)) = parse_event(kind, &payload) else {
                        panic!("{payload}")
                    };
                    let candle = &kline.candle;
                    if let Some(previous) = last_close.filter(|&close| close != candle.close_time) {
                        assert_eq!(candle.open_time, previous + 1, "{payload}");
                    }
                    last_close = Some(candle.close_time);
                    closed += usize::from(candle.closed);
                }
                assert!(closed >= 3, "{kind}: {closed} candles closed");
            }
        }
    }

    #[test]
    fn microsecond_times_scale_candles_windows_and_funding() {
        let kind = StreamKind::Kline(1);
        for payload in payloads(kind, false, true) {
            let Ok(Event::Kline(kline)) = parse_event(kind, &payload) else {
                panic!("{payload}")
            };
            assert_eq!(kline.candle.open_time % 60_000_000, 0, "{payload}");
            assert_eq!(
                kline.candle.close_time + 1 - kline.candle.open_time,
                60_000_000
            );
        }
        let tickers = payloads(StreamKind::Ticker, false, true);
        let Ok(Event::Ticker(ticker)) = parse_event(StreamKind::Ticker, &tickers[0]) else {
            panic!("not a ticker")
        };
        assert_eq!(ticker.close_time - ticker.open_time, DAY_MS * 1_000);
        let mark = &payloads(StreamKind::MarkPrice(true), true, true)[0];
        let Ok(Event::MarkPrice(mark)) = parse_event(StreamKind::MarkPrice(true), mark) else {
            panic!("not a mark price")
        };
        assert_eq!(
            mark.next_funding_time.unwrap() % (FUNDING_PERIOD_MS * 1_000),
            0
        );
    }

    #[test]
    fn snapshot_times_never_repeat_even_on_a_frozen_clock() {
        for kind in [
            StreamKind::Kline(0),
            StreamKind::Ticker,
            StreamKind::ForceOrder,
        ] {
            let mut feed = Feed::new("btcusdt", kind, 1);
            let mut check = Chain::default();
            let mut payload = String::new();
            for _ in 0..2_000 {
                feed.next_payload(&mut payload, START_MS);
                let event = parse_event(kind, &payload).unwrap();
                assert!(check.next(event.sequence().unwrap()));
            }
        }
    }

    #[test]
    fn trade_ids_step_by_one_and_agg_trades_chain() {
        for futures in [false, true] {
            let kinds = [
                StreamKind::Trade,
                StreamKind::AggTrade,
                StreamKind::BookTicker,
            ];
            for kind in kinds {
                let mut next_first = None;
                for (index, payload) in payloads(kind, futures, false).iter().enumerate() {
                    let expected = index as u64 + 1;
                    match parse_event(kind, payload).unwrap() {
                        Event::Trade(trade) => assert_eq!(trade.trade_id, expected),
                        Event::AggTrade(agg) => {
                            assert_eq!(agg.agg_trade_id, expected);
                            if let Some(first) = next_first {
                                assert_eq!(agg.first_trade_id, first, "{payload}");
                            }
                            next_first = Some(agg.last_trade_id + 1);
                        }
                        Event::BookTicker(ticker) => assert_eq!(ticker.update_id, expected),
                        _ => unreachable!("only the kinds above are generated"),
                    }
                }
            }
        }
    }

    /// The keys of a JSON object in order, nested objects included.
    #[derive(Debug, PartialEq, Eq)]
    struct Shape(Vec<(String, Option<Shape>)>);

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Node {
        Object(Shape),
        Other(IgnoredAny),
    }

    impl<'de> Deserialize<'de> for Shape {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Keys;
            impl<'de> Visitor<'de> for Keys {
                type Value = Shape;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, node)) = map.next_entry::<String, Node>()? {
                        let nested = match node {
                            Node::Object(shape) => Some(shape),
                            Node::Other(_) => None,
                        };
                        keys.push((key, nested));
                    }
                    Ok(Shape(keys))
                }
            }
            deserializer.deserialize_map(Keys)
        }
    }

    fn shape(json: &str) -> Shape {
        serde_json::from_str(json).unwrap_or_else(|error| panic!("{error}: {json}"))
    }

    fn fixture(name: &str) -> String {
        let path = format!("{}/{name}.json", binance_streams::FIXTURES_DIR);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// The fixture whose field set and order `kind` must match; `None` for the futures
    /// ticker, which has no fixture (checked against spot's minus its spot-only fields).
    fn fixture_of(kind: StreamKind, futures: bool) -> Option<&'static str> {
        Some(match (kind, futures) {
            (StreamKind::Trade, _) => "trade",
            (StreamKind::AggTrade, false) => "aggTrade",
            (StreamKind::AggTrade, true) => "futures_aggTrade",
            (StreamKind::BookTicker, false) => "bookTicker",
            (StreamKind::BookTicker, true) => "futures_bookTicker",
            (StreamKind::Depth(_), false) => "depthUpdate",
            (StreamKind::Depth(_), true) => "futures_depthUpdate",
            (StreamKind::PartialDepth(..), false) => "partialDepth5",
            (StreamKind::PartialDepth(..), true) => "futures_partialDepth5",
            (StreamKind::Kline(_), _) => "kline_1m",
            (StreamKind::MiniTicker, _) => "24hrMiniTicker",
            (StreamKind::Ticker, false) => "24hrTicker",
            (StreamKind::Ticker, true) => return None,
            (StreamKind::WindowTicker(_), _) => "1hTicker",
            (StreamKind::AvgPrice, _) => "avgPrice",
            (StreamKind::MarkPrice(_), _) => "futures_markPriceUpdate",
            (StreamKind::ForceOrder, _) => "futures_forceOrder",
        })
    }

    #[test]
    fn field_sets_and_order_match_the_fixtures() {
        for futures in [false, true] {
            for kind in every_kind() {
                let expected = match fixture_of(kind, futures) {
                    Some(name) => shape(&fixture(name)),
                    None => {
                        let Shape(keys) = shape(&fixture("24hrTicker"));
                        let spot_only = ["x", "b", "B", "a", "A"];
                        Shape(
                            keys.into_iter()
                                .filter(|(key, _)| !spot_only.contains(&key.as_str()))
                                .collect(),
                        )
                    }
                };
                for payload in payloads(kind, futures, false).iter().take(50) {
                    assert_eq!(
                        shape(payload),
                        expected,
                        "{kind} futures={futures}: {payload}"
                    );
                }
            }
        }
    }

    #[test]
    fn stand_ins_for_forgotten_ids_keep_the_flavor() {
        let feed = Feed::new("ethusdt", StreamKind::Depth(UpdateSpeed::Fast), 1).futures(true);
        let mut log = StreamLog::from_feed(feed);
        let mut scratch = String::new();
        let newest = LOG_CAPACITY as u64 + 10;
        log.payload(newest, START_MS, &mut scratch);
        let forgotten = log.payload(1, START_MS, &mut scratch);
        assert!(forgotten.contains(r#""pu":"#), "{}", forgotten.as_str());
        assert_eq!(
            log.payload(newest, START_MS, &mut scratch),
            log.payload(newest, 0, &mut scratch)
        );
    }

    #[test]
    fn prices_stay_near_the_reference() {
        let mut feed = Feed::new("BTCUSDT", StreamKind::Trade, 1);
        let mut payload = String::new();
        for _ in 0..100_000 {
            feed.next_payload(&mut payload, 0);
        }
        let price = feed.price as f64 / UNITS_PER_WHOLE as f64;
        assert!((90_000.0..104_000.0).contains(&price), "{price}");
    }
}
