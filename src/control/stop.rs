//! [`StopToken`]: one pipeline's "stop now", shared by its reader, its processor and `app`.
//!
//! Hot loops poll it with one relaxed load. Waits wake at once when it is triggered,
//! instead of finishing a 200 ms nap: a sleep (`--delay`, reconnect backoff) and an idle
//! processor park their thread, which the token unparks ([`StopToken::unpark_on_trigger`]);
//! waits that select over several channels select on its channel, which disconnects on
//! trigger. Parking costs no CPU before the thread sleeps: crossbeam's blocking calls
//! spin and yield a few times first, which a thousand symbols at one message a second
//! each pay thousands of times a second.
//!
//! A reader blocked in a socket read is woken by shutting the socket's read side down
//! ([`StopToken::watch`]): its read returns at once, and it can still send its close
//! frame. So readers need no short read timeout to notice a stop, and a thousand idle
//! symbols do not wake up four thousand times a second to check a flag. The token holds
//! the reader's own socket (shared, not cloned), so watching costs no file descriptor.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

/// A cloneable stop flag with an interruptible sleep.
#[derive(Clone, Debug)]
pub(crate) struct StopToken {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    triggered: AtomicBool,
    /// Dropped on trigger: every `wake` receiver then sees "disconnected" at once.
    wake_sender: Mutex<Option<Sender<()>>>,
    wake: Receiver<()>,
    /// Sockets whose read side is shut down on trigger, by watch id.
    sockets: Mutex<Vec<(u64, Arc<TcpStream>)>>,
    /// Threads unparked on trigger, by registration id.
    threads: Mutex<Vec<(u64, Thread)>>,
}

/// A fresh id for a watch or a registration.
fn next_id() -> u64 {
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Keeps a socket watched by a [`StopToken`]; dropping it stops the watch.
#[derive(Debug)]
pub(crate) struct Watch {
    token: StopToken,
    id: u64,
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock(&self.token.inner.sockets).retain(|(id, _)| *id != self.id);
    }
}

/// Keeps a thread unparked by a [`StopToken`]'s trigger; dropping it ends that.
#[derive(Debug)]
pub(crate) struct Unparker {
    token: StopToken,
    id: u64,
}

impl Drop for Unparker {
    fn drop(&mut self) {
        lock(&self.token.inner.threads).retain(|(id, _)| *id != self.id);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another thread panicked holding it; the data is intact.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StopToken {
    /// A token that has not been triggered.
    pub(crate) fn new() -> Self {
        let (sender, wake) = bounded(0);
        Self {
            inner: Arc::new(Inner {
                triggered: AtomicBool::new(false),
                wake_sender: Mutex::new(Some(sender)),
                wake,
                sockets: Mutex::new(Vec::new()),
                threads: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Asks every holder to stop. Idempotent.
    pub(crate) fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::Relaxed);
        lock(&self.inner.wake_sender).take();
        for (_, socket) in lock(&self.inner.sockets).iter() {
            // Wakes a read blocked on it; writing (the close frame) still works.
            let _ = socket.shutdown(Shutdown::Read);
        }
        // An unpark before the park makes the park return at once: none is missed.
        for (_, thread) in lock(&self.inner.threads).iter() {
            thread.unpark();
        }
    }

    /// Unparks `thread` when the token is triggered (at once if it already was), until the
    /// returned [`Unparker`] is dropped. A thread that parks must look at
    /// [`is_triggered`](Self::is_triggered) after registering and before each park.
    pub(crate) fn unpark_on_trigger(&self, thread: Thread) -> Unparker {
        let id = next_id();
        lock(&self.inner.threads).push((id, thread.clone()));
        if self.is_triggered() {
            thread.unpark();
        }
        Unparker {
            token: self.clone(),
            id,
        }
    }

    /// Shuts `socket`'s read side down when the token is triggered (at once if it already
    /// was), until the returned [`Watch`] is dropped. The token keeps a reference to the
    /// same socket, not a duplicate descriptor.
    pub(crate) fn watch(&self, socket: &Arc<TcpStream>) -> Watch {
        let id = next_id();
        lock(&self.inner.sockets).push((id, Arc::clone(socket)));
        if self.is_triggered() {
            let _ = socket.shutdown(Shutdown::Read);
        }
        Watch {
            token: self.clone(),
            id,
        }
    }

    /// Whether [`trigger`](Self::trigger) was called. One relaxed load: cheap enough per message.
    pub(crate) fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::Relaxed)
    }

    /// Sleeps for `duration` unless triggered first; returns `false` when triggered.
    /// The thread parks: no spinning or yielding first.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        if self.is_triggered() {
            return false;
        }
        let deadline = Instant::now() + duration;
        let _unparker = self.unpark_on_trigger(std::thread::current());
        loop {
            if self.is_triggered() {
                return false;
            }
            // Parks may end early (an unpark meant for an earlier wait): look again.
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::park_timeout(deadline - now);
        }
    }

    /// A receiver that becomes ready (disconnected) when the token is triggered, for `select!`.
    pub(crate) fn wake_channel(&self) -> &Receiver<()> {
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
    fn trigger_wakes_a_blocked_socket_read() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = Arc::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        let _server = listener.accept().unwrap();
        let token = StopToken::new();
        let watch = token.watch(&client);
        let reading = Arc::clone(&client);
        let reader = std::thread::spawn(move || {
            let mut byte = [0u8; 1];
            (&*reading).read(&mut byte).unwrap()
        });
        token.trigger();
        assert_eq!(reader.join().unwrap(), 0, "the read sees end of input");
        drop(watch);
        assert!(lock(&token.inner.sockets).is_empty());
        assert_eq!(
            Arc::strong_count(&client),
            1,
            "the watch let go of the socket"
        );
    }

    #[test]
    fn an_untriggered_sleep_runs_its_course() {
        let token = StopToken::new();
        assert!(token.sleep(Duration::from_millis(1)));
        assert!(!token.is_triggered());
    }
}
