//! The processor thread (`proc-<SYMBOL>`): the symbol's "handler". It takes frames from the
//! symbol's queue, sleeps `--delay` if set, parses the payload, formats one line into its
//! [`LineSink`] and writes batches when it is about to wait. A bad frame is counted, reported
//! (throttled) and skipped; it never ends the thread.

mod reports;

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Sender, TryRecvError};
use tracing::{debug, error, warn};

use crate::control::events::{AppEvent, ExitGuard};
use crate::control::stop::StopToken;
use crate::control::supervise::{Supervision, supervise};
use crate::output::batch::{Delivered, LineSink};
use crate::output::{LineHead, OutputFormat, write_line};
use crate::pipeline::queue::{Frame, FrameReceiver};
use crate::pipeline::sequence::{SequenceCheck, Verdict};
use crate::stats::SymbolStats;
use crate::stats::latency::LatencyRecorder;
use crate::util::throttle::Throttle;
use binance_streams::Symbol;
use binance_streams::{Decoder, Payload, SequencePoint};
use reports::BadFrameReports;

/// Stack for a processor thread: parsing and formatting need little, and with thousands of
/// symbols the default 2 MiB of address space per thread adds up.
const PROCESSOR_STACK_BYTES: usize = 256 * 1024;

/// How many times the processor yields, looking for another frame, before writing a batch.
const LINGER_YIELDS: u32 = 2;

/// How often a repeated kind of bad frame, or repeated gaps, are reported.
const BAD_FRAME_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Everything one processor needs; built by `app`, moved into the thread.
pub(crate) struct Processor {
    /// The symbol served.
    pub symbol: Symbol,
    /// Decodes the symbol's frames (one kind, or several over the combined stream).
    pub decoder: Decoder,
    /// How lines are written.
    pub format: OutputFormat,
    /// Sleep per message (`--delay`); zero for none.
    pub delay: Duration,
    /// Stop after this many lines (`--max-messages`).
    pub max_messages: Option<u64>,
    /// The symbol's queue.
    pub frames: FrameReceiver,
    /// The pipeline's stop token.
    pub stop: StopToken,
    /// The symbol's counters.
    pub stats: Arc<SymbolStats>,
    /// Where lines go.
    pub sink: LineSink,
    /// Tells `app` the pipeline finished or the output closed.
    pub events: Sender<AppEvent>,
}

/// Starts the processor thread.
///
/// # Errors
/// The OS refused to create the thread.
pub(crate) fn spawn_processor(processor: Processor) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(processor.symbol.thread_name("proc-"))
        .stack_size(PROCESSOR_STACK_BYTES)
        .spawn(move || processor.run())
}

/// What survives a restart of the processing loop after an internal error.
struct State {
    reports: BadFrameReports,
    /// One per kind, in the decoder's order.
    sequences: Vec<SequenceCheck>,
    /// The start of each kind's lines (symbol and stream, rendered once).
    heads: Vec<LineHead>,
    gaps: Throttle,
    /// Ids missing in gaps not yet reported.
    unreported_missing: u64,
    /// Lines produced, for `--max-messages`.
    lines: u64,
    /// Latency recording, with `--stats`.
    latency: Option<LatencyRecorder>,
    /// A frame is being handled; if the loop dies now, that frame is lost.
    in_hand: bool,
}

/// How the processing loop ended.
enum Ended {
    /// The queue closed, the pipeline stopped or the output is gone.
    Stopped,
    /// `--max-messages` lines were written.
    Done,
}

impl Processor {
    fn run(mut self) {
        // Every log line of this thread names its symbol through this span.
        let _span = tracing::info_span!("processor", symbol = %self.symbol).entered();
        let _guard = ExitGuard {
            symbol: self.symbol.clone(),
            role: "processor",
            stop: self.stop.clone(),
            events: self.events.clone(),
        };
        let mut state = State {
            reports: BadFrameReports::new(),
            sequences: vec![SequenceCheck::new(); self.decoder.kinds().len()],
            heads: self
                .decoder
                .kinds()
                .iter()
                .map(|kind| LineHead::new(self.symbol.as_str(), &kind.name()))
                .collect(),
            gaps: Throttle::new(BAD_FRAME_REPORT_INTERVAL),
            unreported_missing: 0,
            lines: 0,
            latency: self.stats.latency.as_ref().map(|_| LatencyRecorder::new()),
            in_hand: false,
        };
        let (symbol, stop) = (self.symbol.clone(), self.stop.clone());
        let outcome = supervise(&symbol, "processor", &stop, || self.process(&mut state));
        self.finish();
        if let (Some(recorder), Some(shared)) = (&mut state.latency, &self.stats.latency) {
            recorder.publish(shared);
        }
        match outcome {
            Ok(Ended::Done) => {
                let _ = self.events.send(AppEvent::PipelineDone(symbol));
            }
            Ok(Ended::Stopped) | Err(Supervision::Stopped) => {}
            Err(Supervision::GaveUp) => {
                let _ = self.events.send(AppEvent::PipelineFailed(
                    symbol,
                    "its processor kept failing on internal errors".to_owned(),
                ));
            }
        }
    }

