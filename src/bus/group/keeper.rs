//! The lease keeper: one task on the bus thread that, every quarter lease, announces this
//! member, reads who else is alive, works out which symbols it should hold (rendezvous over
//! the live members listing each symbol) and acts:
//!
//! - **holding** a lease: renews it (compare-and-set on its revision); a lease it cannot
//!   renew is lost and the symbol stops at once, as it does when renewals fail for a whole
//!   lease time (the lease has expired and someone else may hold it);
//! - **should hold, slot free**: takes it (create-if-absent) and starts the symbol;
//! - **should hold, slots taken**: starts the symbol anyway (make) and, once connected,
//!   says so in `want.<SYMBOL>`; a holder that should no longer hold hands over only then
//!   (break), so a handover stores no duplicate (same message ids) and leaves no gap;
//! - **should not hold**: keeps a held lease until a rightful member is running, stops a
//!   standby start.
//!
//! A member that dies stops renewing: its announcement and leases expire after one lease
//! time, and the members that should now hold its symbols take them.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv::{self, Store, Watch};
use binance_streams::Symbol;
use bytes::Bytes;
use crossbeam_channel::Sender;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tracing::{info, warn};

use super::rendezvous::holders;
use crate::control::events::AppEvent;
use crate::stats::SymbolStats;
use crate::stats::bus::GroupRole;

/// What one symbol is to this member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Not running here.
    Idle,
    /// Running without a lease, waiting for one (a handover or an expiring lease);
    /// `connects` is the reader's count when it started.
    Standby { connects: u64 },
    /// Holding lease slot `slot` at `revision`, last renewed at `renewed`.
    Holding {
        slot: usize,
        revision: u64,
        renewed: Instant,
    },
}

/// One configured symbol.
struct Entry {
    symbol: Symbol,
    stats: Arc<SymbolStats>,
    role: Role,
}

/// The keeper's state.
pub(crate) struct Keeper {
    pub(crate) kv: Store,
    pub(crate) me: String,
    pub(crate) replicas: usize,
    pub(crate) lease: Duration,
    pub(crate) events: Sender<AppEvent>,
    /// Symbols whose pipeline failed here: released and no longer offered.
    pub(crate) failed: Arc<Mutex<HashSet<Symbol>>>,
    pub(crate) stop: Arc<Notify>,
    entries: Vec<Entry>,
    /// Whether the last tick could not reach the bucket (reported once per outage).
    unreachable: bool,
    /// The members known to be alive, and the symbols each offers.
    known: HashMap<String, HashSet<String>>,
    /// Whether this member has announced itself once (and so had a round to learn the
    /// others from the watch).
    announced: bool,
}

