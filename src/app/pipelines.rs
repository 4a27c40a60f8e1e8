//! Every symbol's slot for the whole run: its counters (one set, whatever runs), and the
//! pipeline (reader → queue → processor) serving it now, if any. Most runs start every
//! slot once; in a `--group` the lease keeper starts and stops them as symbols move between
//! members, and a slot restarted later starts only once its previous pipeline has ended.
//! What feeds a pipeline's queue is a reader on the exchange (with a recorder beside it
//! under `--record`) or, for `binance-listen replay`, a source reading recorded files: the
//! processor and outputs cannot tell the two apart.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;

use binance_streams::{Decoder, Endpoint, Symbol};

use super::books::book_settings;
use crate::book::fetch::Snapshots;
use crate::bus::Bus;
use crate::config::{Config, OutputTarget, Source};
use crate::control::events::AppEvent;
use crate::control::stop::StopToken;
use crate::output::batch::{LineOutput, LineSink, StdoutOutput};
use crate::output::sinks::{ExecOutput, FileOutput, Handlers, symbol_file};
use crate::pipeline::processor::{Processor, spawn_processor};
use crate::pipeline::queue::{FrameSender, QueueBounds, QueueHandle, frame_queue};
use crate::pipeline::reader::connect::Connector;
use crate::pipeline::reader::limiter::ConnectLimiter;
use crate::pipeline::reader::{Reader, spawn_reader};
use crate::record::{Recording, spawn_recorder};
use crate::replay::source::{ReplaySource, spawn_source};
use crate::stats::SymbolStats;

/// What every pipeline shares.
pub(super) struct Shared<'a> {
    pub(super) config: &'a Config,
    /// The exchange; `None` when replaying.
    pub(super) endpoint: Option<&'a Endpoint>,
    /// The run's start (µs since the Unix epoch): names the recording run.
    pub(super) run_us: u64,
    /// The run's start, for pacing a replay.
    pub(super) started: Instant,
    pub(super) connector: &'a Arc<Connector>,
    pub(super) limiter: &'a Arc<ConnectLimiter>,
    pub(super) events: &'a Sender<AppEvent>,
    pub(super) stdout: Option<&'a StdoutOutput>,
    pub(super) handlers: &'a Arc<Handlers>,
    pub(super) bus: Option<&'a Bus>,
    /// The snapshot workers, with `--stream book`.
    pub(super) snapshots: Option<&'a Snapshots>,
}

/// A pipeline's stop token, queue and threads.
struct Running {
    stop: StopToken,
    queue: QueueHandle,
    threads: Vec<JoinHandle<()>>,
}

/// A symbol's output, opened, with the stop token its pipeline will use.
pub(super) struct Opened {
    stop: StopToken,
    output: Box<dyn LineOutput>,
}

/// One symbol for the whole run.
pub(super) struct Slot {
    pub(super) symbol: Symbol,
    /// The symbol's place in the configuration (for its `--delay`).
    index: usize,
    pub(super) stats: Arc<SymbolStats>,
    /// The running pipeline's queue, for `--stats` and `--metrics`.
    queue: Arc<Mutex<Option<QueueHandle>>>,
    running: Option<Running>,
    /// Pipelines stopped during the run whose threads may still be finishing.
    stopped: Vec<Running>,
}

impl Slot {
    /// The slot of `config.symbols[index]`.
    pub(super) fn new(config: &Config, index: usize, symbol: &Symbol, bus: bool) -> Self {
        Self {
            symbol: symbol.clone(),
            index,
            stats: Arc::new(
                SymbolStats::new(config.stats.is_some() || config.metrics.is_some())
                    .with_bus(bus)
                    .with_record(config.record.is_some()),
            ),
            queue: Arc::new(Mutex::new(None)),
            running: None,
            stopped: Vec::new(),
        }
    }

    /// Whether a pipeline serves the symbol now.
    pub(super) fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Reads how many frames wait in the running pipeline's queue.
    pub(super) fn queue_depth(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let queue = Arc::clone(&self.queue);
        move || {
            queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .map_or(0, QueueHandle::len)
        }
    }

    /// Opens the symbol's output (file, handler, publisher or stdout).
    ///
    /// # Errors
    /// The output cannot be opened; the message names it.
    pub(super) fn open(&self, shared: &Shared<'_>) -> std::io::Result<Opened> {
        let stop = StopToken::new();
        let output = open_output(shared, &self.symbol, &stop, &self.stats)?;
        Ok(Opened { stop, output })
    }

