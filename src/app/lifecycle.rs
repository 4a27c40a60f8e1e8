//! The lifecycle, on the main thread: build every pipeline (reader → queue → processor per
//! symbol), wait for a reason to stop (signal, `--duration`, every symbol done, closed
//! output, a fatal error), stop them all, join them within a grace period, print the
//! summary and choose the exit status.

use std::io::IsTerminal;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, after, never, select, unbounded};
use tracing::{error, info};

use binance_streams::{Endpoint, Symbol};

use super::books::start_books;
use super::pipelines::{Shared, Slot, Slots, unix_micros};
use super::reachability::StartWatch;
use super::signals::forward_signals;
use super::simulation;
use crate::bus::Bus;
use crate::bus::group::{Group, GroupSettings};
use crate::config::{Config, OutputTarget, Source};
use crate::control::events::{AppEvent, Failure, Fatal};
use crate::control::stop::StopToken;
use crate::output::OutputFormat;
use crate::output::batch::StdoutOutput;
use crate::output::heading::Heading;
use crate::output::sinks::Handlers;
use crate::pipeline::reader::connect::Connector;
use crate::pipeline::reader::limiter::ConnectLimiter;
use crate::stats::metrics::{MetricsServer, MetricsSource, SharedLabels, spawn_metrics_server};
use crate::stats::report::{StatsFormat, StatsSource, spawn_reporter};
use crate::stats::{summary_json_lines, summary_lines};
use crate::util::duration::format_duration;
use crate::util::stderr;

/// How long stopping may take before `app` exits without waiting for a stuck thread
/// (a reader inside a 10 s TCP connect, a processor blocked on a full stdout pipe).
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_millis(750);

