//! The local order book (`--stream book`): per symbol, a book kept from the diff stream
//! (`@depth@100ms`) and a REST snapshot by Binance's procedure (PROTOCOL.md §9), resynced on
//! any gap, output as its top levels.
//!
//! - [`price`]: exact decimal keys; [`levels`]: the book itself; [`sync`]: the procedure as
//!   a pure state machine; [`line`]: the output lines.
//! - [`rest`]: the HTTPS snapshot client; [`budget`]: the request-weight budget shared by
//!   every symbol of a market; [`fetch`]: the worker threads that spend it.
//!
//! The processor (`pipeline::processor::book`) drives all of it; nothing here runs on the
//! per-message path of a symbol that does not keep a book.

pub(crate) mod budget;
pub(crate) mod fetch;
pub(crate) mod levels;
pub(crate) mod line;
pub(crate) mod price;
pub(crate) mod rest;
pub(crate) mod sync;
