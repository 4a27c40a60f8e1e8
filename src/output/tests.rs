//! Output lines byte for byte: every kind's JSON and pretty line against the golden file
//! recorded before the models took over the output (`tests/golden/lines.tsv`).

use super::*;
use binance_streams::StreamKind;
use binance_streams::parse_event;

fn line(kind: StreamKind, format: OutputFormat, payload: &str) -> String {
    let event = parse_event(kind, payload).unwrap();
    let mut out = b"previous line\n".to_vec();
    write_line(
        &mut out,
        format,
        &LineHead::new("ETHUSDT", &kind.name()),
        &event,
        payload,
        1732500000126543,
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn trade_line_byte_for_byte() {
    let payload = r#"{"e":"trade","E":1732500000125,"s":"ETHUSDT","t":123,"p":"3010.55","q":"0.0431","T":1732500000123,"m":true,"M":true}"#;
    assert_eq!(
        line(StreamKind::Trade, OutputFormat::Json, payload),
        "previous line\n{\"symbol\":\"ETHUSDT\",\"stream\":\"trade\",\"trade_id\":123,\"price\":\"3010.55\",\"qty\":\"0.0431\",\"buyer_maker\":true,\"trade_time\":1732500000123,\"event_time\":1732500000125,\"recv_time_us\":1732500000126543}\n"
    );
}

#[test]
fn agg_trade_line_byte_for_byte() {
    let payload = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;
    assert_eq!(
        line(StreamKind::AggTrade, OutputFormat::Json, payload),
        "previous line\n{\"symbol\":\"ETHUSDT\",\"stream\":\"aggTrade\",\"agg_trade_id\":12345,\"price\":\"0.001\",\"qty\":\"100\",\"first_trade_id\":100,\"last_trade_id\":105,\"buyer_maker\":true,\"trade_time\":1672515782136,\"event_time\":1672515782136,\"recv_time_us\":1732500000126543}\n"
    );
}

#[test]
fn book_ticker_line_byte_for_byte() {
    let payload = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
    assert_eq!(
        line(StreamKind::BookTicker, OutputFormat::Json, payload),
        "previous line\n{\"symbol\":\"ETHUSDT\",\"stream\":\"bookTicker\",\"update_id\":400900217,\"bid_price\":\"25.35190000\",\"bid_qty\":\"31.21000000\",\"ask_price\":\"25.36520000\",\"ask_qty\":\"40.66000000\",\"recv_time_us\":1732500000126543}\n"
    );
}

fn fixture(name: &str) -> String {
    let path = format!("{}/{name}", binance_streams::FIXTURES_DIR);
    std::fs::read_to_string(path).unwrap().trim_end().to_owned()
}

fn json_line(kind: &str, file: &str) -> serde_json::Value {
    let text = line(kind.parse().unwrap(), OutputFormat::Json, &fixture(file));
    serde_json::from_str(text.lines().nth(1).unwrap()).unwrap()
}

#[test]
fn depth_lines_pass_levels_through_and_name_the_stream() {
    let text = line(
        "depth@100ms".parse().unwrap(),
        OutputFormat::Json,
        &fixture("futures_depthUpdate.json"),
    );
    assert_eq!(
        text.lines().nth(1).unwrap(),
        r#"{"symbol":"ETHUSDT","stream":"depth@100ms","event_time":123456789,"transaction_time":123456788,"first_update_id":157,"final_update_id":160,"prev_final_update_id":149,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]],"recv_time_us":1732500000126543}"#
    );
    let spot = json_line("depth5", "partialDepth5.json");
    assert_eq!(spot["last_update_id"], 160);
    assert_eq!(spot["bids"][0][0], "0.0024");
    let futures = json_line("depth5", "futures_partialDepth5.json");
    assert_eq!(futures["last_update_id"], 390497878);
    assert_eq!(futures["asks"].as_array().map(Vec::len), Some(5));
}

#[test]
fn kline_ticker_and_futures_lines() {
    let kline = json_line("kline_1m", "kline_1m.json");
    assert_eq!(kline["stream"], "kline_1m");
    assert_eq!(
        (
            kline["open"].as_str(),
            kline["close"].as_str(),
            kline["closed"].as_bool()
        ),
        (Some("0.0010"), Some("0.0020"), Some(false))
    );
    assert_eq!(kline["taker_buy_quote_volume"], "0.500");
    let ticker = json_line("ticker", "24hrTicker.json");
    assert_eq!(ticker["best_bid_price"], "0.0024");
    assert_eq!(ticker["trades"], 18151);
    let hour = json_line("ticker_1h", "1hTicker.json");
    assert!(hour.get("best_bid_price").is_none());
    assert_eq!(hour["stream"], "ticker_1h");
    let mark = json_line("markPrice", "coinm_markPriceUpdate.json");
    assert!(mark["funding_rate"].is_null() && mark["next_funding_time"].is_null());
    assert_eq!(mark["mark_price"], "10934.62615417");
    let force = json_line("forceOrder", "futures_forceOrder.json");
    assert_eq!(
        (force["side"].as_str(), force["status"].as_str()),
        (Some("SELL"), Some("FILLED"))
    );
    let avg = json_line("avgPrice", "avgPrice.json");
    assert_eq!(avg["avg_price"], "25776.86000000");
}

#[test]
fn raw_is_the_payload_verbatim() {
    let payload = r#"{"u":1, "s":"X","b":"1","B":"2","a":"3","A":"4"}"#;
    assert_eq!(
        line(StreamKind::BookTicker, OutputFormat::Raw, payload),
        format!("previous line\n{payload}\n")
    );
}

#[test]
fn formats_parse_and_name_the_accepted_values() {
    assert_eq!("RAW".parse(), Ok(OutputFormat::Raw));
    assert_eq!(
        "xml".parse::<OutputFormat>().unwrap_err(),
        "unknown output format 'xml': expected json, raw or pretty"
    );
}

/// Every line of `tests/golden/lines.tsv` (kind, format, payload, line), written again.
///
/// After a deliberate change to the output, `UPDATE_GOLDEN=1 cargo test --lib golden`
/// rewrites the file with today's lines, for the diff to be reviewed and committed.
#[test]
fn every_golden_line_is_written_byte_for_byte() {
    let golden = include_str!("../../tests/golden/lines.tsv");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut updated = String::new();
    let mut checked = 0;
    for record in golden.split_inclusive('\n') {
        let mut fields = record.splitn(4, '\t');
        let (Some(kind), Some(format), Some(payload), Some(expected)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            panic!("malformed golden record: {record}");
        };
        let format = match format {
            "json" => OutputFormat::Json,
            "colour" => OutputFormat::Pretty {
                colour: true,
                width: None,
            },
            other => panic!("unknown format {other}"),
        };
        let kind: StreamKind = kind.parse().unwrap();
        let event = parse_event(kind, payload).unwrap();
        let mut out = Vec::new();
        write_line(
            &mut out,
            format,
            &LineHead::new("BTCUSDT", &kind.name()),
            &event,
            payload,
            1732500000126543,
        );
        let written = String::from_utf8(out).unwrap();
        if update {
            let head = &record[..record.len() - expected.len()];
            updated.push_str(head);
            updated.push_str(&written);
        } else {
            assert_eq!(written, expected, "{kind} {format:?} {payload}");
        }
        checked += 1;
    }
    assert!(checked > 300, "only {checked} golden lines");
    if update {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/lines.tsv");
        std::fs::write(path, updated).unwrap();
    }
}
