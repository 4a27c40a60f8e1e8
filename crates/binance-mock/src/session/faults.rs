//! The faults a session injects when they are due: resets, stalls, clean closes, bad frames
//! and the server-shutdown notice (see [`Faults`](crate::Faults)).

use std::time::{Duration, Instant};

use tungstenite::{Error as WsError, Message};

use super::{CLOSE_GRACE, Link, MAX_IDLE_WAIT, Session, event_time, is_timeout};
use crate::faults::BadFrame;

impl Session<'_> {
    /// Whether a per-connection fault is due before the next message.
    pub(super) fn at_fault_limit(&self) -> bool {
        let faults = &self.shared.config.faults;
        [
            faults.reset_after_messages,
            faults.stall_after_messages,
            faults.close_after_messages,
        ]
        .into_iter()
        .flatten()
        .any(|limit| self.sent >= limit)
            || (self.bad_frames_pending && self.sent >= faults.bad_frames_after)
    }

    /// Resets the TCP connection: no close frame, an RST on the wire.
    pub(super) fn reset(self) {
        let _ = socket2::SockRef::from(&self.control).set_linger(Some(Duration::ZERO));
        // Dropping both handles closes the socket; with a zero linger that sends RST.
    }

    /// Stops sending and reading, leaving the TCP connection open until the exchange stops.
    pub(super) fn stall(&self) {
        while !self.shared.stopping() {
            std::thread::sleep(MAX_IDLE_WAIT);
        }
    }

    /// Sends a close frame and waits briefly for the client's reply.
    pub(super) fn close_cleanly(&mut self) {
        let _ = self.socket.close(None);
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
