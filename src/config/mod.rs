//! One validated [`Config`] from the command line ([`cli`]) and the optional TOML file
//! ([`file`], shaped like `config.example.toml`): every key layered flag → file → default
//! by one helper ([`merge`]), every file value checked even when a flag overrides it, then
//! cross-checked. Every problem is a [`UsageError`], found before any thread or socket
//! exists. Nothing after `Config` parses strings.

pub(crate) mod argv;
mod book;
pub(crate) mod cli;
pub(crate) mod commands;
mod file;
mod merge;
mod output;
mod recording;
mod resolve;
mod symbols_file;
pub(crate) mod terminal;
pub(crate) mod values;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use binance_streams::{Endpoint, Market, StreamKind, Symbol};
use native_tls::Certificate;

use crate::bus::NatsSettings;
use crate::output::OutputFormat;
use crate::pipeline::queue::OverflowPolicy;
use crate::pipeline::reader::ConnectionSettings;
use crate::pipeline::reader::connect::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_FRAME_BYTES};
use crate::pipeline::reader::link::Liveness;
use crate::record::RecordSettings;
use crate::replay::ReplayPlan;
use crate::stats::metrics::MetricsListener;
use crate::stats::report::StatsFormat;
use cli::Cli;
use file::FileConfig;
use terminal::LogSettings;

/// Queue capacity per symbol when neither flag nor file sets one.
pub(crate) const DEFAULT_QUEUE_CAPACITY: usize = 4096;

/// Events per second per stream of `--simulate` when not set: lively but readable.
pub(crate) const DEFAULT_SIMULATE_RATE: f64 = 8.0;

/// Queue payload bytes per symbol when neither flag nor file sets one: thousands of ordinary
/// frames (a trade is ~150 bytes, a depth20 ~1.5 KB), a few of the largest (1 MiB by default).
pub(crate) const DEFAULT_QUEUE_BYTES: u64 = 8 << 20;

/// The attempt allowance of the in-process `--simulate` exchange: no pacing. Every real
/// endpoint is paced (an exchange, a relay or a mock run apart may all refuse a storm).
pub(crate) const UNPACED_ATTEMPTS: u32 = u32::MAX;

/// A stream pushed on a schedule is taken for dead after this many of its periods without
/// data (`connection.silence_multiple`): kline_1m (every 2 s) after 40 s.
pub(crate) const DEFAULT_SILENCE_MULTIPLE: u32 = 20;

/// ...but never after less than this (`connection.silence_floor`): a fast book
/// (depth@100ms) would otherwise be called dead after 2 s, and an illiquid one, which may
/// truly have no change to send for a while, would reconnect every few seconds. The
/// trade-off: a stream Binance silently stops serving is noticed after 30 s at the earliest
/// (kinds pushed every second or faster), while a genuinely quiet book costs a reconnect
/// per 30 s of quiet, growing to one per 4 minutes as silent connections follow one another.
pub(crate) const DEFAULT_SILENCE_FLOOR: Duration = Duration::from_secs(30);

/// Connection settings when neither flags nor file set them. Binance cuts connections at
/// 24 h; ten minutes of margin leave room for a replacement to be refused and retried.
/// A silent socket is pinged after 5 s and declared dead 10 s later: a dead link is caught
/// within ~15 s, while a healthy server answers pings however quiet its market is; a frame
/// whose bytes keep coming must be complete within those 10 s too, and the handshakes
/// within 10 s of the TCP connection. Binance allows 300 connection attempts per 5 minutes
/// per IP. The silence limit depends on the stream kinds and is set by `config::build`.
pub(crate) const DEFAULT_CONNECTION: ConnectionSettings = ConnectionSettings {
    max_age: Duration::from_secs(23 * 3600 + 50 * 60),
    liveness: Liveness {
        ping_after: Duration::from_secs(5),
        pong_timeout: Duration::from_secs(10),
    },
    max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
    attempts_per_window: 300,
    attempt_window: Duration::from_secs(300),
    handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
    silence: None,
};

/// A bad flag, config key or value: one line naming it and what is accepted. Exit status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutputTarget {
    /// stdout, shared by every symbol.
    Stdout,
    /// `DIR/<SYMBOL>.jsonl` per symbol (`--output-dir`).
    Directory(PathBuf),
    /// A handler command per symbol (`--exec`).
    Exec(String),
    /// NATS JetStream (`--nats`).
    Nats(NatsSettings),
}

