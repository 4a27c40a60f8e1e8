//! Handler processes: starting one in a process group of its own, watching it exit without
//! blocking, and [`Handlers`], the registry through which `app` and the signal thread kill
//! every handler's group, so that nothing a handler started outlives the listener.
//!
//! The registry holds process group ids only, never a process handle, so nobody ever
//! waits on a process while holding its lock: the owner (an [`ExecOutput`] on its
//! processor thread) alone reaps its handler, and does so only after taking the group out
//! of the registry. Until then the unreaped leader keeps the group's id reserved, so a
//! kill through the registry can never reach a stranger that reused the number.
//!
//! [`ExecOutput`]: super::ExecOutput

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

use binance_streams::Symbol;

/// How often a wait for a handler to exit looks again.
pub(super) const EXIT_POLL: Duration = Duration::from_millis(5);

/// Every handler process group that may still be running.
#[derive(Debug, Default)]
pub(crate) struct Handlers {
    groups: Mutex<Vec<Pid>>,
}

impl Handlers {
    fn register(&self, group: Pid) {
        lock(&self.groups).push(group);
    }

    fn unregister(&self, group: Pid) {
        lock(&self.groups).retain(|&known| known != group);
    }

    /// Kills (SIGKILL) every handler's whole process group; returns how many groups were
    /// still there. Never blocks: a processor blocked writing to a killed handler then sees
    /// a broken pipe and finishes, and the owner reaps the handler. Safe from any thread,
    /// including the signal thread just before an immediate exit.
    pub(crate) fn kill_running(&self) -> usize {
        lock(&self.groups)
            .iter()
            .filter(|&&group| rustix::process::kill_process_group(group, Signal::KILL).is_ok())
            .count()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked holding it; a list of ids is intact.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One running handler process: `sh -c CMD`, leader of its own process group.
pub(super) struct Process {
    child: Child,
    group: Pid,
    /// Set once the leader is known to have exited (it is reaped only in [`Process::reap`]).
    exited: bool,
}

impl Process {
    /// Starts `sh -c command` for `symbol` in a new process group, registered in `handlers`
    /// (so a Ctrl-C reaches binance-listen alone, and its group can be killed at the end).
    pub(super) fn start(
        command: &str,
        symbol: &Symbol,
        handlers: &Handlers,
    ) -> io::Result<(Self, ChildStdin)> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("BINANCE_LISTEN_SYMBOL", symbol.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()?;
        let Some(stdin) = child.stdin.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other("the handler's stdin was not piped"));
        };
        let group = Pid::from_child(&child);
        handlers.register(group);
        let process = Self {
            child,
            group,
            exited: false,
        };
        Ok((process, stdin))
    }

    /// The leader's process id (for `/proc/<pid>/fd/0`).
    pub(super) fn pid(&self) -> Pid {
        self.group
    }

    /// Whether the leader has exited, without reaping it (so its group id stays reserved).
    pub(super) fn has_exited(&mut self) -> bool {
        if !self.exited {
            let options = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
            self.exited = match rustix::process::waitid(WaitId::Pid(self.group), options) {
                Ok(status) => status.is_some(),
                // Not our child any more (already reaped): gone.
                Err(_) => true,
            };
        }
        self.exited
    }

    /// Waits up to `limit` for the leader to exit; `true` if it has.
    pub(super) fn wait_exit(&mut self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.has_exited() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(EXIT_POLL);
        }
        true
    }

    /// Kills the whole group: the leader if it still runs, and whatever it left running.
    pub(super) fn kill_group(&self) {
        let _ = rustix::process::kill_process_group(self.group, Signal::KILL);
    }

    /// Reaps the leader if it exits within `limit` (after a SIGKILL, at once), taking its
    /// group out of `handlers` first; returns its status. A leader that does not exit in
    /// time stays registered and unreaped, so the final sweep still reaches its group.
    pub(super) fn reap(mut self, handlers: &Handlers, limit: Duration) -> Option<ExitStatus> {
        if !self.wait_exit(limit) {
            return None;
        }
        handlers.unregister(self.group);
        self.child.wait().ok()
    }
}
