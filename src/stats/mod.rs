//! Per-symbol counters: written by that symbol's reader and processor on the hot path,
//! read by `app` for the exit summary, by the `--stats` reporter and by the `--metrics`
//! endpoint ([`metrics`]), all from the same atomics, so every view agrees.
//!
//! Each counter has exactly one writing thread, so an increment is a relaxed load and store
//! (two plain moves), not a locked read-modify-write. Reader and processor counters sit on
//! separate cache lines so the two threads never fight over one.

pub(crate) mod bus;
pub(crate) mod connection;
pub(crate) mod latency;
pub(crate) mod metrics;
pub(crate) mod record;
pub(crate) mod report;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::stats::bus::{BusCounters, BusSnapshot};
use crate::stats::connection::ConnectionState;
use crate::stats::latency::{Percentiles, SharedLatencies};
use crate::stats::record::{RecordCounters, RecordSnapshot};

/// A monotonically increasing count with a single writing thread and any number of readers.
#[derive(Debug, Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Must only be called from the counter's one writing thread.
    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let value = self.0.load(Ordering::Relaxed);
        self.0.store(value.wrapping_add(n), Ordering::Relaxed);
    }

    /// The current value, as seen from any thread.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Sets the value (a reading, not a count). Writer thread only.
    #[inline]
    pub(crate) fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }

    /// Raises the value to `value` if it is higher (a high-water mark). Writer thread only.
    #[inline]
    pub(crate) fn raise_to(&self, value: u64) {
        if value > self.0.load(Ordering::Relaxed) {
            self.0.store(value, Ordering::Relaxed);
        }
    }
}

/// Counters written by the reader thread.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct ReaderCounters {
    /// Frames taken off the socket: text frames, and the binary, oversized, non-UTF-8 and
    /// flooding control frames it skips itself.
    pub(crate) received: Counter,
    /// Bytes of those frames' payloads.
    pub(crate) received_bytes: Counter,
    /// Frames thrown away because the queue was full (drop-oldest or drop-newest).
    pub(crate) dropped: Counter,
    /// Frames skipped at the socket: binary, oversized, not UTF-8, control-frame floods, and
    /// the exchange's `serverShutdown` notices (acted on, not written).
    pub(crate) skipped: Counter,
    /// Frames read but never queued because the pipeline was stopping (or a rollover's
    /// held frames at a stop).
    pub(crate) discarded: Counter,
    /// Successful connections (the first one included).
    pub(crate) connects: Counter,
    /// The most frames seen waiting in the queue (sampled).
    pub(crate) queue_high_water: Counter,
    /// When the last data frame's bytes arrived, µs since the Unix epoch (0: none yet).
    /// The reader has that reading in hand for every frame; storing it is one plain
    /// store to this line, which the frame's `received` count writes anyway.
    pub(crate) last_received_us: Counter,
}

/// Counters written by the processor thread.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct ProcessorCounters {
    /// Lines the output confirmed: whole in the file, read by the handler, accepted by
    /// stdout, acknowledged by the bus.
    pub(crate) written: Counter,
    /// Lines the output accepted and then lost: a batch a full disk refused (rolled back),
    /// lines left unread in a dead handler's pipe.
    pub(crate) lost: Counter,
    /// Frames the processor skipped: invalid JSON, an unexpected shape, an exchange error
    /// object or another non-market-data message.
    pub(crate) skipped: Counter,
    /// Events dropped because their id was already written (overlapping connections, replays).
    pub(crate) duplicates: Counter,
    /// Frames the processor threw away at a stop: still queued, in hand, or formatted into
    /// a batch that was never written.
    pub(crate) discarded: Counter,
    /// Jumps in the id sequence.
    pub(crate) gaps: Counter,
    /// Ids missing in those jumps.
    pub(crate) missing_ids: Counter,
    /// Order books thrown away and rebuilt (`--stream book`): gaps, crossed books,
    /// snapshot failures.
    pub(crate) resyncs: Counter,
}

/// Everything counted for one symbol.
#[derive(Debug, Default)]
pub(crate) struct SymbolStats {
    /// The reader's side.
    pub(crate) reader: ReaderCounters,
    /// The processor's side.
    pub(crate) processor: ProcessorCounters,
    /// The bus's side, with `--nats` only.
    pub(crate) bus: Option<BusCounters>,
    /// The recording's side, with `--record` only.
    pub(crate) record: Option<RecordCounters>,
    /// Frames `app` found still queued once both threads had ended, and threw away. Written
    /// by whichever thread drains (after the pipeline's threads are gone): a locked add.
    pub(crate) drained: AtomicU64,
    /// Latency histograms, only with `--stats` or `--metrics`.
    pub(crate) latency: Option<SharedLatencies>,
    /// Whether the reader is connected, since when, and its silence limit (`/healthz`).
    /// Written on connect and loss only.
    pub(crate) connection: ConnectionState,
}

impl SymbolStats {
    /// Counters, plus latency histograms when `with_latency`.
    pub(crate) fn new(with_latency: bool) -> Self {
        Self {
            latency: with_latency.then(SharedLatencies::default),
            ..Self::default()
        }
    }

