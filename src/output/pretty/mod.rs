//! The human-readable output line (`--format pretty`): one aligned row per event, so a
//! terminal full of them reads as a table. Columns have fixed widths: the time (UTC, from
//! the event's own clock), the symbol, the stream, then the kind's own fields.
//!
//! Prices and quantities are the exchange's exact decimal strings, only shortened by their
//! trailing fractional zeros; the few derived numbers (spread, mini-ticker change) come from
//! exact decimal arithmetic on those strings, never from floats. Text from the payload or
//! the configuration is printed with control characters escaped, so a line can only end with
//! its own newline. Colour is ANSI SGR written by hand; without it no escape byte is written.

mod decimal;
mod line;
mod marker;

use std::borrow::Cow;
use std::cmp::Ordering;

use binance_streams::wire::{
    AggTrade, AvgPrice, BookTicker, DepthUpdate, ForceOrder, Kline, MarkPrice, MiniTicker,
    PartialDepth, Ticker, Trade,
};
use binance_streams::{Event, Payload};

use super::LineHead;
use decimal::{BookSide, Decimal, Level, shown, signed, trend, trim_zeros};
use line::{Column, Line, Style};
pub(super) use marker::write_pretty_marker;

/// `HH:MM:SS.mmm`.
const CLOCK_WIDTH: usize = 12;
/// Fits every spot and USD-M symbol (`1000SHIBUSDT`) and COIN-M perpetuals (`BTCUSD_PERP`);
/// longer ones push the row rather than be cut, since a cut symbol could name another.
const SYMBOL_WIDTH: usize = 12;
/// Fits the longest stream name, `depth20@100ms`.
const STREAM_WIDTH: usize = 13;
/// Fits a trimmed price with eight decimals (`0.00001234`) or a six-digit one with cents;
/// the point stays in place up to four decimals (`95000.12`, `3009.99`, `0.4521`).
const PRICE: Column = Column {
    width: 10,
    decimals: 4,
};
/// Binance quantities have at most eight decimals; the point stays in place up to five,
/// the step size of the busiest pairs (`0.00012` BTC, `0.0085` ETH, `12000.5`).
const QTY: Column = Column {
    width: 11,
    decimals: 5,
};
/// Rolling volumes run larger than single quantities and are read for their size, so
/// fewer decimals keep their place.
const VOLUME: Column = Column {
    width: 14,
    decimals: 3,
};
/// Mark and index prices keep all eight decimals more often than not (`11784.62659091`).
const MARK: Column = Column {
    width: 14,
    decimals: 8,
};
/// A funding rate with sign and eight decimals, `-0.00038167`.
const RATE: Column = Column {
    width: 11,
    decimals: 8,
};
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

/// Appends one human-readable, aligned line for `event` to `out`, newline included.
///
/// `head` names the configured symbol and the stream, as for [`super::write_line`];
/// `recv_time_us` stands in for the time of kinds that carry none. `colour` adds ANSI
/// colours; the configuration decides (a terminal, no `NO_COLOR`). A row wider than
/// `width` columns is cut to fit, ending in `…`.
pub(super) fn write_pretty(
    out: &mut Vec<u8>,
    head: &LineHead,
    event: &Event<'_>,
    recv_time_us: u64,
    colour: bool,
    width: Option<u16>,
) {
    let mut line = Line::new(out, colour);
    line.clock(Style::Dim, event_time_us(event, recv_time_us), true);
    line.pad(1);
    line.left(Style::Bold, &head.symbol, SYMBOL_WIDTH);
    line.pad(1);
    line.left(Style::Plain, &head.stream, STREAM_WIDTH);
    line.pad(1);
    // A kind without a row of its own below shows its JSON body (see `fallback`).
    #[allow(unreachable_patterns)]
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
        other => fallback(&mut line, other),
    }
    line.end(width);
}

/// Appends the header row of pretty lines: the head columns' names, the time zone of the
/// times (UTC, said here once rather than on every row), then where each kind's own fields
/// start. Dim, since it is not data.
pub(super) fn write_heading(out: &mut Vec<u8>, colour: bool, width: Option<u16>) {
    let mut line = Line::new(out, colour);
    line.left(Style::Dim, "time (UTC)", CLOCK_WIDTH);
    line.pad(1);
    line.left(Style::Dim, "symbol", SYMBOL_WIDTH);
    line.pad(1);
    line.left(Style::Dim, "stream", STREAM_WIDTH);
    line.pad(1);
    line.text(Style::Dim, "event");
    line.end(width);
}

