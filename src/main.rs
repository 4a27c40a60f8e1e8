//! The `binance-listen` command: everything lives in the library; see `main_with_args`.

#![forbid(unsafe_code)]

use std::process::ExitCode;

fn main() -> ExitCode {
    binance_listen::main_with_args(std::env::args_os())
}
