//! The processor loop against an in-memory output: counts, batches, stops.

use super::reports::excerpt;
use super::*;
use crate::output::batch::LineOutput;
use crate::pipeline::queue::{OverflowPolicy, Pushed, QueueBounds, frame_queue};
use crossbeam_channel::unbounded;
use std::sync::Mutex;

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<u8>>>);

impl LineOutput for Recorder {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        self.0.lock().unwrap().extend_from_slice(batch);
        (Delivered::all(lines), Ok(()))
    }

    fn describe(&self) -> String {
        "recorder".to_owned()
    }
}

fn trade(id: u64) -> String {
    format!(
        r#"{{"e":"trade","E":1,"s":"ETHUSDT","t":{id},"p":"1.5","q":"2","T":1,"m":false,"M":true}}"#
    )
}

#[test]
fn writes_good_frames_skips_bad_ones_and_stops_at_max_messages() {
    let bounds = QueueBounds {
        frames: 16,
        bytes: 1 << 20,
    };
    let (mut frames, receiver) = frame_queue(bounds, OverflowPolicy::Block);
    let (events, app) = unbounded();
    let recorder = Recorder::default();
    let stats = Arc::new(SymbolStats::default());
    let stop = StopToken::new();
    let symbol: Symbol = "ethusdt".parse().unwrap();
    let processor = Processor {
        decoder: Decoder::new(&symbol, &[binance_streams::StreamKind::Trade]),
        symbol,
        format: OutputFormat::Json,
        delay: Duration::ZERO,
        max_messages: Some(3),
        gap_markers: false,
        frames: receiver,
        stop: stop.clone(),
        stats: Arc::clone(&stats),
        sink: LineSink::new(Box::new(recorder.clone())),
        events,
        book: None,
    };
    for payload in [trade(1), "garbage".to_owned(), trade(2), trade(3), trade(4)] {
        let frame = Frame {
            payload: payload.into(),
            recv_time_us: 7,
            connection: 1,
        };
        assert_eq!(frames.push(frame, &stop), Pushed::Queued { dropped: 0 });
    }
    spawn_processor(processor).unwrap().join().unwrap();
    let output = String::from_utf8(recorder.0.lock().unwrap().clone()).unwrap();
    let ids: Vec<&str> = output
        .lines()
        .map(|line| {
            line.split("\"trade_id\":")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    assert_eq!(stats.processor.written.get(), 3);
    assert_eq!(stats.processor.skipped.get(), 1);
    assert!(matches!(app.try_recv(), Ok(AppEvent::PipelineDone(_))));
    assert!(stop.is_triggered(), "the reader must be told to stop");
}

#[test]
fn excerpts_cut_on_char_boundaries() {
    let long = "é".repeat(100);
    let cut = excerpt(&long);
    assert!(cut.ends_with("… (200 bytes)"));
    assert_eq!(excerpt("short"), "short");
}

/// An output that confirms nothing until it closes, then says the last line was lost: a
/// handler that died with one line unread in its pipe.
#[derive(Clone, Default)]
struct Holding(Arc<Mutex<(Vec<u8>, u64)>>);

impl LineOutput for Holding {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        let mut held = self.0.lock().unwrap();
        held.0.extend_from_slice(batch);
        held.1 += lines;
        (Delivered::default(), Ok(()))
    }

    fn describe(&self) -> String {
        "holding".to_owned()
    }

    fn close(&mut self) -> Delivered {
        let lines = self.0.lock().unwrap().1;
        Delivered {
            written: lines - 1,
            lost: 1,
        }
    }
}

/// Runs a processor over trades with `ids`, queued before it starts in a drop-oldest queue
/// of `capacity` frames (so the first ones may be dropped), until the queue is empty and
/// closed. Returns the counters; the lines are in `output`.
fn run_trades(
    ids: &[u64],
    capacity: usize,
    max_messages: Option<u64>,
    output: Box<dyn LineOutput>,
) -> Arc<SymbolStats> {
    let bounds = QueueBounds {
        frames: capacity,
        bytes: 1 << 20,
    };
    let (mut frames, receiver) = frame_queue(bounds, OverflowPolicy::DropOldest);
    let stop = StopToken::new();
    for &id in ids {
        let frame = Frame {
            payload: trade(id).into(),
            recv_time_us: 1_732_500_000_000_000 + id,
            connection: 1,
        };
        assert!(matches!(frames.push(frame, &stop), Pushed::Queued { .. }));
    }
    drop(frames);
    let (events, _app) = unbounded();
    let stats = Arc::new(SymbolStats::default());
    let symbol: Symbol = "ethusdt".parse().unwrap();
    let processor = Processor {
        decoder: Decoder::new(&symbol, &[binance_streams::StreamKind::Trade]),
        symbol,
        format: OutputFormat::Json,
        delay: Duration::ZERO,
        max_messages,
        gap_markers: true,
        frames: receiver,
        stop,
        stats: Arc::clone(&stats),
        sink: LineSink::new(output),
        events,
        book: None,
    };
    spawn_processor(processor).unwrap().join().unwrap();
    stats
}

/// Each line as `reason` (markers) or the trade id.
fn shown(output: &[u8]) -> Vec<String> {
    String::from_utf8(output.to_vec())
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            match value.get("event") {
                Some(_) => {
                    assert!(
                        line.starts_with(
                            r#"{"event":"gap","symbol":"ETHUSDT","stream":"trade","reason":"#
                        ),
                        "{line}"
                    );
                    value["reason"].as_str().unwrap().to_owned()
                }
                None => value["trade_id"].to_string(),
            }
        })
        .collect()
}

