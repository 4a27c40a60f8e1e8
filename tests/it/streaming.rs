//! Lines on stdout: every id once and in order, each kind's schema, raw output, symbol
//! handling, overflow policies, and `--simulate`.

use binance_mock::Rate;
use binance_mock::{MockConfig, MockEvent};

use crate::support::{
    AggTradeLine, BookTickerLine, Exchange, Listener, PATIENCE, assert_ids_in_order,
    assert_summary_adds_up, run_to_end, summary_count, trade,
};

#[test]
fn every_id_is_delivered_once_and_in_order_per_symbol() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(2000.0)).count(500));
    let url = exchange.url();
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &url,
        "--max-messages",
        "500",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    assert!(status.success(), "{status}; stderr:\n{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT", "BNBUSDT"], 500);
    for symbol in ["ETHUSDT", "BNBUSDT"] {
        assert_eq!(summary_count(&stderr, symbol, "written"), 500, "{stderr}");
        assert_eq!(summary_count(&stderr, symbol, "dropped"), 0, "{stderr}");
    }
}

#[test]
fn trade_lines_keep_exact_decimal_strings() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(3));
    let (status, stdout, _) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "3",
        "ethusdt",
    ]);
    assert!(status.success());
    for line in stdout.lines() {
        let trade = trade(line);
        assert_eq!(
            (trade.symbol.as_str(), trade.stream.as_str()),
            ("ETHUSDT", "trade")
        );
        // The mock sends Binance's 8-decimal strings; they must come through untouched.
        assert_eq!(
            trade.price.split('.').nth(1).map(str::len),
            Some(8),
            "{line}"
        );
        assert!(trade.recv_time_us / 1000 >= trade.event_time, "{line}");
        assert!(trade.trade_time <= trade.event_time, "{line}");
    }
}

/// Runs `--stream KIND --max-messages 5 SYMBOL` against a fresh mock; returns the lines.
fn five_lines_of(kind: &str, symbol: &str) -> (Vec<String>, Exchange) {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(5));
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--stream",
        kind,
        "--max-messages",
        "5",
        symbol,
    ]);
    assert!(status.success(), "{stderr}");
    (stdout.lines().map(str::to_owned).collect(), exchange)
}

#[test]
fn agg_trade_lines_follow_the_documented_schema() {
    let (lines, exchange) = five_lines_of("aggTrade", "BTCUSDT");
    let ids: Vec<u64> = lines
        .iter()
        .map(|line| {
            let agg: AggTradeLine = serde_json::from_str(line).expect(line);
            assert_eq!(
                (agg.symbol.as_str(), agg.stream.as_str()),
                ("BTCUSDT", "aggTrade")
            );
            assert!(agg.first_trade_id <= agg.last_trade_id);
            agg.agg_trade_id
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
    exchange.expect_event("an aggTrade subscription", |event| {
        matches!(event, MockEvent::Connected { path, .. } if path == "/ws/btcusdt@aggTrade")
    });
}

#[test]
fn book_ticker_lines_follow_the_documented_schema() {
    let (lines, _exchange) = five_lines_of("bookticker", "BNBUSDT");
    let ids: Vec<u64> = lines
        .iter()
        .map(|line| {
            let ticker: BookTickerLine = serde_json::from_str(line).expect(line);
            assert_eq!(ticker.stream, "bookTicker");
            let bid: f64 = ticker.bid_price.parse().unwrap();
            let ask: f64 = ticker.ask_price.parse().unwrap();
            assert!(bid < ask, "{line}");
            ticker.update_id
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5]);
}

#[test]
fn raw_format_writes_payloads_exactly_as_received() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(4));
    let (status, stdout, _) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--format",
        "raw",
        "--max-messages",
        "4",
        "ETHUSDT",
    ]);
    assert!(status.success());
    let ids: Vec<u64> = stdout
        .lines()
        .map(|line| {
            assert!(line.starts_with(r#"{"e":"trade","E":"#), "{line}");
            assert!(line.contains(r#""s":"ETHUSDT""#), "{line}");
            let payload: serde_json::Value = serde_json::from_str(line).expect(line);
            payload["t"].as_u64().expect("t")
        })
        .collect();
    assert_eq!(ids, [1, 2, 3, 4]);
}

#[test]
fn a_repeated_symbol_in_any_case_opens_one_connection() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(3));
    let (status, stdout, _) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "3",
        "ethusdt",
        "ETHUSDT",
        "EthUsdt",
    ]);
    assert!(status.success());
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT"], 3);
    exchange.expect_event(
        "the ETHUSDT connection",
        |event| matches!(event, MockEvent::Connected { path, .. } if path == "/ws/ethusdt@trade"),
    );
    assert_eq!(
        exchange.connections_left_in_events(),
        0,
        "a second connection was opened"
    );
}

