//! Every fixture in `fixtures/` parses as its kind, with the fields checked;
//! non-events are classified.

use std::borrow::Cow;

use super::*;
use crate::FIXTURES_DIR as FIXTURES;
use crate::kind::UpdateSpeed;

/// A fixture's text; leaked so events borrowing it can outlive the statement.
fn fixture(name: &str) -> &'static str {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|error| panic!("fixture {name}: {error}"));
    Box::leak(text.trim_end().to_owned().into_boxed_str())
}

fn kind(name: &str) -> StreamKind {
    name.parse().unwrap()
}

fn parsed(kind_name: &str, file: &str) -> Event<'static> {
    parse_event(kind(kind_name), fixture(file))
        .unwrap_or_else(|error| panic!("{file} as {kind_name}: {error}"))
}

#[test]
fn spot_trade_keeps_exact_strings_and_borrows_them() {
    let Event::Trade(trade) = parsed("trade", "trade.json") else {
        panic!()
    };
    assert_eq!(
        (trade.trade_id, trade.event_time, trade.trade_time),
        (12345, 1672515782136, 1672515782136)
    );
    assert_eq!((trade.price.as_ref(), trade.qty.as_ref()), ("0.001", "100"));
    assert!(trade.buyer_maker);
    assert_eq!(trade.buyer_order_id, None);
    assert!(matches!(trade.price, Cow::Borrowed(_)), "price was copied");
}

#[test]
fn legacy_trade_carries_order_ids() {
    let Event::Trade(trade) = parsed("trade", "trade_legacy_with_order_ids.json") else {
        panic!()
    };
    assert_eq!(
        (trade.buyer_order_id, trade.seller_order_id),
        (Some(88), Some(50))
    );
}

#[test]
fn agg_trades_parse_on_spot_and_futures() {
    let Event::AggTrade(spot) = parsed("aggTrade", "aggTrade.json") else {
        panic!()
    };
    assert_eq!(
        (spot.agg_trade_id, spot.first_trade_id, spot.last_trade_id),
        (12345, 100, 105)
    );
    assert_eq!(spot.normal_qty, None);
    let Event::AggTrade(futures) = parsed("aggTrade", "futures_aggTrade.json") else {
        panic!()
    };
    assert_eq!(futures.normal_qty.as_deref(), Some("100"));
    assert_eq!(futures.agg_trade_id, 5933014);
}

#[test]
fn book_tickers_parse_with_and_without_event_fields() {
    let Event::BookTicker(spot) = parsed("bookTicker", "bookTicker.json") else {
        panic!()
    };
    assert_eq!(spot.update_id, 400900217);
    assert_eq!(
        (spot.bid_price.as_ref(), spot.ask_qty.as_ref()),
        ("25.35190000", "40.66000000")
    );
    assert_eq!(spot.event_time, None);
    let Event::BookTicker(futures) = parsed("bookTicker", "futures_bookTicker.json") else {
        panic!()
    };
    assert_eq!(
        (futures.event_time, futures.transaction_time),
        (Some(1568014460893), Some(1568014460891))
    );
}

