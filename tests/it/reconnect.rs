//! Resilience: resets, stalls, pings, `Retry-After`, make-before-break rollover, servers
//! that close early or replay. Every wait is on an event (a line, a log line, a mock event).

use std::time::Duration;

use binance_mock::{Faults, Rate, Rejection};
use binance_mock::{MockConfig, MockEvent};

use crate::support::{
    Exchange, Listener, PATIENCE, TempDir, assert_summary_adds_up, quick_stall_config,
    summary_count, trade, trade_ids,
};

fn connections_seen(exchange: &Exchange, count: usize) {
    for _ in 0..count {
        exchange.expect_event("a connection", |event| {
            matches!(event, MockEvent::Connected { .. })
        });
    }
}

/// Reads lines until one with a trade id above `id`; returns the ids read.
fn read_past(listener: &Listener, id: u64) -> Vec<u64> {
    let mut ids = Vec::new();
    loop {
        let trade_id = trade(&listener.expect_line()).trade_id;
        ids.push(trade_id);
        if trade_id > id {
            return ids;
        }
    }
}

fn stop(mut listener: Listener) -> String {
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    listener.full_stderr()
}

#[test]
fn reconnects_after_tcp_resets_and_output_resumes_each_time() {
    let faults = Faults {
        faulty_connections: Some(3),
        reset_after_messages: Some(200),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(4000.0))
            .faults(faults),
    );
    let listener = Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    // Three connections are reset after 200 messages each; ids continue on the next one.
    let ids = read_past(&listener, 700);
    connections_seen(&exchange, 4);
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "ids went backwards: {ids:?}"
    );
    let lost = listener.expect_stderr("connection #1 lost");
    assert!(lost.contains("reconnecting in"), "{lost}");
    let stderr = stop(listener);
    assert!(
        summary_count(&stderr, "ETHUSDT", "reconnects") >= 3,
        "{stderr}"
    );
    assert_eq!(summary_count(&stderr, "ETHUSDT", "duplicates"), 0);
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_stalled_connection_is_detected_and_replaced_without_losing_ids() {
    let dir = TempDir::new();
    let config = quick_stall_config(&dir);
    let faults = Faults {
        faulty_connections: Some(1),
        stall_after_messages: Some(5),
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
    // The stalled connection keeps TCP open and answers nothing, not even our ping.
    let ids: Vec<u64> = (0..20)
        .map(|_| trade(&listener.expect_line()).trade_id)
        .collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    let dead = listener.expect_stderr("a ping went unanswered");
    assert!(dead.contains("connection #1 lost"), "{dead}");
    connections_seen(&exchange, 2);
    stop(listener);
}

#[test]
fn server_pings_are_answered_with_their_payload() {
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(5.0))
            .ping_interval(Duration::from_millis(200)),
    );
    let listener = Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    for ping in 1..=3 {
        let expected = format!("mock-ping-{ping}").into_bytes();
        exchange.expect_event(
            "a pong echoing the ping",
            |event| matches!(event, MockEvent::Pong { payload, .. } if *payload == expected),
        );
    }
    stop(listener);
}

#[test]
fn retry_after_is_honoured_before_streaming() {
    let reject = Rejection {
        status: 429,
        retry_after_secs: Some(1),
    };
    let faults = Faults {
        reject_upgrades: vec![reject, reject],
        ..Faults::default()
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)).faults(faults));
    let listener = Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    let rejected_at = |exchange: &Exchange| match exchange
        .expect_event("a rejected upgrade", |event| {
            matches!(event, MockEvent::Rejected { .. })
        }) {
        MockEvent::Rejected { at, .. } => at,
        _ => unreachable!(),
    };
    let first = rejected_at(&exchange);
    let second = rejected_at(&exchange);
    assert!(
        second - first >= Duration::from_secs(1),
        "retried after {:?}",
        second - first
    );
    let warning = listener.expect_stderr("HTTP 429");
    assert!(warning.contains("Retry-After: 1s"), "{warning}");
    assert_eq!(trade(&listener.expect_line()).trade_id, 1);
    stop(listener);
}

#[test]
fn a_ban_is_reported_with_the_time_it_lifts() {
    let faults = Faults {
        reject_upgrades: vec![Rejection {
            status: 418,
            retry_after_secs: Some(1),
        }],
        ..Faults::default()
    };
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(50.0)).faults(faults));
    let listener = Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    let ban = listener.expect_stderr("banned");
    assert!(ban.contains("ERROR") && ban.contains("(UTC)"), "{ban}");
    listener.expect_line();
    stop(listener);
}

