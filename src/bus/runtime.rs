//! The bus's own thread: a single-threaded tokio runtime running the NATS client, one
//! publishing task per symbol, and (with `--group`) the lease keeper. Nothing else in the
//! listener is async; other threads hand work over with [`Bus::run`] or channels.

use std::future::Future;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use async_nats::jetstream::{self, Context};
use async_nats::{Client, ConnectOptions, Event};
use binance_streams::{Market, StreamKind, Symbol};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tracing::{debug, info, warn};

use super::output::{NatsOutput, window_lines};
use super::publisher::{Publisher, StreamRoute};
use super::settings::NatsSettings;
use super::{message_id_prefix, stream};
use crate::control::events::{Failure, Fatal};
use crate::control::stop::StopToken;
use crate::stats::SymbolStats;

/// How long the first connection may take before the run is refused.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the stream's look-up (and creation) may take at start.
const STREAM_CHECK_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a publish waits for JetStream's acknowledgement before it is sent again.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Acknowledgements awaited at once over all symbols: never the binding limit (each
/// symbol's own window is), so one symbol's stalled publishes cannot hold permits another
/// needs.
const MAX_ACKS_IN_FLIGHT: usize = 1 << 24;

/// Reconnection delays after a lost server: doubling from 100 ms up to 2 s, so a server
/// back after an outage is found within about 2 s.
fn reconnect_delay(attempts: usize) -> Duration {
    let exponent = u32::try_from(attempts.min(5)).unwrap_or(5);
    Duration::from_millis(100 * 2u64.pow(exponent)).min(Duration::from_secs(2))
}

/// The running NATS client and its thread.
pub(crate) struct Bus {
    handle: Handle,
    client: Client,
    jetstream: Context,
    settings: NatsSettings,
    market: Market,
    /// How many symbols share the bus (their windows share one budget).
    symbols: usize,
    thread: RuntimeThread,
}

