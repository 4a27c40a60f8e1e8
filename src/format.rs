//! Output lines: [`OutputFormat`] and the normalized JSON line of each event kind, written
//! into the processor's reused batch buffer (no allocation per line). Field names are the
//! documented schema (README "Output"); `recv_time_us` always comes last.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

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
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "raw" => Ok(Self::Raw),
            _ => Err(format!(
                "unknown output format '{text}': expected json or raw"
            )),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "json",
            Self::Raw => "raw",
        })
    }
}

#[derive(Serialize)]
struct TradeLine<'a> {
    symbol: &'a str,
    stream: &'static str,
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
struct AggTradeLine<'a> {
    symbol: &'a str,
    stream: &'static str,
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
struct BookTickerLine<'a> {
    symbol: &'a str,
    stream: &'static str,
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

/// Appends one line for `event` (received as `frame`) to `out`, newline included.
///
/// `symbol` is the symbol as configured (uppercase), not the payload's copy: some kinds
/// (partial depth) carry none, and one source of truth keeps every line consistent.
pub fn write_line(
    out: &mut Vec<u8>,
    format: OutputFormat,
    symbol: &str,
    event: &Event<'_>,
    frame: &Frame,
) {
    let start = out.len();
    let written = match format {
        OutputFormat::Raw => {
            out.extend_from_slice(frame.payload.as_bytes());
            Ok(())
        }
        OutputFormat::Json => write_json(out, symbol, event, frame.recv_time_us),
    };
    match written {
        Ok(()) => out.push(b'\n'),
        // Serializing plain structs into a Vec cannot fail; if it ever did, leave no torn line.
        Err(_) => out.truncate(start),
    }
}

fn write_json(
    out: &mut Vec<u8>,
    symbol: &str,
    event: &Event<'_>,
    recv_time_us: u64,
) -> serde_json::Result<()> {
    match event {
        Event::Trade(trade) => serde_json::to_writer(
            out,
            &TradeLine {
                symbol,
                stream: "trade",
                trade_id: trade.trade_id,
                price: &trade.price,
                qty: &trade.qty,
                buyer_maker: trade.buyer_maker,
                trade_time: trade.trade_time,
                event_time: trade.event_time,
                buyer_order_id: trade.buyer_order_id,
                seller_order_id: trade.seller_order_id,
                recv_time_us,
            },
        ),
        Event::AggTrade(agg) => serde_json::to_writer(
            out,
            &AggTradeLine {
                symbol,
                stream: "aggTrade",
                agg_trade_id: agg.agg_trade_id,
                price: &agg.price,
                qty: &agg.qty,
                normal_qty: agg.normal_qty.as_deref(),
                first_trade_id: agg.first_trade_id,
                last_trade_id: agg.last_trade_id,
                buyer_maker: agg.buyer_maker,
                trade_time: agg.trade_time,
                event_time: agg.event_time,
                recv_time_us,
            },
        ),
        Event::BookTicker(ticker) => serde_json::to_writer(
            out,
            &BookTickerLine {
                symbol,
                stream: "bookTicker",
                update_id: ticker.update_id,
                bid_price: &ticker.bid_price,
                bid_qty: &ticker.bid_qty,
                ask_price: &ticker.ask_price,
                ask_qty: &ticker.ask_qty,
                event_time: ticker.event_time,
                transaction_time: ticker.transaction_time,
                recv_time_us,
            },
        ),
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
        write_line(&mut out, format, "ETHUSDT", &event, &frame);
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
            "unknown output format 'xml': expected json or raw"
        );
    }
}
