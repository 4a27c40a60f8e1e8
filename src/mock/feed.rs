//! The mock's market: one [`Feed`] per stream name (`ethusdt@trade`), shared by every
//! connection to that stream so ids continue across reconnects, with a random-walk price
//! that looks alive. Payloads follow Binance's field sets byte for byte
//! (`tests/fixtures/binance/`), with spot's 8-decimal price strings.

use std::collections::VecDeque;
use std::fmt::Write as _;

use tungstenite::Utf8Bytes;

use crate::rand::{Rng, hash_str};
use crate::spec::StreamKind;

/// Recent payloads kept per stream, so overlapping connections and replays send the same
/// bytes for the same id.
const LOG_CAPACITY: usize = 16_384;

/// Prices and quantities are integers of 1e-8, Binance's finest precision.
const UNITS_PER_WHOLE: u64 = 100_000_000;

/// One stream's state: the next id and where the price is.
#[derive(Debug, Clone)]
pub struct Feed {
    symbol: String,
    kind: StreamKind,
    /// The id the next event carries (trade `t`, aggTrade `a`, bookTicker `u`).
    next_id: u64,
    /// aggTrade only: the next underlying trade id (`f`).
    next_trade_id: u64,
    price: u64,
    tick: u64,
    lot: u64,
    rng: Rng,
}

impl Feed {
    /// A feed for `stream_symbol` (any case) of `kind`, whose first event has id `first_id`.
    pub fn new(stream_symbol: &str, kind: StreamKind, first_id: u64) -> Self {
        let symbol = stream_symbol.to_uppercase();
        let (price, tick, lot) = reference_price(&symbol);
        Self {
            rng: Rng::with_seed(hash_str(&symbol) ^ hash_str(&kind.name())),
            symbol,
            kind,
            next_id: first_id,
            next_trade_id: first_id.saturating_mul(3),
            price,
            tick,
            lot,
        }
    }

    /// The id the next event will carry.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Writes the next event's payload into `out` (cleared first) and advances the feed.
    /// `now` is the event time in the stream's time unit (ms, or µs like Binance's
    /// `timeUnit=MICROSECOND`).
    pub fn next_payload(&mut self, out: &mut String, now: u64) {
        out.clear();
        self.step_price();
        let id = self.next_id;
        self.next_id += 1;
        let symbol = &self.symbol;
        let price = Decimal(self.price);
        let qty = Decimal(self.lot * (1 + self.rng.below(40) * self.rng.below(8)));
        let buyer_maker = self.rng.below(2) == 0;
        let trade_time = now.saturating_sub(self.rng.below(3));
        // Writing to a String cannot fail.
        let _ = match self.kind {
            StreamKind::Trade => write!(
                out,
                r#"{{"e":"trade","E":{now},"s":"{symbol}","t":{id},"p":"{price}","q":"{qty}","T":{trade_time},"m":{buyer_maker},"M":true}}"#
            ),
            StreamKind::AggTrade => {
                let first = self.next_trade_id;
                let last = first + self.rng.below(3);
                self.next_trade_id = last + 1;
                write!(
                    out,
                    r#"{{"e":"aggTrade","E":{now},"s":"{symbol}","a":{id},"p":"{price}","q":"{qty}","f":{first},"l":{last},"T":{trade_time},"m":{buyer_maker},"M":true}}"#
                )
            }
            StreamKind::BookTicker => {
                let spread = self.tick * (1 + self.rng.below(2));
                let bid = Decimal(self.price.saturating_sub(spread / 2).max(self.tick));
                let ask = Decimal(self.price.saturating_sub(spread / 2).max(self.tick) + spread);
                let bid_qty = Decimal(self.lot * (1 + self.rng.below(500)));
                let ask_qty = Decimal(self.lot * (1 + self.rng.below(500)));
                write!(
                    out,
                    r#"{{"u":{id},"s":"{symbol}","b":"{bid}","B":"{bid_qty}","a":"{ask}","A":"{ask_qty}"}}"#
                )
            }
            // Placeholder until every kind has a generator.
            _ => write!(out, r#"{{"e":"unsupported","E":{now}}}"#),
        };
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
    /// A log for `stream_symbol`'s `kind` stream, starting at id 1.
    pub fn new(stream_symbol: &str, kind: StreamKind) -> Self {
        Self {
            feed: Feed::new(stream_symbol, kind, 1),
            log: VecDeque::new(),
            first_logged: 1,
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
        match id.checked_sub(self.first_logged) {
            Some(offset) => self.log[offset as usize].clone(),
            None => {
                let mut stand_in = Feed::new(&self.feed.symbol, self.feed.kind, id);
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

/// An amount in 1e-8 units, printed as Binance prints spot decimals: 8 places.
struct Decimal(u64);

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{:08}",
            self.0 / UNITS_PER_WHOLE,
            self.0 % UNITS_PER_WHOLE
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, parse_event};

    #[test]
    fn every_kind_produces_parseable_payloads_with_consecutive_ids() {
        for kind in [
            StreamKind::Trade,
            StreamKind::AggTrade,
            StreamKind::BookTicker,
        ] {
            let mut feed = Feed::new("ethusdt", kind, 1);
            let mut payload = String::new();
            for expected in 1..=200u64 {
                feed.next_payload(&mut payload, 1_732_500_000_000);
                let id = match parse_event(kind, &payload).unwrap() {
                    Event::Trade(trade) => {
                        assert!(trade.price.ends_with(|c: char| c.is_ascii_digit()));
                        trade.trade_id
                    }
                    Event::AggTrade(agg) => {
                        assert!(agg.first_trade_id <= agg.last_trade_id);
                        agg.agg_trade_id
                    }
                    Event::BookTicker(ticker) => {
                        let bid: f64 = ticker.bid_price.parse().unwrap();
                        let ask: f64 = ticker.ask_price.parse().unwrap();
                        assert!(bid < ask, "{bid} >= {ask}");
                        ticker.update_id
                    }
                    _ => unreachable!("only the kinds above are generated"),
                };
                assert_eq!(id, expected);
            }
        }
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

    #[test]
    fn decimals_print_like_binance() {
        assert_eq!(Decimal(301_055_000_000).to_string(), "3010.55000000");
        assert_eq!(Decimal(1).to_string(), "0.00000001");
    }
}
