//! What the NATS output did per symbol: publishes acknowledged (and of those, duplicates
//! JetStream already held), sent again, and failed. Written by the bus thread only.

use serde::Serialize;

use super::Counter;

/// Counters of the NATS output (`--nats`).
#[derive(Debug, Default)]
#[repr(align(64))]
pub(crate) struct BusCounters {
    /// Publishes JetStream acknowledged.
    pub(crate) acked: Counter,
    /// Of those, the ones it already held (same message id, from a peer or an earlier try).
    pub(crate) duplicates: Counter,
    /// Publishes sent again after a timeout or a lost server.
    pub(crate) retried: Counter,
    /// Publishes refused for good, or given up at the end of the run.
    pub(crate) failed: Counter,
}

/// The bus counters read once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub(crate) struct BusSnapshot {
    /// Publishes acknowledged.
    pub(crate) acked: u64,
    /// Of those, already stored.
    pub(crate) duplicates: u64,
    /// Publishes sent again.
    pub(crate) retried: u64,
    /// Publishes that failed.
    pub(crate) failed: u64,
}

impl BusCounters {
    /// Reads every counter once.
    pub(crate) fn snapshot(&self) -> BusSnapshot {
        BusSnapshot {
            acked: self.acked.get(),
            duplicates: self.duplicates.get(),
            retried: self.retried.get(),
            failed: self.failed.get(),
        }
    }
}

impl BusSnapshot {
    /// The summary line's part: `  nats acked 9 (duplicates 2) retried 1 failed 0`.
    pub(crate) fn human(&self) -> String {
        format!(
            "  nats acked {} (duplicates {}) retried {} failed {}",
            self.acked, self.duplicates, self.retried, self.failed
        )
    }
}
