//! Every stream kind on every market shape, several kinds per symbol over one connection,
//! and the market rules, against the mock (and `--simulate`).

use std::collections::BTreeMap;

use binance_mock::Rate;
use binance_mock::{MockConfig, MockEvent};
use serde_json::Value;

use crate::support::{Exchange, Listener, PATIENCE, run_to_end, summary_count};

const SPOT_KINDS: &str = "trade,aggTrade,bookTicker,depth,depth@100ms,depth5,depth10@100ms,depth20,kline_1s,kline_1m,kline_1M,miniTicker,ticker,ticker_1h,ticker_4h,ticker_1d,avgPrice";
const FUTURES_MARKET_KINDS: &str =
    "aggTrade,markPrice,markPrice@1s,forceOrder,kline_1m,miniTicker,ticker";
const FUTURES_BOOK_KINDS: &str = "bookTicker,depth,depth@500ms,depth5@100ms";

/// The fields every line of `stream` must carry (besides symbol, stream, recv_time_us).
fn required_fields(stream: &str, futures: bool) -> Vec<&'static str> {
    let mut fields: Vec<&str> = match stream {
        "trade" => vec![
            "trade_id",
            "price",
            "qty",
            "buyer_maker",
            "trade_time",
            "event_time",
        ],
        "aggTrade" => vec![
            "agg_trade_id",
            "price",
            "qty",
            "first_trade_id",
            "last_trade_id",
            "buyer_maker",
            "trade_time",
            "event_time",
        ],
        "bookTicker" => vec!["update_id", "bid_price", "bid_qty", "ask_price", "ask_qty"],
        s if s.starts_with("depth") && s[5..].starts_with(char::is_numeric) => {
            vec!["last_update_id", "bids", "asks"]
        }
        s if s.starts_with("depth") => vec![
            "event_time",
            "first_update_id",
            "final_update_id",
            "bids",
            "asks",
        ],
        s if s.starts_with("kline_") => vec![
            "event_time",
            "interval",
            "open_time",
            "close_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "quote_volume",
            "trades",
            "taker_buy_volume",
            "taker_buy_quote_volume",
            "closed",
        ],
        "miniTicker" => vec![
            "event_time",
            "open",
            "high",
            "low",
            "close",
            "volume",
            "quote_volume",
        ],
        s if s.starts_with("ticker") => vec![
            "event_time",
            "price_change",
            "price_change_percent",
            "weighted_avg_price",
            "last_price",
            "open",
            "high",
            "low",
            "volume",
            "quote_volume",
            "open_time",
            "close_time",
            "first_trade_id",
            "last_trade_id",
            "trades",
        ],
        "avgPrice" => vec!["event_time", "interval", "avg_price", "last_trade_time"],
        s if s.starts_with("markPrice") => vec![
            "event_time",
            "mark_price",
            "index_price",
            "estimated_settle_price",
            "funding_rate",
            "next_funding_time",
        ],
        "forceOrder" => vec![
            "event_time",
            "side",
            "order_type",
            "time_in_force",
            "qty",
            "price",
            "avg_price",
            "status",
            "last_filled_qty",
            "filled_qty",
            "trade_time",
        ],
        other => panic!("no schema for {other}"),
    };
    if futures {
        match stream {
            "aggTrade" => fields.push("normal_qty"),
            "bookTicker" => fields.extend(["event_time", "transaction_time"]),
            s if s.starts_with("depth") => {
                fields.extend(["transaction_time", "prev_final_update_id"])
            }
            _ => {}
        }
    }
    fields
}

/// Checks one line against its stream's schema: fields present, decimals as strings.
fn check_line(line: &str, futures: bool) -> String {
    let value: Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}"));
    assert_eq!(value["symbol"], "ETHUSDT", "{line}");
    assert!(value["recv_time_us"].is_u64(), "{line}");
    let stream = value["stream"].as_str().expect("stream").to_owned();
    for field in required_fields(&stream, futures) {
        assert!(
            value.get(field).is_some(),
            "{stream} line without {field}: {line}"
        );
    }
    for decimal in [
        "price",
        "qty",
        "bid_price",
        "ask_price",
        "open",
        "close",
        "mark_price",
        "last_price",
    ] {
        if let Some(text) = value.get(decimal) {
            assert!(
                text.is_string(),
                "{decimal} must be an exact decimal string: {line}"
            );
        }
    }
    if let Some(bids) = value.get("bids") {
        assert!(
            bids.as_array()
                .is_some_and(|levels| levels.iter().all(|level| level[0].is_string())),
            "{line}"
        );
    }
    stream
}

