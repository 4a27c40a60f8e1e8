//! Output lines: [`OutputFormat`] and the normalized JSON line of each event kind, written
//! into the processor's reused batch buffer (no allocation per line). Field names are the
//! documented schema (README "Output"); `recv_time_us` always comes last. The terminal form
//! lives in `pretty`.

use std::fmt;
use std::str::FromStr;

use std::io::{self, IsTerminal};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::OutputTarget;
use crate::event::Event;
use crate::queue::Frame;

/// How each event is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// The normalized JSON line of the event's kind.
    #[default]
    Json,
    /// The payload exactly as received, one per line.
    Raw,
    /// Aligned, readable columns for a terminal, coloured unless `colour` is off.
    Pretty {
        /// Whether to add ANSI colours.
        colour: bool,
    },
}

impl OutputFormat {
    /// The format when none is chosen: the readable form for a person at a terminal, JSON
    /// Lines whenever stdout is piped or lines go to files or handlers.
    pub fn default_for(output: &OutputTarget) -> Self {
        if *output == OutputTarget::Stdout && io::stdout().is_terminal() {
            Self::Pretty { colour: true }
        } else {
            Self::Json
        }
    }

    /// Settles colour for where lines go: only on a terminal, and never with `NO_COLOR` set
    /// (<https://no-color.org>).
    pub fn for_output(self, output: &OutputTarget) -> Self {
        match self {
            Self::Pretty { .. } => {
                let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
                Self::Pretty {
                    colour: *output == OutputTarget::Stdout
                        && io::stdout().is_terminal()
                        && !no_colour,
                }
            }
            other => other,
        }
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "raw" => Ok(Self::Raw),
            "pretty" => Ok(Self::Pretty { colour: false }),
            _ => Err(format!(
                "unknown output format '{text}': expected json, raw or pretty"
            )),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Raw => "raw",
            Self::Pretty { .. } => "pretty",
        })
    }
}

