//! The snapshot workers (`snapshot-N`): a few threads per run that fetch depth snapshots
//! for every symbol's book, so a processor never blocks on the network: it sends a
//! [`SnapshotRequest`], keeps buffering diff updates, and takes the [`SnapshotReply`] from
//! its own channel when it comes. All workers spend one [`WeightBudget`]; a 429/418 holds
//! every symbol's requests until `Retry-After` has passed, then the request is retried.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};
use tracing::{info, warn};

use super::budget::{Permit, WeightBudget, WeightRules, unix_secs};
use super::rest::{DepthSnapshot, FetchError, SnapshotClient};
use crate::control::stop::StopToken;

/// Workers fetching snapshots at once; more would only queue on the weight budget.
const MAX_WORKERS: usize = 4;

/// Stack for a worker: ureq and a parsed snapshot need little.
const WORKER_STACK_BYTES: usize = 512 * 1024;

/// A symbol's request for a snapshot.
#[derive(Debug)]
pub(crate) struct SnapshotRequest {
    /// The symbol, as the REST API spells it (uppercase).
    pub(crate) symbol: String,
    /// Where the answer goes: the processor's own channel.
    pub(crate) reply: Sender<SnapshotReply>,
}

/// The answer to a [`SnapshotRequest`].
#[derive(Debug)]
pub(crate) enum SnapshotReply {
    /// The snapshot, and the depth asked for (a side with that many levels was cut).
    Fetched(DepthSnapshot, usize),
    /// It could not be had (not a 429/418, which is waited out and retried).
    Failed(String),
}

/// Sends snapshot requests to the workers; cloned into each book processor.
#[derive(Debug, Clone)]
pub(crate) struct Snapshots {
    requests: Sender<SnapshotRequest>,
}

impl Snapshots {
    /// Asks for `symbol`'s snapshot; the reply comes on `reply`. `false` if the workers are
    /// gone (the run is stopping).
    pub(crate) fn request(&self, symbol: &str, reply: &Sender<SnapshotReply>) -> bool {
        self.requests
            .send(SnapshotRequest {
                symbol: symbol.to_owned(),
                reply: reply.clone(),
            })
            .is_ok()
    }
}

/// Starts the workers for `symbols` books of one market. They end when every
/// [`Snapshots`] is dropped, or at `stop`.
///
/// # Errors
/// The OS refused to create a thread.
pub(crate) fn spawn_snapshot_workers(
    client: SnapshotClient,
    rules: WeightRules,
    symbols: usize,
    stop: &StopToken,
) -> std::io::Result<Snapshots> {
    let limit = rules.snapshot_limit(symbols);
    let weight = rules.snapshot_weight(limit);
    info!(
        "order books: snapshots of {limit} levels, weight {weight} each, within {} weight a minute",
        rules.limit_per_minute
    );
    let (requests, inbox) = unbounded();
    let client = Arc::new(client);
    let budget = Arc::new(Mutex::new(WeightBudget::new(rules)));
    for index in 0..symbols.clamp(1, MAX_WORKERS) {
        let worker = Worker {
            client: Arc::clone(&client),
            budget: Arc::clone(&budget),
            inbox: inbox.clone(),
            stop: stop.clone(),
            limit,
            weight,
        };
        thread::Builder::new()
            .name(format!("snapshot-{index}"))
            .stack_size(WORKER_STACK_BYTES)
            .spawn(move || worker.run())?;
    }
    Ok(Snapshots { requests })
}

struct Worker {
    client: Arc<SnapshotClient>,
    budget: Arc<Mutex<WeightBudget>>,
    inbox: Receiver<SnapshotRequest>,
    stop: StopToken,
    limit: usize,
    weight: u64,
}

impl Worker {
    fn run(self) {
        while let Ok(request) = self.inbox.recv() {
            let Some(reply) = self.serve(&request.symbol) else {
                return;
            };
            // A processor that stopped meanwhile no longer listens: fine.
            let _ = request.reply.send(reply);
        }
    }

    /// Fetches one snapshot within the budget, waiting out 429/418; `None` at a stop.
    fn serve(&self, symbol: &str) -> Option<SnapshotReply> {
        loop {
            if self.stop.is_triggered() {
                return None;
            }
            let permit = self
                .budget
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .request(self.weight, Instant::now(), unix_secs());
            if let Permit::WaitUntil(until) = permit {
                let wait = until.saturating_duration_since(Instant::now());
                if !self.stop.sleep(wait.max(Duration::from_millis(1))) {
                    return None;
                }
                continue;
            }
            match self.client.fetch(symbol, self.limit) {
                Ok(fetched) => {
                    if let Some(used) = fetched.used_weight {
                        self.budget
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .server_used(used, unix_secs());
                    }
                    return Some(SnapshotReply::Fetched(fetched.snapshot, self.limit));
                }
                Err(FetchError::Limited {
                    status,
                    retry_after,
                }) => {
                    warn!(
                        "snapshot of {symbol}: HTTP {status}, no snapshot requests for {} s (Retry-After)",
                        retry_after.as_secs()
                    );
                    self.budget
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .back_off(Instant::now(), retry_after);
                }
                Err(FetchError::Failed(why)) => return Some(SnapshotReply::Failed(why)),
            }
        }
    }
}
