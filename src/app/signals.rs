//! SIGINT, SIGTERM and SIGHUP as [`AppEvent::Signal`] messages: the first asks for a clean
//! stop (close frames, flush, handlers closed, summary); a second one kills every handler's
//! process group and exits at once with status 130.
//!
//! SIGHUP (the terminal went away, or a service manager's reload-or-stop) would otherwise
//! kill the process on the spot, with no summary and handlers left running; here it stops
//! the run like SIGTERM.

use std::io;
use std::sync::Arc;
use std::thread;

use crossbeam_channel::Sender;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::control::events::AppEvent;
use crate::output::sinks::Handlers;

/// Status for a second signal: the shell convention for "killed by SIGINT".
const IMMEDIATE_EXIT_STATUS: i32 = 130;

/// Starts the thread that turns signals into events. `handlers` is the registry of handler
/// process groups, killed before an immediate exit so none outlives the listener.
///
/// # Errors
/// The handlers could not be installed or the thread could not start.
pub(super) fn forward_signals(events: Sender<AppEvent>, handlers: Arc<Handlers>) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let mut stopping = false;
            for signal in signals.forever() {
                if stopping {
                    // The user insists: no more waiting for sockets or output, but nothing
                    // a handler started is left running either.
                    handlers.kill_running();
                    std::process::exit(IMMEDIATE_EXIT_STATUS);
                }
                stopping = true;
                let name = match signal {
                    SIGINT => "SIGINT",
                    SIGHUP => "SIGHUP",
                    _ => "SIGTERM",
                };
                let _ = events.send(AppEvent::Signal(name));
            }
        })?;
    Ok(())
}
