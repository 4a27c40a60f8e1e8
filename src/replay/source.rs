//! The replay source thread (`replay-<SYMBOL>`), in the reader's place: it merges the
//! symbol's streams back into the order its reader queued them (by run, then by the
//! frame's number), skips what `--from`, `--to` and `--stream` leave out, waits until each
//! frame's time comes at the chosen speed, and queues it, stamped now (or with its recorded
//! receive time). The queue blocks rather than drops: a replay loses nothing. When the
//! files end it drops its end of the queue; the processor finishes what is queued and the
//! symbol is done.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::warn;
use tungstenite::Utf8Bytes;

use super::files::{RecordedFile, Records};
use super::{ReplayPlan, Speed};
use crate::control::stop::StopToken;
use crate::pipeline::queue::{Frame, FrameSender, Pushed};
use crate::record::format::Record;
use crate::stats::SymbolStats;
use binance_streams::Symbol;

/// Stack for a source thread: it reads files and decompresses.
const SOURCE_STACK_BYTES: usize = 256 * 1024;

/// A frame due sooner than this is sent at once: sleeping for less costs more than it
/// keeps the pace.
const MIN_WAIT: Duration = Duration::from_micros(500);

/// Everything one source needs; built by `app`.
pub(crate) struct ReplaySource {
    /// The symbol replayed.
    pub(crate) symbol: Symbol,
    /// The plan, shared by every symbol.
    pub(crate) plan: Arc<ReplayPlan>,
    /// The symbol's place in the plan.
    pub(crate) index: usize,
    /// When replay started: pacing counts from here.
    pub(crate) started: Instant,
    /// The pipeline's stop token.
    pub(crate) stop: StopToken,
    /// The symbol's counters.
    pub(crate) stats: Arc<SymbolStats>,
}

/// The replay's receive stamps. At `--speed max` the clock is read once per
/// [`STAMP_EVERY_FRAMES`] frames (they are microseconds apart: the clock read would cost
/// more than the rest of the frame's way to the queue); paced, once per frame.
struct Clock {
    every: u32,
    left: u32,
    last_us: u64,
}

/// Frames stamped with one clock read at `--speed max`.
const STAMP_EVERY_FRAMES: u32 = 32;

impl Clock {
    fn now(&mut self) -> u64 {
        if self.left == 0 {
            self.last_us = unix_micros();
            self.left = self.every;
        }
        self.left -= 1;
        self.last_us
    }
}

/// Starts the source thread.
///
/// # Errors
/// The OS refused to create the thread.
pub(crate) fn spawn_source(
    source: ReplaySource,
    frames: FrameSender,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(source.symbol.thread_name("replay-"))
        .stack_size(SOURCE_STACK_BYTES)
        .spawn(move || {
            let _span = tracing::info_span!("replay", symbol = %source.symbol).entered();
            let every = match source.plan.speed {
                Speed::Max => STAMP_EVERY_FRAMES,
                Speed::Times(_) => 1,
            };
            let clock = Clock {
                every,
                left: 0,
                last_us: 0,
            };
            source.run(frames, clock);
        })
}

/// One stream's files, read in turn.
struct Cursor {
    files: VecDeque<RecordedFile>,
    reading: Option<(u64, Records, std::path::PathBuf)>,
    /// The next record and its run.
    next: Option<(u64, Record)>,
}

impl Cursor {
    fn new(files: &[RecordedFile]) -> Self {
        let mut cursor = Self {
            files: files.iter().cloned().collect(),
            reading: None,
            next: None,
        };
        cursor.advance();
        cursor
    }

    /// Moves to the next record, across files; reports a file that ended badly.
    fn advance(&mut self) {
        loop {
            if let Some((run, records, path)) = &mut self.reading {
                if let Some(record) = records.next_record() {
                    self.next = Some((*run, record));
                    return;
                }
                if let Some(damage) = records.damage() {
                    warn!(
                        "{} {damage}; its whole frames were replayed",
                        path.display()
                    );
                }
                self.reading = None;
            }
            let Some(file) = self.files.pop_front() else {
                self.next = None;
                return;
            };
            match Records::open(&file) {
                Ok(records) => self.reading = Some((file.header.run, records, file.path)),
                Err(error) => warn!("cannot read {}: {error}; skipped", file.path.display()),
            }
        }
    }
}

impl ReplaySource {
    fn run(self, mut frames: FrameSender, mut clock: Clock) {
        let Some(files) = self.plan.symbols.get(self.index) else {
            return;
        };
        let mut cursors: Vec<Cursor> = files
            .streams
            .iter()
            .filter(|(stream, _)| {
                self.plan.streams.is_empty() || self.plan.streams.contains(stream)
            })
            .map(|(_, chain)| Cursor::new(chain))
            .collect();
        while let Some(record) = next_in_order(&mut cursors) {
            if self
                .plan
                .from_us
                .is_some_and(|from| record.recv_time_us < from)
                || self.plan.to_us.is_some_and(|to| record.recv_time_us > to)
            {
                continue;
            }
            if !self.pace(record.recv_time_us) {
                return;
            }
            if !self.queue(record, &mut frames, &mut clock) {
                return;
            }
        }
    }

    /// Waits until a frame received at `recv_time_us` is due; `false` if stopped first.
    fn pace(&self, recv_time_us: u64) -> bool {
        let Speed::Times(speed) = self.plan.speed else {
            return !self.stop.is_triggered();
        };
        let offset = recv_time_us.saturating_sub(self.plan.start_us) as f64 / speed;
        let due = self.started + Duration::from_micros(offset as u64);
        let now = Instant::now();
        if due > now + MIN_WAIT {
            return self.stop.sleep(due - now);
        }
        !self.stop.is_triggered()
    }

    /// Queues the frame as the reader would have, counting it received; `false` when the
    /// pipeline is stopping.
    fn queue(&self, record: Record, frames: &mut FrameSender, clock: &mut Clock) -> bool {
        let counters = &self.stats.reader;
        counters.received.add(1);
        counters.received_bytes.add(record.frame.len() as u64);
        let Ok(payload) = Utf8Bytes::try_from(record.frame) else {
            // Never queued live (the reader takes text frames only); counted and skipped.
            counters.skipped.add(1);
            return true;
        };
        let recv_time_us = if self.plan.keep_recv_time {
            record.recv_time_us
        } else {
            clock.now()
        };
        counters.last_received_us.set(recv_time_us);
        let frame = Frame {
            payload,
            recv_time_us,
            connection: record.connection,
        };
        match frames.push(frame, &self.stop) {
            Pushed::Queued { dropped } => {
                counters.dropped.add(dropped);
                !self.stop.is_triggered()
            }
            Pushed::Stopped | Pushed::Closed => {
                counters.discarded.add(1);
                false
            }
        }
    }
}

/// The record that comes first among the cursors' next ones (by run, then number), and
/// moves its cursor on.
fn next_in_order(cursors: &mut [Cursor]) -> Option<Record> {
    let mut first: Option<(usize, (u64, u64))> = None;
    for (index, cursor) in cursors.iter().enumerate() {
        if let Some((run, record)) = &cursor.next {
            let key = (*run, record.number);
            if first.is_none_or(|(_, best)| key < best) {
                first = Some((index, key));
            }
        }
    }
    let (index, _) = first?;
    let cursor = &mut cursors[index];
    let (_, record) = cursor.next.take()?;
    cursor.advance();
    Some(record)
}

/// Wall-clock microseconds since the Unix epoch.
fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}