/// Reads lines until every stream in `kinds` has delivered `per_stream` of them.
fn lines_per_stream(
    listener: &Listener,
    kinds: &str,
    per_stream: usize,
    futures: bool,
) -> BTreeMap<String, usize> {
    let wanted: Vec<&str> = kinds.split(',').collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    while wanted
        .iter()
        .any(|kind| seen.get(*kind).copied().unwrap_or(0) < per_stream)
    {
        let stream = check_line(&listener.expect_line(), futures);
        assert!(
            wanted.contains(&stream.as_str()),
            "unexpected stream {stream}"
        );
        *seen.entry(stream).or_default() += 1;
    }
    seen
}

fn stop(mut listener: Listener) -> String {
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    listener.full_stderr()
}

#[test]
fn every_spot_kind_over_one_combined_connection() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(100.0)));
    let listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--stream",
        SPOT_KINDS,
        "ETHUSDT",
    ]);
    lines_per_stream(&listener, SPOT_KINDS, 3, false);
    let stderr = stop(listener);
    for field in ["gaps", "duplicates", "skipped"] {
        assert_eq!(
            summary_count(&stderr, "ETHUSDT", field),
            0,
            "{field}: {stderr}"
        );
    }
    let path = match exchange.expect_event("the connection", |event| {
        matches!(event, MockEvent::Connected { .. })
    }) {
        MockEvent::Connected { path, .. } => path,
        _ => unreachable!(),
    };
    let expected: Vec<String> = SPOT_KINDS
        .split(',')
        .map(|kind| format!("ethusdt@{kind}"))
        .collect();
    assert_eq!(path, format!("/stream?streams={}", expected.join("/")));
    assert_eq!(
        exchange.connections_left_in_events(),
        0,
        "one connection for every kind"
    );
}

#[test]
fn a_trade_and_book_ticker_pair_uses_one_connection() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--stream",
        "trade",
        "--stream",
        "bookTicker",
        "ETHUSDT",
    ]);
    lines_per_stream(&listener, "trade,bookTicker", 5, false);
    stop(listener);
    assert_eq!(exchange.connections_left_in_events(), 1);
}

#[test]
fn futures_shapes_for_every_futures_kind() {
    for kinds in [FUTURES_MARKET_KINDS, FUTURES_BOOK_KINDS] {
        let exchange =
            Exchange::start(MockConfig::new().rate(Rate::PerSecond(100.0)).futures(true));
        let listener = Listener::start(&[
            "--market",
            "futures",
            "--endpoint",
            &exchange.url(),
            "--stream",
            kinds,
            "ETHUSDT",
        ]);
        lines_per_stream(&listener, kinds, 3, true);
        let stderr = stop(listener);
        assert_eq!(summary_count(&stderr, "ETHUSDT", "gaps"), 0, "{stderr}");
        assert_eq!(summary_count(&stderr, "ETHUSDT", "skipped"), 0, "{stderr}");
    }
}

#[test]
fn simulate_serves_every_kind_on_spot_and_futures() {
    let listener = Listener::start(&["--simulate", "--stream", SPOT_KINDS, "ETHUSDT"]);
    lines_per_stream(&listener, SPOT_KINDS, 1, false);
    stop(listener);
    let listener = Listener::start(&[
        "--simulate",
        "--market",
        "coin-futures",
        "--stream",
        FUTURES_MARKET_KINDS,
        "ETHUSDT",
    ]);
    lines_per_stream(&listener, FUTURES_MARKET_KINDS, 1, true);
    stop(listener);
}

#[test]
fn markets_refuse_kinds_they_do_not_offer() {
    for (args, needles) in [
        (
            &["--market", "futures", "--stream", "avgPrice"][..],
            &["'avgPrice'", "futures market"][..],
        ),
        (&["--stream", "markPrice"], &["'markPrice'", "spot market"]),
        (
            &["--market", "coin-futures", "--stream", "kline_1s"],
            &["'kline_1s'", "coin-futures"],
        ),
        (
            &["--market", "us", "--stream", "forceOrder"],
            &["'forceOrder'", "us market"],
        ),
        (
            &["--market", "futures", "--stream", "depth,aggTrade"],
            &["/public", "/market", "cannot share a connection"],
        ),
        (&["--stream", "kline_2m"], &["'kline_2m'", "1s 1m 3m"]),
    ] {
        let mut all = args.to_vec();
        all.push("ETHUSDT");
        let (status, _, stderr) = run_to_end(&all);
        assert_eq!(status.code(), Some(2), "{all:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{all:?}: {stderr} lacks {needle}");
        }
    }
}
