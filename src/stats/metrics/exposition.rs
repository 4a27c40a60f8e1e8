//! `/metrics`: every symbol's counters, gauges and latency histograms, encoded by
//! `prometheus-client` in the Prometheus text format (0.0.4).
//!
//! The counters already live in single-writer atomics ([`SymbolStats`]); rather than
//! mirror them into the crate's own counter types (a second increment per message), one
//! [`Collector`] reads them at scrape time and hands the values to the crate's encoder,
//! which writes the names (`_total` on counters), escapes the labels and formats the
//! numbers. Each family is written once with a sample per symbol, all from one reading per
//! symbol, so the counters of a scrape are consistent with one another as far as the
//! threads allow, and match the exit summary's (the same [`Snapshot`]).

use std::fmt;
use std::sync::Arc;

use hdrhistogram::Histogram;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::{MetricsSource, SharedLabels};
use crate::stats::Snapshot;
use crate::stats::connection::now_us;

/// Latency bucket bounds, µs: 100 µs to 10 s in 1-2.5-5 steps (the encoder adds `+Inf`).
/// Below 100 µs the pipeline's own latency cannot be told from clock noise; above 10 s a
/// latency is an outage, which the counters and `/healthz` show better.
const BUCKET_BOUNDS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];

/// One Prometheus histogram's numbers: per-bucket counts (the encoder accumulates them),
/// the sum in seconds and the count.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Buckets {
    pub per_bucket: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

/// Turns an HdrHistogram (µs) into Prometheus buckets (seconds). Each recorded value is
/// placed by the top of its HdrHistogram bucket (1 % wide), so a latency is never put
/// below its bucket; the sum adds each bucket's middle value (1 % precision too).
pub(super) fn buckets(histogram: &Histogram<u32>) -> Buckets {
    let mut counts = [0u64; BUCKET_BOUNDS_US.len() + 1];
    let mut sum_us = 0.0;
    for value in histogram.iter_recorded() {
        let top = value.value_iterated_to();
        let count = u64::from(value.count_at_value());
        let index = BUCKET_BOUNDS_US
            .iter()
            .position(|&bound| top <= bound)
            .unwrap_or(BUCKET_BOUNDS_US.len());
        counts[index] += count;
        sum_us += histogram.median_equivalent(top) as f64 * count as f64;
    }
    let mut per_bucket: Vec<(f64, u64)> = BUCKET_BOUNDS_US
        .iter()
        .zip(counts)
        .map(|(&bound, count)| (bound as f64 / 1e6, count))
        .collect();
    per_bucket.push((f64::INFINITY, counts[BUCKET_BOUNDS_US.len()]));
    Buckets {
        per_bucket,
        sum_seconds: sum_us / 1e6,
        count: histogram.len(),
    }
}

/// One symbol's reading at a scrape.
struct Reading<'a> {
    labels: [(&'static str, &'a str); 3],
    snapshot: Snapshot,
    received_bytes: u64,
    queue_depth: u64,
    queue_high_water: u64,
    last_event_age_seconds: f64,
    connected: i64,
    latency: Option<(Buckets, Buckets)>,
}

/// The collector: reads every source at each scrape.
pub(super) struct Exposition {
    sources: Arc<Vec<MetricsSource>>,
    labels: SharedLabels,
    /// Before a symbol's first frame its event age counts from here.
    started_us: u64,
}

impl fmt::Debug for Exposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exposition")
            .field("symbols", &self.sources.len())
            .field("labels", &self.labels)
            .finish()
    }
}

impl Exposition {
    pub(super) fn new(sources: Arc<Vec<MetricsSource>>, labels: SharedLabels) -> Self {
        Self {
            sources,
            labels,
            started_us: now_us(),
        }
    }

    fn read<'a>(&'a self, source: &'a MetricsSource, now_us: u64) -> Reading<'a> {
        let stats = &source.stats;
        let last_us = match stats.reader.last_received_us.get() {
            0 => self.started_us,
            last => last,
        };
        Reading {
            labels: [
                ("symbol", source.symbol.as_str()),
                ("stream", &self.labels.stream),
                ("market", &self.labels.market),
            ],
            snapshot: stats.snapshot(),
            received_bytes: stats.reader.received_bytes.get(),
            queue_depth: (source.queue_depth)() as u64,
            queue_high_water: stats.reader.queue_high_water.get(),
            last_event_age_seconds: now_us.saturating_sub(last_us) as f64 / 1e6,
            connected: i64::from(stats.connection.view().connected),
            latency: stats.latency.as_ref().map(|shared| {
                shared.with_totals(|totals| (buckets(&totals.exchange), buckets(&totals.pipeline)))
            }),
        }
    }
}

