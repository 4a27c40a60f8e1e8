//! The throughput scenario's sender: a WebSocket server that has encoded every frame
//! before anyone connects, so sending costs it almost nothing and the listener's rate is
//! not capped by a mock sharing its cores. It serves `count` ETHUSDT trades, ids 1 to
//! `count`, Binance-exact (`binance_mock::Feed`), to every connection whatever the path,
//! as unmasked server text frames written straight to the socket; then it stays quiet
//! until the client hangs up. Memory: about 140 bytes per trade.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use binance_mock::Feed;
use binance_streams::StreamKind;

/// Serves until the process exits (the caller waits on stdin). Prints the URL once every
/// frame is encoded.
pub(crate) fn serve(count: u64) {
    let wire = Arc::new(encode_trades(count));
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a loopback port");
    let address = listener.local_addr().expect("a bound address");
    println!("url ws://{address}");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let wire = Arc::clone(&wire);
            std::thread::spawn(move || send(stream, &wire));
        }
    });
}

/// Completes the handshake, writes every frame, then reads until the client hangs up.
fn send(stream: TcpStream, wire: &[u8]) {
    let _ = stream.set_nodelay(true);
    let Ok(mut socket) = tungstenite::accept(stream) else {
        return;
    };
    let stream = socket.get_mut();
    if stream.write_all(wire).is_err() {
        return;
    }
    let mut discard = [0u8; 4096];
    while matches!(stream.read(&mut discard), Ok(read) if read > 0) {}
}

/// `count` trades as WebSocket text frames, back to back.
fn encode_trades(count: u64) -> Vec<u8> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64);
    let mut feed = Feed::new("ETHUSDT", StreamKind::Trade, 1);
    let mut payload = String::new();
    let mut wire = Vec::with_capacity(count as usize * 140);
    for _ in 0..count {
        feed.next_payload(&mut payload, now_ms);
        frame_header(&mut wire, payload.len());
        wire.extend_from_slice(payload.as_bytes());
    }
    wire
}

/// A final, unmasked text frame's header for a payload of `len` bytes (RFC 6455 §5.2).
fn frame_header(out: &mut Vec<u8>, len: usize) {
    out.push(0x81);
    if len < 126 {
        out.push(len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}
