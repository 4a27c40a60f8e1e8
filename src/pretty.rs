//! The human-readable output line (`--format pretty`): one aligned row per event, so a
//! terminal full of them reads as a table. Columns have fixed widths: the time (UTC, from
//! the event's own clock), the symbol, the stream, then the kind's own fields.
//!
//! Prices and quantities are the exchange's exact decimal strings, only shortened by their
//! trailing fractional zeros; the few derived numbers (spread, mini-ticker change) come from
//! exact decimal arithmetic on those strings, never from floats. Text from the payload or
//! the configuration is printed with control characters escaped, so a line can only end with
//! its own newline. Colour is ANSI SGR written by hand; without it no escape byte is written.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::Value;
use serde_json::value::RawValue;

use crate::event::{
    AggTrade, AvgPrice, BookTicker, DepthUpdate, Event, ForceOrder, Kline, MarkPrice, MiniTicker,
    PartialDepth, Ticker, Trade,
};
use crate::queue::Frame;

/// Fits every spot and USD-M symbol (`1000SHIBUSDT`) and COIN-M perpetuals (`BTCUSD_PERP`);
/// longer ones push the row rather than be cut, since a cut symbol could name another.
const SYMBOL_WIDTH: usize = 12;
/// Fits the longest stream name, `depth20@100ms`.
const STREAM_WIDTH: usize = 13;
/// Fits a trimmed price with eight decimals (`0.00001234`) or a six-digit one with cents.
const PRICE_WIDTH: usize = 10;
/// Same reasoning as prices: Binance quantities have at most eight decimals.
const QTY_WIDTH: usize = 10;
/// Rolling volumes run larger than single quantities.
const VOLUME_WIDTH: usize = 14;
/// Mark and index prices keep all eight decimals more often than not (`11784.62659091`).
const MARK_WIDTH: usize = 14;
/// A funding rate with sign and eight decimals, `-0.00038167`.
const RATE_WIDTH: usize = 11;
/// A ticker's change percent with sign and parentheses, `(+250.15%)`.
const PERCENT_WIDTH: usize = 10;
/// Kline intervals and averaging windows (`15m`, `12h`).
const INTERVAL_WIDTH: usize = 3;
/// `BUY` and `SELL`.
const SIDE_WIDTH: usize = 4;
/// Levels a side of a depth update changed; bigger counts overflow the column.
const COUNT_WIDTH: usize = 4;
/// Trades in a candle or a rolling window.
const TRADES_WIDTH: usize = 7;

/// Times at or above this are microseconds (spot `timeUnit=MICROSECOND`): as milliseconds
/// they would be past the year 5000.
const MICROSECOND_TIMES: u64 = 100_000_000_000_000;

/// Resets every SGR attribute.
const RESET: &[u8] = b"\x1b[0m";

/// Appends one human-readable, aligned line for `event` to `out`, newline included.
///
/// `symbol` is the configured symbol and `stream` the stream name, as for
/// [`crate::format::write_line`]; `frame` gives the receive time for kinds that carry no
/// time of their own. `colour` adds ANSI colours; the caller decides (TTY, `NO_COLOR`).
pub fn write_pretty(
    out: &mut Vec<u8>,
    symbol: &str,
    stream: &str,
    event: &Event<'_>,
    frame: &Frame,
    colour: bool,
) {
    let mut line = Line { out, colour };
    line.clock(Style::Dim, event_time_us(event, frame), true);
    line.pad(1);
    line.left(Style::Bold, symbol, SYMBOL_WIDTH);
    line.pad(1);
    line.left(Style::Plain, stream, STREAM_WIDTH);
    line.pad(1);
    match event {
        Event::Trade(e) => trade(&mut line, e),
        Event::AggTrade(e) => agg_trade(&mut line, e),
        Event::BookTicker(e) => book_ticker(&mut line, e),
        Event::Depth(e) => depth(&mut line, e),
        Event::PartialDepth(e) => partial_depth(&mut line, e),
        Event::Kline(e) => kline(&mut line, e),
        Event::MiniTicker(e) => mini_ticker(&mut line, e),
        Event::Ticker(e) => ticker(&mut line, e),
        Event::AvgPrice(e) => avg_price(&mut line, e),
        Event::MarkPrice(e) => mark_price(&mut line, e),
        Event::ForceOrder(e) => force_order(&mut line, e),
    }
    line.end();
}

/// When the event happened, in microseconds: the trade time for trades (when it traded, not
/// when it was published), the event time otherwise, and the local receive time for the
/// kinds that carry none (spot book ticker and partial depth).
fn event_time_us(event: &Event<'_>, frame: &Frame) -> u64 {
    let own = match event {
        Event::Trade(e) => Some(e.trade_time),
        Event::AggTrade(e) => Some(e.trade_time),
        Event::BookTicker(e) => e.event_time,
        Event::Depth(e) => Some(e.event_time),
        Event::PartialDepth(e) => e.event_time,
        Event::Kline(e) => Some(e.event_time),
        Event::MiniTicker(e) => Some(e.event_time),
        Event::Ticker(e) => Some(e.event_time),
        Event::AvgPrice(e) => Some(e.event_time),
        Event::MarkPrice(e) => Some(e.event_time),
        Event::ForceOrder(e) => Some(e.event_time),
    };
    own.map_or(frame.recv_time_us, exchange_time_us)
}

