//! The reader thread (`ws-<SYMBOL>`): owns the symbol's one blocking WebSocket. It reads
//! frames, stamps their receive time and hands them to the symbol's queue, doing as little
//! as possible so it always keeps up with the socket and keeps answering pings (tungstenite
//! queues the pong inside `read`). It reconnects with jittered backoff when the connection
//! is lost and sends a close frame when asked to stop.

pub mod backoff;
pub mod connect;

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::Sender;
use tracing::{error, info, warn};
use tungstenite::Message;
use tungstenite::protocol::CloseFrame;

use crate::app::{AppEvent, ExitGuard};
use crate::log::Throttle;
use crate::queue::{Frame, FrameSender, Pushed};
use crate::rand::{Rng, hash_str};
use crate::spec::{Endpoint, Symbol};
use crate::stats::SymbolStats;
use crate::stop::StopToken;
use crate::units::format_duration;
use backoff::Backoff;
use connect::{ConnectError, Connector, Socket};

/// Stack for a reader thread. TLS handshakes are the deepest thing it does.
const READER_STACK_BYTES: usize = 256 * 1024;

/// A connection that lived this long was healthy: the next failure starts backoff over.
const HEALTHY_CONNECTION: Duration = Duration::from_secs(30);

/// How long to wait for the server's reply to our close frame before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_millis(300);

/// How often queue-overflow drops are reported, after the first report.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// Everything one reader needs; built by `app`, moved into the thread.
pub struct Reader {
    /// The symbol served.
    pub symbol: Symbol,
    /// The stream URL to open.
    pub url: String,
    /// The endpoint the URL belongs to (host, port, TLS).
    pub endpoint: Endpoint,
    /// Opens connections.
    pub connector: Arc<Connector>,
    /// The symbol's queue.
    pub frames: FrameSender,
    /// The pipeline's stop token.
    pub stop: StopToken,
    /// The symbol's counters.
    pub stats: Arc<SymbolStats>,
    /// Tells `app` when the symbol cannot be served.
    pub events: Sender<AppEvent>,
}

/// Starts the reader thread.
///
/// # Errors
/// The OS refused to create the thread.
pub fn spawn_reader(reader: Reader) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(reader.symbol.thread_name("ws-"))
        .stack_size(READER_STACK_BYTES)
        .spawn(move || reader.run())
}

/// How a connection ended.
enum Ended {
    /// We were asked to stop (or the processor is gone); the close frame was sent.
    Stopped,
    /// The connection was lost; reconnect.
    Lost {
        /// What happened, for the log line.
        reason: String,
        /// The server closed it cleanly (Binance does so every 24 h).
        clean: bool,
    },
}

impl Reader {
    fn run(self) {
        let _guard = ExitGuard {
            symbol: self.symbol.clone(),
            role: "reader",
            stop: self.stop.clone(),
            events: self.events.clone(),
        };
        let mut backoff = Backoff::new(Rng::from_entropy(hash_str(self.symbol.as_str())));
        let mut drops = Throttle::new(DROP_REPORT_INTERVAL);
        let host_port = self.endpoint.host_port();
        loop {
            let wait = match self
                .connector
                .connect(&self.url, &self.endpoint, &self.stop)
            {
                Ok(socket) => {
                    let connects = self.stats.reader.connects.get();
                    self.stats.reader.connects.add(1);
                    if connects == 0 {
                        info!("{}: connected to {}", self.symbol, self.url);
                    } else {
                        info!("{}: reconnected to {}", self.symbol, self.url);
                    }
                    let connected_at = Instant::now();
                    match self.read_frames(socket, &mut drops) {
                        Ended::Stopped => return,
                        Ended::Lost { reason, clean } => {
                            let healthy = connected_at.elapsed() >= HEALTHY_CONNECTION;
                            if healthy {
                                backoff.reset();
                            }
                            // A long-lived connection closed cleanly is routine (the 24 h
                            // cut): come straight back. A short-lived one backs off, so a
                            // server that accepts and closes at once is not hammered.
                            let wait = if clean && healthy {
                                Duration::ZERO
                            } else {
                                backoff.next_delay()
                            };
                            warn!(
                                "{}: connection to {host_port} lost ({reason}); reconnecting in {}",
                                self.symbol,
                                format_duration(wait)
                            );
                            wait
                        }
                    }
                }
                Err(ConnectError::Stopped) => return,
                Err(failure) if failure.is_fatal() => {
                    error!("{}: {failure}", self.symbol);
                    let _ = self.events.send(AppEvent::PipelineFailed(
                        self.symbol.clone(),
                        failure.to_string(),
                    ));
                    return;
                }
                Err(failure) => {
                    let mut wait = backoff.next_delay();
                    if let Some(retry_after) = failure.retry_after() {
                        wait = wait.max(retry_after);
                    }
                    warn!(
                        "{}: {failure}; retrying in {}",
                        self.symbol,
                        format_duration(wait)
                    );
                    wait
                }
            };
            if !self.stop.sleep(wait) {
                return;
            }
        }
    }

