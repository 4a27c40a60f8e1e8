//! `--stats`: periodic per-symbol reports on stderr, for people and for machines, and the
//! latency totals in the exit summary.

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{Exchange, Listener, PATIENCE, run_to_end};

#[test]
fn json_stats_report_counts_queue_and_latency_per_symbol() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(200.0)));
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--stats=200ms",
        "--stats-format",
        "json",
        "ETHUSDT",
        "BNBUSDT",
    ]);
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let line = listener.expect_stderr(r#"{"type":"stats""#);
        let row: serde_json::Value = serde_json::from_str(&line).expect(&line);
        if row["received"].as_u64() > Some(0) {
            assert!(row["rate"].as_f64() > Some(0.0), "{line}");
            assert!(
                row["latency_pipeline_us"]["count"].as_u64().is_some(),
                "{line}"
            );
            for field in [
                "queued",
                "queue_high_water",
                "dropped",
                "duplicates",
                "gaps",
                "reconnects",
            ] {
                assert!(row[field].is_u64(), "no {field} in {line}");
            }
        }
        seen.push(row["symbol"].as_str().unwrap_or_default().to_owned());
    }
    assert!(seen.contains(&"ETHUSDT".to_owned()) && seen.contains(&"BNBUSDT".to_owned()));
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    // The exit summary follows --stats-format: JSON, with the run's latencies.
    let summary = listener.expect_stderr(r#"{"type":"summary","symbol":"ETHUSDT""#);
    let summary: serde_json::Value = serde_json::from_str(&summary).expect(&summary);
    assert!(
        summary["latency_exchange_us"]["count"].as_u64() > Some(0),
        "{summary}"
    );
}

#[test]
fn the_table_has_a_header_and_a_row_per_symbol() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(100.0)));
    let mut listener =
        Listener::start(&["--endpoint", &exchange.url(), "ETHUSDT", "--stats", "200ms"]);
    listener.expect_stderr("binance-listen: stats over the last 200ms");
    let header = listener.expect_stderr("msg/s");
    assert!(header.contains("e→r p99"), "{header}");
    assert!(header.trim_end().chars().count() <= 80, "{header}");
    let row = listener.expect_stderr("  ETHUSDT ");
    assert_eq!(row.split_whitespace().count(), 10, "{row}");
    assert!(row.trim_end().chars().count() <= 80, "{row}");
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
}

#[test]
fn a_symbol_after_stats_is_a_symbol_and_an_interval_is_an_interval() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(3));
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "3",
        "--stats",
        "ETHUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    // --stats was on (the default interval): the summary carries latencies.
    let summary = stderr
        .lines()
        .find(|line| line.starts_with("binance-listen: summary ETHUSDT"))
        .expect("a summary");
    assert!(summary.contains("latency exchange→receive"), "{summary}");

    let mut listener =
        Listener::start(&["--endpoint", &exchange.url(), "--stats", "150ms", "BNBUSDT"]);
    listener.expect_stderr("binance-listen: stats over the last 150ms");
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
}

#[test]
fn a_number_after_stats_is_an_interval_missing_its_unit() {
    let (status, _, stderr) = run_to_end(&["--stats", "10", "ETHUSDT"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("invalid duration '10'"), "{stderr}");
    assert!(stderr.contains("like 200ms or 1.5s"), "{stderr}");
}
