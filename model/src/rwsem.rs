//! A reader/writer semaphore: `mmap_sem` (`mmap_lock` since v5.8). `down_read` / `up_read`
//! may be held by many CPUs at once, `down_write` / `up_write` by one CPU and no reader
//! (kernel/locking/rwsem.c). The classic page fault holds it for reading, `munmap` and
//! `mprotect` for writing; the speculative fault of the 2017 seed does not take it at all.
//!
//! Modelled as one lock word taken by compare-and-swap (the count of readers, or the writer
//! bit), acquire on taking and release on dropping, with a [`WaitQueue`] for the sleepers:
//! a `down_*` that can never succeed is part of a reported deadlock, with its position.
//! Fairness (a waiting writer holding off new readers) is not modelled: it changes which CPU
//! waits, not which orders are possible between the holders.

use crate::rt::{Atomic, Ordering, WaitQueue};
use crate::world::Ctx;
use crate::{FrameName, What};

/// The writer bit of the lock word (below it: the number of readers).
const WRITER: u64 = 1 << 32;

/// A named reader/writer semaphore.
pub struct RwSem {
    pub name: &'static str,
    word: Atomic,
    waiters: WaitQueue,
}

impl RwSem {
    pub fn new(name: &'static str) -> Self {
        RwSem {
            name,
            word: Atomic::new(0),
            waiters: WaitQueue::new(),
        }
    }
}

impl Ctx {
    fn rwsem_wait(
        &self,
        s: &RwSem,
        op: &'static str,
        func: &'static str,
        free: impl Fn(u64) -> bool,
    ) {
        crate::trace::waiting(
            self.actor,
            Some(crate::trace::WaitFor::Lock {
                op,
                lock: s.name,
                func,
                irqs_off: self.irqs_off(),
            }),
        );
        s.waiters
            .wait_while(|| !free(s.word.load(Ordering::Relaxed)));
        crate::trace::waiting(self.actor, None);
    }

    /// `down_read(sem)`: wait while a writer holds it, then count this CPU as a reader.
    pub fn down_read(&self, s: &RwSem, func: &'static str) {
        loop {
            let v = s.word.load(Ordering::Relaxed);
            if v & WRITER == 0
                && s.word
                    .compare_exchange(v, v + 1, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                break;
            }
            self.rwsem_wait(s, "down_read", func, |v| v & WRITER == 0);
        }
        self.note(
            func,
            What::Call {
                op: "down_read",
                frame: FrameName::Named(s.name),
            },
        );
    }

    /// `up_read(sem)`.
    pub fn up_read(&self, s: &RwSem, func: &'static str) {
        self.note(
            func,
            What::Call {
                op: "up_read",
                frame: FrameName::Named(s.name),
            },
        );
        let v = s.word.fetch_sub(1, Ordering::Release);
        assert!(
            v & !WRITER > 0 && v & WRITER == 0,
            "up_read({}) not held for reading",
            s.name
        );
        s.waiters.wake_all();
    }

    /// `down_write(sem)`: wait until no reader or writer holds it.
    pub fn down_write(&self, s: &RwSem, func: &'static str) {
        while s
            .word
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.rwsem_wait(s, "down_write", func, |v| v == 0);
        }
        self.note(
            func,
            What::Call {
                op: "down_write",
                frame: FrameName::Named(s.name),
            },
        );
    }

    /// `up_write(sem)`.
    pub fn up_write(&self, s: &RwSem, func: &'static str) {
        self.note(
            func,
            What::Call {
                op: "up_write",
                frame: FrameName::Named(s.name),
            },
        );
        let v = s.word.swap(0, Ordering::Release);
        assert_eq!(v, WRITER, "up_write({}) not held for writing", s.name);
        s.waiters.wake_all();
    }
}
