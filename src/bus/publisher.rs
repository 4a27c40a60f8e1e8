//! One symbol's publishing task, on the bus thread: takes the processor's batches, publishes
//! each line in order with its message id, and awaits JetStream's acknowledgements (many at
//! once, settled in order). A publish that is not acknowledged (the server is gone, restarting
//! or slow) is sent again with the same id after a pause, for as long as the run lasts: the
//! duplicate window makes a repeat harmless, and the symbol's window of unacknowledged lines
//! makes its processor wait, so its queue (not memory) absorbs an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::Subject;
use async_nats::jetstream::Context;
use async_nats::jetstream::context::{PublishAckFuture, PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use crossbeam_channel::Sender;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tracing::{Instrument, info, warn};

use super::output::NatsOutput;
use crate::control::stop::StopToken;
use crate::output::batch::{Delivered, LineTag};
use crate::stats::SymbolStats;

/// Where one stream's lines go and how their ids start.
pub(crate) struct StreamRoute {
    /// The stream's subject.
    pub(crate) subject: Subject,
    /// `<market>.<SYMBOL>.<stream>.`, completed by each event's id.
    pub(crate) id_prefix: String,
}

/// A processor's batch: its bytes, one tag per line.
pub(crate) struct Batch {
    pub(crate) bytes: Bytes,
    pub(crate) tags: Vec<LineTag>,
}

/// What became of one line.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Acknowledged (perhaps as a duplicate: the stream already had its id).
    Stored,
    /// Refused for good, or given up at the end of the run.
    Failed,
}

/// What every line's delivery shares.
#[derive(Clone)]
struct Shared {
    jetstream: Context,
    stats: Arc<SymbolStats>,
    /// Set by the output when it stops waiting at the end: retries end.
    abandoned: Arc<AtomicBool>,
    /// Whether an outage is in progress (logged once when it starts and once when it ends).
    retrying: Arc<AtomicBool>,
}

/// The task's state.
pub(crate) struct Publisher {
    shared: Shared,
    routes: Vec<StreamRoute>,
    marker_subject: Subject,
    batches: UnboundedReceiver<Batch>,
    settled: Sender<Delivered>,
    symbol: String,
}

/// The pause before sending line again: doubling from 250 ms to 2 s.
fn retry_pause(retries: u32) -> Duration {
    Duration::from_millis(250 * 2u64.pow(retries.min(3))).min(Duration::from_secs(2))
}

/// Whether a failed publish may succeed when sent again.
fn is_transient(error: &PublishError) -> bool {
    matches!(
        error.kind(),
        PublishErrorKind::TimedOut
            | PublishErrorKind::BrokenPipe
            | PublishErrorKind::StreamNotFound
            | PublishErrorKind::MaxAckPending
    )
}

impl Publisher {
    /// A task for `symbol` publishing to `routes` (one per stream, in the decoder's
    /// order; gap markers to `marker_subject`) and the processor's side of it.
    pub(crate) fn new(
        jetstream: Context,
        (routes, marker_subject): (Vec<StreamRoute>, Subject),
        stats: Arc<SymbolStats>,
        stop: StopToken,
        symbol: &str,
        describe: String,
        window: u64,
    ) -> (Self, NatsOutput) {
        let (batches_in, batches) = unbounded_channel();
        let (settled, settlements) = crossbeam_channel::unbounded();
        let abandoned = Arc::new(AtomicBool::new(false));
        let publisher = Self {
            shared: Shared {
                jetstream,
                stats,
                abandoned: Arc::clone(&abandoned),
                retrying: Arc::new(AtomicBool::new(false)),
            },
            routes,
            marker_subject,
            batches,
            settled,
            symbol: symbol.to_owned(),
        };
        let output = NatsOutput::new(batches_in, settlements, abandoned, stop, describe, window);
        (publisher, output)
    }

    /// Runs until the processor closes its side and every line is settled.
    pub(crate) async fn run(self) {
        let span = tracing::info_span!("publisher", symbol = %self.symbol);
        self.publish_all().instrument(span).await;
    }

    async fn publish_all(mut self) {
        let mut pending: FuturesOrdered<BoxFuture<'static, Outcome>> = FuturesOrdered::new();
        let mut open = true;
        while open || !pending.is_empty() {
            let mut settled = Settlement::default();
            tokio::select! {
                biased;
                Some(outcome) = pending.next(), if !pending.is_empty() => {
                    settled.add(outcome);
                    // Settle every acknowledgement already in, in one message.
                    while let Some(Some(outcome)) = pending.next().now_or_never() {
                        settled.add(outcome);
                    }
                }
                batch = self.batches.recv(), if open => match batch {
                    Some(batch) => self.publish_batch(batch, &mut pending).await,
                    None => open = false,
                },
            }
            settled.send(&self.settled);
        }
    }

