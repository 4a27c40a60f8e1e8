//! The processor's end of a symbol's queue ([`FrameReceiver`]) and `app`'s view of it
//! ([`QueueHandle`]).

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

#[cfg(test)]
use crossbeam_channel::RecvTimeoutError;
use crossbeam_channel::{Receiver, TryRecvError, select};

use super::{Frame, POPPED_PUBLISH_BYTES, Shared};
use crate::control::stop::{StopToken, Unparker};

/// How long a busy processor spins for the next frame before parking
/// ([`FrameReceiver::spin_for_frame`]).
const SPIN_FOR_FRAME: Duration = Duration::from_micros(5);

/// Looks at the queue between clock reads while spinning.
const SPINS_PER_CLOCK_READ: u32 = 16;

/// What [`FrameReceiver::recv_or_other`] waited for.
#[derive(Debug)]
pub(crate) enum Waited<T> {
    /// A frame.
    Frame(Frame),
    /// An item of the other channel.
    Other(T),
    /// The deadline passed.
    Deadline,
    /// The pipeline is stopping or the queue closed.
    Stopped,
}

/// The processor's end of a symbol's queue.
#[derive(Debug)]
pub(crate) struct FrameReceiver {
    receiver: Receiver<Frame>,
    shared: Arc<Shared>,
    /// Bytes taken; published to `shared` in steps of [`POPPED_PUBLISH_BYTES`] or when idle.
    popped_bytes: u64,
    published: u64,
    /// The reader's `dropped_frames` when last read.
    dropped_seen: u64,
    /// The reader is gone and every frame it queued was taken.
    exhausted: bool,
    /// A reader parked for room is woken once the queue is down to this many frames (half
    /// its bound): it then queues a run of frames at once instead of one per wake-up.
    wake_at_len: usize,
    /// The thread registered to be unparked by the reader and the stop token.
    parker: Option<Parker>,
}

/// A processor thread registered for wake-ups: by the reader through `Shared::processor`,
/// by the stop token through its [`Unparker`].
#[derive(Debug)]
struct Parker {
    thread: ThreadId,
    _on_stop: Unparker,
}

impl FrameReceiver {
    /// The processor's end of a queue bounded to `frames`.
    pub(super) fn new(receiver: Receiver<Frame>, shared: Arc<Shared>, frames: usize) -> Self {
        Self {
            receiver,
            shared,
            popped_bytes: 0,
            published: 0,
            dropped_seen: 0,
            exhausted: false,
            wake_at_len: frames / 2,
            parker: None,
        }
    }

    /// The next frame if one is waiting.
    pub(crate) fn try_recv(&mut self) -> Result<Frame, TryRecvError> {
        let frame = self.receiver.try_recv().inspect_err(|error| {
            self.exhausted |= *error == TryRecvError::Disconnected;
        })?;
        self.taken(&frame);
        Ok(frame)
    }

    /// The next frame, waiting until one arrives, `stop` fires (`None`) or the queue closes.
    /// Waits by parking the thread, woken by the reader's next frame or the stop token.
    pub(crate) fn recv_or_stop(&mut self, stop: &StopToken) -> Option<Frame> {
        self.publish();
        loop {
            match self.try_recv() {
                Ok(frame) => return Some(frame),
                Err(TryRecvError::Disconnected) => return None,
                Err(TryRecvError::Empty) => {}
            }
            if stop.is_triggered() {
                return None;
            }
            if self.shared.reader_gone.load(Ordering::SeqCst) {
                // Everything the reader queued was queued before it left.
                return match self.try_recv() {
                    Ok(frame) => Some(frame),
                    Err(_) => {
                        self.exhausted = true;
                        None
                    }
                };
            }
            self.park(stop);
        }
    }

    /// Spins for a few microseconds, without yielding or any syscall, until a frame is
    /// queued; whether one was. A busy processor that found the queue empty asks this
    /// before parking: its reader is mid-read, the next frames are microseconds away, and
    /// parking would cost both threads a futex call and a context switch for each run of
    /// frames.
    pub(crate) fn spin_for_frame(&self) -> bool {
        let deadline = Instant::now() + SPIN_FOR_FRAME;
        loop {
            for _ in 0..SPINS_PER_CLOCK_READ {
                if !self.receiver.is_empty() {
                    return true;
                }
                std::hint::spin_loop();
            }
            if Instant::now() >= deadline {
                return false;
            }
        }
    }

