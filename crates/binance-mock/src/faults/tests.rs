//! Each fault, driven by a plain tungstenite client or a raw TCP socket against a running
//! mock exchange. Every read has a timeout; what the mock does is waited for through its
//! events, never by sleeping.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use binance_streams::{Decoder, Event, Payload, StreamKind, Symbol, UpdateSpeed};
use crossbeam_channel::Receiver;
use serde_json::Value;
use tungstenite::error::ProtocolError;
use tungstenite::protocol::Role;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Error as WsError, Message, WebSocket};

use crate::{Chain, CloseNotice, Faults, IdJump, MockConfig, MockEvent, MockExchange, Rate};

/// How long any read or wait may take before the test fails instead of hanging.
const PATIENCE: Duration = Duration::from_secs(5);

/// How long a socket that should stay open and quiet is watched.
const QUIET_WATCH: Duration = Duration::from_millis(300);

/// RFC 6455's sample key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

type Client = WebSocket<MaybeTlsStream<TcpStream>>;

fn start(config: MockConfig) -> MockExchange {
    MockExchange::start(config).unwrap()
}

/// A client whose reads give up after [`PATIENCE`].
fn connect(exchange: &MockExchange, path: &str) -> Client {
    let (client, _) = tungstenite::connect(format!("{}{path}", exchange.url())).unwrap();
    tcp(&client).set_read_timeout(Some(PATIENCE)).unwrap();
    client
}

fn tcp(client: &Client) -> &TcpStream {
    match client.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp,
        _ => unreachable!("the tests use ws://"),
    }
}

