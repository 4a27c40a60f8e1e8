//! Hints for connection failures whose message alone does not show the cause. The one
//! here: the scheme does not match the server. `ws://` to a TLS server fails in the
//! WebSocket handshake (the server resets or answers our plain HTTP with a TLS alert, or
//! nginx says 400/497); `wss://` to a plain server fails in the TLS handshake (the server
//! closes on our ClientHello, or answers it with plain HTTP: "wrong version number").
//!
//! Pure: the caller describes the failure ([`Failure`]) and appends the hint, if any, to
//! its message. Meant to be called where a `ConnectError` is built or displayed
//! (`connect.rs`: the `Tls` variant when not a certificate failure, `Handshake`, and
//! `Rejected`).

// Until connect.rs calls it (its owner wires it in; see the module docs).

use binance_streams::Endpoint;

/// A failed attempt, as much as the hint needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure<'a> {
    /// The TLS handshake failed; the TLS library's reason.
    Tls(&'a str),
    /// The WebSocket handshake failed without an HTTP answer; its reason.
    Upgrade(&'a str),
    /// The server answered the upgrade with this HTTP status.
    Status(u16),
}

/// What TLS libraries say when the peer does not speak TLS (OpenSSL, Secure Transport,
/// SChannel), lower case.
const NOT_TLS_SIGNS: [&str; 10] = [
    "wrong version number",
    "unexpected eof",
    "packet length too long",
    "record layer failure",
    "http request",
    "unknown protocol",
    "bad record",
    "record overflow",
    "corrupt message",
    "badly formatted",
];

/// What a plain WebSocket handshake meets when the peer wants TLS, lower case.
const WANTS_TLS_SIGNS: [&str; 7] = [
    "connection reset",
    "unexpected eof",
    "unexpectedeof",
    "http format",
    "httparse",
    "handshake not finished",
    "without closing handshake",
];

/// Ports where a server is almost always TLS.
const TLS_PORTS: [u16; 3] = [443, 8443, 9443];

/// A clause to append to the failure's message when the scheme of `endpoint` probably
/// does not match the server's, e.g. `; is it a TLS server? try wss://localhost:9443`.
pub(crate) fn scheme_hint(endpoint: &Endpoint, failure: Failure<'_>) -> Option<String> {
    let host_port = endpoint.host_port();
    let says = |detail: &str, signs: &[&str]| {
        let detail = detail.to_ascii_lowercase();
        signs.iter().any(|sign| detail.contains(sign))
    };
    let tls_port = TLS_PORTS.contains(&endpoint.port());
    let mismatch = if endpoint.is_tls() {
        matches!(failure, Failure::Tls(detail) if says(detail, &NOT_TLS_SIGNS))
    } else {
        match failure {
            Failure::Upgrade(detail) => tls_port || says(detail, &WANTS_TLS_SIGNS),
            // nginx: 497 "HTTP request sent to HTTPS port", shown as 400 to clients.
            Failure::Status(497) => true,
            Failure::Status(400) => tls_port,
            Failure::Status(_) | Failure::Tls(_) => false,
        }
    };
    mismatch.then(|| {
        if endpoint.is_tls() {
            format!(
                "; the server does not seem to speak TLS: if it is a plain WebSocket server, use ws://{host_port}"
            )
        } else {
            format!("; is it a TLS server? try wss://{host_port}")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    fn endpoint(url: &str) -> Endpoint {
        url.parse().unwrap()
    }

    #[test]
    fn ws_to_a_tls_server_suggests_wss() {
        let plain = endpoint("ws://localhost:19443");
        // What tungstenite reports when the mock's TLS listener resets a plain handshake.
        let reset = Failure::Upgrade("IO error: Connection reset by peer (os error 104)");
        assert_eq!(
            scheme_hint(&plain, reset).as_deref(),
            Some("; is it a TLS server? try wss://localhost:19443")
        );
        assert!(
            scheme_hint(
                &plain,
                Failure::Upgrade("HTTP format error: invalid HTTP version")
            )
            .is_some()
        );
        assert!(scheme_hint(&plain, Failure::Status(497)).is_some());
        // On a conventional TLS port any failed upgrade, or a 400, is suspicious.
        let binance = endpoint("ws://stream.binance.com:9443");
        assert!(scheme_hint(&binance, Failure::Upgrade("no answer within 10s")).is_some());
        assert!(scheme_hint(&binance, Failure::Status(400)).is_some());
    }

    #[test]
    fn wss_to_a_plain_server_suggests_ws() {
        let tls = endpoint("wss://localhost:19080");
        // What native-tls (OpenSSL) reports when the mock's plain listener closes on it.
        assert_eq!(
            scheme_hint(&tls, Failure::Tls("unexpected EOF")).as_deref(),
            Some(
                "; the server does not seem to speak TLS: if it is a plain WebSocket server, use ws://localhost:19080"
            )
        );
        let answered_http = "error:0A00010B:SSL routines:ssl3_get_record:wrong version number";
        assert!(scheme_hint(&tls, Failure::Tls(answered_http)).is_some());
    }

    #[test]
    fn other_failures_get_no_scheme_hint() {
        let plain = endpoint("ws://127.0.0.1:9000");
        assert_eq!(scheme_hint(&plain, Failure::Status(400)), None);
        assert_eq!(scheme_hint(&plain, Failure::Status(429)), None);
        assert_eq!(
            scheme_hint(&plain, Failure::Upgrade("no answer within 10s")),
            None
        );
        let tls = endpoint("wss://localhost:9443");
        let untrusted = "certificate verify failed: self-signed certificate";
        assert_eq!(scheme_hint(&tls, Failure::Tls(untrusted)), None);
        assert_eq!(scheme_hint(&tls, Failure::Status(404)), None);
    }

    /// Against a real plain server that hangs up on the ClientHello: whatever this
    /// platform's TLS library calls it is recognised.
    #[test]
    fn this_platforms_tls_error_for_a_plain_server_is_recognised() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut hello = [0_u8; 512];
            let _ = socket.read(&mut hello);
            // A plain HTTP server's answer to bytes it cannot parse.
            let _ = std::io::Write::write_all(
                &mut socket,
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
            );
        });
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let connector = native_tls::TlsConnector::new().unwrap();
        let detail = match connector.connect("localhost", tcp) {
            Err(native_tls::HandshakeError::Failure(error)) => error.to_string(),
            other => panic!("expected a TLS failure, got {:?}", other.map(|_| ())),
        };
        server.join().unwrap();
        let tls = endpoint(&format!("wss://localhost:{port}"));
        assert!(
            scheme_hint(&tls, Failure::Tls(&detail)).is_some(),
            "not recognised: {detail:?}"
        );
    }
}
