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
    /// With `--group`: a [`GroupRole`], written by the lease keeper.
    pub(crate) role: Counter,
    /// Whether the symbol belongs to a `--group` (set once, before any thread reads it).
    grouped: std::sync::atomic::AtomicBool,
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

impl BusCounters {
    /// Marks the symbol as shared by a group.
    pub(crate) fn mark_grouped(&self) {
        self.grouped
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the symbol is shared by a group.
    pub(crate) fn grouped(&self) -> bool {
        self.grouped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The symbol's role in the group now.
    pub(crate) fn group_role(&self) -> GroupRole {
        match self.role.get() {
            2 => GroupRole::Holding,
            1 => GroupRole::Standby,
            _ => GroupRole::Idle,
        }
    }
}

impl BusSnapshot {
    /// The summary line's part: `  nats acked 9 (already stored 2) retried 1 failed 0`.
    /// "Already stored", not "duplicates": the line's own `duplicates` are events the
    /// processor dropped, a different count.
    pub(crate) fn human(&self) -> String {
        format!(
            "  nats acked {} (already stored {}) retried {} failed {}",
            self.acked, self.duplicates, self.retried, self.failed
        )
    }
}

/// What a symbol is to this member of a `--group`, in [`BusCounters::role`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub(crate) enum GroupRole {
    /// Not running here.
    Idle = 0,
    /// Running, waiting to take a lease over.
    Standby = 1,
    /// Running under a lease held here.
    Holding = 2,
}

impl GroupRole {
    /// The word for `--stats`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Standby => "standby",
            Self::Holding => "holding",
        }
    }
}
