//! A real `nats-server -js` for the bus tests (`$NATS_SERVER` picks another binary, e.g. a
//! newer release): on 127.0.0.1, a port of its own choosing, a store in a temp dir; stopped (and restartable on the same port and store) by the test,
//! killed on drop. Without the server installed a test is skipped with a loud notice, or
//! fails when `CI` is set (CI installs it: `.ci/run`).
//!
//! Also reads back what a stream holds, with async-nats, so tests check storage directly
//! and not through the listener's own `tail`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig};
use crossbeam_channel::unbounded;
use futures_util::StreamExt;

use super::{PATIENCE, TempDir};

/// A running `nats-server -js`.
pub(crate) struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: TempDir,
}

/// One stored message.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) subject: String,
    pub(crate) id: Option<String>,
    pub(crate) payload: String,
}

impl NatsServer {
    /// Starts a server, or returns `None` (after saying so loudly) when `nats-server` is not
    /// installed. With `CI` set a missing server fails the test instead.
    pub(crate) fn start(test: &str) -> Option<Self> {
        if Command::new(server_binary())
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            let notice = format!(
                "SKIPPED {test}: nats-server is not installed (Debian: apt-get install nats-server; .ci/run installs it)"
            );
            assert!(std::env::var_os("CI").is_none(), "{notice}, and CI is set");
            // Straight to the process's stderr: the test harness captures `eprintln!` of
            // passing tests, and a skip must be seen.
            let _ = writeln!(std::io::stderr(), "\n*** {notice} ***\n");
            return None;
        }
        let store = TempDir::new();
        let (child, port) = spawn(&store, None);
        Some(Self {
            child: Some(child),
            port,
            store,
        })
    }

    /// The URL for `--nats`.
    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (as a crash would), keeping its store.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the same store.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let (child, _) = spawn(&self.store, Some(self.port));
        self.child = Some(child);
    }

    /// How many messages `stream` holds (0 before it exists).
    pub(crate) fn count(&self, stream: &str) -> u64 {
        let url = self.url();
        let stream = stream.to_owned();
        block_on(async move {
            let client = async_nats::connect(url)
                .await
                .expect("test client connects");
            match jetstream::new(client).get_stream(&stream).await {
                Ok(mut stream) => stream.info().await.map_or(0, |info| info.state.messages),
                Err(_) => 0,
            }
        })
    }

    /// Every message `stream` holds, in stream order.
    pub(crate) fn stored(&self, stream: &str) -> Vec<Stored> {
        let url = self.url();
        let stream = stream.to_owned();
        block_on(async move {
            let client = async_nats::connect(url)
                .await
                .expect("test client connects");
            let jetstream = jetstream::new(client);
            let mut stream = jetstream.get_stream(&stream).await.expect("stream exists");
            let count = stream.info().await.expect("stream info").state.messages;
            let consumer = stream
                .create_consumer(OrderedConfig::default())
                .await
                .expect("consumer");
            let mut messages = consumer.messages().await.expect("messages");
            let mut stored = Vec::new();
            while (stored.len() as u64) < count {
                let message = tokio::time::timeout(PATIENCE, messages.next())
                    .await
                    .expect("stored messages arrive in time")
                    .expect("stream open")
                    .expect("message");
                stored.push(Stored {
                    subject: message.subject.to_string(),
                    id: message
                        .headers
                        .as_ref()
                        .and_then(|headers| headers.get("Nats-Msg-Id"))
                        .map(|id| id.to_string()),
                    payload: String::from_utf8_lossy(&message.payload).into_owned(),
                });
            }
            stored
        })
    }

    /// Creates `stream` storing `subjects` (to set up a stream the listener must refuse).
    pub(crate) fn create_stream(&self, stream: &str, subjects: &[&str]) {
        let url = self.url();
        let config = jetstream::stream::Config {
            name: stream.to_owned(),
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        block_on(async move {
            let client = async_nats::connect(url)
                .await
                .expect("test client connects");
            jetstream::new(client)
                .create_stream(config)
                .await
                .expect("stream created");
        });
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs `future` to completion on a runtime of its own.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("test runtime")
        .block_on(future)
}

/// The server to run: `$NATS_SERVER` (to test against another version), else `nats-server`
/// from `PATH`.
fn server_binary() -> std::ffi::OsString {
    std::env::var_os("NATS_SERVER").unwrap_or_else(|| "nats-server".into())
}

/// Starts `nats-server -js` on `port` (or one of its choosing) and waits until it is ready;
/// returns it and its port.
fn spawn(store: &TempDir, port: Option<u16>) -> (Child, u16) {
    let port_arg = port.map_or_else(|| "-1".to_owned(), |port| port.to_string());
    let store_dir = store.path_of("js");
    let mut child = Command::new(server_binary())
        .args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
        .arg(&store_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nats-server starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let (ready, is_ready) = unbounded();
    std::thread::spawn(move || {
        let mut port = None;
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest
                    .rsplit(':')
                    .next()
                    .and_then(|port| port.trim().parse::<u16>().ok());
            }
            if line.contains("Server is ready") {
                let _ = ready.send(port);
            }
        }
    });
    match is_ready.recv_timeout(PATIENCE) {
        Ok(Some(found)) => (child, found),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("nats-server did not become ready within {PATIENCE:?}");
        }
    }
}