/// The runtime's thread; dropping it stops the runtime (its tasks are dropped) and joins.
struct RuntimeThread {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Bus {
    /// Starts the runtime thread, connects and makes sure the stream exists and covers the
    /// subjects lines will be published to.
    ///
    /// # Errors
    /// [`Failure::Refused`] when the stream exists but does not take our subjects (a usage
    /// problem: status 2); [`Failure::Fatal`] when no server answers or JetStream refuses.
    pub(crate) fn start(
        settings: &NatsSettings,
        market: Market,
        symbols: usize,
    ) -> Result<Self, Failure> {
        let fatal = |why: String| Failure::Fatal(Fatal(why));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| fatal(format!("cannot start the NATS client: {error}")))?;
        let handle = runtime.handle().clone();
        let (shutdown, shut) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("nats".to_owned())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = shut.await;
                });
            })
            .map_err(|error| fatal(format!("cannot start the NATS client: {error}")))?;
        // From here on, leaving early stops the thread (dropping `thread`).
        let thread = RuntimeThread {
            shutdown: Some(shutdown),
            thread: Some(thread),
        };
        let client = run_on(&handle, connect(settings.servers.clone()))
            .and_then(|connected| connected.map_err(|error| error.to_string()))
            .map_err(|error| {
                fatal(format!(
                    "cannot connect to NATS at {}: {error}",
                    settings.describe_servers()
                ))
            })?;
        // The context starts a task of its own: built inside the runtime.
        let entered = handle.enter();
        let jetstream = jetstream::ContextBuilder::new()
            .timeout(ACK_TIMEOUT)
            .max_ack_inflight(MAX_ACKS_IN_FLIGHT)
            .backpressure_on_inflight(false)
            .build(client.clone());
        drop(entered);
        let bus = Self {
            handle,
            client,
            jetstream,
            settings: settings.clone(),
            market,
            symbols,
            thread,
        };
        let ensured = {
            let jetstream = bus.jetstream.clone();
            let settings = bus.settings.clone();
            // Bounded: a server that connects but never answers JetStream's API is a clear
            // error at start, not a listener that waits for ever.
            bus.run(async move {
                tokio::time::timeout(STREAM_CHECK_TIMEOUT, stream::ensure(&jetstream, &settings))
                    .await
                    .unwrap_or_else(|_| {
                        Err(stream::Refusal::Failed(format!(
                            "NATS did not answer JetStream's API within {} s (is JetStream enabled? nats-server -js)",
                            STREAM_CHECK_TIMEOUT.as_secs()
                        )))
                    })
            })
        };
        match ensured {
            Ok(Ok(created)) => {
                info!(
                    "publishing to NATS at {} into stream {}{} as {}",
                    bus.settings.describe_servers(),
                    bus.settings.stream,
                    if created { " (created)" } else { "" },
                    bus.settings.subject
                );
                Ok(bus)
            }
            Ok(Err(stream::Refusal::Usage(why))) => Err(Failure::Refused(why)),
            Ok(Err(stream::Refusal::Failed(why))) | Err(why) => Err(fatal(why)),
        }
    }

    /// The JetStream context, for the lease keeper and `tail`.
    pub(crate) fn jetstream(&self) -> &Context {
        &self.jetstream
    }

    /// Runs `future` on the bus thread and waits for its result on this (non-runtime)
    /// thread.
    ///
    /// # Errors
    /// The bus thread is gone.
    pub(crate) fn run<F>(&self, future: F) -> Result<F::Output, String>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        run_on(&self.handle, future)
    }

    /// Spawns `future` on the bus thread.
    pub(crate) fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(future);
    }

    /// The output of `symbol`'s pipeline: its publishing task, started now.
    pub(crate) fn output(
        &self,
        symbol: &Symbol,
        kinds: &[StreamKind],
        stop: StopToken,
        stats: Arc<SymbolStats>,
    ) -> NatsOutput {
        let market = self.market.name();
        let routes = kinds
            .iter()
            .map(|kind| StreamRoute {
                subject: self
                    .settings
                    .subject
                    .render(market, &kind.name(), symbol.as_str())
                    .into(),
                id_prefix: message_id_prefix(self.market, symbol, *kind),
            })
            .collect();
        let marker_subject = self
            .settings
            .subject
            .render(market, "gap", symbol.as_str())
            .into();
        let (publisher, output) = Publisher::new(
            self.jetstream.clone(),
            (routes, marker_subject),
            stats,
            stop,
            symbol.as_str(),
            format!("NATS ({})", self.settings.describe_servers()),
            window_lines(self.symbols),
        );
        self.handle.spawn(publisher.run());
        output
    }

    /// Flushes what the client still holds and stops the thread.
    pub(crate) fn close(self) {
        let client = self.client.clone();
        let _ = self.run(async move {
            let _ = tokio::time::timeout(Duration::from_millis(500), client.flush()).await;
        });
        drop(self.thread);
    }
}

/// Runs `future` on the runtime behind `handle`, waiting on this thread.
fn run_on<F>(handle: &Handle, future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = sender.send(future.await);
    });
    receiver
        .recv()
        .map_err(|_| "the NATS client's thread stopped".to_owned())
}

/// Connects to the first server that answers; reconnects for ever after a loss.
async fn connect(servers: Vec<async_nats::ServerAddr>) -> Result<Client, async_nats::ConnectError> {
    ConnectOptions::new()
        .name("binance-listen")
        .connection_timeout(CONNECT_TIMEOUT)
        .max_reconnects(None)
        .reconnect_delay_callback(reconnect_delay)
        .event_callback(|event| async move {
            match event {
                Event::Disconnected => warn!("lost the NATS server: reconnecting"),
                Event::Connected => info!("connected to the NATS server"),
                // Every failed reconnection attempt reports one; the loss was said once.
                Event::ClientError(error) => debug!("NATS: {error}"),
                Event::SlowConsumer(_) | Event::Draining | Event::Closed => {}
                other => warn!("NATS: {other}"),
            }
        })
        .connect(servers)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_to_two_seconds() {
        assert_eq!(reconnect_delay(0), Duration::from_millis(100));
        assert_eq!(reconnect_delay(1), Duration::from_millis(200));
        assert_eq!(reconnect_delay(4), Duration::from_millis(1600));
        assert_eq!(reconnect_delay(9), Duration::from_secs(2));
    }
}