#[derive(Serialize)]
struct TradeBody<'a> {
    trade_id: u64,
    price: &'a str,
    qty: &'a str,
    buyer_maker: bool,
    trade_time: u64,
    event_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    buyer_order_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seller_order_id: Option<u64>,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct AggTradeBody<'a> {
    agg_trade_id: u64,
    price: &'a str,
    qty: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    normal_qty: Option<&'a str>,
    first_trade_id: u64,
    last_trade_id: u64,
    buyer_maker: bool,
    trade_time: u64,
    event_time: u64,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct BookTickerBody<'a> {
    update_id: u64,
    bid_price: &'a str,
    bid_qty: &'a str,
    ask_price: &'a str,
    ask_qty: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_time: Option<u64>,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct DepthBody<'a> {
    event_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pair: Option<&'a str>,
    first_update_id: u64,
    final_update_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_final_update_id: Option<u64>,
    bids: &'a RawValue,
    asks: &'a RawValue,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct PartialDepthBody<'a> {
    last_update_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_update_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_final_update_id: Option<u64>,
    bids: Option<&'a RawValue>,
    asks: Option<&'a RawValue>,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct KlineBody<'a> {
    event_time: u64,
    interval: &'a str,
    open_time: u64,
    close_time: u64,
    first_trade_id: i64,
    last_trade_id: i64,
    open: &'a str,
    high: &'a str,
    low: &'a str,
    close: &'a str,
    volume: &'a str,
    quote_volume: &'a str,
    trades: u64,
    taker_buy_volume: &'a str,
    taker_buy_quote_volume: &'a str,
    closed: bool,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct MiniTickerBody<'a> {
    event_time: u64,
    open: &'a str,
    high: &'a str,
    low: &'a str,
    close: &'a str,
    volume: &'a str,
    quote_volume: &'a str,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct TickerBody<'a> {
    event_time: u64,
    price_change: &'a str,
    price_change_percent: &'a str,
    weighted_avg_price: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_trade_price: Option<&'a str>,
    last_price: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_qty: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_bid_price: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_bid_qty: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_ask_price: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_ask_qty: Option<&'a str>,
    open: &'a str,
    high: &'a str,
    low: &'a str,
    volume: &'a str,
    quote_volume: &'a str,
    open_time: u64,
    close_time: u64,
    first_trade_id: i64,
    last_trade_id: i64,
    trades: u64,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct AvgPriceBody<'a> {
    event_time: u64,
    interval: &'a str,
    avg_price: &'a str,
    last_trade_time: u64,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct MarkPriceBody<'a> {
    event_time: u64,
    mark_price: &'a str,
    index_price: Option<&'a str>,
    estimated_settle_price: Option<&'a str>,
    funding_rate: Option<&'a str>,
    next_funding_time: Option<u64>,
    recv_time_us: u64,
}

#[derive(Serialize)]
struct ForceOrderBody<'a> {
    event_time: u64,
    side: &'a str,
    order_type: &'a str,
    time_in_force: &'a str,
    qty: &'a str,
    price: &'a str,
    avg_price: &'a str,
    status: &'a str,
    last_filled_qty: &'a str,
    filled_qty: &'a str,
    trade_time: u64,
    recv_time_us: u64,
}

/// The start every line of one symbol's stream shares, rendered once.
#[derive(Debug, Clone)]
pub struct LineHead {
    /// The symbol as configured (uppercase).
    pub symbol: String,
    /// The stream name, e.g. `depth@100ms`.
    pub stream: String,
    /// `{"symbol":"ETHUSDT","stream":"trade"`, escaped once.
    json_prefix: Vec<u8>,
}

impl LineHead {
    /// The head of `symbol`'s `stream` lines.
    pub fn new(symbol: &str, stream: &str) -> Self {
        let mut json_prefix = b"{\"symbol\":".to_vec();
        // Strings serialize infallibly into a Vec.
        let _ = serde_json::to_writer(&mut json_prefix, symbol);
        json_prefix.extend_from_slice(b",\"stream\":");
        let _ = serde_json::to_writer(&mut json_prefix, stream);
        Self {
            symbol: symbol.to_owned(),
            stream: stream.to_owned(),
            json_prefix,
        }
    }
}

/// Appends one line for `event` (received as `frame`) to `out`, newline included.
///
/// `symbol` is the symbol as configured (uppercase), not the payload's copy: some kinds
/// (partial depth) carry none, and one source of truth keeps every line consistent.
pub fn write_line(
    out: &mut Vec<u8>,
    format: OutputFormat,
    head: &LineHead,
    event: &Event<'_>,
    frame: &Frame,
) {
    let start = out.len();
    let written = match format {
        OutputFormat::Pretty { colour } => {
            crate::pretty::write_pretty(out, &head.symbol, &head.stream, event, frame, colour);
            return;
        }
        OutputFormat::Raw => {
            out.extend_from_slice(frame.payload.as_bytes());
            Ok(())
        }
        OutputFormat::Json => write_json(out, head, event, frame.recv_time_us),
    };
    match written {
        Ok(()) => out.push(b'\n'),
        // Serializing plain structs into a Vec cannot fail; if it ever did, leave no torn line.
        Err(_) => out.truncate(start),
    }
}

/// Writes `{"symbol":..,"stream":..` from `head`, then the body struct with its opening
/// brace turned into a comma: one JSON object, serialized as a plain struct (no map, no
/// per-line escaping of the symbol and stream names).
fn line<B: Serialize>(out: &mut Vec<u8>, head: &LineHead, body: B) -> serde_json::Result<()> {
    out.extend_from_slice(&head.json_prefix);
    let brace = out.len();
    serde_json::to_writer(&mut *out, &body)?;
    // Every body has fields, so it starts with `{"`; the object continues after the head.
    out[brace] = b',';
    Ok(())
}

/// A funding rate or time that delivery contracts send as `""` or `0`: absent, so null.
fn present(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.is_empty())
}

