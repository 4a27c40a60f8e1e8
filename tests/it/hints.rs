//! Errors that teach, at run time: a start where nothing can connect says, once, to check
//! the network or try `--simulate`.

use std::net::TcpListener;

use crate::support::{Listener, PATIENCE};

/// A loopback address and port where nothing listens: the port was free a moment ago, on
/// an address no test server binds (they bind 127.0.0.1), so it stays refused.
fn refusing_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.2:0").expect("127.0.0.2 is loopback");
    let port = listener.local_addr().expect("bound").port();
    format!("ws://127.0.0.2:{port}")
}

#[test]
fn a_start_that_cannot_connect_suggests_the_network_or_simulate() {
    let endpoint = refusing_endpoint();
    let host_port = endpoint.trim_start_matches("ws://").to_owned();
    let mut listener = Listener::start(&["--endpoint", &endpoint, "ETHUSDT", "BNBUSDT"]);
    let hint = listener.expect_stderr("--simulate");
    assert!(
        hint.contains(&format!(
            "no symbol has connected in 10s: cannot reach {host_port} ("
        )),
        "{hint}"
    );
    assert!(hint.contains("check the network"), "{hint}");
    listener.signal("INT");
    assert!(listener.expect_exit_within(PATIENCE).success());
    let stderr = listener.full_stderr();
    assert_eq!(stderr.matches("--simulate").count(), 1, "{stderr}");
}
