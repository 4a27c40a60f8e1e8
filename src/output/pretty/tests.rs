//! Pretty lines: one plain line per event, aligned columns, colour only as escapes.

use super::*;
use binance_streams::StreamKind;
use binance_streams::parse_event;

use binance_streams::FIXTURES_DIR as FIXTURES;
const RECV_TIME_US: u64 = 1_732_500_000_126_543;

/// Every market-data fixture with the stream kind it is read as.
const MARKET_DATA: [(&str, &str); 19] = [
    ("trade", "trade.json"),
    ("trade", "trade_legacy_with_order_ids.json"),
    ("aggTrade", "aggTrade.json"),
    ("aggTrade", "futures_aggTrade.json"),
    ("bookTicker", "bookTicker.json"),
    ("bookTicker", "futures_bookTicker.json"),
    ("depth", "depthUpdate.json"),
    ("depth@100ms", "futures_depthUpdate.json"),
    ("depth", "coinm_depthUpdate.json"),
    ("depth5", "partialDepth5.json"),
    ("depth5", "futures_partialDepth5.json"),
    ("kline_1m", "kline_1m.json"),
    ("miniTicker", "24hrMiniTicker.json"),
    ("ticker", "24hrTicker.json"),
    ("ticker_1h", "1hTicker.json"),
    ("avgPrice", "avgPrice.json"),
    ("markPrice", "futures_markPriceUpdate.json"),
    ("markPrice", "coinm_markPriceUpdate.json"),
    ("forceOrder", "futures_forceOrder.json"),
];

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .unwrap_or_else(|error| panic!("fixture {name}: {error}"))
        .trim_end()
        .to_owned()
}

/// The line for `payload` read as stream `kind_name` of `symbol`.
fn render(symbol: &str, kind_name: &str, payload: &str, colour: bool) -> String {
    render_within(symbol, kind_name, payload, colour, None)
}

/// [`render`] for a terminal `width` columns wide.
fn render_within(
    symbol: &str,
    kind_name: &str,
    payload: &str,
    colour: bool,
    width: Option<u16>,
) -> String {
    let kind: StreamKind = kind_name.parse().unwrap();
    let event = parse_event(kind, payload).unwrap_or_else(|error| panic!("{error}"));
    let mut out = Vec::new();
    let head = LineHead::new(symbol, &kind.name());
    write_pretty(&mut out, &head, &event, RECV_TIME_US, colour, width);
    String::from_utf8(out).unwrap()
}

#[test]
fn a_row_wider_than_the_terminal_is_cut_with_an_ellipsis_colour_or_not() {
    for (kind, file) in MARKET_DATA {
        let whole = render_fixture("BNBBTC", kind, file, false);
        let shown = whole.trim_end_matches('\n').chars().count();
        for width in [30_u16, 52, 80, 200] {
            let payload = fixture(file);
            let plain = render_within("BNBBTC", kind, &payload, false, Some(width));
            let coloured = render_within("BNBBTC", kind, &payload, true, Some(width));
            assert_eq!(strip_sgr(&coloured), plain, "{file} at {width}");
            assert!(coloured.ends_with("\x1b[0m\n"), "{file}: {coloured:?}");
            let row = plain.trim_end_matches('\n');
            if shown > usize::from(width) {
                assert_eq!(row.chars().count(), usize::from(width), "{file}: {row}");
                assert!(row.ends_with('…'), "{file}: {row}");
                let kept = row.trim_end_matches('…');
                assert!(whole.starts_with(kept), "{file}: {row}");
            } else {
                assert_eq!(plain, whole, "{file} fits in {width}");
            }
        }
    }
}

fn render_fixture(symbol: &str, kind_name: &str, file: &str, colour: bool) -> String {
    render(symbol, kind_name, &fixture(file), colour)
}

/// Where the body starts: time, symbol and stream columns with their separators.
const BODY_OFFSET: usize = 12 + 1 + SYMBOL_WIDTH + 1 + STREAM_WIDTH + 1;

