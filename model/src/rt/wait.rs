//! A wait queue: the explorer's `Mutex<()>` and `Condvar`, for a thread that must block until
//! a condition on other model state holds (a lock word that [`crate::spinlock`] takes by
//! compare-and-swap). Blocking here is visible to the explorers: a thread waiting for a
//! condition no other thread can make true is part of a reported deadlock.

use super::{backend, Backend};

// Boxed once in `WaitQueue`; the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Loom(loom::sync::Mutex<()>, loom::sync::Condvar),
    Shuttle(shuttle::sync::Mutex<()>, shuttle::sync::Condvar),
}

/// Threads waiting for a condition; whoever changes it calls [`WaitQueue::wake_all`].
pub struct WaitQueue {
    inner: Box<Inner>,
}

impl WaitQueue {
    pub fn new() -> Self {
        let inner = match backend() {
            Backend::Loom => Inner::Loom(loom::sync::Mutex::new(()), loom::sync::Condvar::new()),
            Backend::Shuttle => {
                Inner::Shuttle(shuttle::sync::Mutex::new(()), shuttle::sync::Condvar::new())
            }
        };
        WaitQueue {
            inner: Box::new(inner),
        }
    }

    /// Block while `blocked()` holds, checking it under the queue's mutex (so a
    /// [`WaitQueue::wake_all`] after the condition changed is never lost).
    pub fn wait_while(&self, mut blocked: impl FnMut() -> bool) {
        match &*self.inner {
            Inner::Loom(m, cv) => {
                let mut g = m.lock().expect("model wait queue poisoned");
                while blocked() {
                    g = cv.wait(g).expect("model wait queue poisoned");
                }
            }
            Inner::Shuttle(m, cv) => {
                let mut g = m.lock().expect("model wait queue poisoned");
                while blocked() {
                    g = cv.wait(g).expect("model wait queue poisoned");
                }
            }
        }
    }

    /// Wake every waiter (call after changing the condition).
    pub fn wake_all(&self) {
        match &*self.inner {
            Inner::Loom(m, cv) => {
                let _g = m.lock().expect("model wait queue poisoned");
                cv.notify_all();
            }
            Inner::Shuttle(m, cv) => {
                let _g = m.lock().expect("model wait queue poisoned");
                cv.notify_all();
            }
        }
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}
