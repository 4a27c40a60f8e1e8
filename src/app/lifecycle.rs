//! The lifecycle, on the main thread: build every pipeline (reader → queue → processor per
//! symbol), wait for a reason to stop (signal, `--duration`, every symbol done, closed
//! output, a fatal error), stop them all, join them within a grace period, print the
//! summary and choose the exit status.

use std::io::IsTerminal;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, after, never, select, unbounded};
use tracing::{error, info};

use binance_streams::{Decoder, Endpoint, Symbol};

use super::books::{book_settings, start_books};
use super::reachability::StartWatch;
use super::signals::forward_signals;
use super::simulation;
use crate::book::fetch::Snapshots;
use crate::config::{Config, OutputTarget, Source};
use crate::control::events::{AppEvent, Failure, Fatal};
use crate::control::stop::StopToken;
use crate::output::OutputFormat;
use crate::output::batch::{LineOutput, LineSink, StdoutOutput};
use crate::output::heading::Heading;
use crate::output::sinks::{ExecOutput, FileOutput, Handlers, symbol_file};
use crate::pipeline::processor::{Processor, spawn_processor};
use crate::pipeline::queue::{QueueBounds, QueueHandle, frame_queue};
use crate::pipeline::reader::connect::Connector;
use crate::pipeline::reader::limiter::ConnectLimiter;
use crate::pipeline::reader::{Reader, spawn_reader};
use crate::stats::metrics::{MetricsServer, MetricsSource, SharedLabels, spawn_metrics_server};
use crate::stats::report::{StatsFormat, StatsSource, spawn_reporter};
use crate::stats::{SymbolStats, summary_json_lines, summary_lines};
use crate::util::duration::format_duration;
use crate::util::stderr;

/// How long stopping may take before `app` exits without waiting for a stuck thread
/// (a reader inside a 10 s TCP connect, a processor blocked on a full stdout pipe).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(750);

/// After killing stuck handlers, how long their processors get to notice.
const HANDLER_KILL_GRACE: Duration = Duration::from_millis(150);

/// One symbol's running pipeline.
struct Pipeline {
    symbol: Symbol,
    stop: StopToken,
    stats: Arc<SymbolStats>,
    /// The symbol's queue: its depth for `--stats`, its leftovers at the end.
    queue: QueueHandle,
    threads: Vec<JoinHandle<()>>,
}

/// Why the run ended.
enum Ending {
    Signal,
    DurationElapsed,
    AllDone,
    OutputClosed,
    OutputFailed(String),
}

/// The header row for pretty lines on a terminal; none for other formats or when stdout
/// is a pipe or a file, whose readers want the lines alone.
fn terminal_heading(format: OutputFormat) -> Option<Heading> {
    match format {
        OutputFormat::Pretty { colour, width } if std::io::stdout().is_terminal() => {
            Some(Heading::new(colour, width))
        }
        _ => None,
    }
}

