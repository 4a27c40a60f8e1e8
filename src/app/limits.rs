//! The open-file budget, checked before anything opens: each symbol needs a few file
//! descriptors (its sockets, two while a connection rolls over, its output), and running out
//! mid-run would turn into a stream of connection failures. The soft limit is raised to the
//! hard limit when that is enough; otherwise the run is refused with one line naming the need.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tracing::debug;

use crate::config::{Config, OutputTarget};

/// Descriptors the process uses whatever the symbols: standard streams, the signal pipe,
/// the simulator's listener, logs, and some slack for libraries.
const BASE_DESCRIPTORS: u64 = 32;

/// Descriptors one connection holds: its socket, shared (not duplicated) by the reader,
/// its TLS layer and the stop token's watch. A symbol holds two while a rollover overlaps
/// two connections.
const DESCRIPTORS_PER_CONNECTION: u64 = 1;

/// How many descriptors `config` needs at most.
pub(super) fn descriptors_needed(config: &Config) -> u64 {
    let output = match config.output {
        // The bus's few sockets are shared by every symbol (counted in the base).
        OutputTarget::Stdout | OutputTarget::Nats(_) => 0,
        OutputTarget::Directory(_) => 1,
        // The handler's stdin pipe (our end), plus its process's descriptors are its own.
        OutputTarget::Exec(_) => 1,
    };
    let per_symbol = 2 * DESCRIPTORS_PER_CONNECTION + output;
    BASE_DESCRIPTORS + per_symbol * config.symbols.len() as u64
}

/// Makes sure `needed` descriptors can be opened, raising the soft limit toward the hard
/// one if it must.
///
/// # Errors
/// One line naming the need and the limit when even the hard limit is too low.
pub(super) fn ensure_descriptors(needed: u64, symbols: usize) -> Result<(), String> {
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= needed {
        return Ok(());
    }
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if hard >= needed {
        let raised = Rlimit {
            current: Some(needed.max(soft)),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            debug!("raised the open-file limit from {soft} to {needed}");
            return Ok(());
        }
    }
    Err(format!(
        "{symbols} symbol(s) need up to {needed} open files, but the limit is {soft} (hard limit {hard}); raise it (ulimit -n {needed}) or listen to fewer symbols per process"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_within_the_soft_limit_changes_nothing() {
        assert_eq!(ensure_descriptors(3, 1), Ok(()));
    }

    #[test]
    fn a_need_beyond_the_hard_limit_names_the_need_and_the_limit() {
        let error = ensure_descriptors(u64::MAX - 1, 5).unwrap_err();
        assert!(
            error.starts_with(
                "5 symbol(s) need up to 18446744073709551614 open files, but the limit is"
            ),
            "{error}"
        );
        assert!(error.contains("ulimit -n"), "{error}");
    }
}
