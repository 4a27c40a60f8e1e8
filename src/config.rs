//! One validated [`Config`] from the command line and the optional TOML file
//! (`--config`, shaped like `config.example.toml`): flag → file → default, then
//! cross-checked. Every problem is a [`UsageError`], found before any thread or socket exists.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use native_tls::Certificate;
use serde::Deserialize;

use crate::cli::{
    Cli, parse_connection_age, parse_max_messages, parse_queue_capacity, parse_run_duration,
    parse_stats_interval,
};
use crate::format::OutputFormat;
use crate::queue::OverflowPolicy;
use crate::reader::ConnectionSettings;
use crate::reader::connect::DEFAULT_MAX_FRAME_BYTES;
use crate::reader::link::Liveness;
use crate::report::StatsFormat;
use crate::spec::{DelaySpec, Endpoint, Market, StreamKind, StreamKinds, Symbol};
use crate::units::parse_duration;

/// Queue capacity per symbol when neither flag nor file sets one.
pub const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// The attempt allowance for endpoints that are not Binance's: effectively no pacing.
pub const UNPACED_ATTEMPTS: u32 = u32::MAX;

/// Connection settings when neither flags nor file set them. Binance cuts connections at
/// 24 h; ten minutes of margin leave room for a replacement to be refused and retried.
/// A silent socket is pinged after 5 s and declared dead 10 s later: a dead link is caught
/// within ~15 s, while a healthy server answers pings however quiet its market is.
/// Binance allows 300 connection attempts per 5 minutes per IP.
pub const DEFAULT_CONNECTION: ConnectionSettings = ConnectionSettings {
    max_age: Duration::from_secs(23 * 3600 + 50 * 60),
    liveness: Liveness {
        ping_after: Duration::from_secs(5),
        pong_timeout: Duration::from_secs(10),
    },
    max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
    attempts_per_window: 300,
    attempt_window: Duration::from_secs(300),
};

/// A bad flag, config key or value: one line naming it and what is accepted. Exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// stdout, shared by every symbol.
    Stdout,
    /// `DIR/<SYMBOL>.jsonl` per symbol (`--output-dir`).
    Directory(PathBuf),
    /// A handler command per symbol (`--exec`).
    Exec(String),
}

/// Where the streams come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A real (or user-run mock) exchange at this endpoint.
    Exchange(Endpoint),
    /// The in-process mock exchange (`--simulate`).
    Simulate,
}

/// Everything the run needs, resolved and checked.
#[derive(Clone)]
pub struct Config {
    /// Symbols, uppercase, duplicates removed, in the order given.
    pub symbols: Vec<Symbol>,
    /// The stream kinds every symbol reads (over one connection).
    pub kinds: Vec<StreamKind>,
    /// The market (payload shapes and which kinds exist).
    pub market: Market,
    /// The exchange or the simulation.
    pub source: Source,
    /// Queue capacity per symbol.
    pub queue_capacity: usize,
    /// What a full queue does.
    pub overflow: OverflowPolicy,
    /// How lines are written.
    pub format: OutputFormat,
    /// Where lines go.
    pub output: OutputTarget,
    /// Per-symbol processor delay, aligned with `symbols`.
    pub delays: Vec<Duration>,
    /// Extra trusted roots (`--ca-cert`).
    pub ca_certs: Vec<Certificate>,
    /// Lines per symbol before that symbol stops.
    pub max_messages: Option<u64>,
    /// Run time before everything stops.
    pub duration: Option<Duration>,
    /// `--stats` interval; `None` for no stats.
    pub stats: Option<Duration>,
    /// How stats are printed.
    pub stats_format: StatsFormat,
    /// How connections are kept: ages, stall detection, limits.
    pub connection: ConnectionSettings,
    /// `-v` count.
    pub verbose: u8,
    /// `-q` count.
    pub quiet: u8,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("symbols", &self.symbols)
            .field("kinds", &self.kinds)
            .field("market", &self.market)
            .field("source", &self.source)
            .field("queue_capacity", &self.queue_capacity)
            .field("overflow", &self.overflow)
            .field("format", &self.format)
            .field("output", &self.output)
            .field("delays", &self.delays)
            .field("ca_certs", &self.ca_certs.len())
            .field("max_messages", &self.max_messages)
            .field("duration", &self.duration)
            .field("stats", &self.stats)
            .field("stats_format", &self.stats_format)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

/// The config file as written. Values stay text until parsed by the same types as the flags,
/// so an error names the key and says what the flag would say.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    symbols: Option<Vec<String>>,
    stream: Option<toml::Value>,
    market: Option<String>,
    endpoint: Option<String>,
    delay: Option<Vec<String>>,
    queue: Option<toml::Value>,
    overflow: Option<String>,
    format: Option<String>,
    ca_cert: Option<PathBuf>,
    output_dir: Option<PathBuf>,
    exec: Option<String>,
    max_messages: Option<toml::Value>,
    duration: Option<String>,
    stats: Option<String>,
    stats_format: Option<String>,
    connection: Option<FileConnection>,
}

