//! The fast kinds, one struct each: `scan` takes Binance's keys in Binance's order (spot and
//! futures shapes; the optional keys where the wire model has an `Option`), `write`
//! appends the body as the wire model serializes it (its output names, its order, its
//! skipped `None`s), and `sequence` and `event_time` answer as its `Payload` impl does.
//! `binance_streams::wire` defines the output; the differential tests hold these copies
//! to it byte for byte.

use binance_streams::SequencePoint;

use super::cursor::{Cursor, Int};

/// A scanned event of a fast kind: the frame's tokens, borrowed.
#[derive(Debug)]
pub(super) enum Body<'a> {
    Trade(Trade<'a>),
    AggTrade(AggTrade<'a>),
    BookTicker(BookTicker<'a>),
    Depth(Depth<'a>),
}

impl Body<'_> {
    pub(super) fn sequence(&self) -> SequencePoint {
        match self {
            Self::Trade(trade) => SequencePoint::stepping(trade.trade_id.value),
            Self::AggTrade(agg) => SequencePoint::stepping(agg.agg_trade_id.value),
            Self::BookTicker(ticker) => SequencePoint::increasing(ticker.update_id.value),
            Self::Depth(depth) => depth.sequence(),
        }
    }

    pub(super) fn event_time(&self) -> Option<u64> {
        match self {
            Self::Trade(trade) => Some(trade.event_time.value),
            Self::AggTrade(agg) => Some(agg.event_time.value),
            Self::BookTicker(ticker) => ticker.event_time.map(|time| time.value),
            Self::Depth(depth) => Some(depth.event_time.value),
        }
    }

    /// Appends the body's fields, each led by a comma: `,"trade_id":1,..`.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        match self {
            Self::Trade(trade) => trade.write(out),
            Self::AggTrade(agg) => agg.write(out),
            Self::BookTicker(ticker) => ticker.write(out),
            Self::Depth(depth) => depth.write(out),
        }
    }
}

/// Appends `key` and `value`, both as written.
fn put(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.extend_from_slice(key);
    out.extend_from_slice(value);
}

/// Appends `key` and `value` when there is a value (serde's `skip_serializing_if`).
fn put_some(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    if let Some(value) = value {
        put(out, key, value);
    }
}

/// `@trade`: `{"e":"trade","E","s","t","p","q",["b"],["a"],"T","m",["M"]}`; `b` and `a`
/// are the legacy order ids (spot before 2024-06-18, Binance.US).
#[derive(Debug)]
pub(super) struct Trade<'a> {
    event_time: Int<'a>,
    trade_id: Int<'a>,
    price: &'a [u8],
    qty: &'a [u8],
    buyer_order_id: Option<Int<'a>>,
    seller_order_id: Option<Int<'a>>,
    trade_time: Int<'a>,
    buyer_maker: &'a [u8],
}

