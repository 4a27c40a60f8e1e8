//! [`MockExchange`]: a real WebSocket server on 127.0.0.1 that speaks Binance's stream
//! protocol: raw `/ws/<symbol>@<kind>` and combined `/stream?streams=<s1>/<s2>` paths (after
//! any route prefix such as `/market`), Binance's payloads for every stream kind, spot or
//! USD-M or COIN-M futures ([`MockConfig::futures`], [`MockConfig::coin_futures`]), server pings, a chosen rate per stream (up to as
//! fast as possible), ids per stream that continue across reconnects, and optional TLS.
//! Tests start it on an ephemeral port; `--simulate` runs one in-process with lively prices;
//! `examples/mock_exchange.rs` runs it alone.
//!
//! Threads: one accept thread (`mock-accept`) and one per connection (`mock-conn-N`).
//! Dropping the exchange (or [`MockExchange::shutdown`]) stops and joins them all.

#![forbid(unsafe_code)]

mod connection;
mod faults;
mod feed;
mod handshake;
mod log;
mod path;
mod rand;
mod rest;
mod session;
mod stream;

pub use faults::{BadFrame, CloseNotice, Faults, IdJump, Rejection};
pub use feed::{BookTop, Feed, TrueBook};
pub use log::{RECORDED_DEPTH, StreamLog};

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use native_tls::{Identity, TlsAcceptor};

use binance_streams::StreamKind;

/// How fast each stream sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// About this many messages per second per stream.
    PerSecond(f64),
    /// As fast as the connection takes them.
    Unlimited,
}

/// A server certificate and key, PEM-encoded, for `wss://`.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The certificate chain, leaf first.
    pub cert_pem: Vec<u8>,
    /// The leaf's private key (PKCS#8).
    pub key_pem: Vec<u8>,
}

/// What the mock exchange does. Start from [`MockConfig::new`] and chain the setters.
#[derive(Clone)]
pub struct MockConfig {
    port: u16,
    rate: Rate,
    count: Option<u64>,
    ping_interval: Option<Duration>,
    lively: bool,
    micros: bool,
    market: bool,
    futures: bool,
    coin_futures: bool,
    faults: Faults,
    tls: Option<TlsIdentity>,
    record_books: bool,
}

impl MockConfig {
    /// 10 messages per second per stream, evenly spaced, no pings, plain `ws://`,
    /// on an ephemeral port.
    pub fn new() -> Self {
        Self {
            port: 0,
            rate: Rate::PerSecond(10.0),
            count: None,
            ping_interval: None,
            lively: false,
            micros: false,
            market: false,
            futures: false,
            coin_futures: false,
            faults: Faults::default(),
            tls: None,
            record_books: false,
        }
    }

    /// Records each diff-depth stream's true book (its top [`RECORDED_DEPTH`] levels a
    /// side) after every event, for [`MockExchange::book_top`].
    pub fn record_books(mut self, record: bool) -> Self {
        self.record_books = record;
        self
    }

    /// What `--simulate` runs: about 8 trades a second per symbol, arriving at random with
    /// occasional bursts, like a real market.
    pub fn simulation() -> Self {
        Self::new().rate(Rate::PerSecond(8.0)).lively(true)
    }

    /// Listen on this port (0 = any free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Messages per second per stream.
    pub fn rate(mut self, rate: Rate) -> Self {
        self.rate = rate;
        self
    }

