//! What `app` sets up for `--stream book`: the snapshot workers (one pool and one weight
//! budget for the whole run) and each processor's [`BookSettings`].

use binance_streams::{Endpoint, Market, StreamKind};

use crate::book::budget::WeightRules;
use crate::book::fetch::{Snapshots, spawn_snapshot_workers};
use crate::book::rest::{SnapshotClient, market_rest_base};
use crate::book::sync::Rule;
use crate::config::{Config, Source};
use crate::control::stop::StopToken;
use crate::pipeline::processor::BookSettings;

/// Starts the snapshot workers when a book is kept: the REST base is `--rest-endpoint`,
/// else `--endpoint`'s (resolved in `config`), else the simulation's, else the market's.
pub(super) fn start_books(
    config: &Config,
    endpoint: Option<&Endpoint>,
    stop: &StopToken,
) -> std::io::Result<Option<Snapshots>> {
    if !config.kinds.contains(&StreamKind::Book) {
        return Ok(None);
    }
    let base = match (&config.book.rest_base, &config.source, endpoint) {
        (Some(base), _, _) => base.clone(),
        (None, Source::Simulate, Some(endpoint)) => format!("http://{}", endpoint.host_port()),
        (None, Source::Exchange(_), _) => market_rest_base(config.market).to_owned(),
        (None, Source::Replay(_), _) | (None, Source::Simulate, None) => {
            return Err(std::io::Error::other(
                "a book is kept from live REST snapshots, which a replay cannot fetch: replay its depth stream instead (--stream depth@100ms)",
            ));
        }
    };
    let roots: Vec<Vec<u8>> = config
        .ca_certs
        .iter()
        .filter_map(|cert| cert.to_der().ok())
        .collect();
    let client = SnapshotClient::new(config.market, &base, &roots);
    spawn_snapshot_workers(
        client,
        WeightRules::of(config.market),
        config.symbols.len(),
        stop,
    )
    .map(Some)
}

/// How `symbol`'s processor keeps its book, when the run keeps books.
pub(super) fn book_settings(
    config: &Config,
    snapshots: Option<&Snapshots>,
) -> Option<BookSettings> {
    let snapshots = snapshots?.clone();
    let index = config
        .kinds
        .iter()
        .position(|kind| *kind == StreamKind::Book)?;
    let rule = match config.market {
        Market::Futures | Market::CoinFutures => Rule::Futures,
        Market::Spot | Market::Testnet | Market::Us => Rule::Spot,
    };
    Some(BookSettings {
        index,
        rule,
        depth: config.book.depth,
        interval: config.book.interval,
        snapshots,
    })
}
