//! `--stream book` against the mock, whose true book is known: after every book line the
//! listener's top levels equal the mock's at that update id, through a lost update, a
//! snapshot older than the buffer, a snapshot behind a 2 s delay, 429s on snapshots and a
//! reconnect; every resync is announced in-band and counted; 200 books start within the
//! weight budget. Each run ends on `--max-messages`.

use std::time::Duration;

use binance_mock::{Faults, MockConfig, MockEvent, Rate, Rejection};
use serde_json::Value;

use crate::support::{Exchange, TempDir, assert_summary_adds_up, run_to_end, summary_count};

/// Levels a side the tests ask for.
const DEPTH: usize = 5;

fn levels(value: &Value) -> Vec<(String, String)> {
    value
        .as_array()
        .expect("levels are an array")
        .iter()
        .map(|level| {
            (
                level[0].as_str().expect("a price string").to_owned(),
                level[1].as_str().expect("a quantity string").to_owned(),
            )
        })
        .collect()
}

/// Runs a book listener against `exchange` until `lines` book lines; checks every book line
/// against the true book and the exit summary. Returns the resync reasons seen.
fn run_books(exchange: &Exchange, extra: &[&str], symbol: &str, lines: u64) -> Vec<String> {
    run_books_with_stderr(exchange, extra, symbol, lines).0
}

/// [`run_books`], also returning stderr.
fn run_books_with_stderr(
    exchange: &Exchange,
    extra: &[&str],
    symbol: &str,
    lines: u64,
) -> (Vec<String>, String) {
    let url = exchange.url();
    let depth = DEPTH.to_string();
    let max = lines.to_string();
    let mut args = vec![
        "--endpoint",
        &url,
        "--stream",
        "book",
        "--book-depth",
        &depth,
        "--format",
        "json",
        "--max-messages",
        &max,
    ];
    args.extend_from_slice(extra);
    args.push(symbol);
    let (status, stdout, stderr) = run_to_end(&args);
    assert!(status.success(), "{status}: {stderr}");
    let stream = format!("{}@depth@100ms", symbol.to_lowercase());
    let mut resyncs = Vec::new();
    let mut books = 0;
    for line in stdout.lines() {
        let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(value["symbol"], symbol, "{line}");
        assert_eq!(value["stream"], "book", "{line}");
        if value.get("event").is_some() {
            assert_eq!(value["event"], "resync", "{line}");
            resyncs.push(value["reason"].as_str().expect("a reason").to_owned());
            continue;
        }
        books += 1;
        let id = value["update_id"].as_u64().expect("an update id");
        let truth = exchange
            .book_top(&stream, id)
            .unwrap_or_else(|| panic!("the mock's book never had update id {id}: {line}"));
        let (bids, asks) = (levels(&value["bids"]), levels(&value["asks"]));
        assert_eq!(
            bids,
            truth.bids[..DEPTH.min(truth.bids.len())],
            "bids at {id}"
        );
        assert_eq!(
            asks,
            truth.asks[..DEPTH.min(truth.asks.len())],
            "asks at {id}"
        );
    }
    assert!(
        books as u64 >= lines,
        "{books} book lines:\n{stdout}\n{stderr}"
    );
    let counted = if resyncs.is_empty() {
        assert!(!stderr.contains("resyncs"), "{stderr}");
        0
    } else {
        summary_count(&stderr, symbol, "resyncs")
    };
    assert_eq!(counted, resyncs.len() as u64, "{stderr}");
    assert_summary_adds_up(&stderr, symbol);
    (resyncs, stderr)
}

fn book_mock(faults: Faults) -> MockConfig {
    MockConfig::new()
        .rate(Rate::PerSecond(200.0))
        .record_books(true)
        .faults(faults)
}

