//! The words pipeline threads and the lifecycle share: [`AppEvent`] (what a thread tells
//! `app`), [`ExitGuard`] (held by every pipeline thread, so its end is never silent) and
//! [`Fatal`] (a runtime failure, status 1). They sit below both sides, so neither imports
//! the other.

use std::fmt;

use binance_streams::Symbol;
use crossbeam_channel::Sender;

use crate::control::stop::StopToken;

/// What pipelines and the signal thread tell `app`.
#[derive(Debug)]
pub(crate) enum AppEvent {
    /// SIGINT or SIGTERM arrived.
    Signal(&'static str),
    /// stdout was closed by its reader (`| head`): stop quietly.
    OutputClosed,
    /// stdout failed for another reason.
    OutputFailed(String),
    /// A symbol wrote its `--max-messages` lines.
    PipelineDone(Symbol),
    /// A symbol cannot be served (e.g. untrusted certificate) or one of its threads died.
    PipelineFailed(Symbol, String),
    /// With `--group`: this member starts serving the symbol.
    Run(Symbol),
    /// With `--group`: this member stops serving the symbol (at once).
    Halt(Symbol),
}

/// Held by each pipeline thread for its whole life. However the thread ends, the pipeline's
/// stop token fires (a reader never fills a queue nobody drains; a processor never waits on
/// a reader that is gone), and a panic is reported to `app` as a failed symbol.
pub(crate) struct ExitGuard {
    /// The symbol the thread serves.
    pub(crate) symbol: Symbol,
    /// `reader` or `processor`, for the report.
    pub(crate) role: &'static str,
    /// The pipeline's stop token.
    pub(crate) stop: StopToken,
    /// Where the report goes.
    pub(crate) events: Sender<AppEvent>,
}

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.stop.trigger();
        if std::thread::panicking() {
            let _ = self.events.send(AppEvent::PipelineFailed(
                self.symbol.clone(),
                format!("its {} thread stopped on an internal error", self.role),
            ));
        }
    }
}

/// A runtime failure that ends the program with status 1.
#[derive(Debug)]
pub(crate) struct Fatal(pub(crate) String);

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a run that did not end normally ended, for the exit status.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Refused before anything connected (an output that cannot be opened): status 2, as a
    /// usage error, since nothing was started.
    Refused(String),
    /// A runtime failure: status 1.
    Fatal(Fatal),
}

impl From<Fatal> for Failure {
    fn from(fatal: Fatal) -> Self {
        Self::Fatal(fatal)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(why) => f.write_str(why),
            Self::Fatal(fatal) => fatal.fmt(f),
        }
    }
}
