//! Configuration: layering, defaults, cross-checks and the exact error lines.

use std::path::Path;

use clap::Parser;

use super::*;
use crate::output::OutputFormat;
use crate::pipeline::queue::OverflowPolicy;
use crate::stats::report::StatsFormat;

fn cli(args: &[&str]) -> Cli {
    Cli::try_parse_from(std::iter::once("binance-listen").chain(args.iter().copied())).unwrap()
}

/// Builds from `args` and a config file holding `text`, without touching the disk.
fn with_file(args: &[&str], text: &str) -> Result<Config, UsageError> {
    let path = Path::new("/etc/listen.toml");
    merge::merge(cli(args), &FileConfig::parse(text.to_owned(), path)?)
}

#[test]
fn defaults_are_spot_trades() {
    let config = build(cli(&["ethusdt", "BNBUSDT", "ETHUSDT"])).unwrap();
    let names: Vec<&str> = config.symbols.iter().map(Symbol::as_str).collect();
    assert_eq!(names, ["ETHUSDT", "BNBUSDT"]);
    assert_eq!(config.kinds, [StreamKind::Trade]);
    assert_eq!(
        config.source,
        Source::Exchange("wss://stream.binance.com:9443".parse().unwrap())
    );
    assert_eq!(config.queue_capacity, DEFAULT_QUEUE_CAPACITY);
    assert_eq!(config.overflow, OverflowPolicy::DropOldest);
    // JSON when piped (as under CI); the readable form on a terminal.
    assert_eq!(
        config.format,
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            OutputFormat::Pretty {
                colour: true,
                width: None,
            }
        } else {
            OutputFormat::Json
        }
    );
    assert_eq!(config.delays, [Duration::ZERO, Duration::ZERO]);
}

#[test]
fn delays_resolve_per_symbol_and_reject_strangers() {
    let config = build(cli(&[
        "--delay",
        "5ms",
        "--delay",
        "ETHUSDT=200ms",
        "ETHUSDT",
        "BNBUSDT",
    ]))
    .unwrap();
    assert_eq!(
        config.delays,
        [Duration::from_millis(200), Duration::from_millis(5)]
    );
    let error = build(cli(&["--delay", "XRPUSDT=1s", "ETHUSDT", "BNBUSDT"])).unwrap_err();
    assert_eq!(
        error.0,
        "invalid delay for 'XRPUSDT': XRPUSDT is not one of the symbols listened to (ETHUSDT, BNBUSDT)"
    );
}

#[test]
fn no_symbol_is_a_usage_error() {
    let error = build(cli(&[])).unwrap_err();
    assert!(error.0.starts_with("no symbol given"), "{error}");
}

#[test]
fn every_endpoint_is_paced_by_default_except_the_simulator() {
    let binance = build(cli(&["ETHUSDT"])).unwrap();
    assert_eq!(binance.connection.attempts_per_window, 300);
    let local = build(cli(&["--endpoint", "ws://127.0.0.1:9000", "ETHUSDT"])).unwrap();
    assert_eq!(local.connection.attempts_per_window, 300);
    let simulated = build(cli(&["--simulate", "ETHUSDT"])).unwrap();
    assert_eq!(simulated.connection.attempts_per_window, UNPACED_ATTEMPTS);
    let asked = with_file(
        &["--endpoint", "ws://127.0.0.1:9000", "ETHUSDT"],
        "[connection]\nattempts_per_window = 1000000\n",
    )
    .unwrap();
    assert_eq!(asked.connection.attempts_per_window, 1_000_000);
}

