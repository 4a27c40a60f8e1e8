//! `--exec CMD`: each symbol's lines fed to a handler command of its own, on its stdin.
//!
//! Owned by the symbol's processor thread, which writes, restarts and closes the handler;
//! other threads reach the handler's process group only through [`Handlers`].

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{ChildStdin, ExitStatus};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::OFlags;
use tracing::warn;

use super::handlers::{EXIT_POLL, Handlers, Process};
use super::ledger::{PipeLedger, Units};
use crate::control::stop::StopToken;
use crate::output::batch::{Delivered, LineOutput};
use crate::util::duration::format_duration;
use binance_streams::Symbol;

/// How long a handler has to finish its input after we close it, before its process group
/// is killed. It fits well inside `app`'s shutdown grace.
const HANDLER_EXIT_GRACE: Duration = Duration::from_millis(500);

/// After a SIGKILL, how long to wait for the leader to be gone before settling its pipe.
const KILLED_EXIT_LIMIT: Duration = Duration::from_millis(100);

/// A handler that lived at least this long before exiting is restarted without counting
/// against [`MAX_QUICK_EXITS`].
const HANDLER_HEALTHY_RUN: Duration = Duration::from_secs(10);

/// A handler that exits this many times in a row, each soon after starting, is given up on.
const MAX_QUICK_EXITS: u32 = 5;

/// The first pause before restarting a handler that exited; it doubles with each quick exit.
const FIRST_RESTART_PAUSE: Duration = Duration::from_millis(100);

/// A handler command fed one symbol's lines on its stdin: `sh -c CMD`, with `{symbol}` in
/// CMD replaced by the symbol and `BINANCE_LISTEN_SYMBOL` set. It runs in its own process
/// group, so a Ctrl-C reaches binance-listen alone, which then closes the handler's input
/// and lets it finish. A handler that exits is restarted; one that keeps exiting is given up
/// on.
///
/// **When a line counts as written:** once the handler has read all of it out of its pipe:
/// bytes the pipe accepted minus bytes still unread in it (`FIONREAD`) says how far it has
/// read. Lines still in the pipe are unconfirmed; they are settled by a later batch, when
/// the handler dies, or at the end.
///
/// **When a line counts as lost:** the handler died (or was killed at the end) with the line
/// still unread in its pipe, or having read only part of it. Bytes that entered a dead
/// handler's pipe die with it: its successor never gets a line twice, and starts at the
/// first line that never entered the dead pipe. A handler that reads to the end of its input
/// and exits has every line written.
pub(crate) struct ExecOutput {
    command: String,
    symbol: Symbol,
    stop: StopToken,
    handlers: Arc<Handlers>,
    /// The current handler; `None` once given up on.
    handler: Option<Handler>,
    quick_exits: u32,
}

/// One handler process and the lines in its pipe.
struct Handler {
    process: Process,
    /// The pipe's write end; `None` once the pipe broke.
    stdin: Option<ChildStdin>,
    ledger: PipeLedger,
    started: Instant,
}

impl Handler {
    fn start(command: &str, symbol: &Symbol, handlers: &Handlers) -> io::Result<Self> {
        let (process, stdin) = Process::start(command, symbol, handlers)?;
        Ok(Self {
            process,
            stdin: Some(stdin),
            ledger: PipeLedger::default(),
            started: Instant::now(),
        })
    }

