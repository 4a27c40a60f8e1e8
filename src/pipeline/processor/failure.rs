//! Where a failed output's news goes: the run (stdout), the symbol alone (its file, its
//! handler, its publisher), or nowhere (the run is stopping anyway).

use std::io;

use tracing::{debug, error};

use super::Processor;
use crate::control::events::AppEvent;

impl Processor {
    /// The output failed: decides who is told and returns `false` (the processor stops).
    #[cold]
    #[inline(never)]
    pub(super) fn output_failed(&self, error: &io::Error) -> bool {
        match error {
            error if self.stop.is_triggered() => {
                debug!("output failed while stopping: {error}");
                false
            }
            error if self.sink.is_shared() => {
                let event = if error.kind() == io::ErrorKind::BrokenPipe {
                    AppEvent::OutputClosed
                } else {
                    error!("cannot write to {}: {error}", self.sink.describe());
                    AppEvent::OutputFailed(error.to_string())
                };
                let _ = self.events.send(event);
                false
            }
            error => {
                // A per-symbol output failed (a full disk, a handler that keeps dying):
                // this symbol stops, loudly (`app` logs why, once); the others carry on.
                let why = format!("cannot write to {}: {error}", self.sink.describe());
                let _ = self
                    .events
                    .send(AppEvent::PipelineFailed(self.symbol.clone(), why));
                false
            }
        }
    }
}