fn write_json(
    out: &mut Vec<u8>,
    head: &LineHead,
    event: &Event<'_>,
    recv_time_us: u64,
) -> serde_json::Result<()> {
    match event {
        Event::Trade(e) => line(
            out,
            head,
            TradeBody {
                trade_id: e.trade_id,
                price: &e.price,
                qty: &e.qty,
                buyer_maker: e.buyer_maker,
                trade_time: e.trade_time,
                event_time: e.event_time,
                buyer_order_id: e.buyer_order_id,
                seller_order_id: e.seller_order_id,
                recv_time_us,
            },
        ),
        Event::AggTrade(e) => line(
            out,
            head,
            AggTradeBody {
                agg_trade_id: e.agg_trade_id,
                price: &e.price,
                qty: &e.qty,
                normal_qty: e.normal_qty.as_deref(),
                first_trade_id: e.first_trade_id,
                last_trade_id: e.last_trade_id,
                buyer_maker: e.buyer_maker,
                trade_time: e.trade_time,
                event_time: e.event_time,
                recv_time_us,
            },
        ),
        Event::BookTicker(e) => line(
            out,
            head,
            BookTickerBody {
                update_id: e.update_id,
                bid_price: &e.bid_price,
                bid_qty: &e.bid_qty,
                ask_price: &e.ask_price,
                ask_qty: &e.ask_qty,
                event_time: e.event_time,
                transaction_time: e.transaction_time,
                recv_time_us,
            },
        ),
        Event::Depth(e) => line(
            out,
            head,
            DepthBody {
                event_time: e.event_time,
                transaction_time: e.transaction_time,
                pair: e.pair.as_deref(),
                first_update_id: e.first_update_id,
                final_update_id: e.final_update_id,
                prev_final_update_id: e.prev_final_update_id,
                bids: e.bids,
                asks: e.asks,
                recv_time_us,
            },
        ),
        Event::PartialDepth(e) => line(
            out,
            head,
            PartialDepthBody {
                last_update_id: e.update_id(),
                event_time: e.event_time,
                transaction_time: e.transaction_time,
                first_update_id: e.first_update_id,
                prev_final_update_id: e.prev_final_update_id,
                bids: e.bids(),
                asks: e.asks(),
                recv_time_us,
            },
        ),
        Event::Kline(e) => {
            let k = &e.candle;
            line(
                out,
                head,
                KlineBody {
                    event_time: e.event_time,
                    interval: &k.interval,
                    open_time: k.open_time,
                    close_time: k.close_time,
                    first_trade_id: k.first_trade_id,
                    last_trade_id: k.last_trade_id,
                    open: &k.open,
                    high: &k.high,
                    low: &k.low,
                    close: &k.close,
                    volume: &k.volume,
                    quote_volume: &k.quote_volume,
                    trades: k.trades,
                    taker_buy_volume: &k.taker_buy_volume,
                    taker_buy_quote_volume: &k.taker_buy_quote_volume,
                    closed: k.closed,
                    recv_time_us,
                },
            )
        }
        Event::MiniTicker(e) => line(
            out,
            head,
            MiniTickerBody {
                event_time: e.event_time,
                open: &e.open,
                high: &e.high,
                low: &e.low,
                close: &e.close,
                volume: &e.volume,
                quote_volume: &e.quote_volume,
                recv_time_us,
            },
        ),
        Event::Ticker(e) => line(
            out,
            head,
            TickerBody {
                event_time: e.event_time,
                price_change: &e.price_change,
                price_change_percent: &e.price_change_percent,
                weighted_avg_price: &e.weighted_avg_price,
                first_trade_price: e.first_trade_price.as_deref(),
                last_price: &e.last_price,
                last_qty: e.last_qty.as_deref(),
                best_bid_price: e.best_bid_price.as_deref(),
                best_bid_qty: e.best_bid_qty.as_deref(),
                best_ask_price: e.best_ask_price.as_deref(),
                best_ask_qty: e.best_ask_qty.as_deref(),
                open: &e.open,
                high: &e.high,
                low: &e.low,
                volume: &e.volume,
                quote_volume: &e.quote_volume,
                open_time: e.open_time,
                close_time: e.close_time,
                first_trade_id: e.first_trade_id,
                last_trade_id: e.last_trade_id,
                trades: e.trades,
                recv_time_us,
            },
        ),
        Event::AvgPrice(e) => line(
            out,
            head,
            AvgPriceBody {
                event_time: e.event_time,
                interval: &e.interval,
                avg_price: &e.avg_price,
                last_trade_time: e.last_trade_time,
                recv_time_us,
            },
        ),
        Event::MarkPrice(e) => line(
            out,
            head,
            MarkPriceBody {
                event_time: e.event_time,
                mark_price: &e.mark_price,
                index_price: e.index_price.as_deref(),
                estimated_settle_price: e.estimated_settle_price.as_deref(),
                funding_rate: present(e.funding_rate.as_deref()),
                next_funding_time: e.next_funding_time.filter(|time| *time != 0),
                recv_time_us,
            },
        ),
        Event::ForceOrder(e) => {
            let o = &e.order;
            line(
                out,
                head,
                ForceOrderBody {
                    event_time: e.event_time,
                    side: &o.side,
                    order_type: &o.order_type,
                    time_in_force: &o.time_in_force,
                    qty: &o.qty,
                    price: &o.price,
                    avg_price: &o.avg_price,
                    status: &o.status,
                    last_filled_qty: &o.last_filled_qty,
                    filled_qty: &o.filled_qty,
                    trade_time: o.trade_time,
                    recv_time_us,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::parse_event;
    use crate::spec::StreamKind;

    fn line(kind: StreamKind, format: OutputFormat, payload: &str) -> String {
        let frame = Frame {
            payload: payload.into(),
            recv_time_us: 1732500000126543,
        };
        let event = parse_event(kind, payload).unwrap();
        let mut out = b"previous line\n".to_vec();
        write_line(
            &mut out,
            format,
            &LineHead::new("ETHUSDT", &kind.name()),
            &event,
            &frame,
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn trade_line_byte_for_byte() {
        let payload = r#"{"e":"trade","E":1732500000125,"s":"ETHUSDT","t":123,"p":"3010.55","q":"0.0431","T":1732500000123,"m":true,"M":true}"#;
        assert_eq!(
            line(StreamKind::Trade, OutputFormat::Json, payload),
            "previous line\n{\"symbol\":\"ETHUSDT\",\"stream\":\"trade\",\"trade_id\":123,\"price\":\"3010.55\",\"qty\":\"0.0431\",\"buyer_maker\":true,\"trade_time\":1732500000123,\"event_time\":1732500000125,\"recv_time_us\":1732500000126543}\n"
        );
    }

    #[test]
    fn agg_trade_line_byte_for_byte() {
        let payload = r#"{"e":"aggTrade","E":1672515782136,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}"#;
        assert_eq!(
            line(StreamKind::AggTrade, OutputFormat::Json, payload),
            "previous line\n{\"symbol\":\"ETHUSDT\",\"stream\":\"aggTrade\",\"agg_trade_id\":12345,\"price\":\"0.001\",\"qty\":\"100\",\"first_trade_id\":100,\"last_trade_id\":105,\"buyer_maker\":true,\"trade_time\":1672515782136,\"event_time\":1672515782136,\"recv_time_us\":1732500000126543}\n"
        );
    }

    #[test]
    fn book_ticker_line_byte_for_byte() {
        let payload = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        assert_eq!(
            line(StreamKind::BookTicker, OutputFormat::Json, payload),
            "previous line\n{\"symbol\":\"ETHUSDT\",\"stream\":\"bookTicker\",\"update_id\":400900217,\"bid_price\":\"25.35190000\",\"bid_qty\":\"31.21000000\",\"ask_price\":\"25.36520000\",\"ask_qty\":\"40.66000000\",\"recv_time_us\":1732500000126543}\n"
        );
    }

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/binance/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap().trim_end().to_owned()
    }

    fn json_line(kind: &str, file: &str) -> serde_json::Value {
        let text = line(kind.parse().unwrap(), OutputFormat::Json, &fixture(file));
        serde_json::from_str(text.lines().nth(1).unwrap()).unwrap()
    }

    #[test]
    fn depth_lines_pass_levels_through_and_name_the_stream() {
        let text = line(
            "depth@100ms".parse().unwrap(),
            OutputFormat::Json,
            &fixture("futures_depthUpdate.json"),
        );
        assert_eq!(
            text.lines().nth(1).unwrap(),
            r#"{"symbol":"ETHUSDT","stream":"depth@100ms","event_time":123456789,"transaction_time":123456788,"first_update_id":157,"final_update_id":160,"prev_final_update_id":149,"bids":[["0.0024","10"]],"asks":[["0.0026","100"]],"recv_time_us":1732500000126543}"#
        );
        let spot = json_line("depth5", "partialDepth5.json");
        assert_eq!(spot["last_update_id"], 160);
        assert_eq!(spot["bids"][0][0], "0.0024");
        let futures = json_line("depth5", "futures_partialDepth5.json");
        assert_eq!(futures["last_update_id"], 390497878);
        assert_eq!(futures["asks"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn kline_ticker_and_futures_lines() {
        let kline = json_line("kline_1m", "kline_1m.json");
        assert_eq!(kline["stream"], "kline_1m");
        assert_eq!(
            (
                kline["open"].as_str(),
                kline["close"].as_str(),
                kline["closed"].as_bool()
            ),
            (Some("0.0010"), Some("0.0020"), Some(false))
        );
        assert_eq!(kline["taker_buy_quote_volume"], "0.500");
        let ticker = json_line("ticker", "24hrTicker.json");
        assert_eq!(ticker["best_bid_price"], "0.0024");
        assert_eq!(ticker["trades"], 18151);
        let hour = json_line("ticker_1h", "1hTicker.json");
        assert!(hour.get("best_bid_price").is_none());
        assert_eq!(hour["stream"], "ticker_1h");
        let mark = json_line("markPrice", "coinm_markPriceUpdate.json");
        assert!(mark["funding_rate"].is_null() && mark["next_funding_time"].is_null());
        assert_eq!(mark["mark_price"], "10934.62615417");
        let force = json_line("forceOrder", "futures_forceOrder.json");
        assert_eq!(
            (force["side"].as_str(), force["status"].as_str()),
            (Some("SELL"), Some("FILLED"))
        );
        let avg = json_line("avgPrice", "avgPrice.json");
        assert_eq!(avg["avg_price"], "25776.86000000");
    }

    #[test]
    fn raw_is_the_payload_verbatim() {
        let payload = r#"{"u":1, "s":"X","b":"1","B":"2","a":"3","A":"4"}"#;
        assert_eq!(
            line(StreamKind::BookTicker, OutputFormat::Raw, payload),
            format!("previous line\n{payload}\n")
        );
    }

    #[test]
    fn formats_parse_and_name_the_accepted_values() {
        assert_eq!("RAW".parse(), Ok(OutputFormat::Raw));
        assert_eq!(
            "xml".parse::<OutputFormat>().unwrap_err(),
            "unknown output format 'xml': expected json, raw or pretty"
        );
    }
}