/// An exchange time in microseconds, whichever unit it was sent in.
fn exchange_time_us(time: u64) -> u64 {
    if time >= MICROSECOND_TIMES {
        time
    } else {
        time.saturating_mul(1000)
    }
}

/// A trade as a tape shows it.
fn trade(line: &mut Line<'_>, e: &Trade<'_>) {
    taker_trade(line, &e.price, &e.qty, e.buyer_maker, e.trade_id);
}

/// A trade, then the range of trades it aggregates.
fn agg_trade(line: &mut Line<'_>, e: &AggTrade<'_>) {
    taker_trade(line, &e.price, &e.qty, e.buyer_maker, e.agg_trade_id);
    line.text(Style::Plain, "  trades ");
    line.text(
        Style::Plain,
        &format!("{}..{}", e.first_trade_id, e.last_trade_id),
    );
}

/// Price, quantity, the taker's side and the id: the buyer being the maker means the taker
/// sold, which is the side a tape shows.
fn taker_trade(line: &mut Line<'_>, price: &str, qty: &str, buyer_maker: bool, id: u64) {
    let (side, style) = if buyer_maker {
        ("SELL", Style::Down)
    } else {
        ("BUY", Style::Up)
    };
    line.right(style, shown(price), PRICE_WIDTH);
    line.pad(1);
    line.right(Style::Plain, shown(qty), QTY_WIDTH);
    line.pad(1);
    line.left(style, side, SIDE_WIDTH);
    line.text(Style::Plain, " #");
    line.text(Style::Plain, &id.to_string());
}

/// The best bid and ask, then the spread.
fn book_ticker(line: &mut Line<'_>, e: &BookTicker<'_>) {
    let bid = Level::At {
        price: Cow::Borrowed(&e.bid_price),
        qty: Cow::Borrowed(&e.bid_qty),
    };
    let ask = Level::At {
        price: Cow::Borrowed(&e.ask_price),
        qty: Cow::Borrowed(&e.ask_qty),
    };
    book_pair(line, &bid, &ask);
    spread(line, &bid, &ask);
}

/// A diff update changes levels anywhere in the book, so its best levels are the best it
/// touched (a quantity of 0 removed that level), not the book's top; the counts and the
/// update id range say how much changed.
fn depth(line: &mut Line<'_>, e: &DepthUpdate<'_>) {
    let bids = BookSide::parse(Some(e.bids), Ordering::Greater);
    let asks = BookSide::parse(Some(e.asks), Ordering::Less);
    book_pair(line, &bids.best, &asks.best);
    level_counts(line, &bids, &asks);
    line.text(Style::Plain, "  ");
    line.text(
        Style::Plain,
        &format!("{}..{}", e.first_update_id, e.final_update_id),
    );
}

/// The top of the book, the spread and how many levels each side sent. The best level is
/// found by price rather than taken first, so an unsorted side still shows its best.
fn partial_depth(line: &mut Line<'_>, e: &PartialDepth<'_>) {
    let bids = BookSide::parse(e.bids(), Ordering::Greater);
    let asks = BookSide::parse(e.asks(), Ordering::Less);
    book_pair(line, &bids.best, &asks.best);
    spread(line, &bids.best, &asks.best);
    level_counts(line, &bids, &asks);
}

/// `bid qty @ bid price | ask price x ask qty`, the same columns for every book kind.
fn book_pair(line: &mut Line<'_>, bid: &Level<'_>, ask: &Level<'_>) {
    match bid {
        Level::At { price, qty } => {
            line.right(Style::Plain, shown(qty), QTY_WIDTH);
            line.text(Style::Plain, " @ ");
            line.right(Style::Up, shown(price), PRICE_WIDTH);
        }
        other => {
            line.pad(QTY_WIDTH + 3);
            line.right(Style::Plain, other.placeholder(), PRICE_WIDTH);
        }
    }
    line.text(Style::Plain, " | ");
    match ask {
        Level::At { price, qty } => {
            line.right(Style::Down, shown(price), PRICE_WIDTH);
            line.text(Style::Plain, " x ");
            line.right(Style::Plain, shown(qty), QTY_WIDTH);
        }
        other => {
            line.right(Style::Plain, other.placeholder(), PRICE_WIDTH);
            line.pad(QTY_WIDTH + 3);
        }
    }
}

/// Ask minus bid, exactly; `?` when either side has no parsable price.
fn spread(line: &mut Line<'_>, bid: &Level<'_>, ask: &Level<'_>) {
    let difference = match (bid, ask) {
        (Level::At { price: bid, .. }, Level::At { price: ask, .. }) => {
            Decimal::parse(ask).zip(Decimal::parse(bid))
        }
        _ => None,
    }
    .and_then(|(ask, bid)| ask.minus(bid))
    .map_or_else(|| "?".to_owned(), |spread| spread.to_string());
    line.text(Style::Plain, "  spread ");
    line.right(Style::Plain, trim_zeros(&difference), PRICE_WIDTH);
}

/// `bids N asks M`: the levels each side sent (`?` when a side is not an array).
fn level_counts(line: &mut Line<'_>, bids: &BookSide, asks: &BookSide) {
    let count = |side: &BookSide| side.count.map_or_else(|| "?".to_owned(), |n| n.to_string());
    line.text(Style::Plain, "  bids ");
    line.right(Style::Plain, &count(bids), COUNT_WIDTH);
    line.text(Style::Plain, " asks ");
    line.right(Style::Plain, &count(asks), COUNT_WIDTH);
}

