//! Per-symbol outputs, so a slow consumer is isolated even outside this process:
//! [`FileOutput`] appends a symbol's lines to `DIR/<SYMBOL>.jsonl` (`--output-dir`), and
//! [`ExecOutput`] feeds them to a handler command of the symbol's own (`--exec`). A handler
//! that stalls blocks only its symbol's processor; that symbol's queue fills and its overflow
//! policy applies, reported like any other drop.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::control::stop::StopToken;
use crate::output::batch::{Delivered, LineOutput};
use crate::util::duration::format_duration;
use binance_streams::Symbol;

/// How long a handler has to finish its input after we close it, before it is stopped.
const HANDLER_EXIT_GRACE: Duration = Duration::from_millis(500);

/// A handler that lived at least this long before exiting is restarted without counting
/// against [`MAX_QUICK_EXITS`].
const HANDLER_HEALTHY_RUN: Duration = Duration::from_secs(10);

/// A handler that exits this many times in a row, each soon after starting, is given up on.
const MAX_QUICK_EXITS: u32 = 5;

/// The path of `symbol`'s file in `dir`.
pub(crate) fn symbol_file(dir: &Path, symbol: &Symbol) -> PathBuf {
    dir.join(format!("{}.jsonl", symbol.as_str()))
}

/// `DIR/<SYMBOL>.jsonl`, opened for appending.
pub(crate) struct FileOutput {
    path: PathBuf,
    file: File,
}

impl FileOutput {
    /// Opens (creating if needed) `symbol`'s file in `dir` for appending.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub(crate) fn open(dir: &Path, symbol: &Symbol) -> io::Result<Self> {
        let path = symbol_file(dir, symbol);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self { path, file })
    }
}

impl LineOutput for FileOutput {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        // One write per batch of whole lines, straight to the file: nothing is held in a
        // user-space buffer that an exit could lose.
        match self.file.write_all(batch) {
            Ok(()) => (Delivered::all(lines), Ok(())),
            Err(error) => (Delivered::none(lines), Err(error)),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn close(&mut self) -> Delivered {
        if let Err(error) = self.file.sync_data() {
            warn!("cannot sync {}: {error}", self.path.display());
        }
        Delivered::default()
    }
}

/// Every running handler, so `app` can stop the ones still running when it exits: a
/// handler that never reads blocks its processor in a write that nothing else can interrupt.
#[derive(Debug, Default)]
pub(crate) struct Handlers {
    running: Mutex<Vec<Arc<Mutex<Child>>>>,
}

impl Handlers {
    fn register(&self, child: &Arc<Mutex<Child>>) {
        lock(&self.running).push(Arc::clone(child));
    }

    /// Kills every handler that has not exited; returns how many were killed. A processor
    /// blocked writing to one then sees a broken pipe and finishes.
    pub(crate) fn kill_running(&self) -> usize {
        let mut killed = 0;
        for child in lock(&self.running).iter() {
            let mut child = lock(child);
            if matches!(child.try_wait(), Ok(None)) {
                kill_group(&mut child);
                killed += 1;
            }
        }
        killed
    }
}

/// Kills a handler and everything it started (it leads its own process group: `sh -c`
/// forks its commands, and killing the shell alone would orphan them), then reaps it.
fn kill_group(child: &mut Child) {
    // std can only signal the child itself; the group needs kill(1) without `unsafe`.
    let group = format!("-{}", child.id());
    let killed_group = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !killed_group {
        let _ = child.kill();
    }
    let _ = child.wait();
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means a thread panicked holding it; the child handle is intact.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handler command fed one symbol's lines on its stdin: `sh -c CMD`, with `{symbol}` in
/// CMD replaced by the symbol and `BINANCE_LISTEN_SYMBOL` set. It runs in its own process
/// group, so a Ctrl-C reaches binance-listen alone, which then closes the handler's input and
/// lets it finish. A handler that exits is restarted; one that keeps exiting is given up on.
pub(crate) struct ExecOutput {
    command: String,
    symbol: Symbol,
    stop: StopToken,
    /// Shared with [`Handlers`]; locked only to reap, restart or kill, never while writing.
    child: Arc<Mutex<Child>>,
    stdin: Option<ChildStdin>,
    started: Instant,
    quick_exits: u32,
}

impl ExecOutput {
    /// Starts `template` (with `{symbol}` substituted) for `symbol`.
    ///
    /// # Errors
    /// The shell cannot be started.
    pub(crate) fn spawn(
        template: &str,
        symbol: &Symbol,
        stop: StopToken,
        handlers: &Handlers,
    ) -> io::Result<Self> {
        let command = template.replace("{symbol}", symbol.as_str());
        let (child, stdin) = start(&command, symbol)?;
        let child = Arc::new(Mutex::new(child));
        handlers.register(&child);
        Ok(Self {
            command,
            symbol: symbol.clone(),
            stop,
            child,
            stdin: Some(stdin),
            started: Instant::now(),
            quick_exits: 0,
        })
    }

    /// The handler died: reap it, and start it again unless it keeps dying or we are stopping.
    fn restart(&mut self) -> io::Result<()> {
        self.stdin = None;
        let status = lock(&self.child).wait()?;
        if self.stop.is_triggered() {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("handler exited ({})", describe_status(status)),
            ));
        }
        if self.started.elapsed() >= HANDLER_HEALTHY_RUN {
            self.quick_exits = 0;
        }
        self.quick_exits += 1;
        if self.quick_exits >= MAX_QUICK_EXITS {
            return Err(io::Error::other(format!(
                "handler exited {} times in a row, last {}",
                self.quick_exits,
                describe_status(status)
            )));
        }
        let pause = Duration::from_millis(100) * 2u32.pow(self.quick_exits - 1);
        warn!(
            "handler `{}` exited ({}); restarting it in {}",
            self.command,
            describe_status(status),
            format_duration(pause)
        );
        if !self.stop.sleep(pause) {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "stopping"));
        }
        let (child, stdin) = start(&self.command, &self.symbol)?;
        *lock(&self.child) = child;
        self.stdin = Some(stdin);
        self.started = Instant::now();
        Ok(())
    }
}

