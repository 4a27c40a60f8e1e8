//! [`WatchedTcp`]: the TCP socket under TLS and WebSocket, which enforces the deadlines a
//! server could otherwise defeat by trickling, watched by the pipeline's stop token.
//!
//! tungstenite and TLS loop on partial reads inside one call: a server that sends its
//! `101` answer a few bytes at a time, or a frame one byte every half second, keeps every
//! read short of the read timeout, so a deadline checked only when a read times out is
//! never checked. The deadlines live here instead, at the start of every socket read:
//! - during the TLS and WebSocket handshakes, an absolute deadline;
//! - once connected, a budget per message: the reader says when it asks for the next
//!   message ([`WatchedTcp::begin_message`]); once bytes of it have arrived and more are
//!   needed, it must be complete within the budget.
//!
//! Both fail the read with a [`Stalled`] error (kind `Other`, never `WouldBlock` or
//! `TimedOut`, which mean "nothing yet"), which [`stalled`] finds again under TLS and
//! tungstenite. The budget reuses the clock reading every read takes anyway
//! ([`ReceiveClock`]): no clock read is added per frame.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::stream::MaybeTlsStream;

use super::connect::Socket;
use crate::control::stop::StopToken;
use crate::util::duration::format_duration;

/// A server that keeps a connection busy without ever completing what it owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stalled {
    /// The TLS and WebSocket handshakes were not done within this time.
    Handshake(Duration),
    /// A message's first bytes arrived, and it was still incomplete this long after.
    Message(Duration),
}

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handshake(limit) => {
                write!(f, "no complete answer within {}", format_duration(*limit))
            }
            Self::Message(limit) => write!(
                f,
                "a frame still arriving after {}: the server trickles",
                format_duration(*limit)
            ),
        }
    }
}

impl std::error::Error for Stalled {}

impl From<Stalled> for io::Error {
    fn from(stalled: Stalled) -> Self {
        io::Error::other(stalled)
    }
}

/// The [`Stalled`] behind an I/O error, however many layers passed it up.
pub(crate) fn stalled(error: &io::Error) -> Option<Stalled> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<Stalled>())
        .copied()
}

/// The time limits a connection's reads must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadlines {
    /// TLS and WebSocket handshakes together, from the TCP connection.
    pub handshake: Duration,
    /// One message, from its first bytes to its last.
    pub message: Duration,
}

/// The TCP socket under TLS and WebSocket, watched by the pipeline's stop token: a stop
/// shuts its read side down, which wakes a blocked read with end-of-file. That end-of-file
/// is reported upwards as "nothing to read yet", so neither TLS nor tungstenite takes the
/// connection for lost: the reader sees its stop token and can still send a clean close.
///
/// It also notes when bytes last arrived ([`ReceiveClock`]): every frame decoded from one
/// read arrived at the same moment, so the reader stamps frames with that instead of
/// reading the clock per frame. And it keeps the [`Deadlines`] (see the module docs).
///
/// The socket is shared (with the stop token's watch and the reader's timeout settings),
/// never duplicated: a connection holds one file descriptor.
pub(crate) struct WatchedTcp {
    tcp: Arc<TcpStream>,
    stop: StopToken,
    clock: ReceiveClock,
    /// Until the handshakes are done: no read may start after this.
    handshake_deadline: Option<Instant>,
    deadlines: Deadlines,
    /// Reads that delivered bytes since the reader asked for its current message.
    reads_in_message: u32,
    /// When the current message's first bytes arrived (µs since the Unix epoch), once a
    /// further read shows it is incomplete.
    message_started_us: Option<u64>,
    /// The clock reading of the last read that returned.
    last_read_us: u64,
}

impl WatchedTcp {
    /// Wraps a connected socket whose handshakes must be done by `handshake_deadline`.
    pub(crate) fn new(
        tcp: Arc<TcpStream>,
        stop: StopToken,
        clock: ReceiveClock,
        handshake_deadline: Instant,
        deadlines: Deadlines,
    ) -> Self {
        Self {
            tcp,
            stop,
            clock,
            handshake_deadline: Some(handshake_deadline),
            deadlines,
            reads_in_message: 0,
            message_started_us: None,
            last_read_us: 0,
        }
    }

    /// The handshakes are done: from now on each message has its own budget.
    pub(crate) fn handshake_done(&mut self) {
        self.handshake_deadline = None;
        self.begin_message();
    }

    /// The reader asks for its next message. No syscall, no clock read.
    pub(crate) fn begin_message(&mut self) {
        self.reads_in_message = 0;
        self.message_started_us = None;
    }

    /// Fails the read about to start when a deadline has passed.
    fn check_deadlines(&mut self) -> Result<(), Stalled> {
        if let Some(deadline) = self.handshake_deadline {
            // Handshakes only: a clock read per read is nothing here.
            if Instant::now() >= deadline {
                return Err(Stalled::Handshake(self.deadlines.handshake));
            }
            return Ok(());
        }
        if self.reads_in_message == 0 {
            return Ok(());
        }
        // Bytes of the message are in and another read is wanted: it is incomplete.
        let started = *self.message_started_us.get_or_insert(self.last_read_us);
        let budget_us = u64::try_from(self.deadlines.message.as_micros()).unwrap_or(u64::MAX);
        if self.last_read_us.saturating_sub(started) >= budget_us {
            return Err(Stalled::Message(self.deadlines.message));
        }
        Ok(())
    }
}