#[test]
fn every_fixture_is_one_plain_line_with_the_head_columns_aligned() {
    for (kind, file) in MARKET_DATA {
        let line = render_fixture("BNBBTC", kind, file, false);
        assert!(line.ends_with('\n'), "{file}: {line:?}");
        assert_eq!(line.matches('\n').count(), 1, "{file}: {line:?}");
        assert!(!line.contains('\x1b'), "{file}: {line:?}");
        assert!(
            !line.trim_end_matches('\n').ends_with(' '),
            "{file}: {line:?}"
        );
        assert_eq!(&line[12..26], " BNBBTC       ", "{file}: {line:?}");
        assert_eq!(
            &line[26..27 + STREAM_WIDTH],
            format!("{kind:<13} "),
            "{file}"
        );
    }
}

#[test]
fn every_fixture_in_colour_resets_before_the_newline() {
    for (kind, file) in MARKET_DATA {
        let line = render_fixture("BNBBTC", kind, file, true);
        assert!(line.contains('\x1b'), "{file}");
        assert!(line.ends_with("\x1b[0m\n"), "{file}: {line:?}");
        assert_eq!(line.matches('\n').count(), 1, "{file}");
        assert!(line.starts_with("\x1b[2m"), "{file}: dim time");
        assert!(line.contains("\x1b[1mBNBBTC\x1b[0m"), "{file}: bold symbol");
    }
}

#[test]
fn colour_only_adds_escapes() {
    for (kind, file) in MARKET_DATA {
        let coloured = render_fixture("ETHUSDT", kind, file, true);
        let stripped = strip_sgr(&coloured);
        assert_eq!(
            stripped,
            render_fixture("ETHUSDT", kind, file, false),
            "{file}"
        );
    }
}

