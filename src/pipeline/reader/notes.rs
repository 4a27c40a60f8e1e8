//! What the reader counts and reports besides data: frames it skips at the socket, the
//! exchange's shutdown notices, and overflow drops (first at once, then a count every
//! [`REPORT_INTERVAL`]). All rare, and kept out of the hot read loop's stack frame.

use std::time::Instant;

use tracing::{info, warn};

use super::link::{self, Link, Received};
use super::{REPORT_INTERVAL, Reader, Session};

impl Reader {
    /// Counts and reports a frame that is not data; returns a reason when the connection
    /// cannot continue.
    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn note_bad_frame(
        &self,
        received: &Received,
        session: &mut Session,
    ) -> Option<String> {
        let (index, what, fatal) = match received {
            Received::Binary(bytes) => {
                (0, format!("skipped a binary frame of {bytes} bytes"), false)
            }
            Received::Control { flood: true } => (
                1,
                format!(
                    "skipped a control-frame flood (over {} pings/pongs a second)",
                    link::CONTROL_FLOOD_PER_SECOND
                ),
                false,
            ),
            Received::Unreadable(detail) => (2, detail.clone(), true),
            _ => return None,
        };
        let counters = &self.stats.reader;
        counters.received.add(1);
        counters.skipped.add(1);
        if let Some(count) = session.bad_frames[index].record(1, Instant::now()) {
            if count == 1 {
                warn!("bad frame: {what}");
            } else {
                warn!(
                    "skipped {count} bad frames in the last {}s; latest: {what}",
                    REPORT_INTERVAL.as_secs()
                );
            }
        }
        fatal.then_some(what)
    }

    /// Counts the exchange's shutdown notice (received, and skipped: it is acted on, not
    /// written) and says so.
    #[cold]
    #[inline(never)]
    pub(super) fn note_server_shutdown(&self, link: &Link) {
        let counters = &self.stats.reader;
        counters.received.add(1);
        counters.skipped.add(1);
        info!(
            "the server announced a shutdown of connection #{}",
            link.number
        );
    }

    /// Counts frames the overflow policy dropped and reports them (throttled).
    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn note_drops(&self, dropped: u64, session: &mut Session) {
        let depth = session.frames.len() as u64;
        self.stats.reader.queue_high_water.raise_to(depth);
        self.stats.reader.dropped.add(dropped);
        if let Some(count) = session.drops.record(dropped, Instant::now()) {
            self.report_drops(count, session);
        }
    }

    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn report_drops(&self, count: u64, session: &Session) {
        let bounds = session.frames.bounds();
        warn!(
            "queue full ({} frames or {} bytes), dropped {count} frame(s) ({})",
            bounds.frames,
            bounds.bytes,
            session.frames.policy()
        );
    }
}
