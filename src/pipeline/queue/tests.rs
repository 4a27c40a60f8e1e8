//! The queue's bounds and policies, one behaviour each.

use super::*;
use std::time::Instant;

fn frame(id: u64) -> Frame {
    sized(id, 1)
}

/// A frame whose payload is `bytes` long; its id travels in the receive time.
fn sized(id: u64, bytes: usize) -> Frame {
    Frame {
        payload: Utf8Bytes::from("x".repeat(bytes)),
        recv_time_us: id,
        connection: 1,
    }
}

fn frames(count: usize) -> QueueBounds {
    QueueBounds {
        frames: count,
        bytes: u64::MAX,
    }
}

fn drain(receiver: &mut FrameReceiver) -> Vec<u64> {
    std::iter::from_fn(|| receiver.try_recv().ok())
        .map(|f| f.recv_time_us)
        .collect()
}

#[test]
fn drop_oldest_keeps_the_newest_frames() {
    let (mut sender, mut receiver) = frame_queue(frames(3), OverflowPolicy::DropOldest);
    let stop = StopToken::new();
    let dropped: u64 = (1..=5)
        .map(|id| match sender.push(frame(id), &stop) {
            Pushed::Queued { dropped } => dropped,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(dropped, 2);
    assert_eq!(receiver.new_drops(), 2, "the processor is told");
    assert_eq!(receiver.new_drops(), 0, "once");
    assert_eq!(drain(&mut receiver), [3, 4, 5]);
}

#[test]
fn drop_newest_keeps_the_oldest_frames() {
    let (mut sender, mut receiver) = frame_queue(frames(3), OverflowPolicy::DropNewest);
    let stop = StopToken::new();
    let results: Vec<Pushed> = (1..=5).map(|id| sender.push(frame(id), &stop)).collect();
    assert_eq!(results[4], Pushed::Queued { dropped: 1 });
    assert_eq!(receiver.new_drops(), 2, "the processor is told");
    assert_eq!(drain(&mut receiver), [1, 2, 3]);
    assert_eq!(receiver.new_drops(), 0);
}

#[test]
fn the_byte_bound_holds_whatever_the_frame_count() {
    let bounds = QueueBounds {
        frames: 1000,
        bytes: 10_000,
    };
    let (mut sender, mut receiver) = frame_queue(bounds, OverflowPolicy::DropOldest);
    let stop = StopToken::new();
    let mut dropped = 0;
    for id in 1..=10 {
        if let Pushed::Queued { dropped: d } = sender.push(sized(id, 3_000), &stop) {
            dropped += d;
        }
    }
    // Three 3,000-byte frames fit in 10,000 bytes; the seven oldest made room.
    assert_eq!(dropped, 7);
    assert_eq!(drain(&mut receiver), [8, 9, 10]);
    let (mut newest, mut kept) = frame_queue(bounds, OverflowPolicy::DropNewest);
    for id in 1..=10 {
        newest.push(sized(id, 3_000), &stop);
    }
    assert_eq!(drain(&mut kept), [1, 2, 3]);
}

#[test]
fn a_frame_bigger_than_the_byte_bound_still_enters_an_empty_queue() {
    let bounds = QueueBounds {
        frames: 10,
        bytes: 100,
    };
    let (mut sender, mut receiver) = frame_queue(bounds, OverflowPolicy::DropOldest);
    let stop = StopToken::new();
    assert_eq!(
        sender.push(sized(1, 1_000), &stop),
        Pushed::Queued { dropped: 0 }
    );
    assert_eq!(
        sender.push(sized(2, 1_000), &stop),
        Pushed::Queued { dropped: 1 }
    );
    assert_eq!(drain(&mut receiver), [2]);
}

#[test]
fn block_waits_for_room_and_gives_up_on_stop() {
    let (mut sender, receiver) = frame_queue(frames(1), OverflowPolicy::Block);
    let stop = StopToken::new();
    assert_eq!(sender.push(frame(1), &stop), Pushed::Queued { dropped: 0 });
    let consumer = std::thread::spawn(move || {
        let mut receiver = receiver;
        let second = Duration::from_secs(20);
        let first = receiver.recv_timeout(second).unwrap().recv_time_us;
        let next = receiver.recv_timeout(second).unwrap().recv_time_us;
        (first, next, receiver)
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
fn a_blocked_reader_is_woken_by_the_stop_token() {
    let (mut sender, _receiver) = frame_queue(frames(1), OverflowPolicy::Block);
    let stop = StopToken::new();
    assert_eq!(sender.push(frame(1), &stop), Pushed::Queued { dropped: 0 });
    let token = stop.clone();
    let pusher = std::thread::spawn(move || sender.push(frame(2), &token));
    stop.trigger();
    assert_eq!(pusher.join().unwrap(), Pushed::Stopped);
}

#[test]
fn the_readers_own_receiver_keeps_the_queue_open() {
    // A processor that exits is noticed through the pipeline's stop token, which its
    // exit always triggers, not through the queue.
    let (mut sender, receiver) = frame_queue(frames(1), OverflowPolicy::DropOldest);
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

/// What a parked `recv_or_stop` answered (the frame's id, or `None`), and its receiver.
type Answer = Receiver<(Option<u64>, FrameReceiver)>;

/// Runs `recv_or_stop` on a thread of its own and returns once the test has seen it park.
fn parked(receiver: FrameReceiver, sender: &FrameSender, stop: &StopToken) -> Answer {
    let token = stop.clone();
    let (answer, answered) = bounded(1);
    std::thread::spawn(move || {
        let mut receiver = receiver;
        let frame = receiver.recv_or_stop(&token).map(|f| f.recv_time_us);
        let _ = answer.send((frame, receiver));
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !sender.shared.processor_parked.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the processor never parked");
        std::thread::sleep(Duration::from_millis(1));
    }
    answered
}

/// The parked thread's answer, which must come (a missed wake-up would leave it parked).
fn answer(answered: &Answer) -> (Option<u64>, FrameReceiver) {
    answered
        .recv_timeout(Duration::from_secs(20))
        .expect("the parked processor was woken")
}

#[test]
fn a_parked_processor_wakes_for_the_next_frame() {
    let (mut sender, receiver) = frame_queue(frames(4), OverflowPolicy::Block);
    let stop = StopToken::new();
    let waiting = parked(receiver, &sender, &stop);
    assert_eq!(sender.push(frame(7), &stop), Pushed::Queued { dropped: 0 });
    let (frame, _receiver) = answer(&waiting);
    assert_eq!(frame, Some(7));
}

#[test]
fn a_parked_processor_wakes_when_the_pipeline_stops() {
    let (sender, receiver) = frame_queue(frames(4), OverflowPolicy::Block);
    let stop = StopToken::new();
    let waiting = parked(receiver, &sender, &stop);
    stop.trigger();
    let (frame, receiver) = answer(&waiting);
    assert_eq!(frame, None);
    assert!(
        !receiver.is_exhausted(),
        "stopped, not at the end of its input"
    );
}

#[test]
fn a_parked_processor_wakes_when_its_reader_leaves_and_finds_the_queue_exhausted() {
    let (sender, receiver) = frame_queue(frames(4), OverflowPolicy::Block);
    let stop = StopToken::new();
    let waiting = parked(receiver, &sender, &stop);
    drop(sender);
    let (frame, receiver) = answer(&waiting);
    assert_eq!(frame, None);
    assert!(receiver.is_exhausted());
}
