//! Liveness: servers that keep a connection busy or open without serving it — a trickled
//! upgrade answer, a frame that crawls in, a stream that stops sending data while it still
//! answers pings, a close frame never followed by a hang-up — are given up on at their
//! limits and replaced, and the summary still adds up. Limits are shortened through a
//! config file so each test takes seconds; every wait is on an event.

use std::time::Duration;

use binance_mock::{CloseNotice, Faults, MockConfig, MockEvent, Rate};

use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_summary_adds_up, summary_count, trade,
};

/// A config file holding `connection`, the body of its `[connection]` table.
fn connection_config(dir: &TempDir, connection: &str) -> String {
    let path = dir.write("connection.toml", format!("[connection]\n{connection}"));
    path.to_str().expect("utf-8 temp path").to_owned()
}

fn connected(exchange: &Exchange) {
    exchange.expect_event("a connection", |event| {
        matches!(event, MockEvent::Connected { .. })
    });
}

/// Trade ids of the next `count` lines.
fn trade_ids(listener: &Listener, count: usize) -> Vec<u64> {
    (0..count)
        .map(|_| trade(&listener.expect_line()).trade_id)
        .collect()
}

/// Stops the listener with SIGINT; its whole stderr, with the summary.
fn stop(mut listener: Listener) -> String {
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    listener.full_stderr()
}

fn assert_increasing(ids: &[u64]) {
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids out of order: {ids:?}"
    );
}

