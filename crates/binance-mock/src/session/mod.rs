//! One connection's sending side (`mock-conn-N`, after the handshakes): a loop that sends
//! what is due, pings when due, injects the configured faults and reads what the client
//! sends (pongs, close frames) in between. The loop never blocks longer than
//! [`MAX_IDLE_WAIT`], so it notices the exchange stopping, and it stops producing while the
//! client is not reading (no id is generated that cannot be written).
//!
//! A raw connection carries one stream; a combined one several, each a [`Lane`] with its
//! own place in its stream's log and its own pacing, its frames wrapped as
//! `{"stream":..,"data":..}` (see [`lanes`]). The faults it injects are in [`faults`].

mod faults;
mod lanes;

use std::io;
use std::net::TcpStream;
use std::sync::PoisonError;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tungstenite::{Error as WsError, Message, Utf8Bytes};

use crate::handshake::MockSocket;
use crate::rand::Rng;
use crate::{MockEvent, Rate, Shared};
pub(crate) use lanes::{Lane, open_lanes};
use lanes::{ids_due, market_rate, padded, with_crossing_bid, with_unknown_previous};

/// The longest the loop waits for anything.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(50);

/// Messages written between two looks at what the client sent, at an unlimited rate.
const UNLIMITED_BATCH: u32 = 256;

/// How far behind schedule a rate-limited stream may fall before it stops catching up.
const MAX_CATCH_UP: Duration = Duration::from_secs(1);

/// How long a closing connection waits for the client's close reply.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The longest gap between two events of a stream, whatever the configured rate.
const MAX_GAP: Duration = Duration::from_secs(3_600);

/// Who a session serves.
pub(crate) struct Peer {
    /// The connection's number, from 1.
    pub(crate) connection: u64,
    /// The request path with its query, for [`MockEvent::AllSent`].
    pub(crate) path: String,
    /// Whether frames are wrapped as `{"stream":..,"data":..}`.
    pub(crate) combined: bool,
    /// Whether per-connection faults apply to this connection.
    pub(crate) faulty: bool,
}

/// One connection's sending side and the faults it still has to inject.
pub(crate) struct Session<'a> {
    socket: MockSocket,
    control: TcpStream,
    shared: &'a Shared,
    connection: u64,
    path: String,
    /// Whether per-connection faults apply to this connection.
    faulty: bool,
    /// Whether frames are wrapped as `{"stream":..,"data":..}`.
    combined: bool,
    lanes: Vec<Lane>,
    /// Data messages sent, across all lanes: what the per-connection faults count.
    sent: u64,
    /// Whether `Faults::bad_frames` are still to be sent.
    bad_frames_pending: bool,
    /// Whether `Faults::trickle_frame_after` has started trickling.
    trickling: bool,
    /// Whether [`MockEvent::AllSent`] has been emitted.
    all_sent_reported: bool,
    scratch: String,
}

/// Whether the connection can go on.
#[derive(PartialEq, Eq)]
enum Link {
    Open,
    Gone,
}

/// What one round of sending did.
#[derive(Default)]
struct Progress {
    /// Something was written.
    wrote: bool,
    /// The client is not reading: frames wait in the write buffer.
    backlogged: bool,
}

impl<'a> Session<'a> {
    /// A session over an upgraded `socket` (`control` is its TCP socket, for timeouts and
    /// resets) for `peer`, sending `lanes`.
    pub(crate) fn new(
        socket: MockSocket,
        control: TcpStream,
        shared: &'a Shared,
        peer: Peer,
        lanes: Vec<Lane>,
    ) -> Self {
        Self {
            socket,
            control,
            shared,
            connection: peer.connection,
            path: peer.path,
            faulty: peer.faulty,
            combined: peer.combined,
            lanes,
            sent: 0,
            bad_frames_pending: peer.faulty && !shared.config.faults.bad_frames.is_empty(),
            trickling: false,
            all_sent_reported: false,
            scratch: String::with_capacity(256),
        }
    }

