//! [`Link`]: one open connection and what the reader knows about its health: when it was
//! opened, when anything (and when data) last arrived, whether our own ping is outstanding.
//! Reading returns a [`Received`] that says what happened without the reader having to know
//! tungstenite's error taxonomy.

use std::io;
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::error::CapacityError;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::connect::{Opened, Socket};
use super::watched::{ReceiveClock, stalled, watched_tcp};
use crate::control::stop::Watch;
use crate::util::duration::format_duration;

/// How long to wait for the server's reply to our close frame before dropping the socket.
const CLOSE_GRACE: Duration = Duration::from_millis(300);

/// Pings or pongs per second beyond which the server is flooding control frames.
pub(crate) const CONTROL_FLOOD_PER_SECOND: u32 = 20;

/// When to ping a silent server and when to give up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Liveness {
    /// Silence after which we send our own ping.
    pub ping_after: Duration,
    /// Time after that ping within which something must arrive; also the most a message
    /// may take from its first bytes to its last (a server trickling a frame is dead too).
    pub pong_timeout: Duration,
}

/// What one read produced.
#[derive(Debug)]
pub(crate) enum Received {
    /// A text frame: market data (or something the processor will judge).
    Data(Utf8Bytes),
    /// A binary frame, not market data; its length.
    Binary(usize),
    /// A ping or pong; `true` when it exceeds the flood threshold.
    Control {
        /// Whether this frame is part of a flood.
        flood: bool,
    },
    /// Nothing arrived within the read timeout.
    Idle,
    /// The server closed the connection cleanly (its close frame's code and reason, if
    /// any, are in the text); our reply has been sent.
    Closed(String),
    /// A frame that cannot be read (above the size cap, or text that is not UTF-8): the
    /// connection cannot continue past it.
    Unreadable(String),
    /// The connection failed (reset, EOF, protocol error, a frame that trickles in).
    Failed(String),
}

/// One open connection of a reader.
pub(crate) struct Link {
    socket: Socket,
    tcp: Arc<TcpStream>,
    /// Keeps the socket watched by the stop token.
    _watch: Watch,
    clock: ReceiveClock,
    /// This symbol's connection number, from 1.
    pub number: u64,
    opened: Instant,
    last_heard: Instant,
    /// Something arrived since the timers last looked.
    heard: bool,
    ping_sent: Option<Instant>,
    pings: u64,
    /// Data frames delivered so far.
    pub delivered: u64,
    /// `delivered` when the timers last looked, and when data last arrived as of then.
    delivered_seen: u64,
    last_data: Instant,
    /// The receive clock's reading (µs since the Unix epoch) of the last data frame: one
    /// store per frame of a value already read, so `last_data` is exact however long the
    /// read timeout.
    last_data_us: u64,
    /// When the timers last looked: anything they learn of arrived after this.
    checked_at: Instant,
    /// The socket's read timeout now.
    read_timeout: Duration,
    /// When to open this connection's replacement.
    pub replace_at: Instant,
    control_window: (Instant, u32),
}

impl Link {
    /// Wraps a freshly opened connection; its replacement is due after `max_age`.
    pub(crate) fn new(opened: Opened, number: u64, max_age: Duration) -> Self {
        let now = Instant::now();
        Self {
            socket: opened.socket,
            tcp: opened.tcp,
            _watch: opened.watch,
            clock: opened.clock,
            number,
            opened: now,
            last_heard: now,
            heard: false,
            ping_sent: None,
            pings: 0,
            delivered: 0,
            delivered_seen: 0,
            last_data: now,
            last_data_us: 0,
            checked_at: now,
            read_timeout: super::connect::READ_TICK,
            replace_at: now + max_age,
            control_window: (now, 0),
        }
    }

    /// When the bytes of the frame just read arrived (µs since the Unix epoch).
    pub(crate) fn received_at(&self) -> u64 {
        self.clock.last_read_us()
    }

    /// How long the connection has been open.
    pub(crate) fn age(&self) -> Duration {
        self.opened.elapsed()
    }