#[test]
fn depth_updates_parse_on_spot_usdm_and_coinm() {
    let Event::Depth(spot) = parsed("depth", "depthUpdate.json") else {
        panic!()
    };
    assert_eq!(
        (
            spot.first_update_id,
            spot.final_update_id,
            spot.prev_final_update_id
        ),
        (157, 160, None)
    );
    assert_eq!(spot.bids.get(), r#"[["0.0024","10"]]"#);
    assert_eq!(spot.asks.get(), r#"[["0.0026","100"]]"#);
    let Event::Depth(futures) = parsed("depth@100ms", "futures_depthUpdate.json") else {
        panic!()
    };
    assert_eq!(futures.prev_final_update_id, Some(149));
    assert_eq!(futures.transaction_time, Some(123456788));
    let Event::Depth(coinm) = parsed("depth", "coinm_depthUpdate.json") else {
        panic!()
    };
    assert_eq!(coinm.pair.as_deref(), Some("BTCUSD"));
}

#[test]
fn coinm_depth_with_no_known_predecessor_parses_and_starts_a_chain() {
    let payload = fixture("coinm_depthUpdate_pu_minus_one.json");
    for kind_name in ["depth", "depth@100ms", "depth@500ms"] {
        let Event::Depth(depth) = parsed(kind_name, "coinm_depthUpdate_pu_minus_one.json") else {
            panic!()
        };
        assert_eq!(depth.prev_final_update_id, Some(-1));
        // No predecessor: not a link to check, only an id that must be new.
        assert_eq!(
            depth.sequence(),
            Some(SequencePoint::increasing(17285702)),
            "{kind_name}"
        );
        let body = serde_json::to_string(&depth).unwrap();
        assert!(body.contains(r#""prev_final_update_id":-1,"#), "{body}");
    }
    // Futures partial depth has the same fields; the -1 passes through there too.
    let Event::PartialDepth(partial) = parse_event(kind("depth5"), payload).unwrap() else {
        panic!()
    };
    assert_eq!(partial.prev_final_update_id, Some(-1));
    let body = serde_json::to_string(&partial).unwrap();
    assert!(body.contains(r#""prev_final_update_id":-1,"#), "{body}");
}

#[test]
fn a_bad_field_of_the_expected_event_names_the_field_never_another_event() {
    // Each kind's own `e` with one integer field made impossible (negative where only
    // non-negative values exist, or text): the shape is wrong, the event is not.
    let cases = [
        (
            "trade",
            "trade.json",
            r#""t":12345"#,
            r#""t":-5"#,
            "field 't'",
        ),
        (
            "aggTrade",
            "aggTrade.json",
            r#""a":12345"#,
            r#""a":"x""#,
            "field 'a'",
        ),
        (
            "depth",
            "coinm_depthUpdate.json",
            r#""U":17285681"#,
            r#""U":-2"#,
            "field 'U'",
        ),
        (
            "depth",
            "coinm_depthUpdate.json",
            r#""pu":17285675"#,
            r#""pu":"none""#,
            "field 'pu'",
        ),
        (
            "depth5",
            "futures_partialDepth5.json",
            r#""u":390497878"#,
            r#""u":-1"#,
            "field 'u'",
        ),
        (
            "kline_1m",
            "kline_1m.json",
            r#""n":100"#,
            r#""n":-1"#,
            "field 'k.n'",
        ),
        (
            "ticker",
            "24hrTicker.json",
            r#""n":18151"#,
            r#""n":-1"#,
            "field 'n'",
        ),
        (
            "markPrice",
            "futures_markPriceUpdate.json",
            r#""T":1562306400000"#,
            r#""T":-1"#,
            "field 'T'",
        ),
        (
            "forceOrder",
            "futures_forceOrder.json",
            r#""T":1568014460893"#,
            r#""T":"later""#,
            "field 'o.T'",
        ),
    ];
    for (kind_name, file, good, bad, named) in cases {
        let original = fixture(file);
        assert!(original.contains(good), "{file} lacks {good}");
        let broken = original.replacen(good, bad, 1);
        let error = parse_event(kind(kind_name), &broken).unwrap_err();
        assert_eq!(
            error.kind,
            DataErrorKind::UnexpectedShape,
            "{kind_name}: {error}"
        );
        let shown = error.to_string();
        assert!(
            shown.starts_with(&format!("unexpected payload shape: {named}: ")),
            "{kind_name}: {shown}"
        );
    }
}

#[test]
fn a_bad_field_on_a_combined_connection_is_a_shape_error_too() {
    let symbol: Symbol = "BTCUSD_200626".parse().unwrap();
    let decoder = Decoder::new(
        &symbol,
        &[StreamKind::Trade, StreamKind::Depth(UpdateSpeed::Fast)],
    );
    let data = fixture("coinm_depthUpdate.json").replacen(r#""u":17285702"#, r#""u":-7"#, 1);
    let frame = format!(r#"{{"stream":"btcusd_200626@depth@100ms","data":{data}}}"#);
    let error = decoder.decode(&frame).unwrap_err();
    assert_eq!(error.kind, DataErrorKind::UnexpectedShape, "{error}");
    assert!(error.detail.starts_with("field 'u': "), "{error}");
    let minus_one = fixture("coinm_depthUpdate_pu_minus_one.json");
    let frame = format!(r#"{{"stream":"btcusd_200626@depth@100ms","data":{minus_one}}}"#);
    assert!(matches!(decoder.decode(&frame), Ok((1, Event::Depth(_)))));
}

#[test]
fn a_missing_field_is_named_by_serde_alone() {
    let error = parse_event(
        kind("trade"),
        r#"{"e":"trade","E":1,"s":"X","p":"1","q":"1","T":1,"m":true}"#,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "unexpected payload shape: missing field `t` at line 1 column 58"
    );
}

#[test]
fn partial_depth_parses_in_both_shapes() {
    let Event::PartialDepth(spot) = parsed("depth5", "partialDepth5.json") else {
        panic!()
    };
    assert_eq!(spot.update_id(), Some(160));
    assert_eq!(spot.bids().map(RawValue::get), Some(r#"[["0.0024","10"]]"#));
    let Event::PartialDepth(futures) = parsed("depth5", "futures_partialDepth5.json") else {
        panic!()
    };
    assert_eq!(futures.update_id(), Some(390497878));
    assert!(
        futures
            .asks()
            .is_some_and(|asks| asks.get().starts_with(r#"[["7405.96","3.340"]"#))
    );
}

#[test]
fn kline_candle_fields() {
    let Event::Kline(kline) = parsed("kline_1m", "kline_1m.json") else {
        panic!()
    };
    let candle = &kline.candle;
    assert_eq!(
        (candle.open_time, candle.close_time),
        (1672515780000, 1672515839999)
    );
    assert_eq!(candle.interval, "1m");
    assert_eq!(
        (
            candle.open.as_ref(),
            candle.close.as_ref(),
            candle.high.as_ref(),
            candle.low.as_ref()
        ),
        ("0.0010", "0.0020", "0.0025", "0.0015")
    );
    assert_eq!((candle.trades, candle.closed), (100, false));
    assert_eq!(candle.taker_buy_quote_volume, "0.500");
}

#[test]
fn tickers_of_every_window() {
    let Event::MiniTicker(mini) = parsed("miniTicker", "24hrMiniTicker.json") else {
        panic!()
    };
    assert_eq!(
        (mini.close.as_ref(), mini.quote_volume.as_ref()),
        ("0.0025", "18")
    );
    let Event::Ticker(day) = parsed("ticker", "24hrTicker.json") else {
        panic!()
    };
    assert_eq!(day.first_trade_price.as_deref(), Some("0.0009"));
    assert_eq!(
        (day.best_bid_price.as_deref(), day.best_ask_qty.as_deref()),
        (Some("0.0024"), Some("100"))
    );
    assert_eq!(
        (day.first_trade_id, day.last_trade_id, day.trades),
        (0, 18150, 18151)
    );
    let Event::Ticker(hour) = parsed("ticker_1h", "1hTicker.json") else {
        panic!()
    };
    assert_eq!(hour.event_type, "1hTicker");
    assert_eq!(hour.last_qty, None);
    assert!(
        parse_event(kind("ticker_4h"), fixture("1hTicker.json")).is_err(),
        "window must match"
    );
}

#[test]
fn avg_price_mark_price_and_liquidations() {
    let Event::AvgPrice(avg) = parsed("avgPrice", "avgPrice.json") else {
        panic!()
    };
    assert_eq!(
        (
            avg.interval.as_ref(),
            avg.avg_price.as_ref(),
            avg.last_trade_time
        ),
        ("5m", "25776.86000000", 1693907032213)
    );
    let Event::MarkPrice(mark) = parsed("markPrice@1s", "futures_markPriceUpdate.json") else {
        panic!()
    };
    assert_eq!(mark.funding_rate.as_deref(), Some("0.00038167"));
    assert_eq!(mark.next_funding_time, Some(1562306400000));
    let Event::MarkPrice(delivery) = parsed("markPrice", "coinm_markPriceUpdate.json") else {
        panic!()
    };
    assert_eq!(
        (delivery.funding_rate.as_deref(), delivery.next_funding_time),
        (Some(""), Some(0))
    );
    let Event::ForceOrder(force) = parsed("forceOrder", "futures_forceOrder.json") else {
        panic!()
    };
    assert_eq!(
        (
            force.order.side.as_ref(),
            force.order.avg_price.as_ref(),
            force.order.trade_time
        ),
        ("SELL", "9910", 1568014460893)
    );
}

#[test]
fn sequences_follow_each_kinds_rule() {
    let point = |kind_name: &str, file: &str| parsed(kind_name, file).sequence().unwrap();
    assert_eq!(
        point("trade", "trade.json"),
        SequencePoint {
            id: 12345,
            first: Some(12345),
            prev: None
        }
    );
    assert_eq!(
        point("depth", "depthUpdate.json"),
        SequencePoint {
            id: 160,
            first: Some(157),
            prev: None
        }
    );
    assert_eq!(
        point("depth", "futures_depthUpdate.json"),
        SequencePoint {
            id: 160,
            first: None,
            prev: Some(149)
        }
    );
    assert_eq!(
        point("bookTicker", "bookTicker.json"),
        SequencePoint {
            id: 400900217,
            first: None,
            prev: None
        }
    );
    assert_eq!(point("kline_1m", "kline_1m.json").id, 1672515782136);
    assert_eq!(
        point("depth", "coinm_depthUpdate_pu_minus_one.json"),
        SequencePoint::increasing(17285702)
    );
}

#[test]
fn combined_frames_are_unwrapped_and_dispatched_by_stream_name() {
    let symbol: Symbol = "BNBBTC".parse().unwrap();
    let decoder = Decoder::new(&symbol, &[StreamKind::BookTicker, StreamKind::Trade]);
    let (index, event) = decoder.decode(fixture("combined_trade.json")).unwrap();
    assert_eq!(index, 1);
    assert!(matches!(event, Event::Trade(trade) if trade.trade_id == 12345));
    let other = Decoder::new(
        &symbol,
        &[StreamKind::BookTicker, StreamKind::Depth(UpdateSpeed::Fast)],
    );
    let error = other.decode(fixture("combined_trade.json")).unwrap_err();
    assert_eq!(error.kind, DataErrorKind::UnexpectedEvent);
    let error = other
        .decode(fixture("extra/combined_serverShutdown.json"))
        .unwrap_err();
    assert_eq!(error.kind, DataErrorKind::UnexpectedEvent);
    assert_eq!(
        other
            .decode(fixture("error_response_wrapped.json"))
            .unwrap_err()
            .kind,
        DataErrorKind::ExchangeError
    );
}

#[test]
fn a_single_kind_reads_raw_payloads() {
    let symbol: Symbol = "BNBBTC".parse().unwrap();
    let decoder = Decoder::new(&symbol, &[StreamKind::Trade]);
    assert!(matches!(
        decoder.decode(fixture("trade.json")),
        Ok((0, Event::Trade(_)))
    ));
    assert_eq!(
        decoder
            .decode(fixture("combined_trade.json"))
            .unwrap_err()
            .kind,
        DataErrorKind::UnexpectedShape
    );
}

#[test]
fn non_events_are_classified() {
    let kind_of = |payload: &str| parse_event(StreamKind::Trade, payload).unwrap_err().kind;
    assert_eq!(kind_of("not json"), DataErrorKind::InvalidJson);
    assert_eq!(kind_of("{\"e\":\"trade\""), DataErrorKind::InvalidJson);
    assert_eq!(
        kind_of(fixture("error_response.json")),
        DataErrorKind::ExchangeError
    );
    assert_eq!(
        kind_of(fixture("error_response_wrapped.json")),
        DataErrorKind::ExchangeError
    );
    assert_eq!(
        kind_of(fixture("extra/error_too_many_subscriptions.json")),
        DataErrorKind::ExchangeError
    );
    assert_eq!(
        kind_of(fixture("subscribe_response.json")),
        DataErrorKind::ControlResponse
    );
    assert_eq!(
        kind_of(fixture("serverShutdown.json")),
        DataErrorKind::UnexpectedEvent
    );
    assert_eq!(
        kind_of(fixture("aggTrade.json")),
        DataErrorKind::UnexpectedEvent
    );
    assert_eq!(
        kind_of(fixture("extra/blockTrade.json")),
        DataErrorKind::UnexpectedEvent
    );
    assert_eq!(kind_of("[1,2]"), DataErrorKind::UnexpectedShape);
    // A trade whose price is a number is a trade with a bad field, not another event.
    assert_eq!(
        kind_of(r#"{"e":"trade","E":1,"s":"X","t":1,"p":1.5,"q":"1","T":1,"m":true}"#),
        DataErrorKind::UnexpectedShape
    );
    let wrapped =
        parse_event(StreamKind::Trade, fixture("error_response_wrapped.json")).unwrap_err();
    assert_eq!(wrapped.detail, "code 2: Invalid request: invalid stream");
    let depth = parse_event(
        kind("depth"),
        r#"{"e":"depthUpdate","E":1,"s":"X","U":1,"u":2,"b":"x","a":[]}"#,
    )
    .unwrap_err();
    assert_eq!(depth.kind, DataErrorKind::UnexpectedShape);
}

#[test]
fn every_top_level_fixture_parses_as_some_kind() {
    let mut unparsed = Vec::new();
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let text = fixture(&name);
        let control = [
            "error_response",
            "subscribe_",
            "serverShutdown",
            "combined_",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        let kinds = [
            "trade",
            "aggTrade",
            "bookTicker",
            "depth",
            "depth5",
            "kline_1m",
            "miniTicker",
            "ticker",
            "ticker_1h",
            "avgPrice",
            "markPrice",
            "forceOrder",
        ];
        let any = kinds.iter().any(|k| parse_event(kind(k), text).is_ok());
        if !any && !control {
            unparsed.push(name);
        }
    }
    assert!(unparsed.is_empty(), "fixtures no kind parses: {unparsed:?}");
}
