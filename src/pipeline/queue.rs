//! The bounded queue between a symbol's reader and its processor: [`Frame`], the
//! [`OverflowPolicy`] that decides what a full queue does, and [`FrameSender`], the reader's
//! end, which applies it and says how many frames it dropped.
//!
//! The queue is crossbeam's linked-block channel with the capacity enforced by its one
//! sender, not crossbeam's array channel: an array of 4096 slots is allocated and touched
//! up front (~200 KB per symbol, 200 MB for 1,000 quiet symbols), while blocks of 31 slots
//! come and go with what is actually queued. Memory stays bounded by `--queue`, and a quiet
//! symbol costs one block.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use tungstenite::Utf8Bytes;

use crate::control::stop::StopToken;

/// One text frame as it came off the socket. The payload is tungstenite's reference-counted
/// slice of its read buffer: moving a `Frame` through the queue copies 40 bytes, never the text.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The payload exactly as received.
    pub payload: Utf8Bytes,
    /// Local wall-clock receive time, microseconds since the Unix epoch.
    pub recv_time_us: u64,
}

/// What a full queue does with the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum OverflowPolicy {
    /// Throw away the oldest queued frame to make room: the output stays current.
    #[default]
    DropOldest,
    /// Throw away the new frame: the output keeps what was queued first.
    DropNewest,
    /// Wait for room: nothing is dropped, but the reader stops reading the socket meanwhile,
    /// so the exchange may disconnect a reader that lags too long.
    Block,
}

impl OverflowPolicy {
    /// The name users type.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::DropOldest => "drop-oldest",
            Self::DropNewest => "drop-newest",
            Self::Block => "block",
        }
    }
}

impl FromStr for OverflowPolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [Self::DropOldest, Self::DropNewest, Self::Block]
            .into_iter()
            .find(|policy| policy.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!(
                    "unknown overflow policy '{text}': expected drop-oldest, drop-newest or block"
                )
            })
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

/// How often a blocked push looks for room (and at the stop token) once it has waited a bit.
const BLOCK_POLL: Duration = Duration::from_micros(200);

/// The reader's end of a symbol's queue.
#[derive(Debug)]
pub(crate) struct FrameSender {
    sender: Sender<Frame>,
    /// Drop-oldest needs to take the head of the queue: the reader holds a receiver too.
    oldest: Receiver<Frame>,
    /// Frames the queue may hold. There is one sender, so checking the length before a
    /// send cannot overshoot: the processor only ever makes the queue shorter.
    capacity: usize,
    policy: OverflowPolicy,
}

/// Creates a queue of `capacity` frames: the reader's [`FrameSender`] and the processor's receiver.
pub(crate) fn frame_queue(
    capacity: usize,
    policy: OverflowPolicy,
) -> (FrameSender, Receiver<Frame>) {
    let (sender, receiver) = unbounded();
    let frames = FrameSender {
        sender,
        oldest: receiver.clone(),
        capacity: capacity.max(1),
        policy,
    };
    (frames, receiver)
}

impl FrameSender {
    /// How many frames the queue holds.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// What a full queue does.
    pub(crate) fn policy(&self) -> OverflowPolicy {
        self.policy
    }

    /// Frames waiting now.
    pub(crate) fn len(&self) -> usize {
        self.sender.len()
    }

    /// Queues `frame` under the overflow policy.
    pub(crate) fn push(&self, frame: Frame, stop: &StopToken) -> Pushed {
        if self.sender.len() >= self.capacity {
            match self.policy {
                OverflowPolicy::DropNewest => return Pushed::Queued { dropped: 1 },
                OverflowPolicy::DropOldest => return self.replace_oldest(frame),
                OverflowPolicy::Block => {
                    if !self.wait_for_room(stop) {
                        return Pushed::Stopped;
                    }
                }
            }
        }
        match self.sender.send(frame) {
            Ok(()) => Pushed::Queued { dropped: 0 },
            Err(_) => Pushed::Closed,
        }
    }

