//! Duplicate, gap and restart detection on one stream's ids, in the processor. Pure logic:
//! the processor feeds it each event's [`SequencePoint`] with the frame's connection number
//! and receive time, and acts on the [`Verdict`].
//!
//! What counts as written: the ids written within the last [`RECENT_WINDOW_US`] (judged
//! by the frames' own receive stamps, never by reading a clock), minus the ranges known
//! never to have been written ([`Holes`]: gaps, breaks, what a restarted sequence has not
//! covered yet). The rules, in order:
//!
//! 1. **Above the last written id**: written. A stepping sequence (trade, aggTrade, spot
//!    depth) that skips ids is a gap (`first..=last` missing); a futures depth update whose
//!    `pu` is not the last `u` written is a break. `pu = -1` names no predecessor: such an
//!    update starts a chain and is only checked for being newer.
//! 2. **Already written** (recently): a duplicate, dropped and counted. Runs of duplicates
//!    are handed to the processor to report ([`Verdict::DuplicateRun`]); a run on a
//!    connection that has not yet delivered anything new (the start of a reconnect, or a
//!    make-before-break replacement replaying what the old connection sent) is what an
//!    overlap explains and is marked `expected`.
//! 3. **Below the last written id but never written** (in a gap, or older than the window):
//!    - on a connection that has not yet delivered anything new, a restarted or replayed
//!      sequence: written at once, and followed from there ([`Verdict::Restarted`]);
//!    - otherwise evidence is needed: the event is held ([`Verdict::Hold`]) until
//!      [`CONFIRMING_EVENTS`] events in a row, each following the one before by its kind's
//!      rule ([`SequencePoint::follows`]) and all below the last written id and never
//!      written, confirm that the sequence moved back (or that the id it came from was a
//!      stray). Then the held events and the confirming one are written and the new
//!      sequence is followed. Anything else first ([`Verdict::Unconfirmed`]): the held
//!      events are dropped as duplicates and the event is judged afresh.
//! 4. **Following a sequence that moved back**: events that continue it are written while
//!    their ids were never written, dropped as duplicates where the old sequence already
//!    wrote them, and once past the old sequence's last id the check is back to rule 1. So
//!    trades 1..=100, a stray 900000, then 101..=2000 end with each of 101..=2000 written
//!    once (after a gap report for 101..=899999 and one restart report).
//!
//! The common case, the next id on the same connection, is the inlined [`SequenceCheck::check`]:
//! four comparisons and a store, no allocation, no clock read. Everything else is out of line.

mod holes;

use binance_streams::SequencePoint;
use holes::Holes;

/// How long written ids count as recently written: what a replay can legitimately repeat.
/// A make-before-break rollover switches within 5 s of the replacement's first frame (30 s
/// for a quiet symbol), and a reconnecting server replays at once; a minute covers both.
/// The window moves in steps of its own length, so ids written 60 to 120 s ago may count
/// as recent too.
pub(crate) const RECENT_WINDOW_US: u64 = 60_000_000;

/// Events in a row that confirm a sequence moved back, the first included: an event below
/// the last written id, on a connection that already delivered, is held with up to two
/// that follow it before any is written.
pub(crate) const CONFIRMING_EVENTS: u8 = 3;

/// What to do with an event, given its place in the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The next event: write it.
    Next,
    /// Already written (overlapping connections, a server replay): drop it.
    Duplicate,
    /// New, but ids were skipped: write it and report `first..=last` as missing.
    Gap {
        /// The first missing id.
        first: u64,
        /// The last missing id.
        last: u64,
    },
    /// New, but it follows another event than the last one written (futures depth `pu`):
    /// write it and report the break; how many updates were missed is unknown.
    Break {
        /// The last id written.
        expected: u64,
        /// The predecessor the event names.
        found: u64,
    },
    /// The sequence moved back to `resumed_at`: report it once, then write the events held
    /// for this stream (oldest first) and this one.
    Restarted {
        /// The last id of the sequence followed until now.
        previous: u64,
        /// The first id of the sequence followed from now on.
        resumed_at: u64,
    },
    /// Below the last written id: keep the event until later ones confirm or refute it.
    Hold,
    /// The `held` events kept for this stream were not confirmed: drop them as duplicates
    /// (ids `lowest..=highest`), then ask again about this event.
    Unconfirmed {
        /// How many were held.
        held: u8,
        /// The first held id.
        lowest: u64,
        /// The last held id.
        highest: u64,
    },
    /// A run of duplicates ended: report it, then ask again about this event.
    DuplicateRun(DuplicateRun),
}

/// Consecutive duplicates of one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DuplicateRun {
    /// The lowest id in the run.
    pub(crate) lowest: u64,
    /// The highest id in the run.
    pub(crate) highest: u64,
    /// How many events the run dropped.
    pub(crate) count: u64,
    /// Every one came on a connection that had delivered nothing new yet: an overlap or a
    /// server's replay explains them.
    pub(crate) expected: bool,
}