impl LineOutput for ExecOutput {
    fn write_batch(&mut self, batch: &[u8], lines: u64) -> (Delivered, io::Result<()>) {
        loop {
            let written = match self.stdin.as_mut() {
                Some(stdin) => stdin.write_all(batch),
                None => Err(io::ErrorKind::BrokenPipe.into()),
            };
            match written {
                Ok(()) => return (Delivered::all(lines), Ok(())),
                // The handler is gone; the batch goes to its successor, whole.
                Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                    if let Err(error) = self.restart() {
                        return (Delivered::none(lines), Err(error));
                    }
                }
                Err(error) => return (Delivered::none(lines), Err(error)),
            }
        }
    }

    fn describe(&self) -> String {
        format!("handler `{}`", self.command)
    }

    fn close(&mut self) -> Delivered {
        // End of input: a handler that reads to EOF finishes and exits.
        self.stdin = None;
        let deadline = Instant::now() + HANDLER_EXIT_GRACE;
        while Instant::now() < deadline {
            match lock(&self.child).try_wait() {
                Ok(Some(_)) | Err(_) => return Delivered::default(),
                Ok(None) => {}
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        warn!(
            "handler `{}` did not finish within {} of the end of its input; stopping it",
            self.command,
            format_duration(HANDLER_EXIT_GRACE)
        );
        kill_group(&mut lock(&self.child));
        Delivered::default()
    }
}

fn start(command: &str, symbol: &Symbol) -> io::Result<(Child, ChildStdin)> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("BINANCE_LISTEN_SYMBOL", symbol.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("the handler's stdin was not piped"))?;
    Ok((child, stdin))
}

fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("binance-listen-sink-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn files_are_appended_per_symbol() {
        let dir = temp_dir("append");
        let symbol: Symbol = "ethusdt".parse().unwrap();
        for line in [&b"a\n"[..], b"b\n"] {
            let mut output = FileOutput::open(&dir, &symbol).unwrap();
            output.write_batch(line, 1).1.unwrap();
            output.close();
        }
        let path = symbol_file(&dir, &symbol);
        assert!(path.ends_with("ETHUSDT.jsonl"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\n");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_full_disk_is_an_error_naming_the_file() {
        let symbol: Symbol = "ETHUSDT".parse().unwrap();
        let mut output = FileOutput {
            path: PathBuf::from("/dev/full"),
            file: OpenOptions::new().append(true).open("/dev/full").unwrap(),
        };
        let error = output.write_batch(b"line\n", 1).1.unwrap_err();
        assert_eq!(error.raw_os_error(), Some(28), "ENOSPC expected: {error}");
        assert_eq!(output.describe(), "/dev/full");
        drop(symbol);
    }

    #[test]
    fn handlers_get_their_symbol_and_their_lines() {
        let dir = temp_dir("exec");
        let symbol: Symbol = "BNBUSDT".parse().unwrap();
        let out = dir.join("out.txt");
        let template = format!(
            "cat > {}; echo {{symbol}} $BINANCE_LISTEN_SYMBOL >> {}",
            out.display(),
            out.display()
        );
        let mut handler =
            ExecOutput::spawn(&template, &symbol, StopToken::new(), &Handlers::default()).unwrap();
        handler.write_batch(b"one\ntwo\n", 2).1.unwrap();
        handler.close();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "one\ntwo\nBNBUSDT BNBUSDT\n"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn stuck_handlers_can_be_killed_from_outside() {
        let symbol: Symbol = "BNBUSDT".parse().unwrap();
        let handlers = Handlers::default();
        let mut handler =
            ExecOutput::spawn("sleep 30; true", &symbol, StopToken::new(), &handlers).unwrap();
        assert_eq!(handlers.kill_running(), 1);
        assert_eq!(handlers.kill_running(), 0);
        assert!(lock(&handler.child).try_wait().unwrap().is_some());
        handler.stdin = None;
    }

    #[test]
    fn a_handler_that_exits_is_restarted_and_gets_the_batch() {
        let dir = temp_dir("restart");
        let symbol: Symbol = "BNBUSDT".parse().unwrap();
        let marker = dir.join("ran-once");
        let out = dir.join("out.txt");
        // The first run exits at once without reading; the second copies its input.
        let template = format!(
            "if [ -e {m} ]; then cat >> {o}; else touch {m}; exit 3; fi",
            m = marker.display(),
            o = out.display()
        );
        let mut handler =
            ExecOutput::spawn(&template, &symbol, StopToken::new(), &Handlers::default()).unwrap();
        // Wait for the first run to exit so the write finds a closed pipe.
        while !marker.exists() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = lock(&handler.child).wait();
        handler.write_batch(b"kept\n", 1).1.unwrap();
        handler.close();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
