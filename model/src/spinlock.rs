//! Spinlocks: the split pte lock `ptl`, the pmd lock, `mm->page_table_lock`, `pgd_lock`,
//! `task_lock`. `spin_lock` is acquire, `spin_unlock` release; a blocking acquire with
//! interrupts off against a holder that waits for this CPU's IPI answer is a deadlock the
//! explorers report. `spin_trylock` exists for exactly that case.

use crate::rt::RawLock;
use crate::world::Ctx;

/// A named kernel spinlock.
pub struct SpinLock {
    pub name: &'static str,
    lock: RawLock,
}

impl SpinLock {
    pub fn new(name: &'static str) -> Self {
        SpinLock {
            name,
            lock: RawLock::new(),
        }
    }
}

impl Ctx {
    /// `spin_lock(l)`.
    pub fn spin_lock(&self, l: &SpinLock, func: &'static str) {
        self.lock_raw(l);
        self.note(func, format!("spin_lock({})", l.name));
    }

    /// `spin_trylock(l)`: take it if free, never wait (the speculative fault's way to avoid
    /// waiting with interrupts off on a holder that waits for this CPU's IPI answer).
    pub fn spin_trylock(&self, l: &SpinLock, func: &'static str) -> bool {
        let ok = l.lock.try_lock();
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
        self.note(func, format!("spin_unlock({})", l.name));
        l.lock.unlock();
    }

    fn lock_raw(&self, l: &SpinLock) {
        l.lock.lock();
    }
}
