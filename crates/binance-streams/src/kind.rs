//! [`StreamKind`]: what comes after `@` in a stream name (`ethusdt@trade`), with everything
//! Binance says about each kind: its name, its event type, whether it is book data (which
//! decides the USD-M route), how often it updates ([`StreamKind::cadence`]), and the list of
//! kinds a user may ask for ([`StreamKinds`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How often a book stream updates: the optional `@100ms` / `@500ms` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateSpeed {
    /// No suffix: 1000 ms on spot, 250 ms on futures.
    Standard,
    /// `@100ms`.
    Fast,
    /// `@500ms` (futures only).
    Slow,
}

impl UpdateSpeed {
    fn suffix(self) -> &'static str {
        match self {
            Self::Standard => "",
            Self::Fast => "@100ms",
            Self::Slow => "@500ms",
        }
    }

    fn parse(suffix: &str) -> Option<Self> {
        match suffix {
            "" => Some(Self::Standard),
            "@100ms" => Some(Self::Fast),
            "@500ms" => Some(Self::Slow),
            _ => None,
        }
    }
}

/// Every kline interval Binance offers; `1m` is a minute and `1M` a month.
pub const KLINE_INTERVALS: [&str; 16] = [
    "1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w",
    "1M",
];

/// The rolling-window ticker windows.
pub const TICKER_WINDOWS: [&str; 3] = ["1h", "4h", "1d"];

/// A Binance stream kind: the part after `@` in `ethusdt@trade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Every trade (`trade`, spot markets only).
    Trade,
    /// Trades aggregated by taker order and price (`aggTrade`).
    AggTrade,
    /// Best bid and ask on every change (`bookTicker`).
    BookTicker,
    /// Order book changes (`depth`, `depth@100ms`).
    Depth(UpdateSpeed),
    /// The top 5, 10 or 20 levels (`depth5`, `depth20@100ms`).
    PartialDepth(u8, UpdateSpeed),
    /// Candles of an interval, an index into [`KLINE_INTERVALS`] (`kline_1m`).
    Kline(u8),
    /// 24 h rolling statistics, short form (`miniTicker`).
    MiniTicker,
    /// 24 h rolling statistics (`ticker`).
    Ticker,
    /// Rolling statistics over a window, an index into [`TICKER_WINDOWS`] (`ticker_1h`).
    WindowTicker(u8),
    /// The exchange's average price (`avgPrice`, spot).
    AvgPrice,
    /// Mark price and funding (`markPrice`, `markPrice@1s`, futures); `true` for every second.
    MarkPrice(bool),
    /// Liquidation orders (`forceOrder`, futures).
    ForceOrder,
    /// A local order book kept by the listener (`book`): on the wire the diff stream
    /// `depth@100ms` plus a REST snapshot; in the output the book's top levels.
    Book,
}

impl StreamKind {
    /// The stream name after `@`, as Binance spells it and as output lines show it.
    pub fn name(self) -> String {
        match self {
            Self::Trade => "trade".to_owned(),
            Self::AggTrade => "aggTrade".to_owned(),
            Self::BookTicker => "bookTicker".to_owned(),
            Self::Depth(speed) => format!("depth{}", speed.suffix()),
            Self::PartialDepth(levels, speed) => format!("depth{levels}{}", speed.suffix()),
            Self::Kline(interval) => format!(
                "kline_{}",
                KLINE_INTERVALS.get(usize::from(interval)).unwrap_or(&"?")
            ),
            Self::MiniTicker => "miniTicker".to_owned(),
            Self::Ticker => "ticker".to_owned(),
            Self::WindowTicker(window) => format!(
                "ticker_{}",
                TICKER_WINDOWS.get(usize::from(window)).unwrap_or(&"?")
            ),
            Self::AvgPrice => "avgPrice".to_owned(),
            Self::MarkPrice(false) => "markPrice".to_owned(),
            Self::MarkPrice(true) => "markPrice@1s".to_owned(),
            Self::ForceOrder => "forceOrder".to_owned(),
            Self::Book => "book".to_owned(),
        }
    }

    /// The stream name after `@` on the wire: [`StreamKind::name`], except for `book`,
    /// which Binance does not know: the listener builds it from `depth@100ms`.
    pub fn wire_name(self) -> String {
        match self {
            Self::Book => Self::Depth(UpdateSpeed::Fast).name(),
            kind => kind.name(),
        }
    }

    /// The kinds' family, for error messages and documentation.
    pub const FAMILIES: &'static str = "trade, aggTrade, bookTicker, depth[@100ms|@500ms], depth5|depth10|depth20[@100ms|@500ms], kline_<interval> (1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M), miniTicker, ticker, ticker_1h|4h|1d, avgPrice, markPrice[@1s], forceOrder, book";