    /// Starts the pipeline with `opened`, once any earlier one has ended.
    ///
    /// # Errors
    /// The OS refused a thread.
    pub(super) fn start(&mut self, shared: &Shared<'_>, opened: Opened) -> std::io::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        // Counters have one writing thread each: the old threads go first.
        self.settle_stopped(super::lifecycle::SHUTDOWN_GRACE);
        let Opened { stop, output } = opened;
        let config = shared.config;
        let bounds = QueueBounds {
            frames: config.queue_capacity,
            bytes: config.queue_bytes,
        };
        let (frames, receiver) = frame_queue(bounds, config.overflow);
        let queue = receiver.handle();
        let processor = spawn_processor(Processor {
            symbol: self.symbol.clone(),
            decoder: Decoder::new(&self.symbol, &config.kinds),
            format: config.format,
            delay: config.delays.get(self.index).copied().unwrap_or_default(),
            max_messages: config.max_messages,
            gap_markers: config.gap_markers,
            frames: receiver,
            stop: stop.clone(),
            stats: Arc::clone(&self.stats),
            sink: LineSink::new(output),
            events: shared.events.clone(),
            book: book_settings(config, shared.snapshots),
        })?;
        let mut threads = vec![processor];
        match feed(shared, self.index, &self.symbol, &stop, &self.stats, frames) {
            Ok(fed) => threads.extend(fed),
            Err(error) => {
                stop.trigger();
                for thread in threads {
                    let _ = thread.join();
                }
                return Err(error);
            }
        }
        *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = Some(queue.clone());
        self.running = Some(Running {
            stop,
            queue,
            threads,
        });
        Ok(())
    }

    /// Stops the pipeline, if one runs; its threads finish on their own.
    pub(super) fn halt(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop.trigger();
            self.stopped.push(running);
        }
    }

    /// Joins stopped pipelines' threads (waiting up to `grace`) and counts what their
    /// queues still held.
    fn settle_stopped(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        for running in std::mem::take(&mut self.stopped) {
            while Instant::now() < deadline && running.threads.iter().any(|t| !t.is_finished()) {
                std::thread::sleep(Duration::from_millis(5));
            }
            let leftovers = running.queue.drain();
            self.stats.drained.fetch_add(leftovers, Ordering::Relaxed);
            for thread in running.threads {
                if thread.is_finished() {
                    let _ = thread.join();
                }
            }
        }
    }
}

/// Every slot.
pub(super) struct Slots(pub(super) Vec<Slot>);

impl Slots {
    /// Stops every pipeline.
    pub(super) fn halt_all(&mut self) {
        for slot in &mut self.0 {
            slot.halt();
        }
    }

    /// Every pipeline thread not yet joined (all pipelines must be stopped).
    pub(super) fn threads(&mut self) -> Vec<JoinHandle<()>> {
        self.0
            .iter_mut()
            .flat_map(|slot| slot.stopped.iter_mut())
            .flat_map(|running| running.threads.drain(..))
            .collect()
    }

    /// Frames the readers queued after their processors' last look (or while stuck):
    /// thrown away now, and counted. After the threads are gone.
    pub(super) fn drain_leftovers(&mut self) {
        for slot in &mut self.0 {
            for running in std::mem::take(&mut slot.stopped) {
                let leftovers = running.queue.drain();
                slot.stats.drained.fetch_add(leftovers, Ordering::Relaxed);
            }
        }
    }

    /// The slot of `symbol`.
    pub(super) fn get_mut(&mut self, symbol: &Symbol) -> Option<&mut Slot> {
        self.0.iter_mut().find(|slot| slot.symbol == *symbol)
    }
}

/// Starts what feeds the queue: the replay source, or the reader (and its recorder).
fn feed(
    shared: &Shared<'_>,
    index: usize,
    symbol: &Symbol,
    stop: &StopToken,
    stats: &Arc<SymbolStats>,
    frames: FrameSender,
) -> std::io::Result<Vec<JoinHandle<()>>> {
    let config = shared.config;
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
                stats: Arc::clone(stats),
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
    // The reader first: the recorder ends after it.
    threads.insert(0, reader);
    Ok(threads)
}

/// Wall-clock microseconds since the Unix epoch.
pub(super) fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}

/// The symbol's output: stdout, its file, its handler or its publisher.
fn open_output(
    shared: &Shared<'_>,
    symbol: &Symbol,
    stop: &StopToken,
    stats: &Arc<SymbolStats>,
) -> std::io::Result<Box<dyn LineOutput>> {
    let config = shared.config;
    Ok(match &config.output {
        OutputTarget::Stdout => match shared.stdout {
            Some(stdout) => Box::new(stdout.clone()),
            None => return Err(std::io::Error::other("stdout was not opened")),
        },
        OutputTarget::Directory(dir) => {
            Box::new(FileOutput::open(dir, symbol).map_err(|error| {
                std::io::Error::new(
                    error.kind(),
                    format!(
                        "cannot open {}: {error}",
                        symbol_file(dir, symbol).display()
                    ),
                )
            })?)
        }
        OutputTarget::Exec(command) => Box::new(
            ExecOutput::spawn(command, symbol, stop.clone(), shared.handlers).map_err(|error| {
                std::io::Error::new(error.kind(), format!("cannot start `{command}`: {error}"))
            })?,
        ),
        OutputTarget::Nats(_) => match shared.bus {
            Some(bus) => {
                Box::new(bus.output(symbol, &config.kinds, stop.clone(), Arc::clone(stats)))
            }
            None => return Err(std::io::Error::other("NATS was not connected")),
        },
    })
}
