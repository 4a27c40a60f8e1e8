//! The processor thread (`proc-<SYMBOL>`): the symbol's "handler". It takes frames from the
//! symbol's queue, sleeps `--delay` if set, parses the payload, formats one line into its
//! [`LineSink`] and writes batches when it is about to wait. A bad frame is counted, reported
//! (throttled) and skipped; it never ends the thread.
//!
//! Each event's place in its stream's sequence is checked first ([`SequenceCheck`]): the
//! next id is written straight away; everything else (duplicates, gaps, events held until a
//! restart is confirmed) goes through `sequencing`, off the per-message path. With
//! `--gap-markers`, gaps, breaks, restarts and overflow drops become lines too (`markers`).

mod book;
mod failure;
mod fast_frames;
mod markers;
mod reports;
mod sequencing;
mod state;

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Sender, TryRecvError};
use tracing::warn;

use crate::control::events::{AppEvent, ExitGuard};
use crate::control::stop::StopToken;
use crate::control::supervise::{Supervision, supervise};
use crate::output::batch::{Delivered, LineSink, LineTag};
use crate::output::fast::FastEvent;
use crate::output::{OutputFormat, write_line};
use crate::pipeline::queue::{Frame, FrameReceiver};
use crate::pipeline::sequence::Verdict;
use crate::stats::SymbolStats;
use binance_streams::Symbol;
use binance_streams::{Decoder, Event, Payload};
pub(crate) use book::BookSettings;
use state::State;

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
    /// Write gap markers into the output (`--gap-markers`).
    pub gap_markers: bool,
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
    /// With `--stream book`: how to keep the symbol's order book.
    pub book: Option<BookSettings>,
}

/// Where an event's line comes from: the fast path's scan of the frame, or the decoded
/// event.
#[derive(Clone, Copy)]
enum Line<'e, 'a> {
    /// Written straight from the frame's tokens.
    Fast(&'e FastEvent<'a>),
    /// Written from the decoded event.
    Decoded(&'e Event<'a>),
}

/// Starts the processor thread.
///
/// # Errors
/// The OS refused to create the thread.
pub(crate) fn spawn_processor(processor: Processor) -> io::Result<JoinHandle<()>> {
    // Built here, on the spawning thread: see `new_state`.
    let state = processor.new_state();
    thread::Builder::new()
        .name(processor.symbol.thread_name("proc-"))
        .stack_size(PROCESSOR_STACK_BYTES)
        .spawn(move || processor.run(state))
}

/// How the processing loop ended.
enum Ended {
    /// The queue closed, the pipeline stopped or the output is gone.
    Stopped,
    /// `--max-messages` lines were written.
    Done,
}