/// Runs the listener until something ends it.
///
/// # Errors
/// [`Failure::Refused`] when an output cannot be opened (before anything connects);
/// [`Failure::Fatal`] when the run could not start or ended in failure (the summary is
/// printed first).
pub(super) fn run(config: &Config) -> Result<(), Failure> {
    let (events, inbox) = unbounded();
    // Shared with the signal thread, so even an immediate exit kills every handler's group.
    let handlers = Arc::new(Handlers::default());
    forward_signals(events.clone(), Arc::clone(&handlers))
        .map_err(|error| Fatal(format!("cannot install signal handlers: {error}")))?;
    let stdout = match config.output {
        OutputTarget::Stdout => Some(
            StdoutOutput::open(terminal_heading(config.format))
                .map_err(|error| Fatal(format!("cannot write to stdout: {error}")))?,
        ),
        _ => None,
    };
    let (endpoint, _simulation) = match &config.source {
        Source::Exchange(endpoint) => (endpoint.clone(), None),
        Source::Simulate => {
            let simulation = simulation::start(config.market, config.simulate_rate)?;
            (simulation.endpoint(), Some(simulation))
        }
    };
    let connector = Arc::new(
        Connector::new(&config.ca_certs, config.connection.max_frame_bytes)
            .map_err(|error| Fatal(format!("cannot set up TLS: {error}")))?,
    );
    let limiter = Arc::new(ConnectLimiter::new(
        config.connection.attempts_per_window,
        config.connection.attempt_window,
    ));
    announce_connection_pacing(config, &limiter);
    // Snapshot workers for `--stream book`; stopped with everything else.
    let books_stop = StopToken::new();
    let snapshots = start_books(config, &endpoint, &books_stop)
        .map_err(|error| Fatal(format!("cannot start the snapshot workers: {error}")))?;

    // Every output opens (every file, every handler) before any connection is made.
    let mut outputs = Vec::with_capacity(config.symbols.len());
    for symbol in &config.symbols {
        let stop = StopToken::new();
        let output = open_output(config, symbol, &stop, &handlers, stdout.as_ref())
            .map_err(|error| Failure::Refused(format!("{symbol}: {error}")))?;
        outputs.push((stop, output));
    }
    let shared = Shared {
        endpoint: &endpoint,
        connector: &connector,
        limiter: &limiter,
        events: &events,
        snapshots: snapshots.as_ref(),
    };
    let mut pipelines = Vec::with_capacity(config.symbols.len());
    for (index, (symbol, (stop, output))) in config.symbols.iter().zip(outputs).enumerate() {
        match start_pipeline(config, index, symbol, &shared, stop, output) {
            Ok(pipeline) => pipelines.push(pipeline),
            Err(error) => {
                stop_all(&pipelines);
                return Err(Failure::Fatal(Fatal(format!(
                    "cannot start {symbol}: {error}"
                ))));
            }
        }
    }

    let reporter = match config.stats {
        Some(interval) => {
            let sources = pipelines
                .iter()
                .map(|pipeline| StatsSource {
                    symbol: pipeline.symbol.clone(),
                    stats: Arc::clone(&pipeline.stats),
                    queue_depth: {
                        let queue = pipeline.queue.clone();
                        Box::new(move || queue.len())
                    },
                })
                .collect();
            match spawn_reporter(sources, interval, config.stats_format) {
                Ok(reporter) => Some(reporter),
                Err(error) => {
                    stop_all(&pipelines);
                    return Err(Failure::Fatal(Fatal(format!(
                        "cannot start the stats reporter: {error}"
                    ))));
                }
            }
        }
        None => None,
    };

    let metrics = match start_metrics(config, &pipelines) {
        Ok(metrics) => metrics,
        Err(error) => {
            stop_all(&pipelines);
            return Err(Failure::Fatal(Fatal(format!(
                "cannot start the metrics server: {error}"
            ))));
        }
    };

    // A start where nothing connects gets one line of advice (network, --simulate).
    let start_watch = match &config.source {
        Source::Exchange(endpoint) => StartWatch::spawn(
            endpoint.clone(),
            pipelines.iter().map(|p| Arc::clone(&p.stats)).collect(),
        )
        .ok(),
        Source::Simulate => None,
    };

    let (ending, failures) = wait_for_end(config, &inbox, pipelines.len());
    if let Some(watch) = start_watch {
        watch.stop();
    }
    stop_all(&pipelines);
    books_stop.trigger();
    let threads = pipelines
        .iter_mut()
        .flat_map(|p| p.threads.drain(..))
        .collect();
    let (mut panicked, stuck) = join_within(threads, SHUTDOWN_GRACE);
    if !stuck.is_empty() && handlers.kill_running() > 0 {
        // Processors blocked writing to handlers that never read: killing the handlers
        // breaks their pipes and lets the processors finish.
        panicked += join_within(stuck, HANDLER_KILL_GRACE).0;
    }
    // Whatever a handler started must not outlive the listener, even if its processor is
    // still stuck: kill every group not yet closed by its owner.
    handlers.kill_running();
    // Frames the reader queued after the processor's last look (or while it was stuck):
    // thrown away now, and counted.
    for pipeline in &pipelines {
        let leftovers = pipeline.queue.drain();
        pipeline
            .stats
            .drained
            .fetch_add(leftovers, std::sync::atomic::Ordering::Relaxed);
    }
    if let Some(reporter) = reporter {
        reporter.finish();
    }

    if !matches!(ending, Ending::OutputClosed) {
        // After the processors: they publish their last latencies as they finish.
        let rows = pipelines.iter().map(|pipeline| {
            let latency = config.stats.and_then(|_| pipeline.stats.latency_summary());
            (pipeline.symbol.as_str(), pipeline.stats.snapshot(), latency)
        });
        let lines = match config.stats_format {
            StatsFormat::Table => summary_lines(rows),
            StatsFormat::Json => summary_json_lines(rows),
        };
        for line in lines {
            stderr::line(&line);
        }
    }
    if let Some(metrics) = metrics {
        metrics.stop();
    }
    match ending {
        Ending::OutputFailed(error) => {
            Err(Fatal(format!("cannot write to stdout: {error}")).into())
        }
        _ if panicked > 0 => Err(Fatal(format!(
            "{panicked} thread(s) stopped on an internal error (reported above)"
        ))
        .into()),
        _ if !failures.is_empty() => Err(Fatal(format!(
            "{} of {} symbol(s) could not be served: {}",
            failures.len(),
            config.symbols.len(),
            failures.join(", ")
        ))
        .into()),
        Ending::Signal | Ending::DurationElapsed | Ending::AllDone | Ending::OutputClosed => Ok(()),
    }
}