#[test]
fn a_spot_book_follows_the_true_book_and_resyncs_on_a_lost_update() {
    let exchange = Exchange::start(book_mock(Faults {
        drop_ids: vec![60],
        ..Faults::default()
    }));
    let (resyncs, stderr) =
        run_books_with_stderr(&exchange, &["--stats-format", "json"], "ETHUSDT", 150);
    assert_eq!(resyncs, ["gap"], "one announced resync for the lost update");
    assert!(stderr.contains(r#""reconnects":0,"resyncs":1"#), "{stderr}");
}

#[test]
fn a_futures_book_follows_the_pu_chain_and_resyncs_on_a_break() {
    let exchange = Exchange::start(
        book_mock(Faults {
            drop_ids: vec![60],
            ..Faults::default()
        })
        .futures(true),
    );
    let resyncs = run_books(&exchange, &["--market", "futures"], "BTCUSDT", 150);
    assert_eq!(resyncs, ["break"]);
    let asked = exchange.expect_event("a futures snapshot", |event| {
        matches!(event, MockEvent::Snapshot { status: 200, .. })
    });
    assert!(matches!(asked, MockEvent::Snapshot { limit: 1000, .. }));
}

#[test]
fn a_coin_futures_book_is_kept_too() {
    let exchange = Exchange::start(book_mock(Faults::default()).coin_futures(true));
    let resyncs = run_books(&exchange, &["--market", "coin-futures"], "BTCUSD_PERP", 60);
    assert!(resyncs.is_empty(), "{resyncs:?}");
}

#[test]
fn rate_limits_stale_and_slow_snapshots_never_make_a_wrong_book() {
    // The first snapshot request gets a 429 (Retry-After 1 s), the next a snapshot older
    // than anything buffered (the market ran before the listener joined), and every
    // answer takes 2 s.
    let exchange = Exchange::start(
        book_mock(Faults {
            snapshot_rejections: vec![Rejection {
                status: 429,
                retry_after_secs: Some(1),
            }],
            stale_snapshots: 1,
            snapshot_delay: Some(Duration::from_secs(2)),
            ..Faults::default()
        })
        .market(true),
    );
    let resyncs = run_books(&exchange, &[], "BNBUSDT", 40);
    assert!(
        resyncs.is_empty(),
        "a 429 or a stale snapshot is no resync: {resyncs:?}"
    );
    let seen: Vec<(u16, bool)> = (0..3)
        .map(|_| {
            match exchange.expect_event("a snapshot", |e| matches!(e, MockEvent::Snapshot { .. })) {
                MockEvent::Snapshot { status, stale, .. } => (status, stale),
                _ => unreachable!(),
            }
        })
        .collect();
    assert_eq!(seen, [(429, false), (200, true), (200, false)]);
}

#[test]
fn a_reconnect_with_replayed_updates_keeps_the_book_right() {
    let exchange = Exchange::start(book_mock(Faults {
        faulty_connections: Some(1),
        close_after_messages: Some(80),
        replay_on_reconnect: 5,
        ..Faults::default()
    }));
    let resyncs = run_books(&exchange, &[], "SOLUSDT", 150);
    assert!(
        resyncs.is_empty(),
        "replayed updates are old, not gaps: {resyncs:?}"
    );
}

#[test]
fn two_hundred_books_start_within_the_weight_budget() {
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(20.0))
            .record_books(true),
    );
    let url = exchange.url();
    let symbols: Vec<String> = (0..200).map(|n| format!("S{n:03}USDT")).collect();
    // Connections unpaced (the test is about the REST weight, not Binance's 300
    // connections per 5 minutes, which would spread 200 symbols over a minute).
    let dir = TempDir::new();
    let config = dir.write(
        "fast.toml",
        "[connection]\nattempts_per_window = 1000\nattempt_window = \"1s\"\n",
    );
    let config = config.to_str().expect("a UTF-8 path").to_owned();
    let mut args = vec![
        "--config",
        &config,
        "--endpoint",
        &url,
        "--stream",
        "book",
        "--book-depth",
        "1",
        "--max-messages",
        "1",
        "--format",
        "json",
    ];
    args.extend(symbols.iter().map(String::as_str));
    let (status, stdout, stderr) = run_to_end(&args);
    assert!(status.success(), "{status}: {stderr}");
    assert!(
        stderr.contains("snapshots of 100 levels, weight 5 each, within 6000 weight a minute"),
        "{stderr}"
    );
    for symbol in &symbols {
        let needle = format!("{{\"symbol\":\"{symbol}\",\"stream\":\"book\",\"update_id\"");
        assert!(stdout.contains(&needle), "no book for {symbol}");
    }
    // 200 snapshots of weight 5: 1,000 of the 4,800 the listener allows itself a minute.
    for _ in 0..200 {
        let event =
            exchange.expect_event("a snapshot", |e| matches!(e, MockEvent::Snapshot { .. }));
        assert!(
            matches!(
                event,
                MockEvent::Snapshot {
                    status: 200,
                    limit: 100,
                    ..
                }
            ),
            "{event:?}"
        );
    }
}

