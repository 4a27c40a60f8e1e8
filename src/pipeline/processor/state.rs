//! What a processor keeps between frames ([`State`]), and how it starts.

use super::book::BookState;
use super::markers::Markers;
use super::reports::BadFrameReports;
use super::{BAD_FRAME_REPORT_INTERVAL, Processor};
use crate::output::fast::FastPath;
use crate::output::{LineHead, OutputFormat};
use crate::pipeline::queue::Frame;
use crate::pipeline::sequence::SequenceCheck;
use crate::stats::latency::LatencyRecorder;
use crate::util::throttle::Throttle;

/// What survives a restart of the processing loop after an internal error.
pub(super) struct State {
    pub(super) reports: BadFrameReports,
    /// One per kind, in the decoder's order.
    pub(super) sequences: Vec<SequenceCheck>,
    /// The start of each kind's lines (symbol and stream, rendered once).
    pub(super) heads: Vec<LineHead>,
    /// The scanner for the busiest kinds' frames, when the connection carries one and the
    /// format is JSON or raw; frames it declines take the generic path.
    pub(super) fast: Option<FastPath>,
    pub(super) gaps: Throttle,
    /// Ids missing in gaps not yet reported.
    pub(super) unreported_missing: u64,
    /// Reports of duplicates (and of held events dropped as strays).
    pub(super) duplicate_reports: Throttle,
    /// Reports of sequences that moved back.
    pub(super) restart_reports: Throttle,
    /// Events dropped in those not yet reported.
    pub(super) unreported_duplicates: u64,
    /// Per kind, the frames held until a move back of its ids is confirmed (at most two).
    pub(super) held: Vec<Vec<Frame>>,
    /// Gap markers: whether to write them, where they sit, overflow drops to mark.
    pub(super) markers: Markers,
    /// Frame lines produced, for `--max-messages` (marker lines are not counted).
    pub(super) lines: u64,
    /// Latency recording, with `--stats`.
    pub(super) latency: Option<LatencyRecorder>,
    /// Frames being handled (the current one, and a held one being written); if the loop
    /// dies now, these are lost.
    pub(super) in_hand: u64,
    /// The order book, with `--stream book`.
    pub(super) book: Option<BookState>,
    /// `--max-messages` was reached while waiting (a book line due by its interval).
    pub(super) done_while_waiting: bool,
    /// Frames found already queued since the processor last waited for one: frames are
    /// coming faster than one at a time, so lingering for the next is worth it.
    pub(super) busy: bool,
}

impl Processor {
    /// The processor's state at the start, built before its thread starts: rendering the
    /// line heads goes deep into serde, and any stack page that touches stays resident
    /// for the thread's life, in each of a thousand symbols' processors.
    pub(super) fn new_state(&self) -> Box<State> {
        let kinds = self.decoder.kinds().len();
        let streams: Vec<String> = self.decoder.kinds().iter().map(|k| k.name()).collect();
        Box::new(State {
            reports: BadFrameReports::new(),
            sequences: vec![SequenceCheck::new(); kinds],
            heads: streams
                .iter()
                .map(|stream| LineHead::new(self.symbol.as_str(), stream))
                .collect(),
            fast: FastPath::new(&self.symbol, self.decoder.kinds(), self.format),
            gaps: Throttle::new(BAD_FRAME_REPORT_INTERVAL),
            unreported_missing: 0,
            duplicate_reports: Throttle::new(BAD_FRAME_REPORT_INTERVAL),
            restart_reports: Throttle::new(BAD_FRAME_REPORT_INTERVAL),
            unreported_duplicates: 0,
            held: vec![Vec::new(); kinds],
            markers: Markers::new(self.gap_markers, self.symbol.as_str(), &streams),
            lines: 0,
            latency: self.stats.latency.as_ref().map(|_| LatencyRecorder::new()),
            in_hand: 0,
            book: self.book.clone().map(|settings| {
                let pretty = matches!(self.format, OutputFormat::Pretty { .. });
                BookState::new(settings, self.symbol.as_str(), pretty)
            }),
            done_while_waiting: false,
            busy: false,
        })
    }
}