#[test]
fn silence_limits_follow_the_kinds_the_market_and_the_settings() {
    let trades = build(cli(&["ETHUSDT"])).unwrap();
    assert_eq!(trades.connection.silence, None, "trades may be quiet");
    let klines = build(cli(&["--stream", "trade,kline_1m", "ETHUSDT"])).unwrap();
    let limit = klines.connection.silence.unwrap();
    assert_eq!(limit.after, Duration::from_secs(40));
    assert_eq!(limit.kind, "kline_1m".parse().unwrap());
    let futures = build(cli(&[
        "--market",
        "futures",
        "--stream",
        "markPrice",
        "BTCUSDT",
    ]))
    .unwrap();
    assert_eq!(
        futures.connection.silence.unwrap().after,
        Duration::from_secs(60)
    );
    let quick = with_file(
        &["--stream", "kline_1s", "ETHUSDT"],
        "[connection]\nsilence_multiple = 2\nsilence_floor = \"1s\"\n",
    )
    .unwrap();
    assert_eq!(
        quick.connection.silence.unwrap().after,
        Duration::from_secs(2)
    );
    let asked = with_file(
        &["--max-silence", "45s", "ETHUSDT"],
        "[connection]\nmax_silence = \"2m\"\n",
    )
    .unwrap();
    assert_eq!(
        asked.connection.silence.unwrap().after,
        Duration::from_secs(45),
        "the flag wins"
    );
    let error = Cli::try_parse_from(["binance-listen", "--max-silence", "10ms", "ETHUSDT"])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("invalid silence limit '10ms': expected at least 1s, like 30s or 5m"),
        "{error}"
    );
    let error = with_file(&["ETHUSDT"], "[connection]\nsilence_multiple = -1\n").unwrap_err();
    assert!(error.0.contains("connection.silence_multiple"), "{error}");
    let handshake = with_file(&["ETHUSDT"], "[connection]\nhandshake_timeout = \"2s\"\n").unwrap();
    assert_eq!(
        handshake.connection.handshake_timeout,
        Duration::from_secs(2)
    );
}

#[test]
fn futures_have_no_trade_stream() {
    let error = build(cli(&["--market", "futures", "BTCUSDT"])).unwrap_err();
    assert_eq!(
        error.0,
        "stream kind 'trade' is not offered on the futures market; use aggTrade for futures trades"
    );
    let config = build(cli(&[
        "--market", "futures", "--stream", "aggTrade", "BTCUSDT",
    ]))
    .unwrap();
    assert_eq!(
        config.source,
        Source::Exchange("wss://fstream.binance.com/market".parse().unwrap())
    );
}

#[test]
fn flags_win_over_the_file_and_the_file_over_defaults() {
    let file = r#"
symbols = ["solusdt"]
stream = "aggTrade"
queue = 10
overflow = "block"
format = "raw"
delay = ["SOLUSDT=1s"]
max_messages = 7
duration = "1m"
endpoint = "ws://127.0.0.1:9001"
"#;
    let from_file = with_file(&[], file).unwrap();
    assert_eq!(from_file.symbols[0].as_str(), "SOLUSDT");
    assert_eq!(from_file.kinds, [StreamKind::AggTrade]);
    assert_eq!(from_file.queue_capacity, 10);
    assert_eq!(from_file.overflow, OverflowPolicy::Block);
    assert_eq!(from_file.format, OutputFormat::Raw);
    assert_eq!(from_file.delays, [Duration::from_secs(1)]);
    assert_eq!(from_file.max_messages, Some(7));
    assert_eq!(from_file.duration, Some(Duration::from_secs(60)));
    assert_eq!(
        from_file.source,
        Source::Exchange("ws://127.0.0.1:9001".parse().unwrap())
    );

    let flags = with_file(
        &[
            "--queue",
            "20",
            "--overflow",
            "drop-newest",
            "--format",
            "json",
            "--delay",
            "SOLUSDT=2s",
            "--endpoint",
            "ws://127.0.0.1:9002",
            "SOLUSDT",
        ],
        file,
    )
    .unwrap();
    assert_eq!(flags.queue_capacity, 20);
    assert_eq!(flags.overflow, OverflowPolicy::DropNewest);
    assert_eq!(flags.format, OutputFormat::Json);
    assert_eq!(flags.delays, [Duration::from_secs(2)]);
    assert_eq!(
        flags.source,
        Source::Exchange("ws://127.0.0.1:9002".parse().unwrap())
    );
    assert_eq!(
        flags.max_messages,
        Some(7),
        "unset flags keep the file's value"
    );
}