#[test]
fn block_overflow_loses_nothing_behind_a_tiny_queue() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(400));
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--queue",
        "2",
        "--overflow",
        "block",
        "--max-messages",
        "400",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT"], 400);
}

#[test]
fn drops_are_counted_reported_and_never_duplicate_lines() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(5000));
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--queue",
        "8",
        "--overflow",
        "drop-newest",
        "--delay",
        "2ms",
        "ETHUSDT",
    ]);
    let report = listener.expect_stderr("queue full");
    assert!(
        report.contains("symbol=ETHUSDT}: queue full (8 frames or "),
        "{report}"
    );
    assert!(report.contains("(drop-newest)"), "{report}");
    let first: Vec<u64> = listener
        .expect_lines(5)
        .iter()
        .map(|line| trade(line).trade_id)
        .collect();
    listener.signal("INT");
    assert!(
        listener
            .expect_exit_within(crate::support::PATIENCE)
            .success()
    );
    let mut ids = first;
    ids.extend(
        listener
            .remaining_lines()
            .iter()
            .map(|line| trade(line).trade_id),
    );
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids not strictly increasing: {ids:?}"
    );
    let stderr = listener.full_stderr();
    assert!(summary_count(&stderr, "ETHUSDT", "dropped") > 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn simulate_prints_lines_with_no_network() {
    let (status, stdout, stderr) =
        run_to_end(&["--simulate", "--max-messages", "3", "ETHUSDT", "BNBUSDT"]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_ids_in_order(&lines, &["ETHUSDT", "BNBUSDT"], 3);
    for line in &lines {
        let price: f64 = trade(line).price.parse().unwrap();
        assert!(price > 0.0, "{line}");
    }
}

#[test]
fn the_simulated_market_has_large_trades_and_time_that_never_goes_back() {
    // The README's "large trades" recipe must print something soon: at 500 trades a second
    // one in 150 is a block of $100,000 or more (above 1 BTC at the simulated price).
    let mut listener = Listener::start(&["--simulate", "--simulate-rate", "500", "BTCUSDT"]);
    let mut last_time = 0;
    let mut largest = 0.0_f64;
    while largest < 1.0 {
        let line = trade(&listener.expect_line());
        assert!(
            line.trade_time >= last_time,
            "trade time went back: {line:?}"
        );
        last_time = line.trade_time;
        largest = largest.max(line.qty.parse().unwrap());
    }
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
}

#[test]
fn pretty_format_is_aligned_and_uncoloured_off_a_terminal() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(5));
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--format",
        "pretty",
        "--max-messages",
        "5",
        "ETHUSDT",
        "BTCUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 10);
    assert!(
        !stdout.contains('\x1b'),
        "colour escapes in a pipe: {stdout:?}"
    );
    for line in &lines {
        assert!(line.contains("trade"), "{line}");
        assert!(line.contains(" BUY ") || line.contains(" SELL "), "{line}");
    }
    // Every line's id column ends at the same place.
    let widths: Vec<usize> = lines.iter().map(|line| line.find('#').unwrap()).collect();
    assert!(
        widths.windows(2).all(|pair| pair[0] == pair[1]),
        "{lines:#?}"
    );
}
