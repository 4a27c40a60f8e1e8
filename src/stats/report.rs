//! `--stats [INTERVAL]`: a thread (`stats`) that prints, every interval, one row per symbol
//! on stderr: rates, totals, queue depth and high-water mark, drops, duplicates, gaps,
//! reconnects and latency percentiles, as an aligned table for people or JSON lines for
//! machines (`--stats-format json`). Latency rows cover the interval; the run's totals
//! stay in each symbol's shared histograms for the exit summary and `--metrics`.

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::control::stop::StopToken;
use crate::stats::bus::{BusSnapshot, GroupRole};
use crate::stats::latency::Percentiles;
use crate::stats::{Snapshot, SymbolStats};
use crate::util::duration::format_duration;
use binance_streams::Symbol;

/// How stats rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StatsFormat {
    /// An aligned table, for people.
    #[default]
    Table,
    /// One JSON object per symbol per interval, for machines.
    Json,
}

impl FromStr for StatsFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "table" => Ok(Self::Table),
            "json" => Ok(Self::Json),
            _ => Err(format!(
                "unknown stats format '{text}': expected table or json"
            )),
        }
    }
}

impl fmt::Display for StatsFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Table => "table",
            Self::Json => "json",
        })
    }
}

/// What the reporter reads for one symbol.
pub(crate) struct StatsSource {
    /// The symbol.
    pub symbol: Symbol,
    /// Its counters and latency histograms.
    pub stats: Arc<SymbolStats>,
    /// Reads how many frames wait in its queue now.
    pub queue_depth: Box<dyn Fn() -> usize + Send>,
}

/// The reporter thread; [`Reporter::finish`] stops it.
pub(crate) struct Reporter {
    stop: StopToken,
    thread: JoinHandle<()>,
}

/// Starts printing stats every `interval`.
///
/// # Errors
/// The thread could not be started.
pub(crate) fn spawn_reporter(
    sources: Vec<StatsSource>,
    interval: Duration,
    format: StatsFormat,
    group: bool,
) -> io::Result<Reporter> {
    let stop = StopToken::new();
    let token = stop.clone();
    let thread = thread::Builder::new()
        .name("stats".to_owned())
        .spawn(move || run(&sources, interval, format, group, &token))?;
    Ok(Reporter { stop, thread })
}

impl Reporter {
    /// Stops the reporter and waits for it (a report being printed is finished first).
    pub(crate) fn finish(self) {
        self.stop.trigger();
        let _ = self.thread.join();
    }
}

/// One symbol's row for one interval.
#[derive(Debug, Serialize)]
struct Row<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    time_ms: u64,
    interval_s: f64,
    symbol: &'a str,
    /// Frames per second over the interval.
    rate: f64,
    /// Payload bytes per second over the interval.
    bytes_per_s: f64,
    received: u64,
    received_bytes: u64,
    written: u64,
    queued: usize,
    queue_high_water: u64,
    dropped: u64,
    duplicates: u64,
    gaps: u64,
    missing_ids: u64,
    skipped: u64,
    reconnects: u64,
    /// Order books rebuilt (`--stream book`); left out when zero.
    #[serde(skip_serializing_if = "is_zero")]
    resyncs: u64,
    discarded: u64,
    lost: u64,
    latency_exchange_us: Option<Percentiles>,
    latency_pipeline_us: Option<Percentiles>,
    /// With `--nats`: acked, duplicates, retried, failed publishes.
    #[serde(skip_serializing_if = "Option::is_none")]
    nats: Option<BusSnapshot>,
    /// With `--group`: holding, standby (starting to take it over) or idle (held elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