#[test]
fn bad_file_values_name_the_file_key_and_accepted_values() {
    let error = with_file(&["ETHUSDT"], "overflow = \"lose\"\n").unwrap_err();
    assert_eq!(
        error.0,
        "config file '/etc/listen.toml', line 1: overflow: unknown overflow policy 'lose': expected drop-oldest, drop-newest or block"
    );
    let error = with_file(&["ETHUSDT"], "queue = 0\n").unwrap_err();
    assert!(
        error.0.ends_with(
            "queue: invalid queue capacity '0': expected a whole number from 1 to 1000000"
        ),
        "{error}"
    );
}

#[test]
fn unknown_keys_and_bad_toml_are_reported_on_one_line() {
    let error = with_file(&[], "symbols = [\"ETHUSDT\"]\nqueue_size = 5\n").unwrap_err();
    assert!(error.0.contains("line 2"), "{error}");
    assert!(error.0.contains("queue_size"), "{error}");
    assert!(!error.0.contains('\n'));
    let error = with_file(&[], "symbols = [\n").unwrap_err();
    assert!(error.0.starts_with("config file '"), "{error}");
    assert!(!error.0.contains('\n'));
}

#[test]
fn a_missing_or_empty_ca_file_is_a_usage_error() {
    let error = build(cli(&["--ca-cert", "/nonexistent/ca.pem", "ETHUSDT"])).unwrap_err();
    assert!(
        error
            .0
            .starts_with("cannot read CA certificate file '/nonexistent/ca.pem'")
    );
    let not_pem = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let error = build(cli(&["--ca-cert", not_pem, "ETHUSDT"])).unwrap_err();
    assert!(
        error.0.starts_with("invalid CA certificate file"),
        "{error}"
    );
}

#[test]
fn the_example_config_parses_and_matches_the_defaults() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
    let config = build(cli(&["--config", path.to_str().unwrap()])).unwrap();
    let defaults = build(cli(&["ETHUSDT", "BNBUSDT"])).unwrap();
    assert_eq!(format!("{config:?}"), format!("{defaults:?}"));
}