/// A family of one value per symbol: name, help, how to read the value.
type Family<V> = (&'static str, &'static str, fn(&Reading<'_>) -> V);

/// A latency histogram family: name, help, which of the two histograms.
type LatencyFamily = (
    &'static str,
    &'static str,
    fn(&(Buckets, Buckets)) -> &Buckets,
);

/// Counters: name (the encoder appends `_total`), help, value.
const COUNTERS: [Family<u64>; 12] = [
    (
        "received",
        "Frames received from the exchange (data frames and the bad ones skipped at the socket).",
        |r| r.snapshot.received,
    ),
    (
        "received_bytes",
        "Payload bytes of the frames received.",
        |r| r.received_bytes,
    ),
    ("written", "Lines the output confirmed written.", |r| {
        r.snapshot.written
    }),
    (
        "lost",
        "Lines the output accepted and then lost (a full disk, a dead handler).",
        |r| r.snapshot.lost,
    ),
    (
        "dropped",
        "Frames dropped by the overflow policy because the queue was full.",
        |r| r.snapshot.dropped,
    ),
    (
        "duplicates",
        "Events dropped because their id was already written.",
        |r| r.snapshot.duplicates,
    ),
    (
        "skipped",
        "Frames skipped as bad data (invalid JSON, binary, oversized, error objects).",
        |r| r.snapshot.skipped,
    ),
    ("discarded", "Frames thrown away at a stop.", |r| {
        r.snapshot.discarded
    }),
    ("gaps", "Jumps in the id sequence.", |r| r.snapshot.gaps),
    ("missing_ids", "Ids missing in those jumps.", |r| {
        r.snapshot.missing_ids
    }),
    ("reconnects", "Connections made after the first.", |r| {
        r.snapshot.reconnects
    }),
    (
        "resyncs",
        "Order books thrown away and rebuilt (--stream book).",
        |r| r.snapshot.resyncs,
    ),
];

impl Collector for Exposition {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let now = now_us();
        let readings: Vec<Reading<'_>> = self.sources.iter().map(|s| self.read(s, now)).collect();
        for (name, help, value) in COUNTERS {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for reading in &readings {
                ConstCounter::new(value(reading)).encode(family.encode_family(&reading.labels)?)?;
            }
        }
        let gauges: [Family<i64>; 3] = [
            (
                "queue_depth",
                "Frames waiting in the symbol's queue now.",
                |r| i64::try_from(r.queue_depth).unwrap_or(i64::MAX),
            ),
            (
                "queue_high_water",
                "The most frames seen waiting in the queue (sampled).",
                |r| i64::try_from(r.queue_high_water).unwrap_or(i64::MAX),
            ),
            (
                "connected",
                "1 while the symbol's connection is open, else 0.",
                |r| r.connected,
            ),
        ];
        for (name, help, value) in gauges {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for reading in &readings {
                ConstGauge::new(value(reading)).encode(family.encode_family(&reading.labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "last_event_age_seconds",
            "Seconds since the symbol's last frame arrived (since the start before the first).",
            None,
            MetricType::Gauge,
        )?;
        for reading in &readings {
            ConstGauge::new(reading.last_event_age_seconds)
                .encode(family.encode_family(&reading.labels)?)?;
        }
        let histograms: [LatencyFamily; 2] = [
            (
                "exchange_to_receive_seconds",
                "Exchange event time to frame received (includes clock skew; events without a time are not counted).",
                |pair| &pair.0,
            ),
            (
                "receive_to_written_seconds",
                "Frame received to its line written.",
                |pair| &pair.1,
            ),
        ];
        for (name, help, pick) in histograms {
            if readings.iter().all(|reading| reading.latency.is_none()) {
                continue;
            }
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
            for reading in &readings {
                let Some(latency) = &reading.latency else {
                    continue;
                };
                let b = pick(latency);
                family
                    .encode_family(&reading.labels)?
                    .encode_histogram::<NoLabelSet>(b.sum_seconds, b.count, &b.per_bucket, None)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdr_values_land_in_the_prometheus_bucket_above_them() {
        let mut histogram = Histogram::<u32>::new_with_bounds(1, 60_000_000, 2).unwrap();
        for us in [50, 100, 101, 3_000, 20_000_000] {
            histogram.record(us).unwrap();
        }
        let b = buckets(&histogram);
        assert_eq!(b.count, 5);
        assert_eq!(b.per_bucket.len(), BUCKET_BOUNDS_US.len() + 1);
        assert_eq!(b.per_bucket[0], (0.0001, 2), "50 µs and 100 µs");
        assert_eq!(b.per_bucket[1], (0.00025, 1), "101 µs");
        assert_eq!(b.per_bucket[5], (0.005, 1), "3 ms");
        assert_eq!(b.per_bucket[16], (f64::INFINITY, 1), "20 s");
        assert!((b.sum_seconds - 20.003251).abs() < 0.2, "{}", b.sum_seconds);
    }
}
