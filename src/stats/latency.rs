//! Latency percentiles per symbol, kept only when `--stats` is on: exchange event time →
//! receive, and receive → line written. The processor records into its own histograms
//! (no lock per message) and publishes them into the symbol's shared ones at most every
//! [`PUBLISH_INTERVAL`]. The shared side keeps two sets: the interval's, which the stats
//! reporter takes, and the run's totals, which the exit summary and the `--metrics`
//! histograms read; a publish adds into both (every 100 ms, never per message).
//! Histograms are HdrHistograms in microseconds, 2 significant digits (1 % precision), up
//! to a minute: about 10 KB each.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::util::duration::format_duration;

/// How often a processor publishes what it recorded.
const PUBLISH_INTERVAL: Duration = Duration::from_millis(100);

/// The largest latency recorded exactly; larger values count as this.
const MAX_RECORDED_US: u64 = 60_000_000;

/// Binance event times are milliseconds; with `timeUnit=MICROSECOND` (and the benchmark's
/// mock) they are microseconds, which this threshold tells apart (year 5138 in ms).
const MICROSECOND_TIMES_FROM: u64 = 100_000_000_000_000;

/// The two latencies of one symbol.
#[derive(Debug, Clone)]
pub(crate) struct Latencies {
    /// Exchange event time → frame received.
    pub exchange: Histogram<u32>,
    /// Frame received → its line written.
    pub pipeline: Histogram<u32>,
}

impl Latencies {
    /// Empty histograms.
    pub(crate) fn new() -> Self {
        Self {
            exchange: new_histogram(),
            pipeline: new_histogram(),
        }
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &Latencies) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.exchange.add(&other.exchange);
        let _ = self.pipeline.add(&other.pipeline);
    }

    /// Empties both histograms.
    pub(crate) fn reset(&mut self) {
        self.exchange.reset();
        self.pipeline.reset();
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

fn new_histogram() -> Histogram<u32> {
    // Constant bounds that satisfy hdrhistogram's rules (low ≥ 1, high ≥ 2 × low,
    // sigfig ≤ 5): creation cannot fail.
    Histogram::new_with_bounds(1, MAX_RECORDED_US, 2).expect("constant, valid histogram bounds")
}

/// A symbol's published latencies, shared by its processor, the stats reporter and the
/// metrics endpoint.
#[derive(Debug, Default)]
pub(crate) struct SharedLatencies(Mutex<Published>);

/// What the processor published: since the reporter last took it, and in the whole run.
#[derive(Debug, Default)]
struct Published {
    interval: Latencies,
    totals: Latencies,
}

impl SharedLatencies {
    /// Takes what was published since the last call, leaving the interval's histograms
    /// empty (the run's totals keep it).
    pub(crate) fn take(&self) -> Latencies {
        let mut shared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = shared.interval.clone();
        shared.interval.reset();
        taken
    }

    /// Runs `read` on the run's totals, under the lock: keep it short (the processor
    /// waits for it at its next publish, at most every [`PUBLISH_INTERVAL`]).
    pub(crate) fn with_totals<R>(&self, read: impl FnOnce(&Latencies) -> R) -> R {
        read(&self.0.lock().unwrap_or_else(PoisonError::into_inner).totals)
    }

    fn publish(&self, local: &mut Latencies) {
        let mut shared = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        shared.interval.add(local);
        shared.totals.add(local);
        local.reset();
    }
}

/// The processor's side: records without locking, publishes now and then.
#[derive(Debug)]
pub(crate) struct LatencyRecorder {
    local: Latencies,
    /// Receive times of the lines in the current batch, for receive → written.
    batch: Vec<u64>,
    last_publish: Instant,
}

impl LatencyRecorder {
    /// A recorder with empty histograms.
    pub(crate) fn new() -> Self {
        Self {
            local: Latencies::new(),
            batch: Vec::with_capacity(512),
            last_publish: Instant::now(),
        }
    }

    /// Records a line about to be written: its exchange latency (when the event carries a
    /// time) and its receive time, for when the batch is written.
    pub(crate) fn line(&mut self, event_time: Option<u64>, recv_time_us: u64) {
        if let Some(event_time) = event_time {
            let event_us = if event_time >= MICROSECOND_TIMES_FROM {
                event_time
            } else {
                event_time.saturating_mul(1000)
            };
            // A local clock behind the exchange's gives negative latencies: count them as 0.
            self.local
                .exchange
                .saturating_record(recv_time_us.saturating_sub(event_us).max(1));
        }
        self.batch.push(recv_time_us);
    }

    /// The batch was written at `written_us`; publishes if it is time to.
    pub(crate) fn batch_written(&mut self, written_us: u64, shared: &SharedLatencies) {
        for recv_time_us in self.batch.drain(..) {
            self.local
                .pipeline
                .saturating_record(written_us.saturating_sub(recv_time_us).max(1));
        }
        if self.last_publish.elapsed() >= PUBLISH_INTERVAL {
            shared.publish(&mut self.local);
            self.last_publish = Instant::now();
        }
    }

    /// The batch was lost (the output failed): forget its receive times.
    pub(crate) fn batch_lost(&mut self) {
        self.batch.clear();
    }

    /// Publishes everything recorded (at the end of the run).
    pub(crate) fn publish(&mut self, shared: &SharedLatencies) {
        shared.publish(&mut self.local);
    }
}

impl Default for LatencyRecorder {
    fn default() -> Self {
        Self::new()
    }
}

/// p50, p99 and max of a histogram, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub(crate) struct Percentiles {
    /// Values recorded.
    pub count: u64,
    /// Median, µs.
    pub p50: u64,
    /// 99th percentile, µs.
    pub p99: u64,
    /// Largest, µs.
    pub max: u64,
}