    /// Writes `batch` from `*sent` on into the pipe, advancing `*sent` by what entered it
    /// and recording in the ledger (up to `*recorded`) the lines that entered whole.
    fn feed(
        &mut self,
        batch: &[u8],
        units: &Units<'_>,
        sent: &mut usize,
        recorded: &mut usize,
    ) -> io::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else {
            return Err(io::ErrorKind::BrokenPipe.into());
        };
        while *sent < batch.len() {
            match stdin.write(&batch[*sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(count) => {
                    *sent += count;
                    self.ledger.accepted(count);
                    *recorded = units.record(*recorded, *sent, &mut self.ledger);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Bytes still unread in the pipe, asked through its write end; `None` if unknown.
    fn unread(&self) -> Option<u64> {
        let stdin = self.stdin.as_ref()?;
        rustix::io::ioctl_fionread(stdin).ok()
    }

    /// Settles the lines the handler has read since last asked; returns how many.
    fn confirm(&mut self) -> u64 {
        match self.unread() {
            Some(unread) => self.ledger.confirm(unread),
            None => 0,
        }
    }

    /// The pipe broke (the handler and everything it started closed it) or failed: what it
    /// read is written, what is still in it is lost. Closes our end.
    fn retire(&mut self) -> Delivered {
        let written = self.confirm();
        let lost = self.ledger.lose_rest();
        self.stdin = None;
        Delivered { written, lost }
    }

    /// A second reading end on the pipe, opened through `/proc/<pid>/fd/0` while the
    /// leader still has it as its stdin: after we close our end (to give the handler its
    /// end of input) it still tells how much the handler left unread. `None` if the leader
    /// has exited or closed its stdin, or without `/proc`.
    fn observer(&mut self) -> Option<File> {
        let stdin = self.stdin.as_ref()?;
        if self.process.has_exited() {
            return None;
        }
        let path = format!("/proc/{}/fd/0", self.process.pid().as_raw_nonzero());
        let ours = rustix::fs::fstat(stdin).ok()?;
        // The leader may have put something else on its stdin (a terminal, a device):
        // only our pipe will do, checked before opening it and again after.
        let link = std::fs::read_link(&path).ok()?;
        if link.as_os_str() != format!("pipe:[{}]", ours.st_ino).as_str() {
            return None;
        }
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path.as_str(), flags, rustix::fs::Mode::empty()).ok()?;
        let theirs = rustix::fs::fstat(&fd).ok()?;
        (ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino).then(|| File::from(fd))
    }
}

fn add(total: &mut Delivered, more: Delivered) {
    total.written += more.written;
    total.lost += more.lost;
}

impl ExecOutput {
    /// Starts `template` (with `{symbol}` substituted) for `symbol`, registered in
    /// `handlers`.
    ///
    /// # Errors
    /// The shell cannot be started.
    pub(crate) fn spawn(
        template: &str,
        symbol: &Symbol,
        stop: StopToken,
        handlers: &Arc<Handlers>,
    ) -> io::Result<Self> {
        let command = template.replace("{symbol}", symbol.as_str());
        let handler = Handler::start(&command, symbol, handlers)?;
        Ok(Self {
            command,
            symbol: symbol.clone(),
            stop,
            handlers: Arc::clone(handlers),
            handler: Some(handler),
            quick_exits: 0,
        })
    }

    /// The handler's pipe broke and was settled (`lost` lines went with it): waits for the
    /// handler to exit, kills what it left running, and starts its successor, unless it
    /// keeps dying or we are stopping.
    ///
    /// Never blocks beyond a stop: a handler that closed its input but keeps running is
    /// waited for in short, interruptible naps, and left for [`close`](LineOutput::close).
    fn restart(&mut self, lost: u64) -> io::Result<()> {
        let Some(handler) = self.handler.as_mut() else {
            return Err(io::Error::other("the handler was given up on"));
        };
        let since = Instant::now();
        let mut warned = false;
        while !handler.process.has_exited() {
            if !warned && since.elapsed() >= HANDLER_EXIT_GRACE {
                warn!(
                    "handler `{}` closed its input but is still running; it is restarted once it exits",
                    self.command
                );
                warned = true;
            }
            if !self.stop.sleep(EXIT_POLL) {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the handler closed its input",
                ));
            }
        }
        let Some(handler) = self.handler.take() else {
            return Err(io::Error::other("the handler was given up on"));
        };
        let started = handler.started;
        // Whatever the dead handler left running in its group goes with it.
        handler.process.kill_group();
        let status = handler
            .process
            .reap(&self.handlers, KILLED_EXIT_LIMIT)
            .map_or_else(|| "status unknown".to_owned(), describe_status);
        if self.stop.is_triggered() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("handler exited ({status})"),
            ));
        }
        if started.elapsed() >= HANDLER_HEALTHY_RUN {
            self.quick_exits = 0;
        }
        self.quick_exits += 1;
        if self.quick_exits >= MAX_QUICK_EXITS {
            return Err(io::Error::other(format!(
                "handler exited {} times in a row, last {status}",
                self.quick_exits
            )));
        }
        let pause = FIRST_RESTART_PAUSE * 2u32.pow(self.quick_exits - 1);
        let lost = match lost {
            0 => String::new(),
            lost => format!("; {lost} line(s) it had not read are lost"),
        };
        warn!(
            "handler `{}` exited ({status}){lost}; restarting it in {}",
            self.command,
            format_duration(pause)
        );
        if !self.stop.sleep(pause) {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "stopping"));
        }
        self.handler = Some(Handler::start(&self.command, &self.symbol, &self.handlers)?);
        Ok(())
    }
}