    /// The same, with the NATS output's counters too.
    pub(crate) fn with_bus(self, bus: bool) -> Self {
        Self {
            bus: bus.then(BusCounters::default),
            ..self
        }
    }

    /// The same, with the recording's counters too.
    pub(crate) fn with_record(self, record: bool) -> Self {
        Self {
            record: record.then(RecordCounters::default),
            ..self
        }
    }

    /// The run's latency percentiles so far, when latencies are kept.
    pub(crate) fn latency_summary(&self) -> Option<LatencySummary> {
        self.latency.as_ref().map(|shared| {
            shared.with_totals(|totals| {
                (
                    Percentiles::of(&totals.exchange),
                    Percentiles::of(&totals.pipeline),
                )
            })
        })
    }
}

/// A point-in-time copy of [`SymbolStats`]. Every received frame is in exactly one of
/// written, lost, dropped, duplicates, skipped and discarded, each counted where it
/// happened; [`Snapshot::unaccounted`] is what is still on its way (in the queue, in hand,
/// in an output's batch) and is zero once the pipeline's threads have ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Snapshot {
    /// Frames received.
    pub(crate) received: u64,
    /// Lines the output confirmed.
    pub(crate) written: u64,
    /// Lines the output lost after accepting them.
    pub(crate) lost: u64,
    /// Frames dropped by the overflow policy.
    pub(crate) dropped: u64,
    /// Frames skipped as bad data, at the socket or in the processor.
    pub(crate) skipped: u64,
    /// Events dropped as duplicates.
    pub(crate) duplicates: u64,
    /// Frames thrown away at a stop.
    pub(crate) discarded: u64,
    /// Jumps in the id sequence.
    pub(crate) gaps: u64,
    /// Ids missing in those jumps.
    pub(crate) missing_ids: u64,
    /// Connections made beyond the first.
    pub(crate) reconnects: u64,
    /// What the NATS output did, with `--nats`.
    pub(crate) bus: Option<BusSnapshot>,
    /// What the recording did, with `--record`.
    pub(crate) record: Option<RecordSnapshot>,
    /// Order books rebuilt.
    pub(crate) resyncs: u64,
}

impl Snapshot {
    /// Received frames in none of the buckets yet: on their way, or (after the end) lost
    /// track of, which the summary then says.
    pub(crate) fn unaccounted(&self) -> i128 {
        i128::from(self.received)
            - i128::from(self.written)
            - i128::from(self.lost)
            - i128::from(self.dropped)
            - i128::from(self.skipped)
            - i128::from(self.duplicates)
            - i128::from(self.discarded)
    }
}

impl SymbolStats {
    /// Reads every counter once.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let (reader, processor) = (&self.reader, &self.processor);
        Snapshot {
            received: reader.received.get(),
            written: processor.written.get(),
            lost: processor.lost.get(),
            dropped: reader.dropped.get(),
            skipped: reader.skipped.get() + processor.skipped.get(),
            duplicates: processor.duplicates.get(),
            discarded: reader.discarded.get()
                + processor.discarded.get()
                + self.drained.load(Ordering::Relaxed),
            gaps: processor.gaps.get(),
            missing_ids: processor.missing_ids.get(),
            reconnects: reader.connects.get().saturating_sub(1),
            bus: self.bus.as_ref().map(BusCounters::snapshot),
            record: self.record.as_ref().map(RecordCounters::snapshot),
            resyncs: processor.resyncs.get(),
        }
    }
}

/// Latency totals for a summary line: exchange → receive, receive → written.
pub(crate) type LatencySummary = (Percentiles, Percentiles);

