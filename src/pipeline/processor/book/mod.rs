//! The processor's side of `--stream book`: it feeds the symbol's diff updates to
//! [`BookSync`](crate::book::sync)'s rules, asks the snapshot workers for snapshots (never
//! blocking on them: updates are buffered meanwhile), keeps the [`OrderBook`], and writes
//! the book's line after each update (or at most one per `--book-interval`), and a resync
//! line before every rebuilt book.
//!
//! Accounting (received = written + dropped + duplicates + skipped + discarded): a diff
//! frame ends as the frame of a book line (written); as a duplicate when the snapshot
//! already held it, it repeated an applied update, or its update was merged into a later
//! line by `--book-interval`; as skipped when it was applied to, or buffered for, a book
//! that was thrown away; as discarded at a stop. Resync lines, and a rebuilt book's line
//! when no frame was applied on top of the snapshot, are not frames (like gap markers).

use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use tracing::warn;

mod snapshot;

use super::{Ended, Processor, State};
use crate::book::fetch::{SnapshotReply, Snapshots};
use crate::book::levels::{OrderBook, RawLevel};
use crate::book::line::{BookHead, describe, write_book, write_resync};
use crate::book::sync::{Buffer, Resync, Rule, Step, UpdateIds, first_after_snapshot, step};
use crate::output::batch::LineTag;
use crate::pipeline::queue::Frame;
use crate::util::throttle::Throttle;
use binance_streams::Event;
use binance_streams::wire::DepthUpdate;

/// Updates a book buffers while its snapshot is on the way; past this, the oldest go (a
/// snapshot older than the rest is then fetched again). 4,096 updates is 400 s of a 100 ms
/// stream.
const MAX_BUFFERED_UPDATES: usize = 4_096;

/// Resyncs closer together than this are a streak: each waits longer before its snapshot
/// (1 s, doubling to 30 s), so a book that cannot stay in sync (its queue overflowing, a
/// broken feed) does not spend the market's request weight in a loop. A book live for this
/// long starts the count again.
const RESYNC_STREAK_WINDOW: Duration = Duration::from_secs(60);

/// How often repeated resyncs of one book are reported on stderr (each is in-band anyway).
const RESYNC_REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// The first wait before asking again for a snapshot that failed; doubled each time.
const FIRST_SNAPSHOT_RETRY: Duration = Duration::from_secs(1);

/// The longest wait between two snapshot attempts.
const MAX_SNAPSHOT_RETRY: Duration = Duration::from_secs(30);

/// How a processor keeps its book: from `app`.
#[derive(Debug, Clone)]
pub(crate) struct BookSettings {
    /// The index of the `book` kind among the decoder's kinds.
    pub(crate) index: usize,
    /// Spot's or futures' sequence rule.
    pub(crate) rule: Rule,
    /// Levels a side per line (`--book-depth`).
    pub(crate) depth: usize,
    /// At most one line per this long (`--book-interval`); `None`: a line per update.
    pub(crate) interval: Option<Duration>,
    /// The snapshot workers.
    pub(crate) snapshots: Snapshots,
}

/// Where the book is in its procedure.
enum Phase {
    /// Buffering updates until a snapshot fits them.
    Syncing {
        buffer: Buffer<Frame>,
        /// A request is with the workers.
        requested: bool,
        /// After a failure: ask again at this time.
        retry_at: Option<Instant>,
    },
    /// The book is live.
    Live(Box<LiveBook>),
}

struct LiveBook {
    book: OrderBook,
    /// No update applied since the snapshot: the next must span it (futures).
    fresh: bool,
    /// Frames applied since the last line.
    pending: u64,
    /// The receive time of the last frame applied.
    last_recv_us: u64,
    /// When the last line was written.
    last_line: Option<Instant>,
}

/// One symbol's book and everything needed to keep it.
pub(super) struct BookState {
    settings: BookSettings,
    head: BookHead,
    replies: (Sender<SnapshotReply>, Receiver<SnapshotReply>),
    phase: Phase,
    /// Consecutive snapshot failures, for the retry wait.
    failures: u32,
    /// Resyncs in a row, each within [`RESYNC_STREAK_WINDOW`] of the last.
    resync_streak: u32,
    /// When the last resync happened.
    last_resync: Option<Instant>,
    /// Reports of resyncs on stderr.
    resync_reports: Throttle,
}

impl BookState {
    pub(super) fn new(settings: BookSettings, symbol: &str, pretty: bool) -> Self {
        Self {
            settings,
            head: BookHead {
                symbol: symbol.to_owned(),
                pretty,
            },
            replies: unbounded(),
            phase: syncing(),
            failures: 0,
            resync_streak: 0,
            last_resync: None,
            resync_reports: Throttle::new(RESYNC_REPORT_INTERVAL),
        }
    }