impl LineOutput for ExecOutput {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        let units = Units::new(batch, lines);
        let mut delivered = Delivered::default();
        // `sent`: the batch's bytes that entered a pipe (or were given up on); `recorded`:
        // the line boundary up to which lines are in a ledger or settled.
        let (mut sent, mut recorded) = (0, 0);
        // Lines settle in order (written ones first, then lost ones): once a dead handler's
        // lost lines are reported, its successor's are confirmed by the next call, not this one.
        let mut retired = false;
        loop {
            let fed = match self.handler.as_mut() {
                Some(handler) => handler.feed(batch, &units, &mut sent, &mut recorded),
                None => Err(io::ErrorKind::BrokenPipe.into()),
            };
            let error = match fed {
                Ok(()) => break,
                Err(error) => error,
            };
            // What entered the pipe stays with it: what the handler read is written, the
            // rest (and a line that entered only in part) is lost. The successor starts at
            // the first line that never entered the pipe.
            let mut gone = match self.handler.as_mut() {
                Some(handler) => handler.retire(),
                None => Delivered::default(),
            };
            retired = true;
            let resume = units.boundary_from(sent);
            gone.lost += units.lines_between(recorded, resume);
            (sent, recorded) = (resume, resume);
            add(&mut delivered, gone);
            let restarted = match error.kind() {
                io::ErrorKind::BrokenPipe => self.restart(gone.lost),
                _ => Err(error),
            };
            if let Err(error) = restarted {
                // Never handed to any handler, and none will come: lost here.
                delivered.lost += units.lines_between(sent, batch.len());
                return (delivered, Err(error));
            }
        }
        if !retired && let Some(handler) = self.handler.as_mut() {
            delivered.written += handler.confirm();
        }
        (delivered, Ok(()))
    }

    fn describe(&self) -> String {
        format!("handler `{}`", self.command)
    }

    fn close(&mut self) -> Delivered {
        let Some(mut handler) = self.handler.take() else {
            return Delivered::default();
        };
        let observer = handler.observer();
        let mut delivered = Delivered {
            written: handler.confirm(),
            lost: 0,
        };
        // Without an observer the leader has no stdin left (it exited or closed it): what
        // is unread now is all it will ever leave.
        let unread_at_close = handler.unread();
        // End of input: a handler that reads to the end finishes and exits.
        handler.stdin = None;
        if !handler.process.wait_exit(HANDLER_EXIT_GRACE) {
            warn!(
                "handler `{}` did not finish within {} of the end of its input; stopping it",
                self.command,
                format_duration(HANDLER_EXIT_GRACE)
            );
        }
        // Whether the leader finished or not, nothing it started may outlive us.
        handler.process.kill_group();
        handler.process.wait_exit(KILLED_EXIT_LIMIT);
        let unread = match &observer {
            Some(observer) => rustix::io::ioctl_fionread(observer).ok(),
            None => unread_at_close,
        };
        if let Some(unread) = unread {
            delivered.written += handler.ledger.confirm(unread);
        }
        delivered.lost += handler.ledger.lose_rest();
        handler.process.reap(&self.handlers, Duration::ZERO);
        delivered
    }
}

#[cfg(test)]
impl ExecOutput {
    /// Waits up to `limit` for the current handler run to exit; `true` if it has.
    pub(super) fn wait_for_exit(&mut self, limit: Duration) -> bool {
        self.handler
            .as_mut()
            .is_some_and(|handler| handler.process.wait_exit(limit))
    }
}

impl Drop for ExecOutput {
    /// An output dropped without [`close`](LineOutput::close) (a start-up failure, a
    /// panic): its handler's group is killed rather than left behind.
    fn drop(&mut self) {
        if let Some(handler) = &self.handler {
            handler.process.kill_group();
        }
    }
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}
