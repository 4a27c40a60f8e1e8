//! The command line, as clap parses it. Values are parsed by the same `FromStr` types the
//! config file uses, so both reject a bad value with the same words. Settings the config
//! file may also give are `Option`s here: `config::build` merges them (flags win).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};

use binance_streams::{Endpoint, Market, StreamKinds, Symbol};

use super::commands::{Command, parse_symbol_arg};
use super::terminal::{ColourChoice, LogFormat};
use super::values::Words;
use super::values::{
    DelaySpec, parse_book_depth, parse_book_interval, parse_connection_age, parse_gap_markers,
    parse_max_messages, parse_max_silence, parse_queue_bytes, parse_queue_capacity,
    parse_rest_endpoint, parse_run_duration, parse_simulate_rate, parse_stats_interval,
};
use crate::bus::group::{parse_group_name, parse_lease, parse_member_name, parse_replicas};
use crate::bus::subject::SubjectTemplate;
use crate::bus::{ServerList, parse_servers, parse_stream_name};
use crate::output::OutputFormat;
use crate::pipeline::queue::OverflowPolicy;
use crate::record::Rotate;
use crate::stats::metrics::parse_metrics_addr;
use crate::stats::report::StatsFormat;

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
  binance-listen --record rec/ BTCUSDT               keep every frame, zstd, a file per hour
  binance-listen replay rec/ --speed max             play a recording through the pipeline
  binance-listen --endpoint wss://localhost:9443 --ca-cert ca.pem ETHUSDT
  binance-listen --symbols-file symbols.txt BTCUSDT   the file's symbols too, one per line
  binance-listen --format pretty --color always ETHUSDT | less -R
  binance-listen --log-format json ETHUSDT 2> log.jsonl   one JSON object per log line
  binance-listen --nats nats://127.0.0.1:4222 BTCUSDT ETHUSDT   into NATS JetStream
  binance-listen tail --nats nats://127.0.0.1:4222 ETHUSDT --since 5m   what was stored
  source <(binance-listen completions bash)          tab completion in this bash
  binance-listen man | man -l -                      the manual page

Reserved words: the lower-case words completions, man, tail, replay and help are
subcommands when they come first, never symbols. To listen to a symbol so named,
write it in upper case (MAN) or after --
(binance-listen -- man).

Exit status: 0 after a normal stop (Ctrl-C, SIGTERM, --duration, --max-messages, closed
stdout), 1 on a runtime failure (e.g. an untrusted certificate), 2 on a usage error.";

