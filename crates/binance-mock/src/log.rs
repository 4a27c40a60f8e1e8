//! [`StreamLog`]: one stream's recent payloads, shared by every connection to it.

use std::collections::VecDeque;

use tungstenite::Utf8Bytes;

use crate::feed::Feed;
use binance_streams::StreamKind;

/// Recent payloads kept per stream, so overlapping connections and replays send the same
/// bytes for the same id.
pub(crate) const LOG_CAPACITY: usize = 16_384;

/// A stream's feed plus its recent payloads: every connection to the stream asks it for
/// payloads by id, so ids (and their bytes) are shared, not per connection.
#[derive(Debug)]
pub struct StreamLog {
    feed: Feed,
    log: VecDeque<Utf8Bytes>,
    /// The id of `log[0]`.
    first_logged: u64,
    /// Connections served so far.
    pub connections: u64,
}

impl StreamLog {
    /// A log for `stream_symbol`'s spot `kind` stream, starting at id 1.
    pub fn new(stream_symbol: &str, kind: StreamKind) -> Self {
        Self::from_feed(Feed::new(stream_symbol, kind, 1))
    }

    /// A log of `feed`'s events, starting at its next id.
    pub fn from_feed(feed: Feed) -> Self {
        Self {
            first_logged: feed.next_id(),
            feed,
            log: VecDeque::new(),
            connections: 0,
        }
    }

    /// The id the next newly generated event will carry.
    pub fn next_id(&self) -> u64 {
        self.feed.next_id()
    }

    /// The payload of event `id`, generating events up to it if they do not exist yet.
    /// `now` stamps newly generated events. An id older than the log gets a fresh
    /// stand-in payload with the same id.
    pub fn payload(&mut self, id: u64, now: u64, scratch: &mut String) -> Utf8Bytes {
        while self.feed.next_id() <= id {
            self.feed.next_payload(scratch, now);
            if self.log.len() == LOG_CAPACITY {
                self.log.pop_front();
                self.first_logged += 1;
            }
            self.log.push_back(Utf8Bytes::from(scratch.as_str()));
        }
        let logged = id
            .checked_sub(self.first_logged)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|offset| self.log.get(offset));
        match logged {
            Some(payload) => payload.clone(),
            None => self.stray_payload(id, now, scratch),
        }
    }

    /// A payload for event `id` generated apart from the log, which it leaves as it was:
    /// the stand-in for a forgotten id, and the stray event of an id jump
    /// (`Faults::id_jumps`).
    pub(crate) fn stray_payload(&self, id: u64, now: u64, scratch: &mut String) -> Utf8Bytes {
        let mut stand_in = self.feed.stand_in(id);
        stand_in.next_payload(scratch, now);
        Utf8Bytes::from(scratch.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use binance_streams::UpdateSpeed;

    #[test]
    fn stand_ins_for_forgotten_ids_keep_the_flavor() {
        let feed = Feed::new("ethusdt", StreamKind::Depth(UpdateSpeed::Fast), 1).futures(true);
        let mut log = StreamLog::from_feed(feed);
        let mut scratch = String::new();
        let newest = LOG_CAPACITY as u64 + 10;
        log.payload(newest, 1_732_500_000_000, &mut scratch);
        let forgotten = log.payload(1, 1_732_500_000_000, &mut scratch);
        assert!(forgotten.contains(r#""pu":"#), "{}", forgotten.as_str());
        assert_eq!(
            log.payload(newest, 1_732_500_000_000, &mut scratch),
            log.payload(newest, 0, &mut scratch)
        );
    }
}