    /// Sets how long a read may block.
    pub(crate) fn set_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        self.tcp.set_read_timeout(Some(timeout))?;
        self.read_timeout = timeout;
        Ok(())
    }

    /// Sets the read timeout to `timeout` unless it is already within a millisecond of
    /// it: the timers compute it afresh at every idle tick, a syscall only when it moves.
    pub(crate) fn adapt_read_timeout(&mut self, timeout: Duration) -> io::Result<()> {
        if self.read_timeout.abs_diff(timeout) < Duration::from_millis(1) {
            return Ok(());
        }
        self.set_read_timeout(timeout)
    }

    /// Reads one message (blocking up to the read timeout; a message whose bytes keep
    /// arriving must be complete within its budget, see [`watched`](super::watched)).
    pub(crate) fn read(&mut self) -> Received {
        if let Some(tcp) = watched_tcp(&mut self.socket) {
            tcp.begin_message();
        }
        let received = match self.socket.read() {
            Ok(Message::Text(payload)) => {
                self.delivered += 1;
                self.last_data_us = self.clock.last_read_us();
                Received::Data(payload)
            }
            Ok(Message::Binary(data)) => Received::Binary(data.len()),
            Ok(Message::Ping(_) | Message::Pong(_)) => Received::Control {
                flood: self.count_control(),
            },
            Ok(Message::Close(frame)) => {
                // tungstenite queued our reply; send it now, and take the connection for
                // closed at once: a server that never hangs up afterwards (or a proxy that
                // swallows the FIN) must not keep us waiting for our stall timers.
                let _ = self.socket.flush();
                Received::Closed(describe_close(frame.as_ref()))
            }
            Ok(Message::Frame(_)) => Received::Control { flood: false },
            Err(WsError::Io(error)) if is_timeout(&error) => return Received::Idle,
            Err(WsError::Io(error)) if stalled(&error).is_some() => {
                Received::Failed(error.to_string())
            }
            Err(WsError::ConnectionClosed) => Received::Closed("closed by the server".to_owned()),
            Err(WsError::Capacity(CapacityError::MessageTooLong { size, max_size })) => {
                Received::Unreadable(format!(
                    "a frame of {size} bytes exceeds the {max_size}-byte limit"
                ))
            }
            Err(WsError::Utf8(detail)) => {
                Received::Unreadable(format!("a text frame that is not UTF-8 ({detail})"))
            }
            Err(error) => Received::Failed(error.to_string()),
        };
        // Noted, not timed: a clock read per frame would cost more than the rest of the
        // read. `catch_up` turns it into a time (the receive clock's) when the timers look.
        self.heard = true;
        received
    }

    /// Counts a control frame; whether the last second holds more than the flood threshold.
    fn count_control(&mut self) -> bool {
        let now = Instant::now();
        let (since, count) = &mut self.control_window;
        if now.duration_since(*since) >= Duration::from_secs(1) {
            *since = now;
            *count = 0;
        }
        *count += 1;
        *count > CONTROL_FLOOD_PER_SECOND
    }

    /// Brings the timers' view up to `now`: when anything, and when data, last arrived.
    /// Exact to the receive clock (read at each socket read), not "at this tick", so the
    /// read timeout can be as long as the next timer allows. Bounded below by the last
    /// look, which a step of the wall clock cannot move.
    pub(crate) fn catch_up(&mut self, now: Instant) {
        let wall_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_micros() as u64);
        let since = self.checked_at;
        let at = |us: u64| {
            now.checked_sub(Duration::from_micros(wall_us.saturating_sub(us)))
                .map_or(now, |at| at.max(since))
        };
        if std::mem::take(&mut self.heard) {
            self.last_heard = at(self.clock.last_read_us());
            self.ping_sent = None;
        }
        if self.delivered != self.delivered_seen {
            self.delivered_seen = self.delivered;
            self.last_data = at(self.last_data_us);
        }
        self.checked_at = now;
    }

    /// Pings a silent server and declares it dead when the ping goes unanswered. After
    /// [`catch_up`](Self::catch_up).
    ///
    /// # Errors
    /// Why the connection is considered dead.
    pub(crate) fn keep_alive(&mut self, now: Instant, liveness: Liveness) -> Result<(), String> {
        match self.ping_sent {
            Some(sent) if now.duration_since(sent) >= liveness.pong_timeout => Err(format!(
                "nothing received for {} (a ping went unanswered for {})",
                format_duration(now.duration_since(self.last_heard)),
                format_duration(now.duration_since(sent))
            )),
            Some(_) => Ok(()),
            None if now.duration_since(self.last_heard) >= liveness.ping_after => {
                self.pings += 1;
                let payload = self.pings.to_be_bytes().to_vec();
                self.ping_sent = Some(now);
                match self.socket.send(Message::Ping(payload.into())) {
                    Ok(()) => Ok(()),
                    Err(WsError::Io(error)) if is_timeout(&error) => Ok(()),
                    Err(error) => Err(format!("cannot ping the server: {error}")),
                }
            }
            None => Ok(()),
        }
    }

    /// When [`keep_alive`](Self::keep_alive) next has something to do: ping, or give up
    /// (`None`: beyond what the clock can name).
    pub(crate) fn keep_alive_due(&self, liveness: Liveness) -> Option<Instant> {
        match self.ping_sent {
            Some(sent) => sent.checked_add(liveness.pong_timeout),
            None => self.last_heard.checked_add(liveness.ping_after),
        }
    }

    /// How long no data frame has arrived, as of `now`: since the last one, or since the
    /// connection opened. After [`catch_up`](Self::catch_up).
    pub(crate) fn silent_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_data)
    }

    /// When the last data frame arrived, as of the last [`catch_up`](Self::catch_up).
    pub(crate) fn last_data(&self) -> Instant {
        self.last_data
    }

    /// Sends a close frame and waits briefly for the reply, so the server sees a clean close.
    /// When the pipeline is stopping the read side is already shut: no reply can be read,
    /// so it returns once the close frame is sent.
    pub(crate) fn close(mut self, stopping: bool) {
        if self.socket.close(None).is_err() || stopping {
            return;
        }
        let deadline = Instant::now() + CLOSE_GRACE;
        while Instant::now() < deadline {
            match self.socket.read() {
                Ok(_) => {}
                Err(WsError::Io(error)) if is_timeout(&error) => {}
                Err(_) => break,
            }
        }
    }
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

/// Whether an I/O error is a read timeout rather than a failure.
pub(crate) fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
