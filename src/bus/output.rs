//! The processor's side of a symbol's publishing task: a [`LineOutput`] that hands each
//! batch over and reports lines written as JetStream acknowledges them.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{Receiver, RecvTimeoutError};
use tokio::sync::mpsc::UnboundedSender;

use super::publisher::Batch;
use crate::control::stop::StopToken;
use crate::output::batch::{Delivered, LineOutput, LineTag};

/// Lines of one symbol published and not yet acknowledged, at most: past it the processor
/// waits, its queue fills, and the symbol's `--overflow` policy decides.
const MAX_WINDOW_LINES: u64 = 1024;

/// ...and never fewer than this, however many symbols share the budget below.
const MIN_WINDOW_LINES: u64 = 64;

/// Unacknowledged lines over all symbols: each holds its message, headers and ack future on
/// the bus thread (about half a kilobyte), so many symbols get smaller windows. At loopback
/// ack times (well under a millisecond) even the smallest window passes tens of thousands
/// of lines per second per symbol.
const TOTAL_WINDOW_LINES: u64 = 32_768;

/// The window of each of `symbols` symbols.
pub(crate) fn window_lines(symbols: usize) -> u64 {
    (TOTAL_WINDOW_LINES / symbols.max(1) as u64).clamp(MIN_WINDOW_LINES, MAX_WINDOW_LINES)
}

/// How long a stopping run waits for outstanding acknowledgements before counting the
/// lines lost (within the listener's shutdown grace).
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// How often a processor waiting for room checks whether the run is stopping.
const WAIT_SLICE: Duration = Duration::from_millis(50);

/// A symbol's NATS output.
pub(crate) struct NatsOutput {
    batches: Option<UnboundedSender<Batch>>,
    settlements: Receiver<Delivered>,
    abandoned: Arc<AtomicBool>,
    stop: StopToken,
    describe: String,
    /// At most this many lines unacknowledged.
    window: u64,
    /// Lines handed over and not yet settled.
    in_flight: u64,
    /// Settlements received and not yet reported, in order.
    ready: Delivered,
    /// Settlements that cannot join `ready` (written lines after lost ones), in order.
    later: Vec<Delivered>,
}

impl NatsOutput {
    pub(super) fn new(
        batches: UnboundedSender<Batch>,
        settlements: Receiver<Delivered>,
        abandoned: Arc<AtomicBool>,
        stop: StopToken,
        describe: String,
        window: u64,
    ) -> Self {
        Self {
            batches: Some(batches),
            settlements,
            abandoned,
            stop,
            describe,
            window,
            in_flight: 0,
            ready: Delivered::default(),
            later: Vec::new(),
        }
    }

    /// Takes in a settlement from the publisher.
    fn absorb(&mut self, settled: Delivered) {
        self.in_flight = self
            .in_flight
            .saturating_sub(settled.written + settled.lost);
        if self.later.is_empty() && !(self.ready.lost > 0 && settled.written > 0) {
            self.ready.written += settled.written;
            self.ready.lost += settled.lost;
        } else {
            self.later.push(settled);
        }
    }

    /// Takes in every settlement already sent.
    fn absorb_all(&mut self) {
        while let Ok(settled) = self.settlements.try_recv() {
            self.absorb(settled);
        }
    }

    /// What to report now: `ready`, then the next of `later` becomes ready.
    fn report(&mut self) -> Delivered {
        let report = std::mem::take(&mut self.ready);
        if !self.later.is_empty() {
            self.ready = self.later.remove(0);
            while let Some(next) = self.later.first().copied() {
                if self.ready.lost > 0 && next.written > 0 {
                    break;
                }
                self.ready.written += next.written;
                self.ready.lost += next.lost;
                self.later.remove(0);
            }
        }
        report
    }

    /// Waits until `lines` more fit in the window, the run stops or the publisher is gone.
    fn wait_for_room(&mut self, lines: u64) -> io::Result<()> {
        while self.in_flight > 0 && self.in_flight + lines > self.window {
            match self.settlements.recv_timeout(WAIT_SLICE) {
                Ok(settled) => self.absorb(settled),
                // Stopping: hand the batch over anyway (one batch past the window) and let
                // `close` settle it within its grace.
                Err(RecvTimeoutError::Timeout) if self.stop.is_triggered() => return Ok(()),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Err(publisher_gone()),
            }
        }
        Ok(())
    }
}

fn publisher_gone() -> io::Error {
    io::Error::other("the NATS publisher stopped")
}

impl LineOutput for NatsOutput {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        // Never called: the sink hands tagged batches to an output that wants tags.
        let tags = vec![LineTag::MARKER; usize::try_from(lines).unwrap_or(0)];
        self.write_tagged(batch, &tags)
    }

    fn wants_tags(&self) -> bool {
        true
    }

    fn write_tagged(&mut self, batch: &[u8], tags: &[LineTag]) -> (Delivered, io::Result<()>) {
        self.absorb_all();
        let lines = tags.len() as u64;
        let handed = self.wait_for_room(lines).and_then(|()| {
            let sender = self.batches.as_ref().ok_or_else(publisher_gone)?;
            sender
                .send(Batch {
                    bytes: Bytes::copy_from_slice(batch),
                    tags: tags.to_vec(),
                })
                .map_err(|_| publisher_gone())
        });
        match handed {
            Ok(()) => {
                self.in_flight += lines;
                (self.report(), Ok(()))
            }
            Err(error) => {
                // Settled before these lines: then these, lost.
                let mut report = self.report();
                report.lost += lines;
                (report, Err(error))
            }
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn close(&mut self) -> Delivered {
        // No more batches: the publisher settles what it holds, then ends.
        self.batches = None;
        // A symbol that is done (`--max-messages`) waits for every acknowledgement, an
        // outage included; once the run stops, for CLOSE_GRACE more at most.
        let mut deadline: Option<Instant> = None;
        while self.in_flight > 0 {
            if deadline.is_none() && self.stop.is_triggered() {
                deadline = Some(Instant::now() + CLOSE_GRACE);
            }
            let wait = match deadline {
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left.min(WAIT_SLICE),
                    _ => break,
                },
                None => WAIT_SLICE,
            };
            match self.settlements.recv_timeout(wait) {
                Ok(settled) => self.absorb(settled),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        if self.in_flight > 0 {
            // Not acknowledged in time: counted lost (they may yet be stored).
            self.abandoned.store(true, Ordering::Relaxed);
            self.absorb_all();
        }
        let mut total = Delivered {
            written: self.ready.written,
            lost: self.ready.lost,
        };
        for settled in self.later.drain(..) {
            total.written += settled.written;
            total.lost += settled.lost;
        }
        total.lost += std::mem::take(&mut self.in_flight);
        self.ready = Delivered::default();
        total
    }
}
