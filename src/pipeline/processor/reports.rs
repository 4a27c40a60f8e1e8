//! The processor's reports of skipped frames: one throttle per kind of bad data, so a flood
//! of one kind never hides another, each report quoting the payload's start.

use std::time::Instant;

use binance_streams::{DataError, DataErrorKind};
use tracing::{debug, warn};

use super::BAD_FRAME_REPORT_INTERVAL;
use crate::util::throttle::Throttle;

/// Longest payload excerpt quoted in a log line.
const PAYLOAD_EXCERPT_BYTES: usize = 120;

/// One throttle per kind of bad frame, so a flood of one kind never hides another.
pub(super) struct BadFrameReports {
    throttles: [Throttle; DataErrorKind::ALL.len()],
}

impl BadFrameReports {
    pub(super) fn new() -> Self {
        Self {
            throttles: std::array::from_fn(|_| Throttle::new(BAD_FRAME_REPORT_INTERVAL)),
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn record(&mut self, error: &DataError, payload: &str) {
        let index = kind_index(error.kind);
        let Some(count) = self.throttles[index].record(1, Instant::now()) else {
            return;
        };
        let excerpt = excerpt(payload);
        if error.kind == DataErrorKind::ControlResponse {
            debug!("skipped a control response: {excerpt}");
        } else if count == 1 {
            warn!("skipped a frame: {error}; payload: {excerpt}");
        } else {
            warn!(
                "skipped {count} frames ({}) in the last {}s; latest: {error}; payload: {excerpt}",
                error.kind.name(),
                BAD_FRAME_REPORT_INTERVAL.as_secs()
            );
        }
    }

    /// Whether any report is held back.
    pub(super) fn has_pending(&self) -> bool {
        self.throttles.iter().any(Throttle::has_pending)
    }

    /// Reports counts held back by the throttles once they are due (called when idle).
    pub(super) fn report_due(&mut self) {
        let now = Instant::now();
        for (kind, throttle) in DataErrorKind::ALL.iter().zip(&mut self.throttles) {
            if let Some(count) = throttle.due(now)
                && *kind != DataErrorKind::ControlResponse
            {
                warn!("skipped {count} more frames ({})", kind.name());
            }
        }
    }
}

fn kind_index(kind: DataErrorKind) -> usize {
    DataErrorKind::ALL
        .iter()
        .position(|candidate| *candidate == kind)
        .unwrap_or(0)
}

/// The start of a payload, cut on a char boundary, for log lines.
pub(super) fn excerpt(payload: &str) -> String {
    if payload.len() <= PAYLOAD_EXCERPT_BYTES {
        return payload.to_owned();
    }
    let mut cut = PAYLOAD_EXCERPT_BYTES;
    while !payload.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &payload[..cut], payload.len())
}
