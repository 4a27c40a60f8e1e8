//! The book's snapshots, seen from its processor: asking for one, taking the reply (and
//! loading it with the updates buffered meanwhile), and waiting for frames, replies and
//! due lines at once.

use std::time::Instant;

use tracing::{debug, warn};

use super::{FIRST_SNAPSHOT_RETRY, LiveBook, MAX_SNAPSHOT_RETRY, Phase, apply, ids};
use crate::book::fetch::SnapshotReply;
use crate::book::levels::OrderBook;
use crate::book::line::write_resync;
use crate::book::sync::{Fit, Resync, Step, first_after_snapshot, step};
use crate::output::batch::LineTag;
use crate::pipeline::processor::{Ended, Processor, State, unix_micros};
use crate::pipeline::queue::{Frame, Waited};
use binance_streams::Event;

impl Processor {
    /// Asks for a snapshot, unless one is on its way or a retry is not yet due.
    pub(super) fn request_snapshot(&mut self, state: &mut State) {
        let Some(book) = state.book.as_mut() else {
            return;
        };
        if let Phase::Syncing {
            requested,
            retry_at,
            ..
        } = &mut book.phase
            && !*requested
            && retry_at.is_none_or(|at| at <= Instant::now())
        {
            *requested = book
                .settings
                .snapshots
                .request(&book.head.symbol, &book.replies.0);
            *retry_at = None;
        }
    }

    /// Takes the snapshot replies that have come, without waiting.
    pub(super) fn take_snapshot_replies(&mut self, state: &mut State) -> Result<(), Ended> {
        while let Some(reply) = state
            .book
            .as_ref()
            .and_then(|book| book.replies.1.try_recv().ok())
        {
            self.on_snapshot(reply, state)?;
        }
        Ok(())
    }

    /// A snapshot (or its failure) came: load it and apply what was buffered, or try again.
    fn on_snapshot(&mut self, reply: SnapshotReply, state: &mut State) -> Result<(), Ended> {
        let Some(book) = state.book.as_mut() else {
            return Ok(());
        };
        let Phase::Syncing {
            buffer,
            requested,
            retry_at,
        } = &mut book.phase
        else {
            return Ok(());
        };
        *requested = false;
        let (snapshot, limit) = match reply {
            SnapshotReply::Fetched(snapshot, limit) => (snapshot, limit),
            SnapshotReply::Failed(why) => {
                book.failures += 1;
                let wait = FIRST_SNAPSHOT_RETRY
                    .saturating_mul(1 << book.failures.min(5).saturating_sub(1))
                    .min(MAX_SNAPSHOT_RETRY);
                *retry_at = Some(Instant::now() + wait);
                warn!(
                    "book snapshot failed (next try in {} s): {why}",
                    wait.as_secs()
                );
                // Announced in-band; the buffer is kept for the next snapshot.
                self.stats.processor.resyncs.add(1);
                let head = book.head.clone();
                write_resync(
                    self.sink.buffer(),
                    &head,
                    &Resync::SnapshotFailed(why),
                    unix_micros(),
                );
                self.sink
                    .line_added_as(LineTag::event(book.settings.index, None));
                state.markers.ledger.marker_added(state.lines);
                return Ok(());
            }
        };
        book.failures = 0;
        let (stale, apply_list) = match buffer.fit(book.settings.rule, snapshot.last_update_id) {
            Fit::TooOld => {
                debug!(
                    "snapshot at {} is older than the buffered updates: fetching another",
                    snapshot.last_update_id
                );
                self.request_snapshot(state);
                return Ok(());
            }
            Fit::Load { stale, apply } => (stale, apply),
        };
        self.stats.processor.duplicates.add(stale.len() as u64);
        let loaded = OrderBook::from_snapshot(
            snapshot.last_update_id,
            &snapshot.bids,
            &snapshot.asks,
            limit,
        );
        let recv_now = unix_micros();
        let book_loaded = match loaded {
            Ok(loaded) => loaded,
            Err(bad) => {
                self.stats.processor.skipped.add(apply_list.len() as u64);
                return self.resync(Resync::BadUpdate(bad.0), recv_now, None, state);
            }
        };
        let Some(book) = state.book.as_mut() else {
            return Ok(());
        };
        book.phase = Phase::Live(Box::new(LiveBook {
            book: book_loaded,
            fresh: true,
            pending: 0,
            last_recv_us: recv_now,
            last_line: None,
        }));
        let mut frames = apply_list.into_iter();
        while let Some(frame) = frames.next() {
            let Ok((_, event)) = self.decoder.decode(&frame.payload) else {
                // It decoded when it was buffered; it cannot fail now.
                self.stats.processor.skipped.add(1);
                continue;
            };
            let (Some(book), Event::Depth(update)) = (state.book.as_mut(), &event) else {
                self.stats.processor.skipped.add(1);
                continue;
            };
            let Phase::Live(live) = &mut book.phase else {
                // A resync happened: the rest waits for the next snapshot.
                self.rebuffer(&frame, state);
                for rest in frames.by_ref() {
                    self.rebuffer(&rest, state);
                }
                break;
            };
            let checked = if live.fresh {
                first_after_snapshot(book.settings.rule, live.book.update_id, ids(update))
            } else {
                step(book.settings.rule, live.book.update_id, ids(update))
            };
            match checked {
                Step::Old => self.stats.processor.duplicates.add(1),
                Step::Resync(why) => {
                    self.resync(why, frame.recv_time_us, Some(&frame), state)?;
                }
                Step::Apply => {
                    live.fresh = false;
                    live.pending += 1;
                    live.last_recv_us = frame.recv_time_us;
                    if let Err(why) = apply(&mut live.book, update) {
                        self.resync(why, frame.recv_time_us, None, state)?;
                    }
                }
            }
        }
        // The fresh book's line, whatever the interval.
        if matches!(
            state.book.as_ref().map(|book| &book.phase),
            Some(Phase::Live(_))
        ) {
            self.write_book_line(state)?;
        }
        Ok(())
    }