    /// Send ids 1..=count on each stream (across its connections), then stay connected and quiet.
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Send a ping on every connection this often.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = Some(interval);
        self
    }

    /// Random (Poisson) arrivals with bursts instead of even spacing.
    pub fn lively(mut self, lively: bool) -> Self {
        self.lively = lively;
        self
    }

    /// Event and trade times in microseconds, as Binance sends them with
    /// `timeUnit=MICROSECOND`: benchmarks measure latency from them.
    pub fn micros(mut self, micros: bool) -> Self {
        self.micros = micros;
        self
    }

    /// Market mode: events happen on the clock whether anyone listens. Every connection to a
    /// stream gets the same ids at the same time, from the moment it connects. Without it,
    /// each connection continues where the stream's last one stopped.
    pub fn market(mut self, market: bool) -> Self {
        self.market = market;
        self
    }

    /// USD-M futures payloads instead of spot's for the kinds whose shapes differ (aggTrade,
    /// bookTicker, depth, partial depth, ticker); see [`Feed::futures`]. Paths are served
    /// with or without the `/public` and `/market` route prefixes either way.
    pub fn futures(mut self, futures: bool) -> Self {
        self.futures = futures;
        self
    }

    /// COIN-M futures payloads: USD-M's shapes (as [`MockConfig::futures`]) plus the pair,
    /// `ps`, in depth and partial-depth events, as `coinm_depthUpdate.json`: the symbol up
    /// to its `_` (`btcusd_perp` → `BTCUSD`). The other kinds are as on USD-M.
    pub fn coin_futures(mut self, coin_futures: bool) -> Self {
        self.coin_futures = coin_futures;
        self
    }

    /// The faults to inject. On a combined connection, the message counts of
    /// per-connection faults are of the connection's data messages across all its streams.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Serve `wss://` with this identity.
    pub fn tls(mut self, identity: TlsIdentity) -> Self {
        self.tls = Some(identity);
        self
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// Something the mock saw, for tests to wait on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockEvent {
    /// A client completed the WebSocket handshake on `path`.
    Connected {
        /// Connection number, from 1.
        connection: u64,
        /// The request path with its query, e.g. `/ws/ethusdt@trade` or
        /// `/stream?streams=ethusdt@trade/ethusdt@depth`.
        path: String,
        /// When the handshake completed.
        at: Instant,
    },
    /// The client sent a close frame.
    ClientClosed {
        /// Connection number.
        connection: u64,
    },
    /// The client answered a ping.
    Pong {
        /// Connection number.
        connection: u64,
        /// The pong's payload (a correct pong echoes the ping's).
        payload: Vec<u8>,
    },
    /// The connection ended.
    Disconnected {
        /// Connection number.
        connection: u64,
        /// Data messages sent on it, across all its streams.
        sent: u64,
        /// When it ended.
        at: Instant,
    },
    /// A TLS or WebSocket handshake failed (for instance: the client rejected our certificate).
    HandshakeFailed {
        /// Why.
        detail: String,
    },
    /// Every stream of the connection has sent all [`MockConfig::count`] ids (a stream
    /// that had sent them all before this connection counts as done), and every frame has
    /// been handed to the TCP socket, nothing left in the mock's buffers: a client reading
    /// now gets the whole burst without waiting on the mock. Once per connection; never
    /// without a count, nor on a connection a fault cut short or silenced first.
    AllSent {
        /// Connection number.
        connection: u64,
        /// The request path with its query, as in [`MockEvent::Connected`].
        path: String,
        /// Data messages sent on the connection so far, across all its streams.
        sent: u64,
    },
    /// A REST depth snapshot was asked for (`GET /api/v3/depth`, `/fapi/v1/depth`,
    /// `/dapi/v1/depth`) and answered.
    Snapshot {
        /// The symbol asked for, as given.
        symbol: String,
        /// The depth asked for (`limit`, default 100).
        limit: usize,
        /// The HTTP status sent.
        status: u16,
        /// The snapshot's `lastUpdateId`, when one was sent.
        last_update_id: Option<u64>,
        /// Whether it was a stale one (`Faults::stale_snapshots`).
        stale: bool,
        /// When the answer had been written.
        at: Instant,
    },
    /// An upgrade was answered with an HTTP error (a [`Rejection`] fault).
    Rejected {
        /// The status sent.
        status: u16,
        /// When.
        at: Instant,
    },
}

/// State shared by the accept thread and the connection threads.
struct Shared {
    config: MockConfig,
    tls: Option<TlsAcceptor>,
    stopping: AtomicBool,
    panicked: AtomicBool,
    next_connection: AtomicU64,
    /// Upgrades answered so far (for `Faults::reject_upgrades`).
    upgrades: AtomicU64,
    /// REST snapshot requests so far (for the snapshot faults).
    snapshots: AtomicU64,
    started: Instant,
    streams: Mutex<HashMap<String, Arc<Mutex<StreamLog>>>>,
    events: Sender<MockEvent>,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    fn emit(&self, event: MockEvent) {
        // Nobody listening (the exchange is being dropped) is fine.
        let _ = self.events.send(event);
    }

    /// The log of `stream` (e.g. `ethusdt@trade`), created on first use with the configured
    /// flavor and time unit. Raw and combined connections to a stream share it.
    fn stream(&self, stream: &str, symbol: &str, kind: StreamKind) -> Arc<Mutex<StreamLog>> {
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let new_log = || {
            let feed = Feed::new(symbol, kind, 1)
                .futures(self.config.futures)
                .coin_futures(self.config.coin_futures)
                .micros(self.config.micros);
            let stale = self.config.faults.stale_snapshots > 0;
            let log = StreamLog::from_feed(feed).keep_books(self.config.record_books, stale);
            Arc::new(Mutex::new(log))
        };
        Arc::clone(streams.entry(stream.to_owned()).or_insert_with(new_log))
    }

    /// The ordinal a connection to `streams` will have for per-connection faults, if it
    /// completes its upgrade: one more than the most connections any of them has had.
    fn prospective_ordinal(&self, streams: &[path::StreamName]) -> u64 {
        let logs = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        let served = |stream: &path::StreamName| {
            logs.get(&stream.name).map_or(0, |log| {
                log.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .connections
            })
        };
        streams.iter().map(served).max().unwrap_or(0) + 1
    }

