//! The NATS output against a real `nats-server -js` on loopback: every line stored once
//! with its event's id, however many listeners publish it; an outage waited out and
//! repaired; a stream that cannot take our subjects refused up front.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use binance_mock::{MockConfig, Rate};

use crate::support::nats::{NatsServer, Stored};
use crate::support::{
    Exchange, Listener, PATIENCE, assert_summary_adds_up, run_to_end, summary_count,
};

/// The trade ids stored under `subject`, each checked against its message id and payload.
fn stored_trade_ids(stored: &[Stored], subject: &str, id_prefix: &str) -> Vec<u64> {
    stored
        .iter()
        .filter(|message| message.subject == subject)
        .map(|message| {
            let line: serde_json::Value =
                serde_json::from_str(&message.payload).expect("a stored line is JSON");
            let trade_id = line["trade_id"].as_u64().expect("a trade line");
            assert_eq!(
                message.id.as_deref(),
                Some(format!("{id_prefix}{trade_id}").as_str()),
                "the message id names the trade: {message:?}"
            );
            trade_id
        })
        .collect()
}

/// Waits until the stream holds at least `count` messages.
fn wait_for_stored(server: &NatsServer, stream: &str, count: u64) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if server.count(stream) >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "fewer than {count} messages stored in time"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn two_listeners_on_the_same_symbols_store_every_event_once() {
    let Some(server) =
        NatsServer::start("two_listeners_on_the_same_symbols_store_every_event_once")
    else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(1000.0)));
    let args = [
        "--endpoint",
        &exchange.url(),
        "--nats",
        &server.url(),
        "--max-messages",
        "400",
        "ETHUSDT",
        "BNBUSDT",
    ];
    let mut first = Listener::start(&args);
    let mut second = Listener::start(&args);
    assert!(
        first.expect_exit_within(PATIENCE).success(),
        "{}",
        first.full_stderr()
    );
    assert!(
        second.expect_exit_within(PATIENCE).success(),
        "{}",
        second.full_stderr()
    );
    let (first, second) = (first.full_stderr(), second.full_stderr());

    let stored = server.stored("BINANCE");
    for symbol in ["ETHUSDT", "BNBUSDT"] {
        let ids = stored_trade_ids(
            &stored,
            &format!("binance.spot.trade.{symbol}"),
            &format!("spot.{symbol}.trade."),
        );
        // The listeners' connections may start a few ids apart: the store holds the union
        // of what they received, each id once. (Two publishers race: which copy lands
        // first is theirs to decide, so the order is not asserted here.)
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        let (first_id, last_id) = (sorted[0], sorted[sorted.len() - 1]);
        assert_eq!(
            sorted,
            (first_id..=last_id).collect::<Vec<_>>(),
            "{symbol}: each id once"
        );
        assert!(ids.len() >= 400, "{symbol}: {}", ids.len());
        for stderr in [&first, &second] {
            assert_eq!(summary_count(stderr, symbol, "written"), 400, "{stderr}");
            assert_eq!(summary_count(stderr, symbol, "acked"), 400, "{stderr}");
            assert_summary_adds_up(stderr, symbol);
        }
        // Every event was published twice and stored once: the second copy of each was
        // acknowledged as a duplicate, whichever listener sent it.
        let duplicates = summary_count(&first, symbol, "duplicates")
            + summary_count(&second, symbol, "duplicates");
        assert_eq!(duplicates, 0, "no listener dropped an event as a duplicate");
        let nats_duplicates: u64 = [&first, &second]
            .iter()
            .map(|stderr| summary_count(stderr, symbol, "stored"))
            .sum();
        assert_eq!(
            nats_duplicates,
            800 - ids.len() as u64,
            "every copy not stored was acknowledged as a duplicate:\n{first}\n{second}"
        );
    }
}

