//! The bounded queue between a symbol's reader and its processor: [`Frame`], the
//! [`OverflowPolicy`] that decides what a full queue does, [`FrameSender`], the reader's end,
//! which applies it and says how many frames it dropped, and [`FrameReceiver`], the
//! processor's end.
//!
//! The queue is bounded twice: in frames (`--queue`) and in payload bytes (`--queue-bytes`),
//! so a burst of huge frames cannot grow memory past the byte bound whatever the frame count.
//! A frame larger than the whole byte bound is still let into an empty queue (it could never
//! pass otherwise): a symbol's queue holds at most `--queue-bytes` plus one frame.
//!
//! It is crossbeam's linked-block channel with both bounds enforced by its one sender, not
//! crossbeam's array channel: an array of 4096 slots is allocated and touched up front
//! (~200 KB per symbol, 200 MB for 1,000 quiet symbols), while blocks of 31 slots come and go
//! with what is actually queued, so a quiet symbol costs one block.
//!
//! Byte accounting costs no locked instruction: the reader alone counts bytes in, the
//! processor alone counts bytes out (a plain store), and the reader re-reads the processor's
//! count only when its stale view says the byte bound is near. Under `--overflow block` a
//! reader facing a full queue parks until the processor frees room (or the pipeline stops):
//! it burns no CPU while the consumer is slow, and it is woken once half the queue is free
//! (or 64 KiB of payload), not per frame taken, so a source faster than its processor (a
//! replay) costs one wake-up per run of frames.
//!
//! An idle processor parks its thread ([`FrameReceiver::recv_or_stop`]) and the reader
//! unparks it when it queues a frame: crossbeam's own blocking receive spins and yields a
//! few times before it sleeps, the main cost of a thousand symbols at one message a second.
//! The reader pays a fence and a load per frame to see whether the processor is parked.
//!
//! Overflow drops are told to the processor the same way: the reader alone writes the total
//! it dropped, only when it drops, and the processor reads it per frame (a plain load of a
//! line it already reads, which the reader rarely writes), so it can mark where frames went
//! missing in the output.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded, select, unbounded};
use tungstenite::Utf8Bytes;

use crate::control::stop::StopToken;
pub(crate) use policy::OverflowPolicy;
pub(crate) use receiver::{FrameReceiver, QueueHandle, Waited};

mod policy;
mod receiver;

/// One text frame as it came off the socket. The payload is tungstenite's reference-counted
/// slice of its read buffer: moving a `Frame` through the queue copies 48 bytes, never the text.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The payload exactly as received.
    pub(crate) payload: Utf8Bytes,
    /// Local wall-clock receive time, microseconds since the Unix epoch.
    pub(crate) recv_time_us: u64,
    /// The symbol's connection it arrived on, from 1: a new connection is evidence for a
    /// restarted sequence, and recordings keep it.
    pub(crate) connection: u32,
}

impl Frame {
    /// The bytes the frame holds in memory, for the byte bound.
    fn bytes(&self) -> u64 {
        self.payload.len() as u64
    }
}

/// What became of a pushed frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued, after dropping this many frames (0 when there was room).
    Queued {
        /// Frames dropped to make room (drop-oldest) or the new frame itself (drop-newest).
        dropped: u64,
    },
    /// The stop token fired while waiting for room (block policy); the frame was not queued.
    Stopped,
    /// The processor is gone; nothing can be queued any more.
    Closed,
}

/// How long a parked reader waits before looking again on its own, in case a wake-up was
/// missed: a safety net, not a poll (the processor wakes it as soon as it takes a frame).
const PARK_TIMEOUT: Duration = Duration::from_millis(100);

/// The processor publishes bytes taken at least this often (in bytes): a stale count only
/// makes the reader think the queue fuller than it is, by at most this much.
const POPPED_PUBLISH_BYTES: u64 = 64 * 1024;