/// The line without its SGR escapes.
fn strip_sgr(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('\x1b') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('m').unwrap();
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[test]
fn trade_lines_byte_for_byte() {
    assert_eq!(
        render_fixture("BNBBTC", "trade", "trade.json", false),
        "19:43:02.136 BNBBTC       trade             0.001    100       SELL #12345\n"
    );
    assert_eq!(
        render_fixture("BTCUSDT", "aggTrade", "futures_aggTrade.json", false),
        "10:17:36.785 BTCUSDT      aggTrade          0.001    100       SELL #5933014  trades 100..105\n"
    );
}

#[test]
fn book_lines_byte_for_byte() {
    // Spot book tickers carry no time: the receive time stands in.
    assert_eq!(
        render_fixture("BNBUSDT", "bookTicker", "bookTicker.json", false),
        "02:00:00.126 BNBUSDT      bookTicker       31.21    @    25.3519 |    25.3652 x    40.66     spread     0.0133\n"
    );
    // The documentation's futures depth5 lists bids upwards: the best is found by price.
    assert_eq!(
        render_fixture("BTCUSDT", "depth5", "futures_partialDepth5.json", false),
        "03:54:08.277 BTCUSDT      depth5            2.562   @  7405.43   |  7405.96   x     3.34     spread     0.53    bids    5 asks    5\n"
    );
    assert_eq!(
        render_fixture("BTCUSD_200626", "depth", "coinm_depthUpdate.json", false),
        "11:31:00.907 BTCUSD_200626 depth            10       @  9517.6    |  9518.5    x    45        bids    1 asks    1  17285681..17285702\n"
    );
}

#[test]
fn kline_ticker_and_mark_lines_byte_for_byte() {
    assert_eq!(
        render_fixture("BNBBTC", "kline_1m", "kline_1m.json", false),
        "19:43:02.136 BNBBTC       kline_1m      1m  o     0.001  h     0.0025 l     0.0015 c     0.002   v       1000      n     100\n"
    );
    assert_eq!(
        render_fixture("BNBBTC", "ticker", "24hrTicker.json", false),
        "19:43:02.136 BNBBTC       ticker        last     0.0025    +0.0015    (+250%)  h     0.0025 l     0.001   v      10000      n   18151\n"
    );
    assert_eq!(
        render_fixture("BNBBTC", "miniTicker", "24hrMiniTicker.json", false),
        "19:43:02.136 BNBBTC       miniTicker    last     0.0025    +0.0015             h     0.0025 l     0.001   v      10000\n"
    );
    assert_eq!(
        render_fixture(
            "BTCUSDT",
            "markPrice",
            "futures_markPriceUpdate.json",
            false
        ),
        "05:43:00.000 BTCUSDT      markPrice     mark 11794.15        index 11784.62659091  funding  0.00038167  next 06:00:00\n"
    );
    assert_eq!(
        render_fixture(
            "BTCUSD_201225",
            "markPrice",
            "coinm_markPriceUpdate.json",
            false
        ),
        "07:55:25.000 BTCUSD_201225 markPrice     mark 10934.62615417  index 10933.62615417  funding           -  next -\n"
    );
}

#[test]
fn avg_price_and_liquidation_lines_byte_for_byte() {
    assert_eq!(
        render_fixture("BTCUSDT", "avgPrice", "avgPrice.json", false),
        "09:43:53.000 BTCUSDT      avgPrice      5m  avg 25776.86\n"
    );
    assert_eq!(
        render_fixture("BTCUSDT", "forceOrder", "futures_forceOrder.json", false),
        "07:34:20.893 BTCUSDT      forceOrder    SELL     0.014   @  9910       avg  9910       FILLED\n"
    );
}

/// The column (in characters) where `needle` starts in `line`.
fn column(line: &str, needle: &str) -> usize {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {line}"));
    line[..at].chars().count()
}

/// The price cell of a trade line.
fn price_cell(line: &str) -> &str {
    &line[BODY_OFFSET..BODY_OFFSET + PRICE.width]
}

/// Where the decimal point of a number cell is, or would be for a whole number.
fn point(cell: &str) -> usize {
    cell.find('.').unwrap_or(cell.trim_end().len())
}

#[test]
fn trade_columns_align_on_the_decimal_point_across_symbols_prices_and_sides() {
    let trade = |price: &str, qty: &str, maker: bool| {
        format!(
            r#"{{"e":"trade","E":1,"s":"X","t":7,"p":"{price}","q":"{qty}","T":1,"m":{maker},"M":true}}"#
        )
    };
    let lines = [
        render(
            "ETHUSDT",
            "trade",
            &trade("3010.55000000", "0.04310000", true),
            false,
        ),
        render(
            "1000SHIBUSDT",
            "trade",
            &trade("0.01230000", "1200.00000000", false),
            false,
        ),
        render("BTC", "trade", &trade("95000.1", "0.00012", true), false),
        render("BNBUSDT", "trade", &trade("610", "1.5", true), false),
        // More decimals than the column keeps in place: the number ends at the edge.
        render("PEPEUSDT", "trade", &trade("0.00001234", "1", false), false),
    ];
    // The point (or where it would be) sits in one column for prices and for quantities.
    for line in &lines[..4] {
        let qty = &line[BODY_OFFSET + PRICE.width + 1..][..QTY.width];
        assert_eq!(
            point(price_cell(line)),
            PRICE.width - PRICE.decimals - 1,
            "{line}"
        );
        assert_eq!(point(qty), QTY.width - QTY.decimals - 1, "{line}");
    }
    assert_eq!(price_cell(&lines[4]), "0.00001234");
    // Every column after the price starts where the first line's does.
    for line in &lines {
        assert_eq!(column(line, " #"), column(&lines[0], " #"), "{line}");
    }
    assert!(
        lines[0].contains("  3010.55       0.0431  SELL #7"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("     0.0123  1200       BUY  #7"),
        "{}",
        lines[1]
    );
}

#[test]
fn book_columns_align_across_book_kinds() {
    let lines = [
        render_fixture("BNBUSDT", "bookTicker", "bookTicker.json", false),
        render_fixture("BTCUSDT", "depth5", "futures_partialDepth5.json", false),
        render_fixture("BTCUSDT", "depth@100ms", "futures_depthUpdate.json", false),
        render_fixture("BNBBTC", "depth5", "partialDepth5.json", false),
    ];
    for line in &lines {
        assert_eq!(column(line, " @ "), BODY_OFFSET + QTY.width, "{line}");
        assert_eq!(column(line, " | "), column(&lines[0], " | "), "{line}");
        assert_eq!(column(line, " x "), column(&lines[0], " x "), "{line}");
    }
}

#[test]
fn a_symbol_with_control_characters_stays_on_one_line() {
    let line = render_fixture(
        "ETH\nUSD\u{1b}[31m\r\u{85}\u{2028}\u{202e}",
        "trade",
        "trade.json",
        false,
    );
    assert_eq!(line.matches('\n').count(), 1, "{line:?}");
    assert!(line.ends_with('\n'));
    assert!(
        !line.contains(['\x1b', '\r', '\u{85}', '\u{2028}', '\u{202e}']),
        "{line:?}"
    );
    assert!(
        line.contains(r"ETH\u{a}USD\u{1b}[31m\u{d}\u{85}\u{2028}\u{202e}"),
        "{line:?}"
    );
    // Escaped text is padded by what it shows, so the stream column still starts after it.
    let short = render_fixture("E\u{7}", "trade", "trade.json", false);
    assert_eq!(&short[12..26], r" E\u{7}       ");
    assert_eq!(column(&short, "trade"), 26);
}

#[test]
fn payload_strings_with_escapes_cannot_break_the_line() {
    let payload = r#"{"e":"forceOrder","E":1,"o":{"s":"X","S":"SE\nLL","o":"LIMIT","f":"IOC","q":"1","p":"2","ap":"2","X":"FILL\u001bED","l":"1","z":"1","T":1}}"#;
    for colour in [false, true] {
        let line = render("BTCUSDT", "forceOrder", payload, colour);
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(
            line.contains(r"SE\u{a}LL") && line.contains(r"FILL\u{1b}ED"),
            "{line:?}"
        );
    }
}

#[test]
fn malformed_levels_print_a_question_mark() {
    let cases = [
        (r#"{"lastUpdateId":1,"bids":[["0.1"]],"asks":[5]}"#, "?"),
        (
            r#"{"lastUpdateId":1,"bids":[["x","1"]],"asks":[[1,2]]}"#,
            "?",
        ),
        (r#"{"lastUpdateId":1,"bids":[],"asks":[]}"#, "-"),
        (
            r#"{"lastUpdateId":1,"bids":[["1","2"],["0.1"]],"asks":[["1e3","2"]]}"#,
            "?",
        ),
    ];
    for (payload, shown) in cases {
        let line = render("BTCUSDT", "depth5", payload, false);
        let pair = format!("{shown:>w$} | {shown:>w$}", w = PRICE.width);
        assert!(line[BODY_OFFSET..].contains(&pair), "{line:?}");
        assert!(line.contains("spread          ?"), "{line:?}");
        assert_eq!(line.matches('\n').count(), 1);
    }
    let line = render(
        "BTCUSDT",
        "depth",
        r#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[],"a":[["1","0"]]}"#,
        false,
    );
    assert!(
        line.contains("         - |     1      x     0        bids    0 asks    1  1..2"),
        "{line:?}"
    );
}

#[test]
fn trims_only_trailing_fractional_zeros() {
    for (text, trimmed) in [
        ("3010.55000000", "3010.55"),
        ("100.00000000", "100"),
        ("0.00000000", "0"),
        ("-0.00150000", "-0.0015"),
        ("1000", "1000"),
        ("1e10", "1e10"),
        ("10.", "10."),
        ("", ""),
        ("1.50x0", "1.50x0"),
    ] {
        assert_eq!(trim_zeros(text), trimmed, "{text}");
    }
}

#[test]
fn decimal_arithmetic_is_exact() {
    let d = |text: &str| Decimal::parse(text).unwrap();
    assert_eq!(
        d("25.36520000")
            .minus(d("25.35190000"))
            .unwrap()
            .to_string(),
        "0.01330000"
    );
    assert_eq!(d("0.1").minus(d("0.3")).unwrap().to_string(), "-0.2");
    assert_eq!(d("7405.96").minus(d("7405.9")).unwrap().to_string(), "0.06");
    assert_eq!(d("0.0010").compare(d("0.001")), Some(Ordering::Equal));
    assert_eq!(d("9").compare(d("10.5")), Some(Ordering::Less));
    assert_eq!(Decimal::parse("1".repeat(37).as_str()), None);
    let huge = d(&"9".repeat(36));
    assert_eq!(
        huge.minus(d("0.00001")),
        None,
        "overflow is None, not a panic"
    );
    assert_eq!(signed("0.0015"), "+0.0015");
    assert_eq!(signed("-0.0015"), "-0.0015");
    assert_eq!(signed("0.0000"), "0");
}

#[test]
fn times_are_utc_of_the_event_in_either_unit() {
    let payload = |time: u64| {
        format!(r#"{{"e":"trade","E":1,"s":"X","t":7,"p":"1","q":"1","T":{time},"m":false}}"#)
    };
    let millis = render("X", "trade", &payload(1_672_515_782_136), false);
    let micros = render("X", "trade", &payload(1_672_515_782_136_999), false);
    assert!(millis.starts_with("19:43:02.136 "), "{millis}");
    assert!(micros.starts_with("19:43:02.136 "), "{micros}");
    let spot_book = render_fixture("X", "depth5", "partialDepth5.json", false);
    assert!(
        spot_book.starts_with("02:00:00.126 "),
        "receive time: {spot_book}"
    );
}

#[test]
fn colours_mark_sides_trends_and_alerts() {
    let sell = render_fixture("BNBBTC", "trade", "trade.json", true);
    assert!(
        sell.contains("\x1b[31m0.001\x1b[0m") && sell.contains("\x1b[31mSELL\x1b[0m"),
        "{sell:?}"
    );
    let book = render_fixture("BNBUSDT", "bookTicker", "bookTicker.json", true);
    assert!(
        book.contains("\x1b[32m25.3519\x1b[0m") && book.contains("\x1b[31m25.3652\x1b[0m"),
        "{book:?}"
    );
    let kline = render_fixture("BNBBTC", "kline_1m", "kline_1m.json", true);
    assert!(
        kline.contains("\x1b[32m0.002\x1b[0m"),
        "close above open: {kline:?}"
    );
    let closed = fixture("kline_1m.json").replace(r#""x":false"#, r#""x":true"#);
    let closed = render("BNBBTC", "kline_1m", &closed, true);
    assert!(
        closed.ends_with("  \x1b[33mclosed\x1b[0m\x1b[0m\n"),
        "{closed:?}"
    );
    let plain = render(
        "BNBBTC",
        "kline_1m",
        &fixture("kline_1m.json").replace(r#""x":false"#, r#""x":true"#),
        false,
    );
    assert!(plain.ends_with("  n     100  closed\n"), "{plain:?}");
    let liquidation = render_fixture("BTCUSDT", "forceOrder", "futures_forceOrder.json", true);
    assert!(
        liquidation.contains("\x1b[33mFILLED\x1b[0m"),
        "{liquidation:?}"
    );
    let ticker = render_fixture("BNBBTC", "ticker", "24hrTicker.json", true);
    assert!(ticker.contains("\x1b[32m(+250%)\x1b[0m"), "{ticker:?}");
}
