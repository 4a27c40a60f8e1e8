//! Flag → file → default, for every key, through one helper ([`layered`]), then the checks
//! that span keys (a kind the market lacks, a delay for a symbol not listened to, two
//! outputs at once). The file's value is always parsed, so a bad file is reported even
//! when a flag overrides the key.

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use binance_streams::{Market, StreamKind, StreamKinds, Symbol};

use super::book::{BookFlags, book_config, check_book_kinds};
use super::cli::Cli;
use super::file::FileConfig;
use super::output::output_target;
use super::resolve::{load_ca_certs, resolve_delays};
use super::symbols_file::add_listed;
use super::terminal::{self, ColourChoice, LogFormat, LogSettings, no_color_env};
use super::values::{
    DelaySpec, parse_connection_age, parse_gap_markers, parse_max_messages, parse_max_silence,
    parse_queue_bytes, parse_queue_capacity, parse_run_duration, parse_silence_multiple,
    parse_stats_interval,
};
use super::{
    Config, DEFAULT_CONNECTION, DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_CAPACITY, DEFAULT_SILENCE_FLOOR,
    DEFAULT_SILENCE_MULTIPLE, OutputTarget, Source, UNPACED_ATTEMPTS, UsageError,
};
use crate::output::OutputFormat;
use crate::pipeline::reader::ConnectionSettings;
use crate::pipeline::reader::health::SilenceRule;
use crate::pipeline::reader::link::Liveness;
use crate::stats::metrics::{bind_metrics, parse_metrics_addr};
use crate::stats::report::StatsFormat;
use crate::util::duration::parse_duration;

/// One setting's layers: the flag wins, else the file, else nothing. The file's value was
/// parsed (and an error returned) before this is called, whichever layer wins.
pub(super) fn layered<T>(
    flag: Option<T>,
    file: Result<Option<T>, UsageError>,
) -> Result<Option<T>, UsageError> {
    let file = file?;
    Ok(flag.or(file))
}

/// `FromStr` as a parser for [`FileConfig::value`].
pub(super) fn parsed<T: FromStr<Err = String>>(text: &str) -> Result<T, String> {
    text.parse()
}

