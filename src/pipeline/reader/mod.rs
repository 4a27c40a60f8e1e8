//! The reader thread (`ws-<SYMBOL>`): owns the symbol's blocking WebSocket. It reads frames,
//! stamps their receive time and hands them to the symbol's queue, doing as little as
//! possible so it always keeps up with the socket and keeps answering pings (tungstenite
//! queues the pong inside `read` and sends it on the next one, at once).
//!
//! It also keeps the stream alive:
//! - **reconnects** after any loss with jittered exponential backoff, which starts over only
//!   after a healthy connection (at once after a clean close of one: Binance's daily cut),
//!   every attempt paced by the shared [`ConnectLimiter`] and held back by an exchange's
//!   `Retry-After`; a server that refuses the stream for good (HTTP 404) is not retried;
//! - **detects stalls**: after [`Liveness::ping_after`] of silence it pings, and a ping left
//!   unanswered for [`Liveness::pong_timeout`] means the link is dead; a handshake or a
//!   frame that trickles in is cut off at its deadline ([`watched`]); a stream that answers
//!   pings but sends no data for its [`SilenceLimit`] is replaced ([`health`]);
//! - **rolls over make-before-break**: before a connection reaches its maximum age (or when
//!   the server announces `serverShutdown`) it opens the replacement, reads both, holds the
//!   new one's frames until the old one has caught up with them, then closes the old one.
//!   The processor drops the overlap's duplicates, so no id is lost or written twice.

pub(crate) mod backoff;
pub(crate) mod connect;
pub(crate) mod health;
pub(crate) mod hints;
pub(crate) mod limiter;
pub(crate) mod link;
mod notes;
mod opening;
mod rollover;
pub(crate) mod watched;

use std::io;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use tracing::warn;
use tungstenite::Utf8Bytes;

use crate::control::events::{AppEvent, ExitGuard};
use crate::control::stop::StopToken;
use crate::control::supervise::{Supervision, supervise};
use crate::pipeline::queue::{Frame, FrameSender, Pushed};
use crate::record::RecordTap;
use crate::stats::SymbolStats;
use crate::util::duration::format_duration;
use crate::util::throttle::Throttle;
use backoff::Backoff;
use binance_streams::Decoder;
use binance_streams::{Endpoint, Symbol};
use connect::Connector;
use health::{SilenceLimit, reconnect_wait, was_healthy};
use limiter::ConnectLimiter;
use link::{Link, Liveness, Received};
use watched::Deadlines;

/// Stack for a reader thread: reading frames (through TLS's record layer) needs 12–16 KiB;
/// connecting, which needs far more, happens on a thread of its own (`opening.rs`). What
/// is never touched costs address space only.
const READER_STACK_BYTES: usize = 256 * 1024;

/// How often queue-overflow drops and bad frames are reported, after the first report.
const REPORT_INTERVAL: Duration = Duration::from_secs(10);

/// Read timeout on each of two overlapping connections: short, so neither waits on the other.
const OVERLAP_TICK: Duration = Duration::from_millis(2);

/// Once the replacement delivers, the old connection has this long to catch up with it.
const MAX_CATCH_UP: Duration = Duration::from_secs(5);

/// A replacement that delivers nothing for this long (a quiet symbol) takes over anyway.
const QUIET_OVERLAP: Duration = Duration::from_secs(30);

/// Frames of the replacement held back during an overlap, at most.
const MAX_HELD_FRAMES: usize = 65_536;

/// The queue depth (for its high-water mark) is read every this many frames.
const QUEUE_DEPTH_SAMPLE_EVERY: u64 = 32;

/// A 429 without `Retry-After` still waits at least this long.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(5);

/// How each symbol's connections are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectionSettings {
    /// Open a replacement when a connection gets this old (`--max-connection-age`).
    pub max_age: Duration,
    /// Stall detection.
    pub liveness: Liveness,
    /// Largest frame accepted.
    pub max_frame_bytes: usize,
    /// Connection attempts allowed per window, across all symbols.
    pub attempts_per_window: u32,
    /// The window those attempts are counted in.
    pub attempt_window: Duration,
    /// Time for the TLS and WebSocket handshakes, however the server paces its answer.
    pub handshake_timeout: Duration,
    /// How long the connection may go without data; `None`: as long as it answers pings.
    pub silence: Option<SilenceLimit>,
}

impl ConnectionSettings {
    /// The deadlines a connection's socket reads keep: the handshake's, and a message's
    /// (as long as a ping's answer may take: nothing a healthy server sends takes longer).
    fn deadlines(&self) -> Deadlines {
        Deadlines {
            handshake: self.handshake_timeout,
            message: self.liveness.pong_timeout,
        }
    }
}

