//! What the user asks for, as validated types: [`Symbol`], [`StreamKind`], [`Market`],
//! [`Endpoint`] and [`DelaySpec`]. Each parses from the text a user types (`FromStr`) with a
//! one-line error naming that text and what is accepted, so the command line and the config
//! file reject bad values with the same words. Nothing after `Config` parses strings.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::units::parse_duration;

/// Binance symbols are short; anything longer is a typo or a pasted URL.
const MAX_SYMBOL_CHARS: usize = 32;

/// A market symbol such as `ETHUSDT`, kept in both cases: uppercase is how it is shown and
/// written in output lines, lowercase is how Binance names its streams (`ethusdt@trade`).
///
/// Letters (any script: Binance lists symbols with non-ASCII letters), digits and `_`
/// (COIN-M `BTCUSD_PERP`) are accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol {
    upper: String,
    lower: String,
}

impl Symbol {
    /// The symbol as shown and written: `ETHUSDT`.
    pub fn as_str(&self) -> &str {
        &self.upper
    }

    /// The symbol as Binance's stream names spell it: `ethusdt`.
    pub fn lowercase(&self) -> &str {
        &self.lower
    }

    /// A thread name `<prefix><SYMBOL>` cut to the 15 bytes Linux keeps, on a char boundary,
    /// so `top -H` and `ps -L` still show which symbol a thread serves.
    pub fn thread_name(&self, prefix: &str) -> String {
        const LINUX_THREAD_NAME_BYTES: usize = 15;
        let mut name = format!("{prefix}{}", self.upper);
        let mut cut = name.len().min(LINUX_THREAD_NAME_BYTES);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
        name
    }
}

impl FromStr for Symbol {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(
                "invalid symbol '': a symbol cannot be empty; expected letters and digits, like ETHUSDT"
                    .to_owned(),
            );
        }
        let valid = |c: char| c.is_alphanumeric() || c == '_';
        if !text.chars().all(valid) {
            let joined: String = text.chars().filter(|&c| valid(c)).collect();
            let hint = if joined.is_empty() || joined.chars().count() > MAX_SYMBOL_CHARS {
                String::new()
            } else {
                format!(" (did you mean {}?)", joined.to_uppercase())
            };
            return Err(format!(
                "invalid symbol '{text}': expected letters and digits only, like ETHUSDT{hint}"
            ));
        }
        if text.chars().count() > MAX_SYMBOL_CHARS {
            return Err(format!(
                "invalid symbol '{text}': longer than {MAX_SYMBOL_CHARS} characters; expected a symbol like ETHUSDT"
            ));
        }
        Ok(Self {
            upper: text.to_uppercase(),
            lower: text.to_lowercase(),
        })
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.upper)
    }
}

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
        }
    }

    /// The kinds' family, for error messages and documentation.
    pub const FAMILIES: &'static str = "trade, aggTrade, bookTicker, depth[@100ms|@500ms], depth5|depth10|depth20[@100ms|@500ms], kline_<interval> (1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M), miniTicker, ticker, ticker_1h|4h|1d, avgPrice, markPrice[@1s], forceOrder";

    /// Whether its payload names an event type (`e`) that must be checked; the
    /// expected type.
    pub fn event_type(self) -> Option<&'static str> {
        match self {
            Self::Trade => Some("trade"),
            Self::AggTrade => Some("aggTrade"),
            Self::BookTicker | Self::PartialDepth(..) => None,
            Self::Depth(_) => Some("depthUpdate"),
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
            Self::BookTicker | Self::Depth(_) | Self::PartialDepth(..)
        )
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
        Endpoint {
            tls: true,
            host: host.to_owned(),
            port,
            path_prefix: prefix.to_owned(),
        }
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

/// A WebSocket base URL: `ws://host:port` or `wss://host:port`, with an optional path prefix
/// (`wss://fstream.binance.com/market`). A symbol's stream is read from
/// `<base>/ws/<symbol>@<kind>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    path_prefix: String,
}

impl Endpoint {
    /// A plain `ws://` endpoint on a loopback port; what the in-process mock serves.
    pub fn loopback(port: u16) -> Self {
        Self {
            tls: false,
            host: "127.0.0.1".to_owned(),
            port,
            path_prefix: String::new(),
        }
    }

    /// Whether the host is one of Binance's (whose connection limits then apply).
    pub fn is_binance(&self) -> bool {
        let host = self.host.to_ascii_lowercase();
        [
            "binance.com",
            "binance.us",
            "binance.vision",
            "binancefuture.com",
        ]
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
    }