/// Merges `cli` over `file` over the defaults, then cross-checks.
pub(super) fn merge(cli: Cli, file: &FileConfig) -> Result<Config, UsageError> {
    let keys = &file.keys;
    let output = output_target(&cli, file)?;
    let symbols = unique(
        layered(
            (!cli.symbols.is_empty()).then_some(cli.symbols),
            file.list("symbols", keys.symbols.as_ref(), parsed::<Symbol>),
        )?
        .unwrap_or_default(),
    );
    let symbols = add_listed(symbols, cli.symbols_file, file)?;
    if symbols.is_empty() {
        return Err(UsageError(
            "no symbol given: name at least one, like 'binance-listen ETHUSDT BNBUSDT', or list them under 'symbols' in the config file"
                .to_owned(),
        ));
    }
    let market = layered(
        cli.market,
        file.value("market", keys.market.as_ref(), parsed),
    )?
    .unwrap_or_default();
    let kinds = unique(
        layered(
            (!cli.streams.is_empty())
                .then(|| cli.streams.into_iter().flat_map(|kinds| kinds.0).collect()),
            file.list("stream", keys.stream.as_ref(), parsed::<StreamKinds>)
                .map(|lists| lists.map(|lists| lists.into_iter().flat_map(|l| l.0).collect())),
        )?
        .unwrap_or_else(|| vec![StreamKind::Trade]),
    );
    check_market_offers(market, &kinds)?;
    check_book_kinds(&kinds)?;
    let endpoint = layered(
        cli.endpoint,
        file.value("endpoint", keys.endpoint.as_ref(), parsed),
    )?;
    let book = book_config(
        BookFlags {
            depth: cli.book_depth,
            interval: cli.book_interval,
            rest_endpoint: cli.rest_endpoint.clone(),
        },
        endpoint.as_ref(),
        file,
    )?;
    let source = if cli.simulate {
        if !cfg!(feature = "simulate") {
            return Err(UsageError(
                "--simulate is not available: this binance-listen was built without the simulator (cargo feature `simulate`)"
                    .to_owned(),
            ));
        }
        Source::Simulate
    } else {
        Source::Exchange(match endpoint {
            Some(endpoint) => endpoint,
            None => market_endpoint(market, &kinds)?,
        })
    };
    let queue_capacity = layered(
        cli.queue,
        file.value("queue", keys.queue.as_ref(), parse_queue_capacity),
    )?
    .unwrap_or(DEFAULT_QUEUE_CAPACITY);
    let queue_bytes = layered(
        cli.queue_bytes,
        file.value("queue_bytes", keys.queue_bytes.as_ref(), parse_queue_bytes),
    )?
    .unwrap_or(DEFAULT_QUEUE_BYTES);
    let overflow = layered(
        cli.overflow,
        file.value("overflow", keys.overflow.as_ref(), parsed),
    )?
    .unwrap_or_default();
    let format = layered(
        cli.format,
        file.value("format", keys.format.as_ref(), parsed),
    )?;
    let format = settle_format(format, &output);
    if matches!(output, OutputTarget::Nats(_)) && matches!(format, OutputFormat::Pretty { .. }) {
        return Err(UsageError(
            "invalid format 'pretty' with nats: NATS carries json or raw lines, for programs to read"
                .to_owned(),
        ));
    }
    // In-band markers suit outputs kept for later (files); a pipe's reader is told on
    // stderr unless it asks for them.
    let gap_markers = layered(
        cli.gap_markers,
        file.value("gap_markers", keys.gap_markers.as_ref(), parse_gap_markers),
    )?
    .unwrap_or(matches!(output, OutputTarget::Directory(_)));
    let colour: ColourChoice =
        layered(cli.color, file.value("color", keys.color.as_ref(), parsed))?.unwrap_or_default();
    let format = terminal::with_colour(format, colour);
    let log_format: LogFormat = layered(
        cli.log_format,
        file.value("log_format", keys.log_format.as_ref(), parsed),
    )?
    .unwrap_or_default();
    let max_messages = layered(
        cli.max_messages,
        file.value(
            "max_messages",
            keys.max_messages.as_ref(),
            parse_max_messages,
        ),
    )?;
    if max_messages.is_some()
        && matches!(&output, OutputTarget::Nats(settings) if settings.group.is_some())
    {
        return Err(UsageError(
            "max_messages does not apply to a group: its members share symbols until stopped (use --duration)"
                .to_owned(),
        ));
    }
    let duration = layered(
        cli.duration,
        file.value("duration", keys.duration.as_ref(), parse_run_duration),
    )?;
    // Delays add up across layers (file first, flags after, later ones win per symbol).
    let mut delay_specs = file
        .list("delay", keys.delay.as_ref(), parsed::<DelaySpec>)?
        .unwrap_or_default();
    delay_specs.extend(cli.delays);
    let delays = resolve_delays(&symbols, &delay_specs)?;
    let ca_path = layered(
        cli.ca_cert,
        file.value("ca_cert", keys.ca_cert.as_ref(), |text| {
            Ok(PathBuf::from(text))
        })
        .map(|path| path.map(|path| file.resolve(path))),
    )?;
    let ca_certs = match ca_path {
        Some(path) => load_ca_certs(&path)?,
        None => Vec::new(),
    };
    let stats = layered(
        cli.stats,
        file.value("stats", keys.stats.as_ref(), parse_stats_interval),
    )?;
    let stats_format = layered(
        cli.stats_format,
        file.value("stats_format", keys.stats_format.as_ref(), parsed),
    )?
    .unwrap_or(match log_format {
        LogFormat::Json => StatsFormat::Json,
        LogFormat::Text => StatsFormat::Table,
    });
    let connection = connection_settings(
        (cli.max_connection_age, cli.max_silence),
        file,
        source == Source::Simulate,
        &kinds,
        market,
    )?;
    let record = super::recording::record_settings((cli.record, cli.rotate), file)?;
    let metrics = layered(
        cli.metrics,
        file.value("metrics", keys.metrics.as_ref(), parse_metrics_addr),
    )?;
    Ok(Config {
        symbols,
        kinds,
        market,
        source,
        queue_capacity,
        queue_bytes,
        simulate_rate: cli.simulate_rate.unwrap_or(super::DEFAULT_SIMULATE_RATE),
        overflow,
        format,
        output,
        record,
        gap_markers,
        delays,
        ca_certs,
        max_messages,
        duration,
        stats,
        stats_format,
        connection,
        log: LogSettings::settle(
            log_format,
            colour,
            io::stderr().is_terminal(),
            no_color_env(),
        ),
        metrics: bind_metrics(metrics).map_err(UsageError)?,
        book,
    })
}