/// Events held until the sequence's move back is confirmed.
#[derive(Debug, Clone, Copy)]
struct Held {
    first: SequencePoint,
    last: SequencePoint,
    count: u8,
}

/// What an event is, before anything is changed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Above the last written id.
    Above,
    /// Recently written.
    Written,
    /// Never written, and after the position of a sequence that moved back.
    Continues,
    /// Never written, behind the position of the sequence followed.
    Behind,
}

/// The sequence state of one stream.
#[derive(Debug, Clone)]
pub(crate) struct SequenceCheck {
    // Read on every event.
    /// The highest id written.
    top: u64,
    /// The connection of the last event judged.
    connection: u32,
    /// Anything but "the next id on the same connection" needs the slow path.
    attention: bool,
    /// Receive time at which the recent window moves on.
    rotate_at_us: u64,
    // The slow path's.
    /// An event was judged.
    started: bool,
    /// The last id of the sequence followed: `top`, unless the sequence moved back.
    cursor: u64,
    /// The connection changed and has delivered nothing new since.
    fresh: bool,
    /// Ids below this were not written recently.
    floor: u64,
    /// The cursor when the window last moved: the next floor.
    checkpoint: u64,
    /// Window moves since the sequence moved back below `top`.
    moves_behind: u8,
    /// Ranges below `top` never written.
    holes: Holes,
    held: Option<Held>,
    run: Option<DuplicateRun>,
}

impl SequenceCheck {
    /// A check that has seen nothing yet.
    pub(crate) fn new() -> Self {
        Self {
            top: 0,
            connection: 0,
            attention: true,
            rotate_at_us: 0,
            started: false,
            cursor: 0,
            fresh: false,
            floor: 0,
            checkpoint: 0,
            moves_behind: 0,
            holes: Holes::default(),
            held: None,
            run: None,
        }
    }

    /// Judges `point`, an event that arrived on `connection` at `recv_time_us`.
    #[inline]
    pub(crate) fn check(
        &mut self,
        point: SequencePoint,
        connection: u32,
        recv_time_us: u64,
    ) -> Verdict {
        if !self.attention
            && connection == self.connection
            && recv_time_us < self.rotate_at_us
            && point.follows(self.top)
        {
            self.top = point.id;
            return Verdict::Next;
        }
        self.judge(point, connection, recv_time_us)
    }

    /// Ends the run of duplicates in progress, if any (the processor reports it when idle).
    pub(crate) fn take_run(&mut self) -> Option<DuplicateRun> {
        let run = self.run.take()?;
        self.settle();
        Some(run)
    }

    /// Forgets the events held (the processor lost them to an internal error).
    pub(crate) fn forget_held(&mut self) {
        if self.held.take().is_some() {
            self.settle();
        }
    }

    #[cold]
    #[inline(never)]
    fn judge(&mut self, point: SequencePoint, connection: u32, recv_time_us: u64) -> Verdict {
        if !self.started {
            return self.begin(point, connection, recv_time_us);
        }
        if !self.attention {
            // The fast path moves only `top`; the position followed is the same.
            self.cursor = self.top;
        }
        if connection != self.connection {
            self.connection = connection;
            self.fresh = true;
        }
        if recv_time_us >= self.rotate_at_us {
            self.move_window(recv_time_us);
        }
        let verdict = self.decide(point);
        self.settle();
        verdict
    }

    /// The first event: written, and the start of what counts as written.
    fn begin(&mut self, point: SequencePoint, connection: u32, recv_time_us: u64) -> Verdict {
        self.started = true;
        self.connection = connection;
        self.top = point.id;
        self.cursor = point.id;
        self.floor = low_end(point);
        self.checkpoint = point.id;
        self.rotate_at_us = recv_time_us.saturating_add(RECENT_WINDOW_US);
        self.settle();
        Verdict::Next
    }

    fn decide(&mut self, point: SequencePoint) -> Verdict {
        if let Some(held) = self.held.take() {
            if !self.confirms(held, point) {
                return Verdict::Unconfirmed {
                    held: held.count,
                    lowest: held.first.id,
                    highest: held.last.id,
                };
            }
            if held.count + 1 < CONFIRMING_EVENTS {
                self.held = Some(Held {
                    last: point,
                    count: held.count + 1,
                    ..held
                });
                return Verdict::Hold;
            }
            return self.move_back(held.first, point);
        }
        let place = self.place(point.id);
        if place != Place::Written
            && let Some(run) = self.run.take()
        {
            return Verdict::DuplicateRun(run);
        }
        match place {
            Place::Above => self.write_after(self.top, point),
            Place::Continues => self.write_after(self.cursor, point),
            Place::Written => {
                if self.cursor < self.top && point.follows(self.cursor) {
                    // A sequence that moved back, passing ids the old one wrote.
                    self.cursor = point.id;
                }
                self.record_duplicate(point.id);
                Verdict::Duplicate
            }
            Place::Behind if self.fresh => self.move_back(point, point),
            Place::Behind => {
                self.held = Some(Held {
                    first: point,
                    last: point,
                    count: 1,
                });
                Verdict::Hold
            }
        }
    }