/// Interval, open/high/low/close (the close coloured against the open), volume, trades,
/// and a `closed` marker on the candle's final update.
fn kline(line: &mut Line<'_>, e: &Kline<'_>) {
    let k = &e.candle;
    line.left(Style::Plain, &k.interval, INTERVAL_WIDTH);
    labelled(line, " o ", Style::Plain, &k.open, PRICE_WIDTH);
    labelled(line, " h ", Style::Plain, &k.high, PRICE_WIDTH);
    labelled(line, " l ", Style::Plain, &k.low, PRICE_WIDTH);
    labelled(line, " c ", trend(&k.close, &k.open), &k.close, PRICE_WIDTH);
    labelled(line, "  v ", Style::Plain, &k.volume, VOLUME_WIDTH);
    line.text(Style::Plain, "  n ");
    line.right(Style::Plain, &k.trades.to_string(), TRADES_WIDTH);
    if k.closed {
        line.text(Style::Plain, "  ");
        line.text(Style::Alert, "closed");
    }
}

/// Last price and its change since the open (worked out exactly: the mini ticker sends no
/// change), with the ticker's blank percent column so both kinds align.
fn mini_ticker(line: &mut Line<'_>, e: &MiniTicker<'_>) {
    let change = Decimal::parse(&e.close)
        .zip(Decimal::parse(&e.open))
        .and_then(|(close, open)| close.minus(open))
        .map_or_else(|| "?".to_owned(), |change| change.to_string());
    let style = trend(&e.close, &e.open);
    labelled(line, "last ", style, &e.close, PRICE_WIDTH);
    line.pad(1);
    line.right(style, &signed(&change), PRICE_WIDTH);
    line.pad(1 + PERCENT_WIDTH);
    range_and_volume(line, &e.high, &e.low, &e.volume);
}

/// Last price, change and change percent as sent, high, low, volume and trades.
fn ticker(line: &mut Line<'_>, e: &Ticker<'_>) {
    let style = Decimal::parse(&e.price_change).map_or(Style::Plain, Decimal::trend);
    labelled(line, "last ", style, &e.last_price, PRICE_WIDTH);
    line.pad(1);
    line.right(style, &signed(&e.price_change), PRICE_WIDTH);
    line.pad(1);
    let percent = format!("({}%)", signed(&e.price_change_percent));
    line.right(style, &percent, PERCENT_WIDTH);
    range_and_volume(line, &e.high, &e.low, &e.volume);
    line.text(Style::Plain, "  n ");
    line.right(Style::Plain, &e.trades.to_string(), TRADES_WIDTH);
}

/// The rolling window's high, low and volume.
fn range_and_volume(line: &mut Line<'_>, high: &str, low: &str, volume: &str) {
    labelled(line, "  h ", Style::Plain, high, PRICE_WIDTH);
    labelled(line, " l ", Style::Plain, low, PRICE_WIDTH);
    labelled(line, "  v ", Style::Plain, volume, VOLUME_WIDTH);
}

/// The averaging interval and the average price.
fn avg_price(line: &mut Line<'_>, e: &AvgPrice<'_>) {
    line.left(Style::Plain, &e.interval, INTERVAL_WIDTH);
    labelled(line, " avg ", Style::Plain, &e.avg_price, PRICE_WIDTH);
}

/// Mark and index price, funding rate and next funding time; delivery contracts have no
/// funding (`""` and `0` on the wire), shown as `-`.
fn mark_price(line: &mut Line<'_>, e: &MarkPrice<'_>) {
    labelled(line, "mark ", Style::Plain, &e.mark_price, MARK_WIDTH);
    let index = e.index_price.as_deref().unwrap_or("");
    labelled(line, "  index ", Style::Plain, index, MARK_WIDTH);
    let rate = e.funding_rate.as_deref().unwrap_or("");
    labelled(line, "  funding ", Style::Plain, rate, RATE_WIDTH);
    line.text(Style::Plain, "  next ");
    match e.next_funding_time.filter(|time| *time != 0) {
        Some(time) => line.clock(Style::Plain, exchange_time_us(time), false),
        None => line.text(Style::Plain, "-"),
    }
}

/// A liquidation: the order's side, quantity at price, average fill price and status.
fn force_order(line: &mut Line<'_>, e: &ForceOrder<'_>) {
    let o = &e.order;
    let side_style = match o.side.as_ref() {
        "BUY" => Style::Up,
        "SELL" => Style::Down,
        _ => Style::Plain,
    };
    line.left(side_style, &o.side, SIDE_WIDTH);
    line.pad(1);
    line.right(Style::Alert, shown(&o.qty), QTY_WIDTH);
    line.text(Style::Plain, " @ ");
    line.right(Style::Alert, shown(&o.price), PRICE_WIDTH);
    labelled(line, "  avg ", Style::Plain, &o.avg_price, PRICE_WIDTH);
    line.text(Style::Plain, "  ");
    line.text(Style::Alert, &o.status);
}

/// A fixed label, then a decimal right-aligned in `width`.
fn labelled(line: &mut Line<'_>, label: &str, style: Style, value: &str, width: usize) {
    line.text(Style::Plain, label);
    line.right(style, shown(value), width);
}

/// Up when `now` is above `before`, down when below, plain when equal or unparsable.
fn trend(now: &str, before: &str) -> Style {
    Decimal::parse(now)
        .zip(Decimal::parse(before))
        .and_then(|(now, before)| now.minus(before))
        .map_or(Style::Plain, Decimal::trend)
}