/// Where the streams come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A real (or user-run mock) exchange at this endpoint.
    Exchange(Endpoint),
    /// The in-process mock exchange (`--simulate`).
    Simulate,
    /// Recorded frames (`binance-listen replay`).
    Replay(Arc<ReplayPlan>),
}

/// Everything the run needs, resolved and checked.
#[derive(Clone)]
pub(crate) struct Config {
    /// Symbols, uppercase, duplicates removed, in the order given.
    pub(crate) symbols: Vec<Symbol>,
    /// The stream kinds every symbol reads (over one connection).
    pub(crate) kinds: Vec<StreamKind>,
    /// The market (payload shapes and which kinds exist).
    pub(crate) market: Market,
    /// The exchange or the simulation.
    pub(crate) source: Source,
    /// Queue capacity per symbol.
    pub(crate) queue_capacity: usize,
    /// Queue payload bytes per symbol.
    pub(crate) queue_bytes: u64,
    /// Events per second per stream of the `--simulate` market.
    pub(crate) simulate_rate: f64,
    /// What a full queue does.
    pub(crate) overflow: OverflowPolicy,
    /// How lines are written.
    pub(crate) format: OutputFormat,
    /// Where lines go.
    pub(crate) output: OutputTarget,
    /// Where frames are recorded too (`--record`), if anywhere.
    pub(crate) record: Option<RecordSettings>,
    /// Write gap markers into the output (`--gap-markers`).
    pub(crate) gap_markers: bool,
    /// Per-symbol processor delay, aligned with `symbols`.
    pub(crate) delays: Vec<Duration>,
    /// Extra trusted roots (`--ca-cert`).
    pub(crate) ca_certs: Vec<Certificate>,
    /// Lines per symbol before that symbol stops.
    pub(crate) max_messages: Option<u64>,
    /// Run time before everything stops.
    pub(crate) duration: Option<Duration>,
    /// `--stats` interval; `None` for no stats.
    pub(crate) stats: Option<Duration>,
    /// How stats are printed.
    pub(crate) stats_format: StatsFormat,
    /// How connections are kept: ages, stall detection, limits.
    pub(crate) connection: ConnectionSettings,
    /// How log lines are written (`--log-format`, `--color`).
    pub(crate) log: LogSettings,
    /// `--metrics`: the socket `/metrics` and `/healthz` are served on, already bound
    /// (a port in use is a usage error).
    pub(crate) metrics: Option<Arc<MetricsListener>>,
    /// `--stream book`'s settings.
    pub(crate) book: BookConfig,
}

/// How books are kept and shown (`--stream book`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BookConfig {
    /// Levels a side per line (`--book-depth`).
    pub(crate) depth: usize,
    /// At most one line per this long (`--book-interval`).
    pub(crate) interval: Option<Duration>,
    /// The REST base for snapshots: `--rest-endpoint`, else `--endpoint`'s host and port;
    /// `None`: the market's own (or the simulation's).
    pub(crate) rest_base: Option<String>,
}

/// Book levels a side per line unless `--book-depth` says otherwise.
pub(crate) const DEFAULT_BOOK_DEPTH: usize = 20;

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("symbols", &self.symbols)
            .field("kinds", &self.kinds)
            .field("market", &self.market)
            .field("source", &self.source)
            .field("queue_capacity", &self.queue_capacity)
            .field("queue_bytes", &self.queue_bytes)
            .field("overflow", &self.overflow)
            .field("format", &self.format)
            .field("output", &self.output)
            .field("record", &self.record)
            .field("gap_markers", &self.gap_markers)
            .field("delays", &self.delays)
            .field("ca_certs", &self.ca_certs.len())
            .field("max_messages", &self.max_messages)
            .field("duration", &self.duration)
            .field("stats", &self.stats)
            .field("stats_format", &self.stats_format)
            .field("connection", &self.connection)
            .field("log", &self.log)
            .field("metrics", &self.metrics)
            .field("book", &self.book)
            .finish_non_exhaustive()
    }
}

/// Merges the command line and its config file (if any) into a checked [`Config`].
///
/// # Errors
/// The first problem found, as a one-line [`UsageError`].
pub(crate) fn build(cli: Cli) -> Result<Config, UsageError> {
    let file = match &cli.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    merge::merge(cli, &file)
}

#[cfg(test)]
mod tests;
