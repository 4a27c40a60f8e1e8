//! Recording (`--record DIR`): every frame a symbol's reader queues is also kept on disk,
//! exactly as received, with its receive time and connection number, per stream, in
//! zstd-compressed files rotated by UTC hour or day ([`layout`], [`format`]).
//!
//! The reader hands each frame to a [`RecordTap`] right before queueing it, so frames the
//! queue then drops to overflow are recorded all the same. The tap costs the reader a
//! reference-count increment and a non-blocking send into the recorder thread's own bounded
//! buffer (`rec-<SYMBOL>`, [`writer`]); a recorder that cannot keep up never slows the
//! reader: the frame is dropped from the recording and counted, and its number is missing
//! from the file, where `replay --check` finds it. Without `--record` the reader holds no
//! tap and pays one branch per frame.

pub(crate) mod format;
pub(crate) mod layout;
mod writer;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::stats::SymbolStats;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use crossbeam_channel::{Sender, TrySendError, unbounded};
use tungstenite::Utf8Bytes;

use binance_streams::{Market, StreamKind, Symbol};
pub(crate) use layout::Rotate;

/// Frames waiting for the recorder, at most (per symbol): a few seconds of a busy stream.
const TAP_FRAMES: usize = 16_384;

/// Payload bytes waiting for the recorder, at most (per symbol), whatever the frame count.
const TAP_BYTES: u64 = 32 << 20;

/// Where and how to record (`--record`, `--rotate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordSettings {
    /// The recording's root directory.
    pub(crate) dir: PathBuf,
    /// When files rotate.
    pub(crate) rotate: Rotate,
}

/// One frame on its way to the recorder.
struct Tapped {
    payload: Utf8Bytes,
    recv_time_us: u64,
    connection: u32,
    number: u64,
}

/// The reader's end of its recorder: offers every frame, never waits.
#[derive(Debug)]
pub(crate) struct RecordTap {
    sender: Option<Sender<Tapped>>,
    /// Frames offered so far: the next frame's number is this plus one.
    offered: u64,
    counters: Arc<TapCounters>,
    /// Where the count of frames offered goes when the reader is done (the summary's
    /// "missed" is what was offered and not recorded).
    stats: Option<Arc<SymbolStats>>,
}

impl Drop for RecordTap {
    fn drop(&mut self) {
        if let Some(record) = self.stats.as_ref().and_then(|stats| stats.record.as_ref()) {
            record.offered.set(self.offered);
        }
    }
}

impl std::fmt::Debug for Tapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tapped")
            .field("number", &self.number)
            .finish()
    }
}

/// What the tap and the recorder share.
#[derive(Debug, Default)]
struct TapCounters {
    /// Payload bytes offered and not yet taken by the recorder.
    waiting_bytes: AtomicU64,
    /// Frames the recorder could not take (it was behind, or it had stopped).
    dropped: AtomicU64,
}

impl RecordTap {
    /// Offers a frame to the recorder: queued, or counted dropped when the recorder is
    /// behind. Once the recorder has stopped (a disk error, reported by it), nothing more
    /// is offered.
    #[inline]
    pub(crate) fn offer(&mut self, payload: &Utf8Bytes, recv_time_us: u64, connection: u32) {
        self.offered += 1;
        let Some(sender) = &self.sender else {
            return;
        };
        let bytes = payload.len() as u64;
        let waiting = self.counters.waiting_bytes.load(Ordering::Relaxed);
        if sender.len() >= TAP_FRAMES || (waiting + bytes > TAP_BYTES && waiting > 0) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let tapped = Tapped {
            payload: payload.clone(),
            recv_time_us,
            connection,
            number: self.offered,
        };
        match sender.try_send(tapped) {
            Ok(()) => {
                self.counters
                    .waiting_bytes
                    .fetch_add(bytes, Ordering::Relaxed);
            }
            // Unbounded: never full (the bounds are checked above).
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.sender = None,
        }
    }
}

/// What a recorder needs to know of its symbol.
pub(crate) struct Recording<'a> {
    /// Where and how.
    pub(crate) settings: &'a RecordSettings,
    /// The market, first folder under the root.
    pub(crate) market: Market,
    /// The symbol recorded.
    pub(crate) symbol: &'a Symbol,
    /// The connection's kinds.
    pub(crate) kinds: &'a [StreamKind],
    /// The run's start, µs since the Unix epoch: the same for every symbol of a run.
    pub(crate) run: u64,
    /// The symbol's counters: what was recorded and missed, for the exit summary.
    pub(crate) stats: Arc<SymbolStats>,
}

/// Starts `symbol`'s recorder thread; returns the tap for its reader. The thread ends once
/// the tap is dropped and everything it took is written.
///
/// # Errors
/// The OS refused to create the thread.
pub(crate) fn spawn_recorder(recording: &Recording<'_>) -> io::Result<(RecordTap, JoinHandle<()>)> {
    // A linked channel bounded by the tap, not crossbeam's array channel: that one
    // allocates and touches every slot up front (~800 KB per symbol at 16,384 frames),
    // while blocks of 31 slots come and go with what is actually waiting.
    let (sender, receiver) = unbounded();
    let counters = Arc::new(TapCounters::default());
    let thread = writer::spawn(recording, receiver, Arc::clone(&counters))?;
    Ok((
        RecordTap {
            sender: Some(sender),
            offered: 0,
            counters,
            stats: Some(Arc::clone(&recording.stats)),
        },
        thread,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tap whose recorder never takes anything, and its receiver.
    fn stalled_tap() -> (RecordTap, crossbeam_channel::Receiver<Tapped>) {
        let (sender, receiver) = unbounded();
        let tap = RecordTap {
            sender: Some(sender),
            offered: 0,
            counters: Arc::new(TapCounters::default()),
            stats: None,
        };
        (tap, receiver)
    }

    #[test]
    fn a_recorder_that_falls_behind_loses_frames_counted_and_numbered() {
        let (mut tap, receiver) = stalled_tap();
        let frame = Utf8Bytes::from_static(r#"{"e":"trade"}"#);
        for _ in 0..TAP_FRAMES + 2 {
            tap.offer(&frame, 1, 1);
        }
        assert_eq!(receiver.len(), TAP_FRAMES);
        assert_eq!(tap.counters.dropped.load(Ordering::Relaxed), 2);
        // Numbers count every frame offered: the dropped ones leave a hole.
        let numbers: Vec<u64> = receiver.try_iter().map(|tapped| tapped.number).collect();
        assert_eq!(numbers.first(), Some(&1));
        assert_eq!(numbers.last(), Some(&(TAP_FRAMES as u64)));
        tap.offer(&frame, 1, 1);
        assert_eq!(
            receiver.try_recv().map(|t| t.number).ok(),
            Some(TAP_FRAMES as u64 + 3)
        );
    }

    #[test]
    fn the_byte_bound_holds_whatever_the_frame_count() {
        let (mut tap, receiver) = stalled_tap();
        let big = Utf8Bytes::from("x".repeat(1 << 20));
        for _ in 0..40 {
            tap.offer(&big, 1, 1);
        }
        assert_eq!(receiver.len() as u64, TAP_BYTES >> 20);
        assert_eq!(
            tap.counters.dropped.load(Ordering::Relaxed),
            40 - (TAP_BYTES >> 20)
        );
    }

    #[test]
    fn a_stopped_recorder_is_offered_nothing_more() {
        let (mut tap, receiver) = stalled_tap();
        drop(receiver);
        let frame = Utf8Bytes::from_static("{}");
        tap.offer(&frame, 1, 1);
        assert!(tap.sender.is_none());
    }
}
