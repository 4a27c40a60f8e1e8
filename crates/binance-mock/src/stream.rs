//! [`MockStream`]: a connection's byte stream (plain TCP or TLS) with the switches the
//! slow-writer faults need: writes can be held back during the upgrade until the mock knows
//! whether to trickle, and a [`Trickle`] lets only a few bytes out per pause.
//!
//! Neither switch ever sleeps: a write that must wait returns `WouldBlock`, which tungstenite
//! keeps buffered and the caller retries; [`MockStream::next_write_at`] says when to.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tungstenite::stream::MaybeTlsStream;

/// At most `chunk` bytes per write, then a `pause` before the next.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trickle {
    chunk: usize,
    pause: Duration,
    /// When the next chunk may go; `None` until the first has.
    next: Option<Instant>,
}

impl Trickle {
    /// `chunk` bytes (at least one) every `pause`; the first chunk goes at once.
    pub(crate) fn new(chunk: usize, pause: Duration) -> Self {
        Self {
            chunk: chunk.max(1),
            pause,
            next: None,
        }
    }
}

/// The stream under a connection's WebSocket.
#[derive(Debug)]
pub(crate) struct MockStream {
    inner: MaybeTlsStream<TcpStream>,
    /// Bytes already read off `inner` (the request head, read to tell a REST request from
    /// an upgrade), handed out again before anything else is read.
    replay: Vec<u8>,
    replayed: usize,
    /// Writes wait (`WouldBlock`) until [`MockStream::release`].
    held: bool,
    trickle: Option<Trickle>,
}

impl MockStream {
    /// A stream that writes freely, or holds every write back when `held`.
    pub(crate) fn new(inner: MaybeTlsStream<TcpStream>, held: bool) -> Self {
        Self {
            inner,
            replay: Vec::new(),
            replayed: 0,
            held,
            trickle: None,
        }
    }

    /// Reads hand out `bytes` first, then what the peer sends.
    pub(crate) fn replay_first(&mut self, bytes: Vec<u8>) {
        self.replay = bytes;
        self.replayed = 0;
    }

    /// Whether writes are held back.
    pub(crate) fn held(&self) -> bool {
        self.held
    }

    /// Lets writes through, trickled if `trickle` says so.
    pub(crate) fn release(&mut self, trickle: Option<Trickle>) {
        self.held = false;
        self.trickle = trickle;
    }

    /// From now on, writes trickle (`Some`) or go at full speed (`None`).
    pub(crate) fn set_trickle(&mut self, trickle: Option<Trickle>) {
        self.trickle = trickle;
    }

    /// When a trickled write can next make progress, if it has to wait.
    pub(crate) fn next_write_at(&self) -> Option<Instant> {
        self.trickle.and_then(|trickle| trickle.next)
    }
}

impl Read for MockStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let waiting = &self.replay[self.replayed..];
        if !waiting.is_empty() {
            let count = waiting.len().min(buf.len());
            buf[..count].copy_from_slice(&waiting[..count]);
            self.replayed += count;
            return Ok(count);
        }
        self.inner.read(buf)
    }
}

impl Write for MockStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.held {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let Some(trickle) = &mut self.trickle else {
            return self.inner.write(buf);
        };
        if trickle.next.is_some_and(|next| Instant::now() < next) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let written = self.inner.write(&buf[..buf.len().min(trickle.chunk)])?;
        // Flush through TLS so the chunk leaves now, as its own record.
        self.inner.flush()?;
        trickle.next = Some(Instant::now() + trickle.pause);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