    /// The processing loop. Restarted by `supervise` after an internal error.
    fn process(&mut self, state: &mut State) -> Ended {
        if std::mem::take(&mut state.in_hand) {
            // Restarted after a failure: the frame in hand is lost, and so is any half line.
            self.stats.processor.skipped.add(1);
            self.sink.discard_partial_line();
        }
        while let Some(frame) = self.next_frame(state) {
            state.in_hand = true;
            match self.decoder.decode(&frame.payload) {
                Ok((index, event)) => {
                    if let Some(point) = event.sequence()
                        && !self.sequence_allows(index, point, state)
                    {
                        state.in_hand = false;
                        continue;
                    }
                    if !self.delay.is_zero() {
                        // Show what is done before sleeping, as a real handler's output would.
                        if !self.flush(&mut state.latency) || !self.stop.sleep(self.delay) {
                            // Stopping with this frame in hand: it is never written.
                            state.in_hand = false;
                            self.stats.processor.discarded.add(1);
                            return Ended::Stopped;
                        }
                    }
                    write_line(
                        self.sink.buffer(),
                        self.format,
                        &state.heads[index],
                        &event,
                        &frame.payload,
                        frame.recv_time_us,
                    );
                    self.sink.line_added();
                    state.lines += 1;
                    if let Some(recorder) = &mut state.latency {
                        recorder.line(event.event_time(), frame.recv_time_us);
                    }
                }
                Err(error) => {
                    self.stats.processor.skipped.add(1);
                    state.reports.record(&error, &frame.payload);
                }
            }
            state.in_hand = false;
            if self.max_messages.is_some_and(|max| state.lines >= max) {
                return if self.flush(&mut state.latency) {
                    Ended::Done
                } else {
                    Ended::Stopped
                };
            }
            if self.sink.is_full() && !self.flush(&mut state.latency) {
                return Ended::Stopped;
            }
        }
        self.flush(&mut state.latency);
        Ended::Stopped
    }

    /// Applies stream `index`'s sequence check: `false` for a duplicate, which is dropped.
    fn sequence_allows(&self, index: usize, point: SequencePoint, state: &mut State) -> bool {
        match state.sequences[index].check(point) {
            Verdict::Next => true,
            Verdict::Duplicate => {
                self.stats.processor.duplicates.add(1);
                false
            }
            broken => {
                self.report_sequence_break(index, point, broken, state);
                true
            }
        }
    }

    /// Counts and reports a gap, a break or a restart. Rare, and kept out of line so the
    /// per-message path's stack frame (resident in every idle processor) stays small.
    #[cold]
    #[inline(never)]
    fn report_sequence_break(
        &self,
        index: usize,
        point: SequencePoint,
        verdict: Verdict,
        state: &mut State,
    ) {
        let counters = &self.stats.processor;
        let stream = &state.heads[index].stream;
        match verdict {
            Verdict::Gap { first, last } => {
                let missing = last - first + 1;
                counters.gaps.add(1);
                counters.missing_ids.add(missing);
                state.unreported_missing += missing;
                if let Some(gaps) = state.gaps.record(1, Instant::now()) {
                    let missing = std::mem::take(&mut state.unreported_missing);
                    if gaps == 1 {
                        warn!("gap in {stream} ids: {first}..={last} missing ({missing})");
                    } else {
                        warn!(
                            "{gaps} gaps in {stream} ids in the last {}s, {missing} ids missing; latest {first}..={last}",
                            BAD_FRAME_REPORT_INTERVAL.as_secs()
                        );
                    }
                }
            }
            Verdict::Break { expected, found } => {
                counters.gaps.add(1);
                if let Some(gaps) = state.gaps.record(1, Instant::now()) {
                    warn!(
                        "break in {stream} updates: an update follows {found}, the last written was {expected} ({gaps} in the last {}s)",
                        BAD_FRAME_REPORT_INTERVAL.as_secs()
                    );
                }
            }
            Verdict::Restarted { previous } => {
                warn!(
                    "{stream} ids restarted at {} (after {previous}); following the new sequence",
                    point.id
                );
            }
            Verdict::Next | Verdict::Duplicate => {}
        }
    }