impl Keeper {
    /// A keeper for `symbols` (with their counters).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        kv: Store,
        me: String,
        replicas: usize,
        lease: Duration,
        symbols: Vec<(Symbol, Arc<SymbolStats>)>,
        events: Sender<AppEvent>,
        failed: Arc<Mutex<HashSet<Symbol>>>,
        stop: Arc<Notify>,
    ) -> Self {
        Self {
            kv,
            me,
            replicas,
            lease,
            events,
            failed,
            stop,
            entries: symbols
                .into_iter()
                .inspect(|(_, stats)| {
                    if let Some(bus) = &stats.bus {
                        bus.mark_grouped();
                    }
                })
                .map(|(symbol, stats)| Entry {
                    symbol,
                    stats,
                    role: Role::Idle,
                })
                .collect(),
            unreachable: false,
            known: HashMap::new(),
            announced: false,
        }
    }

    /// Keeps leases until told to stop; then hands every lease back at once, so the
    /// others take over within a tick rather than a lease time.
    pub(crate) async fn run(mut self) {
        let tick = (self.lease / 4).max(Duration::from_millis(100));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut watch: Option<Watch> = None;
        loop {
            if watch.is_none() {
                // Announcements, current and new; expiries are not announced, so each
                // tick checks the members it knows (see `members`).
                watch = self
                    .bounded(self.kv.watch_with_history(format!("{MEMBER_PREFIX}>")))
                    .await
                    .and_then(|watch| watch.ok());
            }
            tokio::select! {
                () = self.stop.notified() => break,
                _ = interval.tick() => self.tick().await,
                entry = next_entry(&mut watch) => match entry {
                    Some(entry) => self.learn(&entry),
                    None => watch = None,
                },
            }
        }
        self.leave().await;
    }

    /// Runs one bucket operation, giving up after a quarter lease: a tick never stalls.
    async fn bounded<F: std::future::Future>(&self, operation: F) -> Option<F::Output> {
        tokio::time::timeout((self.lease / 4).max(Duration::from_millis(250)), operation)
            .await
            .ok()
    }

    /// Takes in one announcement (or a member's departure).
    fn learn(&mut self, entry: &kv::Entry) {
        let Some(member) = entry.key.strip_prefix(MEMBER_PREFIX) else {
            return;
        };
        match entry.operation {
            kv::Operation::Put => {
                let symbols = String::from_utf8_lossy(&entry.value)
                    .lines()
                    .map(str::to_owned)
                    .collect();
                self.known.insert(member.to_owned(), symbols);
            }
            kv::Operation::Delete | kv::Operation::Purge => {
                self.known.remove(member);
            }
        }
    }

    /// One round: announce, read the members, act on every symbol.
    async fn tick(&mut self) {
        self.fence_expired();
        let offered = self.offered();
        let announced = self
            .bounded(
                self.kv
                    .put(member_key(&self.me), Bytes::from(offered.join("\n"))),
            )
            .await;
        let members = match announced {
            Some(Ok(_)) => Ok(self.members(&offered).await),
            Some(Err(error)) => Err(error.to_string()),
            None => Err("timed out".to_owned()),
        };
        let members = match members {
            Ok(members) => {
                if self.unreachable {
                    info!("the group's bucket is reachable again");
                    self.unreachable = false;
                }
                members
            }
            Err(error) => {
                if !self.unreachable {
                    warn!(
                        "cannot reach the group's bucket ({error}): keeping the symbols held for up to one lease time"
                    );
                    self.unreachable = true;
                }
                return;
            }
        };
        if !std::mem::replace(&mut self.announced, true) {
            // The first round only announces: the watch has not yet told who else is
            // here, and acting now would start symbols another member holds.
            return;
        }
        self.renew_all().await;
        let failed = self.failed_now();
        for index in 0..self.entries.len() {
            let symbol = self.entries[index].symbol.clone();
            let candidates: Vec<&str> = members
                .iter()
                .filter(|(_, symbols)| symbols.contains(symbol.as_str()))
                .map(|(member, _)| member.as_str())
                .collect();
            let rightful = holders(symbol.as_str(), &candidates, self.replicas);
            let should_hold = !failed.contains(&symbol) && rightful.contains(&self.me.as_str());
            self.decide(index, should_hold, &rightful).await;
        }
    }

    /// Acts on one symbol.
    async fn decide(&mut self, index: usize, should_hold: bool, rightful: &[&str]) {
        let symbol = self.entries[index].symbol.clone();
        match self.entries[index].role {
            Role::Holding { slot, .. } => {
                // Renewed already this round (`renew_all`).
                let key = lease_key(&symbol, slot);
                if !should_hold
                    && let Some(waiter) = self.waiter(&symbol).await
                    && waiter != self.me
                    && rightful.contains(&waiter.as_str())
                {
                    if let Role::Holding { revision, .. } = self.entries[index].role {
                        let _ = self
                            .bounded(self.kv.delete_expect_revision(&key, Some(revision)))
                            .await;
                    }
                    self.halt(index, &format!("handed over to {waiter}"));
                }
            }
            Role::Standby { connects } => {
                if !should_hold {
                    self.halt(index, "no longer its turn");
                } else if let Some((slot, revision)) = self.acquire(&symbol).await {
                    info!("holding {symbol} (lease slot {slot})");
                    self.set_role(
                        index,
                        Role::Holding {
                            slot,
                            revision,
                            renewed: Instant::now(),
                        },
                    );
                } else if self.entries[index].stats.reader.connects.get() > connects {
                    // Running and connected: the holder may hand over now.
                    let _ = self
                        .bounded(self.kv.put(want_key(&symbol), Bytes::from(self.me.clone())))
                        .await;
                }
            }
            Role::Idle if should_hold => {
                let connects = self.entries[index].stats.reader.connects.get();
                let _ = self.events.send(AppEvent::Run(symbol.clone()));
                match self.acquire(&symbol).await {
                    Some((slot, revision)) => {
                        info!("holding {symbol} (lease slot {slot})");
                        self.set_role(
                            index,
                            Role::Holding {
                                slot,
                                revision,
                                renewed: Instant::now(),
                            },
                        );
                    }
                    None => {
                        info!("starting {symbol} to take it over");
                        self.set_role(index, Role::Standby { connects });
                    }
                }
            }
            Role::Idle => {}
        }
    }

    /// Renews every lease held, all at once: a round takes one request's time however
    /// many symbols this member holds, so a slow server cannot stretch the round past the
    /// lease. A lease whose revision moved on was taken (it had expired): that symbol stops
    /// at once. One not renewed this round is kept; `fence_expired` stops it if that goes on
    /// for a whole lease time.
    async fn renew_all(&mut self) {
        let timeout = (self.lease / 4).max(Duration::from_millis(250));
        let renewals = self
            .entries
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| match entry.role {
                Role::Holding { slot, revision, .. } => {
                    let (kv, key) = (self.kv.clone(), lease_key(&entry.symbol, slot));
                    let me = Bytes::from(self.me.clone());
                    Some(async move {
                        let renewed =
                            tokio::time::timeout(timeout, kv.update(&key, me, revision)).await;
                        (index, slot, renewed)
                    })
                }
                _ => None,
            });
        for (index, slot, renewed) in futures_util::future::join_all(renewals).await {
            match renewed {
                Ok(Ok(revision)) => self.set_role(
                    index,
                    Role::Holding {
                        slot,
                        revision,
                        renewed: Instant::now(),
                    },
                ),
                Ok(Err(error)) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    self.halt(index, "its lease was taken (it had expired)");
                }
                Ok(Err(_)) | Err(_) => {}
            }
        }
    }

    /// Takes a free lease slot of `symbol`, if one is free.
    async fn acquire(&self, symbol: &Symbol) -> Option<(usize, u64)> {
        for slot in 0..self.replicas {
            let created = self
                .bounded(
                    self.kv
                        .create(lease_key(symbol, slot), Bytes::from(self.me.clone())),
                )
                .await;
            if let Some(Ok(revision)) = created {
                return Some((slot, revision));
            }
        }
        None
    }

    /// The member waiting to take `symbol` over, if any.
    async fn waiter(&self, symbol: &Symbol) -> Option<String> {
        let value = self.bounded(self.kv.get(want_key(symbol))).await?.ok()??;
        String::from_utf8(value.to_vec()).ok()
    }

    /// The live members and the symbols each offers: every member announced, checked
    /// still there (an announcement not renewed expires silently).
    async fn members(&mut self, offered: &[String]) -> Vec<(String, HashSet<String>)> {
        let others: Vec<String> = self
            .known
            .keys()
            .filter(|member| **member != self.me)
            .cloned()
            .collect();
        for member in others {
            match self.bounded(self.kv.entry(member_key(&member))).await {
                Some(Ok(None)) => {
                    self.known.remove(&member);
                }
                Some(Ok(Some(entry))) => self.learn(&entry),
                // Unknown now: keep what we knew.
                Some(Err(_)) | None => {}
            }
        }
        self.known
            .insert(self.me.clone(), offered.iter().cloned().collect());
        self.known
            .iter()
            .map(|(member, symbols)| (member.clone(), symbols.clone()))
            .collect()
    }

    /// Stops every symbol whose lease went a whole lease time without renewal: it has
    /// expired, and another member may hold it now.
    fn fence_expired(&mut self) {
        for index in 0..self.entries.len() {
            if let Role::Holding { renewed, .. } = self.entries[index].role
                && renewed.elapsed() >= self.lease
            {
                self.halt(index, "could not renew its lease for a whole lease time");
            }
        }
    }

    /// The symbols this member offers: all but those that failed here.
    fn offered(&self) -> Vec<String> {
        let failed = self.failed_now();
        self.entries
            .iter()
            .filter(|entry| !failed.contains(&entry.symbol))
            .map(|entry| entry.symbol.as_str().to_owned())
            .collect()
    }

    fn failed_now(&self) -> HashSet<Symbol> {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the symbol here (`why` is logged).
    fn halt(&mut self, index: usize, why: &str) {
        let symbol = self.entries[index].symbol.clone();
        if matches!(self.entries[index].role, Role::Holding { .. }) {
            info!("released {symbol}: {why}");
        }
        self.set_role(index, Role::Idle);
        let _ = self.events.send(AppEvent::Halt(symbol));
    }

    fn set_role(&mut self, index: usize, role: Role) {
        let entry = &mut self.entries[index];
        entry.role = role;
        if let Some(bus) = &entry.stats.bus {
            bus.role.set(match role {
                Role::Idle => GroupRole::Idle,
                Role::Standby { .. } => GroupRole::Standby,
                Role::Holding { .. } => GroupRole::Holding,
            } as u64);
        }
    }

    /// Leaves the group: every lease and the announcement deleted.
    async fn leave(&mut self) {
        let mut released = HashMap::new();
        for entry in &self.entries {
            if let Role::Holding { slot, revision, .. } = entry.role {
                released.insert(lease_key(&entry.symbol, slot), revision);
            }
        }
        for (key, revision) in released {
            let _ = self
                .bounded(self.kv.delete_expect_revision(&key, Some(revision)))
                .await;
        }
        let _ = self.bounded(self.kv.delete(member_key(&self.me))).await;
    }
}

const MEMBER_PREFIX: &str = "members.";

/// The next announcement from `watch`; pending for ever without one (the tick recreates it).
async fn next_entry(watch: &mut Option<Watch>) -> Option<kv::Entry> {
    match watch {
        Some(watch) => watch.next().await.and_then(Result::ok),
        None => std::future::pending().await,
    }
}

pub(crate) fn member_key(member: &str) -> String {
    format!("{MEMBER_PREFIX}{member}")
}

fn lease_key(symbol: &Symbol, slot: usize) -> String {
    format!("lease.{symbol}.{slot}")
}

fn want_key(symbol: &Symbol) -> String {
    format!("want.{symbol}")
}