impl Percentiles {
    /// Reads them off `histogram`.
    pub(crate) fn of(histogram: &Histogram<u32>) -> Self {
        if histogram.is_empty() {
            return Self::default();
        }
        Self {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.5),
            p99: histogram.value_at_quantile(0.99),
            max: histogram.max(),
        }
    }

    /// The 99th percentile alone, as a person reads it (`847µs`, `1.5s`).
    pub(crate) fn p99_human(&self) -> String {
        format_duration(Duration::from_micros(self.p99))
    }

    /// `p50/p99/max` as a person reads them; `-` when nothing was recorded.
    pub(crate) fn human(&self) -> String {
        if self.count == 0 {
            return "-".to_owned();
        }
        let show = |us: u64| format_duration(Duration::from_micros(us));
        format!("{}/{}/{}", show(self.p50), show(self.p99), show(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_exchange_and_pipeline_latency_and_publishes() {
        let shared = SharedLatencies::default();
        let mut recorder = LatencyRecorder::new();
        // Event at 1_000 ms, received 2 ms later, written 300 µs after that.
        recorder.line(Some(1_000), 1_002_000);
        recorder.line(None, 1_002_100);
        recorder.batch_written(1_002_300, &shared);
        recorder.publish(&shared);
        let taken = shared.take();
        let exchange = Percentiles::of(&taken.exchange);
        assert_eq!(exchange.count, 1);
        assert!((1990..=2010).contains(&exchange.p50), "{exchange:?}");
        let pipeline = Percentiles::of(&taken.pipeline);
        assert_eq!(pipeline.count, 2);
        assert!((199..=301).contains(&pipeline.max), "{pipeline:?}");
        assert_eq!(
            Percentiles::of(&shared.take().pipeline).count,
            0,
            "take empties"
        );
        let totals = shared.with_totals(|totals| Percentiles::of(&totals.pipeline));
        assert_eq!(totals.count, 2, "the run's totals keep what was taken");
    }

    #[test]
    fn microsecond_event_times_are_recognised_and_skew_is_clamped() {
        let shared = SharedLatencies::default();
        let mut recorder = LatencyRecorder::new();
        recorder.line(Some(1_732_500_000_000_000), 1_732_500_000_000_500);
        recorder.line(Some(1_732_500_000_001), 1_732_500_000_000_000);
        recorder.batch_written(1_732_500_000_000_600, &shared);
        recorder.publish(&shared);
        let exchange = Percentiles::of(&shared.take().exchange);
        assert_eq!(exchange.count, 2);
        assert!(exchange.max <= 501, "{exchange:?}");
    }

    #[test]
    fn percentiles_read_for_people() {
        assert_eq!(Percentiles::default().human(), "-");
        let mut latencies = Latencies::new();
        for us in [100, 200, 300, 40_000] {
            latencies.pipeline.saturating_record(us);
        }
        let text = Percentiles::of(&latencies.pipeline).human();
        // 2 significant digits: values are reported at their bucket's upper edge.
        assert!(
            text.starts_with("200µs/40") && text.ends_with("ms"),
            "{text}"
        );
    }
}
