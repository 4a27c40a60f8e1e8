//! Integration tests: the real binary (`CARGO_BIN_EXE_binance-listen`) against the in-crate
//! mock exchange on 127.0.0.1, one module per behaviour a user sees.

mod bad_data;
mod book;
mod cli_errors;
mod config_file;
mod environment;
mod hints;
mod isolation;
mod kinds;
mod layout;
mod liveness;
mod memory;
mod metrics;
mod nats;
mod nats_group;
mod nats_tail;
mod reconnect;
mod record;
mod sequence;
mod shell;
mod shutdown;
mod sinks;
mod sinks_exec;
mod stats;
mod streaming;
mod support;
mod symbols_file;
mod terminal;
mod tls;
