//! Bad input: one stderr line naming the value and what is accepted, status 2, before any
//! connection is opened. Never a panic or a backtrace.

use binance_mock::MockConfig;
use binance_mock::Rate;

use crate::support::{Exchange, TempDir, run_to_end};

/// Runs the binary with `args` and checks the usage-error contract; returns the line.
fn usage_error(args: &[&str]) -> String {
    let (status, stdout, stderr) = run_to_end(args);
    assert_eq!(status.code(), Some(2), "args {args:?}; stderr:\n{stderr}");
    assert!(stdout.is_empty(), "args {args:?} wrote to stdout: {stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "args {args:?}: expected one stderr line, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("binance-listen: error: "), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    lines[0].to_owned()
}

fn assert_names(line: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            line.contains(needle),
            "{line:?} does not mention {needle:?}"
        );
    }
}

#[test]
fn malformed_symbols_are_rejected_with_a_hint() {
    let line = usage_error(&["ETH-USDT"]);
    assert_names(
        &line,
        &["'ETH-USDT'", "letters and digits", "did you mean ETHUSDT?"],
    );
    let line = usage_error(&["ETHUSDT", "ETH/USDT"]);
    assert_names(&line, &["'ETH/USDT'", "did you mean ETHUSDT?"]);
    let line = usage_error(&["ETHUSDT", ""]);
    assert_names(&line, &["''", "cannot be empty"]);
}

#[test]
fn no_symbol_at_all_is_a_usage_error() {
    let line = usage_error(&[]);
    assert_names(&line, &["no symbol given", "ETHUSDT"]);
}

#[test]
fn endpoints_must_be_ws_or_wss() {
    for endpoint in [
        "http://127.0.0.1:9000",
        "ftp://example.com",
        "127.0.0.1:9000",
        "ws://host:99999",
    ] {
        let line = usage_error(&["--endpoint", endpoint, "ETHUSDT"]);
        assert_names(&line, &[endpoint, "ws://host[:port] or wss://host[:port]"]);
    }
}

#[test]
fn unknown_stream_kinds_list_the_known_ones() {
    let line = usage_error(&["--stream", "depth9", "ETHUSDT"]);
    assert_names(&line, &["'depth9'", "trade, aggTrade, bookTicker"]);
}

#[test]
fn bad_delays_are_rejected() {
    let line = usage_error(&["--delay", "XRPUSDT=1s", "ETHUSDT", "BNBUSDT"]);
    assert_names(
        &line,
        &["XRPUSDT", "not one of the symbols", "ETHUSDT, BNBUSDT"],
    );
    let line = usage_error(&["--delay", "ETHUSDT=fast", "ETHUSDT"]);
    assert_names(&line, &["'ETHUSDT=fast'", "us, ms, s, m"]);
    let line = usage_error(&["--delay", "200", "ETHUSDT"]);
    assert_names(&line, &["'200'", "200ms"]);
}

#[test]
fn bad_numbers_and_choices_name_what_is_accepted() {
    let cases: [(&[&str], &[&str]); 6] = [
        (&["--queue", "0"], &["'0'", "from 1 to 1000000"]),
        (&["--queue", "lots"], &["'lots'", "whole number"]),
        (
            &["--overflow", "lose"],
            &["'lose'", "drop-oldest, drop-newest or block"],
        ),
        (&["--format", "xml"], &["'xml'", "json, raw or pretty"]),
        (
            &["--market", "mars"],
            &["'mars'", "spot, futures, coin-futures, testnet, us"],
        ),
        (&["--max-messages", "0"], &["'0'", "at least 1"]),
    ];
    for (flags, needles) in cases {
        let mut args = flags.to_vec();
        args.push("ETHUSDT");
        assert_names(&usage_error(&args), needles);
    }
}

#[test]
fn unknown_flags_and_conflicts_are_usage_errors() {
    assert_names(
        &usage_error(&["--bogus", "ETHUSDT"]),
        &["--bogus", "--help"],
    );
    assert_names(
        &usage_error(&["--simulate", "--endpoint", "ws://127.0.0.1:1", "ETHUSDT"]),
        &["--simulate", "--endpoint"],
    );
    assert_names(
        &usage_error(&["--market", "futures", "ETHUSDT"]),
        &["'trade'", "futures", "aggTrade"],
    );
}

#[test]
fn missing_files_are_usage_errors() {
    assert_names(
        &usage_error(&["--config", "/nonexistent/binance-listen.toml", "ETHUSDT"]),
        &["/nonexistent/binance-listen.toml"],
    );
    assert_names(
        &usage_error(&["--ca-cert", "/nonexistent/ca.pem", "ETHUSDT"]),
        &["/nonexistent/ca.pem"],
    );
    let dir = TempDir::new();
    let config = dir.write("bad.toml", "queue = \"many\"\n");
    assert_names(
        &usage_error(&["--config", config.to_str().unwrap(), "ETHUSDT"]),
        &["bad.toml", "queue", "'many'"],
    );
}

#[test]
fn nothing_connects_before_every_value_is_checked() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::PerSecond(10.0)));
    let url = exchange.url();
    usage_error(&["--endpoint", &url, "--queue", "0", "ETHUSDT"]);
    usage_error(&["--endpoint", &url, "--delay", "BNBUSDT=1s", "ETHUSDT"]);
    usage_error(&["--endpoint", &url, "ETHUSDT", "BAD-SYMBOL"]);
    assert_eq!(exchange.connections_left_in_events(), 0);
}

#[test]
fn bad_colour_log_format_and_symbols_file_values_name_what_is_accepted() {
    assert_names(
        &usage_error(&["--color", "rainbow", "ETHUSDT"]),
        &["'rainbow'", "auto, always or never"],
    );
    assert_names(
        &usage_error(&["--log-format", "xml", "ETHUSDT"]),
        &["'xml'", "text or json"],
    );
    assert_names(
        &usage_error(&["--symbols-file", "/nonexistent/symbols.txt", "ETHUSDT"]),
        &["cannot read symbols file '/nonexistent/symbols.txt'"],
    );
    // The tip clap gives for a near miss stays on the one line.
    assert_names(
        &usage_error(&["--colour-mode", "never", "ETHUSDT"]),
        &["--colour-mode", "tip:"],
    );
}

#[test]
fn help_shows_examples_and_exits_0() {
    let (status, stdout, _) = run_to_end(&["--help"]);
    assert!(status.success());
    assert!(stdout.contains("Examples:"), "{stdout}");
    assert!(stdout.contains("--simulate ETHUSDT BNBUSDT"), "{stdout}");
    assert!(stdout.contains("--delay"), "{stdout}");
}