/// Everything one reader needs; built by `app`, moved into the thread.
pub(crate) struct Reader {
    /// The symbol served.
    pub symbol: Symbol,
    /// Decodes frames (for ids while two connections overlap).
    pub decoder: Decoder,
    /// The stream URL to open.
    pub url: String,
    /// The endpoint the URL belongs to (host, port, TLS).
    pub endpoint: Endpoint,
    /// Opens connections.
    pub connector: Arc<Connector>,
    /// Paces connection attempts across all readers.
    pub limiter: Arc<ConnectLimiter>,
    /// Ages, timeouts and limits.
    pub settings: ConnectionSettings,
    /// The pipeline's stop token.
    pub stop: StopToken,
    /// The symbol's counters.
    pub stats: Arc<SymbolStats>,
    /// Tells `app` when the symbol cannot be served.
    pub events: Sender<AppEvent>,
    /// Hands every queued frame to the symbol's recorder too (`--record`).
    pub recorder: Option<RecordTap>,
}

/// Starts the reader thread.
///
/// # Errors
/// The OS refused to create the thread.
pub(crate) fn spawn_reader(reader: Reader, frames: FrameSender) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(reader.symbol.thread_name("ws-"))
        .stack_size(READER_STACK_BYTES)
        .spawn(move || reader.run(frames))
}

/// What happens after a connection's reading loop.
enum Next {
    /// The pipeline stops; every socket is closed.
    Stopped,
    /// Carry on with this connection (the replacement after a rollover, or the old one
    /// when its replacement failed).
    Continue(Box<Link>),
    /// The connection was lost; reconnect.
    Lost {
        /// What happened, for the log line.
        reason: String,
        /// How it ended.
        cause: Cause,
        /// The lost connection's number and age.
        number: u64,
        age: Duration,
        /// Whether it had been healthy (see [`was_healthy`]).
        healthy: bool,
    },
}

/// How a connection was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The server closed it cleanly (a close frame, or a clean end).
    Closed,
    /// An error, a dead link, a frame that cannot be read.
    Failed,
    /// No data for its silence limit, though it answered pings.
    Silent,
}

/// Why no connection could be opened.
enum NotOpened {
    Stopped,
    Fatal(String),
}

/// State that survives reconnects (and restarts after an internal error).
struct Session {
    /// The symbol's queue.
    frames: FrameSender,
    /// Frames pushed, for sampling the queue depth.
    pushes: u64,
    backoff: Backoff,
    connections: u64,
    drops: Throttle,
    /// Binary frames, control-frame floods, oversized frames.
    bad_frames: [Throttle; 3],
    /// Connections replaced for silence in a row (see [`health`]).
    silent_streak: u32,
    /// The recorder's tap, with `--record`.
    tap: Option<RecordTap>,
}

impl Reader {
    fn run(mut self, frames: FrameSender) {
        // Every log line of this thread names its symbol through this span.
        let _span = tracing::info_span!("reader", symbol = %self.symbol).entered();
        let _guard = ExitGuard {
            symbol: self.symbol.clone(),
            role: "reader",
            stop: self.stop.clone(),
            events: self.events.clone(),
        };
        let mut session = Session {
            frames,
            pushes: 0,
            backoff: Backoff::new(),
            connections: 0,
            drops: Throttle::new(REPORT_INTERVAL),
            bad_frames: std::array::from_fn(|_| Throttle::new(REPORT_INTERVAL)),
            silent_streak: 0,
            tap: self.recorder.take(),
        };
        let outcome = supervise(&self.symbol, "reader", &self.stop, || {
            self.serve(&mut session);
        });
        if outcome == Err(Supervision::GaveUp) {
            let _ = self.events.send(AppEvent::PipelineFailed(
                self.symbol.clone(),
                "its reader kept failing on internal errors".to_owned(),
            ));
        }
    }

    /// Connects, reads, reconnects, until the pipeline stops or the symbol cannot be served.
    fn serve(&self, session: &mut Session) {
        let mut carried: Option<Box<Link>> = None;
        loop {
            let link = match carried.take() {
                Some(link) => link,
                None => match self.open(session) {
                    Ok(link) => link,
                    Err(NotOpened::Stopped) => return,
                    Err(NotOpened::Fatal(reason)) => {
                        let _ = self
                            .events
                            .send(AppEvent::PipelineFailed(self.symbol.clone(), reason));
                        return;
                    }
                },
            };
            let next = self.read_link(link, session);
            if !matches!(next, Next::Continue(_)) {
                self.stats.connection.closed();
            }
            match next {
                Next::Stopped => return,
                Next::Continue(link) => carried = Some(link),
                Next::Lost {
                    reason,
                    cause,
                    number,
                    age,
                    healthy,
                } => {
                    let clean = cause == Cause::Closed;
                    let wait = reconnect_wait(clean, healthy, &mut session.backoff);
                    let reason = self.note_loss(cause, reason, age, session);
                    warn!(
                        "connection #{number} lost after {} ({reason}); reconnecting in {}",
                        format_duration(age),
                        format_duration(wait)
                    );
                    if !self.stop.sleep(wait) {
                        return;
                    }
                }
            }
        }
    }

