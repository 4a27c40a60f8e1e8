//! [`Endpoint`]: a WebSocket base URL and the stream URLs of a symbol under it.

use std::fmt;
use std::str::FromStr;

use crate::kind::StreamKind;
use crate::symbol::Symbol;

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

    /// A `wss://` endpoint: `host`, `port` and a path prefix such as `/market`.
    pub(crate) fn secure(host: &str, port: u16, path_prefix: &str) -> Self {
        Self {
            tls: true,
            host: host.to_owned(),
            port,
            path_prefix: path_prefix.to_owned(),
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
            .map(|kind| format!("{encoded}@{}", kind.wire_name()))
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
        let (authority, path) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
        if authority.contains('@') {
            return Err(bad("user names are not allowed"));
        }
        let (host, port) = split_host_port(authority).ok_or_else(|| bad("bad host or port"))?;
        if let Some(base) = stream_path_base(path) {
            return Err(format!(
                "invalid endpoint '{text}': that is a stream's URL, and each symbol's stream path is added to the endpoint; pass the base URL instead, like {scheme}://{authority}{base}"
            ));
        }
        if path.contains(['?', '#']) {
            return Err(bad("a query or fragment is not allowed"));
        }
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

/// When `path` (everything after the authority) names streams rather than a base — it holds
/// an `@` (`/ws/ethusdt@trade`), something after `/ws/` (`/ws/ethusdt`), or a `/stream`
/// segment (`/stream?streams=...`) — the base path before that part, for the error message.
/// Without this check such a URL would be retried forever against a path that cannot work.
fn stream_path_base(path: &str) -> Option<&str> {
    let route = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let route = route.trim_end_matches('/');
    let segments: Vec<(usize, &str)> = route
        .match_indices('/')
        .map(|(at, _)| {
            let end = route[at + 1..]
                .find('/')
                .map_or(route.len(), |n| at + 1 + n);
            (at, &route[at + 1..end])
        })
        .collect();
    let stream_at = segments
        .iter()
        .enumerate()
        .find_map(|(index, (at, segment))| {
            let names_streams = segment.contains('@')
                || segment.eq_ignore_ascii_case("stream")
                || (segment.eq_ignore_ascii_case("ws") && index + 1 < segments.len());
            names_streams.then_some(*at)
        });
    match stream_at {
        Some(at) => Some(route[..at].trim_end_matches('/')),
        // A query on a bare host (`ws://h:9443?streams=...`) names streams too.
        None if path.starts_with('?') && path.contains("streams=") => Some(""),
        None => None,
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
#[cfg(test)]
mod tests {
    use super::*;

    fn symbol(text: &str) -> Symbol {
        text.parse().unwrap()
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
    fn stream_urls_are_refused_with_the_base_to_pass_instead() {
        let cases = [
            ("ws://h:9000/ws/ethusdt@trade", "ws://h:9000"),
            ("ws://h:9000/ws/ethusdt", "ws://h:9000"),
            ("ws://h:9000/ethusdt@trade", "ws://h:9000"),
            ("ws://h:9000/stream", "ws://h:9000"),
            (
                "ws://h:9000/stream?streams=ethusdt@trade/ethusdt@depth",
                "ws://h:9000",
            ),
            (
                "wss://fstream.binance.com/market/ws/btcusdt@aggTrade",
                "wss://fstream.binance.com/market",
            ),
            (
                "wss://fstream.binance.com/public/stream?streams=btcusdt@depth",
                "wss://fstream.binance.com/public",
            ),
        ];
        for (text, base) in cases {
            let error = text.parse::<Endpoint>().unwrap_err();
            assert_eq!(
                error,
                format!(
                    "invalid endpoint '{text}': that is a stream's URL, and each symbol's stream path is added to the endpoint; pass the base URL instead, like {base}"
                )
            );
            assert!(!error.contains('\n'), "one line: {error}");
        }
        for fine in [
            "ws://h:9000/ws",
            "ws://h:9000/ws/",
            "wss://h/market",
            "ws://h/streams",
        ] {
            assert!(fine.parse::<Endpoint>().is_ok(), "{fine}");
        }
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
}
