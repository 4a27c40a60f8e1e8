//! `--group NAME`: listeners that share their symbols through leases in a JetStream
//! key-value bucket, each symbol held by `--replicas` members, handed over when members
//! join, leave or die. See [`keeper`] for the protocol, [`rendezvous`] for who should hold
//! what, [`bucket`] for the bucket itself.

mod bucket;
mod keeper;
mod rendezvous;

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use binance_streams::Symbol;
use crossbeam_channel::Sender;
use tokio::sync::Notify;
use tracing::info;

use super::Bus;
use crate::control::events::{AppEvent, Failure, Fatal};
use crate::stats::SymbolStats;
use crate::util::duration::{format_duration, parse_duration};
use bucket::BucketError;
use keeper::Keeper;

/// The lease time when none is given.
pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(5);

/// A group's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupSettings {
    /// The group's name (members with the same name share symbols).
    pub(crate) name: String,
    /// How many members hold each symbol.
    pub(crate) replicas: usize,
    /// How long a lease lasts without renewal.
    pub(crate) lease: Duration,
    /// This member's name (`--member`); by default one made from the process id and time.
    pub(crate) member: Option<String>,
}

/// Parses `--member NAME`.
///
/// # Errors
/// A name with characters a key cannot hold.
pub(crate) fn parse_member_name(text: &str) -> Result<String, String> {
    parse_name(text, "member", "eu-1")
}

/// Parses `--group NAME`.
///
/// # Errors
/// A name with characters a bucket name cannot hold.
pub(crate) fn parse_group_name(text: &str) -> Result<String, String> {
    parse_name(text, "group", "md-eu")
}

fn parse_name(text: &str, what: &str, example: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "invalid {what} name '{text}': expected up to 64 letters, digits, - or _, like {example}"
        ))
    }
}

/// Parses `--replicas N`: 1 to 5.
///
/// # Errors
/// Not a number from 1 to 5.
pub(crate) fn parse_replicas(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n @ 1..=5) => Ok(n),
        _ => Err(format!(
            "invalid replicas '{text}': expected 1 to 5 members holding each symbol (2 leaves no gap when one dies)"
        )),
    }
}

/// Parses `--lease DURATION`: 1 s to 5 min.
///
/// # Errors
/// Not a duration in that range.
pub(crate) fn parse_lease(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(lease) if (Duration::from_secs(1)..=Duration::from_secs(300)).contains(&lease) => {
            Ok(lease)
        }
        _ => Err(format!(
            "invalid lease '{text}': expected a duration from 1s to 5m, like 5s (a dead member's symbols move after about this long)"
        )),
    }
}

/// This member's place in the group: the keeper runs on the bus thread.
pub(crate) struct Group {
    failed: Arc<Mutex<HashSet<Symbol>>>,
    stop: Arc<Notify>,
    left: std::sync::mpsc::Receiver<()>,
}

impl Group {
    /// Joins the group with `symbols` (and their counters): the keeper starts symbols
    /// through `events` ([`AppEvent::Run`], [`AppEvent::Halt`]).
    ///
    /// # Errors
    /// The bucket cannot be used (another lease time: [`Failure::Refused`]).
    pub(crate) fn join(
        bus: &Bus,
        settings: &GroupSettings,
        symbols: Vec<(Symbol, Arc<SymbolStats>)>,
        events: Sender<AppEvent>,
    ) -> Result<Self, Failure> {
        let jetstream = bus.jetstream().clone();
        let (name, lease) = (settings.name.clone(), settings.lease);
        let kv = bus
            .run(async move { bucket::open(&jetstream, &name, lease).await })
            .map_err(|why| Failure::Fatal(Fatal(why)))?
            .map_err(|error| match error {
                BucketError::Usage(why) => Failure::Refused(why),
                BucketError::Failed(why) => Failure::Fatal(Fatal(why)),
            })?;
        let member = settings.member.clone().unwrap_or_else(member_name);
        let (probe, key) = (kv.clone(), keeper::member_key(&member));
        let taken = bus
            .run(async move { probe.get(key).await })
            .map_err(|why| Failure::Fatal(Fatal(why)))?;
        if let Ok(Some(_)) = taken {
            return Err(Failure::Refused(format!(
                "member {member} is already in group {}: name this one differently with --member (a member that died leaves after {})",
                settings.name,
                format_duration(settings.lease)
            )));
        }
        info!(
            "member {member} of group {} ({} replica(s), lease {}) offering {} symbol(s)",
            settings.name,
            settings.replicas,
            format_duration(settings.lease),
            symbols.len()
        );
        let failed = Arc::new(Mutex::new(HashSet::new()));
        let stop = Arc::new(Notify::new());
        let (done, left) = std::sync::mpsc::sync_channel(1);
        let keeper = Keeper::new(
            kv,
            member,
            settings.replicas,
            settings.lease,
            symbols,
            events,
            Arc::clone(&failed),
            Arc::clone(&stop),
        );
        bus.spawn(async move {
            keeper.run().await;
            let _ = done.send(());
        });
        Ok(Self { failed, stop, left })
    }

    /// `symbol` cannot be served here: its lease is released and it is no longer offered.
    pub(crate) fn failed(&self, symbol: &Symbol) {
        self.failed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(symbol.clone());
    }

    /// Leaves the group, handing every lease back (waits a moment for that).
    pub(crate) fn leave(self) {
        self.stop.notify_one();
        let _ = self.left.recv_timeout(Duration::from_secs(2));
    }
}

/// A name no other member has: the process id and the start time.
fn member_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
}