    /// Runs until the connection ends; returns the number of data messages sent.
    pub(crate) fn run(mut self) -> u64 {
        let config = &self.shared.config;
        let opened = Instant::now();
        let mut rng = Rng::from_entropy(self.connection);
        let mut next_ping = config.ping_interval.map(|interval| opened + interval);
        let mut pings = 0u64;
        let mut backlogged = false;
        let mut batches = 0u32;
        loop {
            if self.shared.stopping() {
                let _ = self.socket.close(None);
                let _ = self.socket.flush();
                return self.sent;
            }
            if self.faulty && self.inject_faults(opened, &mut backlogged) == Link::Gone {
                return self.sent;
            }
            let now = Instant::now();
            if backlogged {
                match self.flush() {
                    Err(()) => return self.sent,
                    Ok(still_backlogged) => backlogged = still_backlogged,
                }
            }
            let market_due = market_rate(self.shared).map(|rate| ids_due(self.shared, rate));
            let mut wrote = false;
            if !backlogged {
                let Ok(progress) = self.send_due(now, market_due, &mut rng) else {
                    return self.sent;
                };
                (wrote, backlogged) = (progress.wrote, progress.backlogged);
            }
            if let Some(at) = next_ping
                && at <= now
            {
                pings += 1;
                let ping = format!("mock-ping-{pings}").into_bytes();
                if let Err(WsError::Io(error)) = self.socket.write(Message::Ping(ping.into()))
                    && !is_timeout(&error)
                {
                    return self.sent;
                }
                wrote = true;
                next_ping = config.ping_interval.map(|interval| now + interval);
            }
            if wrote && !backlogged {
                match self.flush() {
                    Err(()) => return self.sent,
                    Ok(still_backlogged) => backlogged = still_backlogged,
                }
            }
            if !backlogged && !self.all_sent_reported && self.exhausted() {
                self.all_sent_reported = true;
                self.shared.emit(MockEvent::AllSent {
                    connection: self.connection,
                    path: self.path.clone(),
                    sent: self.sent,
                });
            }
            let busy = config.rate == Rate::Unlimited
                && market_due.is_none()
                && !self.exhausted()
                && !backlogged
                && !self.data_held();
            if busy {
                batches += 1;
                if !batches.is_multiple_of(16) {
                    continue;
                }
            }
            let wait = if busy {
                Duration::ZERO
            } else {
                self.idle_wait(backlogged, next_ping)
            };
            if self.read_incoming(wait) == Link::Gone {
                return self.sent;
            }
        }
    }

    /// Writes what is due, taking the lanes in turn so no stream starves the others, up to
    /// a batch; stops early at a fault limit or when the client stops reading. `Err` when
    /// the connection is gone.
    fn send_due(
        &mut self,
        now: Instant,
        market_due: Option<u64>,
        rng: &mut Rng,
    ) -> Result<Progress, ()> {
        let mut progress = Progress::default();
        let mut batch = 0;
        loop {
            let mut sent_this_round = false;
            for index in 0..self.lanes.len() {
                if batch >= UNLIMITED_BATCH || progress.backlogged || self.data_held() {
                    return Ok(progress);
                }
                if !self.lane_due(&self.lanes[index], now, market_due) {
                    continue;
                }
                progress.backlogged = self.send_next(index)?;
                self.pace(index, now, market_due, rng);
                progress.wrote = true;
                sent_this_round = true;
                batch += 1;
            }
            if !sent_this_round {
                return Ok(progress);
            }
        }
    }

    /// Whether `lane`'s next event is due: its id has happened (market mode), its time has
    /// come (a rate), or always (unlimited) — unless the lane has sent all it may.
    fn lane_due(&self, lane: &Lane, now: Instant, market_due: Option<u64>) -> bool {
        let unlimited = self.shared.config.rate == Rate::Unlimited;
        if lane.jump.is_some() {
            return market_due.is_some() || unlimited || lane.next_due <= now;
        }
        if self.lane_exhausted(lane) {
            return false;
        }
        match market_due {
            Some(due) => lane.cursor <= due,
            None => unlimited || lane.next_due <= now,
        }
    }