/// What every pipeline shares.
struct Shared<'a> {
    endpoint: &'a Endpoint,
    connector: &'a Arc<Connector>,
    limiter: &'a Arc<ConnectLimiter>,
    events: &'a Sender<AppEvent>,
    /// The snapshot workers, with `--stream book`.
    snapshots: Option<&'a Snapshots>,
}

/// Says up front when Binance's connection limit will make a large start slow.
fn announce_connection_pacing(config: &Config, limiter: &ConnectLimiter) {
    let symbols = u32::try_from(config.symbols.len()).unwrap_or(u32::MAX);
    if symbols > limiter.burst() {
        let last = limiter.interval() * (symbols - limiter.burst());
        info!(
            "{symbols} symbols: {} connect now, the rest one every {} to stay within {} connection attempts per {}; the last connects in about {}",
            limiter.burst(),
            format_duration(limiter.interval()),
            config.connection.attempts_per_window,
            format_duration(config.connection.attempt_window),
            format_duration(last)
        );
    }
}

fn start_pipeline(
    config: &Config,
    index: usize,
    symbol: &Symbol,
    shared: &Shared<'_>,
    stop: StopToken,
    output: Box<dyn LineOutput>,
) -> std::io::Result<Pipeline> {
    let Shared {
        endpoint,
        connector,
        limiter,
        events,
        snapshots,
    } = shared;
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
        events: (*events).clone(),
        book: book_settings(config, *snapshots),
    })?;
    let reader = spawn_reader(
        Reader {
            symbol: symbol.clone(),
            decoder: Decoder::new(symbol, &config.kinds),
            url: endpoint.stream_url(symbol, &config.kinds),
            endpoint: (*endpoint).clone(),
            connector: Arc::clone(connector),
            limiter: Arc::clone(limiter),
            settings: config.connection,
            stop: stop.clone(),
            stats: Arc::clone(&stats),
            events: (*events).clone(),
        },
        frames,
    );
    let reader = match reader {
        Ok(reader) => reader,
        Err(error) => {
            stop.trigger();
            let _ = processor.join();
            return Err(error);
        }
    };
    Ok(Pipeline {
        symbol: symbol.clone(),
        stop,
        stats,
        queue,
        threads: vec![reader, processor],
    })
}

