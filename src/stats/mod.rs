//! Per-symbol counters: written by that symbol's reader and processor on the hot path,
//! read by `app` for the exit summary (and, later, periodic reports).
//!
//! Each counter has exactly one writing thread, so an increment is a relaxed load and store
//! (two plain moves), not a locked read-modify-write. Reader and processor counters sit on
//! separate cache lines so the two threads never fight over one.

pub(crate) mod latency;
pub(crate) mod report;

use std::sync::atomic::{AtomicU64, Ordering};

use crate::stats::latency::{Percentiles, SharedLatencies};

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
    /// Data frames received from the exchange.
    pub received: Counter,
    /// Bytes of those frames' payloads.
    pub received_bytes: Counter,
    /// Frames thrown away because the queue was full (drop-oldest or drop-newest).
    pub dropped: Counter,
    /// Binary frames and other frames that are not market data, skipped at the socket.
    pub bad_frames: Counter,
    /// Successful connections (the first one included).
    pub connects: Counter,
    /// The most frames seen waiting in the queue (sampled).
    pub queue_high_water: Counter,
}

/// Counters written by the processor thread.
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct ProcessorCounters {
    /// Lines handed to the output and accepted by it.
    pub written: Counter,
    /// Frames the processor skipped: invalid JSON, an unexpected shape, an exchange error
    /// object or another non-market-data message.
    pub skipped: Counter,
    /// Events dropped because their id was already written (overlapping connections, replays).
    pub duplicates: Counter,
    /// Jumps in the id sequence.
    pub gaps: Counter,
    /// Ids missing in those jumps.
    pub missing_ids: Counter,
}

/// Everything counted for one symbol.
#[derive(Debug, Default)]
pub(crate) struct SymbolStats {
    /// The reader's side.
    pub reader: ReaderCounters,
    /// The processor's side.
    pub processor: ProcessorCounters,
    /// Latency histograms, only with `--stats`.
    pub latency: Option<SharedLatencies>,
}

impl SymbolStats {
    /// Counters, plus latency histograms when `with_latency`.
    pub(crate) fn new(with_latency: bool) -> Self {
        Self {
            latency: with_latency.then(SharedLatencies::default),
            ..Self::default()
        }
    }
}

/// A point-in-time copy of [`SymbolStats`], with the derived figures a person wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Snapshot {
    /// Data frames received.
    pub received: u64,
    /// Lines written.
    pub written: u64,
    /// Frames dropped by the overflow policy.
    pub dropped: u64,
    /// Frames skipped as bad data, at the socket or in the processor.
    pub skipped: u64,
    /// Events dropped as duplicates.
    pub duplicates: u64,
    /// Jumps in the id sequence.
    pub gaps: u64,
    /// Ids missing in those jumps.
    pub missing_ids: u64,
    /// Received frames neither written, dropped nor skipped: still queued (or in hand)
    /// when the run stopped, or lost with a closed output.
    pub discarded: u64,
    /// Connections made beyond the first.
    pub reconnects: u64,
}

impl SymbolStats {
    /// Reads every counter once.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let received = self.reader.received.get();
        let dropped = self.reader.dropped.get();
        let skipped = self.reader.bad_frames.get() + self.processor.skipped.get();
        let written = self.processor.written.get();
        let duplicates = self.processor.duplicates.get();
        // Binary frames never enter the queue, so only processor skips come out of `received`.
        let accounted = written + dropped + duplicates + self.processor.skipped.get();
        Snapshot {
            received,
            written,
            dropped,
            skipped,
            duplicates,
            gaps: self.processor.gaps.get(),
            missing_ids: self.processor.missing_ids.get(),
            discarded: received.saturating_sub(accounted),
            reconnects: self.reader.connects.get().saturating_sub(1),
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
            format!(
                "binance-listen: summary {name:<width$}  received {}  written {}  dropped {}  duplicates {}  gaps {} (missing {})  skipped {}  discarded {}  reconnects {}{latency}",
                s.received, s.written, s.dropped, s.duplicates, s.gaps, s.missing_ids, s.skipped, s.discarded, s.reconnects
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discarded_is_what_nothing_else_accounts_for() {
        let stats = SymbolStats::default();
        stats.reader.received.add(100);
        stats.reader.dropped.add(10);
        stats.reader.bad_frames.add(2);
        stats.reader.connects.add(3);
        stats.processor.written.add(75);
        stats.processor.skipped.add(4);
        stats.processor.duplicates.add(5);
        stats.processor.gaps.add(1);
        stats.processor.missing_ids.add(9);
        let snapshot = stats.snapshot();
        assert_eq!(
            snapshot,
            Snapshot {
                received: 100,
                written: 75,
                dropped: 10,
                skipped: 6,
                duplicates: 5,
                gaps: 1,
                missing_ids: 9,
                discarded: 6,
                reconnects: 2,
            }
        );
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
            "binance-listen: summary ETHUSDT      received 0  written 0  dropped 0  duplicates 0  gaps 0 (missing 0)  skipped 0  discarded 0  reconnects 0"
        );
        assert!(lines[1].starts_with("binance-listen: summary BTCUSD_PERP  received 5  written 5"));
    }
}