/// `items` without repeats, in first-seen order.
fn unique<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut kept: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// A kind the market does not publish is a usage error naming the market.
fn check_market_offers(market: Market, kinds: &[StreamKind]) -> Result<(), UsageError> {
    match kinds.iter().find(|kind| !market.offers(**kind)) {
        Some(kind) => {
            let hint = match kind {
                StreamKind::Trade => "; use aggTrade for futures trades",
                _ => "",
            };
            Err(UsageError(format!(
                "stream kind '{kind}' is not offered on the {market} market{hint}"
            )))
        }
        None => Ok(()),
    }
}

/// The market's own URL for `kinds`. USD-M futures serve book data and the rest on two
/// routes, so one connection cannot carry both groups.
fn market_endpoint(
    market: Market,
    kinds: &[StreamKind],
) -> Result<binance_streams::Endpoint, UsageError> {
    if market == Market::Futures
        && kinds.iter().any(|kind| kind.is_book_data())
        && kinds.iter().any(|kind| !kind.is_book_data())
    {
        return Err(UsageError(format!(
            "stream kinds {} cannot share a connection on the futures market: Binance serves book data (bookTicker, depth) under /public and the rest under /market; listen to each group in its own binance-listen",
            kinds
                .iter()
                .map(|kind| kind.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(market.endpoint(kinds[0]))
}

/// The width of the terminal on stdout, when it tells one.
fn terminal_width() -> Option<u16> {
    rustix::termios::tcgetwinsize(io::stdout())
        .ok()
        .map(|size| size.ws_col)
        .filter(|columns| *columns > 0)
}

/// The format for where lines go. Without a choice: the readable form for a person at a
/// terminal, JSON Lines whenever stdout is piped or lines go to files or handlers. Pretty
/// lines are coloured only on a terminal and never with `NO_COLOR` set
/// (<https://no-color.org>).
fn settle_format(chosen: Option<OutputFormat>, output: &OutputTarget) -> OutputFormat {
    let terminal = *output == OutputTarget::Stdout && io::stdout().is_terminal();
    match chosen.unwrap_or(if terminal {
        OutputFormat::Pretty {
            colour: true,
            width: None,
        }
    } else {
        OutputFormat::Json
    }) {
        OutputFormat::Pretty { .. } => {
            let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
            OutputFormat::Pretty {
                colour: terminal && !no_colour,
                width: if terminal { terminal_width() } else { None },
            }
        }
        other => other,
    }
}

/// A duration of at least `minimum`.
fn at_least(minimum: Duration) -> impl Fn(&str) -> Result<Duration, String> {
    move |text| match parse_duration(text)? {
        duration if duration >= minimum => Ok(duration),
        _ => Err(format!(
            "'{text}' is too short: expected at least {}",
            crate::util::duration::format_duration(minimum)
        )),
    }
}

/// The `[connection]` settings: flags (`--max-connection-age`, `--max-silence`) over the
/// file over the defaults; the silence limit follows from the stream kinds and the market.
///
/// Every endpoint's connection attempts are paced by default with Binance's allowance:
/// a relay or another exchange in front of Binance would pass a storm on, and a private
/// server deserves no storm either. Only the in-process simulator is not paced; the file's
/// `attempts_per_window` overrides (a test bench opening a thousand connections at once).
fn connection_settings(
    (max_age_flag, max_silence_flag): (Option<Duration>, Option<Duration>),
    file: &FileConfig,
    simulated: bool,
    kinds: &[StreamKind],
    market: Market,
) -> Result<ConnectionSettings, UsageError> {
    let empty = Default::default();
    let keys = file.keys.connection.as_ref().unwrap_or(&empty);
    let defaults = DEFAULT_CONNECTION;
    let tenth = Duration::from_millis(100);
    let max_age = layered(
        max_age_flag,
        file.value(
            "connection.max_age",
            keys.max_age.as_ref(),
            parse_connection_age,
        ),
    )?
    .unwrap_or(defaults.max_age);
    let ping_after = file
        .value(
            "connection.ping_after",
            keys.ping_after.as_ref(),
            at_least(tenth),
        )?
        .unwrap_or(defaults.liveness.ping_after);
    let pong_timeout = file
        .value(
            "connection.pong_timeout",
            keys.pong_timeout.as_ref(),
            at_least(tenth),
        )?
        .unwrap_or(defaults.liveness.pong_timeout);
    let attempt_window = file
        .value(
            "connection.attempt_window",
            keys.attempt_window.as_ref(),
            at_least(Duration::from_secs(1)),
        )?
        .unwrap_or(defaults.attempt_window);
    let max_frame_bytes = file
        .value(
            "connection.max_frame_bytes",
            keys.max_frame_bytes.as_ref(),
            |text| match text.parse::<usize>() {
                Ok(bytes) if (1024..=64 << 20).contains(&bytes) => Ok(bytes),
                _ => Err(format!(
                    "invalid frame size '{text}': expected a number of bytes from 1024 to 67108864"
                )),
            },
        )?
        .unwrap_or(defaults.max_frame_bytes);
    let attempts_per_window = file
        .value(
            "connection.attempts_per_window",
            keys.attempts_per_window.as_ref(),
            |text| match text.parse::<u32>() {
                Ok(count) if count >= 1 => Ok(count),
                _ => Err(format!(
                    "invalid attempt count '{text}': expected a whole number, at least 1"
                )),
            },
        )?
        .unwrap_or(if simulated {
            UNPACED_ATTEMPTS
        } else {
            defaults.attempts_per_window
        });
    let handshake_timeout = file
        .value(
            "connection.handshake_timeout",
            keys.handshake_timeout.as_ref(),
            at_least(tenth),
        )?
        .unwrap_or(defaults.handshake_timeout);
    let multiple = file
        .value(
            "connection.silence_multiple",
            keys.silence_multiple.as_ref(),
            parse_silence_multiple,
        )?
        .unwrap_or(DEFAULT_SILENCE_MULTIPLE);
    let floor = file
        .value(
            "connection.silence_floor",
            keys.silence_floor.as_ref(),
            at_least(Duration::from_secs(1)),
        )?
        .unwrap_or(DEFAULT_SILENCE_FLOOR);
    let max_silence = layered(
        max_silence_flag,
        file.value(
            "connection.max_silence",
            keys.max_silence.as_ref(),
            parse_max_silence,
        ),
    )?;
    let rule = SilenceRule {
        multiple,
        floor,
        max_silence,
    };
    let futures = matches!(market, Market::Futures | Market::CoinFutures);
    Ok(ConnectionSettings {
        max_age,
        liveness: Liveness {
            ping_after,
            pong_timeout,
        },
        max_frame_bytes,
        attempts_per_window,
        attempt_window,
        handshake_timeout,
        silence: rule.limit(kinds, futures),
    })
}