/// After killing stuck handlers, how long their processors get to notice.
const HANDLER_KILL_GRACE: Duration = Duration::from_millis(150);

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
    // The bus connects (and its stream is checked) before any exchange connection.
    let bus = match &config.output {
        OutputTarget::Nats(settings) => {
            Some(Bus::start(settings, config.market, config.symbols.len())?)
        }
        _ => None,
    };
    let (endpoint, _simulation) = match &config.source {
        Source::Exchange(endpoint) => (Some(endpoint.clone()), None),
        Source::Simulate => {
            let simulation = simulation::start(config.market, config.simulate_rate)?;
            (Some(simulation.endpoint()), Some(simulation))
        }
        Source::Replay(_) => (None, None),
    };
    let tls = endpoint.as_ref().is_some_and(Endpoint::is_tls);
    let connector = Arc::new(
        Connector::new(&config.ca_certs, config.connection.max_frame_bytes, tls)
            .map_err(|error| Fatal(format!("cannot set up TLS: {error}")))?,
    );
    let limiter = Arc::new(ConnectLimiter::new(
        config.connection.attempts_per_window,
        config.connection.attempt_window,
    ));
    if !matches!(config.source, Source::Replay(_)) {
        announce_connection_pacing(config, &limiter);
    }
    // Snapshot workers for `--stream book`; stopped with everything else.
    let books_stop = StopToken::new();
    let snapshots = start_books(config, endpoint.as_ref(), &books_stop)
        .map_err(|error| Fatal(format!("cannot start the snapshot workers: {error}")))?;

    let shared = Shared {
        config,
        endpoint: endpoint.as_ref(),
        run_us: unix_micros(),
        started: Instant::now(),
        connector: &connector,
        limiter: &limiter,
        events: &events,
        stdout: stdout.as_ref(),
        handlers: &handlers,
        bus: bus.as_ref(),
        snapshots: snapshots.as_ref(),
    };
    let mut slots = Slots(
        config
            .symbols
            .iter()
            .enumerate()
            .map(|(index, symbol)| Slot::new(config, index, symbol, bus.is_some()))
            .collect(),
    );
    let group = match (&bus, group_settings(config)) {
        (Some(bus), Some(settings)) => {
            let symbols = slots
                .0
                .iter()
                .map(|slot| (slot.symbol.clone(), Arc::clone(&slot.stats)))
                .collect();
            Some(Group::join(bus, settings, symbols, events.clone())?)
        }
        _ => None,
    };
    if group.is_none() {
        start_every_slot(&mut slots, &shared)?;
    }

    let reporter = match config.stats {
        Some(interval) => {
            let sources = slots
                .0
                .iter()
                .map(|slot| StatsSource {
                    symbol: slot.symbol.clone(),
                    stats: Arc::clone(&slot.stats),
                    queue_depth: Box::new(slot.queue_depth()),
                })
                .collect();
            match spawn_reporter(sources, interval, config.stats_format, group.is_some()) {
                Ok(reporter) => Some(reporter),
                Err(error) => {
                    slots.halt_all();
                    return Err(Failure::Fatal(Fatal(format!(
                        "cannot start the stats reporter: {error}"
                    ))));
                }
            }
        }
        None => None,
    };

    let metrics = match start_metrics(config, &slots) {
        Ok(metrics) => metrics,
        Err(error) => {
            slots.halt_all();
            return Err(Failure::Fatal(Fatal(format!(
                "cannot start the metrics server: {error}"
            ))));
        }
    };

    // A start where nothing connects gets one line of advice (network, --simulate).
    let start_watch = match &config.source {
        Source::Exchange(endpoint) => StartWatch::spawn(
            endpoint.clone(),
            slots.0.iter().map(|slot| Arc::clone(&slot.stats)).collect(),
        )
        .ok(),
        Source::Simulate | Source::Replay(_) => None,
    };

    let (ending, failures) = wait_for_end(&inbox, &mut slots, &shared, group.as_ref());
    if let Some(watch) = start_watch {
        watch.stop();
    }
    if let Some(group) = group {
        // Leases handed back first: the other members take over while this one stops.
        group.leave();
    }
    slots.halt_all();
    let threads = slots.threads();
    books_stop.trigger();
    let (mut panicked, stuck) = join_within(threads, SHUTDOWN_GRACE);
    if !stuck.is_empty() && handlers.kill_running() > 0 {
        // Processors blocked writing to handlers that never read: killing the handlers
        // breaks their pipes and lets the processors finish.
        panicked += join_within(stuck, HANDLER_KILL_GRACE).0;
    }
    // Whatever a handler started must not outlive the listener, even if its processor is
    // still stuck: kill every group not yet closed by its owner.
    handlers.kill_running();
    slots.drain_leftovers();
    if let Some(reporter) = reporter {
        reporter.finish();
    }

    if !matches!(ending, Ending::OutputClosed) {
        // After the processors: they publish their last latencies as they finish.
        // In a group, the symbols this member never served are left out.
        let served = slots.0.iter().filter(|slot| {
            group_settings(config).is_none() || slot.stats.reader.connects.get() > 0
        });
        let rows = served.map(|slot| {
            let latency = config.stats.and_then(|_| slot.stats.latency_summary());
            (slot.symbol.as_str(), slot.stats.snapshot(), latency)
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
    if let Some(bus) = bus {
        bus.close();
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

/// Starts serving `/metrics` and `/healthz` when `--metrics` is on.
fn start_metrics(config: &Config, slots: &Slots) -> std::io::Result<Option<MetricsServer>> {
    let Some(listener) = &config.metrics else {
        return Ok(None);
    };
    let sources = slots
        .0
        .iter()
        .map(|slot| MetricsSource {
            symbol: slot.symbol.clone(),
            stats: Arc::clone(&slot.stats),
            queue_depth: Box::new(slot.queue_depth()),
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

/// Waits for the first reason to stop; also returns the symbols that failed on the way.
/// In a group, starts and stops symbols as the lease keeper says.
fn wait_for_end(
    inbox: &Receiver<AppEvent>,
    slots: &mut Slots,
    shared: &Shared<'_>,
    group: Option<&Group>,
) -> (Ending, Vec<String>) {
    let deadline = shared.config.duration.map_or_else(never, after);
    let symbols = slots.0.len();
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
                    if finished.len() == symbols {
                        break Ending::AllDone;
                    }
                }
                Ok(AppEvent::PipelineFailed(symbol, why)) => {
                    error!(symbol = %symbol, "giving up on the symbol: {why}");
                    if let Some(group) = group {
                        // Released, and no longer offered: another member may serve it.
                        group.failed(&symbol);
                        if let Some(slot) = slots.get_mut(&symbol) {
                            slot.halt();
                        }
                    }
                    if !finished.contains(&symbol) {
                        failures.push(symbol.to_string());
                        finished.push(symbol);
                    }
                    if finished.len() == symbols {
                        break Ending::AllDone;
                    }
                }
                Ok(AppEvent::Run(symbol)) => {
                    if let Some(slot) = slots.get_mut(&symbol)
                        && !slot.is_running()
                        && let Err(error) = slot.open(shared).and_then(|opened| slot.start(shared, opened))
                    {
                        error!(symbol = %symbol, "cannot start the symbol: {error}");
                        if let Some(group) = group {
                            group.failed(&symbol);
                        }
                    }
                }
                Ok(AppEvent::Halt(symbol)) => {
                    if let Some(slot) = slots.get_mut(&symbol) {
                        slot.halt();
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

/// Opens every output (every file, every handler) before any connection is made, then
/// starts every pipeline.
fn start_every_slot(slots: &mut Slots, shared: &Shared<'_>) -> Result<(), Failure> {
    let mut opened = Vec::with_capacity(slots.0.len());
    for slot in &slots.0 {
        let output = slot
            .open(shared)
            .map_err(|error| Failure::Refused(format!("{}: {error}", slot.symbol)))?;
        opened.push(output);
    }
    for (index, output) in opened.into_iter().enumerate() {
        let slot = &mut slots.0[index];
        if let Err(error) = slot.start(shared, output) {
            let symbol = slot.symbol.clone();
            slots.halt_all();
            return Err(Failure::Fatal(Fatal(format!(
                "cannot start {symbol}: {error}"
            ))));
        }
    }
    Ok(())
}

/// The group settings, with `--group`.
fn group_settings(config: &Config) -> Option<&GroupSettings> {
    match &config.output {
        OutputTarget::Nats(settings) => settings.group.as_ref(),
        _ => None,
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
