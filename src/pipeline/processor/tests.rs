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
        frames: receiver,
        stop: stop.clone(),
        stats: Arc::clone(&stats),
        sink: LineSink::new(Box::new(recorder.clone())),
        events,
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