    /// The event type (`e`) its payloads name, where they name one: a payload naming
    /// another is not of this kind. Spot's book ticker and partial depth send none; their
    /// futures shapes send `bookTicker` and `depthUpdate`.
    pub fn event_type(self) -> Option<&'static str> {
        match self {
            Self::Trade => Some("trade"),
            Self::AggTrade => Some("aggTrade"),
            Self::BookTicker => Some("bookTicker"),
            Self::PartialDepth(..) => Some("depthUpdate"),
            Self::Depth(_) | Self::Book => Some("depthUpdate"),
            Self::Kline(_) => Some("kline"),
            Self::MiniTicker => Some("24hrMiniTicker"),
            Self::Ticker => Some("24hrTicker"),
            Self::WindowTicker(window) => Some(match window {
                0 => "1hTicker",
                1 => "4hTicker",
                _ => "1dTicker",
            }),
            Self::AvgPrice => Some("avgPrice"),
            Self::MarkPrice(_) => Some("markPriceUpdate"),
            Self::ForceOrder => Some("forceOrder"),
        }
    }

    /// On USD-M futures, book data lives under `/public` and the rest under `/market`.
    pub fn is_book_data(self) -> bool {
        matches!(
            self,
            Self::BookTicker | Self::Depth(_) | Self::PartialDepth(..) | Self::Book
        )
    }

    /// How often Binance pushes this kind, for kinds pushed on a fixed schedule; `None` for
    /// event-driven kinds (trades, the book ticker, liquidations), which may rightly stay
    /// silent as long as the market does. `futures` picks the USD-M and COIN-M speeds,
    /// which differ from spot's (and Binance.US's and the testnet's): PROTOCOL.md §6, §7.
    ///
    /// A schedule is an upper bound on the gap between two updates while the market moves;
    /// a book with no changes at all may still send nothing (diff depth, tickers of a
    /// symbol nobody trades), which is why a listener's silence limit should be a multiple
    /// of the cadence with a floor, not the cadence itself.
    pub fn cadence(self, futures: bool) -> Option<Duration> {
        let millis = match self {
            Self::Trade | Self::AggTrade | Self::BookTicker | Self::ForceOrder => return None,
            Self::Depth(speed) | Self::PartialDepth(_, speed) => match (speed, futures) {
                (UpdateSpeed::Fast, _) => 100,
                (UpdateSpeed::Slow, _) => 500,
                (UpdateSpeed::Standard, false) => 1000,
                (UpdateSpeed::Standard, true) => 250,
            },
            Self::Book => 100,
            // kline_1s updates every second on spot; futures has no 1s candles.
            Self::Kline(0) => 1000,
            Self::Kline(_) if futures => 250,
            Self::Kline(_) => 2000,
            Self::MiniTicker | Self::Ticker if futures => 500,
            Self::MiniTicker | Self::Ticker | Self::WindowTicker(_) | Self::AvgPrice => 1000,
            Self::MarkPrice(true) => 1000,
            Self::MarkPrice(false) => 3000,
        };
        Some(Duration::from_millis(millis))
    }
}

impl FromStr for StreamKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || {
            format!(
                "unknown stream kind '{text}': expected one of {}",
                Self::FAMILIES
            )
        };
        // Interval names are case-sensitive (1m is a minute, 1M a month); the rest is not.
        if let Some(interval) = text
            .get(..6)
            .filter(|prefix| prefix.eq_ignore_ascii_case("kline_"))
            .map(|_| &text[6..])
        {
            return KLINE_INTERVALS
                .iter()
                .position(|known| *known == interval)
                .map(|index| Self::Kline(index as u8))
                .ok_or_else(|| {
                    format!(
                        "unknown kline interval '{interval}' in '{text}': expected one of {}",
                        KLINE_INTERVALS.join(" ")
                    )
                });
        }
        let lower = text.to_ascii_lowercase();
        let (base, suffix) = match lower.find('@') {
            Some(at) => lower.split_at(at),
            None => (lower.as_str(), ""),
        };
        let plain = |kind: StreamKind| if suffix.is_empty() { Some(kind) } else { None };
        let kind = match base {
            "trade" => plain(Self::Trade),
            "aggtrade" => plain(Self::AggTrade),
            "bookticker" => plain(Self::BookTicker),
            "depth" => UpdateSpeed::parse(suffix).map(Self::Depth),
            "depth5" | "depth10" | "depth20" => {
                let levels = base[5..].parse().unwrap_or(5);
                UpdateSpeed::parse(suffix).map(|speed| Self::PartialDepth(levels, speed))
            }
            "miniticker" => plain(Self::MiniTicker),
            "ticker" => plain(Self::Ticker),
            "avgprice" => plain(Self::AvgPrice),
            "markprice" => match suffix {
                "" => Some(Self::MarkPrice(false)),
                "@1s" => Some(Self::MarkPrice(true)),
                _ => None,
            },
            "forceorder" => plain(Self::ForceOrder),
            "book" => plain(Self::Book),
            window if window.starts_with("ticker_") => TICKER_WINDOWS
                .iter()
                .position(|known| *known == &window[7..])
                .filter(|_| suffix.is_empty())
                .map(|index| Self::WindowTicker(index as u8)),
            _ => None,
        };
        kind.ok_or_else(unknown)
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One or more stream kinds: `--stream` is repeatable and takes comma-separated lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamKinds(pub Vec<StreamKind>);

