//! Building one symbol's pipeline: its queue and processor, and what feeds the queue — a
//! reader on the exchange (with a recorder beside it under `--record`), or, for
//! `binance-listen replay`, a source reading recorded files. The processor and outputs
//! cannot tell the two apart.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;

use binance_streams::{Decoder, Endpoint, Symbol};

use crate::config::{Config, Source};
use crate::control::events::AppEvent;
use crate::control::stop::StopToken;
use crate::output::batch::{LineOutput, LineSink};
use crate::pipeline::processor::{Processor, spawn_processor};
use crate::pipeline::queue::{FrameSender, QueueBounds, QueueHandle, frame_queue};
use crate::pipeline::reader::connect::Connector;
use crate::pipeline::reader::limiter::ConnectLimiter;
use crate::pipeline::reader::{Reader, spawn_reader};
use crate::record::{Recording, spawn_recorder};
use crate::replay::source::{ReplaySource, spawn_source};
use crate::stats::SymbolStats;

/// One symbol's running pipeline.
pub(super) struct Pipeline {
    pub(super) symbol: Symbol,
    pub(super) stop: StopToken,
    pub(super) stats: Arc<SymbolStats>,
    /// The symbol's queue: its depth for `--stats`, its leftovers at the end.
    pub(super) queue: QueueHandle,
    pub(super) threads: Vec<JoinHandle<()>>,
}

/// What every pipeline shares.
pub(super) struct Shared<'a> {
    /// The exchange; `None` when replaying.
    pub(super) endpoint: Option<&'a Endpoint>,
    pub(super) connector: &'a Arc<Connector>,
    pub(super) limiter: &'a Arc<ConnectLimiter>,
    pub(super) events: &'a Sender<AppEvent>,
    /// The run's start (µs since the Unix epoch): names the recording run.
    pub(super) run_us: u64,
    /// The run's start, for pacing a replay.
    pub(super) started: Instant,
}

/// Starts `symbol`'s threads, the processor first.
pub(super) fn start_pipeline(
    config: &Config,
    index: usize,
    symbol: &Symbol,
    shared: &Shared<'_>,
    stop: StopToken,
    output: Box<dyn LineOutput>,
) -> std::io::Result<Pipeline> {
    let stats = Arc::new(SymbolStats::new(
        config.stats.is_some() || config.metrics.is_some(),
    ));
    let bounds = QueueBounds {
        frames: config.queue_capacity,
        bytes: config.queue_bytes,
    };
    let (frames, receiver) = frame_queue(bounds, config.overflow);
    let queue = receiver.handle();
    let processor = spawn_processor(Processor {
        symbol: symbol.clone(),
        decoder: Decoder::new(symbol, &config.kinds),
        format: config.format,
        delay: config.delays.get(index).copied().unwrap_or_default(),
        max_messages: config.max_messages,
        gap_markers: config.gap_markers,
        frames: receiver,
        stop: stop.clone(),
        stats: Arc::clone(&stats),
        sink: LineSink::new(output),
        events: shared.events.clone(),
    })?;
    let mut threads = vec![processor];
    match feed(config, index, symbol, shared, &stop, &stats, frames) {
        Ok(fed) => threads.extend(fed),
        Err(error) => {
            stop.trigger();
            for thread in threads {
                let _ = thread.join();
            }
            return Err(error);
        }
    }
    Ok(Pipeline {
        symbol: symbol.clone(),
        stop,
        stats,
        queue,
        threads,
    })
}

/// Starts what feeds the queue: the replay source, or the reader (and its recorder).
fn feed(
    config: &Config,
    index: usize,
    symbol: &Symbol,
    shared: &Shared<'_>,
    stop: &StopToken,
    stats: &Arc<SymbolStats>,
    frames: FrameSender,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    if let Source::Replay(plan) = &config.source {
        let source = ReplaySource {
            symbol: symbol.clone(),
            plan: Arc::clone(plan),
            index,
            started: shared.started,
            stop: stop.clone(),
            stats: Arc::clone(stats),
        };
        return Ok(vec![spawn_source(source, frames)?]);
    }
    let Some(endpoint) = shared.endpoint else {
        return Err(std::io::Error::other("no exchange to connect to"));
    };
    let mut threads = Vec::with_capacity(2);
    let recorder = match &config.record {
        Some(settings) => {
            let (tap, thread) = spawn_recorder(&Recording {
                settings,
                market: config.market,
                symbol,
                kinds: &config.kinds,
                run: shared.run_us,
            })?;
            threads.push(thread);
            Some(tap)
        }
        None => None,
    };
    let reader = spawn_reader(
        Reader {
            symbol: symbol.clone(),
            decoder: Decoder::new(symbol, &config.kinds),
            url: endpoint.stream_url(symbol, &config.kinds),
            endpoint: endpoint.clone(),
            connector: Arc::clone(shared.connector),
            limiter: Arc::clone(shared.limiter),
            settings: config.connection,
            stop: stop.clone(),
            stats: Arc::clone(stats),
            events: shared.events.clone(),
            recorder,
        },
        frames,
    )?;
    // The reader first: `app` joins in this order, and the recorder ends after it.
    threads.insert(0, reader);
    Ok(threads)
}

/// Wall-clock microseconds since the Unix epoch.
pub(super) fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}