    /// Reports resyncs held back by the throttle, once due (when the processor is idle).
    pub(super) fn report_resyncs_due(&mut self) {
        if self.resync_reports.has_pending()
            && let Some(resyncs) = self.resync_reports.due(Instant::now())
        {
            warn!("{resyncs} more book resyncs");
        }
    }

    /// Counts a resync; returns how long to wait before the next snapshot (none for the
    /// first of a streak).
    fn resync_wait(&mut self, now: Instant) -> Option<Duration> {
        let (streak, wait) = next_resync(self.resync_streak, self.last_resync, now);
        self.resync_streak = streak;
        self.last_resync = Some(now);
        wait
    }

    /// Whether stream `index` is the book's.
    #[inline]
    pub(super) fn is_book(&self, index: usize) -> bool {
        self.settings.index == index
    }

    /// Frames held: buffered, or applied and not yet in a line. Lost at a stop.
    pub(super) fn frames_held(&self) -> u64 {
        match &self.phase {
            Phase::Syncing { buffer, .. } => buffer.len() as u64,
            Phase::Live(live) => live.pending,
        }
    }

    /// When the processor must wake up without a frame: a line due by `--book-interval`,
    /// or a snapshot retry.
    fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Syncing { retry_at, .. } => *retry_at,
            Phase::Live(live) if live.pending > 0 => {
                let interval = self.settings.interval?;
                live.last_line.map(|at| at + interval)
            }
            Phase::Live(_) => None,
        }
    }
}

/// A resync at `now` after `last` with `streak` before it: the new streak, and the wait
/// before its snapshot (none for the first of a streak).
fn next_resync(streak: u32, last: Option<Instant>, now: Instant) -> (u32, Option<Duration>) {
    let in_streak = last.is_some_and(|last| now.duration_since(last) < RESYNC_STREAK_WINDOW);
    let streak = if in_streak {
        streak.saturating_add(1)
    } else {
        0
    };
    let wait = (streak > 0).then(|| {
        FIRST_SNAPSHOT_RETRY
            .saturating_mul(1 << (streak - 1).min(5))
            .min(MAX_SNAPSHOT_RETRY)
    });
    (streak, wait)
}

fn syncing() -> Phase {
    Phase::Syncing {
        buffer: Buffer::new(MAX_BUFFERED_UPDATES),
        requested: false,
        retry_at: None,
    }
}

fn ids(update: &DepthUpdate<'_>) -> UpdateIds {
    UpdateIds {
        first: update.first_update_id,
        last: update.final_update_id,
        prev: update.prev_final_update_id,
    }
}

/// The levels of one side of an update.
fn parse_levels<'a>(raw: &'a serde_json::value::RawValue) -> Result<Vec<RawLevel<'a>>, Resync> {
    serde_json::from_str(raw.get()).map_err(|error| {
        Resync::BadUpdate(format!("levels that are not [price, qty] pairs: {error}"))
    })
}

/// Applies an update's levels to `book`.
fn apply(book: &mut OrderBook, update: &DepthUpdate<'_>) -> Result<(), Resync> {
    book.apply_bids(&parse_levels(update.bids)?)
        .map_err(|bad| Resync::BadUpdate(bad.0))?;
    book.apply_asks(&parse_levels(update.asks)?)
        .map_err(|bad| Resync::BadUpdate(bad.0))?;
    book.update_id = update.final_update_id;
    book.event_time = update.event_time;
    if let Some((bid, ask)) = book.crossed() {
        return Err(Resync::Crossed {
            bid: bid.to_owned(),
            ask: ask.to_owned(),
        });
    }
    Ok(())
}

impl Processor {
    /// Handles one diff frame of the book's stream. `Err` when the processor is done.
    pub(super) fn handle_book(
        &mut self,
        event: &Event<'_>,
        frame: &Frame,
        state: &mut State,
    ) -> Result<(), Ended> {
        self.take_snapshot_replies(state)?;
        if !self.delay.is_zero() {
            // `--delay`: a slow handler, as for every kind; what is done shows first.
            if !self.flush(state) || !self.stop.sleep(self.delay) {
                self.stats.processor.discarded.add(1);
                return Err(Ended::Stopped);
            }
        }
        let Event::Depth(update) = event else {
            self.stats.processor.skipped.add(1);
            return Ok(());
        };
        let Some(book) = state.book.as_mut() else {
            return Ok(());
        };
        match &mut book.phase {
            Phase::Syncing { buffer, .. } => {
                if buffer.push_evicting(ids(update), frame.clone()).is_some() {
                    // Buffered for a book that has no use for it now.
                    self.stats.processor.skipped.add(1);
                }
                self.request_snapshot(state);
                Ok(())
            }
            Phase::Live(live) => {
                let checked = if live.fresh {
                    first_after_snapshot(book.settings.rule, live.book.update_id, ids(update))
                } else {
                    step(book.settings.rule, live.book.update_id, ids(update))
                };
                match checked {
                    Step::Old => {
                        self.stats.processor.duplicates.add(1);
                        Ok(())
                    }
                    Step::Resync(why) => self.resync(why, frame.recv_time_us, Some(frame), state),
                    Step::Apply => {
                        live.fresh = false;
                        // The frame is in the book from here on, whatever happens next.
                        live.pending += 1;
                        live.last_recv_us = frame.recv_time_us;
                        if let Err(why) = apply(&mut live.book, update) {
                            return self.resync(why, frame.recv_time_us, None, state);
                        }
                        let due = match (book.settings.interval, live.last_line) {
                            (Some(interval), Some(at)) => at.elapsed() >= interval,
                            _ => true,
                        };
                        if due {
                            self.write_book_line(state)
                        } else {
                            Ok(())
                        }
                    }
                }
            }
        }
    }