fn run(
    sources: &[StatsSource],
    interval: Duration,
    format: StatsFormat,
    group: bool,
    stop: &StopToken,
) {
    let mut previous: Vec<(u64, u64)> = vec![(0, 0); sources.len()];
    let mut since = Instant::now();
    let mut header_due = true;
    while stop.sleep(interval) {
        let elapsed = since.elapsed().as_secs_f64().max(1e-9);
        since = Instant::now();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64);
        let mut out = String::new();
        for (source, last) in sources.iter().zip(&mut previous) {
            let snapshot = source.stats.snapshot();
            let bytes = source.stats.reader.received_bytes.get();
            let interval_latency = source.stats.latency.as_ref().map(|shared| shared.take());
            let row = Row {
                kind: "stats",
                time_ms: now_ms,
                interval_s: elapsed,
                symbol: source.symbol.as_str(),
                rate: (snapshot.received - last.0) as f64 / elapsed,
                bytes_per_s: (bytes - last.1) as f64 / elapsed,
                received: snapshot.received,
                received_bytes: bytes,
                written: snapshot.written,
                queued: (source.queue_depth)(),
                queue_high_water: source.stats.reader.queue_high_water.get(),
                dropped: snapshot.dropped,
                duplicates: snapshot.duplicates,
                gaps: snapshot.gaps,
                missing_ids: snapshot.missing_ids,
                skipped: snapshot.skipped,
                reconnects: snapshot.reconnects,
                resyncs: snapshot.resyncs,
                discarded: snapshot.discarded,
                lost: snapshot.lost,
                latency_exchange_us: interval_latency
                    .as_ref()
                    .map(|l| Percentiles::of(&l.exchange)),
                latency_pipeline_us: interval_latency
                    .as_ref()
                    .map(|l| Percentiles::of(&l.pipeline)),
                nats: snapshot.bus,
                group: group
                    .then(|| source.stats.bus.as_ref().map(|bus| bus.group_role().name()))
                    .flatten(),
            };
            *last = (snapshot.received, bytes);
            match format {
                StatsFormat::Json => {
                    if let Ok(line) = serde_json::to_string(&row) {
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
                // A group member's table shows the symbols it serves.
                StatsFormat::Table if row.group == Some(GroupRole::Idle.name()) => {}
                StatsFormat::Table => {
                    if std::mem::take(&mut header_due) {
                        out.push_str(&table_header());
                    }
                    out.push_str(&table_row(&row, &snapshot));
                }
            }
        }
        if format == StatsFormat::Table {
            header_due = true;
            let held = if group {
                format!(", {}", group_roles(sources))
            } else {
                String::new()
            };
            out.insert_str(
                0,
                &format!(
                    "binance-listen: stats over the last {}{held}\n",
                    format_duration(interval)
                ),
            );
        }
        // One write for the whole report, so it is not torn by log lines.
        let _ = io::stderr().lock().write_all(out.as_bytes());
    }
}

/// `holding 3 of 6 symbols (starting 1)`: the group member's share now.
fn group_roles(sources: &[StatsSource]) -> String {
    let roles: Vec<GroupRole> = sources
        .iter()
        .filter_map(|source| source.stats.bus.as_ref().map(|bus| bus.group_role()))
        .collect();
    let count = |role| roles.iter().filter(|r| **r == role).count();
    let starting = count(GroupRole::Standby);
    format!(
        "holding {} of {} symbols{}",
        count(GroupRole::Holding),
        sources.len(),
        if starting > 0 {
            format!(" (starting {starting})")
        } else {
            String::new()
        }
    )
}

// The table's columns are sized so a row fits 80 columns: the latencies shown are the
// p99s (the JSON rows and the exit summary carry p50, p99 and max).
fn table_header() -> String {
    format!(
        "  {:<12} {:>7} {:>8} {:>5} {:>6} {:>5} {:>4} {:>5}  {:>7}  {:>7}\n",
        "symbol",
        "msg/s",
        "written",
        "queue",
        "drops",
        "dups",
        "gaps",
        "recon",
        "e→r p99",
        "r→w p99"
    )
}

fn table_row(row: &Row<'_>, snapshot: &Snapshot) -> String {
    let p99 = |percentiles: Option<Percentiles>| {
        percentiles
            .filter(|p| p.count > 0)
            .map_or_else(|| "-".to_owned(), |p| p.p99_human())
    };
    format!(
        "  {:<12} {:>7.1} {:>8} {:>5} {:>6} {:>5} {:>4} {:>5}  {:>7}  {:>7}\n",
        row.symbol,
        row.rate,
        row.written,
        row.queued,
        row.dropped,
        row.duplicates,
        snapshot.gaps,
        row.reconnects,
        p99(row.latency_exchange_us),
        p99(row.latency_pipeline_us)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_name_the_accepted_values() {
        assert_eq!("JSON".parse(), Ok(StatsFormat::Json));
        assert_eq!(
            "csv".parse::<StatsFormat>().unwrap_err(),
            "unknown stats format 'csv': expected table or json"
        );
    }

    #[test]
    fn the_reporter_leaves_the_latency_totals_to_the_summary() {
        let stats = Arc::new(SymbolStats::new(true));
        let mut recorder = crate::stats::latency::LatencyRecorder::new();
        recorder.line(Some(1), 2_000);
        recorder.batch_written(2_100, stats.latency.as_ref().unwrap());
        recorder.publish(stats.latency.as_ref().unwrap());

        let reporter = spawn_reporter(
            vec![StatsSource {
                symbol: "ETHUSDT".parse().unwrap(),
                stats: Arc::clone(&stats),
                queue_depth: Box::new(|| 0),
            }],
            Duration::from_secs(3600),
            StatsFormat::Table,
            false,
        )
        .unwrap();
        reporter.finish();
        let (exchange, pipeline) = stats.latency_summary().unwrap();
        assert_eq!(exchange.count, 1);
        assert_eq!(pipeline.count, 1);
    }

    #[test]
    fn a_table_row_fits_80_columns() {
        let row = Row {
            kind: "stats",
            time_ms: 0,
            interval_s: 1.0,
            symbol: "1000SHIBUSDT",
            rate: 12345.6,
            bytes_per_s: 0.0,
            received: 99_999_999,
            received_bytes: 0,
            written: 99_999_999,
            queued: 4096,
            queue_high_water: 4096,
            dropped: 999_999,
            duplicates: 99_999,
            gaps: 9_999,
            missing_ids: 0,
            skipped: 0,
            discarded: 0,
            lost: 0,
            reconnects: 99_999,
            resyncs: 0,
            latency_exchange_us: Some(Percentiles {
                count: 1,
                p50: 1,
                p99: 1_500_000,
                max: 1,
            }),
            latency_pipeline_us: None,
            nats: None,
            group: None,
        };
        let snapshot = Snapshot {
            gaps: 9_999,
            ..Snapshot::default()
        };
        for line in [table_header(), table_row(&row, &snapshot)] {
            assert!(line.trim_end().chars().count() <= 80, "{line:?}");
        }
    }
}