/// A decimal as shown: trailing fractional zeros trimmed, `-` for an empty string.
fn shown(text: &str) -> &str {
    if text.is_empty() {
        "-"
    } else {
        trim_zeros(text)
    }
}

/// A change as shown, with `+` on a rise so the direction reads without colour.
fn signed(text: &str) -> String {
    let trimmed = shown(text);
    match Decimal::parse(text).map(Decimal::trend) {
        Some(Style::Up) => format!("+{trimmed}"),
        _ => trimmed.to_owned(),
    }
}

/// Drops trailing zeros after the decimal point (and the point itself when nothing is left):
/// `3010.55000000` → `3010.55`, `100.00000000` → `100`. Anything that is not a plain decimal
/// is returned untouched: no digit is ever changed.
fn trim_zeros(text: &str) -> &str {
    match split_decimal(text) {
        Some((_, _, fraction)) if !fraction.is_empty() => {
            text.trim_end_matches('0').trim_end_matches('.')
        }
        _ => text,
    }
}

/// Splits `[-]digits[.digits]` into sign, whole and fraction digits; `None` for anything else.
fn split_decimal(text: &str) -> Option<(bool, &str, &str)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (unsigned, ""),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    (!whole.is_empty() && digits(whole) && digits(fraction)).then_some((negative, whole, fraction))
}

/// An exact decimal, `units / 10^scale`, for the few numbers the line derives (spread,
/// change, which side is better): floats would print digits Binance never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// More digits than this might overflow `i128` once scales are aligned.
    const MAX_DIGITS: usize = 36;

    /// Parses `[-]digits[.digits]`; `None` for anything else or more than 36 digits.
    fn parse(text: &str) -> Option<Self> {
        let (negative, whole, fraction) = split_decimal(text)?;
        if whole.len() + fraction.len() > Self::MAX_DIGITS {
            return None;
        }
        let magnitude = whole
            .bytes()
            .chain(fraction.bytes())
            .fold(0_i128, |acc, byte| acc * 10 + i128::from(byte - b'0'));
        Some(Self {
            units: if negative { -magnitude } else { magnitude },
            scale: u32::try_from(fraction.len()).ok()?,
        })
    }

    /// The units at a scale at least this one's; `None` on overflow.
    fn units_at(self, scale: u32) -> Option<i128> {
        let factor = 10_i128.checked_pow(scale.checked_sub(self.scale)?)?;
        self.units.checked_mul(factor)
    }

    /// `self - other`, exactly; `None` on overflow.
    fn minus(self, other: Self) -> Option<Self> {
        let scale = self.scale.max(other.scale);
        Some(Self {
            units: self.units_at(scale)?.checked_sub(other.units_at(scale)?)?,
            scale,
        })
    }

    /// How `self` compares with `other`; `None` on overflow.
    fn compare(self, other: Self) -> Option<Ordering> {
        self.minus(other).map(|difference| difference.units.cmp(&0))
    }

    /// The colour of a change: up, down, or plain for none.
    fn trend(self) -> Style {
        match self.units.cmp(&0) {
            Ordering::Greater => Style::Up,
            Ordering::Less => Style::Down,
            Ordering::Equal => Style::Plain,
        }
    }
}

impl fmt::Display for Decimal {
    /// All `scale` fractional digits; callers trim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = self.scale as usize;
        let digits = format!("{:0>width$}", self.units.unsigned_abs(), width = scale + 1);
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        let sign = if self.units < 0 { "-" } else { "" };
        if fraction.is_empty() {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{fraction}")
        }
    }
}

/// One side of a book update: how many levels it sent and its best one.
struct BookSide {
    /// `None` when the side is not a JSON array.
    count: Option<usize>,
    best: Level<'static>,
}

/// The best level of a side, or why there is none.
enum Level<'a> {
    /// A price and its quantity, as sent: borrowed from a book ticker, copied out of a
    /// parsed depth side.
    At {
        price: Cow<'a, str>,
        qty: Cow<'a, str>,
    },
    /// The side sent no levels.
    Empty,
    /// The side or one of its levels is not `[price, qty]` with decimal prices.
    Malformed,
}

impl Level<'_> {
    /// What the price column shows when there is no level to print: `-` for a side that
    /// sent none, `?` for one that could not be read.
    fn placeholder(&self) -> &'static str {
        if matches!(self, Self::Empty) {
            "-"
        } else {
            "?"
        }
    }
}

impl BookSide {
    /// Parses a side's levels (this path is for people, so allocating is fine) and picks
    /// the level whose price compares as `better` (`Greater` for bids, `Less` for asks)
    /// against every other. Any malformed level makes the best unknown: it might have been it.
    fn parse(levels: Option<&RawValue>, better: Ordering) -> Self {
        let Some(levels) = levels
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .and_then(|value| match value {
                Value::Array(levels) => Some(levels),
                _ => None,
            })
        else {
            return Self {
                count: None,
                best: Level::Malformed,
            };
        };
        Self {
            count: Some(levels.len()),
            best: best_level(&levels, better).unwrap_or(Level::Malformed),
        }
    }
}

