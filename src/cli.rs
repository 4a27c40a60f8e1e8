//! The command line, as clap parses it. Values are parsed by the same `FromStr` types the
//! config file uses, so both reject a bad value with the same words. Settings the config
//! file may also give are `Option`s here: `config::build` merges them (flags win).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

use crate::format::OutputFormat;
use crate::queue::OverflowPolicy;
use crate::report::StatsFormat;
use crate::spec::{DelaySpec, Endpoint, Market, StreamKinds, Symbol};
use crate::units::parse_duration;

const EXAMPLES: &str = "\
Examples:
  binance-listen --simulate ETHUSDT BNBUSDT          no network needed: a built-in mock market
  binance-listen ETHUSDT BNBUSDT                     spot trades, one JSON line each
  binance-listen ETHUSDT | jq -r '[.price, .qty] | @tsv'
  binance-listen --stream bookTicker --market futures BTCUSDT
  binance-listen --stream trade,bookTicker,kline_1m ETHUSDT   three kinds, one connection
  binance-listen --delay ETHUSDT=200ms ETHUSDT BNBUSDT   a slow ETHUSDT handler; BNBUSDT unaffected
  binance-listen --max-messages 100 --format raw BTCUSDT > trades.jsonl
  binance-listen --output-dir data/ BTCUSDT ETHUSDT          data/BTCUSDT.jsonl, data/ETHUSDT.jsonl
  binance-listen --exec './handler.py {symbol}' BTCUSDT ETHUSDT   one handler per symbol
  binance-listen --endpoint wss://localhost:9443 --ca-cert ca.pem ETHUSDT

Exit status: 0 after a normal stop (Ctrl-C, SIGTERM, --duration, --max-messages, closed
stdout), 1 on a runtime failure (e.g. an untrusted certificate), 2 on a usage error.";

/// Listen to Binance market-data streams for many symbols at once; one JSON line per event
/// on stdout.
///
/// Every symbol gets its own WebSocket, reader thread, bounded queue and processor thread,
/// so a slow handler on one symbol never delays another. Logs and the exit summary go to
/// stderr.
#[derive(Debug, Parser)]
#[command(name = "binance-listen", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Symbols to listen to, e.g. ETHUSDT BNBUSDT (case-insensitive; repeats collapse).
    /// May instead come from the config file's `symbols`.
    #[arg(value_name = "SYMBOL")]
    pub symbols: Vec<Symbol>,

    /// Stream kinds, repeatable or comma-separated (several share one connection per
    /// symbol): trade, aggTrade, bookTicker, depth[@100ms], depth5|10|20[@100ms],
    /// kline_<interval>, miniTicker, ticker, ticker_1h|4h|1d, avgPrice, markPrice[@1s],
    /// forceOrder [default: trade]
    #[arg(long = "stream", value_name = "KIND[,KIND...]")]
    pub streams: Vec<StreamKinds>,

    /// Binance market, which picks the base URL: spot, futures, coin-futures, testnet, us
    /// [default: spot]
    #[arg(long, value_name = "MARKET")]
    pub market: Option<Market>,

    /// WebSocket base URL (ws://host:port or wss://host:port; a trailing / or /ws is fine).
    /// Each symbol reads <URL>/ws/<symbol>@<kind> (several kinds:
    /// <URL>/stream?streams=...). Overrides --market.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<Endpoint>,

    /// Sleep this long per message in the processor, simulating a slow handler. Repeatable;
    /// SYMBOL= limits it to one symbol. Units: us, ms, s, m (e.g. ETHUSDT=200ms, 5ms)
    #[arg(long = "delay", value_name = "[SYMBOL=]DURATION")]
    pub delays: Vec<DelaySpec>,

    /// Capacity of each symbol's queue, in messages [default: 4096]
    #[arg(long, value_name = "N", value_parser = parse_queue_capacity)]
    pub queue: Option<usize>,

    /// What a full queue does: drop-oldest, drop-newest or block [default: drop-oldest].
    /// Every drop is counted and reported on stderr.
    #[arg(long, value_name = "POLICY")]
    pub overflow: Option<OverflowPolicy>,

    /// Output: json (normalized lines), raw (payloads exactly as received) or pretty (aligned
    /// columns, coloured unless NO_COLOR is set) [default: pretty on a terminal, else json]
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// Write each symbol's lines to DIR/<SYMBOL>.jsonl (appending) instead of stdout
    #[arg(long, value_name = "DIR", conflicts_with = "exec")]
    pub output_dir: Option<PathBuf>,

    /// Feed each symbol's lines to its own handler: `sh -c CMD` with {symbol} replaced and
    /// $BINANCE_LISTEN_SYMBOL set; a slow handler holds back only its own symbol
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,

    /// Also trust the CA certificate(s) in this PEM file (for wss:// to a private server)
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Read settings from this TOML file (see config.example.toml); flags win over it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Stop each symbol after this many lines; exit when every symbol is done
    #[arg(long, value_name = "N", value_parser = parse_max_messages)]
    pub max_messages: Option<u64>,

    /// Stop after this long (e.g. 30s, 10m, 1h)
    #[arg(long, value_name = "DURATION", value_parser = parse_run_duration)]
    pub duration: Option<Duration>,

    /// Open a replacement connection (and close the old one once it has caught up) when a
    /// connection gets this old; Binance cuts connections at 24 h [default: 23h50m]
    #[arg(long, value_name = "DURATION", value_parser = parse_connection_age)]
    pub max_connection_age: Option<Duration>,

    /// Print per-symbol stats on stderr every INTERVAL [default when given: 5s]: rates,
    /// queue depth, drops, gaps, reconnects, latency percentiles. Use --stats=10s, or put
    /// --stats after the symbols
    #[arg(
        long,
        value_name = "INTERVAL",
        num_args = 0..=1,
        default_missing_value = "5s",
        value_parser = parse_stats_interval
    )]
    pub stats: Option<Duration>,

    /// How --stats prints: table (for people) or json (one object per symbol per interval)
    #[arg(long, value_name = "FORMAT")]
    pub stats_format: Option<StatsFormat>,

    /// Listen to a built-in mock exchange with lively simulated prices: no network needed
    /// (with --market futures or coin-futures it sends futures payloads)
    #[arg(long, conflicts_with_all = ["endpoint", "ca_cert"])]
    pub simulate: bool,

    /// More log detail on stderr (-v debug, -vv trace); RUST_LOG works too
    #[arg(short, long, action = ArgAction::Count)]
    pub verbose: u8,

    /// Less log detail on stderr (-q warnings and errors, -qq errors only)
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "verbose")]
    pub quiet: u8,
}