    /// Throws the book away and starts again: announces why in-band, counts it, and
    /// buffers `revealing` (the update that showed the gap) for the next book.
    fn resync(
        &mut self,
        why: Resync,
        recv_time_us: u64,
        revealing: Option<&Frame>,
        state: &mut State,
    ) -> Result<(), Ended> {
        let Some(book) = state.book.as_mut() else {
            return Ok(());
        };
        let thrown = book.frames_held();
        let now = Instant::now();
        book.phase = syncing();
        if let Some(wait) = book.resync_wait(now)
            && let Phase::Syncing { retry_at, .. } = &mut book.phase
        {
            *retry_at = Some(now + wait);
        }
        self.stats.processor.skipped.add(thrown);
        self.stats.processor.resyncs.add(1);
        match book.resync_reports.record(1, now) {
            Some(1) => warn!("book resync: {}", describe(&why)),
            Some(resyncs) => warn!(
                "{resyncs} book resyncs in the last {} s, the latest: {}",
                RESYNC_REPORT_INTERVAL.as_secs(),
                describe(&why)
            ),
            None => {}
        }
        let head = book.head.clone();
        let index = book.settings.index;
        write_resync(self.sink.buffer(), &head, &why, recv_time_us);
        // On the book's own subject with `--nats`, without a message id: each listener's
        // resyncs are its own.
        self.sink.line_added_as(LineTag::event(index, None));
        state.markers.ledger.marker_added(state.lines);
        if let Some(frame) = revealing {
            self.rebuffer(frame, state);
        }
        self.request_snapshot(state);
        if self.sink.is_full() && !self.flush(state) {
            return Err(Ended::Stopped);
        }
        Ok(())
    }

    /// Writes the live book's line: the frame of its last update is written with it, the
    /// frames merged into it since the last line are duplicates; a line with no frame
    /// behind it (a bare snapshot) is counted apart, like a marker.
    fn write_book_line(&mut self, state: &mut State) -> Result<(), Ended> {
        let Some(book) = state.book.as_mut() else {
            return Ok(());
        };
        let Phase::Live(live) = &mut book.phase else {
            return Ok(());
        };
        write_book(
            self.sink.buffer(),
            &book.head,
            &live.book,
            book.settings.depth,
            live.last_recv_us,
        );
        // Identified by its update id: two listeners' lines of the same book state are
        // stored once with `--nats`.
        self.sink.line_added_as(LineTag::event(
            book.settings.index,
            Some(live.book.update_id),
        ));
        live.last_line = Some(Instant::now());
        let pending = std::mem::take(&mut live.pending);
        if pending == 0 {
            state.markers.ledger.marker_added(state.lines);
            return Ok(());
        }
        self.stats.processor.duplicates.add(pending - 1);
        let event_time = Some(live.book.event_time).filter(|&time| time > 0);
        let recv_time_us = live.last_recv_us;
        self.frame_line_added(state, event_time, recv_time_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resyncs_in_a_streak_wait_longer_and_a_quiet_minute_starts_over() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let (mut streak, mut last) = (0, None);
        let mut waits = Vec::new();
        for n in 0..8 {
            let now = start + n * 2 * second;
            let (next, wait) = next_resync(streak, last, now);
            (streak, last) = (next, Some(now));
            waits.push(wait.map(|wait| wait.as_secs()));
        }
        assert_eq!(
            waits,
            [
                None,
                Some(1),
                Some(2),
                Some(4),
                Some(8),
                Some(16),
                Some(30),
                Some(30)
            ]
        );
        // A book that stayed in sync for a minute starts with no wait again.
        let later = start + 16 * second + RESYNC_STREAK_WINDOW;
        assert_eq!(next_resync(streak, last, later), (0, None));
    }
}
