//! Spinlocks: the split pte lock `ptl`, the pmd lock, `mm->page_table_lock`, `pgd_lock`,
//! `task_lock`. `spin_lock` is acquire, `spin_unlock` release; a blocking acquire with
//! interrupts off against a holder that waits for this CPU's IPI answer is a deadlock the
//! explorers report. `spin_trylock` exists for exactly that case.
//!
//! Two representations. A lock nothing trylocks is the explorer's mutex ([`RawLock`]: one
//! scheduling point per operation). A lock some path trylocks ([`SpinLock::trylockable`]) is a
//! lock word taken by compare-and-swap, as the kernel's is: `spin_trylock` is one CAS that
//! fails while anyone holds the word and never waits. loom 0.7.3's `Mutex::try_lock` cannot be
//! used for it: when another thread acquires the mutex, loom blocks every thread whose next
//! operation is on it, a pending `try_lock` included, which reports deadlocks no schedule has
//! (checks/tests/litmus.rs keeps that measurement). A blocking `spin_lock` of a lock word
//! waits on a [`WaitQueue`] until the word is free, so a wait no one can end is still a
//! reported deadlock.

use crate::rt::{Atomic, Ordering, RawLock, WaitQueue};
use crate::world::Ctx;
use crate::{FrameName, What};

/// A named kernel spinlock.
pub struct SpinLock {
    pub name: &'static str,
    kind: Kind,
}

enum Kind {
    Mutex(RawLock),
    Word(Box<Word>),
}

struct Word {
    word: Atomic,
    waiters: WaitQueue,
}

impl SpinLock {
    /// A lock that is only ever taken with `spin_lock`.
    pub fn new(name: &'static str) -> Self {
        SpinLock {
            name,
            kind: Kind::Mutex(RawLock::new()),
        }
    }

    /// A lock some path takes with `spin_trylock` (a lock word; a few more scheduling points
    /// per `spin_unlock`, which wakes waiters).
    pub fn trylockable(name: &'static str) -> Self {
        SpinLock {
            name,
            kind: Kind::Word(Box::new(Word {
                word: Atomic::new(0),
                waiters: WaitQueue::new(),
            })),
        }
    }
}

fn take(word: &Atomic) -> bool {
    word.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
}

impl Ctx {
    /// `spin_lock(l)`.
    pub fn spin_lock(&self, l: &SpinLock, func: &'static str) {
        crate::trace::waiting(
            self.actor,
            Some(crate::trace::WaitFor::Lock {
                op: "spin_lock",
                lock: l.name,
                func,
                irqs_off: self.irqs_off(),
            }),
        );
        match &l.kind {
            Kind::Mutex(m) => m.lock(),
            Kind::Word(w) => {
                let Word { word, waiters } = &**w;
                while !take(word) {
                    waiters.wait_while(|| word.load(Ordering::Relaxed) != 0);
                }
            }
        }
        crate::trace::waiting(self.actor, None);
        self.note(
            func,
            What::Call {
                op: "spin_lock",
                frame: FrameName::Named(l.name),
            },
        );
    }

    /// `spin_trylock(l)`: take it if free, never wait (the speculative fault's way to avoid
    /// waiting with interrupts off on a holder that waits for this CPU's IPI answer; empty
    /// pte-table reclaim's way to take the pmd lock under the pte lock against the usual
    /// order). A model error on a lock not made with [`SpinLock::trylockable`].
    pub fn spin_trylock(&self, l: &SpinLock, func: &'static str) -> bool {
        let Kind::Word(w) = &l.kind else {
            panic!(
                "model error: spin_trylock({}) of a lock made with SpinLock::new: make it with \
                 SpinLock::trylockable",
                l.name
            );
        };
        let ok = take(&w.word);
        self.note(
            func,
            format!(
                "spin_trylock({}) = {}",
                l.name,
                if ok { "taken" } else { "busy" }
            ),
        );
        ok
    }

    /// `spin_unlock(l)`.
    pub fn spin_unlock(&self, l: &SpinLock, func: &'static str) {
        self.note(
            func,
            What::Call {
                op: "spin_unlock",
                frame: FrameName::Named(l.name),
            },
        );
        match &l.kind {
            Kind::Mutex(m) => m.unlock(),
            Kind::Word(w) => {
                let held = w.word.swap(0, Ordering::Release);
                assert_eq!(held, 1, "unlock of a lock that is not held");
                w.waiters.wake_all();
            }
        }
    }
}