/// When the event happened, in microseconds: the trade time for trades (when it traded, not
/// when it was published), the event time otherwise, and the local receive time for the
/// kinds that carry none (spot book ticker and partial depth).
fn event_time_us(event: &Event<'_>, recv_time_us: u64) -> u64 {
    let own = match event {
        Event::Trade(e) => Some(e.trade_time),
        Event::AggTrade(e) => Some(e.trade_time),
        other => other.event_time(),
    };
    own.map_or(recv_time_us, exchange_time_us)
}

/// A kind without a row of its own: its JSON body, so a new kind is readable from the day
/// it is added.
fn fallback(line: &mut Line<'_>, event: &Event<'_>) {
    let body = serde_json::to_string(event).unwrap_or_default();
    line.text(Style::Plain, &body);
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
    line.number(style, shown(price), PRICE);
    line.pad(1);
    line.number(Style::Plain, shown(qty), QTY);
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
            line.number(Style::Plain, shown(qty), QTY);
            line.text(Style::Plain, " @ ");
            line.number(Style::Up, shown(price), PRICE);
        }
        other => {
            line.pad(QTY.width + 3);
            line.number(Style::Plain, other.placeholder(), PRICE);
        }
    }
    line.text(Style::Plain, " | ");
    match ask {
        Level::At { price, qty } => {
            line.number(Style::Down, shown(price), PRICE);
            line.text(Style::Plain, " x ");
            line.number(Style::Plain, shown(qty), QTY);
        }
        other => {
            line.number(Style::Plain, other.placeholder(), PRICE);
            line.pad(QTY.width + 3);
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
    line.number(Style::Plain, trim_zeros(&difference), PRICE);
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
    labelled(line, " o ", Style::Plain, &k.open, PRICE);
    labelled(line, " h ", Style::Plain, &k.high, PRICE);
    labelled(line, " l ", Style::Plain, &k.low, PRICE);
    labelled(line, " c ", trend(&k.close, &k.open), &k.close, PRICE);
    labelled(line, "  v ", Style::Plain, &k.volume, VOLUME);
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
    labelled(line, "last ", style, &e.close, PRICE);
    line.pad(1);
    line.number(style, &signed(&change), PRICE);
    line.pad(1 + PERCENT_WIDTH);
    range_and_volume(line, &e.high, &e.low, &e.volume);
}

/// Last price, change and change percent as sent, high, low, volume and trades.
fn ticker(line: &mut Line<'_>, e: &Ticker<'_>) {
    let style = Decimal::parse(&e.price_change).map_or(Style::Plain, Decimal::trend);
    labelled(line, "last ", style, &e.last_price, PRICE);
    line.pad(1);
    line.number(style, &signed(&e.price_change), PRICE);
    line.pad(1);
    let percent = format!("({}%)", signed(&e.price_change_percent));
    line.right(style, &percent, PERCENT_WIDTH);
    range_and_volume(line, &e.high, &e.low, &e.volume);
    line.text(Style::Plain, "  n ");
    line.right(Style::Plain, &e.trades.to_string(), TRADES_WIDTH);
}

/// The rolling window's high, low and volume.
fn range_and_volume(line: &mut Line<'_>, high: &str, low: &str, volume: &str) {
    labelled(line, "  h ", Style::Plain, high, PRICE);
    labelled(line, " l ", Style::Plain, low, PRICE);
    labelled(line, "  v ", Style::Plain, volume, VOLUME);
}

/// The averaging interval and the average price.
fn avg_price(line: &mut Line<'_>, e: &AvgPrice<'_>) {
    line.left(Style::Plain, &e.interval, INTERVAL_WIDTH);
    labelled(line, " avg ", Style::Plain, &e.avg_price, PRICE);
}

/// Mark and index price, funding rate and next funding time; delivery contracts have no
/// funding (`""` and `0` on the wire), shown as `-`.
fn mark_price(line: &mut Line<'_>, e: &MarkPrice<'_>) {
    labelled(line, "mark ", Style::Plain, &e.mark_price, MARK);
    let index = e.index_price.as_deref().unwrap_or("");
    labelled(line, "  index ", Style::Plain, index, MARK);
    let rate = e.funding_rate.as_deref().unwrap_or("");
    labelled(line, "  funding ", Style::Plain, rate, RATE);
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
    line.number(Style::Alert, shown(&o.qty), QTY);
    line.text(Style::Plain, " @ ");
    line.number(Style::Alert, shown(&o.price), PRICE);
    labelled(line, "  avg ", Style::Plain, &o.avg_price, PRICE);
    line.text(Style::Plain, "  ");
    line.text(Style::Alert, &o.status);
}

/// A fixed label, then a decimal aligned on its point in `column`.
fn labelled(line: &mut Line<'_>, label: &str, style: Style, value: &str, column: Column) {
    line.text(Style::Plain, label);
    line.number(style, shown(value), column);
}

#[cfg(test)]
mod tests;
