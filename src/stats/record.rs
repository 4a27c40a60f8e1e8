//! What `--record` did per symbol, for the exit summary: frames written to the recording,
//! and frames it missed (the recorder was behind, or stopped on a write error).

use serde::Serialize;

use super::Counter;

/// The recording's counters, written by the symbol's recorder thread only.
#[derive(Debug, Default)]
pub(crate) struct RecordCounters {
    /// Frames written to the recording's files (compressed and handed to the kernel).
    /// Written by the recorder thread.
    pub(crate) recorded: Counter,
    /// Frames the reader offered the recording, set by the reader's tap when it is done.
    /// What was offered and not recorded was missed: the recorder was behind or stopped
    /// (a write error), or gathered it and could not write it.
    pub(crate) offered: Counter,
}

/// The recording's counters read once (for the exit summary: `offered` is known once the
/// reader is done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(crate) struct RecordSnapshot {
    /// Frames recorded.
    pub(crate) recorded: u64,
    /// Frames missed.
    pub(crate) missed: u64,
}

impl RecordCounters {
    /// Reads both counters.
    pub(crate) fn snapshot(&self) -> RecordSnapshot {
        let recorded = self.recorded.get();
        RecordSnapshot {
            recorded,
            missed: self.offered.get().saturating_sub(recorded),
        }
    }
}

impl RecordSnapshot {
    /// The summary line's part: `  recorded 1200 (missed 0)`.
    pub(crate) fn human(&self) -> String {
        format!("  recorded {} (missed {})", self.recorded, self.missed)
    }
}