    /// The rejection for the next upgrade, if the faults still call for one.
    fn next_rejection(&self) -> Option<Rejection> {
        let index = self.upgrades.fetch_add(1, Ordering::Relaxed);
        usize::try_from(index)
            .ok()
            .and_then(|index| self.config.faults.reject_upgrades.get(index).copied())
    }
}

/// A running mock exchange. Dropping it stops it.
pub struct MockExchange {
    address: SocketAddr,
    shared: Arc<Shared>,
    events: Receiver<MockEvent>,
    accept_thread: Option<JoinHandle<()>>,
}

impl MockExchange {
    /// Binds 127.0.0.1 and starts serving.
    ///
    /// # Errors
    /// The port cannot be bound, the TLS identity is invalid, or a thread cannot start.
    pub fn start(config: MockConfig) -> io::Result<Self> {
        let tls = match &config.tls {
            Some(identity) => {
                let identity = Identity::from_pkcs8(&identity.cert_pem, &identity.key_pem)
                    .and_then(TlsAcceptor::new)
                    .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
                Some(identity)
            }
            None => None,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
        let address = listener.local_addr()?;
        let (sender, events) = unbounded();
        let shared = Arc::new(Shared {
            config,
            tls,
            stopping: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            next_connection: AtomicU64::new(1),
            upgrades: AtomicU64::new(0),
            snapshots: AtomicU64::new(0),
            started: Instant::now(),
            streams: Mutex::new(HashMap::new()),
            events: sender,
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name("mock-accept".to_owned())
            .spawn(move || accept_loop(&listener, &accept_shared))?;
        Ok(Self {
            address,
            shared,
            events,
            accept_thread: Some(accept_thread),
        })
    }

    /// The base URL to give `--endpoint`: `ws://127.0.0.1:PORT`, or `wss://localhost:PORT`
    /// with TLS (certificates name `localhost`).
    pub fn url(&self) -> String {
        if self.shared.tls.is_some() {
            format!("wss://localhost:{}", self.address.port())
        } else {
            format!("ws://{}", self.address)
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The true book of diff-depth stream `stream` (`ethusdt@depth@100ms`) at
    /// `update_id`: its top levels, when [`MockConfig::record_books`] is on and the id ends
    /// one of its events (or is the id before the first) not yet forgotten.
    pub fn book_top(&self, stream: &str, update_id: u64) -> Option<BookTop> {
        let log = {
            let streams = self
                .shared
                .streams
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            Arc::clone(streams.get(stream)?)
        };
        let log = log.lock().unwrap_or_else(PoisonError::into_inner);
        log.book_top_at(update_id)
    }

    /// What the exchange saw, in order.
    pub fn events(&self) -> &Receiver<MockEvent> {
        &self.events
    }

    /// Stops the exchange, closing every connection with a close frame, and joins its threads.
    ///
    /// # Errors
    /// A thread of the exchange panicked.
    pub fn shutdown(mut self) -> Result<(), String> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), String> {
        let Some(accept_thread) = self.accept_thread.take() else {
            return Ok(());
        };
        self.shared.stopping.store(true, Ordering::Relaxed);
        // Wake the blocking accept() so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if accept_thread.join().is_err() || self.shared.panicked.load(Ordering::Relaxed) {
            return Err("a mock exchange thread panicked".to_owned());
        }
        Ok(())
    }
}

impl Drop for MockExchange {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut connections: Vec<JoinHandle<()>> = Vec::new();
    for stream in listener.incoming() {
        if shared.stopping() {
            break;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.next_connection.fetch_add(1, Ordering::Relaxed);
        let connection_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("mock-conn-{id}"))
            .spawn(move || connection::serve(stream, id, &connection_shared));
        if let Ok(handle) = spawned {
            connections.push(handle);
        }
        let (finished, running): (Vec<_>, Vec<_>) = connections
            .into_iter()
            .partition(|handle| handle.is_finished());
        join_all(finished, shared);
        connections = running;
    }
    join_all(connections, shared);
}

/// Joins connection threads, remembering any panic for [`MockExchange::shutdown`].
fn join_all(handles: Vec<JoinHandle<()>>, shared: &Shared) {
    for handle in handles {
        if handle.join().is_err() {
            shared.panicked.store(true, Ordering::Relaxed);
        }
    }
}

/// Test helper: follows one stream's sequence points and says whether each comes right
/// after the last (by its kind's rule), as a listener's gap check would.
#[cfg(test)]
#[derive(Debug, Default)]
struct Chain(Option<u64>);

#[cfg(test)]
impl Chain {
    fn next(&mut self, point: binance_streams::SequencePoint) -> bool {
        let follows = self.0.is_none_or(|last| point.follows(last));
        self.0 = Some(point.id);
        follows
    }
}