    /// Puts a frame back in the buffer of a book that is syncing again.
    pub(super) fn rebuffer(&mut self, frame: &Frame, state: &mut State) {
        let Some(book) = state.book.as_mut() else {
            return;
        };
        let Ok((_, Event::Depth(update))) = self.decoder.decode(&frame.payload) else {
            self.stats.processor.skipped.add(1);
            return;
        };
        if let Phase::Syncing { buffer, .. } = &mut book.phase
            && buffer.push(ids(&update), frame.clone()).is_ok()
        {
            return;
        }
        self.stats.processor.skipped.add(1);
    }

    /// A book processor's wait for the next frame: snapshot replies, a line due by
    /// `--book-interval` and snapshot retries are handled meanwhile. `None` at a stop.
    pub(in crate::pipeline::processor) fn wait_with_book(
        &mut self,
        state: &mut State,
    ) -> Option<Frame> {
        loop {
            let (replies, deadline) = match &state.book {
                Some(book) => (book.replies.1.clone(), book.deadline()),
                None => return self.frames.recv_or_stop(&self.stop),
            };
            match self.frames.recv_or_other(&self.stop, &replies, deadline) {
                Waited::Frame(frame) => return Some(frame),
                Waited::Stopped => return None,
                Waited::Other(reply) => {
                    if let Err(ended) = self.on_snapshot(reply, state) {
                        state.done_while_waiting = matches!(ended, Ended::Done);
                        return None;
                    }
                }
                Waited::Deadline => {
                    let line_due = matches!(
                        state.book.as_ref().map(|book| &book.phase),
                        Some(Phase::Live(live)) if live.pending > 0
                    );
                    if line_due {
                        if let Err(ended) = self.write_book_line(state) {
                            state.done_while_waiting = matches!(ended, Ended::Done);
                            return None;
                        }
                    } else {
                        self.request_snapshot(state);
                    }
                }
            }
            if !self.flush(state) {
                return None;
            }
        }
    }
}
