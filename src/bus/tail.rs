//! `binance-listen tail --nats URL [SYMBOL…] [--stream KIND] [--since DURATION] [--follow]`:
//! prints the lines a group of listeners stored, in stream order (so in order per subject),
//! one per line, for `jq` on any machine. Without `--follow` it stops once it has printed
//! everything stored when it started; with it, it waits for more.
//!
//! It reads through an ordered consumer (ephemeral, flow-controlled, recreated by the
//! client after a gap), filtered on the server by the subject filter the request allows and
//! on the client by the exact symbols and streams asked for (a 2.9 server takes one filter).

use std::collections::HashSet;
use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::ServerAddr;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::{self, context::GetStreamErrorKind};
use futures_util::StreamExt;

use super::subject::SubjectTemplate;

/// What to print.
#[derive(Debug, Clone)]
pub(crate) struct TailRequest {
    /// The servers.
    pub(crate) servers: Vec<ServerAddr>,
    /// The subject template the listeners used.
    pub(crate) subject: SubjectTemplate,
    /// The stream they stored into.
    pub(crate) stream: String,
    /// The market's name (`spot`), if only one is wanted.
    pub(crate) market: Option<String>,
    /// Symbols, uppercase; empty for all.
    pub(crate) symbols: Vec<String>,
    /// Stream names (`trade`, `depth@100ms`); empty for all.
    pub(crate) streams: Vec<String>,
    /// Only lines stored this recently.
    pub(crate) since: Option<Duration>,
    /// Keep waiting for new lines.
    pub(crate) follow: bool,
}

/// Why `tail` stopped early.
#[derive(Debug)]
pub(crate) enum TailError {
    /// The server or stream cannot be used (status 1).
    Failed(String),
}

/// Runs `tail`; returns how many lines it printed.
///
/// # Errors
/// No server answers, or the stream does not exist.
pub(crate) fn run(request: TailRequest) -> Result<u64, TailError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| TailError::Failed(format!("cannot start the NATS client: {error}")))?;
    runtime.block_on(tail(request))
}

async fn tail(request: TailRequest) -> Result<u64, TailError> {
    let servers: Vec<String> = request
        .servers
        .iter()
        .map(|server| server.as_url_str().to_owned())
        .collect();
    let client = async_nats::ConnectOptions::new()
        .name("binance-listen tail")
        .connection_timeout(Duration::from_secs(5))
        .connect(request.servers.clone())
        .await
        .map_err(|error| {
            TailError::Failed(format!(
                "cannot connect to NATS at {}: {error}",
                servers.join(",")
            ))
        })?;
    let jetstream = jetstream::new(client);
    let stream = jetstream
        .get_stream(&request.stream)
        .await
        .map_err(|error| match error.kind() {
            GetStreamErrorKind::JetStream(_) => TailError::Failed(format!(
                "no stream {} at {}: nothing was stored there yet (listen with --nats first, or name the stream with --nats-stream)",
                request.stream,
                servers.join(",")
            )),
            _ => TailError::Failed(format!("cannot read stream {}: {error}", request.stream)),
        })?;
    let only = |values: &[String]| match values {
        [one] => Some(one.clone()),
        _ => None,
    };
    let filter = request.subject.filter_for(
        request.market.as_deref(),
        only(&request.streams).as_deref(),
        only(&request.symbols).as_deref(),
    );
    let deliver_policy = match request.since {
        Some(since) => DeliverPolicy::ByStartTime {
            start_time: start_time(since)?,
        },
        None => DeliverPolicy::All,
    };
    let mut consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: filter,
            deliver_policy,
            ..OrderedConfig::default()
        })
        .await
        .map_err(|error| {
            TailError::Failed(format!("cannot read stream {}: {error}", request.stream))
        })?;
    let pending = consumer
        .info()
        .await
        .map(|info| info.num_pending)
        .map_err(|error| {
            TailError::Failed(format!("cannot read stream {}: {error}", request.stream))
        })?;
    let mut printed = 0;
    if pending == 0 && !request.follow {
        return Ok(printed);
    }
    let wanted = Wanted::new(&request);
    let mut messages = consumer.messages().await.map_err(|error| {
        TailError::Failed(format!("cannot read stream {}: {error}", request.stream))
    })?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    while let Some(message) = messages.next().await {
        let message = message.map_err(|error| {
            TailError::Failed(format!("reading stream {}: {error}", request.stream))
        })?;
        let caught_up = message.info().is_ok_and(|info| info.pending == 0);
        if wanted.matches(&request.subject, message.subject.as_str()) {
            let written = out
                .write_all(&message.payload)
                .and_then(|()| out.write_all(b"\n"));
            if written.is_err() {
                // The reader went away (`| head`): a normal end.
                return Ok(printed);
            }
            printed += 1;
        }
        if caught_up && (out.flush().is_err() || !request.follow) {
            return Ok(printed);
        }
    }
    let _ = out.flush();
    Ok(printed)
}

/// The wall-clock time `since` ago.
fn start_time(since: Duration) -> Result<async_nats::datetime::DateTime, TailError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(since);
    async_nats::datetime::from_nanos(i128::try_from(now.as_nanos()).unwrap_or(0))
        .map_err(|error| TailError::Failed(format!("invalid --since: {error}")))
}

/// The symbols and streams asked for, checked against each subject.
struct Wanted {
    symbols: HashSet<String>,
    streams: HashSet<String>,
}

impl Wanted {
    fn new(request: &TailRequest) -> Self {
        Self {
            symbols: request.symbols.iter().cloned().collect(),
            streams: request.streams.iter().cloned().collect(),
        }
    }

    fn matches(&self, template: &SubjectTemplate, subject: &str) -> bool {
        let Some((_, stream, symbol)) = template.parts(subject) else {
            return false;
        };
        (self.symbols.is_empty() || self.symbols.contains(symbol))
            && (self.streams.is_empty() || self.streams.contains(stream))
    }
}
