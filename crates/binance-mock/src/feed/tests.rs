//! Every kind's payloads: parseable, in sequence, consistent, shaped like the fixtures.

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use super::summaries::window_length;
use super::*;
use crate::Chain;
use binance_streams::{Event, Payload, UpdateSpeed, parse_event};
use binance_streams::{KLINE_INTERVALS, TICKER_WINDOWS};

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
    // Deletions (qty 0) may lie across: a new best bid deletes the asks it reaches.
    let live = |levels: &[(u64, u64)]| levels.iter().find(|level| level.1 > 0).copied();
    if let (Some(bid), Some(ask)) = (live(bids), live(asks)) {
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
        (StreamKind::Depth(_) | StreamKind::Book, false) => "depthUpdate",
        (StreamKind::Depth(_) | StreamKind::Book, true) => "futures_depthUpdate",
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
fn coin_futures_depth_events_carry_the_pair_in_the_fixtures_order() {
    let expected = shape(&fixture("coinm_depthUpdate"));
    for kind in [
        StreamKind::Depth(UpdateSpeed::Fast),
        StreamKind::PartialDepth(5, UpdateSpeed::Standard),
    ] {
        let mut feed = Feed::new("btcusd_perp", kind, 1).coin_futures(true);
        let mut check = Chain::default();
        let mut payload = String::new();
        for step in 0..50 {
            feed.next_payload(&mut payload, START_MS + step * 100);
            assert_eq!(shape(&payload), expected, "{kind}: {payload}");
            assert!(payload.contains(r#""s":"BTCUSD_PERP","ps":"BTCUSD","#));
            let event = parse_event(kind, &payload).unwrap();
            assert!(check.next(event.sequence().unwrap()), "{payload}");
        }
        let stand_in = {
            feed.stand_in(3).next_payload(&mut payload, START_MS);
            payload.clone()
        };
        assert!(stand_in.contains(r#""ps":"BTCUSD""#), "{stand_in}");
    }
}