/// The config file's `[connection]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConnection {
    max_age: Option<String>,
    ping_after: Option<String>,
    pong_timeout: Option<String>,
    max_frame_bytes: Option<toml::Value>,
    attempts_per_window: Option<toml::Value>,
    attempt_window: Option<String>,
}

impl FileConfig {
    /// Reads and parses `path`.
    ///
    /// # Errors
    /// The file cannot be read or is not valid TOML of the expected shape.
    pub fn load(path: &Path) -> Result<Self, UsageError> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            UsageError(format!(
                "cannot read config file '{}': {error}",
                path.display()
            ))
        })?;
        Self::parse(&text, path)
    }

    /// Parses TOML `text`; `path` only names the file in errors.
    ///
    /// # Errors
    /// The text is not valid TOML of the expected shape.
    pub fn parse(text: &str, path: &Path) -> Result<Self, UsageError> {
        toml::from_str(text).map_err(|error: toml::de::Error| {
            let line = error.span().map(|span| {
                1 + text.as_bytes()[..span.start.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
            });
            let message = error.message().trim().replace('\n', " ");
            UsageError(match line {
                Some(line) => format!("config file '{}', line {line}: {message}", path.display()),
                None => format!("config file '{}': {message}", path.display()),
            })
        })
    }
}

/// Parses a config value with its flag's parser; the error names the file and key.
fn file_value<T: FromStr<Err = String>>(
    value: Option<&String>,
    key: &str,
    path: &Path,
) -> Result<Option<T>, UsageError> {
    value
        .map(|text| text.parse::<T>())
        .transpose()
        .map_err(|error| UsageError(format!("config file '{}': {key}: {error}", path.display())))
}

/// A TOML number or string given to a numeric setting, checked by the flag's parser.
fn file_number<T>(
    value: Option<&toml::Value>,
    key: &str,
    path: &Path,
    parse: fn(&str) -> Result<T, String>,
) -> Result<Option<T>, UsageError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = match value {
        toml::Value::Integer(number) => number.to_string(),
        toml::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    parse(&text)
        .map(Some)
        .map_err(|error| UsageError(format!("config file '{}': {key}: {error}", path.display())))
}

/// Merges the command line and its config file (if any) into a checked [`Config`].
///
/// # Errors
/// The first problem found, as a one-line [`UsageError`].
pub fn build(cli: Cli) -> Result<Config, UsageError> {
    match cli.config.clone() {
        Some(path) => {
            let file = FileConfig::load(&path)?;
            merge(cli, file, &path)
        }
        None => merge(cli, FileConfig::default(), Path::new("<none>")),
    }
}