#[test]
fn a_nats_outage_is_waited_out_and_nothing_is_lost_or_stored_twice() {
    let Some(mut server) =
        NatsServer::start("a_nats_outage_is_waited_out_and_nothing_is_lost_or_stored_twice")
    else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(100.0)));
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--nats",
        &server.url(),
        "--max-messages",
        "600",
        "ETHUSDT",
    ]);
    wait_for_stored(&server, "BINANCE", 50);
    server.stop();
    listener.expect_stderr("lost the NATS server");
    listener.expect_stderr("not acknowledged");
    // The outage: frames keep arriving and wait in the symbol's queue.
    std::thread::sleep(Duration::from_secs(3));
    server.restart();
    listener.expect_stderr("acknowledges publishes again");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();

    let ids = stored_trade_ids(
        &server.stored("BINANCE"),
        "binance.spot.trade.ETHUSDT",
        "spot.ETHUSDT.trade.",
    );
    let unique: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no id stored twice");
    assert_eq!(unique, (1..=600).collect(), "every id stored");
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        600,
        "{stderr}"
    );
    assert!(summary_count(&stderr, "ETHUSDT", "retried") > 0, "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSDT", "failed"), 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_stream_that_does_not_take_our_subjects_is_refused_with_status_2() {
    let Some(server) =
        NatsServer::start("a_stream_that_does_not_take_our_subjects_is_refused_with_status_2")
    else {
        return;
    };
    server.create_stream("MD", &["other.>"]);
    let (status, _, stderr) = run_to_end(&[
        "--simulate",
        "--nats",
        &server.url(),
        "--nats-stream",
        "MD",
        "ETHUSDT",
    ]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("NATS stream MD exists but stores only [other.>], not binance.*.*.*"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|line| line.contains("MD")).count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_custom_subject_template_routes_each_stream() {
    let Some(server) = NatsServer::start("a_custom_subject_template_routes_each_stream") else {
        return;
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(500.0)));
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--nats",
        &server.url(),
        "--nats-subject",
        "md.{market}.{symbol}.{stream}",
        "--nats-stream",
        "MD",
        "--stream",
        "trade,aggTrade",
        "--max-messages",
        "40",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    assert!(stdout.is_empty(), "lines go to NATS, not stdout: {stdout}");
    let mut per_subject: BTreeMap<String, usize> = BTreeMap::new();
    for message in server.stored("MD") {
        *per_subject.entry(message.subject).or_default() += 1;
    }
    let subjects: Vec<&String> = per_subject.keys().collect();
    assert_eq!(
        subjects,
        ["md.spot.ETHUSDT.aggTrade", "md.spot.ETHUSDT.trade"],
        "{per_subject:?}"
    );
    assert_eq!(per_subject.values().sum::<usize>(), 40, "{per_subject:?}");
}

#[test]
fn an_unreachable_server_fails_the_start_with_one_line() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let url = format!("nats://127.0.0.1:{port}");
    let (status, _, stderr) = run_to_end(&["--simulate", "--nats", &url, "ETHUSDT"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot connect to NATS at {url}")),
        "{stderr}"
    );
}

#[test]
fn book_lines_are_stored_under_the_book_subject_identified_by_update_id() {
    let Some(server) =
        NatsServer::start("book_lines_are_stored_under_the_book_subject_identified_by_update_id")
    else {
        return;
    };
    let (status, _, stderr) = run_to_end(&[
        "--simulate",
        "--simulate-rate",
        "100",
        "--stream",
        "book",
        "--nats",
        &server.url(),
        "--max-messages",
        "20",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let stored = server.stored("BINANCE");
    let books: Vec<&Stored> = stored
        .iter()
        .filter(|message| !message.payload.contains(r#""event":"resync""#))
        .collect();
    assert!(books.len() >= 20, "{stored:?}");
    for message in books {
        assert_eq!(message.subject, "binance.spot.book.ETHUSDT", "{message:?}");
        let line: serde_json::Value = serde_json::from_str(&message.payload).expect("JSON");
        let id = line["update_id"].as_u64().expect("an update id");
        assert_eq!(
            message.id.as_deref(),
            Some(format!("spot.ETHUSDT.book.{id}").as_str())
        );
    }
}
