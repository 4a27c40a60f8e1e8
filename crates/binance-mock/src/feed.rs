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
mod summaries;
mod truth;

use std::fmt::Write as _;

use crate::rand::{Rng, hash_str};
use binance_streams::StreamKind;
use book::{BookIds, Ladder, Side, write_levels};
use candle::Candle;
use numbers::{Decimal, UNITS_PER_WHOLE};
use stats::{Quote, Rolling};
pub use truth::{BookTop, TrueBook};

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
    /// COIN-M: futures shapes plus `ps` in depth events.
    coin: bool,
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
    /// The latest `now` and trade/transaction time handed out: neither ever goes back,
    /// even when the system clock does or two connections race.
    last_now: u64,
    last_moment: u64,
    candle: Option<Candle>,
    window: Option<Rolling>,
    /// A smoothed price: `avgPrice`'s average, `markPrice`'s index.
    average: u64,
    /// `markPrice`'s funding rate, in 1e-8.
    funding_rate: i64,
    /// Diff depth: the book its diffs describe, for REST snapshots and tests.
    truth: Option<TrueBook>,
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
            coin: false,
            micros: false,
            next_id: first_id,
            next_trade_id: first_id.saturating_mul(3),
            price,
            tick,
            lot,
            last_event_time: 0,
            last_now: 0,
            last_moment: 0,
            candle: None,
            window: None,
            average: price,
            funding_rate: BASE_FUNDING_RATE,
            truth: None,
        }
        .with_truth(first_id)
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

    /// COIN-M futures shapes: [`Feed::futures`]'s, plus the pair (`ps`, the symbol up to
    /// its `_`) after `s` in depth and partial-depth events, as `coinm_depthUpdate.json`.
    /// `true` implies futures; `false` leaves the futures flag as it was.
    pub fn coin_futures(mut self, coin_futures: bool) -> Self {
        self.coin = coin_futures;
        self.futures |= coin_futures;
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
        let now = now.max(self.last_now);
        self.last_now = now;
        self.step_price();
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        match self.kind {
            StreamKind::Trade => self.write_trade(out, id, now),
            StreamKind::AggTrade => self.write_agg_trade(out, id, now),
            StreamKind::BookTicker => self.write_book_ticker(out, id, now),
            StreamKind::Depth(_) | StreamKind::Book => self.write_depth(out, id, now),
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
    pub(crate) fn stand_in(&self, id: u64) -> Self {
        Self::new(&self.symbol, self.kind, id)
            .futures(self.futures)
            .coin_futures(self.coin)
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

    /// A trade's size as markets show them: most are small, a few are large. The notional
    /// (price × quantity) is log-uniform from $10 to $5,000, and one trade in 150 is a block
    /// of $100,000 to $2,000,000, so the README's "large trades" recipe prints something
    /// within a minute of `--simulate`. At least one lot; a whole number of lots.
    fn trade_qty(&mut self) -> u64 {
        let (low, high): (f64, f64) = if self.rng.below(150) == 0 {
            (100_000.0, 2_000_000.0)
        } else {
            (10.0, 5_000.0)
        };
        let fraction = self.rng.next_f64();
        self.lots_for_notional(low * (high / low).powf(fraction))
    }

    /// The quantity, in whole lots (at least one), worth about `notional` at the price.
    fn lots_for_notional(&self, notional: f64) -> u64 {
        let price = self.price.max(1) as f64 / UNITS_PER_WHOLE as f64;
        let lot = self.lot.max(1) as f64 / UNITS_PER_WHOLE as f64;
        let lots = (notional / price / lot).round();
        // Saturating cast: a huge notional at a tiny price stays a large, finite count.
        self.lot * (lots as u64).max(1)
    }

    /// A transaction or trade time a moment before `now`, as Binance stamps them.
    fn moment_before(&mut self, now: u64) -> u64 {
        let moment = now.saturating_sub(self.rng.below(3)).max(self.last_moment);
        self.last_moment = moment;
        moment
    }

    /// The trades of one event at the walk's price: one to three, with the stream's next
    /// trade ids.
    fn fill(&mut self) -> Fill {
        let count = 1 + self.rng.below(3);
        let first_id = self.next_trade_id;
        self.next_trade_id = self.next_trade_id.saturating_add(count);
        Fill {
            price: self.price,
            qty: self.trade_qty(),
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
        let bid_start = quote.bid.saturating_sub(self.tick * self.rng.below(3));
        let mut bid_levels = self
            .ladder(Side::Bid, bid_start.max(self.tick), bids, 4)
            .levels(&mut self.rng);
        let ask_start = quote.ask + self.tick * self.rng.below(3);
        let mut ask_levels = self
            .ladder(Side::Ask, ask_start, asks, 4)
            .levels(&mut self.rng);
        if let Some(truth) = &mut self.truth {
            truth.settle(&mut bid_levels, &mut ask_levels, self.book.last(id));
        }
        out.push_str(r#""b":"#);
        write_levels(out, &bid_levels);
        out.push_str(r#","a":"#);
        write_levels(out, &ask_levels);
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
    /// `"T","s","U","u","pu"` (COIN-M `"T","s","ps","U","u","pu"`), each followed by a comma.
    fn write_update_ids(&mut self, out: &mut String, id: u64, now: u64) {
        let symbol = &self.symbol;
        let _ = if self.futures {
            let range = self.book.futures(id);
            let time = now.saturating_sub(self.rng.below(3));
            let _ = write!(out, r#""T":{time},"s":"{symbol}","#);
            if self.coin {
                let pair = symbol.split('_').next().unwrap_or(symbol);
                let _ = write!(out, r#""ps":"{pair}","#);
            }
            write!(
                out,
                r#""U":{},"u":{},"pu":{},"#,
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
mod tests;