#[test]
fn rollover_delivers_every_id_exactly_once_in_market_mode() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(300.0)).market(true));
    let listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--max-connection-age",
        "1s",
        "ETHUSDT",
    ]);
    listener.expect_stderr("switched to connection #2");
    listener.expect_stderr("switched to connection #3");
    let mut listener = listener;
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let ids = trade_ids(&listener.remaining_lines());
    let first = ids[0];
    let expected: Vec<u64> = (first..first + ids.len() as u64).collect();
    assert_eq!(
        ids, expected,
        "ids across two rollovers must be consecutive"
    );
    let stderr = listener.full_stderr();
    assert_eq!(summary_count(&stderr, "ETHUSDT", "gaps"), 0, "{stderr}");
    assert!(
        summary_count(&stderr, "ETHUSDT", "reconnects") >= 2,
        "{stderr}"
    );
}

#[test]
fn a_server_that_closes_early_costs_no_duplicates_and_reports_what_was_missed() {
    let faults = Faults {
        close_after: Some(Duration::from_millis(700)),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(500.0))
            .market(true)
            .faults(faults),
    );
    let mut listener = Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    connections_seen(&exchange, 4);
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let ids = trade_ids(&listener.remaining_lines());
    assert!(
        ids.windows(2).all(|pair| pair[0] < pair[1]),
        "duplicate or reordered ids"
    );
    let jumps: Vec<(u64, u64)> = ids
        .windows(2)
        .filter(|pair| pair[1] > pair[0] + 1)
        .map(|pair| (pair[0] + 1, pair[1] - 1))
        .collect();
    let stderr = listener.full_stderr();
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "gaps"),
        jumps.len() as u64,
        "{stderr}"
    );
    let missing: u64 = jumps.iter().map(|(first, last)| last - first + 1).sum();
    assert_eq!(summary_count(&stderr, "ETHUSDT", "missing"), missing);
    if let Some((first, last)) = jumps.first() {
        assert!(
            stderr.contains(&format!("{first}..={last} missing")),
            "{stderr}"
        );
    }
}

#[test]
fn ids_replayed_after_a_reconnect_are_written_once() {
    let faults = Faults {
        faulty_connections: Some(1),
        close_after_messages: Some(20),
        replay_on_reconnect: 5,
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(40)
            .faults(faults),
    );
    let (status, stdout, stderr) = crate::support::run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "40",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(trade_ids(&lines), (1..=40).collect::<Vec<_>>());
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "duplicates"),
        5,
        "{stderr}"
    );
}

#[test]
fn a_server_failing_every_connection_after_one_frame_gets_a_few_paced_attempts() {
    // Each connection delivers one good frame, then a protocol violation. Delivered data
    // no longer passes for health, so the backoff keeps growing: its waits of at least 50,
    // 100, 200, 400, 800, 1600 ms allow at most 7 connections in the first 5 s, however
    // fast (or slow) the machine is. Before, such a server got 117 in 6 s.
    let faults = Faults {
        protocol_error_after: Some(1),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::PerSecond(100.0))
            .faults(faults),
    );
    let (status, stdout, stderr) =
        crate::support::run_to_end(&["--endpoint", &exchange.url(), "--duration", "5s", "ETHUSDT"]);
    assert!(status.success(), "{stderr}");
    let connections = exchange.connections_left_in_events();
    assert!(
        (3..=8).contains(&connections),
        "{connections} connections in 5 s:\n{stderr}"
    );
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_eq!(
        trade_ids(&lines),
        (1..=connections as u64).collect::<Vec<_>>()
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn a_stream_url_given_as_the_endpoint_is_a_usage_error_naming_the_base() {
    let (status, stdout, stderr) =
        crate::support::run_to_end(&["--endpoint", "ws://127.0.0.1:9/ws/ethusdt@trade", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("'ws://127.0.0.1:9/ws/ethusdt@trade': that is a stream's URL"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pass the base URL instead, like ws://127.0.0.1:9"),
        "{stderr}"
    );
}

#[test]
fn an_upgrade_refused_with_404_is_not_retried_and_the_run_fails() {
    let faults = Faults {
        reject_upgrades: vec![Rejection {
            status: 404,
            retry_after_secs: None,
        }],
        ..Faults::default()
    };
    let exchange = Exchange::start(MockConfig::new().faults(faults));
    let url = format!("{}/ws/ethusdt@trade", exchange.url());
    let (status, stdout, stderr) =
        crate::support::run_to_end(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty());
    let refusal = format!("{url} refused the WebSocket upgrade with HTTP 404 Not Found");
    assert_eq!(stderr.matches(&refusal).count(), 1, "{stderr}");
    assert!(!stderr.contains("retrying in"), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|line| line.contains("1 of 1 symbol(s) could not be served: ETHUSDT")),
        "{stderr}"
    );
    let events: Vec<MockEvent> = std::iter::from_fn(|| exchange.expect_event_now()).collect();
    let rejected = events
        .iter()
        .filter(|event| matches!(event, MockEvent::Rejected { status: 404, .. }))
        .count();
    assert_eq!(rejected, 1, "{events:?}");
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, MockEvent::Connected { .. })),
        "{events:?}"
    );
}