/// The next `count` data frames (fewer if the connection closes or goes quiet),
/// skipping pings.
fn read_frames<S: Read + Write>(client: &mut WebSocket<S>, count: usize) -> Vec<String> {
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

/// The next event `pick` accepts, skipping others; fails after [`PATIENCE`].
fn wait_for<T>(events: &Receiver<MockEvent>, mut pick: impl FnMut(MockEvent) -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .expect("the mock reports the event in time");
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

/// The data messages of connection `connection` when it ends.
fn disconnected(events: &Receiver<MockEvent>, connection: u64) -> u64 {
    wait_for(events, |event| match event {
        MockEvent::Disconnected {
            connection: ended,
            sent,
            ..
        } if ended == connection => Some(sent),
        _ => None,
    })
}

/// A raw TCP socket that has sent an upgrade request for `path` and reads with a timeout.
fn raw_upgrade(exchange: &MockExchange, path: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(("127.0.0.1", exchange.port())).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        exchange.port()
    );
    tcp.write_all(request.as_bytes()).unwrap();
    tcp
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Fails unless `tcp` stays open and quiet for [`QUIET_WATCH`].
fn assert_open_and_quiet(tcp: &mut TcpStream) {
    tcp.set_read_timeout(Some(QUIET_WATCH)).unwrap();
    let mut buf = [0u8; 64];
    match tcp.read(&mut buf) {
        Err(error) if is_timeout(&error) => {}
        other => panic!("the server should leave the socket open and quiet: {other:?}"),
    }
}

/// Reads an upgrade answer off `tcp`: the bytes read, where its head ends, and how many
/// reads it took.
fn read_upgrade_answer(tcp: &mut TcpStream) -> (Vec<u8>, usize, usize) {
    let mut answer = Vec::new();
    let mut reads = 0;
    loop {
        let mut buf = [0u8; 1024];
        let read = tcp.read(&mut buf).unwrap();
        assert!(read > 0, "closed: {}", String::from_utf8_lossy(&answer));
        reads += 1;
        answer.extend_from_slice(&buf[..read]);
        if let Some(at) = answer.windows(4).position(|four| four == b"\r\n\r\n") {
            return (answer, at + 4, reads);
        }
    }
}

#[test]
fn a_trickled_upgrade_answer_comes_in_chunks_and_still_completes() {
    let faults = Faults {
        trickle_handshake: Some((32, Duration::from_millis(50))),
        ..Faults::default()
    };
    let exchange = start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(3)
            .faults(faults),
    );
    let mut tcp = raw_upgrade(&exchange, "/ws/ethusdt@trade");
    let (answer, end, reads) = read_upgrade_answer(&mut tcp);
    let head = String::from_utf8_lossy(&answer[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 101 "), "{head}");
    let accept = format!("sec-websocket-accept: {}\r\n", ACCEPT.to_lowercase());
    assert!(head.contains(&accept), "{head}");
    assert!(reads >= 2, "{end} bytes came in {reads} read(s)");
    let tail = answer[end..].to_vec();
    let mut client = WebSocket::from_partially_read(tcp, tail, Role::Client, None);
    let ids: Vec<Value> = read_frames(&mut client, 3)
        .iter()
        .map(|frame| serde_json::from_str::<Value>(frame).unwrap()["t"].clone())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn a_client_that_hangs_up_on_a_trickled_upgrade_is_a_failed_handshake() {
    let faults = Faults {
        trickle_handshake: Some((8, Duration::from_millis(20))),
        ..Faults::default()
    };
    let exchange = start(MockConfig::new().faults(faults));
    let mut tcp = raw_upgrade(&exchange, "/ws/ethusdt@trade");
    let mut first = [0u8; 64];
    assert!(tcp.read(&mut first).unwrap() > 0);
    drop(tcp);
    let failed = wait_for(exchange.events(), |event| match event {
        MockEvent::HandshakeFailed { .. } => Some(true),
        MockEvent::Connected { .. } => Some(false),
        _ => None,
    });
    assert!(failed, "the upgrade completed after the client left");
}

#[test]
fn only_the_faulty_connections_get_a_trickled_upgrade() {
    let faults = Faults {
        faulty_connections: Some(1),
        trickle_handshake: Some((32, Duration::from_millis(50))),
        ..Faults::default()
    };
    let exchange = start(MockConfig::new().faults(faults));
    let mut first = raw_upgrade(&exchange, "/ws/ethusdt@trade");
    let (_, _, reads) = read_upgrade_answer(&mut first);
    assert!(reads >= 2, "trickled: {reads} read(s)");
    connected(&exchange);
    let mut second = raw_upgrade(&exchange, "/ws/ethusdt@trade");
    let (_, _, reads) = read_upgrade_answer(&mut second);
    // One write, which loopback delivers whole.
    assert_eq!(reads, 1, "the second connection is spared");
}

/// A TCP stream that counts the reads that returned data.
struct CountingStream {
    tcp: TcpStream,
    reads: usize,
}

impl Read for CountingStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.tcp.read(buf)?;
        if read > 0 {
            self.reads += 1;
        }
        Ok(read)
    }
}

impl Write for CountingStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

#[test]
fn a_trickled_frame_crawls_in_byte_by_byte_and_is_valid_once_complete() {
    let faults = Faults {
        trickle_frame_after: Some((3, Duration::from_millis(5))),
        ..Faults::default()
    };
    let exchange = start(MockConfig::new().rate(Rate::Unlimited).faults(faults));
    let tcp = TcpStream::connect(("127.0.0.1", exchange.port())).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    let url = format!("{}/ws/ethusdt@trade", exchange.url());
    let stream = CountingStream { tcp, reads: 0 };
    let (mut client, _) = tungstenite::client::client(url, stream).unwrap();
    assert_eq!(read_frames(&mut client, 3).len(), 3);
    let before = client.get_ref().reads;
    let fourth = read_frames(&mut client, 1);
    let reads = client.get_ref().reads - before;
    let trade: Value = serde_json::from_str(&fourth[0]).unwrap();
    assert_eq!(trade["t"], 4, "{}", fourth[0]);
    assert!(
        reads * 10 > fourth[0].len(),
        "{} bytes came in {reads} reads",
        fourth[0].len()
    );
}

#[test]
fn a_close_frame_without_a_tcp_close_keeps_the_socket_until_the_client_hangs_up() {
    let faults = Faults {
        close_without_tcp_close_after: Some(2),
        close_notice: Some(CloseNotice::new(1001, "going away: maintenance")),
        ..Faults::default()
    };
    let exchange = start(MockConfig::new().rate(Rate::Unlimited).faults(faults));
    let mut client = connect(&exchange, "/ws/ethusdt@trade");
    assert_eq!(read_frames(&mut client, 2).len(), 2);
    match client.read() {
        Ok(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Away);
            assert_eq!(frame.reason.as_str(), "going away: maintenance");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // The client replies to the close and waits for the server's TCP close, in vain.
    tcp(&client).set_read_timeout(Some(QUIET_WATCH)).unwrap();
    match client.read() {
        Err(WsError::Io(error)) if is_timeout(&error) => {}
        other => panic!("the server should leave TCP open: {other:?}"),
    }
    drop(client);
    let ended = wait_for(exchange.events(), |event| match event {
        MockEvent::ClientClosed { .. } => Some(Err(())),
        MockEvent::Disconnected { sent, .. } => Some(Ok(sent)),
        _ => None,
    });
    assert_eq!(ended, Ok(2), "the client's close is never answered");
}

#[test]
fn the_close_notice_gives_the_close_faults_their_code_and_reason() {
    let faults = Faults {
        close_after_messages: Some(1),
        close_notice: Some(CloseNotice::new(1008, "Too many requests")),
        ..Faults::default()
    };
    let exchange = start(MockConfig::new().rate(Rate::Unlimited).faults(faults));
    let mut client = connect(&exchange, "/ws/ethusdt@trade");
    assert_eq!(read_frames(&mut client, 1).len(), 1);
    match client.read() {
        Ok(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Policy);
            assert_eq!(frame.reason.as_str(), "Too many requests");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[test]
fn a_protocol_violation_follows_the_good_frames_and_the_socket_stays_open() {
    let faults = Faults {
        protocol_error_after: Some(1),
        ..Faults::default()
    };
    let exchange = start(MockConfig::new().rate(Rate::Unlimited).faults(faults));
    let mut client = connect(&exchange, "/ws/ethusdt@trade");
    assert_eq!(read_frames(&mut client, 1).len(), 1);
    match client.read() {
        Err(WsError::Protocol(ProtocolError::NonZeroReservedBits)) => {}
        other => panic!("expected a reserved-bits violation, got {other:?}"),
    }
    let mut raw = tcp(&client).try_clone().unwrap();
    assert_open_and_quiet(&mut raw);
    drop((client, raw));
    assert_eq!(disconnected(exchange.events(), 1), 1);
}

#[test]
fn a_silent_connection_sends_no_data_but_pings_and_answers_pings() {
    let faults = Faults {
        silent_after: Some(3),
        ..Faults::default()
    };
    let config = MockConfig::new()
        .rate(Rate::Unlimited)
        .ping_interval(Duration::from_millis(30))
        .faults(faults);
    let exchange = start(config);
    let mut client = connect(&exchange, "/ws/ethusdt@trade");
    assert_eq!(read_frames(&mut client, 3).len(), 3);
    client
        .send(Message::Ping(b"client-ping".to_vec().into()))
        .unwrap();
    let (mut server_pings, mut ponged) = (0, false);
    while server_pings < 3 || !ponged {
        match client.read().unwrap() {
            Message::Ping(_) => server_pings += 1,
            Message::Pong(payload) => {
                assert_eq!(payload.as_ref(), b"client-ping");
                ponged = true;
            }
            other => panic!("nothing but pings and pongs after going silent: {other:?}"),
        }
    }
    wait_for(exchange.events(), |event| {
        matches!(event, MockEvent::Pong { .. }).then_some(())
    });
    client.close(None).unwrap();
    while client.read().is_ok() {}
    assert_eq!(disconnected(exchange.events(), 1), 3);
}

#[test]
fn an_id_jump_sends_one_stray_event_then_the_sequence_goes_on() {
    let faults = Faults {
        id_jumps: vec![IdJump {
            after: 5,
            id: 900_000,
        }],
        ..Faults::default()
    };
    let exchange = start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(8)
            .faults(faults),
    );
    let kinds = [
        StreamKind::Trade,
        StreamKind::AggTrade,
        StreamKind::Depth(UpdateSpeed::Fast),
    ];
    let decoder = Decoder::new(&"ETHUSDT".parse::<Symbol>().unwrap(), &kinds);
    let path = "/stream?streams=ethusdt@trade/ethusdt@aggTrade/ethusdt@depth@100ms";
    let mut client = connect(&exchange, path);
    let sent = wait_for(exchange.events(), |event| match event {
        MockEvent::AllSent { sent, .. } => Some(sent),
        _ => None,
    });
    assert_eq!(sent, 3 * 9, "8 ids and one stray event per stream");
    let mut ids = vec![Vec::new(); 3];
    let mut breaks = vec![Vec::new(); 3];
    let mut chains = [Chain::default(), Chain::default(), Chain::default()];
    for frame in read_frames(&mut client, 27) {
        let (index, event) = decoder.decode(&frame).unwrap();
        let point = event.sequence().unwrap();
        if !chains[index].next(point) {
            breaks[index].push(ids[index].len());
        }
        ids[index].push(point.id);
    }
    let expected: Vec<u64> = vec![1, 2, 3, 4, 5, 900_000, 6, 7, 8];
    assert_eq!(ids[0], expected, "trade ids");
    assert_eq!(ids[1], expected, "aggTrade ids");
    assert!(
        ids[2][5] > ids[2][4] + 3_000_000,
        "the depth update ids jump"
    );
    assert_eq!(
        breaks,
        vec![vec![5, 6]; 3],
        "a gap check sees the jump and the return"
    );
}

#[test]
fn coin_futures_connections_start_each_depth_stream_with_an_unknown_previous_update() {
    let faults = Faults {
        first_depth_pu_unknown: true,
        ..Faults::default()
    };
    let config = MockConfig::new()
        .rate(Rate::Unlimited)
        .coin_futures(true)
        .faults(faults);
    let exchange = start(config);
    let path = "/stream?streams=btcusd_perp@depth@100ms/btcusd_perp@aggTrade";
    for _ in 0..2 {
        let mut client = connect(&exchange, path);
        let depth: Vec<Value> = read_frames(&mut client, 20)
            .iter()
            .map(|frame| serde_json::from_str::<Value>(frame).unwrap())
            .filter(|frame| frame["stream"] == "btcusd_perp@depth@100ms")
            .map(|frame| frame["data"].clone())
            .collect();
        assert!(depth.len() >= 5, "{depth:?}");
        assert_eq!(depth[0]["pu"], -1, "{}", depth[0]);
        for pair in depth.windows(2) {
            assert_eq!(pair[1]["pu"], pair[0]["u"], "{} then {}", pair[0], pair[1]);
        }
        assert!(depth.iter().all(|event| event["ps"] == "BTCUSD"));
    }
}

#[test]
fn huge_frames_are_padded_to_the_size_asked_and_still_decode() {
    const SIZE: usize = 900_000;
    let faults = Faults {
        huge_frames: Some(SIZE),
        ..Faults::default()
    };
    let exchange = start(
        MockConfig::new()
            .rate(Rate::Unlimited)
            .count(3)
            .faults(faults),
    );
    let symbol: Symbol = "ETHUSDT".parse().unwrap();
    let raw = Decoder::new(&symbol, &[StreamKind::Trade]);
    let mut client = connect(&exchange, "/ws/ethusdt@trade");
    for (frame, id) in read_frames(&mut client, 3).iter().zip(1..) {
        assert_eq!(frame.len(), SIZE);
        match raw.decode(frame).unwrap() {
            (0, Event::Trade(trade)) => assert_eq!(trade.trade_id, id),
            (_, other) => panic!("{other:?}"),
        }
    }
    let kinds = [
        StreamKind::BookTicker,
        StreamKind::Depth(UpdateSpeed::Standard),
    ];
    let combined = Decoder::new(&symbol, &kinds);
    let mut client = connect(
        &exchange,
        "/stream?streams=ethusdt@bookTicker/ethusdt@depth",
    );
    let frames = read_frames(&mut client, 6);
    assert_eq!(frames.len(), 6);
    for frame in &frames {
        assert_eq!(frame.len(), SIZE);
        combined.decode(frame).unwrap();
    }
}

#[test]
fn all_sent_fires_once_every_stream_of_a_connection_has_sent_its_count() {
    let exchange = start(MockConfig::new().rate(Rate::Unlimited).count(5));
    let path = "/stream?streams=ethusdt@trade/ethusdt@bookTicker";
    let mut client = connect(&exchange, path);
    let (connection, reported, sent) = wait_for(exchange.events(), |event| match event {
        MockEvent::AllSent {
            connection,
            path,
            sent,
        } => Some((connection, path, sent)),
        _ => None,
    });
    assert_eq!((connection, reported.as_str(), sent), (1, path, 10));
    // The whole burst is at the client's socket: reading it does not wait for the mock.
    tcp(&client).set_read_timeout(Some(PATIENCE)).unwrap();
    assert_eq!(read_frames(&mut client, 10).len(), 10);
    // Streams that have sent everything already are done at once on a new connection.
    let _late = connect(&exchange, "/ws/ethusdt@trade");
    let late = wait_for(exchange.events(), |event| match event {
        MockEvent::AllSent {
            connection, sent, ..
        } => Some((connection, sent)),
        _ => None,
    });
    assert_eq!(late, (2, 0));
}

/// Starts an exchange with `faults`, brings one connection into the fault with `enter`
/// (which returns what must stay alive), and checks that shutdown ends it promptly.
fn assert_shutdown_is_prompt<T>(
    name: &str,
    faults: Faults,
    connects: bool,
    enter: impl FnOnce(&MockExchange) -> T,
) {
    let config = MockConfig::new()
        .rate(Rate::Unlimited)
        .ping_interval(Duration::from_millis(20))
        .faults(faults);
    let exchange = start(config);
    let events = exchange.events().clone();
    let held = enter(&exchange);
    let started = Instant::now();
    exchange.shutdown().unwrap();
    let took = started.elapsed();
    // Far below any of the faults' minute-long pauses, far above the ~50 ms it takes.
    assert!(took < PATIENCE, "{name}: shutdown took {took:?}");
    let ended = events
        .try_iter()
        .any(|event| matches!(event, MockEvent::Disconnected { .. }));
    assert_eq!(ended, connects, "{name}: Disconnected");
    drop(held);
}

/// Waits until the exchange's first connection has completed its upgrade.
fn connected(exchange: &MockExchange) {
    wait_for(exchange.events(), |event| {
        matches!(event, MockEvent::Connected { .. }).then_some(())
    });
}

#[test]
fn shutdown_ends_every_fault_in_progress_promptly() {
    let minute = Duration::from_secs(60);
    let trickle_handshake = Faults {
        trickle_handshake: Some((1, minute)),
        ..Faults::default()
    };
    assert_shutdown_is_prompt("trickled upgrade", trickle_handshake, false, |exchange| {
        let mut tcp = raw_upgrade(exchange, "/ws/ethusdt@trade");
        assert_eq!(tcp.read(&mut [0u8; 16]).unwrap(), 1);
        tcp
    });
    let trickle_frame = Faults {
        trickle_frame_after: Some((2, minute)),
        ..Faults::default()
    };
    assert_shutdown_is_prompt("trickled frame", trickle_frame, true, |exchange| {
        let mut client = connect(exchange, "/ws/ethusdt@trade");
        assert_eq!(read_frames(&mut client, 2).len(), 2);
        client
    });
    let half_closed = Faults {
        close_without_tcp_close_after: Some(0),
        ..Faults::default()
    };
    assert_shutdown_is_prompt("half-closed", half_closed, true, |exchange| {
        let mut client = connect(exchange, "/ws/ethusdt@trade");
        assert!(matches!(client.read(), Ok(Message::Close(_))));
        client
    });
    let violated = Faults {
        protocol_error_after: Some(0),
        ..Faults::default()
    };
    assert_shutdown_is_prompt("protocol error", violated, true, |exchange| {
        let mut client = connect(exchange, "/ws/ethusdt@trade");
        assert!(matches!(client.read(), Err(WsError::Protocol(_))));
        client
    });
    for (name, faults) in [
        (
            "silent",
            Faults {
                silent_after: Some(0),
                ..Faults::default()
            },
        ),
        (
            "stalled",
            Faults {
                stall_after_messages: Some(0),
                ..Faults::default()
            },
        ),
    ] {
        assert_shutdown_is_prompt(name, faults, true, |exchange| {
            let client = connect(exchange, "/ws/ethusdt@trade");
            connected(exchange);
            client
        });
    }
}