    /// Writes lane `index`'s next event (wrapped on a combined connection), or its stray
    /// event when an id jump is due. `Ok(true)` when the client is slow to read (the frame
    /// is buffered); `Err` when the connection is gone.
    fn send_next(&mut self, index: usize) -> Result<bool, ()> {
        let faults = &self.shared.config.faults;
        let lane = &self.lanes[index];
        // `Faults::swap_ids`: the next event goes out before this one.
        let swap = self.faulty
            && lane.jump.is_none()
            && !lane.swapped
            && faults.swap_ids.contains(&lane.cursor);
        let id = if swap { lane.cursor + 1 } else { lane.cursor };
        // `Faults::drop_ids`: the event happens (the stream's book moves) but is not sent.
        let dropped = self.faulty && lane.jump.is_none() && faults.drop_ids.contains(&id);
        let frame = self.render(index, id);
        let backlogged = match dropped {
            true => false,
            false => match self.socket.write(Message::Text(frame)) {
                Ok(()) => false,
                Err(WsError::Io(error)) if is_timeout(&error) => true,
                Err(_) => return Err(()),
            },
        };
        let faults = &self.shared.config.faults;
        let lane = &mut self.lanes[index];
        if lane.jump.take().is_none() {
            if swap {
                lane.swapped = true;
            } else if lane.swapped {
                lane.swapped = false;
                lane.cursor += 2;
            } else {
                if self.faulty {
                    let after = |jump: &&crate::IdJump| jump.after == lane.cursor;
                    lane.jump = faults.id_jumps.iter().find(after).map(|jump| jump.id);
                }
                lane.cursor += 1;
            }
        }
        lane.sent += 1;
        self.sent += 1;
        Ok(backlogged)
    }

    /// The frame of lane `index`'s next event: logged (or stray, for an id jump), with
    /// `"pu":-1` and padding when the faults call for them, wrapped on a combined
    /// connection.
    fn render(&mut self, index: usize, id: u64) -> Utf8Bytes {
        let faults = &self.shared.config.faults;
        let now = event_time(self.shared.config.micros);
        let lane = &self.lanes[index];
        let mut payload = {
            let mut log = lane.log.lock().unwrap_or_else(PoisonError::into_inner);
            match lane.jump {
                Some(id) => log.stray_payload(id, now, &mut self.scratch),
                None => log.payload(id, now, &mut self.scratch),
            }
        };
        if self.faulty
            && lane.jump.is_none()
            && faults.cross_ids.contains(&id)
            && lane.is_depth()
            && let Some(crossed) = with_crossing_bid(&payload)
        {
            payload = Utf8Bytes::from(crossed);
        }
        if self.faulty
            && faults.first_depth_pu_unknown
            && lane.sent == 0
            && lane.is_depth()
            && let Some(rewritten) = with_unknown_previous(&payload)
        {
            payload = Utf8Bytes::from(rewritten);
        }
        if self.faulty
            && let Some(size) = faults.huge_frames
        {
            let extra = if self.combined {
                wrap(&lane.name, "").len()
            } else {
                0
            };
            if let Some(grown) = padded(&payload, extra, size) {
                payload = Utf8Bytes::from(grown);
            }
        }
        if self.combined {
            wrap(&lane.name, &payload)
        } else {
            payload
        }
    }

    /// Schedules lane `index`'s next event at the configured rate (evenly, or at random when
    /// lively), catching up at most [`MAX_CATCH_UP`] after a stall.
    fn pace(&mut self, index: usize, now: Instant, market_due: Option<u64>, rng: &mut Rng) {
        let config = &self.shared.config;
        let (None, Rate::PerSecond(rate)) = (market_due, config.rate) else {
            return;
        };
        let gap = if config.lively {
            lively_gap(rng, rate)
        } else {
            seconds(1.0 / rate)
        };
        let lane = &mut self.lanes[index];
        let floor = now.checked_sub(MAX_CATCH_UP).unwrap_or(now);
        lane.next_due = lane.next_due.max(floor) + gap;
    }