    /// Whether the connection uses TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The host name or address, as it must appear in the TLS certificate.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `host:port`, the form every connection error names.
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of a symbol's streams: one kind is a raw stream,
    /// `<base>/ws/<symbol>@<kind>`; several share one connection through the combined path,
    /// `<base>/stream?streams=<symbol>@<kind1>/<symbol>@<kind2>`, whose frames Binance wraps
    /// as `{"stream":..,"data":..}`. Non-ASCII symbol characters are percent-encoded, which
    /// Binance accepts.
    pub fn stream_url(&self, symbol: &Symbol, kinds: &[StreamKind]) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        let mut encoded = String::new();
        for byte in symbol.lowercase().bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'_' {
                encoded.push(char::from(byte));
            } else {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        }
        let names: Vec<String> = kinds
            .iter()
            .map(|kind| format!("{encoded}@{}", kind.name()))
            .collect();
        let base = format!("{scheme}://{}{}", self.host_port(), self.path_prefix);
        match names.as_slice() {
            [single] => format!("{base}/ws/{single}"),
            _ => format!("{base}/stream?streams={}", names.join("/")),
        }
    }
}

impl FromStr for Endpoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            format!(
                "invalid endpoint '{text}': {why}; expected ws://host[:port] or wss://host[:port]"
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            _ => return Err(bad(&format!("scheme '{scheme}' is not supported"))),
        };
        if rest.contains(['?', '#']) {
            return Err(bad("a query or fragment is not allowed"));
        }
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad("user names are not allowed"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("bad host or port"))?;
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let mut prefix = path.trim_end_matches('/');
        if let Some(stripped) = prefix.strip_suffix("/ws") {
            prefix = stripped.trim_end_matches('/');
        }
        if prefix.contains(char::is_whitespace) {
            return Err(bad("the path contains spaces"));
        }
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
            path_prefix: prefix.to_owned(),
        })
    }
}

/// Splits `host`, `host:port`, `[v6]` or `[v6]:port`; `None` when empty or the port is bad.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    let port = match port {
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => return None,
            Ok(port) => Some(port),
        },
        None => None,
    };
    Some((host, port))
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_port(), self.path_prefix)
    }
}

/// `--delay [SYMBOL=]DURATION`: how long a symbol's processor sleeps per message, to
/// simulate a slow handler. Without a symbol it applies to every symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelaySpec {
    /// The symbol it applies to; `None` = every symbol without a delay of its own.
    pub symbol: Option<Symbol>,
    /// The sleep per message.
    pub delay: Duration,
}

