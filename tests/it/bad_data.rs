//! Bad data from the network: counted, reported, skipped; the stream goes on.

use binance_mock::{BadFrame, Faults, Rate};
use binance_mock::{MockConfig, MockEvent};

use crate::support::{
    Exchange, Listener, PATIENCE, assert_ids_in_order, assert_summary_adds_up, run_to_end,
    summary_count, trade, trade_ids,
};

/// Streams 30 trades of ETHUSDT from a mock that sends `frames` on its first connection
/// after 5 good messages. In market mode ids start wherever the market is when the
/// listener connects; otherwise at 1, with exactly 30 sent.
fn run_with_bad_frames(frames: Vec<BadFrame>, market: bool) -> (Vec<String>, String, Exchange) {
    let faults = Faults {
        faulty_connections: Some(1),
        bad_frames_after: 5,
        bad_frames: frames,
        ..Faults::default()
    };
    let config = MockConfig::new().faults(faults).market(market);
    let config = if market {
        config.rate(Rate::PerSecond(200.0))
    } else {
        config.rate(Rate::Unlimited).count(30)
    };
    let exchange = Exchange::start(config);
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "30",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    (
        stdout.lines().map(str::to_owned).collect(),
        stderr,
        exchange,
    )
}

#[test]
fn every_bad_frame_kind_is_survived_and_reported() {
    let (lines, stderr, _exchange) = run_with_bad_frames(BadFrame::survivable(), false);
    assert_ids_in_order(&lines, &["ETHUSDT"], 30);
    for report in [
        "skipped a frame: invalid JSON",
        "skipped a binary frame",
        "skipped a frame: unexpected event: event type 'mysteryEvent'",
        "skipped a frame: exchange error: code -1121: Invalid symbol.",
        "skipped a control-frame flood",
    ] {
        assert!(stderr.contains(report), "no {report:?} in:\n{stderr}");
    }
    // Both error objects and the control response are counted even when the log is throttled.
    assert!(
        summary_count(&stderr, "ETHUSDT", "skipped") >= 6,
        "{stderr}"
    );
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        0,
        "{stderr}"
    );
    // Bad frames skipped at the socket (binary, pings of the flood) count as received too.
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn an_oversized_frame_costs_a_reconnect_not_the_stream() {
    // Market mode: what the dying connection had in flight is lost, and must be reported.
    let (lines, stderr, exchange) = run_with_bad_frames(vec![BadFrame::Oversized(2 << 20)], true);
    let ids = trade_ids(&lines);
    assert_eq!(ids.len(), 30);
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    let missing: u64 = ids.windows(2).map(|pair| pair[1] - pair[0] - 1).sum();
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "missing"),
        missing,
        "{stderr}"
    );
    assert!(
        stderr.contains("exceeds the 1048576-byte limit"),
        "{stderr}"
    );
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "reconnects"),
        1,
        "{stderr}"
    );
    for _ in 0..2 {
        exchange.expect_event("two connections", |event| {
            matches!(event, MockEvent::Connected { .. })
        });
    }
}

#[test]
fn a_server_shutdown_notice_moves_to_a_new_connection_without_loss() {
    // Market mode: trades happen on the clock, so the two connections overlap in real time.
    let faults = Faults {
        faulty_connections: Some(1),
        bad_frames_after: 5,
        bad_frames: vec![BadFrame::ServerShutdown],
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .faults(faults)
            .market(true)
            .rate(Rate::PerSecond(200.0)),
    );
    let mut listener = Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT"]);
    listener.expect_stderr("announced a shutdown");
    listener.expect_stderr("switched to connection #2");
    // Lines from before, during and after the switch: one unbroken run of ids.
    let ids: Vec<u64> = listener
        .expect_lines(60)
        .iter()
        .map(|line| trade(line).trade_id)
        .collect();
    let expected: Vec<u64> = (ids[0]..ids[0] + 60).collect();
    assert_eq!(ids, expected);
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert_eq!(summary_count(&stderr, "ETHUSDT", "gaps"), 0, "{stderr}");
    assert_summary_adds_up(&stderr, "ETHUSDT");
}
