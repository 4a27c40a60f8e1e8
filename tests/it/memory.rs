//! Memory bounded in bytes, not only in frames: huge frames behind a slow handler fill the
//! symbol's `--queue-bytes`, and the overflow policy applies from there (counted, reported),
//! whatever `--queue` says. The bound's real-world figures (RSS) are the benchmark's job.

use binance_mock::{Faults, MockConfig, MockEvent, Rate};

use crate::support::{Exchange, Listener, PATIENCE, assert_summary_adds_up, summary_count};

/// 900 KB frames, as in the issue that found the hole: with a 4096-frame queue and no byte
/// bound they took gigabytes.
const FRAME_BYTES: usize = 900_000;

#[test]
fn huge_frames_fill_the_byte_bound_not_the_frame_bound() {
    let frames = 12;
    let faults = Faults {
        huge_frames: Some(FRAME_BYTES),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(frames)
            .faults(faults),
    );
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--queue-bytes",
        "2MiB",
        "--delay",
        "10s",
        "--stats=100ms",
        "--stats-format",
        "json",
        "ETHUSDT",
    ]);
    exchange.expect_event("every frame sent", |event| {
        matches!(event, MockEvent::AllSent { .. })
    });
    // While the first frame's 10 s delay runs, the burst meets a 2 MiB queue: at most two
    // more frames fit, the rest are dropped (drop-oldest) and reported.
    let report = listener.expect_stderr("queue full");
    assert!(report.contains("4096 frames or 2097152 bytes"), "{report}");
    listener.expect_stderr(&format!(r#""received":{frames},"#));
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    let dropped = summary_count(&stderr, "ETHUSDT", "dropped");
    assert!(
        dropped >= frames - 3,
        "one frame in hand and two 900 KB frames in a 2 MiB queue, the rest dropped: {stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}

#[test]
fn block_waits_for_bytes_to_drain_and_loses_nothing() {
    let frames = 6;
    let faults = Faults {
        huge_frames: Some(FRAME_BYTES),
        ..Faults::default()
    };
    let exchange = Exchange::start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(frames)
            .faults(faults),
    );
    let mut listener = Listener::start(&[
        "--endpoint",
        &exchange.url(),
        "--queue-bytes",
        "1MiB",
        "--overflow",
        "block",
        "--format",
        "raw",
        "--max-messages",
        &frames.to_string(),
        "ETHUSDT",
    ]);
    let lines = listener.expect_lines(frames as usize);
    assert!(lines.iter().all(|line| line.len() > FRAME_BYTES / 2));
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert_eq!(summary_count(&stderr, "ETHUSDT", "dropped"), 0, "{stderr}");
    assert_eq!(
        summary_count(&stderr, "ETHUSDT", "written"),
        frames,
        "{stderr}"
    );
    assert_summary_adds_up(&stderr, "ETHUSDT");
}