/// The best of `levels` by price; `None` when any level is malformed.
fn best_level(levels: &[Value], better: Ordering) -> Option<Level<'static>> {
    let mut best: Option<(Decimal, &str, &str)> = None;
    for level in levels {
        let (price, qty) = match level.as_array()?.as_slice() {
            [price, qty, ..] => (price.as_str()?, qty.as_str()?),
            _ => return None,
        };
        let value = Decimal::parse(price)?;
        let replaces = match best {
            Some((current, ..)) => value.compare(current)? == better,
            None => true,
        };
        if replaces {
            best = Some((value, price, qty));
        }
    }
    Some(best.map_or(Level::Empty, |(_, price, qty)| Level::At {
        price: Cow::Owned(price.to_owned()),
        qty: Cow::Owned(qty.to_owned()),
    }))
}

/// An ANSI SGR style for one span of the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// No escape at all.
    Plain,
    /// The time: present but secondary.
    Dim,
    /// The symbol: what the eye looks for first.
    Bold,
    /// Buys, bids, rises.
    Up,
    /// Sells, asks, falls.
    Down,
    /// Closed candles and liquidations: events worth a second look.
    Alert,
}

impl Style {
    /// The escape that starts the style; `None` for plain text.
    fn sgr(self) -> Option<&'static [u8]> {
        match self {
            Self::Plain => None,
            Self::Dim => Some(b"\x1b[2m"),
            Self::Bold => Some(b"\x1b[1m"),
            Self::Up => Some(b"\x1b[32m"),
            Self::Down => Some(b"\x1b[31m"),
            Self::Alert => Some(b"\x1b[33m"),
        }
    }
}

/// A line being written: styled spans, padded by visible width.
struct Line<'o> {
    out: &'o mut Vec<u8>,
    colour: bool,
}

impl Line<'_> {
    /// Writes `text` in `style`, control characters escaped; each styled span resets itself.
    fn text(&mut self, style: Style, text: &str) {
        let sgr = style.sgr().filter(|_| self.colour);
        if let Some(sgr) = sgr {
            self.out.extend_from_slice(sgr);
        }
        push_escaped(self.out, text);
        if sgr.is_some() {
            self.out.extend_from_slice(RESET);
        }
    }

    /// `text`, then spaces up to `width` columns (longer text overflows: it is never cut).
    fn left(&mut self, style: Style, text: &str, width: usize) {
        self.text(style, text);
        self.pad(width.saturating_sub(escaped_width(text)));
    }

    /// Spaces, then `text` ending at `width` columns (longer text overflows).
    fn right(&mut self, style: Style, text: &str, width: usize) {
        self.pad(width.saturating_sub(escaped_width(text)));
        self.text(style, text);
    }

    /// Blank columns: padding and separators.
    fn pad(&mut self, spaces: usize) {
        self.out.resize(self.out.len() + spaces, b' ');
    }

    /// UTC time of day of `time_us`: `HH:MM:SS.mmm`, or `HH:MM:SS` without `millis`.
    fn clock(&mut self, style: Style, time_us: u64, millis: bool) {
        let day = time_us / 1_000_000 % 86_400;
        let (hours, minutes, seconds) = (day / 3600, day / 60 % 60, day % 60);
        let text = if millis {
            let ms = time_us / 1000 % 1000;
            format!("{hours:02}:{minutes:02}:{seconds:02}.{ms:03}")
        } else {
            format!("{hours:02}:{minutes:02}:{seconds:02}")
        };
        self.text(style, &text);
    }

    /// Ends the line: one last reset so no style can leak into the next, then the newline.
    fn end(self) {
        if self.colour {
            self.out.extend_from_slice(RESET);
        }
        self.out.push(b'\n');
    }
}

