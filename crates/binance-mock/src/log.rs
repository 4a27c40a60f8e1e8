//! [`StreamLog`]: one stream's recent payloads, shared by every connection to it.

use std::collections::VecDeque;

use tungstenite::Utf8Bytes;

use crate::feed::{BookTop, Feed, TrueBook};
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
    /// Diff depth with `MockConfig::record_books`: the book's top after each event, oldest
    /// first, at most [`LOG_CAPACITY`].
    tops: Option<VecDeque<BookTop>>,
    /// Diff depth with stale-snapshot faults: the book as it was before the stream's first
    /// event, older than anything a client that joined later has buffered.
    initial: Option<TrueBook>,
}

/// Levels a side recorded per event by `MockConfig::record_books`.
pub const RECORDED_DEPTH: usize = 20;

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
            tops: None,
            initial: None,
        }
    }

    /// Records the book's top after every event (`record`), and keeps the book of a few
    /// events back for stale snapshots (`stale`). Diff-depth streams only.
    pub fn keep_books(mut self, record: bool, stale: bool) -> Self {
        let Some(book) = self.feed.true_book() else {
            return self;
        };
        if record {
            self.tops = Some(VecDeque::from([book.top(RECORDED_DEPTH)]));
        }
        if stale {
            self.initial = Some(book.clone());
        }
        self
    }

    /// The book's top levels at `update_id`, when recorded (an update id that ends an
    /// event, or the one before the first).
    pub fn book_top_at(&self, update_id: u64) -> Option<BookTop> {
        let tops = self.tops.as_ref()?;
        let index = tops
            .binary_search_by_key(&update_id, |top| top.update_id)
            .ok()?;
        tops.get(index).cloned()
    }

    /// The REST snapshot of the book now (or, `stale`, before the first event) with `limit`
    /// levels a side; `None` for a stream without a book.
    pub fn snapshot_json(
        &self,
        limit: usize,
        stale: bool,
        futures_time: Option<u64>,
    ) -> Option<String> {
        let book = match (&self.initial, stale) {
            (Some(initial), true) => initial,
            _ => self.feed.true_book()?,
        };
        Some(book.snapshot_json(limit, futures_time))
    }

    fn note_book(&mut self) {
        let Some(book) = self.feed.true_book() else {
            return;
        };
        if let Some(tops) = &mut self.tops {
            if tops.len() == LOG_CAPACITY {
                tops.pop_front();
            }
            tops.push_back(book.top(RECORDED_DEPTH));
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
            if self.tops.is_some() {
                self.note_book();
            }
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
