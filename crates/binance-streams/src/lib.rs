//! Binance's market-data vocabulary, shared by the `binance-listen` listener and the
//! `binance-mock` exchange: [`Symbol`], [`StreamKind`], [`Market`] and [`Endpoint`] (with
//! Binance's URL routing), the payload models of every kind ([`wire`]), and the civil-date
//! arithmetic Binance's epoch times need ([`time`]).
//!
//! Every type parses from the text a user types (`FromStr`) with a one-line error naming
//! that text and what is accepted, so a command line and a config file reject bad values
//! with the same words.
//!
//! Adding a stream kind happens here: a [`StreamKind`] variant (its name, event type and
//! markets), a model in [`wire`], and one line in the `events!` table.

#![forbid(unsafe_code)]

mod endpoint;
mod kind;
mod market;
mod symbol;
pub mod time;
pub mod wire;

pub use endpoint::Endpoint;
pub use kind::{KLINE_INTERVALS, StreamKind, StreamKinds, TICKER_WINDOWS, UpdateSpeed};
pub use market::Market;
pub use symbol::Symbol;
pub use wire::{DataError, DataErrorKind, Decoder, Event, Payload, SequencePoint, parse_event};

/// The directory of Binance payload fixtures (`fixtures/`), for the tests of every crate.
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
