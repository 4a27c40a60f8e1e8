//! One accepted connection (`mock-conn-N`): handshakes, then the session, reporting both
//! ends of it as [`MockEvent`]s.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::handshake::{Accepted, handshake};
use crate::path::parse_stream_path;
use crate::session::{Peer, Session, open_lanes};
use crate::{MockEvent, Shared};

/// Time a client has to finish the TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a read of the client may block before the session loop looks around.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(50);

/// A write to a client that does not read gives up after this long and is retried later.
const WRITE_TIMEOUT: Duration = Duration::from_millis(100);

/// Serves one accepted TCP connection until it ends or the exchange stops.
pub(super) fn serve(tcp: TcpStream, connection: u64, shared: &Shared) {
    let Ok(control) = tcp.try_clone() else {
        return;
    };
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    if control.set_nodelay(true).is_err()
        || control.set_read_timeout(Some(MAX_IDLE_WAIT)).is_err()
        || control.set_write_timeout(Some(WRITE_TIMEOUT)).is_err()
    {
        return;
    }
    let (socket, path) = match handshake(tcp, shared, deadline) {
        Ok(Accepted::Socket(socket, path)) => (*socket, path),
        Ok(Accepted::Rest) => return,
        Err(detail) => {
            if !shared.stopping() {
                shared.emit(MockEvent::HandshakeFailed { detail });
            }
            return;
        }
    };
    let Some(request) = parse_stream_path(&path) else {
        return;
    };
    let (lanes, ordinal) = open_lanes(shared, request.streams);
    shared.emit(MockEvent::Connected {
        connection,
        path: path.clone(),
        at: Instant::now(),
    });
    let peer = Peer {
        connection,
        path,
        combined: request.combined,
        faulty: shared.config.faults.applies_to(ordinal),
    };
    let sent = Session::new(socket, control, shared, peer, lanes).run();
    shared.emit(MockEvent::Disconnected {
        connection,
        sent,
        at: Instant::now(),
    });
}

#[cfg(test)]
mod tests {
    use std::net::TcpStream;
    use std::time::Duration;

    use tungstenite::stream::MaybeTlsStream;
    use tungstenite::{Error as WsError, Message, WebSocket};

    use crate::session::wrap;
    use crate::{Chain, Faults, MockConfig, MockEvent, MockExchange, Rate, StreamLog};
    use binance_streams::{Decoder, Event, Payload, StreamKind, Symbol, UpdateSpeed};

    #[test]
    fn combined_frames_decode_with_the_listeners_decoder() {
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let kinds = [
            StreamKind::Trade,
            StreamKind::Depth(UpdateSpeed::Fast),
            StreamKind::Kline(1),
        ];
        let decoder = Decoder::new(&symbol, &kinds);
        let mut scratch = String::new();
        for (index, kind) in kinds.into_iter().enumerate() {
            let name = format!("ethusdt@{}", kind.name());
            let mut log = StreamLog::new("ethusdt", kind);
            let mut check = Chain::default();
            for id in 1..=50 {
                let payload = log.payload(id, 1_732_500_000_000 + id * 100, &mut scratch);
                let frame = wrap(&name, &payload);
                let (decoded, event) = decoder.decode(&frame).unwrap();
                assert_eq!(decoded, index, "{}", frame.as_str());
                assert!(check.next(event.sequence().unwrap()));
            }
        }
    }

    #[test]
    fn the_combined_wrapper_matches_the_fixture() {
        let fixture = include_str!("../../binance-streams/fixtures/combined_trade.json");
        let data = include_str!("../../binance-streams/fixtures/trade.json");
        assert_eq!(wrap("bnbbtc@trade", data.trim()).as_str(), fixture.trim());
    }

    type Client = WebSocket<MaybeTlsStream<TcpStream>>;

    /// A client whose reads give up after a few seconds, so no test can hang.
    fn connect(exchange: &MockExchange, path: &str) -> Client {
        let (client, _) = tungstenite::connect(format!("{}{path}", exchange.url())).unwrap();
        if let MaybeTlsStream::Plain(tcp) = client.get_ref() {
            tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        }
        client
    }