    /// Drop-oldest: takes the head (unless the processor just did) and queues `frame`.
    fn replace_oldest(&self, frame: Frame) -> Pushed {
        let mut dropped = 0;
        while self.sender.len() >= self.capacity {
            if self.oldest.try_recv().is_ok() {
                dropped += 1;
            }
        }
        match self.sender.send(frame) {
            Ok(()) => Pushed::Queued { dropped },
            Err(_) => Pushed::Closed,
        }
    }

    /// Block: waits until the processor makes room; `false` if the pipeline stops first.
    /// Polls, briefly yielding then sleeping: it only runs while the queue is full.
    fn wait_for_room(&self, stop: &StopToken) -> bool {
        let mut rounds = 0u32;
        while self.sender.len() >= self.capacity {
            if stop.is_triggered() {
                return false;
            }
            rounds += 1;
            if rounds < 64 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(BLOCK_POLL);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(id: u64) -> Frame {
        Frame {
            payload: Utf8Bytes::from(id.to_string()),
            recv_time_us: id,
        }
    }

    fn drain(receiver: &Receiver<Frame>) -> Vec<u64> {
        receiver.try_iter().map(|f| f.recv_time_us).collect()
    }

    #[test]
    fn drop_oldest_keeps_the_newest_frames() {
        let (sender, receiver) = frame_queue(3, OverflowPolicy::DropOldest);
        let stop = StopToken::new();
        let dropped: u64 = (1..=5)
            .map(|id| match sender.push(frame(id), &stop) {
                Pushed::Queued { dropped } => dropped,
                other => panic!("{other:?}"),
            })
            .sum();
        assert_eq!(dropped, 2);
        assert_eq!(drain(&receiver), [3, 4, 5]);
    }

    #[test]
    fn drop_newest_keeps_the_oldest_frames() {
        let (sender, receiver) = frame_queue(3, OverflowPolicy::DropNewest);
        let stop = StopToken::new();
        let results: Vec<Pushed> = (1..=5).map(|id| sender.push(frame(id), &stop)).collect();
        assert_eq!(results[4], Pushed::Queued { dropped: 1 });
        assert_eq!(drain(&receiver), [1, 2, 3]);
    }

    #[test]
    fn block_waits_for_room_and_gives_up_on_stop() {
        let (sender, receiver) = frame_queue(1, OverflowPolicy::Block);
        let stop = StopToken::new();
        assert_eq!(sender.push(frame(1), &stop), Pushed::Queued { dropped: 0 });
        let consumer = std::thread::spawn(move || {
            let first = receiver.recv().unwrap().recv_time_us;
            let second = receiver.recv().unwrap().recv_time_us;
            (first, second, receiver)
        });
        assert_eq!(sender.push(frame(2), &stop), Pushed::Queued { dropped: 0 });
        let (first, second, receiver) = consumer.join().unwrap();
        assert_eq!((first, second), (1, 2));
        assert_eq!(sender.push(frame(3), &stop), Pushed::Queued { dropped: 0 });
        stop.trigger();
        assert_eq!(sender.push(frame(4), &stop), Pushed::Stopped);
        drop(receiver);
    }

    #[test]
    fn the_readers_own_receiver_keeps_the_queue_open() {
        // A processor that exits is noticed through the pipeline's stop token, which its
        // exit always triggers, not through the queue.
        let (sender, receiver) = frame_queue(1, OverflowPolicy::DropOldest);
        drop(receiver);
        assert_eq!(
            sender.push(frame(1), &StopToken::new()),
            Pushed::Queued { dropped: 0 }
        );
    }

    #[test]
    fn policies_parse_and_name_the_accepted_values() {
        assert_eq!("DROP-NEWEST".parse(), Ok(OverflowPolicy::DropNewest));
        assert_eq!(
            "lose".parse::<OverflowPolicy>().unwrap_err(),
            "unknown overflow policy 'lose': expected drop-oldest, drop-newest or block"
        );
    }
}
