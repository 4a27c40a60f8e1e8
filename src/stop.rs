//! [`StopToken`]: one pipeline's "stop now", shared by its reader, its processor and `app`.
//!
//! Hot loops poll it with one relaxed load; waits (`--delay`, reconnect backoff, the
//! processor's idle `recv`) select on its channel, which disconnects when the token is
//! triggered, so a sleeping thread wakes at once instead of finishing a 200 ms nap.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};

/// A cloneable stop flag with an interruptible sleep.
#[derive(Clone, Debug)]
pub struct StopToken {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    triggered: AtomicBool,
    /// Dropped on trigger: every `wake` receiver then sees "disconnected" at once.
    wake_sender: Mutex<Option<Sender<()>>>,
    wake: Receiver<()>,
}

impl StopToken {
    /// A token that has not been triggered.
    pub fn new() -> Self {
        let (sender, wake) = bounded(0);
        Self {
            inner: Arc::new(Inner {
                triggered: AtomicBool::new(false),
                wake_sender: Mutex::new(Some(sender)),
                wake,
            }),
        }
    }

    /// Asks every holder to stop. Idempotent.
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::Relaxed);
        // A poisoned lock only means another thread panicked while triggering; the
        // sender is still ours to drop.
        let mut sender = self
            .inner
            .wake_sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sender.take();
    }

    /// Whether [`trigger`](Self::trigger) was called. One relaxed load: cheap enough per message.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Relaxed)
    }

    /// Sleeps for `duration` unless triggered first; returns `false` when triggered.
    pub fn sleep(&self, duration: Duration) -> bool {
        if self.is_triggered() {
            return false;
        }
        match self.inner.wake.recv_timeout(duration) {
            Err(RecvTimeoutError::Timeout) => !self.is_triggered(),
            Ok(()) | Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    /// A receiver that becomes ready (disconnected) when the token is triggered, for `select!`.
    pub fn wake_channel(&self) -> &Receiver<()> {
        &self.inner.wake
    }
}

impl Default for StopToken {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn trigger_wakes_a_long_sleep_at_once() {
        let token = StopToken::new();
        let sleeper = token.clone();
        let started = Instant::now();
        let thread = std::thread::spawn(move || sleeper.sleep(Duration::from_secs(30)));
        token.trigger();
        assert!(!thread.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(token.is_triggered());
    }

    #[test]
    fn an_untriggered_sleep_runs_its_course() {
        let token = StopToken::new();
        assert!(token.sleep(Duration::from_millis(1)));
        assert!(!token.is_triggered());
    }
}