#[test]
fn simulate_keeps_a_book_offline() {
    let (status, stdout, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "50",
        "--stream",
        "book",
        "--book-depth",
        "2",
        "--max-messages",
        "3",
        // A book is not a frame: raw writes the same JSON lines.
        "--format",
        "raw",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let books: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(books.len() >= 3, "{stdout}");
    for book in &books {
        assert_eq!(book["bids"].as_array().map(Vec::len), Some(2), "{book}");
        assert_eq!(book["asks"].as_array().map(Vec::len), Some(2), "{book}");
    }
}

#[test]
fn book_flags_are_checked() {
    let (status, _, stderr) = run_to_end(&["--stream", "book", "--book-depth", "0", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("invalid book depth '0': expected a whole number from 1 to 5000"),
        "{stderr}"
    );
    let (status, _, stderr) = run_to_end(&["--stream", "book,depth@100ms", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("book and depth@100ms cannot be read together"),
        "{stderr}"
    );
    let (status, _, stderr) = run_to_end(&["--rest-endpoint", "ftp://x", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("invalid REST endpoint 'ftp://x'"),
        "{stderr}"
    );
}

#[test]
fn a_crossed_book_is_thrown_away_and_rebuilt() {
    let exchange = Exchange::start(book_mock(Faults {
        cross_ids: vec![60],
        ..Faults::default()
    }));
    let resyncs = run_books(&exchange, &[], "ETHUSDT", 120);
    assert_eq!(resyncs, ["crossed"]);
}

#[test]
fn a_failed_snapshot_is_announced_and_tried_again() {
    let exchange = Exchange::start(book_mock(Faults {
        snapshot_errors: 1,
        ..Faults::default()
    }));
    let resyncs = run_books(&exchange, &[], "ETHUSDT", 40);
    assert_eq!(resyncs, ["snapshot_failed"]);
}

#[test]
fn reordered_updates_never_make_a_wrong_book() {
    for (market, futures, reason) in [("spot", false, "gap"), ("futures", true, "break")] {
        let exchange = Exchange::start(
            book_mock(Faults {
                swap_ids: vec![60],
                ..Faults::default()
            })
            .futures(futures),
        );
        let resyncs = run_books(&exchange, &["--market", market], "BTCUSDT", 120);
        assert_eq!(resyncs, [reason], "{market}");
    }
}

#[test]
fn a_book_interval_writes_the_latest_book_at_most_once_per_interval() {
    let exchange = Exchange::start(book_mock(Faults::default()));
    // 200 updates a second, a line at most every 100 ms: each line still equals the true
    // book at its id, and the updates merged into later lines are counted as duplicates.
    let (resyncs, stderr) =
        run_books_with_stderr(&exchange, &["--book-interval", "100ms"], "ETHUSDT", 8);
    assert!(resyncs.is_empty(), "{resyncs:?}");
    assert!(
        summary_count(&stderr, "ETHUSDT", "duplicates") > 8,
        "{stderr}"
    );
}

#[test]
fn snapshots_come_over_https_trusting_ca_cert() {
    let pki = crate::support::tls::generate();
    let dir = TempDir::new();
    let ca = dir.write("ca.pem", &pki.ca_pem);
    let ca = ca.to_str().expect("a UTF-8 path").to_owned();
    let exchange = Exchange::start(book_mock(Faults::default()).tls(pki.server));
    // --endpoint wss://localhost:PORT: snapshots from https://localhost:PORT, the same CA.
    let resyncs = run_books(&exchange, &["--ca-cert", &ca], "ETHUSDT", 20);
    assert!(resyncs.is_empty(), "{resyncs:?}");
}

#[test]
fn a_slow_book_handler_still_writes_right_books() {
    // --delay on a book: each update waits in the processor, updates queue up meanwhile.
    let exchange = Exchange::start(book_mock(Faults::default()));
    let resyncs = run_books(&exchange, &["--delay", "2ms"], "ETHUSDT", 60);
    assert!(resyncs.is_empty(), "{resyncs:?}");
}

#[test]
fn a_429_holds_every_symbols_snapshots_for_its_retry_after() {
    // Eight books, four snapshot workers: the first four requests get 429 with
    // Retry-After 2 s; no symbol asks again before those 2 s have passed.
    let rejection = Rejection {
        status: 429,
        retry_after_secs: Some(2),
    };
    let exchange = Exchange::start(book_mock(Faults {
        snapshot_rejections: vec![rejection; 4],
        ..Faults::default()
    }));
    let url = exchange.url();
    let symbols: Vec<String> = (0..8).map(|n| format!("S{n}USDT")).collect();
    let mut args = vec![
        "--endpoint",
        &url,
        "--stream",
        "book",
        "--max-messages",
        "3",
    ];
    args.extend(symbols.iter().map(String::as_str));
    let (status, _, stderr) = run_to_end(&args);
    assert!(status.success(), "{stderr}");
    let mut first_429 = None;
    let mut answered = 0;
    while answered < symbols.len() {
        let event =
            exchange.expect_event("a snapshot", |e| matches!(e, MockEvent::Snapshot { .. }));
        let MockEvent::Snapshot { status, at, .. } = event else {
            unreachable!()
        };
        match status {
            429 => {
                first_429.get_or_insert(at);
            }
            200 => {
                let limited = first_429.expect("the 429s come first");
                assert!(
                    at.duration_since(limited) >= Duration::from_secs(2),
                    "a snapshot {:?} after the first 429",
                    at.duration_since(limited)
                );
                answered += 1;
            }
            other => panic!("HTTP {other}"),
        }
    }
    assert!(
        stderr.contains("HTTP 429, no snapshot requests for 2 s"),
        "{stderr}"
    );
}

#[test]
fn resyncs_in_a_streak_wait_longer_before_their_snapshots() {
    // Three lost updates within seconds (200 updates a second): the first resync fetches
    // at once, the next waits a second, the one after two, so a book that cannot stay in
    // sync does not spend the weight budget in a loop; stderr sums the streak up instead
    // of a line each.
    let exchange = Exchange::start(book_mock(Faults {
        drop_ids: vec![40, 60, 400],
        ..Faults::default()
    }));
    let (resyncs, stderr) = run_books_with_stderr(&exchange, &[], "ETHUSDT", 200);
    assert_eq!(resyncs, ["gap", "gap", "gap"], "{stderr}");
    let mut snapshots = Vec::new();
    while snapshots.len() < 4 {
        if let MockEvent::Snapshot { at, .. } =
            exchange.expect_event("a snapshot", |e| matches!(e, MockEvent::Snapshot { .. }))
        {
            snapshots.push(at);
        }
    }
    let waited = |from: usize| snapshots[from + 1].duration_since(snapshots[from]);
    assert!(waited(1) >= Duration::from_millis(950), "{:?}", waited(1));
    assert!(waited(2) >= Duration::from_millis(1950), "{:?}", waited(2));
    assert!(
        stderr.matches("book resync").count() < 3,
        "one line for the first, the rest summed up:\n{stderr}"
    );
}
