//! Make-before-break rollover: before a connection reaches its maximum age (or when the
//! server announces `serverShutdown`), the reader opens the replacement, reads both, holds
//! the new one's frames until the old one has caught up with them, then closes the old one.
//! The processor drops the overlap's duplicates, so no id is lost or written twice.

use std::time::Instant;

use binance_streams::Payload;
use tracing::{info, warn};

use super::connect::{ConnectError, READ_TICK};
use super::link::{Link, Received};
use super::{
    Cause, MAX_CATCH_UP, MAX_HELD_FRAMES, Next, OVERLAP_TICK, QUIET_OVERLAP, Reader, Session,
    is_server_shutdown, lost,
};
use crate::pipeline::queue::Frame;
use crate::util::duration::format_duration;

impl Reader {
    /// Make-before-break: opens `old`'s replacement, reads both, and switches once the old
    /// connection has delivered everything up to where the new one starts.
    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn replace(&self, mut old: Box<Link>, why: &str, session: &mut Session) -> Next {
        info!(
            "connection #{} {why} after {}; opening its replacement first",
            old.number,
            format_duration(old.age())
        );
        let mut new = match self.open_once(session) {
            Ok(new) => new,
            Err(ConnectError::Stopped) => {
                old.close(self.stop.is_triggered());
                return Next::Stopped;
            }
            Err(failure) => {
                let wait = self.retry_wait(&failure, session);
                old.replace_at = Instant::now() + wait;
                return Next::Continue(old);
            }
        };
        if old.set_read_timeout(OVERLAP_TICK).is_err()
            || new.set_read_timeout(OVERLAP_TICK).is_err()
        {
            old.close(self.stop.is_triggered());
            let _ = new.set_read_timeout(READ_TICK);
            return Next::Continue(new);
        }
        let started = Instant::now();
        let mut held = Held::default();
        let mut old_open = true;
        let mut old_last_id: Option<u64> = None;
        let mut new_first: Option<(Option<u64>, Instant)> = None;
        // The hold is bounded like the queue it feeds: a rollover never holds more frames
        // or bytes than the symbol's queue may.
        let bounds = session.frames.bounds();
        loop {
            if self.stop.is_triggered() {
                self.stats.reader.discarded.add(held.frames.len() as u64);
                old.close(self.stop.is_triggered());
                new.close(self.stop.is_triggered());
                return Next::Stopped;
            }
            if old_open {
                match old.read() {
                    Received::Data(payload) if is_server_shutdown(&payload) => {
                        self.note_server_shutdown(&old);
                    }
                    Received::Data(payload) => {
                        if let Some((id, _)) = self.overlap_position(&payload) {
                            old_last_id = Some(id);
                        }
                        let frame = self.stamp(payload, &old);
                        if !self.enqueue(frame, session) {
                            self.stats.reader.discarded.add(held.frames.len() as u64);
                            old.close(self.stop.is_triggered());
                            new.close(self.stop.is_triggered());
                            return Next::Stopped;
                        }
                    }
                    Received::Closed(_) | Received::Failed(_) => old_open = false,
                    other => {
                        if self.note_bad_frame(&other, session).is_some() {
                            old_open = false;
                        }
                    }
                }
            }
            match new.read() {
                Received::Data(payload) if is_server_shutdown(&payload) => {
                    self.note_server_shutdown(&new);
                }
                Received::Data(payload) => {
                    if new_first.is_none() {
                        let first = self.overlap_position(&payload).map(|(_, first)| first);
                        new_first = Some((first, Instant::now()));
                    }
                    let frame = self.stamp(payload, &new);
                    held.push(frame);
                }
                Received::Closed(reason) | Received::Failed(reason) => {
                    warn!(
                        "replacement connection #{} failed ({reason}); keeping #{}",
                        new.number, old.number
                    );
                    return self.keep_old(old, old_open, held.frames, session);
                }
                other => {
                    if let Some(reason) = self.note_bad_frame(&other, session) {
                        warn!(
                            "replacement connection #{} failed ({reason}); keeping #{}",
                            new.number, old.number
                        );
                        return self.keep_old(old, old_open, held.frames, session);
                    }
                }
            }
            let caught_up = match (old_last_id, new_first) {
                (Some(old_last), Some((Some(new_first_id), _))) => old_last + 1 >= new_first_id,
                _ => false,
            };
            let waited_too_long = match new_first {
                Some((_, at)) => at.elapsed() >= MAX_CATCH_UP,
                None => started.elapsed() >= QUIET_OVERLAP,
            };
            let hold_full = held.frames.len() >= bounds.frames.min(MAX_HELD_FRAMES)
                || held.bytes >= bounds.bytes;
            if caught_up || !old_open || waited_too_long || hold_full {
                if old_open {
                    old.close(self.stop.is_triggered());
                }
                if !self.release(held.frames, session) {
                    new.close(self.stop.is_triggered());
                    return Next::Stopped;
                }
                info!(
                    "switched to connection #{} after {} of overlap",
                    new.number,
                    format_duration(started.elapsed())
                );
                if new.set_read_timeout(READ_TICK).is_err() {
                    return lost(
                        &new,
                        "cannot set the read timeout".to_owned(),
                        Cause::Failed,
                    );
                }
                return Next::Continue(new);
            }
        }
    }

    /// Queues frames held during an overlap; `false` when the pipeline stops first (the
    /// rest are counted discarded).
    fn release(&self, held: Vec<Frame>, session: &mut Session) -> bool {
        let total = held.len() as u64;
        for (index, frame) in held.into_iter().enumerate() {
            if !self.enqueue(frame, session) {
                // `enqueue` counted the frame it could not queue; the rest never tried.
                self.stats.reader.discarded.add(total - index as u64 - 1);
                return false;
            }
        }
        true
    }

    /// The replacement failed during the overlap: pass on what it delivered (the processor
    /// drops what the old one also delivers) and carry on with the old connection.
    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn keep_old(
        &self,
        mut old: Box<Link>,
        old_open: bool,
        held: Vec<Frame>,
        session: &mut Session,
    ) -> Next {
        if !self.release(held, session) {
            old.close(self.stop.is_triggered());
            return Next::Stopped;
        }
        if !old_open {
            return lost(&old, "closed during a rollover".to_owned(), Cause::Failed);
        }
        let wait = session.backoff.next_delay();
        old.replace_at = Instant::now() + wait;
        if old.set_read_timeout(READ_TICK).is_err() {
            return lost(
                &old,
                "cannot set the read timeout".to_owned(),
                Cause::Failed,
            );
        }
        Next::Continue(old)
    }

    /// Where a frame of the first stream kind sits, for judging an overlap: its id and where
    /// it starts (`U` of a spot depth range; the id itself otherwise). Parses the frame,
    /// which only happens while two connections overlap.
    pub(super) fn overlap_position(&self, payload: &str) -> Option<(u64, u64)> {
        match self.decoder.decode(payload) {
            Ok((0, event)) => event
                .sequence()
                .map(|point| (point.id, point.first.unwrap_or(point.id))),
            _ => None,
        }
    }
}

/// Frames of the replacement held back during an overlap, and their payload bytes.
#[derive(Default)]
struct Held {
    frames: Vec<Frame>,
    bytes: u64,
}

impl Held {
    fn push(&mut self, frame: Frame) {
        self.bytes += frame.payload.len() as u64;
        self.frames.push(frame);
    }
}
