//! binance-listen: listen to Binance market-data WebSocket streams for many symbols at once,
//! one isolated pipeline per symbol, and write every event as a JSON line on stdout.
//!
//! A frame's way, folder by folder: [`config`] turns flags and the config file into one
//! checked `Config`; [`app`] builds a pipeline per symbol and owns the lifecycle; in
//! [`pipeline`], the reader thread takes the frame off the symbol's WebSocket and queues it,
//! and the processor thread decodes, deduplicates and checks it; [`output`] formats it as a
//! line and writes it to stdout, a file or a handler; [`stats`] counts every step. Below
//! them, [`control`] (stop, supervision, the events threads send) and [`util`].
//!
//! The binary is a thin wrapper around [`main_with_args`].

#![forbid(unsafe_code)]

mod app;
mod book;
mod bus;
mod config;
mod control;
mod output;
mod pipeline;
mod record;
mod replay;
mod stats;
mod util;

use std::ffi::OsString;
use std::process::ExitCode;

/// Parses `args` (program name first), runs the listener and returns the exit status:
/// 0 for a normal stop, 1 for a runtime failure, 2 for a usage error.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    app::main(args)
}
