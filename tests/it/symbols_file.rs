//! `--symbols-file FILE` and the config key `symbols_file`: symbols at scale, one per line,
//! united with the command line's in order; a bad line is a usage error naming the file
//! and the line.

use std::fs::File;

use binance_mock::{MockConfig, Rate};

use crate::support::{Exchange, TempDir, run_to_end, run_to_end_with, trade};

/// The symbols of the lines of a run, in order of first appearance.
fn symbols_seen(stdout: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for line in stdout.lines() {
        let symbol = trade(line).symbol;
        if !seen.contains(&symbol) {
            seen.push(symbol);
        }
    }
    seen.sort();
    seen
}

/// The symbols of the exit summary, in its order (the order listened to).
fn summary_order(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|line| line.starts_with("binance-listen: summary "))
        .filter_map(|line| line.split_whitespace().nth(2).map(str::to_owned))
        .collect()
}

#[test]
fn the_file_adds_to_the_command_line_in_order_with_repeats_collapsed() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(2));
    let dir = TempDir::new();
    let list = dir.write(
        "symbols.txt",
        "# majors\nbnbusdt\n\nETHUSDT   # also on the command line\nsolusdt\n",
    );
    let (status, stdout, stderr) = run_to_end(&[
        "--endpoint",
        &exchange.url(),
        "--max-messages",
        "2",
        "--symbols-file",
        list.to_str().unwrap(),
        "ETHUSDT",
        "XRPUSDT",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        summary_order(&stderr),
        ["ETHUSDT", "XRPUSDT", "BNBUSDT", "SOLUSDT"]
    );
    assert_eq!(
        symbols_seen(&stdout),
        ["BNBUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    );
}

#[test]
fn a_dash_reads_the_symbols_from_standard_input() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(1));
    let dir = TempDir::new();
    let input = dir.write("piped.txt", "ethusdt\nbnbusdt\n");
    let (status, stdout, stderr) = run_to_end_with(
        &[
            "--endpoint",
            &exchange.url(),
            "--max-messages",
            "1",
            "--symbols-file",
            "-",
        ],
        |command| {
            command.stdin(File::open(&input).expect("input file"));
        },
    );
    assert!(status.success(), "{stderr}");
    assert_eq!(symbols_seen(&stdout), ["BNBUSDT", "ETHUSDT"]);
}

#[test]
fn the_config_key_is_relative_to_the_config_file() {
    let exchange = Exchange::start(MockConfig::new().rate(Rate::Unlimited).count(1));
    let dir = TempDir::new();
    dir.write("watch.txt", "SOLUSDT\n");
    let config = dir.write(
        "listen.toml",
        format!(
            "symbols = [\"ETHUSDT\"]\nsymbols_file = \"watch.txt\"\nendpoint = \"{}\"\nmax_messages = 1\n",
            exchange.url()
        ),
    );
    let (status, stdout, stderr) = run_to_end(&["--config", config.to_str().unwrap()]);
    assert!(status.success(), "{stderr}");
    assert_eq!(summary_order(&stderr), ["ETHUSDT", "SOLUSDT"]);
    assert_eq!(symbols_seen(&stdout), ["ETHUSDT", "SOLUSDT"]);
}

/// Runs with `args`, expecting a usage error; returns its one line.
fn usage_error(args: &[&str]) -> String {
    let (status, stdout, stderr) = run_to_end(args);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    lines[0].to_owned()
}

#[test]
fn a_bad_line_or_file_is_a_usage_error_naming_it() {
    let dir = TempDir::new();
    let list = dir.write("symbols.txt", "ETHUSDT\n# fine\nETH/USDT\n");
    let path = list.to_str().unwrap();
    let line = usage_error(&["--symbols-file", path, "BNBUSDT"]);
    assert_eq!(
        line,
        format!(
            "binance-listen: error: symbols file '{path}', line 3: invalid symbol 'ETH/USDT': expected letters and digits only, like ETHUSDT (did you mean ETHUSDT?)"
        )
    );
    let missing = dir.path_of("missing.txt");
    let missing = missing.to_str().unwrap();
    let line = usage_error(&["--symbols-file", missing]);
    assert!(
        line.starts_with(&format!(
            "binance-listen: error: cannot read symbols file '{missing}': "
        )),
        "{line}"
    );
    let binary = dir.write("binary.txt", b"ETHUSDT\n\xff\xfe\n");
    let line = usage_error(&["--symbols-file", binary.to_str().unwrap()]);
    assert!(line.contains("line 2: not UTF-8 text"), "{line}");
    // An empty list and no symbol at all: the usual error.
    let empty = dir.write("empty.txt", "# none yet\n");
    let line = usage_error(&["--symbols-file", empty.to_str().unwrap()]);
    assert!(line.contains("no symbol given"), "{line}");
}
