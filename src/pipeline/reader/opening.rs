//! Opening a reader's connection: attempts paced by the shared limiter, retried with
//! backoff (and the exchange's `Retry-After`), each made on a short-lived thread of its own
//! so the reader's stack stays shallow.

use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::{error, info, warn};

use super::connect::ConnectError;
use super::link::Link;
use super::{MIN_RATE_LIMIT_WAIT, NotOpened, Reader, Session};
use crate::util::duration::format_duration;
use binance_streams::time::utc_datetime;

/// Stack for the short-lived thread that opens a connection ([`Reader::connect_aside`]):
/// name resolution and the TLS handshake need more than reading does. More than four
/// times the reader's and processor's stacks on purpose: glibc hands an exited thread's
/// cached stack to a new thread asking for up to four times less, and a connecting
/// thread's stack, touched deep, would then stay resident under a reader or processor.
const CONNECT_STACK_BYTES: usize = 2 * 1024 * 1024;

impl Reader {
    /// Opens a connection, retrying with backoff until one works.
    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn open(&self, session: &mut Session) -> Result<Box<Link>, NotOpened> {
        loop {
            match self.open_once(session) {
                Ok(link) => return Ok(link),
                Err(ConnectError::Stopped) => return Err(NotOpened::Stopped),
                // `app` reports it, once, as the reason the symbol is given up.
                Err(failure) if failure.is_fatal() => {
                    return Err(NotOpened::Fatal(failure.to_string()));
                }
                Err(failure) => {
                    let wait = self.retry_wait(&failure, session);
                    if !self.stop.sleep(wait) {
                        return Err(NotOpened::Stopped);
                    }
                }
            }
        }
    }

    /// One attempt, when the shared limiter allows it.
    pub(super) fn open_once(&self, session: &mut Session) -> Result<Box<Link>, ConnectError> {
        let now = Instant::now();
        let slot = self.limiter.reserve(now);
        if slot > now && !self.stop.sleep(slot - now) {
            return Err(ConnectError::Stopped);
        }
        let number = session.connections + 1;
        let link = self.connect_aside(number, self.current_silence_limit(session))?;
        session.connections = number;
        Ok(link)
    }

    /// Opens connection `number` on a short-lived thread of its own, which also counts it
    /// and logs it (in the reader's span). Resolving the host, the TLS handshake and the
    /// WebSocket upgrade reach far deeper into the stack than reading frames ever does, and
    /// a stack page once touched stays resident for the thread's life: done on the
    /// reader's own thread, they kept 12 KiB more per symbol resident (12 MB for 1,000
    /// symbols) for a moment at connect time. Only the boxed [`Link`] comes back (a `Link`
    /// is over 500 bytes, and moved by value it took a slot in every frame it passed).
    /// The thread is not named: it keeps the reader's name, and formatting one would
    /// deepen the reader's stack again.
    #[inline(never)]
    fn connect_aside(
        &self,
        number: u64,
        silence_limit: Option<Duration>,
    ) -> Result<Box<Link>, ConnectError> {
        let span = tracing::Span::current();
        let connect = || {
            span.in_scope(|| {
                let opened = self.connector.connect(
                    &self.url,
                    &self.endpoint,
                    &self.stop,
                    self.settings.deadlines(),
                )?;
                // The reader waits for this thread: its counters still have one writer.
                self.stats.reader.connects.add(1);
                self.stats.connection.opened(silence_limit);
                if number == 1 {
                    info!("connected to {}", self.url);
                } else {
                    info!("connection #{number} open to {}", self.url);
                }
                Ok(Box::new(Link::new(opened, number, self.settings.max_age)))
            })
        };
        thread::scope(|scope| {
            match thread::Builder::new()
                .stack_size(CONNECT_STACK_BYTES)
                .spawn_scoped(scope, connect)
            {
                Ok(connecting) => connecting.join().unwrap_or_else(|_| {
                    Err(ConnectError::Handshake {
                        host_port: self.endpoint.host_port(),
                        detail: "the connecting thread failed".to_owned(),
                    })
                }),
                // No thread to spare: connect here, at the cost of the deeper stack.
                Err(_) => connect(),
            }
        })
    }

    /// How long to wait after a failed attempt, logging why. Honours `Retry-After` for
    /// everyone: a 429 or 418 is about this IP, not this symbol.
    // Rare and stack-hungry: kept out of the hot read loop's frame, whose depth every
    // idle reader's stack keeps resident.
    #[inline(never)]
    pub(super) fn retry_wait(&self, failure: &ConnectError, session: &mut Session) -> Duration {
        let mut wait = session.backoff.next_delay();
        if let Some(status @ (418 | 429)) = failure.status() {
            let hold = failure.retry_after().unwrap_or(MIN_RATE_LIMIT_WAIT);
            self.limiter.pause_until(Instant::now() + hold);
            wait = wait.max(hold);
            if status == 418 {
                error!(
                    "{failure}: this IP is banned by the exchange until {} (UTC); every symbol waits",
                    utc_after(hold)
                );
                return wait;
            }
        }
        warn!("{failure}; retrying in {}", format_duration(wait));
        wait
    }
}

/// `YYYY-MM-DD HH:MM:SS` of now plus `after`, in UTC, for "banned until" messages.
fn utc_after(after: Duration) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    utc_datetime(now + after.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_civil_dates() {
        assert!(utc_after(Duration::ZERO).starts_with("20"));
    }
}