/// Merges `cli` over `file` (read from `path`, which errors name) over the defaults.
fn merge(cli: Cli, file: FileConfig, path: &Path) -> Result<Config, UsageError> {
    let output = output_target(&cli, &file, path)?;
    let file_symbols = file
        .symbols
        .iter()
        .flatten()
        .map(|text| {
            text.parse::<Symbol>().map_err(|error| {
                UsageError(format!(
                    "config file '{}': symbols: {error}",
                    path.display()
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let given = if cli.symbols.is_empty() {
        file_symbols
    } else {
        cli.symbols
    };
    let mut symbols: Vec<Symbol> = Vec::with_capacity(given.len());
    for symbol in given {
        if !symbols.contains(&symbol) {
            symbols.push(symbol);
        }
    }
    if symbols.is_empty() {
        return Err(UsageError(
            "no symbol given: name at least one, like 'binance-listen ETHUSDT BNBUSDT', or list them under 'symbols' in the config file"
                .to_owned(),
        ));
    }

    let market = cli
        .market
        .or(file_value(file.market.as_ref(), "market", path)?)
        .unwrap_or_default();
    let kinds = stream_kinds(cli.streams, file.stream.as_ref(), path)?;
    if let Some(kind) = kinds.iter().find(|kind| !market.offers(**kind)) {
        let hint = match kind {
            StreamKind::Trade => "; use aggTrade for futures trades",
            _ => "",
        };
        return Err(UsageError(format!(
            "stream kind '{kind}' is not offered on the {market} market{hint}"
        )));
    }
    let explicit_endpoint = match cli.endpoint {
        Some(endpoint) => Some(endpoint),
        None => file_value(file.endpoint.as_ref(), "endpoint", path)?,
    };
    let endpoint = match explicit_endpoint {
        Some(endpoint) => endpoint,
        None => {
            if market == Market::Futures
                && !cli.simulate
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
            market.endpoint(kinds[0])
        }
    };
    let source = if cli.simulate {
        Source::Simulate
    } else {
        Source::Exchange(endpoint)
    };

    let queue_capacity = match cli.queue {
        Some(capacity) => capacity,
        None => file_number(file.queue.as_ref(), "queue", path, parse_queue_capacity)?
            .unwrap_or(DEFAULT_QUEUE_CAPACITY),
    };
    let overflow = cli
        .overflow
        .or(file_value(file.overflow.as_ref(), "overflow", path)?)
        .unwrap_or_default();
    let format = cli
        .format
        .or(file_value(file.format.as_ref(), "format", path)?)
        .unwrap_or_else(|| OutputFormat::default_for(&output))
        .for_output(&output);
    let max_messages = match cli.max_messages {
        Some(count) => Some(count),
        None => file_number(
            file.max_messages.as_ref(),
            "max_messages",
            path,
            parse_max_messages,
        )?,
    };
    let duration = match cli.duration {
        Some(duration) => Some(duration),
        None => file
            .duration
            .as_deref()
            .map(parse_run_duration)
            .transpose()
            .map_err(|error| {
                UsageError(format!(
                    "config file '{}': duration: {error}",
                    path.display()
                ))
            })?,
    };

    let mut delay_specs = file
        .delay
        .iter()
        .flatten()
        .map(|text| {
            text.parse::<DelaySpec>().map_err(|error| {
                UsageError(format!("config file '{}': delay: {error}", path.display()))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    delay_specs.extend(cli.delays);
    let delays = resolve_delays(&symbols, &delay_specs)?;

    let ca_path = match cli.ca_cert {
        Some(path) => Some(path),
        // A relative path in the file is relative to the file, not to where it is run from.
        None => file.ca_cert.map(|ca| match path.parent() {
            Some(dir) if ca.is_relative() => dir.join(ca),
            _ => ca,
        }),
    };
    let ca_certs = match ca_path {
        Some(path) => load_ca_certs(&path)?,
        None => Vec::new(),
    };

    let stats = match cli.stats {
        Some(interval) => Some(interval),
        None => file
            .stats
            .as_deref()
            .map(parse_stats_interval)
            .transpose()
            .map_err(|error| {
                UsageError(format!("config file '{}': stats: {error}", path.display()))
            })?,
    };
    let stats_format = cli
        .stats_format
        .or(file_value(
            file.stats_format.as_ref(),
            "stats_format",
            path,
        )?)
        .unwrap_or_default();
    let binance = match &source {
        Source::Exchange(endpoint) => endpoint.is_binance(),
        Source::Simulate => false,
    };
    let connection = connection_settings(
        cli.max_connection_age,
        file.connection.unwrap_or_default(),
        binance,
        path,
    )?;

    Ok(Config {
        symbols,
        kinds,
        market,
        source,
        queue_capacity,
        overflow,
        format,
        output,
        delays,
        ca_certs,
        max_messages,
        duration,
        stats,
        stats_format,
        connection,
        verbose: cli.verbose,
        quiet: cli.quiet,
    })
}

/// Where lines go: `--output-dir` or `--exec` (one per run), else the file's, else stdout.
/// The directory is created now, so a path that cannot be one is a usage error.
fn output_target(cli: &Cli, file: &FileConfig, path: &Path) -> Result<OutputTarget, UsageError> {
    let (dir, exec) = if cli.output_dir.is_some() || cli.exec.is_some() {
        (cli.output_dir.clone(), cli.exec.clone())
    } else {
        let relative_to_file = |dir: &PathBuf| match path.parent() {
            Some(parent) if dir.is_relative() => parent.join(dir),
            _ => dir.clone(),
        };
        (
            file.output_dir.as_ref().map(relative_to_file),
            file.exec.clone(),
        )
    };
    match (dir, exec) {
        (Some(_), Some(_)) => Err(UsageError(
            "output_dir and exec cannot both be set: lines go to files or to handlers, not both"
                .to_owned(),
        )),
        (Some(dir), None) => {
            std::fs::create_dir_all(&dir).map_err(|error| {
                UsageError(format!(
                    "invalid output directory '{}': {error}; expected a directory that exists or can be created",
                    dir.display()
                ))
            })?;
            Ok(OutputTarget::Directory(dir))
        }
        (None, Some(command)) if command.trim().is_empty() => Err(UsageError(
            "invalid handler command '': expected a shell command, like 'python3 handler.py {symbol}'"
                .to_owned(),
        )),
        (None, Some(command)) => Ok(OutputTarget::Exec(command)),
        (None, None) => Ok(OutputTarget::Stdout),
    }
}

/// The stream kinds: every `--stream` (each may list several), else the file's `stream`
/// (a string, comma-separated, or an array of strings), else `trade`. Repeats collapse.
fn stream_kinds(
    flags: Vec<StreamKinds>,
    file: Option<&toml::Value>,
    path: &Path,
) -> Result<Vec<StreamKind>, UsageError> {
    let bad =
        |error: String| UsageError(format!("config file '{}': stream: {error}", path.display()));
    let listed: Vec<StreamKind> = if !flags.is_empty() {
        flags.into_iter().flat_map(|kinds| kinds.0).collect()
    } else {
        match file {
            None => vec![StreamKind::Trade],
            Some(toml::Value::String(text)) => text.parse::<StreamKinds>().map_err(bad)?.0,
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    toml::Value::String(text) => text.parse::<StreamKind>().map_err(bad),
                    other => Err(bad(format!("expected stream kind names, got {other}"))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(bad(format!(
                    "expected a stream kind or a list of them, got {other}"
                )));
            }
        }
    };
    let mut kinds = Vec::with_capacity(listed.len());
    for kind in listed {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(kinds)
}

/// The `[connection]` settings: `--max-connection-age` over the file over the defaults.
///
/// Binance's connection-attempt limit is Binance's: it paces connections to Binance hosts
/// by default, while a private endpoint (a mock, a relay on the LAN) is not paced unless
/// the file asks for it.
fn connection_settings(
    max_age_flag: Option<Duration>,
    file: FileConnection,
    binance: bool,
    path: &Path,
) -> Result<ConnectionSettings, UsageError> {
    let bad = |key: &str, error: String| {
        UsageError(format!(
            "config file '{}': connection.{key}: {error}",
            path.display()
        ))
    };
    let duration = |value: Option<String>, key: &str, minimum: Duration, default: Duration| {
        let Some(text) = value else {
            return Ok(default);
        };
        match parse_duration(&text) {
            Ok(duration) if duration >= minimum => Ok(duration),
            Ok(_) => Err(bad(
                key,
                format!("'{text}' is too short: expected at least {minimum:?}"),
            )),
            Err(error) => Err(bad(key, error)),
        }
    };
    let defaults = DEFAULT_CONNECTION;
    let max_age = match max_age_flag {
        Some(age) => age,
        None => match file.max_age {
            Some(text) => parse_connection_age(&text).map_err(|error| bad("max_age", error))?,
            None => defaults.max_age,
        },
    };
    let tenth = Duration::from_millis(100);
    let ping_after = duration(
        file.ping_after,
        "ping_after",
        tenth,
        defaults.liveness.ping_after,
    )?;
    let pong_timeout = duration(
        file.pong_timeout,
        "pong_timeout",
        tenth,
        defaults.liveness.pong_timeout,
    )?;
    let attempt_window = duration(
        file.attempt_window,
        "attempt_window",
        Duration::from_secs(1),
        defaults.attempt_window,
    )?;
    let max_frame_bytes = file_number(
        file.max_frame_bytes.as_ref(),
        "connection.max_frame_bytes",
        path,
        |text| match text.parse::<usize>() {
            Ok(bytes) if (1024..=64 << 20).contains(&bytes) => Ok(bytes),
            _ => Err(format!(
                "invalid frame size '{text}': expected a number of bytes from 1024 to 67108864"
            )),
        },
    )?
    .unwrap_or(defaults.max_frame_bytes);
    let attempts_per_window = file_number(
        file.attempts_per_window.as_ref(),
        "connection.attempts_per_window",
        path,
        |text| match text.parse::<u32>() {
            Ok(count) if count >= 1 => Ok(count),
            _ => Err(format!(
                "invalid attempt count '{text}': expected a whole number, at least 1"
            )),
        },
    )?
    .unwrap_or(if binance {
        defaults.attempts_per_window
    } else {
        UNPACED_ATTEMPTS
    });
    Ok(ConnectionSettings {
        max_age,
        liveness: Liveness {
            ping_after,
            pong_timeout,
        },
        max_frame_bytes,
        attempts_per_window,
        attempt_window,
    })
}

/// Each symbol's delay: its own spec, else the one for every symbol, else none. Later specs
/// (command line after file) win. A spec for a symbol not listened to is an error.
fn resolve_delays(symbols: &[Symbol], specs: &[DelaySpec]) -> Result<Vec<Duration>, UsageError> {
    let mut every: Option<Duration> = None;
    let mut own: Vec<Option<Duration>> = vec![None; symbols.len()];
    for spec in specs {
        match &spec.symbol {
            None => every = Some(spec.delay),
            Some(symbol) => match symbols.iter().position(|listened| listened == symbol) {
                Some(index) => own[index] = Some(spec.delay),
                None => {
                    let listened: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
                    return Err(UsageError(format!(
                        "invalid delay for '{symbol}': {symbol} is not one of the symbols listened to ({})",
                        listened.join(", ")
                    )));
                }
            },
        }
    }
    Ok(own
        .into_iter()
        .map(|delay| delay.or(every).unwrap_or(Duration::ZERO))
        .collect())
}

fn load_ca_certs(path: &Path) -> Result<Vec<Certificate>, UsageError> {
    let pem = std::fs::read(path).map_err(|error| {
        UsageError(format!(
            "cannot read CA certificate file '{}': {error}",
            path.display()
        ))
    })?;
    match Certificate::stack_from_pem(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        _ => Err(UsageError(format!(
            "invalid CA certificate file '{}': expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("binance-listen").chain(args.iter().copied())).unwrap()
    }

    /// Builds from `args` and a config file holding `text`, without touching the disk.
    fn with_file(args: &[&str], text: &str) -> Result<Config, UsageError> {
        let path = Path::new("/etc/listen.toml");
        merge(cli(args), FileConfig::parse(text, path)?, path)
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
            OutputFormat::default_for(&OutputTarget::Stdout)
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
    fn only_binance_hosts_are_paced_by_default() {
        let binance = build(cli(&["ETHUSDT"])).unwrap();
        assert_eq!(binance.connection.attempts_per_window, 300);
        let local = build(cli(&["--endpoint", "ws://127.0.0.1:9000", "ETHUSDT"])).unwrap();
        assert_eq!(local.connection.attempts_per_window, UNPACED_ATTEMPTS);
        let asked = with_file(
            &["--endpoint", "ws://127.0.0.1:9000", "ETHUSDT"],
            "[connection]\nattempts_per_window = 10\n",
        )
        .unwrap();
        assert_eq!(asked.connection.attempts_per_window, 10);
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
            "config file '/etc/listen.toml': overflow: unknown overflow policy 'lose': expected drop-oldest, drop-newest or block"
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
}
