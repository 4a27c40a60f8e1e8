//! The faults a session injects when they are due: resets, stalls, clean and half-done
//! closes, protocol violations, trickled frames, bad frames and the server-shutdown notice
//! (see [`Faults`](crate::Faults)). Silence, id jumps, `"pu":-1` and padding change what
//! the send loop sends rather than interrupting it.

use std::io::Read;
use std::time::{Duration, Instant};

use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::{Error as WsError, Message};

use super::{CLOSE_GRACE, Link, MAX_IDLE_WAIT, Session, event_time, is_timeout};
use crate::faults::{BadFrame, CloseNotice};
use crate::stream::Trickle;

/// The longest close reason a close frame can carry (125 bytes less the code's two).
const MAX_CLOSE_REASON: usize = 123;

impl Session<'_> {
    /// Whether a per-connection fault is due before the next message: one that ends or
    /// freezes the connection, or stops its data.
    fn at_fault_limit(&self) -> bool {
        let faults = &self.shared.config.faults;
        [
            faults.reset_after_messages,
            faults.stall_after_messages,
            faults.close_after_messages,
            faults.close_without_tcp_close_after,
            faults.protocol_error_after,
            faults.silent_after,
            faults.trickle_frame_after.map(|(after, _)| after),
        ]
        .into_iter()
        .flatten()
        .any(|limit| self.sent >= limit)
            || (self.bad_frames_pending && self.sent >= faults.bad_frames_after)
    }

    /// Whether a fault keeps data from being sent now (the loop handles it, or it has
    /// stopped the data for good).
    pub(super) fn data_held(&self) -> bool {
        self.faulty && self.at_fault_limit()
    }

    /// Injects the per-connection faults that are due, at the top of the send loop.
    /// `Gone` when the connection has ended (or was left for the exchange to stop);
    /// `backlogged` is set while a trickled frame waits.
    pub(super) fn inject_faults(&mut self, opened: Instant, backlogged: &mut bool) -> Link {
        let faults = &self.shared.config.faults;
        let limit_reached = |limit: Option<u64>| limit.is_some_and(|k| self.sent >= k);
        if limit_reached(faults.reset_after_messages) {
            self.reset();
            return Link::Gone;
        }
        if limit_reached(faults.stall_after_messages) {
            self.stall();
            return Link::Gone;
        }
        if limit_reached(faults.close_without_tcp_close_after) {
            let notice = faults
                .close_notice
                .clone()
                .unwrap_or_else(|| CloseNotice::new(1001, "going away"));
            let _ = self.socket.close(Some(close_frame(&notice)));
            self.hold_open();
            return Link::Gone;
        }
        if limit_reached(faults.protocol_error_after) {
            let mut frame = Frame::message(
                r#"{"e":"rsv1","note":"reserved bit set without an extension"}"#,
                OpCode::Data(Data::Text),
                true,
            );
            frame.header_mut().rsv1 = true;
            let _ = self.socket.write(Message::Frame(frame));
            self.hold_open();
            return Link::Gone;
        }
        if limit_reached(faults.close_after_messages)
            || faults
                .close_after
                .is_some_and(|age| opened.elapsed() >= age)
        {
            self.close_cleanly();
            return Link::Gone;
        }
        if self.bad_frames_pending && self.sent >= faults.bad_frames_after {
            self.bad_frames_pending = false;
            if self.send_bad_frames(&faults.bad_frames) == Link::Gone {
                return Link::Gone;
            }
        }
        if let Some((after, pause)) = faults.trickle_frame_after
            && !self.trickling
            && self.sent >= after
        {
            // What is queued goes out at full speed first; then the next frame crawls.
            match self.flush() {
                Err(()) => return Link::Gone,
                Ok(true) => *backlogged = true,
                Ok(false) => match self.start_trickle(pause) {
                    Err(()) => return Link::Gone,
                    Ok(waiting) => *backlogged = waiting,
                },
            }
        }
        Link::Open
    }

    /// Switches the stream to one byte per `pause` and writes the next event (of the first
    /// stream that has one) into the write buffer. `Ok(true)` when a frame is waiting
    /// there.
    fn start_trickle(&mut self, pause: Duration) -> Result<bool, ()> {
        self.trickling = true;
        self.socket
            .get_mut()
            .set_trickle(Some(Trickle::new(1, pause)));
        let next = (0..self.lanes.len()).find(|&index| !self.lane_exhausted(&self.lanes[index]));
        match next {
            // Queued, not yet written: the loop's flushes let it out.
            Some(index) => self.send_next(index).map(|_| true),
            None => Ok(false),
        }
    }

    /// After a goodbye that is never finished: flushes what is queued while the client
    /// reads, then sends and answers nothing, leaving TCP open until the client hangs up
    /// or the exchange stops. What the client sends is read off the socket and discarded
    /// (never parsed or answered), only to notice its hang-up.
    fn hold_open(&mut self) {
        let mut flushed = false;
        let mut sink = [0u8; 4096];
        while !self.shared.stopping() {
            if !flushed {
                flushed = !matches!(self.flush(), Ok(true));
            }
            if self.control.set_read_timeout(Some(MAX_IDLE_WAIT)).is_err() {
                return;
            }
            match (&self.control).read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(error) if is_timeout(&error) => {}
                Err(_) => return,
            }
        }
    }

    /// Readies a TCP reset: no close frame, an RST on the wire when the session ends (and
    /// drops both handles of the socket) right after.
    fn reset(&self) {
        let _ = socket2::SockRef::from(&self.control).set_linger(Some(Duration::ZERO));
    }

    /// Stops sending and reading, leaving the TCP connection open until the exchange stops.
    fn stall(&self) {
        while !self.shared.stopping() {
            std::thread::sleep(MAX_IDLE_WAIT);
        }
    }

    /// Sends a close frame (with `Faults::close_notice`'s code and reason, if any) and
    /// waits briefly for the client's reply.
    pub(super) fn close_cleanly(&mut self) {
        let notice = self.shared.config.faults.close_notice.as_ref();
        let _ = self.socket.close(notice.map(close_frame));
        let _ = self.socket.flush();
        let deadline = Instant::now() + CLOSE_GRACE;
        while Instant::now() < deadline && self.read_incoming(MAX_IDLE_WAIT) == Link::Open {}
    }

    /// Sends each bad frame once.
    pub(super) fn send_bad_frames(&mut self, frames: &[BadFrame]) -> Link {
        for frame in frames {
            let messages: Vec<Message> = match frame {
                BadFrame::InvalidJson => vec![Message::text("{this is not json")],
                BadFrame::Binary => vec![Message::binary(b"\x00\x01binary\xff".to_vec())],
                BadFrame::UnknownEvent => vec![Message::text(format!(
                    r#"{{"e":"mysteryEvent","E":{},"s":"MOCK"}}"#,
                    event_time(false)
                ))],
                BadFrame::ErrorObject => {
                    vec![Message::text(r#"{"code":-1121,"msg":"Invalid symbol."}"#)]
                }
                BadFrame::WrappedError => vec![Message::text(
                    r#"{"error":{"code":2,"msg":"Invalid request: invalid stream"},"id":2}"#,
                )],
                BadFrame::ControlResponse => vec![Message::text(r#"{"result":null,"id":1}"#)],
                BadFrame::Oversized(bytes) => vec![Message::text("x".repeat(*bytes))],
                BadFrame::PingFlood(count) => (0..*count)
                    .map(|n| Message::Ping(format!("flood-{n}").into_bytes().into()))
                    .collect(),
                BadFrame::ServerShutdown => vec![Message::text(self.server_shutdown())],
            };
            for message in messages {
                match self.socket.write(message) {
                    Ok(()) => {}
                    Err(WsError::Io(error)) if is_timeout(&error) => {}
                    Err(_) => return Link::Gone,
                }
            }
        }
        match self.flush() {
            Err(()) => Link::Gone,
            Ok(_) => Link::Open,
        }
    }

    /// Binance's planned-shutdown notice; a combined connection gets it wrapped as a frame
    /// of the `!serverShutdown` stream, as `extra/combined_serverShutdown.json`.
    pub(super) fn server_shutdown(&self) -> String {
        let notice = format!(r#"{{"e":"serverShutdown","E":{}}}"#, event_time(false));
        if self.combined {
            format!(r#"{{"stream":"!serverShutdown","data":{notice}}}"#)
        } else {
            notice
        }
    }
}

/// `notice` as tungstenite's close frame, its reason cut to fit on a char boundary.
fn close_frame(notice: &CloseNotice) -> CloseFrame {
    let mut end = notice.reason.len().min(MAX_CLOSE_REASON);
    while !notice.reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code: notice.code.into(),
        reason: notice.reason[..end].to_owned().into(),
    }
}