/// The queue's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct QueueBounds {
    /// Frames the queue may hold (`--queue`).
    pub(crate) frames: usize,
    /// Payload bytes the queue may hold (`--queue-bytes`).
    pub(crate) bytes: u64,
}

/// What both ends share.
#[derive(Debug)]
struct Shared {
    /// Payload bytes the processor has taken, published by it alone.
    popped_bytes: AtomicU64,
    /// The reader is parked waiting for room (block policy).
    reader_parked: AtomicBool,
    /// Frames the reader has dropped to overflow, in all; written by it alone, only when it
    /// drops.
    dropped_frames: AtomicU64,
    /// A wake-up for the parked reader.
    room: Sender<()>,
    /// The processor is parked waiting for a frame.
    processor_parked: AtomicBool,
    /// The thread that parks in [`FrameReceiver::recv_or_stop`].
    processor: Mutex<Option<Thread>>,
    /// The reader's end is gone: every frame it queued is in the queue.
    reader_gone: AtomicBool,
}

impl Shared {
    /// Unparks the processor if it is parked (or about to park) waiting for a frame.
    /// Callers make their frame (or their leaving) visible first, with a `SeqCst` fence
    /// between that and this load, mirroring the processor's flag store and look again.
    fn wake_processor(&self) {
        if self.processor_parked.load(Ordering::Relaxed)
            && self.processor_parked.swap(false, Ordering::SeqCst)
        {
            let processor = self
                .processor
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(thread) = processor.as_ref() {
                thread.unpark();
            }
        }
    }
}

/// The reader's end of a symbol's queue.
#[derive(Debug)]
pub(crate) struct FrameSender {
    sender: Sender<Frame>,
    /// Drop-oldest needs to take the head of the queue: the reader holds a receiver too.
    oldest: Receiver<Frame>,
    shared: Arc<Shared>,
    room: Receiver<()>,
    /// There is one sender, so checking the bounds before a send cannot overshoot: the
    /// processor only ever makes the queue shorter.
    bounds: QueueBounds,
    policy: OverflowPolicy,
    /// Bytes pushed, and bytes the reader itself dropped from the head (drop-oldest).
    pushed_bytes: u64,
    dropped_bytes: u64,
    /// The processor's `popped_bytes` when last read.
    popped_seen: u64,
    /// Frames dropped to overflow, in all (published to `shared` as it changes).
    dropped_frames: u64,
}

/// Creates a queue with `bounds`: the reader's [`FrameSender`] and the processor's
/// [`FrameReceiver`].
pub(crate) fn frame_queue(
    bounds: QueueBounds,
    policy: OverflowPolicy,
) -> (FrameSender, FrameReceiver) {
    let (sender, receiver) = unbounded();
    let (room, woken) = bounded(1);
    let shared = Arc::new(Shared {
        popped_bytes: AtomicU64::new(0),
        reader_parked: AtomicBool::new(false),
        dropped_frames: AtomicU64::new(0),
        room,
        processor_parked: AtomicBool::new(false),
        processor: Mutex::new(None),
        reader_gone: AtomicBool::new(false),
    });
    let frames = FrameSender {
        sender,
        oldest: receiver.clone(),
        shared: Arc::clone(&shared),
        room: woken,
        bounds: QueueBounds {
            frames: bounds.frames.max(1),
            bytes: bounds.bytes.max(1),
        },
        policy,
        pushed_bytes: 0,
        dropped_bytes: 0,
        popped_seen: 0,
        dropped_frames: 0,
    };
    let receiver = FrameReceiver::new(receiver, shared, bounds.frames.max(1));
    (frames, receiver)
}

impl FrameSender {
    /// The queue's bounds.
    pub(crate) fn bounds(&self) -> QueueBounds {
        self.bounds
    }

    /// What a full queue does.
    pub(crate) fn policy(&self) -> OverflowPolicy {
        self.policy
    }

