//! A hint for a start that goes nowhere. When no symbol has connected
//! [`HINT_AFTER`] into the run, a watcher thread (`start-watch`) checks the endpoint itself,
//! once: it resolves the host and opens (and closes) one TCP connection. If either fails,
//! every symbol is failing for the same reason, and one log line says so and suggests
//! checking the network or trying `--simulate`. A host that resolves and accepts TCP gets
//! no such line: the readers' own warnings name the problem (TLS, HTTP status, ...).
//!
//! It reads only the symbols' connection counters, so it needs nothing from the readers.
//! Once any symbol has connected, or the run ends, it does nothing more.

use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tracing::warn;

use binance_streams::Endpoint;

use crate::control::stop::StopToken;
use crate::stats::SymbolStats;
use crate::util::duration::format_duration;

/// How long a start may go without any connection before the endpoint is checked.
pub(super) const HINT_AFTER: Duration = Duration::from_secs(10);

/// The check's own TCP connect timeout, per address.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the check found.
#[derive(Debug)]
pub(super) enum Probe {
    /// The host name did not resolve.
    Unresolvable(io::Error),
    /// No address of the host accepted a TCP connection.
    Unreachable(io::Error),
    /// TCP works: whatever fails is above it.
    Reachable,
}

/// The watcher; [`StartWatch::stop`] ends it.
pub(super) struct StartWatch {
    stop: StopToken,
}

impl StartWatch {
    /// Starts watching `stats` (every symbol's counters) for a first connection to
    /// `endpoint`.
    ///
    /// # Errors
    /// The thread could not be started (the run goes on without the hint).
    pub(super) fn spawn(endpoint: Endpoint, stats: Vec<Arc<SymbolStats>>) -> io::Result<Self> {
        let stop = StopToken::new();
        let token = stop.clone();
        thread::Builder::new()
            .name("start-watch".to_owned())
            .spawn(move || {
                let connected = || stats.iter().any(|s| s.reader.connects.get() > 0);
                if !token.sleep(HINT_AFTER) || connected() {
                    return;
                }
                let probe = probe(&endpoint);
                if token.is_triggered() || connected() {
                    return;
                }
                if let Some(hint) = hint(&endpoint, &probe) {
                    warn!("{hint}");
                }
            })?;
        Ok(Self { stop })
    }

    /// Ends the watch. The thread is not joined: it may be inside a DNS lookup, and it
    /// prints nothing once stopped.
    pub(super) fn stop(self) {
        self.stop.trigger();
    }
}

/// Resolves `endpoint`'s host and tries a TCP connection to its addresses.
pub(super) fn probe(endpoint: &Endpoint) -> Probe {
    let addresses: Vec<SocketAddr> = match (endpoint.host(), endpoint.port()).to_socket_addrs() {
        Ok(addresses) => addresses.collect(),
        Err(error) => return Probe::Unresolvable(error),
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address found");
    for address in addresses {
        match TcpStream::connect_timeout(&address, PROBE_TIMEOUT) {
            Ok(_) => return Probe::Reachable,
            Err(error) => last = error,
        }
    }
    Probe::Unreachable(last)
}

/// The line for `probe`, if it found the network at fault.
pub(super) fn hint(endpoint: &Endpoint, probe: &Probe) -> Option<String> {
    let why = match probe {
        Probe::Unresolvable(error) => format!("cannot resolve {} ({error})", endpoint.host()),
        Probe::Unreachable(error) => format!("cannot reach {} ({error})", endpoint.host_port()),
        Probe::Reachable => return None,
    };
    Some(format!(
        "no symbol has connected in {}: {why}; check the network (DNS, firewall, proxy), or try --simulate to see binance-listen work without one",
        format_duration(HINT_AFTER)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_closed_port_is_unreachable_and_gets_the_hint() {
        // Free a moment ago, on an address no test server binds: it stays refused.
        let port = {
            let listener = TcpListener::bind("127.0.0.2:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let endpoint: Endpoint = format!("ws://127.0.0.2:{port}").parse().unwrap();
        let probe = probe(&endpoint);
        assert!(matches!(probe, Probe::Unreachable(_)), "{probe:?}");
        let line = hint(&endpoint, &probe).unwrap();
        assert!(
            line.starts_with(&format!(
                "no symbol has connected in 10s: cannot reach 127.0.0.2:{port} ("
            )),
            "{line}"
        );
        assert!(line.ends_with("or try --simulate to see binance-listen work without one"));
    }

    #[test]
    fn a_listening_port_is_reachable_and_gets_no_hint() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let endpoint: Endpoint = format!("ws://127.0.0.1:{port}").parse().unwrap();
        let probe = probe(&endpoint);
        assert!(matches!(probe, Probe::Reachable), "{probe:?}");
        assert_eq!(hint(&endpoint, &probe), None);
    }

    #[test]
    fn an_unresolvable_host_names_the_host() {
        let endpoint: Endpoint = "wss://stream.binance.invalid:9443".parse().unwrap();
        let probe = Probe::Unresolvable(io::Error::other("Name or service not known"));
        assert_eq!(
            hint(&endpoint, &probe).unwrap(),
            "no symbol has connected in 10s: cannot resolve stream.binance.invalid (Name or service not known); check the network (DNS, firewall, proxy), or try --simulate to see binance-listen work without one"
        );
    }
}