    /// The next frame, or `None` when the pipeline stops. Writes the batch before waiting.
    fn next_frame(&mut self, state: &mut State) -> Option<Frame> {
        if self.stop.is_triggered() {
            return None;
        }
        match self.frames.try_recv() {
            Ok(frame) => return Some(frame),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if !self.sink.is_empty() {
            // Linger a moment before writing: under load the reader is mid-read and the
            // next frame is microseconds away, and one write for both saves a syscall and
            // a wakeup of whoever reads stdout. When idle, this costs a few microseconds.
            for _ in 0..LINGER_YIELDS {
                std::thread::yield_now();
                if let Ok(frame) = self.frames.try_recv() {
                    return Some(frame);
                }
            }
        }
        if !self.flush(&mut state.latency) {
            return None;
        }
        if state.reports.has_pending() || state.gaps.has_pending() {
            self.report_held_back(state);
        }
        self.frames.recv_or_stop(&self.stop)
    }

    /// After the loop: frames still queued, and lines formatted but never handed to the
    /// output, are thrown away and counted; then the output is closed, settling the lines
    /// it held back. Anything the reader queues after this is drained by `app`.
    fn finish(&mut self) {
        let mut discarded = self.sink.abandon();
        while self.frames.try_recv().is_ok() {
            discarded += 1;
        }
        self.stats.processor.discarded.add(discarded);
        let delivered = self.sink.close();
        self.count(delivered);
    }

    /// Counts what the output settled.
    fn count(&self, delivered: Delivered) {
        if delivered.written > 0 {
            self.stats.processor.written.add(delivered.written);
        }
        if delivered.lost > 0 {
            self.stats.processor.lost.add(delivered.lost);
        }
    }

    /// Reports bad frames and gaps held back by their throttles, once due.
    #[cold]
    #[inline(never)]
    fn report_held_back(&self, state: &mut State) {
        state.reports.report_due();
        if let Some(gaps) = state.gaps.due(Instant::now()) {
            let missing = std::mem::take(&mut state.unreported_missing);
            warn!("{gaps} more gaps, {missing} ids missing");
        }
    }

    /// Writes the batch; `false` when the output is gone and the processor must stop.
    fn flush(&mut self, latency: &mut Option<LatencyRecorder>) -> bool {
        let flushed = self.sink.flush();
        if let (Some(recorder), Some(shared)) = (latency.as_mut(), &self.stats.latency) {
            match (&flushed.result, flushed.lines) {
                (_, 0) => {}
                (Ok(()), _) => recorder.batch_written(unix_micros(), shared),
                (Err(_), _) => recorder.batch_lost(),
            }
        }
        self.count(flushed.delivered);
        match flushed.result {
            Ok(()) => true,
            Err(error) => self.output_failed(&error),
        }
    }

    /// The output failed: decides who is told and returns `false` (the processor stops).
    #[cold]
    #[inline(never)]
    fn output_failed(&self, error: &io::Error) -> bool {
        match error {
            error if self.stop.is_triggered() => {
                debug!("output failed while stopping: {error}");
                false
            }
            error if self.sink.is_shared() => {
                let event = if error.kind() == io::ErrorKind::BrokenPipe {
                    AppEvent::OutputClosed
                } else {
                    error!("cannot write to {}: {error}", self.sink.describe());
                    AppEvent::OutputFailed(error.to_string())
                };
                let _ = self.events.send(event);
                false
            }
            error => {
                // A per-symbol output failed (a full disk, a handler that keeps dying):
                // this symbol stops, loudly (`app` logs why, once); the others carry on.
                let why = format!("cannot write to {}: {error}", self.sink.describe());
                let _ = self
                    .events
                    .send(AppEvent::PipelineFailed(self.symbol.clone(), why));
                false
            }
        }
    }
}

/// Wall-clock microseconds since the Unix epoch.
fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}

#[cfg(test)]
mod tests;