impl Read for WatchedTcp {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check_deadlines()?;
        match (&*self.tcp).read(buf) {
            Ok(0) if !buf.is_empty() && self.stop.is_triggered() => {
                Err(io::ErrorKind::WouldBlock.into())
            }
            Ok(read) => {
                self.last_read_us = self.clock.tick();
                if read > 0 {
                    self.reads_in_message = self.reads_in_message.saturating_add(1);
                }
                Ok(read)
            }
            Err(error) => {
                // A read that waited a whole tick for nothing: whatever was partly read
                // has stalled for longer than a read timeout, which the reader's ping
                // catches (a pong cannot overtake an unfinished frame). Starting over
                // keeps a TLS record that is not data (a session ticket) from being
                // taken for the start of a message that never ends.
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) {
                    self.begin_message();
                }
                Err(error)
            }
        }
    }
}

impl Write for WatchedTcp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.tcp).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        (&*self.tcp).flush()
    }
}

/// The [`WatchedTcp`] under a WebSocket, through its TLS layer if any.
pub(crate) fn watched_tcp(socket: &mut Socket) -> Option<&mut WatchedTcp> {
    match socket.get_mut() {
        MaybeTlsStream::Plain(tcp) => Some(tcp),
        MaybeTlsStream::NativeTls(tls) => Some(tls.get_mut()),
        _ => None,
    }
}

/// When the socket last delivered bytes, in microseconds since the Unix epoch. Written by
/// the connection's socket reads, read by its reader: one thread, relaxed atomics.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReceiveClock(Arc<AtomicU64>);

impl ReceiveClock {
    /// Reads the clock, notes and returns the reading.
    fn tick(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_micros() as u64);
        self.0.store(now, Ordering::Relaxed);
        now
    }

    /// The time the last bytes arrived.
    pub(crate) fn last_read_us(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair(deadlines: Deadlines) -> (WatchedTcp, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        client
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let (server, _) = listener.accept().unwrap();
        let watched = WatchedTcp::new(
            Arc::new(client),
            StopToken::new(),
            ReceiveClock::default(),
            Instant::now() + deadlines.handshake,
            deadlines,
        );
        (watched, server)
    }

    #[test]
    fn a_handshake_past_its_deadline_fails_the_next_read_whatever_arrives() {
        let deadlines = Deadlines {
            handshake: Duration::ZERO,
            message: Duration::from_secs(10),
        };
        let (mut watched, mut server) = pair(deadlines);
        server.write_all(b"HTTP/1.1 101").unwrap();
        let error = watched.read(&mut [0u8; 64]).unwrap_err();
        assert_eq!(stalled(&error), Some(Stalled::Handshake(Duration::ZERO)));
        assert_eq!(error.kind(), io::ErrorKind::Other);
        assert_eq!(error.to_string(), "no complete answer within 0s");
    }

    #[test]
    fn a_message_still_incomplete_after_its_budget_fails_and_a_new_one_starts_fresh() {
        let deadlines = Deadlines {
            handshake: Duration::from_secs(10),
            message: Duration::from_millis(50),
        };
        let (mut watched, mut server) = pair(deadlines);
        watched.handshake_done();
        let mut buf = [0u8; 8];
        server.write_all(b"a").unwrap();
        assert_eq!(watched.read(&mut buf).unwrap(), 1);
        // The message needs more; its bytes keep coming, but too slowly.
        std::thread::sleep(Duration::from_millis(60));
        server.write_all(b"b").unwrap();
        assert_eq!(watched.read(&mut buf).unwrap(), 1);
        let error = watched.read(&mut buf).unwrap_err();
        assert_eq!(
            stalled(&error),
            Some(Stalled::Message(Duration::from_millis(50)))
        );
        assert_eq!(
            error.to_string(),
            "a frame still arriving after 50ms: the server trickles"
        );
        // The next message has a budget of its own.
        watched.begin_message();
        server.write_all(b"c").unwrap();
        assert_eq!(watched.read(&mut buf).unwrap(), 1);
    }

    #[test]
    fn a_read_that_waits_a_whole_tick_starts_the_message_over() {
        let deadlines = Deadlines {
            handshake: Duration::from_secs(10),
            message: Duration::from_millis(50),
        };
        let (mut watched, mut server) = pair(deadlines);
        watched.handshake_done();
        let mut buf = [0u8; 8];
        server.write_all(b"a").unwrap();
        assert_eq!(watched.read(&mut buf).unwrap(), 1);
        let idle = watched.read(&mut buf).unwrap_err();
        assert!(matches!(
            idle.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
        server.write_all(b"b").unwrap();
        assert_eq!(watched.read(&mut buf).unwrap(), 1);
    }
}