impl FromStr for DelaySpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once('=') {
            Some((symbol, duration)) => {
                let symbol = symbol.parse::<Symbol>().map_err(|error| {
                    format!("invalid delay '{text}': {error}; expected [SYMBOL=]DURATION, like ETHUSDT=200ms")
                })?;
                let delay = parse_duration(duration)
                    .map_err(|error| format!("invalid delay '{text}': {error}"))?;
                Ok(Self {
                    symbol: Some(symbol),
                    delay,
                })
            }
            None => {
                let delay = parse_duration(text).map_err(|error| {
                    format!("invalid delay '{text}': {error}; expected [SYMBOL=]DURATION, like ETHUSDT=200ms")
                })?;
                Ok(Self {
                    symbol: None,
                    delay,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(text: &str) -> Symbol {
        text.parse().unwrap()
    }

    #[test]
    fn symbols_are_case_insensitive_and_shown_uppercase() {
        let eth = symbol("ethUSDT");
        assert_eq!(eth.as_str(), "ETHUSDT");
        assert_eq!(eth.lowercase(), "ethusdt");
        assert_eq!(eth, symbol("ETHUSDT"));
        assert_eq!(symbol("btcusd_perp").as_str(), "BTCUSD_PERP");
    }

    #[test]
    fn malformed_symbols_name_the_value_and_hint() {
        assert_eq!(
            "ETH-USDT".parse::<Symbol>().unwrap_err(),
            "invalid symbol 'ETH-USDT': expected letters and digits only, like ETHUSDT (did you mean ETHUSDT?)"
        );
        assert_eq!(
            "eth/usdt".parse::<Symbol>().unwrap_err(),
            "invalid symbol 'eth/usdt': expected letters and digits only, like ETHUSDT (did you mean ETHUSDT?)"
        );
        assert!(
            "".parse::<Symbol>()
                .unwrap_err()
                .starts_with("invalid symbol '': ")
        );
        assert!("ethusdt@trade".parse::<Symbol>().is_err());
        assert!("A".repeat(33).parse::<Symbol>().is_err());
    }

    #[test]
    fn thread_names_fit_linux_and_keep_char_boundaries() {
        assert_eq!(symbol("ETHUSDT").thread_name("ws-"), "ws-ETHUSDT");
        assert_eq!(
            symbol("VERYLONGSYMBOLUSDT").thread_name("proc-"),
            "proc-VERYLONGSY"
        );
        let name = symbol("币安币安币安").thread_name("ws-");
        assert!(name.len() <= 15 && name.starts_with("ws-币"));
    }

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
    fn stream_lists_split_on_commas() {
        assert_eq!(
            "trade, bookTicker".parse(),
            Ok(StreamKinds(vec![StreamKind::Trade, StreamKind::BookTicker]))
        );
        assert!("trade,nope".parse::<StreamKinds>().is_err());
    }

    #[test]
    fn several_kinds_share_one_combined_connection() {
        let endpoint: Endpoint = "ws://127.0.0.1:9000".parse().unwrap();
        assert_eq!(
            endpoint.stream_url(
                &symbol("ETHUSDT"),
                &[StreamKind::Trade, StreamKind::BookTicker]
            ),
            "ws://127.0.0.1:9000/stream?streams=ethusdt@trade/ethusdt@bookTicker"
        );
    }

    #[test]
    fn endpoints_accept_base_urls_with_optional_ws_suffix() {
        let eth = symbol("ETHUSDT");
        for text in [
            "ws://127.0.0.1:9000",
            "ws://127.0.0.1:9000/",
            "ws://127.0.0.1:9000/ws",
            "ws://127.0.0.1:9000/ws/",
        ] {
            let endpoint: Endpoint = text.parse().unwrap();
            assert_eq!(
                endpoint.stream_url(&eth, &[StreamKind::Trade]),
                "ws://127.0.0.1:9000/ws/ethusdt@trade",
                "for {text}"
            );
        }
        let endpoint: Endpoint = "wss://localhost:8443".parse().unwrap();
        assert!(endpoint.is_tls());
        assert_eq!(endpoint.host_port(), "localhost:8443");
        let routed: Endpoint = "wss://fstream.binance.com/market".parse().unwrap();
        assert_eq!(
            routed.stream_url(&eth, &[StreamKind::AggTrade]),
            "wss://fstream.binance.com:443/market/ws/ethusdt@aggTrade"
        );
        assert!(Market::Futures.endpoint(StreamKind::AggTrade).is_binance());
        assert!(Market::Testnet.endpoint(StreamKind::Trade).is_binance());
        assert!(!endpoint.is_binance());
        assert!(
            !"wss://notbinance.com"
                .parse::<Endpoint>()
                .unwrap()
                .is_binance()
        );
        let v6: Endpoint = "ws://[::1]:9000".parse().unwrap();
        assert_eq!(v6.host_port(), "[::1]:9000");
    }

    #[test]
    fn endpoints_reject_other_schemes_and_bad_ports() {
        let error = "http://127.0.0.1:9000".parse::<Endpoint>().unwrap_err();
        assert_eq!(
            error,
            "invalid endpoint 'http://127.0.0.1:9000': scheme 'http' is not supported; expected ws://host[:port] or wss://host[:port]"
        );
        for bad in [
            "127.0.0.1:9000",
            "ws://",
            "ws://host:0",
            "ws://host:99999",
            "ws://host:port",
            "ws://h/x?y=1",
        ] {
            let error = bad.parse::<Endpoint>().unwrap_err();
            assert!(
                error.starts_with(&format!("invalid endpoint '{bad}': ")),
                "{error}"
            );
        }
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

    #[test]
    fn delays_take_an_optional_symbol() {
        assert_eq!(
            "ethusdt=200ms".parse(),
            Ok(DelaySpec {
                symbol: Some(symbol("ETHUSDT")),
                delay: Duration::from_millis(200)
            })
        );
        assert_eq!(
            "5ms".parse(),
            Ok(DelaySpec {
                symbol: None,
                delay: Duration::from_millis(5)
            })
        );
        assert!(
            "ETH-USDT=1s"
                .parse::<DelaySpec>()
                .unwrap_err()
                .starts_with("invalid delay 'ETH-USDT=1s': invalid symbol")
        );
        assert!(
            "ETHUSDT=fast"
                .parse::<DelaySpec>()
                .unwrap_err()
                .starts_with("invalid delay 'ETHUSDT=fast': invalid duration 'fast'")
        );
    }
}