/// Starts serving `/metrics` and `/healthz` when `--metrics` is on.
fn start_metrics(
    config: &Config,
    pipelines: &[Pipeline],
) -> std::io::Result<Option<MetricsServer>> {
    let Some(listener) = &config.metrics else {
        return Ok(None);
    };
    let sources = pipelines
        .iter()
        .map(|pipeline| MetricsSource {
            symbol: pipeline.symbol.clone(),
            stats: Arc::clone(&pipeline.stats),
            queue_depth: {
                let queue = pipeline.queue.clone();
                Box::new(move || queue.len())
            },
        })
        .collect();
    let labels = SharedLabels {
        stream: config
            .kinds
            .iter()
            .map(|kind| kind.name())
            .collect::<Vec<_>>()
            .join(","),
        market: config.market.name().to_owned(),
    };
    let server = spawn_metrics_server(Arc::clone(listener), sources, labels)?;
    info!(
        "metrics on http://{0}/metrics, health on http://{0}/healthz",
        listener.local_addr()
    );
    Ok(Some(server))
}

/// The symbol's output: stdout, its file, or its handler.
fn open_output(
    config: &Config,
    symbol: &Symbol,
    stop: &StopToken,
    handlers: &Arc<Handlers>,
    stdout: Option<&StdoutOutput>,
) -> std::io::Result<Box<dyn LineOutput>> {
    Ok(match &config.output {
        OutputTarget::Stdout => match stdout {
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
            ExecOutput::spawn(command, symbol, stop.clone(), handlers).map_err(|error| {
                std::io::Error::new(error.kind(), format!("cannot start `{command}`: {error}"))
            })?,
        ),
    })
}

/// Waits for the first reason to stop; also returns the symbols that failed on the way.
fn wait_for_end(
    config: &Config,
    inbox: &Receiver<AppEvent>,
    pipelines: usize,
) -> (Ending, Vec<String>) {
    let deadline = config.duration.map_or_else(never, after);
    // A symbol is done once, however many of its threads report it (a processor done
    // and then its reader failing on the way out).
    let mut finished: Vec<Symbol> = Vec::new();
    let mut failures = Vec::new();
    let ending = loop {
        select! {
            recv(inbox) -> event => match event {
                Ok(AppEvent::Signal(name)) => {
                    info!("{name} received: stopping (send it again to exit at once)");
                    break Ending::Signal;
                }
                Ok(AppEvent::OutputClosed) => break Ending::OutputClosed,
                Ok(AppEvent::OutputFailed(error)) => break Ending::OutputFailed(error),
                Ok(AppEvent::PipelineDone(symbol)) => {
                    if !finished.contains(&symbol) {
                        finished.push(symbol);
                    }
                    if finished.len() == pipelines {
                        break Ending::AllDone;
                    }
                }
                Ok(AppEvent::PipelineFailed(symbol, why)) => {
                    error!(symbol = %symbol, "giving up on the symbol: {why}");
                    if !finished.contains(&symbol) {
                        failures.push(symbol.to_string());
                        finished.push(symbol);
                    }
                    if finished.len() == pipelines {
                        break Ending::AllDone;
                    }
                }
                // Unreachable while `run` holds a sender; treat it as the end.
                Err(_) => break Ending::AllDone,
            },
            recv(deadline) -> _ => break Ending::DurationElapsed,
        }
    };
    (ending, failures)
}

fn stop_all(pipelines: &[Pipeline]) {
    for pipeline in pipelines {
        pipeline.stop.trigger();
    }
}

/// Joins the threads that finish within `grace`; returns how many of those panicked, and
/// the threads still running. Those are left behind: the process is about to exit.
fn join_within(threads: Vec<JoinHandle<()>>, grace: Duration) -> (usize, Vec<JoinHandle<()>>) {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && threads.iter().any(|thread| !thread.is_finished()) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (finished, stuck): (Vec<_>, Vec<_>) =
        threads.into_iter().partition(JoinHandle::is_finished);
    let panicked = finished
        .into_iter()
        .map(JoinHandle::join)
        .filter(Result::is_err)
        .count();
    (panicked, stuck)
}