    /// Parks until the reader queues a frame or leaves, or `stop` fires; may return early.
    fn park(&mut self, stop: &StopToken) {
        let current = std::thread::current();
        if self.parker.as_ref().map(|parker| parker.thread) != Some(current.id()) {
            *self
                .shared
                .processor
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(current.clone());
            self.parker = Some(Parker {
                thread: current.id(),
                _on_stop: stop.unpark_on_trigger(current),
            });
        }
        // Announce the wait, then look again: a frame queued in between is either seen by
        // this look or its reader sees the announcement and unparks us (both `SeqCst`).
        self.shared.processor_parked.store(true, Ordering::SeqCst);
        if self.receiver.is_empty()
            && !self.shared.reader_gone.load(Ordering::SeqCst)
            && !stop.is_triggered()
        {
            std::thread::park();
        }
        self.shared.processor_parked.store(false, Ordering::Relaxed);
    }

    /// Whether the reader is gone and its last frame taken: a replay's source reached the
    /// end of its files (a live reader leaves only when the pipeline stops or fails).
    pub(crate) fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// The next frame, or an item of `other` (a book's snapshot replies), or `deadline`
    /// passing, whichever comes first; [`Waited::Stopped`] when `stop` fires or the queue
    /// closes. Only book processors wait this way.
    pub(crate) fn recv_or_other<T>(
        &mut self,
        stop: &StopToken,
        other: &Receiver<T>,
        deadline: Option<Instant>,
    ) -> Waited<T> {
        self.publish();
        let timeout = deadline.map_or_else(crossbeam_channel::never, crossbeam_channel::at);
        select! {
            recv(self.receiver) -> frame => match frame {
                Ok(frame) => {
                    self.taken(&frame);
                    Waited::Frame(frame)
                }
                Err(_) => Waited::Stopped,
            },
            recv(other) -> item => item.map_or(Waited::Stopped, Waited::Other),
            recv(stop.wake_channel()) -> _ => Waited::Stopped,
            recv(timeout) -> _ => Waited::Deadline,
        }
    }

    /// Frames the reader dropped to overflow since the last call: a load of a line the
    /// reader writes only when it drops, so cheap enough to ask per frame.
    #[inline]
    pub(crate) fn new_drops(&mut self) -> u64 {
        let total = self.shared.dropped_frames.load(Ordering::Acquire);
        let new = total.wrapping_sub(self.dropped_seen);
        self.dropped_seen = total;
        new
    }

    /// The next frame within `timeout`, for tests.
    #[cfg(test)]
    pub(crate) fn recv_timeout(&mut self, timeout: Duration) -> Result<Frame, RecvTimeoutError> {
        let frame = self.receiver.recv_timeout(timeout)?;
        self.taken(&frame);
        Ok(frame)
    }

    /// A handle on the queue for `app`: its depth (for `--stats`), and what is left in it
    /// once the pipeline's threads have ended.
    pub(crate) fn handle(&self) -> QueueHandle {
        QueueHandle {
            receiver: self.receiver.clone(),
        }
    }

    /// Counts `frame` out of the byte bound and wakes a parked reader.
    fn taken(&mut self, frame: &Frame) {
        self.popped_bytes += frame.bytes();
        if self.popped_bytes - self.published >= POPPED_PUBLISH_BYTES
            || (self.shared.reader_parked.load(Ordering::SeqCst)
                && self.receiver.len() <= self.wake_at_len)
        {
            self.publish();
        }
    }

    /// Publishes the bytes taken and wakes the reader if it is parked for room.
    fn publish(&mut self) {
        if self.published != self.popped_bytes {
            self.published = self.popped_bytes;
            self.shared
                .popped_bytes
                .store(self.popped_bytes, Ordering::Release);
        }
        if self.shared.reader_parked.swap(false, Ordering::SeqCst) {
            let _ = self.shared.room.try_send(());
        }
    }
}

/// `app`'s view of a symbol's queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueHandle {
    receiver: Receiver<Frame>,
}

impl QueueHandle {
    /// Frames waiting now.
    pub(crate) fn len(&self) -> usize {
        self.receiver.len()
    }

    /// Throws away every frame still queued; returns how many. Only once the reader and
    /// processor are gone: nothing else may take frames then.
    pub(crate) fn drain(&self) -> u64 {
        self.receiver.try_iter().map(|_| 1).sum()
    }
}