    /// Reads frames into the queue until the connection ends or the pipeline stops.
    fn read_frames(&self, mut socket: Socket, drops: &mut Throttle) -> Ended {
        let counters = &self.stats.reader;
        let mut bad_frames = Throttle::new(DROP_REPORT_INTERVAL);
        let mut server_close: Option<String> = None;
        loop {
            match socket.read() {
                Ok(Message::Text(payload)) => {
                    counters.received.add(1);
                    counters.received_bytes.add(payload.len() as u64);
                    let frame = Frame {
                        payload,
                        recv_time_us: unix_micros(),
                    };
                    match self.frames.push(frame, &self.stop) {
                        Pushed::Queued { dropped: 0 } => {}
                        Pushed::Queued { dropped } => {
                            counters.dropped.add(dropped);
                            if let Some(count) = drops.record(dropped, Instant::now()) {
                                self.report_drops(count);
                            }
                        }
                        Pushed::Stopped | Pushed::Closed => return close(socket),
                    }
                    if self.stop.is_triggered() {
                        return close(socket);
                    }
                }
                Ok(Message::Binary(data)) => {
                    counters.bad_frames.add(1);
                    if let Some(count) = bad_frames.record(1, Instant::now()) {
                        warn!(
                            "{}: skipped {count} binary frame(s); latest {} bytes",
                            self.symbol,
                            data.len()
                        );
                    }
                }
                Ok(Message::Close(frame)) => server_close = Some(describe_close(frame.as_ref())),
                Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => {}
                Err(tungstenite::Error::Io(error)) if is_timeout(&error) => {
                    if self.stop.is_triggered() {
                        return close(socket);
                    }
                    if let Some(count) = drops.due(Instant::now()) {
                        self.report_drops(count);
                    }
                }
                Err(tungstenite::Error::ConnectionClosed) => {
                    return Ended::Lost {
                        reason: server_close.unwrap_or_else(|| "closed by the server".to_owned()),
                        clean: true,
                    };
                }
                Err(error) => {
                    if self.stop.is_triggered() {
                        return Ended::Stopped;
                    }
                    return Ended::Lost {
                        reason: error.to_string(),
                        clean: false,
                    };
                }
            }
        }
    }

    fn report_drops(&self, count: u64) {
        warn!(
            "{}: queue full ({} frames), dropped {count} frame(s) ({})",
            self.symbol,
            self.frames.capacity(),
            self.frames.policy()
        );
    }
}

/// Sends a close frame and waits briefly for the reply, so the server sees a clean close.
fn close(mut socket: Socket) -> Ended {
    if socket.close(None).is_ok() {
        let deadline = Instant::now() + CLOSE_GRACE;
        while Instant::now() < deadline {
            match socket.read() {
                Ok(_) => {}
                Err(tungstenite::Error::Io(error)) if is_timeout(&error) => {}
                Err(_) => break,
            }
        }
    }
    Ended::Stopped
}

fn describe_close(frame: Option<&CloseFrame>) -> String {
    match frame {
        Some(frame) if frame.reason.is_empty() => {
            format!("closed by the server with code {}", u16::from(frame.code))
        }
        Some(frame) => format!(
            "closed by the server with code {}: {}",
            u16::from(frame.code),
            frame.reason
        ),
        None => "closed by the server".to_owned(),
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Wall-clock microseconds since the Unix epoch (a vDSO call, not a syscall).
fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as u64)
}