impl Processor {
    fn run(mut self, mut state: Box<State>) {
        // Every log line of this thread names its symbol through this span.
        let _span = tracing::info_span!("processor", symbol = %self.symbol).entered();
        let _guard = ExitGuard {
            symbol: self.symbol.clone(),
            role: "processor",
            stop: self.stop.clone(),
            events: self.events.clone(),
        };
        let (symbol, stop) = (self.symbol.clone(), self.stop.clone());
        let outcome = supervise(&symbol, "processor", &stop, || self.process(&mut state));
        self.finish(&mut state);
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
    #[inline(never)]
    fn process(&mut self, state: &mut State) -> Ended {
        if state.in_hand > 0 || state.held.iter().any(|held| !held.is_empty()) {
            self.recover(state);
        }
        while let Some(frame) = self.next_frame(state) {
            state.in_hand = 1;
            if state.markers.enabled {
                state
                    .markers
                    .note_drops(self.frames.new_drops(), frame.recv_time_us);
            }
            let fast = state
                .fast
                .as_ref()
                .and_then(|fast| fast.scan(&frame.payload));
            let handled = match fast {
                Some(event) => self.handle_fast(&event, &frame, state),
                None => match self.decoder.decode(&frame.payload) {
                    Ok((index, event)) => self.handle(index, &event, &frame, state),
                    Err(error) => {
                        self.stats.processor.skipped.add(1);
                        state.reports.record(&error, &frame.payload);
                        Ok(())
                    }
                },
            };
            state.in_hand = 0;
            if let Err(ended) = handled {
                return ended;
            }
        }
        if !self.flush(state) {
            return Ended::Stopped;
        }
        // `--max-messages` reached while waiting (a book line due), or every frame fed was
        // handled (a replay's end): the symbol is done.
        if state.done_while_waiting || (self.frames.is_exhausted() && !self.stop.is_triggered()) {
            return Ended::Done;
        }
        Ended::Stopped
    }

    /// Restarted after a failure: the frames in hand are lost, and so is any half line;
    /// frames held for a sequence check are let go with them.
    #[cold]
    #[inline(never)]
    fn recover(&mut self, state: &mut State) {
        let held: usize = state.held.iter().map(Vec::len).sum();
        self.stats
            .processor
            .skipped
            .add(state.in_hand + held as u64);
        state.in_hand = 0;
        for (held, check) in state.held.iter_mut().zip(&mut state.sequences) {
            if !held.is_empty() {
                held.clear();
                check.forget_held();
            }
        }
        self.sink.discard_partial_line();
    }

    /// Checks `event`'s place in stream `index`'s sequence and writes it if it is new.
    /// `Err` when the processor is done.
    #[inline]
    fn handle(
        &mut self,
        index: usize,
        event: &Event<'_>,
        frame: &Frame,
        state: &mut State,
    ) -> Result<(), Ended> {
        if state.book.as_ref().is_some_and(|book| book.is_book(index)) {
            return self.handle_book(event, frame, state);
        }
        if let Some(point) = event.sequence() {
            match state.sequences[index].check(point, frame.connection, frame.recv_time_us) {
                Verdict::Next => {}
                Verdict::Duplicate => {
                    self.stats.processor.duplicates.add(1);
                    return Ok(());
                }
                unusual => {
                    return self.unusual_sequence(index, point, unusual, event, frame, state);
                }
            }
        }
        self.write_event(index, Line::Decoded(event), frame, state)
    }

    /// Sleeps `--delay`, then writes `event`'s line (after an overflow marker, if one is
    /// due). `Err` when the processor is done: stopped (the event is then counted
    /// discarded, unless it was written), `--max-messages` reached, or the output gone.
    #[inline]
    fn write_event(
        &mut self,
        index: usize,
        line: Line<'_, '_>,
        frame: &Frame,
        state: &mut State,
    ) -> Result<(), Ended> {
        if state.markers.has_pending_drops() {
            self.mark_overflow(state);
        }
        if !self.delay.is_zero() {
            // Show what is done before sleeping, as a real handler's output would.
            if !self.flush(state) || !self.stop.sleep(self.delay) {
                // Stopping with this frame in hand: it is never written.
                self.stats.processor.discarded.add(1);
                return Err(Ended::Stopped);
            }
        }
        let head = &state.heads[index];
        let event_time = match line {
            Line::Fast(event) => {
                event.write_line(self.sink.buffer(), head, frame.recv_time_us);
                event.event_time()
            }
            Line::Decoded(event) => {
                write_line(
                    self.sink.buffer(),
                    self.format,
                    head,
                    event,
                    &frame.payload,
                    frame.recv_time_us,
                );
                event.event_time()
            }
        };
        if self.sink.is_tagging() {
            let id = match line {
                Line::Fast(event) => event.sequence().map(|point| point.id),
                Line::Decoded(event) => event.sequence().map(|point| point.id),
            };
            self.sink
                .line_added_as(LineTag::event(index, id.or(event_time)));
        } else {
            self.sink.line_added_as(LineTag::event(index, None));
        }
        self.frame_line_added(state, event_time, frame.recv_time_us)
    }

    /// A frame's line is in the batch (an event's, or a book's): counts it, times it
    /// (`--stats`), ends the processor at `--max-messages`, writes the batch when full.
    /// `Err` when the processor is done. Always inlined: out of line it cost ~20
    /// instructions per message (callgrind), on the hot path of every line.
    #[inline(always)]
    fn frame_line_added(
        &mut self,
        state: &mut State,
        event_time: Option<u64>,
        recv_time_us: u64,
    ) -> Result<(), Ended> {
        state.lines += 1;
        if let Some(recorder) = &mut state.latency {
            recorder.line(event_time, recv_time_us);
        }
        if self.max_messages.is_some_and(|max| state.lines >= max) {
            return Err(if self.flush(state) {
                Ended::Done
            } else {
                Ended::Stopped
            });
        }
        if self.sink.is_full() && !self.flush(state) {
            return Err(Ended::Stopped);
        }
        Ok(())
    }

    /// The next frame, or `None` when the pipeline stops. Writes the batch before waiting.
    fn next_frame(&mut self, state: &mut State) -> Option<Frame> {
        if self.stop.is_triggered() {
            return None;
        }
        match self.frames.try_recv() {
            Ok(frame) => {
                state.busy = true;
                return Some(frame);
            }
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
        if state.busy && !self.sink.is_empty() {
            // Linger a moment before writing: under load the reader is mid-read and the
            // next frame is microseconds away, and one write for both saves a syscall and
            // a wakeup of whoever reads stdout. A symbol whose frames come one at a time
            // (the last was waited for) does not linger: yields there are all cost.
            for _ in 0..LINGER_YIELDS {
                std::thread::yield_now();
                if let Ok(frame) = self.frames.try_recv() {
                    return Some(frame);
                }
            }
        }
        if state.markers.has_pending_drops() {
            self.mark_overflow(state);
        }
        if !self.flush(state) {
            return None;
        }
        self.report_held_back(state);
        if std::mem::take(&mut state.busy) && self.frames.spin_for_frame() {
            state.busy = true;
            if let Ok(frame) = self.frames.try_recv() {
                return Some(frame);
            }
        }
        if state.book.is_some() {
            return self.wait_with_book(state);
        }
        self.frames.recv_or_stop(&self.stop)
    }

    /// After the loop: frames still queued, and lines formatted but never handed to the
    /// output, are thrown away and counted; then the output is closed, settling the lines
    /// it held back. Anything the reader queues after this is drained by `app`.
    fn finish(&mut self, state: &mut State) {
        let abandoned = self.sink.abandon();
        let mut discarded = state.markers.ledger.abandon(abandoned, state.lines);
        for held in &mut state.held {
            discarded += std::mem::take(held).len() as u64;
        }
        if let Some(book) = &state.book {
            discarded += book.frames_held();
        }
        while self.frames.try_recv().is_ok() {
            discarded += 1;
        }
        self.stats.processor.discarded.add(discarded);
        let delivered = self.sink.close();
        self.count(delivered, state);
        self.report_duplicates_due(state);
    }

    /// Counts the frames among the lines the output settled.
    fn count(&self, delivered: Delivered, state: &mut State) {
        let delivered = state.markers.ledger.settle(delivered);
        if delivered.written > 0 {
            self.stats.processor.written.add(delivered.written);
        }
        if delivered.lost > 0 {
            self.stats.processor.lost.add(delivered.lost);
        }
    }

    /// Reports bad frames, gaps and duplicates held back by their throttles, once due, and
    /// the runs of duplicates in progress (called when idle).
    #[cold]
    #[inline(never)]
    fn report_held_back(&self, state: &mut State) {
        if state.reports.has_pending() {
            state.reports.report_due();
        }
        if let Some(book) = state.book.as_mut() {
            book.report_resyncs_due();
        }
        if state.gaps.has_pending()
            && let Some(gaps) = state.gaps.due(Instant::now())
        {
            let missing = std::mem::take(&mut state.unreported_missing);
            warn!("{gaps} more gaps, {missing} ids missing");
        }
        if state.restart_reports.has_pending()
            && let Some(restarts) = state.restart_reports.due(Instant::now())
        {
            warn!("{restarts} more sequences went back");
        }
        self.report_duplicates_due(state);
    }

    /// Writes the batch; `false` when the output is gone and the processor must stop.
    fn flush(&mut self, state: &mut State) -> bool {
        let flushed = self.sink.flush();
        if let (Some(recorder), Some(shared)) = (state.latency.as_mut(), &self.stats.latency) {
            match (&flushed.result, flushed.lines) {
                (_, 0) => {}
                (Ok(()), _) => recorder.batch_written(unix_micros(), shared),
                (Err(_), _) => recorder.batch_lost(),
            }
        }
        self.count(flushed.delivered, state);
        match flushed.result {
            Ok(()) => true,
            Err(error) => self.output_failed(&error),
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
