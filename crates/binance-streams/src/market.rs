//! [`Market`]: which Binance venue, what it offers, and where it serves each kind.

use std::fmt;
use std::str::FromStr;

use crate::endpoint::Endpoint;
use crate::kind::{StreamKind, UpdateSpeed};

/// Which Binance venue to listen to; picks the base URL so users need not know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Market {
    /// Binance spot, `wss://stream.binance.com:9443`.
    #[default]
    Spot,
    /// USD-M futures, `wss://fstream.binance.com` with the 2026 `/public` `/market` routing.
    Futures,
    /// COIN-M futures, `wss://dstream.binance.com`.
    CoinFutures,
    /// Spot testnet, `wss://stream.testnet.binance.vision`.
    Testnet,
    /// Binance.US, `wss://stream.binance.us:9443`.
    Us,
}

impl Market {
    /// Every market, in the order `--help` and error messages list them.
    pub const ALL: [Market; 5] = [
        Self::Spot,
        Self::Futures,
        Self::CoinFutures,
        Self::Testnet,
        Self::Us,
    ];

    /// The name users type: `spot`, `futures`, `coin-futures`, `testnet`, `us`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Spot => "spot",
            Self::Futures => "futures",
            Self::CoinFutures => "coin-futures",
            Self::Testnet => "testnet",
            Self::Us => "us",
        }
    }

    /// Whether this market publishes `kind` (PROTOCOL.md §6, §7).
    pub fn offers(self, kind: StreamKind) -> bool {
        let futures = matches!(self, Self::Futures | Self::CoinFutures);
        match kind {
            StreamKind::Trade | StreamKind::AvgPrice | StreamKind::WindowTicker(_) => !futures,
            StreamKind::MarkPrice(_) | StreamKind::ForceOrder => futures,
            StreamKind::Depth(UpdateSpeed::Slow)
            | StreamKind::PartialDepth(_, UpdateSpeed::Slow) => futures,
            // Futures candles start at one minute.
            StreamKind::Kline(0) => !futures,
            _ => true,
        }
    }

    /// The base endpoint for `kind` on this market.
    ///
    /// USD-M futures route book data to `/public` and everything else to `/market`; a stream
    /// opened on the wrong route connects and then stays silent (PROTOCOL.md §3).
    pub fn endpoint(self, kind: StreamKind) -> Endpoint {
        let (host, port, prefix) = match self {
            Self::Spot => ("stream.binance.com", 9443, ""),
            Self::Futures if kind.is_book_data() => ("fstream.binance.com", 443, "/public"),
            Self::Futures => ("fstream.binance.com", 443, "/market"),
            Self::CoinFutures => ("dstream.binance.com", 443, ""),
            Self::Testnet => ("stream.testnet.binance.vision", 443, ""),
            Self::Us => ("stream.binance.us", 9443, ""),
        };
        Endpoint::secure(host, port, prefix)
    }
}

impl FromStr for Market {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|market| market.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
                format!(
                    "unknown market '{text}': expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Market {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::Symbol;

    fn symbol(text: &str) -> Symbol {
        text.parse().unwrap()
    }

    #[test]
    fn markets_route_futures_streams_and_refuse_what_they_lack() {
        let eth = symbol("ETHUSDT");
        assert_eq!(
            Market::Spot
                .endpoint(StreamKind::Trade)
                .stream_url(&eth, &[StreamKind::Trade]),
            "wss://stream.binance.com:9443/ws/ethusdt@trade"
        );
        assert_eq!(
            Market::Futures
                .endpoint(StreamKind::BookTicker)
                .stream_url(&eth, &[StreamKind::BookTicker]),
            "wss://fstream.binance.com:443/public/ws/ethusdt@bookTicker"
        );
        assert!(Market::Futures.endpoint(StreamKind::AggTrade).is_binance());
        assert!(Market::Testnet.endpoint(StreamKind::Trade).is_binance());
        assert!(!Market::Futures.offers(StreamKind::Trade));
        assert!(Market::Futures.offers(StreamKind::MarkPrice(true)));
        assert!(!Market::Spot.offers(StreamKind::ForceOrder));
        assert!(!Market::CoinFutures.offers(StreamKind::Kline(0)));
        assert!(!Market::Spot.offers(StreamKind::Depth(UpdateSpeed::Slow)));
        assert!(Market::Us.offers(StreamKind::Trade));
        assert_eq!("COIN-FUTURES".parse(), Ok(Market::CoinFutures));
        assert_eq!(
            "mars".parse::<Market>().unwrap_err(),
            "unknown market 'mars': expected one of spot, futures, coin-futures, testnet, us"
        );
    }
}