#[test]
fn an_upgrade_answer_trickled_past_the_handshake_deadline_is_given_up_and_retried() {
    let dir = TempDir::new();
    let config = connection_config(&dir, "handshake_timeout = \"1s\"\n");
    // The `101` answer (about 130 bytes) comes 8 bytes every 200 ms: whole after ~3 s,
    // every read well inside the read timeout.
    let faults = Faults {
        faulty_connections: Some(1),
        trickle_handshake: Some((8, Duration::from_millis(200))),
        ..Faults::default()
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)).faults(faults));
    let url = exchange.url();
    let listener = Listener::start(&["--config", &config, "--endpoint", &url, "ETHUSDT"]);
    let given_up = listener.expect_stderr("no complete answer within 1s");
    assert!(given_up.contains("retrying in"), "{given_up}");
    exchange.expect_event("the listener hanging up on a trickled upgrade", |event| {
        matches!(event, MockEvent::HandshakeFailed { .. })
    });
    // Every upgrade of the stream is trickled until one completes (a failed one is no
    // connection). A patient client of the test's own sits this one out, so the listener's
    // next attempt is the stream's second connection, which the fault spares.
    let patient = std::thread::spawn(move || {
        let (mut client, _) =
            tungstenite::connect(format!("{url}/ws/ethusdt@trade")).expect("patient upgrade");
        let _ = client.close(None);
    });
    patient.join().expect("patient client");
    let ids = trade_ids(&listener, 5);
    assert_increasing(&ids);
    let stderr = stop(listener);
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_frame_that_trickles_in_is_given_up_and_the_stream_resumes() {
    let dir = TempDir::new();
    // A frame's bytes must all be in within a second of its first ones.
    let config = connection_config(&dir, "pong_timeout = \"1s\"\n");
    let faults = Faults {
        faulty_connections: Some(1),
        trickle_frame_after: Some((5, Duration::from_millis(100))),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(100.0))
            .faults(faults),
    );
    let listener = Listener::start(&[
        "--config",
        &config,
        "--endpoint",
        &exchange.url(),
        "ETHUSDT",
    ]);
    assert_eq!(trade_ids(&listener, 5), [1, 2, 3, 4, 5]);
    let lost = listener.expect_stderr("a frame still arriving after 1s: the server trickles");
    assert!(lost.contains("connection #1 lost"), "{lost}");
    connected(&exchange);
    connected(&exchange);
    let ids = trade_ids(&listener, 20);
    assert_increasing(&ids);
    assert!(ids[0] > 5, "{ids:?}");
    let stderr = stop(listener);
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        1,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_scheduled_stream_that_stops_sending_data_is_replaced_though_it_answers_pings() {
    let dir = TempDir::new();
    // kline_1m updates every 2 s: silent after one period (the floor lowered to allow it).
    let config = connection_config(&dir, "silence_multiple = 1\nsilence_floor = \"1s\"\n");
    let faults = Faults {
        faulty_connections: Some(1),
        silent_after: Some(5),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(20.0))
            .ping_interval(Duration::from_millis(300))
            .faults(faults),
    );
    let listener = Listener::start(&[
        "--config",
        &config,
        "--endpoint",
        &exchange.url(),
        "--stream",
        "kline_1m",
        "ETHUSDT",
    ]);
    connected(&exchange);
    listener.expect_lines(5);
    // The silent connection still pings, and its pings are answered.
    exchange.expect_event("a pong on the silent connection", |event| {
        matches!(event, MockEvent::Pong { .. })
    });
    let lost = listener.expect_stderr("on a kline_1m stream, which updates every 2s");
    assert!(lost.contains("connection #1 lost after"), "{lost}");
    assert!(lost.contains("no data for "), "{lost}");
    assert!(lost.contains("reconnecting in"), "{lost}");
    connected(&exchange);
    listener.expect_lines(10);
    let stderr = stop(listener);
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        1,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_silent_trade_stream_is_replaced_when_max_silence_asks_for_it() {
    let faults = Faults {
        faulty_connections: Some(1),
        silent_after: Some(5),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(50.0))
            .ping_interval(Duration::from_millis(300))
            .faults(faults),
    );
    let listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--max-silence",
        "1s",
        "ETHUSDT",
    ]);
    assert_eq!(trade_ids(&listener, 5), [1, 2, 3, 4, 5]);
    let lost = listener.expect_stderr("on a trade stream (--max-silence 1s)");
    assert!(lost.contains("connection #1 lost"), "{lost}");
    connected(&exchange);
    connected(&exchange);
    // The stream carries on where the silent connection stopped.
    assert_eq!(trade_ids(&listener, 15), (6..=20).collect::<Vec<_>>());
    let stderr = stop(listener);
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        1,
        "{stderr}"
    );
    assert_eq!(summary_count(&stderr, "ETHUSDT", "gaps"), 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_quiet_trade_stream_that_answers_pings_is_left_alone() {
    let dir = TempDir::new();
    // Pings every few hundred ms of quiet, each answered; silence limits as tight as they
    // go, which must not touch an event-driven stream without --max-silence.
    let config = connection_config(
        &dir,
        "ping_after = \"200ms\"\npong_timeout = \"500ms\"\nsilence_multiple = 1\nsilence_floor = \"1s\"\n",
    );
    let faults = Faults {
        silent_after: Some(3),
        ..Faults::default()
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)).faults(faults));
    let mut listener = Listener::start(&[
        "--config",
        &config,
        "--endpoint",
        &exchange.url(),
        "--duration",
        "3s",
        "ETHUSDT",
    ]);
    assert_eq!(trade_ids(&listener, 3), [1, 2, 3]);
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert!(!stderr.contains("connection #1 lost"), "{stderr}");
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        0,
        "{stderr}"
    );
    assert_eq!(exchange.connections_left_in_events(), 1);
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_close_frame_ends_the_connection_at_once_with_its_code_and_reason() {
    let dir = TempDir::new();
    // No ping for an hour: only the close frame itself can end the connection in time.
    let config = connection_config(&dir, "ping_after = \"1h\"\n");
    let faults = Faults {
        faulty_connections: Some(1),
        close_without_tcp_close_after: Some(5),
        close_notice: Some(CloseNotice::new(1001, "going away: maintenance")),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(100.0))
            .faults(faults),
    );
    let listener = Listener::start(&[
        "--config",
        &config,
        "--endpoint",
        &exchange.url(),
        "ETHUSDT",
    ]);
    assert_eq!(trade_ids(&listener, 5), [1, 2, 3, 4, 5]);
    let lost = listener.expect_stderr("connection #1 lost");
    assert!(
        lost.contains("(closed by the server with code 1001: going away: maintenance)"),
        "{lost}"
    );
    connected(&exchange);
    connected(&exchange);
    assert_eq!(trade_ids(&listener, 15), (6..=20).collect::<Vec<_>>());
    let stderr = stop(listener);
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        1,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}
