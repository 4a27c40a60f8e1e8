//! The `Nats-Msg-Id` of each line: `<market>.<SYMBOL>.<stream>.<id>`, where the id is the
//! event's natural identity within its stream, the same in every listener that receives it:
//!
//! | stream kinds | id |
//! |---|---|
//! | trade | trade id `t` |
//! | aggTrade | aggregate trade id `a` |
//! | depth, depth@100ms (diffs) | final update id `u` |
//! | depth5/10/20 (partial books) | `lastUpdateId` (spot) or `u` (futures) |
//! | bookTicker | order book update id `u` |
//! | book (local order book lines) | the book's `update_id` (resync lines: none) |
//! | kline_*, miniTicker, ticker*, avgPrice, markPrice, forceOrder | event time `E` (ms) |
//!
//! Two listeners publishing the same event inside the stream's duplicate window store it
//! once. Gap markers carry no id (each listener's view of its own gaps is stored).

use binance_streams::{Market, StreamKind, Symbol};

/// The part of a message id shared by every event of one stream of one symbol; the id
/// itself is appended per message.
pub(crate) fn message_id_prefix(market: Market, symbol: &Symbol, kind: StreamKind) -> String {
    format!("{}.{}.{}.", market.name(), symbol.as_str(), kind.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_market_symbol_and_stream() {
        let symbol: Symbol = "ethusdt".parse().unwrap();
        assert_eq!(
            message_id_prefix(Market::Spot, &symbol, StreamKind::Trade),
            "spot.ETHUSDT.trade."
        );
    }
}