    /// How long to wait for the client before anything is due: the earliest lane's next
    /// event or the next ping, at most [`MAX_IDLE_WAIT`].
    fn idle_wait(&self, backlogged: bool, next_ping: Option<Instant>) -> Duration {
        let mut wait = MAX_IDLE_WAIT;
        if backlogged && let Some(at) = self.socket.get_ref().next_write_at() {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        if !backlogged && !self.data_held() {
            let config = &self.shared.config;
            for lane in self.lanes.iter().filter(|lane| !self.lane_exhausted(lane)) {
                let until = match market_rate(self.shared) {
                    // Since the start, which may be hours: not capped like a gap.
                    Some(rate) => Duration::try_from_secs_f64(lane.cursor as f64 / rate)
                        .unwrap_or(Duration::MAX)
                        .saturating_sub(self.shared.started.elapsed()),
                    None if config.rate != Rate::Unlimited => {
                        lane.next_due.saturating_duration_since(Instant::now())
                    }
                    None => MAX_IDLE_WAIT,
                };
                wait = wait.min(until);
            }
        }
        if let Some(at) = next_ping {
            wait = wait.min(at.saturating_duration_since(Instant::now()));
        }
        wait
    }

    /// Whether every lane has sent all `MockConfig::count` ids.
    fn exhausted(&self) -> bool {
        self.lanes.iter().all(|lane| self.lane_exhausted(lane))
    }

    /// Whether `lane` has sent all `MockConfig::count` ids (and no stray event is due).
    fn lane_exhausted(&self, lane: &Lane) -> bool {
        lane.jump.is_none()
            && self
                .shared
                .config
                .count
                .is_some_and(|count| lane.cursor > count)
    }

    /// Flushes buffered frames; `Ok(true)` when the client is not keeping up.
    fn flush(&mut self) -> Result<bool, ()> {
        match self.socket.flush() {
            Ok(()) => Ok(false),
            Err(WsError::Io(error)) if is_timeout(&error) => Ok(true),
            Err(_) => Err(()),
        }
    }

    /// Reads at most one message from the client, waiting up to `wait` (zero: only if one is
    /// already there).
    fn read_incoming(&mut self, wait: Duration) -> Link {
        let waited = if wait.is_zero() {
            self.control.set_nonblocking(true)
        } else {
            self.control
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
        };
        if waited.is_err() {
            return Link::Gone;
        }
        let result = self.socket.read();
        if wait.is_zero() && self.control.set_nonblocking(false).is_err() {
            return Link::Gone;
        }
        match result {
            Ok(Message::Pong(payload)) => {
                self.shared.emit(MockEvent::Pong {
                    connection: self.connection,
                    payload: payload.to_vec(),
                });
                Link::Open
            }
            Ok(Message::Close(_)) => {
                self.shared.emit(MockEvent::ClientClosed {
                    connection: self.connection,
                });
                // tungstenite has queued the reply; the next read completes the close.
                Link::Open
            }
            Ok(_) => Link::Open,
            Err(WsError::Io(error)) if is_timeout(&error) => Link::Open,
            Err(_) => Link::Gone,
        }
    }
}

/// A combined connection's frame, `{"stream":"<name>","data":<payload>}`, as
/// `combined_trade.json`. Stream names hold only letters, digits, `_` and `@` (checked when
/// parsed), so they need no JSON escaping.
pub(crate) fn wrap(name: &str, payload: &str) -> Utf8Bytes {
    const OVERHEAD: usize = r#"{"stream":"","data":}"#.len();
    let mut frame = String::with_capacity(OVERHEAD + name.len() + payload.len());
    frame.push_str(r#"{"stream":""#);
    frame.push_str(name);
    frame.push_str(r#"","data":"#);
    frame.push_str(payload);
    frame.push('}');
    Utf8Bytes::from(frame)
}

/// The gap to the next event of a lively stream: exponential around `rate`, with bursts
/// at six times the rate about a tenth of the time.
fn lively_gap(rng: &mut Rng, rate: f64) -> Duration {
    let burst = rng.below(10) == 0;
    let rate = if burst { rate * 6.0 } else { rate };
    let uniform = rng.next_f64().max(1e-9);
    seconds((-uniform.ln() / rate).min(5.0))
}

/// `secs` as a duration, at most [`MAX_GAP`]: a zero, negative or absurd rate in the
/// configuration must not panic a connection thread.
fn seconds(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).map_or(MAX_GAP, |duration| duration.min(MAX_GAP))
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Now, in milliseconds since the epoch, or microseconds when `micros`.
fn event_time(micros: bool) -> u64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    if micros {
        elapsed.as_micros() as u64
    } else {
        elapsed.as_millis() as u64
    }
}
