//! Ending a run: signals (with a summary, close frames sent), `--duration`, a closed stdout,
//! and a host that cannot be reached (named, retried, no panic).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use binance_mock::Rate;
use binance_mock::{MockConfig, MockEvent};

use crate::support::{Exchange, Listener, PATIENCE, summary_count, trade, wait_with_deadline};

/// A signal or a closed stdout ends the run promptly, even in the middle of a 10 s
/// `--delay`: well before the delay would have ended. (The second it takes on an idle
/// machine is a figure for the benchmarks, not a bound a loaded test machine must meet.)
const EXIT_AFTER_SIGNAL: Duration = Duration::from_secs(5);

fn signal_interrupts_a_long_delay(signal: &str) {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--delay",
        "ETHUSDT=10s",
        "--stats=100ms",
        "--stats-format",
        "json",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    // Wait until both are streaming: BNBUSDT writes lines; ETHUSDT's first line comes only
    // after its 10 s delay, so wait until its stats show frames queued behind that delay.
    for _ in 0..2 {
        exchange.expect_event("both connections", |event| {
            matches!(event, MockEvent::Connected { .. })
        });
    }
    while trade(&listener.expect_line()).symbol != "BNBUSDT" {}
    loop {
        let row = listener.expect_stderr(r#""symbol":"ETHUSDT""#);
        let row: serde_json::Value = serde_json::from_str(&row).expect("a JSON stats row");
        if row["queued"].as_u64().is_some_and(|queued| queued > 0) {
            break;
        }
    }
    listener.signal(signal);
    let signalled = Instant::now();
    let status = listener.expect_exit_within(PATIENCE);
    let took = signalled.elapsed();
    assert!(status.success(), "{status}");
    assert!(
        took <= EXIT_AFTER_SIGNAL,
        "exit took {took:?} after SIG{signal}"
    );
    let stderr = listener.full_stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSDT", "written"), 0, "{stderr}");
    assert!(
        summary_count(&stderr, "ETHUSDT", "discarded") > 0,
        "queued frames must be reported: {stderr}"
    );
    assert!(
        summary_count(&stderr, "BNBUSDT", "received") > 0,
        "{stderr}"
    );
    for _ in 0..2 {
        exchange.expect_event("a close frame from the listener", |event| {
            matches!(event, MockEvent::ClientClosed { .. })
        });
    }
}

#[test]
fn sigint_stops_within_a_second_with_a_summary_and_close_frames() {
    signal_interrupts_a_long_delay("INT");
}

#[test]
fn sigterm_stops_the_same_way() {
    signal_interrupts_a_long_delay("TERM");
}

#[test]
fn duration_ends_the_run_with_a_summary() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(100.0)));
    let mut listener =
        Listener::start(&["--endpoint", &exchange.url(), "--duration", "1s", "ETHUSDT"]);
    listener.expect_line();
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert!(
        summary_count(&stderr, "ETHUSDT", "received") > 0,
        "{stderr}"
    );
}

#[test]
fn a_closed_stdout_ends_the_program_quietly_with_status_0() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(500.0)));
    let (mut child, stdout) =
        Listener::start_with_stdout(&["--endpoint", &exchange.url(), "ETHUSDT", "BNBUSDT"]);
    // Like `| head -5`: read five lines, then close the pipe.
    let mut reader = BufReader::new(stdout);
    for _ in 0..5 {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).expect("read") > 0);
    }
    drop(reader);
    let closed = Instant::now();
    let status = wait_with_deadline(&mut child, PATIENCE).expect("exits after stdout closes");
    let took = closed.elapsed();
    assert!(status.success(), "{status}");
    // The next line's write finds the pipe closed; at 500 lines/s that is at once.
    assert!(
        took <= EXIT_AFTER_SIGNAL,
        "exit took {took:?} after stdout closed"
    );
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
    }
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("summary"),
        "a closed stdout ends quietly: {stderr}"
    );
}

#[test]
fn an_unreachable_host_is_named_and_retried_without_panicking() {
    // A port that was just free: connections are refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("ws://127.0.0.1:{port}");
    let mut listener = Listener::start(&["--endpoint", &endpoint, "ETHUSDT"]);
    let needle = format!("cannot connect to 127.0.0.1:{port}");
    let first = listener.expect_stderr(&needle);
    assert!(first.contains("retrying in"), "{first}");
    listener.expect_stderr(&needle);
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(summary_count(&stderr, "ETHUSDT", "received"), 0, "{stderr}");
}