impl<'a> Trade<'a> {
    pub(super) fn scan(c: &mut Cursor<'a>) -> Option<Self> {
        let event_time = c.int(br#"{"e":"trade","E":"#)?;
        c.str(br#","s":"#)?;
        let trade_id = c.int(br#","t":"#)?;
        let price = c.str(br#","p":"#)?;
        let qty = c.str(br#","q":"#)?;
        let buyer_order_id = c.optional(br#","b":"#, Cursor::integer)?;
        let seller_order_id = c.optional(br#","a":"#, Cursor::integer)?;
        let trade_time = c.int(br#","T":"#)?;
        let buyer_maker = c.bool(br#","m":"#)?;
        c.optional(br#","M":"#, Cursor::boolean)?;
        c.expect(b"}")?;
        Some(Self {
            event_time,
            trade_id,
            price,
            qty,
            buyer_order_id,
            seller_order_id,
            trade_time,
            buyer_maker,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put(out, br#","trade_id":"#, self.trade_id.text);
        put(out, br#","price":"#, self.price);
        put(out, br#","qty":"#, self.qty);
        put(out, br#","buyer_maker":"#, self.buyer_maker);
        put(out, br#","trade_time":"#, self.trade_time.text);
        put(out, br#","event_time":"#, self.event_time.text);
        let buyer = self.buyer_order_id.map(|id| id.text);
        put_some(out, br#","buyer_order_id":"#, buyer);
        let seller = self.seller_order_id.map(|id| id.text);
        put_some(out, br#","seller_order_id":"#, seller);
    }
}

/// `@aggTrade`: spot `{"e":"aggTrade","E","s","a","p","q","f","l","T","m","M"}`; futures add
/// `nq` after `q` and drop `M`.
#[derive(Debug)]
pub(super) struct AggTrade<'a> {
    event_time: Int<'a>,
    agg_trade_id: Int<'a>,
    price: &'a [u8],
    qty: &'a [u8],
    normal_qty: Option<&'a [u8]>,
    first_trade_id: Int<'a>,
    last_trade_id: Int<'a>,
    trade_time: Int<'a>,
    buyer_maker: &'a [u8],
}

impl<'a> AggTrade<'a> {
    pub(super) fn scan(c: &mut Cursor<'a>) -> Option<Self> {
        let event_time = c.int(br#"{"e":"aggTrade","E":"#)?;
        c.str(br#","s":"#)?;
        let agg_trade_id = c.int(br#","a":"#)?;
        let price = c.str(br#","p":"#)?;
        let qty = c.str(br#","q":"#)?;
        let normal_qty = c.optional(br#","nq":"#, Cursor::string)?;
        let first_trade_id = c.int(br#","f":"#)?;
        let last_trade_id = c.int(br#","l":"#)?;
        let trade_time = c.int(br#","T":"#)?;
        let buyer_maker = c.bool(br#","m":"#)?;
        c.optional(br#","M":"#, Cursor::boolean)?;
        c.expect(b"}")?;
        Some(Self {
            event_time,
            agg_trade_id,
            price,
            qty,
            normal_qty,
            first_trade_id,
            last_trade_id,
            trade_time,
            buyer_maker,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put(out, br#","agg_trade_id":"#, self.agg_trade_id.text);
        put(out, br#","price":"#, self.price);
        put(out, br#","qty":"#, self.qty);
        put_some(out, br#","normal_qty":"#, self.normal_qty);
        put(out, br#","first_trade_id":"#, self.first_trade_id.text);
        put(out, br#","last_trade_id":"#, self.last_trade_id.text);
        put(out, br#","buyer_maker":"#, self.buyer_maker);
        put(out, br#","trade_time":"#, self.trade_time.text);
        put(out, br#","event_time":"#, self.event_time.text);
    }
}

/// `@bookTicker`: spot `{"u","s","b","B","a","A"}`; futures
/// `{"e":"bookTicker","u","E","T","s","b","B","a","A"}`.
#[derive(Debug)]
pub(super) struct BookTicker<'a> {
    update_id: Int<'a>,
    event_time: Option<Int<'a>>,
    transaction_time: Option<Int<'a>>,
    bid_price: &'a [u8],
    bid_qty: &'a [u8],
    ask_price: &'a [u8],
    ask_qty: &'a [u8],
}

impl<'a> BookTicker<'a> {
    pub(super) fn scan(c: &mut Cursor<'a>) -> Option<Self> {
        c.expect(b"{")?;
        c.eat(br#""e":"bookTicker","#);
        let update_id = c.int(br#""u":"#)?;
        let event_time = c.optional(br#","E":"#, Cursor::integer)?;
        let transaction_time = c.optional(br#","T":"#, Cursor::integer)?;
        c.str(br#","s":"#)?;
        let bid_price = c.str(br#","b":"#)?;
        let bid_qty = c.str(br#","B":"#)?;
        let ask_price = c.str(br#","a":"#)?;
        let ask_qty = c.str(br#","A":"#)?;
        c.expect(b"}")?;
        Some(Self {
            update_id,
            event_time,
            transaction_time,
            bid_price,
            bid_qty,
            ask_price,
            ask_qty,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put(out, br#","update_id":"#, self.update_id.text);
        put(out, br#","bid_price":"#, self.bid_price);
        put(out, br#","bid_qty":"#, self.bid_qty);
        put(out, br#","ask_price":"#, self.ask_price);
        put(out, br#","ask_qty":"#, self.ask_qty);
        let event_time = self.event_time.map(|time| time.text);
        put_some(out, br#","event_time":"#, event_time);
        let transaction_time = self.transaction_time.map(|time| time.text);
        put_some(out, br#","transaction_time":"#, transaction_time);
    }
}

/// `@depth[@100ms|@500ms]`: spot `{"e":"depthUpdate","E","s","U","u","b","a"}`; futures
/// add `T` after `E` and `pu` after `u`, COIN-M also `ps` after `s`.
#[derive(Debug)]
pub(super) struct Depth<'a> {
    event_time: Int<'a>,
    transaction_time: Option<Int<'a>>,
    pair: Option<&'a [u8]>,
    first_update_id: Int<'a>,
    final_update_id: Int<'a>,
    prev_final_update_id: Option<Int<'a>>,
    bids: &'a [u8],
    asks: &'a [u8],
}

impl<'a> Depth<'a> {
    pub(super) fn scan(c: &mut Cursor<'a>) -> Option<Self> {
        let event_time = c.int(br#"{"e":"depthUpdate","E":"#)?;
        let transaction_time = c.optional(br#","T":"#, Cursor::integer)?;
        c.str(br#","s":"#)?;
        let pair = c.optional(br#","ps":"#, Cursor::string)?;
        let first_update_id = c.int(br#","U":"#)?;
        let final_update_id = c.int(br#","u":"#)?;
        let prev_final_update_id = c.optional(br#","pu":"#, Cursor::integer)?;
        // The model reads `pu` as signed (COIN-M sends -1, which this scanner declines):
        // a value beyond i64 is the model's error to report, not a line to write.
        if prev_final_update_id.is_some_and(|prev| i64::try_from(prev.value).is_err()) {
            return None;
        }
        let bids = c.levels(br#","b":"#)?;
        let asks = c.levels(br#","a":"#)?;
        c.expect(b"}")?;
        Some(Self {
            event_time,
            transaction_time,
            pair,
            first_update_id,
            final_update_id,
            prev_final_update_id,
            bids,
            asks,
        })
    }

    /// As `DepthUpdate::sequence`: futures name their predecessor (`pu`), spot updates
    /// cover `U..=u`.
    fn sequence(&self) -> SequencePoint {
        let id = self.final_update_id.value;
        match self.prev_final_update_id {
            Some(prev) => SequencePoint {
                id,
                first: None,
                prev: Some(prev.value),
            },
            None => SequencePoint {
                id,
                first: Some(self.first_update_id.value),
                prev: None,
            },
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        put(out, br#","event_time":"#, self.event_time.text);
        let transaction_time = self.transaction_time.map(|time| time.text);
        put_some(out, br#","transaction_time":"#, transaction_time);
        put_some(out, br#","pair":"#, self.pair);
        put(out, br#","first_update_id":"#, self.first_update_id.text);
        put(out, br#","final_update_id":"#, self.final_update_id.text);
        let prev = self.prev_final_update_id.map(|id| id.text);
        put_some(out, br#","prev_final_update_id":"#, prev);
        put(out, br#","bids":"#, self.bids);
        put(out, br#","asks":"#, self.asks);
    }
}
