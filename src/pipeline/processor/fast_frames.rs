//! Frames the fast path accepted (trade, aggTrade, bookTicker, diff depth in JSON or raw):
//! the same sequence check as every frame, the line written straight from the frame's
//! tokens; every verdict but "next" and "duplicate" goes through the decoded event.

use binance_streams::SequencePoint;

use super::{Ended, Line, Processor, State};
use crate::output::fast::FastEvent;
use crate::pipeline::queue::Frame;
use crate::pipeline::sequence::Verdict;

impl Processor {
    /// [`handle`](Self::handle) for a frame the fast path accepted: the same sequence
    /// check, the line written straight from the frame. Every verdict but "next" and
    /// "duplicate" is rare: the frame is then decoded and handed to the general path.
    #[inline]
    pub(super) fn handle_fast(
        &mut self,
        event: &FastEvent<'_>,
        frame: &Frame,
        state: &mut State,
    ) -> Result<(), Ended> {
        let index = event.index();
        if let Some(point) = event.sequence() {
            match state.sequences[index].check(point, frame.connection, frame.recv_time_us) {
                Verdict::Next => {}
                Verdict::Duplicate => {
                    self.stats.processor.duplicates.add(1);
                    return Ok(());
                }
                unusual => return self.unusual_fast(point, unusual, frame, state),
            }
        }
        self.write_event(index, Line::Fast(event), frame, state)
    }

    /// An unusual verdict on a fast frame: decode it (the fast path accepts only frames the
    /// decoder accepts too) and let the general path act on the verdict.
    #[cold]
    #[inline(never)]
    pub(super) fn unusual_fast(
        &mut self,
        point: SequencePoint,
        verdict: Verdict,
        frame: &Frame,
        state: &mut State,
    ) -> Result<(), Ended> {
        match self.decoder.decode(&frame.payload) {
            Ok((index, event)) => {
                self.unusual_sequence(index, point, verdict, &event, frame, state)
            }
            Err(error) => {
                self.stats.processor.skipped.add(1);
                state.reports.record(&error, &frame.payload);
                Ok(())
            }
        }
    }
}