    /// Reads `link` until it is lost, replaced or the pipeline stops.
    // Not inlined into `serve`: connecting (`open`, called from `serve`) and reading then
    // share the same stack pages instead of one going deeper than the other's frame.
    #[inline(never)]
    fn read_link(&self, mut link: Box<Link>, session: &mut Session) -> Next {
        let mut shutdown_announced = false;
        // The connection's age is looked at once per socket read (the receive clock moves
        // with each), not per frame: a read brings tens of frames under load, and a clock
        // read per frame was a tenth of the reader's time. Reads that brought no data
        // (idle ticks, pings) set `age_due` so a quiet link is still looked at.
        let mut clock_seen = u64::MAX;
        let mut age_due = true;
        loop {
            if self.stop.is_triggered() {
                link.close(self.stop.is_triggered());
                return Next::Stopped;
            }
            let read_at = link.received_at();
            if read_at != clock_seen {
                clock_seen = read_at;
                age_due = true;
            }
            if shutdown_announced
                || (std::mem::take(&mut age_due) && Instant::now() >= link.replace_at)
            {
                let why = if shutdown_announced {
                    "the server announced a shutdown"
                } else {
                    "reached its maximum age"
                };
                return self.replace(link, why, session);
            }
            match link.read() {
                Received::Data(payload) => {
                    if is_server_shutdown(&payload) {
                        self.note_server_shutdown(&link);
                        shutdown_announced = true;
                        continue;
                    }
                    let frame = self.stamp(payload, &link);
                    if !self.enqueue(frame, session) {
                        link.close(self.stop.is_triggered());
                        return Next::Stopped;
                    }
                }
                Received::Idle => {
                    age_due = true;
                    if let Some(next) = self.check_health(&mut link, Instant::now(), session) {
                        return next;
                    }
                }
                Received::Closed(reason) => return lost(&link, reason, Cause::Closed),
                Received::Failed(reason) => {
                    if self.stop.is_triggered() {
                        return Next::Stopped;
                    }
                    return lost(&link, reason, Cause::Failed);
                }
                // Pings and pongs come back as messages, not as idle reads: a server that
                // pings more often than the read timeout must not hold the timers off.
                Received::Control { flood: false } => {
                    if let Some(next) = self.check_health(&mut link, Instant::now(), session) {
                        return next;
                    }
                }
                other => {
                    if let Some(reason) = self.note_bad_frame(&other, session) {
                        return lost(&link, reason, Cause::Failed);
                    }
                }
            }
        }
    }

    /// Wraps a payload with its receive time (when its bytes were read) and connection,
    /// and counts it received.
    fn stamp(&self, payload: Utf8Bytes, link: &Link) -> Frame {
        let counters = &self.stats.reader;
        let recv_time_us = link.received_at();
        counters.received.add(1);
        counters.received_bytes.add(payload.len() as u64);
        counters.last_received_us.set(recv_time_us);
        Frame {
            payload,
            recv_time_us,
            connection: u32::try_from(link.number).unwrap_or(u32::MAX),
        }
    }

    /// Queues a frame under the overflow policy; `false` when the pipeline is stopping (the
    /// frame is then counted discarded, never written).
    fn enqueue(&self, frame: Frame, session: &mut Session) -> bool {
        // Recorded before it is queued: a frame the queue drops to overflow is kept.
        if let Some(tap) = &mut session.tap {
            tap.offer(&frame.payload, frame.recv_time_us, frame.connection);
        }
        session.pushes = session.pushes.wrapping_add(1);
        if session.pushes.is_multiple_of(QUEUE_DEPTH_SAMPLE_EVERY) {
            // Reading the depth touches the processor's side of the queue: sample it.
            let depth = session.frames.len() as u64;
            self.stats.reader.queue_high_water.raise_to(depth);
        }
        match session.frames.push(frame, &self.stop) {
            Pushed::Queued { dropped: 0 } => {}
            Pushed::Queued { dropped } => self.note_drops(dropped, session),
            Pushed::Stopped | Pushed::Closed => {
                self.stats.reader.discarded.add(1);
                return false;
            }
        }
        !self.stop.is_triggered()
    }
}

fn lost(link: &Link, reason: String, cause: Cause) -> Next {
    let age = link.age();
    Next::Lost {
        reason,
        cause,
        number: link.number,
        age,
        healthy: was_healthy(link.delivered, age),
    }
}

/// Binance's planned-shutdown notice: `{"e":"serverShutdown",...}` on a raw connection,
/// `{"stream":"!serverShutdown",...}` on a combined one. A prefix test: a market-data frame
/// fails it within its first bytes, so it costs nothing per message.
fn is_server_shutdown(payload: &str) -> bool {
    payload.starts_with(r#"{"e":"serverShutdown""#)
        || payload.starts_with(r#"{"stream":"!serverShutdown""#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_shutdown_notices_are_recognised_by_prefix() {
        assert!(is_server_shutdown(
            r#"{"e":"serverShutdown","E":1770123456789}"#
        ));
        assert!(!is_server_shutdown(r#"{"e":"trade","E":1}"#));
    }
}
