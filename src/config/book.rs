//! `--stream book`'s settings, flag over file over default ([`book_config`]), and the
//! kinds a book cannot share a connection with ([`check_book_kinds`]).

use std::time::Duration;

use binance_streams::{Endpoint, StreamKind, UpdateSpeed};

use super::file::FileConfig;
use super::merge::layered;
use super::values::{parse_book_depth, parse_book_interval, parse_rest_endpoint};
use super::{BookConfig, DEFAULT_BOOK_DEPTH, UsageError};

/// The book flags as clap parsed them.
pub(super) struct BookFlags {
    pub(super) depth: Option<usize>,
    pub(super) interval: Option<Duration>,
    pub(super) rest_endpoint: Option<String>,
}

/// `book` is built from the `depth@100ms` stream: reading both would subscribe it twice.
///
/// # Errors
/// Both kinds asked for.
pub(super) fn check_book_kinds(kinds: &[StreamKind]) -> Result<(), UsageError> {
    if kinds.contains(&StreamKind::Book) && kinds.contains(&StreamKind::Depth(UpdateSpeed::Fast)) {
        return Err(UsageError(
            "stream kinds book and depth@100ms cannot be read together: the book is built from the depth@100ms stream; choose one".to_owned(),
        ));
    }
    Ok(())
}

/// The book settings. The REST base follows `--endpoint` when given (same host and port,
/// `https` for `wss`), so a private server or the mock serves snapshots too.
///
/// # Errors
/// A bad `book_depth`, `book_interval` or `rest_endpoint` in the file.
pub(super) fn book_config(
    flags: BookFlags,
    endpoint: Option<&Endpoint>,
    file: &FileConfig,
) -> Result<BookConfig, UsageError> {
    let keys = &file.keys;
    let rest_endpoint = layered(
        flags.rest_endpoint,
        file.value(
            "rest_endpoint",
            keys.rest_endpoint.as_ref(),
            parse_rest_endpoint,
        ),
    )?;
    let rest_base = rest_endpoint.or_else(|| {
        endpoint.map(|endpoint| {
            let scheme = if endpoint.is_tls() { "https" } else { "http" };
            format!("{scheme}://{}", endpoint.host_port())
        })
    });
    Ok(BookConfig {
        depth: layered(
            flags.depth,
            file.value("book_depth", keys.book_depth.as_ref(), parse_book_depth),
        )?
        .unwrap_or(DEFAULT_BOOK_DEPTH),
        interval: layered(
            flags.interval,
            file.value(
                "book_interval",
                keys.book_interval.as_ref(),
                parse_book_interval,
            ),
        )?,
        rest_base,
    })
}