/// Listen to Binance market-data streams for many symbols at once; one JSON line per event
/// on stdout.
///
/// Every symbol gets its own WebSocket, reader thread, bounded queue and processor thread,
/// so a slow handler on one symbol never delays another. Logs and the exit summary go to
/// stderr.
#[derive(Debug, Parser)]
#[command(
    name = "binance-listen",
    version,
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    /// Symbols to listen to, e.g. ETHUSDT BNBUSDT (case-insensitive; repeats collapse).
    /// May instead come from the config file's `symbols`. The lower-case words completions,
    /// man, tail, replay and help are subcommands, not symbols: to listen to a symbol so
    /// named, write it in upper case (MAN) or after -- (binance-listen -- man)
    #[arg(value_name = "SYMBOL", value_parser = parse_symbol_arg)]
    pub(crate) symbols: Vec<Symbol>,

    /// Also listen to the symbols in FILE, one per line (# starts a comment; blank lines
    /// are ignored; - reads standard input), after those given as arguments; repeats collapse
    #[arg(long, value_name = "FILE")]
    pub(crate) symbols_file: Option<PathBuf>,

    /// Stream kinds, repeatable or comma-separated (several share one connection per
    /// symbol): trade, aggTrade, bookTicker, depth[@100ms], depth5|10|20[@100ms],
    /// kline_<interval>, miniTicker, ticker, ticker_1h|4h|1d, avgPrice, markPrice[@1s],
    /// forceOrder, book (a local order book from depth@100ms and a REST snapshot) [default:
    /// trade]
    #[arg(long = "stream", value_name = "KIND[,KIND...]")]
    pub(crate) streams: Vec<StreamKinds>,

    /// Binance market, which picks the base URL: spot, futures, coin-futures, testnet, us
    /// [default: spot]
    #[arg(long, value_name = "MARKET")]
    pub(crate) market: Option<Market>,

    /// WebSocket base URL (ws://host:port or wss://host:port; a trailing / or /ws is fine).
    /// Each symbol reads <URL>/ws/<symbol>@<kind> (several kinds:
    /// <URL>/stream?streams=...). Overrides --market.
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint: Option<Endpoint>,

    /// With --stream book: levels a side in each book line (fewer when the book knows
    /// fewer) [default: 20]
    #[arg(long, value_name = "N", value_parser = parse_book_depth)]
    pub(crate) book_depth: Option<usize>,

    /// With --stream book: at most one book line per this long, showing the latest book
    /// (e.g. 1s, 250ms) [default: a line per update]
    #[arg(long, value_name = "DURATION", value_parser = parse_book_interval)]
    pub(crate) book_interval: Option<Duration>,

    /// With --stream book: the REST base URL for depth snapshots (http://host:port or
    /// https://host:port) [default: the market's, or --endpoint's host and port]
    #[arg(long, value_name = "URL", value_parser = parse_rest_endpoint)]
    pub(crate) rest_endpoint: Option<String>,

    /// Sleep this long per message in the processor, simulating a slow handler. Repeatable;
    /// SYMBOL= limits it to one symbol. Units: us, ms, s, m (e.g. ETHUSDT=200ms, 5ms)
    #[arg(long = "delay", value_name = "[SYMBOL=]DURATION")]
    pub(crate) delays: Vec<DelaySpec>,

    /// Capacity of each symbol's queue, in messages [default: 4096]
    #[arg(long, value_name = "N", value_parser = parse_queue_capacity)]
    pub(crate) queue: Option<usize>,

    /// Payload bytes each symbol's queue may hold, whatever the frame count: huge frames
    /// behind a slow handler cannot grow memory past it. Units: KiB, MiB, GiB [default: 8MiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_queue_bytes)]
    pub(crate) queue_bytes: Option<u64>,

    /// What a full queue does: drop-oldest, drop-newest or block [default: drop-oldest].
    /// Every drop is counted and reported on stderr.
    #[arg(long, value_name = "POLICY")]
    pub(crate) overflow: Option<OverflowPolicy>,

    /// Output: json (normalized lines), raw (payloads exactly as received) or pretty (aligned
    /// columns, coloured unless NO_COLOR is set) [default: pretty on a terminal, else json]
    #[arg(long, value_name = "FORMAT")]
    pub(crate) format: Option<OutputFormat>,

    /// Colour in pretty lines and log lines: auto (only on a terminal, and not when NO_COLOR
    /// is set), always (even when piped, e.g. into less -R; wins over NO_COLOR) or never
    /// [default: auto]
    #[arg(
        long,
        value_name = "WHEN",
        alias = "colour",
        hide_possible_values = true,
        value_parser = Words::<ColourChoice>::new(&["auto", "always", "never"])
    )]
    pub(crate) color: Option<ColourChoice>,

    /// Write each symbol's lines to DIR/<SYMBOL>.jsonl (appending) instead of stdout
    #[arg(long, value_name = "DIR", conflicts_with = "exec")]
    pub(crate) output_dir: Option<PathBuf>,

    /// Feed each symbol's lines to its own handler: `sh -c CMD` with {symbol} replaced and
    /// $BINANCE_LISTEN_SYMBOL set; a slow handler holds back only its own symbol
    #[arg(long, value_name = "CMD")]
    pub(crate) exec: Option<String>,

    /// Publish every line to NATS JetStream instead of stdout, at the servers given
    /// (nats://host:port, several separated by commas): one subject per symbol and stream,
    /// a message id per event so redundant listeners store each event once; a line counts
    /// written once JetStream acknowledged it
    #[arg(long, value_name = "URL[,URL...]", value_parser = parse_servers, conflicts_with_all = ["output_dir", "exec"])]
    pub(crate) nats: Option<ServerList>,

    /// Each line's NATS subject: dot-separated tokens with {symbol} and {stream}, and
    /// {market} if wanted [default: binance.{market}.{stream}.{symbol}]
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) nats_subject: Option<SubjectTemplate>,

    /// The JetStream stream lines are stored in; created if absent (with a 2-minute
    /// duplicate window and a 24 h maximum age) [default: BINANCE]
    #[arg(long, value_name = "NAME", value_parser = parse_stream_name)]
    pub(crate) nats_stream: Option<String>,

    /// With --nats: share the symbols with the other listeners of group NAME (each lists the
    /// same symbols, or more): each symbol is served by --replicas members, chosen by
    /// rendezvous hashing, held through leases in a JetStream key-value bucket; a member
    /// that dies has its symbols taken over within about one --lease
    #[arg(long, value_name = "NAME", value_parser = parse_group_name)]
    pub(crate) group: Option<String>,

    /// With --group: how many members serve each symbol at once; 2 leaves no gap when one
    /// dies (the copies are stored once) [default: 1]
    #[arg(long, value_name = "N", value_parser = parse_replicas)]
    pub(crate) replicas: Option<usize>,

    /// With --group: this member's name, unique in the group, in logs and in the bucket
    /// [default: made from the process id and start time]
    #[arg(long, value_name = "NAME", value_parser = parse_member_name)]
    pub(crate) member: Option<String>,

    /// With --group: how long a member's leases outlive it; every member of a group uses
    /// the same [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_lease)]
    pub(crate) lease: Option<Duration>,

    /// Also record every frame exactly as received, with its receive time, per symbol and
    /// stream, zstd-compressed: DIR/<market>/<SYMBOL>/<stream>/2026-11-28T14.jsonl.zst.
    /// Runs beside any output; `binance-listen replay DIR` plays it back
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,

    /// When --record starts a new file per stream: hourly or daily (UTC) [default: hourly]
    #[arg(long, value_name = "hourly|daily", requires = "record")]
    pub(crate) rotate: Option<Rotate>,

    /// Mark holes in the data in the output itself: one JSON line (`"event":"gap"`) for each
    /// gap in ids, break in a futures update chain, restarted sequence and run of overflow
    /// drops: on or off [default: on with --output-dir, off for stdout and --exec]
    #[arg(long, value_name = "on|off", value_parser = parse_gap_markers)]
    pub(crate) gap_markers: Option<bool>,

    /// Also trust the CA certificate(s) in this PEM file (for wss:// to a private server)
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// Read settings from this TOML file (see config.example.toml); flags win over it
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,

    /// Stop each symbol after this many lines; exit when every symbol is done
    #[arg(long, value_name = "N", value_parser = parse_max_messages)]
    pub(crate) max_messages: Option<u64>,

    /// Stop after this long (e.g. 30s, 10m, 1h)
    #[arg(long, value_name = "DURATION", value_parser = parse_run_duration)]
    pub(crate) duration: Option<Duration>,

    /// Open a replacement connection (and close the old one once it has caught up) when a
    /// connection gets this old; Binance cuts connections at 24 h [default: 23h50m]
    #[arg(long, value_name = "DURATION", value_parser = parse_connection_age)]
    pub(crate) max_connection_age: Option<Duration>,

    /// Replace a connection that sends no data for this long although it answers pings,
    /// for event-driven kinds too (trade, aggTrade, bookTicker, forceOrder: a quiet market
    /// is normal for them, so this is off by default). Kinds pushed on a schedule (depth,
    /// klines, tickers, prices) are replaced after 20 of their periods anyway (at least 30s)
    #[arg(long, value_name = "DURATION", value_parser = parse_max_silence)]
    pub(crate) max_silence: Option<Duration>,

    /// Print per-symbol stats on stderr every INTERVAL [default when given: 5s]: rates,
    /// queue depth, drops, gaps, reconnects, latency percentiles. --stats=10s and
    /// --stats 10s set the interval; a word after --stats that is not a duration (--stats
    /// ETHUSDT) is a symbol
    #[arg(
        long,
        value_name = "INTERVAL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "5s",
        value_parser = parse_stats_interval
    )]
    pub(crate) stats: Option<Duration>,

    /// How --stats prints: table (for people) or json (one object per symbol per interval);
    /// with json the exit summary is JSON too [default: json with --log-format json, else
    /// table]
    #[arg(long, value_name = "FORMAT")]
    pub(crate) stats_format: Option<StatsFormat>,

    /// Serve Prometheus metrics at http://ADDR/metrics and a health check at /healthz
    /// (200 when every symbol is connected and fresh, else 503 naming the others), e.g.
    /// 127.0.0.1:9100; 0.0.0.0:9100 listens on every interface
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr)]
    pub(crate) metrics: Option<std::net::SocketAddr>,

    /// Log lines on stderr: text (for people) or json (one object per line: time, level,
    /// message, fields, the thread's symbol; --stats and the exit summary default to JSON
    /// too) [default: text]
    #[arg(
        long,
        value_name = "FORMAT",
        hide_possible_values = true,
        value_parser = Words::<LogFormat>::new(&["text", "json"])
    )]
    pub(crate) log_format: Option<LogFormat>,

    /// Listen to a built-in mock exchange with lively simulated prices: no network needed
    /// (with --market futures or coin-futures it sends futures payloads)
    #[arg(long, conflicts_with_all = ["endpoint", "ca_cert"])]
    pub(crate) simulate: bool,

    /// Events per second per stream of the simulated market (with --simulate), arriving at
    /// random with bursts [default: 8]
    #[arg(long, value_name = "N", value_parser = parse_simulate_rate, requires = "simulate")]
    pub(crate) simulate_rate: Option<f64>,

    /// More log detail on stderr (-v debug, -vv trace); RUST_LOG works too
    #[arg(short, long, action = ArgAction::Count)]
    pub(crate) verbose: u8,

    /// Less log detail on stderr (-q warnings and errors, -qq errors only)
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "verbose")]
    pub(crate) quiet: u8,

    /// A subcommand instead of listening (completions, man)
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
