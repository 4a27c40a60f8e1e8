//! SIGINT and SIGTERM as [`AppEvent::Signal`] messages: the first asks for a clean stop
//! (close frames, flush, summary); a second one exits at once with status 130.

use std::io;
use std::thread;

use crossbeam_channel::Sender;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::control::events::AppEvent;

/// Status for a second signal: the shell convention for "killed by SIGINT".
const IMMEDIATE_EXIT_STATUS: i32 = 130;

/// Starts the thread that turns signals into events.
///
/// # Errors
/// The handlers could not be installed or the thread could not start.
pub(super) fn forward_signals(events: Sender<AppEvent>) -> io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            let mut stopping = false;
            for signal in signals.forever() {
                if stopping {
                    // The user insists: no more waiting for sockets or output.
                    std::process::exit(IMMEDIATE_EXIT_STATUS);
                }
                stopping = true;
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                let _ = events.send(AppEvent::Signal(name));
            }
        })?;
    Ok(())
}