#[test]
fn gap_markers_default_on_for_files_and_off_for_pipes() {
    let dir =
        std::env::temp_dir().join(format!("binance-listen-gap-markers-{}", std::process::id()));
    let dir_text = dir.to_str().unwrap();
    let markers = |args: &[&str]| build(cli(args)).unwrap().gap_markers;
    assert!(!markers(&["ETHUSDT"]), "stdout");
    assert!(!markers(&["--exec", "cat", "ETHUSDT"]), "handlers");
    assert!(markers(&["--output-dir", dir_text, "ETHUSDT"]), "files");
    assert!(markers(&["--gap-markers", "on", "ETHUSDT"]));
    assert!(!markers(&[
        "--gap-markers",
        "OFF",
        "--output-dir",
        dir_text,
        "ETHUSDT"
    ]));
    let from_file = |args: &[&str], text: &str| with_file(args, text).unwrap().gap_markers;
    assert!(from_file(&["ETHUSDT"], "gap_markers = \"on\"\n"));
    assert!(
        from_file(&["ETHUSDT"], "gap_markers = true\n"),
        "a TOML boolean"
    );
    assert!(!from_file(
        &["--gap-markers", "off", "ETHUSDT"],
        "gap_markers = \"on\"\n"
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_gap_markers_value_is_one_clear_error() {
    let error = Cli::try_parse_from(["binance-listen", "--gap-markers", "maybe", "ETHUSDT"])
        .unwrap_err()
        .to_string();
    let first = error.lines().next().unwrap();
    assert!(
        first.ends_with("invalid gap markers setting 'maybe': expected on or off"),
        "{error}"
    );
    let error = with_file(&["ETHUSDT"], "gap_markers = 1\n").unwrap_err();
    assert_eq!(
        error.0,
        "config file '/etc/listen.toml', line 1: gap_markers: invalid gap markers setting '1': expected on or off"
    );
}

/// Parses `args` the way the binary does: through [`argv::prepare`] first.
fn prepared_cli(args: &[&str]) -> Cli {
    let words = argv::prepare(std::iter::once("binance-listen").chain(args.iter().copied()));
    Cli::try_parse_from(words).unwrap()
}

#[test]
fn stats_takes_an_interval_but_never_a_symbol() {
    let config = build(prepared_cli(&["--stats", "ETHUSDT"])).unwrap();
    assert_eq!(config.stats, Some(Duration::from_secs(5)));
    assert_eq!(config.symbols[0].as_str(), "ETHUSDT");
    let config = build(prepared_cli(&["--stats", "10s", "ETHUSDT"])).unwrap();
    assert_eq!(config.stats, Some(Duration::from_secs(10)));
    assert_eq!(config.symbols.len(), 1);
    let config = build(prepared_cli(&["ETHUSDT", "--stats=250ms"])).unwrap();
    assert_eq!(config.stats, Some(Duration::from_millis(250)));
}

#[test]
fn reserved_words_are_subcommands_first_and_symbols_after_double_dash() {
    let cli = prepared_cli(&["completions", "zsh"]);
    assert_eq!(
        cli.command,
        Some(commands::Command::Completions {
            shell: Some(clap_complete::Shell::Zsh)
        })
    );
    let config = build(prepared_cli(&["--", "man", "ETHUSDT"])).unwrap();
    let names: Vec<&str> = config.symbols.iter().map(Symbol::as_str).collect();
    assert_eq!(names, ["MAN", "ETHUSDT"]);
    let config = build(prepared_cli(&["REPLAY"])).unwrap();
    assert_eq!(config.symbols[0].as_str(), "REPLAY");
}

#[test]
fn json_logs_make_stats_json_unless_asked_otherwise() {
    let json = with_file(&["--log-format", "json", "ETHUSDT"], "").unwrap();
    assert_eq!(json.log.format, terminal::LogFormat::Json);
    assert!(!json.log.colour);
    assert_eq!(json.stats_format, StatsFormat::Json);
    let table = with_file(
        &["ETHUSDT"],
        "log_format = \"json\"\nstats_format = \"table\"\n",
    )
    .unwrap();
    assert_eq!(table.stats_format, StatsFormat::Table);
    let text = build(cli(&["ETHUSDT"])).unwrap();
    assert_eq!(text.stats_format, StatsFormat::Table);
}

#[test]
fn colour_always_colours_pretty_lines_anywhere_and_never_nowhere() {
    let always = with_file(&["--format", "pretty", "ETHUSDT"], "color = \"always\"\n").unwrap();
    assert_eq!(
        always.format,
        OutputFormat::Pretty {
            colour: true,
            width: None
        }
    );
    assert!(always.log.colour);
    let never = with_file(&["--format", "pretty", "--color", "never", "ETHUSDT"], "").unwrap();
    assert_eq!(
        never.format,
        OutputFormat::Pretty {
            colour: false,
            width: None
        }
    );
    assert!(!never.log.colour);
    let error = with_file(&["ETHUSDT"], "color = \"rainbow\"\n").unwrap_err();
    assert_eq!(
        error.0,
        "config file '/etc/listen.toml', line 1: color: unknown colour choice 'rainbow': expected auto, always or never"
    );
}

#[test]
fn a_bad_symbols_file_key_names_the_config_file() {
    let error = with_file(&["ETHUSDT"], "symbols_file = \"/nonexistent/list.txt\"\n").unwrap_err();
    assert!(
        error
            .0
            .starts_with("cannot read symbols file '/nonexistent/list.txt'"),
        "{error}"
    );
    let error = with_file(&["ETHUSDT"], "symbols_file = [\"a\", \"b\"]\n").unwrap_err();
    assert!(
        error
            .0
            .contains("line 1: symbols_file: expected a single value"),
        "{error}"
    );
}

#[test]
fn nats_and_its_group_come_from_flags_or_the_file() {
    let config = with_file(
        &["ETHUSDT"],
        "nats = \"nats://127.0.0.1:4222\"\nnats_subject = \"md.{symbol}.{stream}\"\ngroup = \"md\"\nreplicas = 2\nlease = \"3s\"\nmember = \"eu-1\"\n",
    )
    .unwrap();
    let OutputTarget::Nats(settings) = &config.output else {
        panic!("{:?}", config.output);
    };
    assert_eq!(settings.describe_servers(), "nats://127.0.0.1:4222");
    assert_eq!(settings.subject.to_string(), "md.{symbol}.{stream}");
    assert_eq!(settings.stream, "BINANCE");
    let group = settings.group.as_ref().unwrap();
    assert_eq!(
        (
            group.name.as_str(),
            group.replicas,
            group.lease,
            group.member.as_deref()
        ),
        ("md", 2, Duration::from_secs(3), Some("eu-1"))
    );
    assert_eq!(config.format, OutputFormat::Json);
    assert!(!config.gap_markers);

    for (args, file, wanted) in [
        (
            &["--nats", "nats://x:1", "--format", "pretty"][..],
            "",
            "'pretty' with nats",
        ),
        (
            &["--nats", "nats://x:1", "--exec", "cat"][..],
            "",
            "cannot be used with",
        ),
        (
            &[][..],
            "exec = \"cat\"\nnats = \"nats://x:1\"\n",
            "only one of output_dir, exec and nats",
        ),
        (&["--group", "g"][..], "", "add --nats URL to --group"),
        (&["--lease", "2s"][..], "", "add --group NAME"),
        (
            &[
                "--nats",
                "nats://x:1",
                "--group",
                "g",
                "--max-messages",
                "5",
            ][..],
            "",
            "max_messages does not apply to a group",
        ),
        (
            &["--nats", "nats://x:1", "--replicas", "9"][..],
            "",
            "invalid value '9'",
        ),
        (
            &[][..],
            "nats_subject = \"md.{symbol}\"\n",
            "{stream} must appear exactly once",
        ),
        (
            &[][..],
            "lease = \"10m\"\n",
            "expected a duration from 1s to 5m",
        ),
    ] {
        let mut args = args.to_vec();
        args.push("ETHUSDT");
        let error = match Cli::try_parse_from(
            std::iter::once("binance-listen").chain(args.iter().copied()),
        ) {
            Ok(cli) => {
                let path = std::path::Path::new("test.toml");
                FileConfig::parse(file.to_owned(), path)
                    .and_then(|file| merge::merge(cli, &file))
                    .unwrap_err()
                    .to_string()
            }
            Err(error) => error.to_string(),
        };
        assert!(error.contains(wanted), "{args:?} {file:?}: {error}");
    }
}

#[test]
fn book_settings_come_from_flags_over_the_file() {
    let file = "book_depth = 50\nbook_interval = \"1s\"\nrest_endpoint = \"http://127.0.0.1:9/\"\n";
    let config = with_file(&["--book-depth", "5", "ETHUSDT"], file).unwrap();
    assert_eq!(config.book.depth, 5, "the flag wins");
    assert_eq!(config.book.interval, Some(Duration::from_secs(1)));
    assert_eq!(config.book.rest_base.as_deref(), Some("http://127.0.0.1:9"));
    let defaults = build(cli(&["ETHUSDT"])).unwrap().book;
    assert_eq!((defaults.depth, defaults.interval), (20, None));
    assert_eq!(defaults.rest_base, None, "the market's own");
    let private = build(cli(&["--endpoint", "wss://localhost:9443", "ETHUSDT"])).unwrap();
    assert_eq!(
        private.book.rest_base.as_deref(),
        Some("https://localhost:9443"),
        "snapshots from --endpoint's host and port"
    );
    let error = with_file(&["ETHUSDT"], "book_depth = 0\n").unwrap_err();
    assert!(error.0.contains("invalid book depth '0'"), "{error}");
}