    /// Frames waiting now.
    pub(crate) fn len(&self) -> usize {
        self.sender.len()
    }

    /// Payload bytes waiting, as far as the reader knows: never less than the truth.
    fn queued_bytes(&self) -> u64 {
        self.pushed_bytes
            .saturating_sub(self.dropped_bytes)
            .saturating_sub(self.popped_seen)
    }

    /// Whether `incoming` more bytes fit: always into an empty queue, else within the
    /// frame and byte bounds. Re-reads the processor's count only when the stale view says
    /// no, so a queue far from its byte bound costs no read of the processor's cache line.
    fn has_room(&mut self, incoming: u64) -> bool {
        if self.sender.len() >= self.bounds.frames {
            return false;
        }
        if self.queued_bytes() + incoming <= self.bounds.bytes {
            return true;
        }
        self.popped_seen = self.shared.popped_bytes.load(Ordering::Acquire);
        self.sender.is_empty() || self.queued_bytes() + incoming <= self.bounds.bytes
    }

    /// Queues `frame` under the overflow policy.
    pub(crate) fn push(&mut self, frame: Frame, stop: &StopToken) -> Pushed {
        let incoming = frame.bytes();
        let mut dropped = 0;
        if !self.has_room(incoming) {
            match self.policy {
                OverflowPolicy::DropNewest => {
                    self.publish_drops(1);
                    return Pushed::Queued { dropped: 1 };
                }
                OverflowPolicy::DropOldest => {
                    dropped = self.make_room(incoming);
                    self.publish_drops(dropped);
                }
                OverflowPolicy::Block => {
                    if !self.wait_for_room(incoming, stop) {
                        return Pushed::Stopped;
                    }
                }
            }
        }
        match self.sender.send(frame) {
            Ok(()) => {
                self.pushed_bytes += incoming;
                fence(Ordering::SeqCst);
                self.shared.wake_processor();
                Pushed::Queued { dropped }
            }
            Err(_) => Pushed::Closed,
        }
    }

    /// Adds `dropped` to the total the processor reads: a plain store, by the only writer.
    fn publish_drops(&mut self, dropped: u64) {
        if dropped > 0 {
            self.dropped_frames += dropped;
            self.shared
                .dropped_frames
                .store(self.dropped_frames, Ordering::Release);
        }
    }

    /// Drop-oldest: takes frames from the head (unless the processor just did) until
    /// `incoming` fits; returns how many it dropped.
    fn make_room(&mut self, incoming: u64) -> u64 {
        let mut dropped = 0;
        while !self.has_room(incoming) {
            if let Ok(oldest) = self.oldest.try_recv() {
                self.dropped_bytes += oldest.bytes();
                dropped += 1;
            }
        }
        dropped
    }

    /// Block: parks until the processor makes room for `incoming`; `false` if the pipeline
    /// stops first.
    fn wait_for_room(&mut self, incoming: u64, stop: &StopToken) -> bool {
        loop {
            if stop.is_triggered() {
                return false;
            }
            // Announce the wait, then look again: a frame taken in between either is seen
            // by this look or sees the announcement and wakes us (both sides SeqCst).
            self.shared.reader_parked.store(true, Ordering::SeqCst);
            if self.has_room(incoming) {
                self.shared.reader_parked.store(false, Ordering::SeqCst);
                return true;
            }
            select! {
                recv(self.room) -> _ => {}
                recv(stop.wake_channel()) -> _ => {}
                default(PARK_TIMEOUT) => {}
            }
            self.shared.reader_parked.store(false, Ordering::SeqCst);
            if self.has_room(incoming) {
                return true;
            }
        }
    }
}

impl Drop for FrameSender {
    /// Wakes a parked processor: the queue holds all there will be.
    fn drop(&mut self) {
        self.shared.reader_gone.store(true, Ordering::SeqCst);
        self.shared.wake_processor();
    }
}

#[cfg(test)]
mod tests;
