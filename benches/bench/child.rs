//! A measured child process (the listener, the bare client): its wall time from spawn to
//! exit, and its own CPU time (user + system, all threads) read from `/proc/<pid>/stat`
//! after it has exited but before it is reaped (`waitid` with `WNOWAIT` keeps the zombie
//! and its totals), so no other child's time is mixed in. While it runs, a sampler reads
//! each thread's CPU time, to split it between readers (`ws-*`) and processors (`proc-*`).

use std::collections::HashMap;
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};

/// How often the per-thread sampler reads `/proc/<pid>/task/*/stat`.
const THREAD_SAMPLE_INTERVAL: Duration = Duration::from_millis(20);

/// `USER_HZ`: the unit of the CPU times in `/proc/*/stat` on every Linux this runs on.
const CLOCK_TICKS_PER_SECOND: u64 = 100;

/// What a measured child used.
#[derive(Debug)]
pub(crate) struct Usage {
    pub(crate) status: Option<ExitStatus>,
    pub(crate) wall: Duration,
    /// User + system time of every thread.
    pub(crate) cpu: Duration,
    /// CPU by thread role (`ws`, `proc`, `other`) from the last samples before exit: a
    /// lower bound, missing at most one sampling interval of each thread.
    pub(crate) threads: HashMap<&'static str, Duration>,
}

/// A running child under measurement.
pub(crate) struct Measured {
    child: Child,
    started: Instant,
    sampling: Arc<AtomicBool>,
    sampler: Option<JoinHandle<HashMap<u32, (String, u64)>>>,
}

impl Measured {
    /// Measures `child`, spawned at `started`.
    pub(crate) fn new(child: Child, started: Instant) -> Self {
        let pid = child.id();
        let sampling = Arc::new(AtomicBool::new(true));
        let running = Arc::clone(&sampling);
        let sampler = std::thread::spawn(move || {
            let mut seen = HashMap::new();
            while running.load(Ordering::Relaxed) {
                sample_threads(pid, &mut seen);
                std::thread::sleep(THREAD_SAMPLE_INTERVAL);
            }
            seen
        });
        Self {
            child,
            started,
            sampling,
            sampler: Some(sampler),
        }
    }

    pub(crate) fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for the child to exit, reads its totals, then reaps it.
    pub(crate) fn finish(mut self) -> Usage {
        let pid = Pid::from_raw(self.child.id() as i32).expect("a child's pid is positive");
        let exited = waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        );
        let wall = self.started.elapsed();
        let cpu = process_cpu(self.child.id());
        self.sampling.store(false, Ordering::Relaxed);
        let seen = self
            .sampler
            .take()
            .and_then(|sampler| sampler.join().ok())
            .unwrap_or_default();
        let status = self.child.wait().ok();
        if let Err(error) = exited {
            eprintln!("waitid failed ({error}): CPU figures are missing");
        }
        let mut threads = HashMap::new();
        for (name, ticks) in seen.into_values() {
            let role = if name.starts_with("ws-") {
                "ws"
            } else if name.starts_with("proc-") {
                "proc"
            } else {
                "other"
            };
            *threads.entry(role).or_insert(Duration::ZERO) += ticks_to_duration(ticks);
        }
        Usage {
            status,
            wall,
            cpu,
            threads,
        }
    }
}

/// Records each thread's name and CPU ticks (user + system) in `seen`, by thread id.
fn sample_threads(pid: u32, seen: &mut HashMap<u32, (String, u64)>) {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task.file_name().to_str().and_then(|tid| tid.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, rest)| rest.rsplit_once(')'))
            .map_or("", |(name, _)| name);
        let ticks = stat_cpu_ticks(&stat);
        seen.insert(tid, (name.to_owned(), ticks));
    }
}

/// User + system CPU time so far of `pid`'s threads whose names start with `prefix`.
pub(crate) fn threads_cpu(pid: u32, prefix: &str) -> Duration {
    let mut seen = HashMap::new();
    sample_threads(pid, &mut seen);
    let ticks = seen
        .values()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(_, ticks)| ticks)
        .sum();
    ticks_to_duration(ticks)
}

/// User + system CPU time of process `pid` so far, every thread (/proc/PID/stat).
pub(crate) fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    ticks_to_duration(stat_cpu_ticks(&stat))
}

/// utime + stime (fields 14 and 15) of a `stat` line.
fn stat_cpu_ticks(stat: &str) -> u64 {
    let fields: Vec<u64> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_millis(ticks * 1000 / CLOCK_TICKS_PER_SECOND)
}

/// What a running listener used over a measuring window ([`measure_then_stop`]).
pub(crate) struct Window {
    /// CPU time of the whole process over the window.
    pub(crate) cpu: Duration,
    /// How long the window really lasted.
    pub(crate) elapsed: Duration,
    /// VmRSS and VmHWM at the window's end, in KB.
    pub(crate) rss_kb: u64,
    pub(crate) peak_kb: u64,
    /// Threads at the window's end.
    pub(crate) threads: u64,
}

impl Window {
    /// CPU over the window, in percent of one core.
    pub(crate) fn cpu_percent(&self) -> f64 {
        self.cpu.as_secs_f64() * 100.0 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Lets `child` settle for 2 s, measures its CPU over `seconds` and its memory at the end,
/// then stops it with SIGINT and waits for it.
pub(crate) fn measure_then_stop(child: &mut Child, seconds: u64) -> Window {
    let pid = child.id();
    std::thread::sleep(Duration::from_secs(2));
    let cpu_start = process_cpu(pid);
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let cpu = process_cpu(pid).saturating_sub(cpu_start);
    let elapsed = window.elapsed();
    let (rss_kb, peak_kb, threads) = process_memory(pid);
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let _ = child.wait();
    Window {
        cpu,
        elapsed,
        rss_kb,
        peak_kb,
        threads,
    }
}

/// VmRSS and VmHWM in KB, and the thread count, of process `pid`.
pub(crate) fn process_memory(pid: u32) -> (u64, u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let value = |key: &str| {
        status
            .lines()
            .find(|line| line.starts_with(key))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|number| number.parse().ok())
            .unwrap_or(0)
    };
    (value("VmRSS:"), value("VmHWM:"), value("Threads:"))
}