#[test]
fn markers_sit_where_the_holes_are_and_are_not_counted_as_written() {
    let recorder = Recorder::default();
    // A queue of 7: trades 1 and 2 are dropped. Then 900000 is a stray, and 10 skips 8..9.
    let ids = [1, 2, 3, 4, 900_000, 5, 6, 7, 10];
    let stats = run_trades(&ids, 7, None, Box::new(recorder.clone()));
    let output = recorder.0.lock().unwrap().clone();
    assert_eq!(
        shown(&output),
        [
            "overflow", "3", "4", "missing", "900000", "restart", "5", "6", "7", "missing", "10"
        ]
    );
    let text = String::from_utf8(output).unwrap();
    assert!(
        text.contains(r#""reason":"overflow","dropped":2,"#),
        "{text}"
    );
    assert!(text.contains(r#""reason":"restart","previous":900000,"resumed_at":5,"#));
    assert!(text.contains(r#""first_missing":8,"last_missing":9,"missing":2,"#));
    let counters = &stats.processor;
    assert_eq!(counters.written.get(), 7, "frames only");
    assert_eq!(counters.gaps.get(), 2);
    assert_eq!(counters.duplicates.get() + counters.discarded.get(), 0);
}

#[test]
fn marker_lines_leave_the_settled_counts_in_order() {
    let holding = Holding::default();
    // Lines: 1, missing, 5, 6; the output confirms three and loses the last one.
    let stats = run_trades(&[1, 5, 6], 8, None, Box::new(holding.clone()));
    assert_eq!(
        shown(&holding.0.lock().unwrap().0),
        ["1", "missing", "5", "6"]
    );
    assert_eq!(stats.processor.written.get(), 2);
    assert_eq!(stats.processor.lost.get(), 1);
}

#[test]
fn events_held_at_the_end_are_discarded_not_lost() {
    let recorder = Recorder::default();
    let stats = run_trades(&[1, 2, 900_000, 3, 4], 8, None, Box::new(recorder.clone()));
    assert_eq!(
        shown(&recorder.0.lock().unwrap()),
        ["1", "2", "missing", "900000"]
    );
    assert_eq!(stats.processor.written.get(), 3);
    assert_eq!(stats.processor.discarded.get(), 2, "3 and 4 were held");
}

#[test]
fn max_messages_reached_while_releasing_held_events() {
    let recorder = Recorder::default();
    let ids = [1, 100, 2, 3, 4, 5];
    let stats = run_trades(&ids, 8, Some(4), Box::new(recorder.clone()));
    assert_eq!(
        shown(&recorder.0.lock().unwrap()),
        ["1", "missing", "100", "restart", "2", "3"]
    );
    assert_eq!(stats.processor.written.get(), 4);
    // 4 confirmed the restart but was never written; 5 was still queued.
    assert_eq!(stats.processor.discarded.get(), 2);
}
