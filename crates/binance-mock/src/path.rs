//! Request paths: which streams a connection asks for. A raw path names one stream
//! (`/ws/ethusdt@trade`), a combined one several (`/stream?streams=<s1>/<s2>`), after any
//! route prefix such as `/market` or `/public`; anything else gets a 404.

use binance_streams::StreamKind;

/// Streams one combined connection may carry, as on Binance.
const MAX_STREAMS: usize = 1_024;

/// One stream a connection asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamName {
    /// `<lowercase symbol>@<kind>`, as Binance names streams: the key of the stream's log
    /// and the `stream` of the combined wrapper.
    pub(crate) name: String,
    /// The symbol, lowercase.
    pub(crate) symbol: String,
    pub(crate) kind: StreamKind,
}

/// What a connection's path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamRequest {
    /// Combined (`/stream?streams=`): every frame is wrapped as `{"stream":..,"data":..}`.
    pub(crate) combined: bool,
    /// The streams, in the order asked, without repeats.
    pub(crate) streams: Vec<StreamName>,
}

/// Parses a request path, after any route prefix such as `/market` or `/public`: a raw
/// stream, `/ws/ethusdt@trade`, or a combined one,
/// `/stream?streams=ethusdt@trade/ethusdt@depth@100ms`. Other query parameters (such as
/// `timeUnit`) are ignored. `None` for anything else, which gets a 404.
pub(crate) fn parse_stream_path(path: &str) -> Option<StreamRequest> {
    let (route, query) = match path.split_once('?') {
        Some((route, query)) => (route, Some(query)),
        None => (path, None),
    };
    if let Some((_, stream)) = route.rsplit_once("/ws/") {
        return Some(StreamRequest {
            combined: false,
            streams: vec![parse_stream_name(stream)?],
        });
    }
    if !route.ends_with("/stream") {
        return None;
    }
    let list = query?
        .split('&')
        .find_map(|parameter| parameter.strip_prefix("streams="))?;
    if list.split('/').count() > MAX_STREAMS {
        return None;
    }
    let mut streams: Vec<StreamName> = Vec::new();
    for name in list.split('/') {
        let stream = parse_stream_name(name)?;
        if streams.iter().all(|known| known.name != stream.name) {
            streams.push(stream);
        }
    }
    Some(StreamRequest {
        combined: true,
        streams,
    })
}

/// Parses one stream name, `ethusdt@trade` or `ethusdt@depth@100ms` (the kind may hold a
/// second `@`), percent-encoded or not. Symbols are letters, digits and `_`, as the
/// listener's: that also keeps names safe to copy into JSON unescaped.
fn parse_stream_name(encoded: &str) -> Option<StreamName> {
    let decoded = percent_decode(encoded)?;
    let (symbol, kind) = decoded.split_once('@')?;
    let symbol_char = |c: char| c.is_alphanumeric() || c == '_';
    if symbol.is_empty() || !symbol.chars().all(symbol_char) {
        return None;
    }
    let kind = kind.parse::<StreamKind>().ok()?;
    let symbol = symbol.to_lowercase();
    Some(StreamName {
        name: format!("{symbol}@{}", kind.name()),
        symbol,
        kind,
    })
}

/// Decodes `%XX` escapes: the listener percent-encodes non-ASCII symbols, which Binance
/// accepts. `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail
                .get(..2)
                .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = tail.get(2..)?;
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use binance_streams::UpdateSpeed;

    fn names(request: &StreamRequest) -> Vec<&str> {
        request
            .streams
            .iter()
            .map(|stream| stream.name.as_str())
            .collect()
    }

    #[test]
    fn raw_paths_accept_route_prefixes() {
        let request = parse_stream_path("/ws/ethusdt@trade").unwrap();
        assert!(!request.combined);
        assert_eq!(
            request.streams,
            [StreamName {
                name: "ethusdt@trade".to_owned(),
                symbol: "ethusdt".to_owned(),
                kind: StreamKind::Trade,
            }]
        );
        assert!(parse_stream_path("/market/ws/btcusdt@aggTrade").is_some());
        assert!(parse_stream_path("/public/ws/btcusdt@depth@100ms?timeUnit=MICROSECOND").is_some());
        assert!(parse_stream_path("/ws/ethusdt@depth9").is_none());
        assert!(parse_stream_path("/ws/@trade").is_none());
        assert!(parse_stream_path("/ws/eth\"usdt@trade").is_none());
        assert!(parse_stream_path("/").is_none());
    }

    #[test]
    fn combined_paths_list_their_streams() {
        let path = "/stream?streams=ethusdt@trade/ethusdt@depth@100ms/ethusdt@kline_1m";
        let request = parse_stream_path(path).unwrap();
        assert!(request.combined);
        assert_eq!(
            names(&request),
            ["ethusdt@trade", "ethusdt@depth@100ms", "ethusdt@kline_1m"]
        );
        let kinds: Vec<StreamKind> = request.streams.iter().map(|stream| stream.kind).collect();
        assert_eq!(
            kinds,
            [
                StreamKind::Trade,
                StreamKind::Depth(UpdateSpeed::Fast),
                StreamKind::Kline(1)
            ]
        );
        let routed = "/public/stream?streams=btcusdt@depth/ethusdt@depth&timeUnit=MICROSECOND";
        assert_eq!(
            names(&parse_stream_path(routed).unwrap()),
            ["btcusdt@depth", "ethusdt@depth"]
        );
    }

    #[test]
    fn combined_names_are_canonical_and_unique() {
        let request =
            parse_stream_path("/stream?streams=ETHUSDT@AGGTRADE/ethusdt@aggTrade/%C3%A9th@trade")
                .unwrap();
        assert_eq!(names(&request), ["ethusdt@aggTrade", "éth@trade"]);
    }

    #[test]
    fn bad_combined_paths_are_refused() {
        for path in [
            "/stream",
            "/stream?",
            "/stream?streams=",
            "/stream?streams=ethusdt@trade/",
            "/stream?streams=ethusdt@trade/ethusdt@nonsense",
            "/stream?streams=ethusdt@trade%",
            "/stream?streams=%FF@trade",
            "/stream?streams=%+f@trade",
            "/streams?streams=ethusdt@trade",
            "/stream?other=ethusdt@trade",
        ] {
            assert!(parse_stream_path(path).is_none(), "{path}");
        }
        let many: Vec<String> = (0..=MAX_STREAMS).map(|n| format!("s{n}@trade")).collect();
        assert!(parse_stream_path(&format!("/stream?streams={}", many.join("/"))).is_none());
    }
}