    /// The next `count` data frames (fewer if the connection closes or goes quiet),
    /// skipping pings.
    fn read_frames(client: &mut Client, count: usize) -> Vec<String> {
        let mut frames = Vec::new();
        while frames.len() < count {
            match client.read() {
                Ok(Message::Text(text)) => frames.push(text.as_str().to_owned()),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        frames
    }

    #[test]
    fn a_combined_connection_paces_each_stream_and_shares_logs_with_raw_ones() {
        // Only the first connection is faulty: the raw one, closed after 10 trades. The
        // combined one is the trade stream's second connection, so it is spared.
        let faults = Faults {
            faulty_connections: Some(1),
            close_after_messages: Some(10),
            ..Faults::default()
        };
        let config = MockConfig::new()
            .rate(Rate::Unlimited)
            .count(30)
            .faults(faults);
        let exchange = MockExchange::start(config).unwrap();
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let kinds = [
            StreamKind::Trade,
            StreamKind::Depth(UpdateSpeed::Fast),
            StreamKind::Kline(1),
        ];
        let path = "/stream?streams=ethusdt@trade/ethusdt@depth@100ms/ethusdt@kline_1m";
        let mut raw = connect(&exchange, "/ws/ethusdt@trade");
        let first_raw = read_frames(&mut raw, 10);
        drop(raw);
        let mut client = connect(&exchange, path);
        let decoder = Decoder::new(&symbol, &kinds);
        let mut checks = [Chain::default(), Chain::default(), Chain::default()];
        let mut per_stream = [0; 3];
        let mut trade_ids = Vec::new();
        for frame in read_frames(&mut client, 20 + 30 + 30) {
            let (index, event) = decoder
                .decode(&frame)
                .unwrap_or_else(|e| panic!("{e}: {frame}"));
            assert!(checks[index].next(event.sequence().unwrap()), "{frame}");
            per_stream[index] += 1;
            if let Event::Trade(trade) = event {
                trade_ids.push(trade.trade_id);
            }
        }
        assert_eq!(per_stream, [20, 30, 30]);
        assert_eq!(first_raw.len(), 10);
        assert_eq!(
            trade_ids,
            (11..=30).collect::<Vec<u64>>(),
            "the raw connection's log continues"
        );
        let connected = exchange.events().iter().find_map(|event| match event {
            MockEvent::Connected { path, .. } if path.starts_with("/stream") => Some(path),
            _ => None,
        });
        assert_eq!(connected.as_deref(), Some(path));
    }

    /// Trade ids per stream index of a combined connection's frames.
    fn ids_by_stream(decoder: &Decoder, frames: &[String]) -> Vec<Vec<u64>> {
        let mut ids = vec![Vec::new(); decoder.kinds().len()];
        for frame in frames {
            let (index, event) = decoder.decode(frame).unwrap();
            ids[index].push(event.sequence().unwrap().id);
        }
        ids
    }

    #[test]
    fn each_stream_of_a_combined_connection_has_its_own_pace() {
        // The mock's pings are its own clock: between two of them, 250 ms apart, each
        // stream at 20 a second sends about 5 events; a pace shared by the connection's
        // three streams would send about 5 in all. A loaded machine delays pings and
        // events alike (streams catch up on a late schedule), so the counts hold.
        let config = MockConfig::new()
            .rate(Rate::PerSecond(20.0))
            .ping_interval(Duration::from_millis(250));
        let exchange = MockExchange::start(config).unwrap();
        let symbol: Symbol = "BTCUSDT".parse().unwrap();
        let decoder = Decoder::new(
            &symbol,
            &[
                StreamKind::Trade,
                StreamKind::AggTrade,
                StreamKind::BookTicker,
            ],
        );
        let mut client = connect(
            &exchange,
            "/stream?streams=btcusdt@trade/btcusdt@aggTrade/btcusdt@bookTicker",
        );
        let mut pings = 0;
        let mut frames = Vec::new();
        while pings < 3 {
            match client.read().unwrap() {
                Message::Ping(_) => pings += 1,
                // Between the first ping and the third: two intervals, 10 events a stream.
                Message::Text(text) if pings >= 1 => frames.push(text.as_str().to_owned()),
                _ => {}
            }
        }
        let ids = ids_by_stream(&decoder, &frames);
        for stream in &ids {
            assert!(stream.len() >= 7, "each stream keeps its own pace: {ids:?}");
            assert!(
                stream.windows(2).all(|pair| pair[1] == pair[0] + 1),
                "{ids:?}"
            );
        }
    }

    #[test]
    fn market_mode_runs_each_combined_stream_on_the_clock() {
        let config = MockConfig::new().rate(Rate::PerSecond(50.0)).market(true);
        let exchange = MockExchange::start(config).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let decoder = Decoder::new(&symbol, &[StreamKind::Trade, StreamKind::AggTrade]);
        let mut client = connect(&exchange, "/stream?streams=ethusdt@trade/ethusdt@aggTrade");
        let ids = ids_by_stream(&decoder, &read_frames(&mut client, 10));
        for stream in &ids {
            assert!(stream[0] > 1, "joined the market late: {ids:?}");
            assert!(
                stream.windows(2).all(|pair| pair[1] == pair[0] + 1),
                "{ids:?}"
            );
        }
    }

    #[test]
    fn faults_count_the_messages_of_all_streams_of_a_connection() {
        let faults = Faults {
            close_after_messages: Some(10),
            ..Faults::default()
        };
        let config = MockConfig::new()
            .rate(Rate::Unlimited)
            .faults(faults)
            .futures(true);
        let exchange = MockExchange::start(config).unwrap();
        let mut client = connect(
            &exchange,
            "/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s",
        );
        let frames = read_frames(&mut client, 100);
        assert_eq!(frames.len(), 10, "{frames:?}");
        assert!(
            frames.iter().any(|frame| frame.contains(r#""nq":"#)),
            "futures aggTrades"
        );
        assert!(frames.iter().any(|frame| frame.contains("markPriceUpdate")));
    }

    #[test]
    fn unknown_streams_get_a_404() {
        let exchange = MockExchange::start(MockConfig::new()).unwrap();
        let url = format!(
            "{}/stream?streams=ethusdt@trade/ethusdt@nonsense",
            exchange.url()
        );
        match tungstenite::connect(url) {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
            other => panic!("expected a 404, got {:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn combined_connections_get_a_wrapped_server_shutdown() {
        let faults = Faults {
            bad_frames_after: 2,
            bad_frames: vec![crate::BadFrame::ServerShutdown],
            ..Faults::default()
        };
        let exchange = MockExchange::start(
            MockConfig::new()
                .rate(Rate::Unlimited)
                .count(5)
                .faults(faults),
        )
        .unwrap();
        let mut client = connect(
            &exchange,
            "/stream?streams=ethusdt@trade/ethusdt@bookTicker",
        );
        let frames = read_frames(&mut client, 3);
        assert!(
            frames[2].starts_with(r#"{"stream":"!serverShutdown","data":{"e":"serverShutdown""#),
            "{}",
            frames[2]
        );
    }
}