/// Characters that could break the line or fake its content: controls (newline, ESC, C1),
/// Unicode line and paragraph separators, and bidirectional overrides that reorder text.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `text` with every [`needs_escape`] character written as `\u{..}`.
fn push_escaped(out: &mut Vec<u8>, text: &str) {
    let mut utf8 = [0; 4];
    for c in text.chars() {
        if needs_escape(c) {
            for escaped in c.escape_unicode() {
                out.extend_from_slice(escaped.encode_utf8(&mut utf8).as_bytes());
            }
        } else {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }
}

/// How many characters [`push_escaped`] writes for `text`: its width in columns for the
/// narrow scripts symbols and numbers use.
fn escaped_width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if needs_escape(c) {
                c.escape_unicode().count()
            } else {
                1
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;
    use crate::spec::StreamKind;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/binance");
    const RECV_TIME_US: u64 = 1_732_500_000_126_543;

    /// Every market-data fixture with the stream kind it is read as.
    const MARKET_DATA: [(&str, &str); 19] = [
        ("trade", "trade.json"),
        ("trade", "trade_legacy_with_order_ids.json"),
        ("aggTrade", "aggTrade.json"),
        ("aggTrade", "futures_aggTrade.json"),
        ("bookTicker", "bookTicker.json"),
        ("bookTicker", "futures_bookTicker.json"),
        ("depth", "depthUpdate.json"),
        ("depth@100ms", "futures_depthUpdate.json"),
        ("depth", "coinm_depthUpdate.json"),
        ("depth5", "partialDepth5.json"),
        ("depth5", "futures_partialDepth5.json"),
        ("kline_1m", "kline_1m.json"),
        ("miniTicker", "24hrMiniTicker.json"),
        ("ticker", "24hrTicker.json"),
        ("ticker_1h", "1hTicker.json"),
        ("avgPrice", "avgPrice.json"),
        ("markPrice", "futures_markPriceUpdate.json"),
        ("markPrice", "coinm_markPriceUpdate.json"),
        ("forceOrder", "futures_forceOrder.json"),
    ];

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}/{name}"))
            .unwrap_or_else(|error| panic!("fixture {name}: {error}"))
            .trim_end()
            .to_owned()
    }

    /// The line for `payload` read as stream `kind_name` of `symbol`.
    fn render(symbol: &str, kind_name: &str, payload: &str, colour: bool) -> String {
        let kind: StreamKind = kind_name.parse().unwrap();
        let event = parse_event(kind, payload).unwrap_or_else(|error| panic!("{error}"));
        let frame = Frame {
            payload: payload.into(),
            recv_time_us: RECV_TIME_US,
        };
        let mut out = Vec::new();
        write_pretty(&mut out, symbol, &kind.name(), &event, &frame, colour);
        String::from_utf8(out).unwrap()
    }

    fn render_fixture(symbol: &str, kind_name: &str, file: &str, colour: bool) -> String {
        render(symbol, kind_name, &fixture(file), colour)
    }

    /// Where the body starts: time, symbol and stream columns with their separators.
    const BODY_OFFSET: usize = 12 + 1 + SYMBOL_WIDTH + 1 + STREAM_WIDTH + 1;

    #[test]
    fn every_fixture_is_one_plain_line_with_the_head_columns_aligned() {
        for (kind, file) in MARKET_DATA {
            let line = render_fixture("BNBBTC", kind, file, false);
            assert!(line.ends_with('\n'), "{file}: {line:?}");
            assert_eq!(line.matches('\n').count(), 1, "{file}: {line:?}");
            assert!(!line.contains('\x1b'), "{file}: {line:?}");
            assert!(
                !line.trim_end_matches('\n').ends_with(' '),
                "{file}: {line:?}"
            );
            assert_eq!(&line[12..26], " BNBBTC       ", "{file}: {line:?}");
            assert_eq!(
                &line[26..27 + STREAM_WIDTH],
                format!("{kind:<13} "),
                "{file}"
            );
        }
    }

    #[test]
    fn every_fixture_in_colour_resets_before_the_newline() {
        for (kind, file) in MARKET_DATA {
            let line = render_fixture("BNBBTC", kind, file, true);
            assert!(line.contains('\x1b'), "{file}");
            assert!(line.ends_with("\x1b[0m\n"), "{file}: {line:?}");
            assert_eq!(line.matches('\n').count(), 1, "{file}");
            assert!(line.starts_with("\x1b[2m"), "{file}: dim time");
            assert!(line.contains("\x1b[1mBNBBTC\x1b[0m"), "{file}: bold symbol");
        }
    }

    #[test]
    fn colour_only_adds_escapes() {
        for (kind, file) in MARKET_DATA {
            let coloured = render_fixture("ETHUSDT", kind, file, true);
            let stripped = strip_sgr(&coloured);
            assert_eq!(
                stripped,
                render_fixture("ETHUSDT", kind, file, false),
                "{file}"
            );
        }
    }

    /// The line without its SGR escapes.
    fn strip_sgr(line: &str) -> String {
        let mut out = String::new();
        let mut rest = line;
        while let Some(start) = rest.find('\x1b') {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('m').unwrap();
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn trade_lines_byte_for_byte() {
        assert_eq!(
            render_fixture("BNBBTC", "trade", "trade.json", false),
            "19:43:02.136 BNBBTC       trade              0.001        100 SELL #12345\n"
        );
        assert_eq!(
            render_fixture("BTCUSDT", "aggTrade", "futures_aggTrade.json", false),
            "10:17:36.785 BTCUSDT      aggTrade           0.001        100 SELL #5933014  trades 100..105\n"
        );
    }

    #[test]
    fn book_lines_byte_for_byte() {
        // Spot book tickers carry no time: the receive time stands in.
        assert_eq!(
            render_fixture("BNBUSDT", "bookTicker", "bookTicker.json", false),
            "02:00:00.126 BNBUSDT      bookTicker         31.21 @    25.3519 |    25.3652 x      40.66  spread     0.0133\n"
        );
        // The documentation's futures depth5 lists bids upwards: the best is found by price.
        assert_eq!(
            render_fixture("BTCUSDT", "depth5", "futures_partialDepth5.json", false),
            "03:54:08.277 BTCUSDT      depth5             2.562 @    7405.43 |    7405.96 x       3.34  spread       0.53  bids    5 asks    5\n"
        );
        assert_eq!(
            render_fixture("BTCUSD_200626", "depth", "coinm_depthUpdate.json", false),
            "11:31:00.907 BTCUSD_200626 depth                 10 @     9517.6 |     9518.5 x         45  bids    1 asks    1  17285681..17285702\n"
        );
    }

    #[test]
    fn kline_ticker_and_mark_lines_byte_for_byte() {
        assert_eq!(
            render_fixture("BNBBTC", "kline_1m", "kline_1m.json", false),
            "19:43:02.136 BNBBTC       kline_1m      1m  o      0.001 h     0.0025 l     0.0015 c      0.002  v           1000  n     100\n"
        );
        assert_eq!(
            render_fixture("BNBBTC", "ticker", "24hrTicker.json", false),
            "19:43:02.136 BNBBTC       ticker        last     0.0025    +0.0015    (+250%)  h     0.0025 l      0.001  v          10000  n   18151\n"
        );
        assert_eq!(
            render_fixture("BNBBTC", "miniTicker", "24hrMiniTicker.json", false),
            "19:43:02.136 BNBBTC       miniTicker    last     0.0025    +0.0015             h     0.0025 l      0.001  v          10000\n"
        );
        assert_eq!(
            render_fixture(
                "BTCUSDT",
                "markPrice",
                "futures_markPriceUpdate.json",
                false
            ),
            "05:43:00.000 BTCUSDT      markPrice     mark       11794.15  index 11784.62659091  funding  0.00038167  next 06:00:00\n"
        );
        assert_eq!(
            render_fixture(
                "BTCUSD_201225",
                "markPrice",
                "coinm_markPriceUpdate.json",
                false
            ),
            "07:55:25.000 BTCUSD_201225 markPrice     mark 10934.62615417  index 10933.62615417  funding           -  next -\n"
        );
    }

    #[test]
    fn avg_price_and_liquidation_lines_byte_for_byte() {
        assert_eq!(
            render_fixture("BTCUSDT", "avgPrice", "avgPrice.json", false),
            "09:43:53.000 BTCUSDT      avgPrice      5m  avg   25776.86\n"
        );
        assert_eq!(
            render_fixture("BTCUSDT", "forceOrder", "futures_forceOrder.json", false),
            "07:34:20.893 BTCUSDT      forceOrder    SELL      0.014 @       9910  avg       9910  FILLED\n"
        );
    }

    /// The column (in characters) where `needle` starts in `line`.
    fn column(line: &str, needle: &str) -> usize {
        let at = line
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {line}"));
        line[..at].chars().count()
    }

    #[test]
    fn trade_columns_align_across_symbols_prices_and_sides() {
        let trade = |price: &str, qty: &str, maker: bool| {
            format!(
                r#"{{"e":"trade","E":1,"s":"X","t":7,"p":"{price}","q":"{qty}","T":1,"m":{maker},"M":true}}"#
            )
        };
        let lines = [
            render(
                "ETHUSDT",
                "trade",
                &trade("3010.55000000", "0.04310000", true),
                false,
            ),
            render(
                "1000SHIBUSDT",
                "trade",
                &trade("0.01234000", "12000.00000000", false),
                false,
            ),
            render("BTC", "trade", &trade("104523.99", "1", true), false),
        ];
        let price_end = |line: &str| column(line, " #") - SIDE_WIDTH - 1 - QTY_WIDTH - 1;
        for line in &lines {
            assert_eq!(price_end(line), BODY_OFFSET + PRICE_WIDTH, "{line}");
            assert_eq!(column(line, " #"), column(&lines[0], " #"), "{line}");
        }
        assert!(
            lines[0].contains("    3010.55     0.0431 SELL #7"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains("    0.01234      12000 BUY  #7"),
            "{}",
            lines[1]
        );
        // The price column starts at the same offset on every line and ends at its width.
        for (line, price) in lines.iter().zip(["3010.55", "0.01234", "104523.99"]) {
            let cell = &line[BODY_OFFSET..BODY_OFFSET + PRICE_WIDTH];
            assert_eq!(cell.trim_start(), price, "{line}");
        }
    }

    #[test]
    fn book_columns_align_across_book_kinds() {
        let lines = [
            render_fixture("BNBUSDT", "bookTicker", "bookTicker.json", false),
            render_fixture("BTCUSDT", "depth5", "futures_partialDepth5.json", false),
            render_fixture("BTCUSDT", "depth@100ms", "futures_depthUpdate.json", false),
            render_fixture("BNBBTC", "depth5", "partialDepth5.json", false),
        ];
        for line in &lines {
            assert_eq!(column(line, " @ "), BODY_OFFSET + QTY_WIDTH, "{line}");
            assert_eq!(column(line, " | "), column(&lines[0], " | "), "{line}");
            assert_eq!(column(line, " x "), column(&lines[0], " x "), "{line}");
        }
    }

    #[test]
    fn a_symbol_with_control_characters_stays_on_one_line() {
        let line = render_fixture(
            "ETH\nUSD\u{1b}[31m\r\u{85}\u{2028}\u{202e}",
            "trade",
            "trade.json",
            false,
        );
        assert_eq!(line.matches('\n').count(), 1, "{line:?}");
        assert!(line.ends_with('\n'));
        assert!(
            !line.contains(['\x1b', '\r', '\u{85}', '\u{2028}', '\u{202e}']),
            "{line:?}"
        );
        assert!(
            line.contains(r"ETH\u{a}USD\u{1b}[31m\u{d}\u{85}\u{2028}\u{202e}"),
            "{line:?}"
        );
        // Escaped text is padded by what it shows, so the stream column still starts after it.
        let short = render_fixture("E\u{7}", "trade", "trade.json", false);
        assert_eq!(&short[12..26], r" E\u{7}       ");
        assert_eq!(column(&short, "trade"), 26);
    }

    #[test]
    fn payload_strings_with_escapes_cannot_break_the_line() {
        let payload = r#"{"e":"forceOrder","E":1,"o":{"s":"X","S":"SE\nLL","o":"LIMIT","f":"IOC","q":"1","p":"2","ap":"2","X":"FILL\u001bED","l":"1","z":"1","T":1}}"#;
        for colour in [false, true] {
            let line = render("BTCUSDT", "forceOrder", payload, colour);
            assert_eq!(line.matches('\n').count(), 1, "{line:?}");
            assert!(
                line.contains(r"SE\u{a}LL") && line.contains(r"FILL\u{1b}ED"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn malformed_levels_print_a_question_mark() {
        let cases = [
            (r#"{"lastUpdateId":1,"bids":[["0.1"]],"asks":[5]}"#, "?"),
            (
                r#"{"lastUpdateId":1,"bids":[["x","1"]],"asks":[[1,2]]}"#,
                "?",
            ),
            (r#"{"lastUpdateId":1,"bids":[],"asks":[]}"#, "-"),
            (
                r#"{"lastUpdateId":1,"bids":[["1","2"],["0.1"]],"asks":[["1e3","2"]]}"#,
                "?",
            ),
        ];
        for (payload, shown) in cases {
            let line = render("BTCUSDT", "depth5", payload, false);
            let pair = format!("{shown:>w$} | {shown:>w$}", w = PRICE_WIDTH);
            assert!(line[BODY_OFFSET..].contains(&pair), "{line:?}");
            assert!(line.contains("spread          ?"), "{line:?}");
            assert_eq!(line.matches('\n').count(), 1);
        }
        let line = render(
            "BTCUSDT",
            "depth",
            r#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[],"a":[["1","0"]]}"#,
            false,
        );
        assert!(
            line.contains("         - |          1 x          0  bids    0 asks    1  1..2"),
            "{line:?}"
        );
    }

    #[test]
    fn trims_only_trailing_fractional_zeros() {
        for (text, trimmed) in [
            ("3010.55000000", "3010.55"),
            ("100.00000000", "100"),
            ("0.00000000", "0"),
            ("-0.00150000", "-0.0015"),
            ("1000", "1000"),
            ("1e10", "1e10"),
            ("10.", "10."),
            ("", ""),
            ("1.50x0", "1.50x0"),
        ] {
            assert_eq!(trim_zeros(text), trimmed, "{text}");
        }
    }

    #[test]
    fn decimal_arithmetic_is_exact() {
        let d = |text: &str| Decimal::parse(text).unwrap();
        assert_eq!(
            d("25.36520000")
                .minus(d("25.35190000"))
                .unwrap()
                .to_string(),
            "0.01330000"
        );
        assert_eq!(d("0.1").minus(d("0.3")).unwrap().to_string(), "-0.2");
        assert_eq!(d("7405.96").minus(d("7405.9")).unwrap().to_string(), "0.06");
        assert_eq!(d("0.0010").compare(d("0.001")), Some(Ordering::Equal));
        assert_eq!(d("9").compare(d("10.5")), Some(Ordering::Less));
        assert_eq!(Decimal::parse("1".repeat(37).as_str()), None);
        let huge = d(&"9".repeat(36));
        assert_eq!(
            huge.minus(d("0.00001")),
            None,
            "overflow is None, not a panic"
        );
        assert_eq!(signed("0.0015"), "+0.0015");
        assert_eq!(signed("-0.0015"), "-0.0015");
        assert_eq!(signed("0.0000"), "0");
    }

    #[test]
    fn times_are_utc_of_the_event_in_either_unit() {
        let payload = |time: u64| {
            format!(r#"{{"e":"trade","E":1,"s":"X","t":7,"p":"1","q":"1","T":{time},"m":false}}"#)
        };
        let millis = render("X", "trade", &payload(1_672_515_782_136), false);
        let micros = render("X", "trade", &payload(1_672_515_782_136_999), false);
        assert!(millis.starts_with("19:43:02.136 "), "{millis}");
        assert!(micros.starts_with("19:43:02.136 "), "{micros}");
        let spot_book = render_fixture("X", "depth5", "partialDepth5.json", false);
        assert!(
            spot_book.starts_with("02:00:00.126 "),
            "receive time: {spot_book}"
        );
    }

    #[test]
    fn colours_mark_sides_trends_and_alerts() {
        let sell = render_fixture("BNBBTC", "trade", "trade.json", true);
        assert!(
            sell.contains("\x1b[31m0.001\x1b[0m") && sell.contains("\x1b[31mSELL\x1b[0m"),
            "{sell:?}"
        );
        let book = render_fixture("BNBUSDT", "bookTicker", "bookTicker.json", true);
        assert!(
            book.contains("\x1b[32m25.3519\x1b[0m") && book.contains("\x1b[31m25.3652\x1b[0m"),
            "{book:?}"
        );
        let kline = render_fixture("BNBBTC", "kline_1m", "kline_1m.json", true);
        assert!(
            kline.contains("\x1b[32m0.002\x1b[0m"),
            "close above open: {kline:?}"
        );
        let closed = fixture("kline_1m.json").replace(r#""x":false"#, r#""x":true"#);
        let closed = render("BNBBTC", "kline_1m", &closed, true);
        assert!(
            closed.ends_with("  \x1b[33mclosed\x1b[0m\x1b[0m\n"),
            "{closed:?}"
        );
        let plain = render(
            "BNBBTC",
            "kline_1m",
            &fixture("kline_1m.json").replace(r#""x":false"#, r#""x":true"#),
            false,
        );
        assert!(plain.ends_with("  n     100  closed\n"), "{plain:?}");
        let liquidation = render_fixture("BTCUSDT", "forceOrder", "futures_forceOrder.json", true);
        assert!(
            liquidation.contains("\x1b[33mFILLED\x1b[0m"),
            "{liquidation:?}"
        );
        let ticker = render_fixture("BNBBTC", "ticker", "24hrTicker.json", true);
        assert!(ticker.contains("\x1b[32m(+250%)\x1b[0m"), "{ticker:?}");
    }
}
