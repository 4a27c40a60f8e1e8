//! The processor's side of gap markers (`--gap-markers`): writing them into the batch, the
//! queue's overflow drops waiting for their marker, and [`MarkerLedger`], which keeps marker
//! lines out of the written count.
//!
//! An output confirms lines, not frames ([`Delivered`]), and settles them in the order it
//! was given them. Marker lines are rare, so the ledger remembers where each one sits among
//! the lines handed over and takes those out of every settlement: the exit summary's
//! `written` counts frames only, and received = written + dropped + duplicates + skipped +
//! discarded + lost holds with markers on.

use std::collections::VecDeque;

use super::{Processor, State};
use crate::output::LineHead;
use crate::output::batch::Delivered;
use crate::output::markers::{GapReason, Marker, write_marker};

/// Where marker lines sit among the lines handed to the output.
#[derive(Debug, Default)]
pub(super) struct MarkerLedger {
    /// Positions (from 0, over every line appended to the batch and not abandoned) of the
    /// marker lines not yet settled, oldest first.
    unsettled: VecDeque<u64>,
    /// Marker lines appended.
    markers: u64,
    /// Lines appended and then abandoned unwritten (at a stop).
    abandoned: u64,
    /// Lines the output has settled.
    settled: u64,
}

impl MarkerLedger {
    /// Records a marker line appended after `frames` frame lines (all ever appended).
    pub(super) fn marker_added(&mut self, frames: u64) {
        let position = frames + self.markers - self.abandoned;
        self.unsettled.push_back(position);
        self.markers += 1;
    }

    /// The frames among lines the output just settled: lines settle in order, the written
    /// ones first, then the lost ones.
    pub(super) fn settle(&mut self, delivered: Delivered) -> Delivered {
        let written_end = self.settled + delivered.written;
        let end = written_end + delivered.lost;
        self.settled = end;
        let mut frames = delivered;
        while let Some(&position) = self.unsettled.front() {
            if position >= end {
                break;
            }
            if position < written_end {
                frames.written = frames.written.saturating_sub(1);
            } else {
                frames.lost = frames.lost.saturating_sub(1);
            }
            self.unsettled.pop_front();
        }
        frames
    }

    /// The last `lines` lines appended (of `frames` frame lines ever appended and the
    /// markers) were thrown away unwritten: returns how many of them were frames.
    pub(super) fn abandon(&mut self, lines: u64, frames: u64) -> u64 {
        let appended = frames + self.markers - self.abandoned;
        let first = appended.saturating_sub(lines);
        let before = self.unsettled.len();
        self.unsettled.retain(|&position| position < first);
        self.abandoned += lines;
        lines - (before - self.unsettled.len()) as u64
    }
}

/// The processor's gap-marker state.
#[derive(Debug)]
pub(super) struct Markers {
    /// `--gap-markers`: whether marker lines are written at all.
    pub(super) enabled: bool,
    /// Where they sit among the lines written.
    pub(super) ledger: MarkerLedger,
    /// Overflow drops noticed and not yet marked, and the receive time of the frame that
    /// revealed them.
    pending_drops: u64,
    pending_recv_time_us: u64,
    /// The head of overflow markers: the queue is shared by every stream of the symbol.
    overflow_head: LineHead,
}

impl Markers {
    /// Marker state for `symbol`'s `streams` (their names), writing lines when `enabled`.
    pub(super) fn new(enabled: bool, symbol: &str, streams: &[String]) -> Self {
        Self {
            enabled,
            ledger: MarkerLedger::default(),
            pending_drops: 0,
            pending_recv_time_us: 0,
            overflow_head: LineHead::new(symbol, &streams.join(",")),
        }
    }

    /// Notes `dropped` frames the queue dropped, noticed with a frame received at
    /// `recv_time_us`.
    #[inline]
    pub(super) fn note_drops(&mut self, dropped: u64, recv_time_us: u64) {
        if dropped > 0 {
            if self.pending_drops == 0 {
                self.pending_recv_time_us = recv_time_us;
            }
            self.pending_drops += dropped;
        }
    }

    /// Whether an overflow marker is waiting for the next line.
    #[inline]
    pub(super) fn has_pending_drops(&self) -> bool {
        self.pending_drops > 0
    }
}

impl Processor {
    /// Writes a marker for stream `index` (or, for `None`, every stream of the symbol), when
    /// markers are on.
    #[cold]
    #[inline(never)]
    pub(super) fn write_marker(
        &mut self,
        index: Option<usize>,
        reason: GapReason,
        recv_time_us: u64,
        state: &mut State,
    ) {
        if !state.markers.enabled {
            return;
        }
        let head = match index {
            Some(index) => &state.heads[index],
            None => &state.markers.overflow_head,
        };
        let marker = Marker {
            reason,
            recv_time_us,
        };
        write_marker(self.sink.buffer(), self.format, head, &marker);
        self.sink.line_added();
        state.markers.ledger.marker_added(state.lines);
    }

    /// Writes the overflow marker for the drops noticed so far.
    #[cold]
    #[inline(never)]
    pub(super) fn mark_overflow(&mut self, state: &mut State) {
        let dropped = std::mem::take(&mut state.markers.pending_drops);
        let recv_time_us = state.markers.pending_recv_time_us;
        self.write_marker(None, GapReason::Overflow { dropped }, recv_time_us, state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_taken_out_of_what_settles_in_order() {
        let mut ledger = MarkerLedger::default();
        // Lines: frame, marker, frame, frame, marker, frame.
        ledger.marker_added(1);
        ledger.marker_added(3);
        assert_eq!(
            ledger.settle(Delivered::all(3)),
            Delivered::all(2),
            "frame, marker, frame"
        );
        // The output confirms one more and then loses the rest.
        let settled = ledger.settle(Delivered {
            written: 1,
            lost: 2,
        });
        assert_eq!(
            settled,
            Delivered {
                written: 1,
                lost: 1
            }
        );
        assert_eq!(ledger.settle(Delivered::all(0)), Delivered::all(0));
    }

    #[test]
    fn abandoned_lines_are_counted_as_frames_and_markers_apart() {
        let mut ledger = MarkerLedger::default();
        ledger.marker_added(0);
        assert_eq!(ledger.settle(Delivered::all(2)), Delivered::all(1));
        // Then: marker, frame, frame never written.
        ledger.marker_added(1);
        assert_eq!(ledger.abandon(3, 3), 2);
        // Lines appended after the stop's abandon line up again.
        ledger.marker_added(3);
        assert_eq!(ledger.settle(Delivered::all(1)), Delivered::all(0));
    }
}