    fn place(&self, id: u64) -> Place {
        if id > self.top {
            Place::Above
        } else if id >= self.floor && !self.holes.contains(id) {
            Place::Written
        } else if self.cursor < self.top && id > self.cursor {
            Place::Continues
        } else {
            Place::Behind
        }
    }

    /// Whether `point` is one more event of the sequence the held ones began.
    fn confirms(&self, held: Held, point: SequencePoint) -> bool {
        point.follows(held.last.id)
            && point.id <= self.top
            && self.place(point.id) != Place::Written
    }

    /// Writes `point`, which comes after `base`: the last written id (`top`) or the position
    /// of a sequence that moved back (`cursor`).
    fn write_after(&mut self, base: u64, point: SequencePoint) -> Verdict {
        let verdict = match (point.first, point.prev) {
            (Some(first), _) if first > base.saturating_add(1) => Verdict::Gap {
                first: base + 1,
                last: first - 1,
            },
            (_, Some(prev)) if prev != base => Verdict::Break {
                expected: base,
                found: prev,
            },
            _ => Verdict::Next,
        };
        if point.id > self.top {
            match verdict {
                Verdict::Gap { first, last } => self.holes.add(first, last),
                Verdict::Break { expected, found } if found > expected => {
                    self.holes.add(expected + 1, found);
                }
                _ => {}
            }
            self.top = point.id;
        } else {
            // Inside a gap the old sequence left: these ids are now written. An id that only
            // has to increase covers everything since the last one.
            let low = match (point.first, point.prev) {
                (None, None) => base.saturating_add(1),
                _ => low_end(point),
            };
            self.holes.fill(low, point.id);
        }
        self.cursor = point.id;
        self.fresh = false;
        verdict
    }

    /// Follows the sequence back to `first`, written up to `last` (one event, or the held
    /// ones and the event confirming them).
    fn move_back(&mut self, first: SequencePoint, last: SequencePoint) -> Verdict {
        let previous = self.cursor;
        let low = low_end(first);
        if low < self.floor {
            // Between the new sequence and the window's floor, nothing counts as written.
            if last.id.saturating_add(1) < self.floor {
                self.holes.add(last.id + 1, self.floor - 1);
            }
            self.floor = low;
        }
        self.holes.fill(low, last.id);
        self.checkpoint = self.checkpoint.min(low);
        self.cursor = last.id;
        self.moves_behind = 0;
        self.fresh = false;
        Verdict::Restarted {
            previous,
            resumed_at: first.id,
        }
    }

    fn record_duplicate(&mut self, id: u64) {
        let fresh = self.fresh;
        let run = self.run.get_or_insert(DuplicateRun {
            lowest: id,
            highest: id,
            count: 0,
            expected: fresh,
        });
        run.lowest = run.lowest.min(id);
        run.highest = run.highest.max(id);
        run.count += 1;
        run.expected &= fresh;
    }

    /// Moves the recent window on: what was written before the last move stops counting.
    /// After a whole window without an event, nothing written counts as recent any more.
    fn move_window(&mut self, recv_time_us: u64) {
        let moves = if recv_time_us >= self.rotate_at_us.saturating_add(RECENT_WINDOW_US) {
            self.checkpoint = self.cursor;
            2
        } else {
            1
        };
        self.rotate_at_us = recv_time_us.saturating_add(RECENT_WINDOW_US);
        self.floor = self.checkpoint;
        self.checkpoint = self.cursor;
        if self.cursor < self.top {
            self.moves_behind = self.moves_behind.saturating_add(moves);
            if self.moves_behind >= 2 {
                // What the old sequence wrote above the new one is no longer recent.
                self.top = self.cursor;
            }
        }
        if !self.holes.is_empty() {
            self.holes.keep_within(self.floor, self.top);
        }
    }

    /// Recomputes whether the next event may take the fast path.
    fn settle(&mut self) {
        self.attention = !self.started
            || self.fresh
            || self.held.is_some()
            || self.run.is_some()
            || self.cursor != self.top;
    }
}

/// The lowest id an event covers: a spot depth update `U..=u`, a futures one after `pu`,
/// anything else just its id.
fn low_end(point: SequencePoint) -> u64 {
    point
        .first
        .or(point.prev.map(|prev| prev.saturating_add(1)))
        .unwrap_or(point.id)
        .min(point.id)
}

#[cfg(test)]
mod tests;
