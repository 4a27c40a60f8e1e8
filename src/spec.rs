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

/// A Binance stream kind: the part after `@` in `ethusdt@trade`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Every trade (`<s>@trade`, spot only).
    Trade,
    /// Trades aggregated by taker order and price (`<s>@aggTrade`).
    AggTrade,
    /// Best bid and ask, on every change (`<s>@bookTicker`).
    BookTicker,
}

impl StreamKind {
    /// Every kind, in the order `--help` and error messages list them.
    pub const ALL: [StreamKind; 3] = [Self::Trade, Self::AggTrade, Self::BookTicker];

    /// Binance's name for the kind, as it appears in stream names and output lines.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trade => "trade",
            Self::AggTrade => "aggTrade",
            Self::BookTicker => "bookTicker",
        }
    }

    fn known_list() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|kind| kind.name()).collect();
        names.join(", ")
    }
}

impl FromStr for StreamKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                format!(
                    "unknown stream kind '{text}': expected one of {}",
                    Self::known_list()
                )
            })
    }
}

impl fmt::Display for StreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

    /// Whether this market publishes `kind`. Futures have no `@trade` stream: `aggTrade`
    /// is their trade feed (PROTOCOL.md §7).
    pub fn offers(self, kind: StreamKind) -> bool {
        !matches!(
            (self, kind),
            (Self::Futures | Self::CoinFutures, StreamKind::Trade)
        )
    }

    /// The base endpoint for `kind` on this market.
    ///
    /// USD-M futures route book data to `/public` and everything else to `/market`; a stream
    /// opened on the wrong route connects and then stays silent (PROTOCOL.md §3).
    pub fn endpoint(self, kind: StreamKind) -> Endpoint {
        let (host, port, prefix) = match self {
            Self::Spot => ("stream.binance.com", 9443, ""),
            Self::Futures => match kind {
                StreamKind::BookTicker => ("fstream.binance.com", 443, "/public"),
                StreamKind::Trade | StreamKind::AggTrade => ("fstream.binance.com", 443, "/market"),
            },
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

    /// The full URL of one raw stream: `<base>/ws/<symbol-lowercase>@<kind>`.
    /// Non-ASCII symbol characters are percent-encoded, which Binance accepts.
    pub fn stream_url(&self, symbol: &Symbol, kind: StreamKind) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        let mut url = format!("{scheme}://{}{}/ws/", self.host_port(), self.path_prefix);
        for byte in symbol.lowercase().bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'_' {
                url.push(char::from(byte));
            } else {
                url.push_str(&format!("%{byte:02X}"));
            }
        }
        url.push('@');
        url.push_str(kind.name());
        url
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
        assert_eq!(
            "depth9".parse::<StreamKind>().unwrap_err(),
            "unknown stream kind 'depth9': expected one of trade, aggTrade, bookTicker"
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
                endpoint.stream_url(&eth, StreamKind::Trade),
                "ws://127.0.0.1:9000/ws/ethusdt@trade",
                "for {text}"
            );
        }
        let endpoint: Endpoint = "wss://localhost:8443".parse().unwrap();
        assert!(endpoint.is_tls());
        assert_eq!(endpoint.host_port(), "localhost:8443");
        let routed: Endpoint = "wss://fstream.binance.com/market".parse().unwrap();
        assert_eq!(
            routed.stream_url(&eth, StreamKind::AggTrade),
            "wss://fstream.binance.com:443/market/ws/ethusdt@aggTrade"
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
                .stream_url(&eth, StreamKind::Trade),
            "wss://stream.binance.com:9443/ws/ethusdt@trade"
        );
        assert_eq!(
            Market::Futures
                .endpoint(StreamKind::BookTicker)
                .stream_url(&eth, StreamKind::BookTicker),
            "wss://fstream.binance.com:443/public/ws/ethusdt@bookTicker"
        );
        assert!(!Market::Futures.offers(StreamKind::Trade));
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