impl FromStr for StreamKinds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.split(',')
            .map(|part| part.trim().parse::<StreamKind>())
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_kinds_parse_case_insensitively_and_list_the_known_ones() {
        assert_eq!("aggtrade".parse(), Ok(StreamKind::AggTrade));
        assert_eq!("bookTicker".parse(), Ok(StreamKind::BookTicker));
        assert!("depth9".parse::<StreamKind>().unwrap_err().starts_with(
            "unknown stream kind 'depth9': expected one of trade, aggTrade, bookTicker, depth"
        ));
    }

    #[test]
    fn every_kind_round_trips_through_its_name() {
        let names = [
            "trade",
            "aggTrade",
            "bookTicker",
            "depth",
            "depth@100ms",
            "depth@500ms",
            "depth5",
            "depth10@100ms",
            "depth20@500ms",
            "kline_1s",
            "kline_1m",
            "kline_1M",
            "kline_12h",
            "miniTicker",
            "ticker",
            "ticker_1h",
            "ticker_4h",
            "ticker_1d",
            "avgPrice",
            "markPrice",
            "markPrice@1s",
            "forceOrder",
            "book",
        ];
        for name in names {
            let kind: StreamKind = name.parse().unwrap_or_else(|error| panic!("{error}"));
            assert_eq!(kind.name(), name);
        }
        assert_eq!("KLINE_1m".parse(), Ok(StreamKind::Kline(1)));
        assert_ne!(
            "kline_1m".parse::<StreamKind>(),
            "kline_1M".parse::<StreamKind>()
        );
        for bad in [
            "kline_2m",
            "depth7",
            "depth@250ms",
            "ticker_2h",
            "trade@100ms",
            "markPrice@3s",
        ] {
            assert!(bad.parse::<StreamKind>().is_err(), "{bad}");
        }
        assert!(
            "kline_2m"
                .parse::<StreamKind>()
                .unwrap_err()
                .contains("1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M")
        );
    }

    #[test]
    fn fixed_schedules_follow_the_market_and_events_have_none() {
        let cadence = |name: &str, futures: bool| {
            name.parse::<StreamKind>()
                .unwrap()
                .cadence(futures)
                .map(|every| every.as_millis())
        };
        for name in ["trade", "aggTrade", "bookTicker", "forceOrder"] {
            assert_eq!(cadence(name, false), None, "{name}");
            assert_eq!(cadence(name, true), None, "{name}");
        }
        let spot = [
            ("depth", 1000),
            ("depth@100ms", 100),
            ("depth20", 1000),
            ("depth5@100ms", 100),
            ("kline_1s", 1000),
            ("kline_1m", 2000),
            ("kline_1M", 2000),
            ("miniTicker", 1000),
            ("ticker", 1000),
            ("ticker_4h", 1000),
            ("avgPrice", 1000),
        ];
        for (name, millis) in spot {
            assert_eq!(cadence(name, false), Some(millis), "spot {name}");
        }
        let futures = [
            ("depth", 250),
            ("depth@500ms", 500),
            ("depth10@100ms", 100),
            ("kline_1m", 250),
            ("miniTicker", 500),
            ("ticker", 500),
            ("markPrice", 3000),
            ("markPrice@1s", 1000),
        ];
        for (name, millis) in futures {
            assert_eq!(cadence(name, true), Some(millis), "futures {name}");
        }
    }

    #[test]
    fn stream_lists_split_on_commas() {
        assert_eq!(
            "trade, bookTicker".parse(),
            Ok(StreamKinds(vec![StreamKind::Trade, StreamKind::BookTicker]))
        );
        assert!("trade,nope".parse::<StreamKinds>().is_err());
    }
}
