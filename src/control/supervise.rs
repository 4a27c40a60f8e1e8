//! Keeps a pipeline thread alive across internal errors: its body runs under
//! `catch_unwind`; a panic (already reported in one line by the panic hook) is logged with
//! the symbol and the body restarted after a growing pause. A body that keeps failing is
//! given up on, and the caller reports the symbol as failed: never a silent thread death.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use tracing::error;

use crate::control::stop::StopToken;
use crate::util::duration::format_duration;
use binance_streams::Symbol;

/// Panics in a row (without a healthy run between them) before giving up.
pub(crate) const MAX_RESTARTS: u32 = 5;

/// A run this long counts as healthy: the restart count starts over.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// The first pause before a restart; it doubles each time.
const FIRST_RESTART_PAUSE: Duration = Duration::from_millis(100);

/// Why supervision ended without a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Supervision {
    /// The stop token fired while waiting to restart.
    Stopped,
    /// The body failed [`MAX_RESTARTS`] times in a row.
    GaveUp,
}

/// Runs `body` until it returns, restarting it after panics; `role` names the thread in logs.
///
/// # Errors
/// [`Supervision::GaveUp`] after too many panics in a row, [`Supervision::Stopped`] if the
/// stop token fires during a restart pause.
pub(crate) fn supervise<T>(
    symbol: &Symbol,
    role: &str,
    stop: &StopToken,
    mut body: impl FnMut() -> T,
) -> Result<T, Supervision> {
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        match catch_unwind(AssertUnwindSafe(&mut body)) {
            Ok(result) => return Ok(result),
            Err(_) => {
                if started.elapsed() >= HEALTHY_RUN {
                    failures = 0;
                }
                failures += 1;
                if failures >= MAX_RESTARTS {
                    error!("the {role} failed {failures} times in a row; giving up on {symbol}");
                    return Err(Supervision::GaveUp);
                }
                let pause = FIRST_RESTART_PAUSE * 2u32.pow(failures - 1);
                error!(
                    "the {role} stopped on an internal error; restarting it in {}",
                    format_duration(pause)
                );
                if !stop.sleep(pause) {
                    return Err(Supervision::Stopped);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An injected internal error: unwinds like a panic without running the panic hook,
    /// so the tests need no process-wide hook (which would silence every other test).
    fn fail(why: &'static str) -> ! {
        std::panic::resume_unwind(Box::new(why))
    }

    #[test]
    fn restarts_after_panics_and_returns_the_result() {
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let mut calls = 0;
        let result = supervise(&symbol, "processor", &StopToken::new(), || {
            calls += 1;
            if calls <= 2 {
                fail("injected failure");
            }
            calls
        });
        assert_eq!(result, Ok(3));
    }

    #[test]
    fn gives_up_on_a_body_that_always_fails() {
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let mut calls = 0;
        let result: Result<(), _> = supervise(&symbol, "reader", &StopToken::new(), || {
            calls += 1;
            fail("always");
        });
        assert_eq!(result, Err(Supervision::GaveUp));
        assert_eq!(calls, MAX_RESTARTS);
    }

    #[test]
    fn a_stop_during_the_pause_ends_supervision() {
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let stop = StopToken::new();
        stop.trigger();
        let result: Result<(), _> = supervise(&symbol, "reader", &stop, || fail("once"));
        assert_eq!(result, Err(Supervision::Stopped));
    }
}