/// The largest queue accepted: 1M frames is already ~40 MB of bookkeeping plus payloads.
pub const MAX_QUEUE_CAPACITY: usize = 1_000_000;

/// Parses a queue capacity: a whole number from 1 to [`MAX_QUEUE_CAPACITY`].
///
/// # Errors
/// A one-line message naming the value and the accepted range.
pub fn parse_queue_capacity(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(capacity) if (1..=MAX_QUEUE_CAPACITY).contains(&capacity) => Ok(capacity),
        _ => Err(format!(
            "invalid queue capacity '{text}': expected a whole number from 1 to {MAX_QUEUE_CAPACITY}"
        )),
    }
}

/// Parses `--max-messages`: a whole number, at least 1.
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub fn parse_max_messages(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(count) if count >= 1 => Ok(count),
        _ => Err(format!(
            "invalid message count '{text}': expected a whole number, at least 1"
        )),
    }
}

/// Parses `--duration`: a duration longer than zero.
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub fn parse_run_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!(
            "invalid run duration '{text}': expected a duration longer than zero, like 30s"
        )),
        duration => Ok(duration),
    }
}

/// The shortest `--stats` interval.
pub const MIN_STATS_INTERVAL: Duration = Duration::from_millis(100);

/// Parses `--stats INTERVAL`. `--stats ETHUSDT` takes the symbol for the interval; the
/// error says how to write it instead.
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub fn parse_stats_interval(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(interval) if interval >= MIN_STATS_INTERVAL => Ok(interval),
        Ok(_) => Err(format!(
            "invalid stats interval '{text}': expected at least 100ms, like 5s"
        )),
        Err(error) if text.chars().all(char::is_alphanumeric) && text.parse::<f64>().is_err() => {
            Err(format!(
                "{error}; to use the default interval before a symbol, write --stats=5s or put --stats after the symbols"
            ))
        }
        Err(error) => Err(error),
    }
}

/// The shortest `--max-connection-age`: a replacement needs time to open and overlap.
pub const MIN_CONNECTION_AGE: Duration = Duration::from_secs(1);

/// Parses `--max-connection-age`: at least [`MIN_CONNECTION_AGE`].
///
/// # Errors
/// A one-line message naming the value and what is accepted.
pub fn parse_connection_age(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        age if age >= MIN_CONNECTION_AGE => Ok(age),
        _ => Err(format!(
            "invalid connection age '{text}': expected at least 1s, like 23h50m"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn numbers_are_range_checked() {
        assert_eq!(parse_queue_capacity("4096"), Ok(4096));
        assert_eq!(
            parse_queue_capacity("0"),
            Err("invalid queue capacity '0': expected a whole number from 1 to 1000000".to_owned())
        );
        assert!(parse_queue_capacity("-1").is_err());
        assert!(parse_queue_capacity("lots").is_err());
        assert_eq!(parse_max_messages("1"), Ok(1));
        assert!(parse_max_messages("0").is_err());
        assert_eq!(parse_run_duration("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_run_duration("0s").is_err());
    }
}