    /// Publishes each line of `batch` in order (without its newline); their
    /// acknowledgements join `pending`.
    async fn publish_batch(
        &self,
        batch: Batch,
        pending: &mut FuturesOrdered<BoxFuture<'static, Outcome>>,
    ) {
        let mut start = 0;
        for tag in batch.tags {
            let end = batch.bytes[start..]
                .iter()
                .position(|&byte| byte == b'\n')
                .map(|offset| start + offset);
            let Some(end) = end else {
                // Fewer lines than tags: cannot happen with whole-line batches; settle the
                // line lost rather than publish a torn one.
                pending.push_back(async { Outcome::Failed }.boxed());
                continue;
            };
            let payload = batch.bytes.slice(start..end);
            start = end + 1;
            let (subject, id) = match self.routes.get(usize::from(tag.stream)) {
                Some(route) if !tag.is_marker() => (
                    route.subject.clone(),
                    tag.id.map(|id| format!("{}{id}", route.id_prefix)),
                ),
                _ => (self.marker_subject.clone(), None),
            };
            let message = Message { payload, id };
            let sent = self
                .shared
                .jetstream
                .send_publish(subject.clone(), message.build())
                .await;
            pending.push_back(deliver(self.shared.clone(), subject, message, sent).boxed());
        }
    }
}

/// One line as published: kept to be sent again (the payload is a slice of the batch).
struct Message {
    payload: Bytes,
    id: Option<String>,
}

impl Message {
    fn build(&self) -> PublishMessage {
        let message = PublishMessage::build().payload(self.payload.clone());
        match &self.id {
            Some(id) => message.message_id(id),
            None => message,
        }
    }
}

/// Awaits one line's acknowledgement, sending it again while the failure is transient.
async fn deliver(
    shared: Shared,
    subject: Subject,
    message: Message,
    first: Result<PublishAckFuture, PublishError>,
) -> Outcome {
    let mut sent = first;
    let mut retries = 0;
    loop {
        let result = match sent {
            Ok(ack) => ack.await,
            Err(error) => Err(error),
        };
        match result {
            Ok(ack) => {
                if let Some(bus) = &shared.stats.bus {
                    bus.acked.add(1);
                    if ack.duplicate {
                        bus.duplicates.add(1);
                    }
                }
                if retries > 0 && shared.retrying.swap(false, Ordering::Relaxed) {
                    info!("NATS acknowledges publishes again");
                }
                return Outcome::Stored;
            }
            Err(error) if is_transient(&error) && !shared.abandoned.load(Ordering::Relaxed) => {
                if !shared.retrying.swap(true, Ordering::Relaxed) {
                    warn!(
                        "publishes to NATS are not acknowledged ({error}): sending them again until they are; meanwhile the symbol's queue takes the wait"
                    );
                }
                if let Some(bus) = &shared.stats.bus {
                    bus.retried.add(1);
                }
                tokio::time::sleep(retry_pause(retries)).await;
                retries += 1;
                sent = shared
                    .jetstream
                    .send_publish(subject.clone(), message.build())
                    .await;
            }
            Err(error) => {
                if let Some(bus) = &shared.stats.bus {
                    bus.failed.add(1);
                }
                if !shared.abandoned.load(Ordering::Relaxed) {
                    warn!("NATS refused a line on {subject}: {error}");
                }
                return Outcome::Failed;
            }
        }
    }
}

/// Outcomes gathered between two messages to the processor, in line order.
#[derive(Default)]
struct Settlement {
    chunks: Vec<Delivered>,
}

impl Settlement {
    fn add(&mut self, outcome: Outcome) {
        let (written, lost) = match outcome {
            Outcome::Stored => (1, 0),
            Outcome::Failed => (0, 1),
        };
        match self.chunks.last_mut() {
            // A written line after a lost one starts a new chunk: each chunk settles its
            // written lines before its lost ones.
            Some(last) if !(last.lost > 0 && written > 0) => {
                last.written += written;
                last.lost += lost;
            }
            _ => self.chunks.push(Delivered { written, lost }),
        }
    }

    fn send(self, to: &Sender<Delivered>) {
        for chunk in self.chunks {
            let _ = to.send(chunk);
        }
    }
}