/// The exit summary: one aligned line per symbol, for stderr; with `--stats`, each ends
/// with the run's latency percentiles.
pub(crate) fn summary_lines<'a>(
    rows: impl IntoIterator<Item = (&'a str, Snapshot, Option<LatencySummary>)>,
) -> Vec<String> {
    let rows: Vec<(&str, Snapshot, Option<LatencySummary>)> = rows.into_iter().collect();
    let width = rows
        .iter()
        .map(|(name, _, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    rows.iter()
        .map(|(name, s, latency)| {
            let latency = latency.map_or_else(String::new, |(exchange, pipeline)| {
                format!(
                    "  latency exchange→receive {}  receive→write {}",
                    exchange.human(),
                    pipeline.human()
                )
            });
            let resyncs = match s.resyncs {
                0 => String::new(),
                n => format!("  resyncs {n}"),
            };
            let unaccounted = match s.unaccounted() {
                0 => String::new(),
                n => format!("  unaccounted {n} (a thread did not finish)"),
            };
            format!(
                "binance-listen: summary {name:<width$}  received {}  written {}  dropped {}  duplicates {}  skipped {}  discarded {}  lost {}  gaps {} (missing {})  reconnects {}{resyncs}{unaccounted}{}{}{latency}",
                s.received, s.written, s.dropped, s.duplicates, s.skipped, s.discarded, s.lost, s.gaps, s.missing_ids, s.reconnects,
                s.bus.map_or_else(String::new, |bus| bus.human()),
                s.record.map_or_else(String::new, |record| record.human())
            )
        })
        .collect()
}

/// One symbol's exit summary as JSON (`--stats-format json`), with the field names of the
/// `--stats` JSON rows.
#[derive(Debug, serde::Serialize)]
struct SummaryRow<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    symbol: &'a str,
    received: u64,
    written: u64,
    dropped: u64,
    duplicates: u64,
    skipped: u64,
    discarded: u64,
    lost: u64,
    gaps: u64,
    missing_ids: u64,
    reconnects: u64,
    /// What the NATS output did, with `--nats`.
    #[serde(skip_serializing_if = "Option::is_none")]
    nats: Option<BusSnapshot>,
    /// What the recording did, with `--record`.
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<RecordSnapshot>,
    /// Order books rebuilt; only with `--stream book` and when not zero.
    #[serde(skip_serializing_if = "is_zero")]
    resyncs: u64,
    /// Received frames in no bucket (a thread that did not finish); only when not zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    unaccounted: Option<i128>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_exchange_us: Option<Percentiles>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_pipeline_us: Option<Percentiles>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// The exit summary as JSON lines, one object per symbol (`"type":"summary"`), for stderr.
pub(crate) fn summary_json_lines<'a>(
    rows: impl IntoIterator<Item = (&'a str, Snapshot, Option<LatencySummary>)>,
) -> Vec<String> {
    rows.into_iter()
        .filter_map(|(symbol, s, latency)| {
            let row = SummaryRow {
                kind: "summary",
                symbol,
                received: s.received,
                written: s.written,
                dropped: s.dropped,
                duplicates: s.duplicates,
                skipped: s.skipped,
                discarded: s.discarded,
                lost: s.lost,
                gaps: s.gaps,
                missing_ids: s.missing_ids,
                reconnects: s.reconnects,
                nats: s.bus,
                record: s.record,
                resyncs: s.resyncs,
                unaccounted: Some(s.unaccounted()).filter(|&n| n != 0),
                latency_exchange_us: latency.map(|(exchange, _)| exchange),
                latency_pipeline_us: latency.map(|(_, pipeline)| pipeline),
            };
            serde_json::to_string(&row).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_summary_uses_the_stats_field_names() {
        let lines = summary_json_lines([(
            "ETHUSDT",
            Snapshot {
                received: 9,
                written: 5,
                dropped: 1,
                duplicates: 1,
                skipped: 1,
                discarded: 1,
                lost: 0,
                gaps: 2,
                missing_ids: 7,
                reconnects: 3,
                bus: None,
                record: None,
                resyncs: 0,
            },
            None,
        )]);
        assert_eq!(
            lines,
            [
                r#"{"type":"summary","symbol":"ETHUSDT","received":9,"written":5,"dropped":1,"duplicates":1,"skipped":1,"discarded":1,"lost":0,"gaps":2,"missing_ids":7,"reconnects":3}"#
            ]
        );
        let unfinished = Snapshot {
            received: 2,
            ..Snapshot::default()
        };
        let line = &summary_json_lines([("BNBUSDT", unfinished, None)])[0];
        assert!(
            line.ends_with(r#""reconnects":0,"unaccounted":2}"#),
            "{line}"
        );
    }

    #[test]
    fn every_bucket_is_counted_where_it_happens() {
        let stats = SymbolStats::default();
        stats.reader.received.add(100);
        stats.reader.dropped.add(10);
        stats.reader.skipped.add(2);
        stats.reader.discarded.add(1);
        stats.reader.connects.add(3);
        stats.processor.written.add(70);
        stats.processor.lost.add(3);
        stats.processor.skipped.add(4);
        stats.processor.duplicates.add(5);
        stats.processor.discarded.add(2);
        stats.processor.gaps.add(1);
        stats.processor.missing_ids.add(9);
        stats.drained.fetch_add(3, Ordering::Relaxed);
        let snapshot = stats.snapshot();
        assert_eq!(
            snapshot,
            Snapshot {
                received: 100,
                written: 70,
                lost: 3,
                dropped: 10,
                skipped: 6,
                duplicates: 5,
                discarded: 6,
                gaps: 1,
                missing_ids: 9,
                reconnects: 2,
                bus: None,
                record: None,
                resyncs: 0,
            }
        );
        assert_eq!(snapshot.unaccounted(), 0);
        stats.reader.received.add(1);
        assert_eq!(stats.snapshot().unaccounted(), 1);
    }

    #[test]
    fn summary_aligns_symbols() {
        let lines = summary_lines([
            ("ETHUSDT", Snapshot::default(), None),
            (
                "BTCUSD_PERP",
                Snapshot {
                    received: 5,
                    written: 5,
                    ..Snapshot::default()
                },
                None,
            ),
        ]);
        assert_eq!(
            lines[0],
            "binance-listen: summary ETHUSDT      received 0  written 0  dropped 0  duplicates 0  skipped 0  discarded 0  lost 0  gaps 0 (missing 0)  reconnects 0"
        );
        assert!(lines[1].starts_with("binance-listen: summary BTCUSD_PERP  received 5  written 5"));
    }
}
