//! `--metrics ADDR`: `/metrics` parses as Prometheus text and agrees with the exit summary;
//! `/healthz` is 200 while every symbol streams and 503 naming the symbol once it goes
//! silent past its limit; a bad address or a port in use is a one-line usage error. Every
//! wait polls with a deadline.

use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use binance_mock::{BadFrame, Faults, MockConfig, Rate};

use crate::support::prom::{http_get, parse};
use crate::support::{Exchange, Listener, PATIENCE, TempDir, run_to_end, summary_count, trade};

/// How often a test polls an endpoint.
const POLL: Duration = Duration::from_millis(20);

/// The address the listener announced for its metrics.
fn metrics_addr(listener: &Listener) -> String {
    let line = listener.expect_stderr("metrics on http://");
    let start = line.find("http://").expect("a URL") + "http://".len();
    let rest = &line[start..];
    rest[..rest.find('/').expect("a path")].to_owned()
}

/// Polls `GET path` until `done` accepts the answer; fails after [`PATIENCE`].
fn poll_until(addr: &str, path: &str, what: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, body) = http_get(addr, path);
        if done(status, &body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never showed {what}; last: {status} {body}"
        );
        thread::sleep(POLL);
    }
}

#[test]
fn the_scrape_parses_and_its_counters_match_the_exit_summary() {
    let faults = Faults {
        faulty_connections: Some(1),
        bad_frames_after: 5,
        bad_frames: BadFrame::survivable(),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(300)
            .faults(faults),
    );
    // A queue of 8 behind a 1 ms handler: the unlimited burst overflows it.
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--metrics",
        "127.0.0.1:0",
        "--queue",
        "8",
        "--delay",
        "1ms",
        "ETHUSDT",
    ]);
    let addr = metrics_addr(&listener);
    // Drop-oldest keeps the newest: the last trade is written once all has arrived.
    while trade(&listener.expect_line()).trade_id != 300 {}
    // Then every received frame settles in a bucket.
    let settled = poll_until(
        &addr,
        "/metrics",
        "every frame accounted",
        |status, body| {
            let scrape = parse(body);
            let count = |name: &str| scrape.count(name, "ETHUSDT");
            status == 200
                && count("binance_listen_received_total")
                    == [
                        "written",
                        "dropped",
                        "duplicates",
                        "skipped",
                        "discarded",
                        "lost",
                    ]
                    .iter()
                    .map(|bucket| count(&format!("binance_listen_{bucket}_total")))
                    .sum::<u64>()
        },
    );
    let scrape = parse(&settled);
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    for (field, metric) in [
        ("received", "received_total"),
        ("written", "written_total"),
        ("dropped", "dropped_total"),
        ("duplicates", "duplicates_total"),
        ("skipped", "skipped_total"),
        ("discarded", "discarded_total"),
        ("lost", "lost_total"),
        ("gaps", "gaps_total"),
        ("missing", "missing_ids_total"),
        ("reconnects", "reconnects_total"),
    ] {
        assert_eq!(
            scrape.count(&format!("binance_listen_{metric}"), "ETHUSDT"),
            summary_count(&stderr, "ETHUSDT", field),
            "{field}: scrape\n{settled}\nsummary\n{stderr}"
        );
    }
    let count = |name: &str| scrape.count(&format!("binance_listen_{name}"), "ETHUSDT");
    assert!(count("dropped_total") > 0, "{settled}");
    assert!(count("skipped_total") >= 6, "{settled}");
    assert!(count("received_bytes_total") > count("received_total"));
    assert_eq!(count("connected"), 1);
    assert_eq!(count("queue_depth"), 0);
    assert!(count("queue_high_water") >= 1);
    // Processors publish latencies every 100 ms of writing (and at the end): a burst
    // written faster may not show yet, but nothing shows that was not written.
    assert!(count("receive_to_written_seconds_count") <= count("written_total"));
    assert!(scrape.value("binance_listen_last_event_age_seconds", "ETHUSDT") >= 0.0);
    let labels = &scrape
        .samples
        .iter()
        .find(|s| s.name == "binance_listen_written_total")
        .expect("written")
        .labels;
    assert_eq!(labels["stream"], "trade");
    assert_eq!(labels["market"], "spot");
}

#[test]
fn healthz_is_ok_while_streaming_and_names_a_symbol_gone_silent() {
    let dir = TempDir::new();
    let config = dir.write("silence.toml", "[connection]\nmax_silence = \"1s\"\n");
    let config = config.to_str().expect("utf-8 temp path");
    // 40 trades over 2 s, then a silence that pings cannot hide; the replacement streams.
    let faults = Faults {
        faulty_connections: Some(1),
        silent_after: Some(40),
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
        config,
        "--endpoint",
        &exchange.url(),
        "--metrics",
        "127.0.0.1:0",
        "ETHUSDT",
    ]);
    let addr = metrics_addr(&listener);
    poll_until(&addr, "/healthz", "200 ok", |status, body| {
        status == 200 && body == "ok\n"
    });
    // While it streams, the latency histograms fill.
    poll_until(&addr, "/metrics", "latencies", |status, body| {
        let scrape = parse(body);
        status == 200
            && scrape.count("binance_listen_receive_to_written_seconds_count", "ETHUSDT") > 0
            && scrape.count(
                "binance_listen_exchange_to_receive_seconds_count",
                "ETHUSDT",
            ) > 0
    });
    let unhealthy = poll_until(&addr, "/healthz", "503", |status, _| status == 503);
    let lines: Vec<&str> = unhealthy.lines().collect();
    assert!(!lines.is_empty(), "{unhealthy}");
    for line in &lines {
        assert!(
            line.starts_with("ETHUSDT stale: no frame for")
                || line.starts_with("ETHUSDT disconnected"),
            "{unhealthy}"
        );
    }
    // Judged from the frame times: stale as soon as the limit passes, or already replaced.
    if let Some(line) = lines.iter().find(|line| line.contains("stale")) {
        assert!(line.ends_with("(silence limit 1s)"), "{line}");
    }
    // The replacement connection streams again.
    poll_until(&addr, "/healthz", "200 again", |status, _| status == 200);
    drop(listener);
}

#[test]
fn a_bad_metrics_address_or_a_port_in_use_is_a_usage_error() {
    let (status, _, stderr) = run_to_end(&["--metrics", "9100", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("invalid metrics address '9100': expected IP:PORT"),
        "{stderr}"
    );

    let taken = TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let (status, _, stderr) = run_to_end(&["--metrics", &addr, "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "binance-listen: error: cannot serve metrics on {addr}: the port is in use (another binance-listen or exporter?)"
        )
    );
}
