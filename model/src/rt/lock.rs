//! A lock that can be taken in one function and released in another.
//!
//! Kernel sections do not follow Rust scopes: `local_irq_save` in one function,
//! `local_irq_restore` in another; `spin_lock(ptl)` in `pte_offset_map_lock`, the unlock in
//! `pte_unmap_unlock`. [`RawLock`] wraps the explorer's `Mutex<()>` (acquire on lock, release on
//! unlock, blocking wait, deadlock detection) and parks the guard inside itself.

use super::{backend, Backend};
use std::ptr::NonNull;

#[allow(dead_code)] // held for its Drop: dropping it releases the mutex
enum Guard {
    Loom(loom::sync::MutexGuard<'static, ()>),
    Shuttle(shuttle::sync::MutexGuard<'static, ()>),
}

/// The mutex, borrowed for a guard parked in the lock ([`RawLock::parked`]).
enum Parked {
    Loom(&'static loom::sync::Mutex<()>),
    Shuttle(&'static shuttle::sync::Mutex<()>),
}

/// Each explorer's mutex on the heap, at its own size (the two differ several-fold, and a lock
/// is built for every CPU in every execution). Owned through a raw pointer, not a `Box`: a
/// parked guard borrows it while the lock moves, which a `Box` (a unique owner) does not allow.
/// Freed in [`RawLock`]'s `Drop`, after the guard.
enum Mutex {
    Loom(NonNull<loom::sync::Mutex<()>>),
    Shuttle(NonNull<shuttle::sync::Mutex<()>>),
}

/// A mutex whose critical section is not tied to a Rust scope.
pub struct RawLock {
    guard: std::cell::UnsafeCell<Option<Guard>>,
    mutex: Mutex,
}

// SAFETY: every model thread of an execution runs as a coroutine on one OS thread, one at a
// time; `guard` is only touched by the thread that holds `mutex`, after acquiring it and before
// releasing it, so no two accesses to it can overlap.
unsafe impl Sync for RawLock {}
unsafe impl Send for RawLock {}

impl RawLock {
    pub fn new() -> Self {
        let mutex = match backend() {
            Backend::Loom => Mutex::Loom(NonNull::from(Box::leak(Box::new(
                loom::sync::Mutex::new(()),
            )))),
            Backend::Shuttle => Mutex::Shuttle(NonNull::from(Box::leak(Box::new(
                shuttle::sync::Mutex::new(()),
            )))),
        };
        RawLock {
            guard: std::cell::UnsafeCell::new(None),
            mutex,
        }
    }

    /// The explorer's mutex, borrowed for as long as a parked guard may need it.
    ///
    /// # Safety
    /// The `'static` is a lie the caller must keep: the mutex lives on the heap (its address
    /// does not change when `self` moves) until `self` is dropped, and a guard made from the
    /// borrow must be dropped before that (`unlock`, or `Drop`, which takes the guard first).
    unsafe fn parked(&self) -> Parked {
        match self.mutex {
            // SAFETY: allocated in `new`, freed only in `Drop`; see above for the lifetime.
            Mutex::Loom(m) => Parked::Loom(unsafe { &*m.as_ptr() }),
            // SAFETY: as above.
            Mutex::Shuttle(m) => Parked::Shuttle(unsafe { &*m.as_ptr() }),
        }
    }

    /// Acquire (a scheduling point; blocks while another thread holds it).
    pub fn lock(&self) {
        // SAFETY: the guard is parked in `self.guard`, dropped in `unlock` or `Drop`.
        let g = match unsafe { self.parked() } {
            Parked::Loom(m) => Guard::Loom(m.lock().expect("model lock poisoned")),
            Parked::Shuttle(m) => Guard::Shuttle(m.lock().expect("model lock poisoned")),
        };
        // SAFETY: we hold the mutex (see the Sync impl).
        unsafe { *self.guard.get() = Some(g) };
    }

    /// Try to acquire without blocking (a scheduling point); `true` if taken.
    pub fn try_lock(&self) -> bool {
        // SAFETY: as in `lock`.
        let g = match unsafe { self.parked() } {
            Parked::Loom(m) => m.try_lock().ok().map(Guard::Loom),
            Parked::Shuttle(m) => m.try_lock().ok().map(Guard::Shuttle),
        };
        let taken = g.is_some();
        if taken {
            // SAFETY: we hold the mutex (see the Sync impl).
            unsafe { *self.guard.get() = g };
        }
        taken
    }

    /// Release; panics if not held (a model bug, not a finding).
    pub fn unlock(&self) {
        // SAFETY: only the holder reaches here (see the Sync impl).
        let g = unsafe { (*self.guard.get()).take() };
        assert!(g.is_some(), "unlock of a lock that is not held");
        drop(g);
    }

    /// Take and release at once: wait until no one holds it (an IPI being answered, a grace
    /// period passing a CPU).
    pub fn wait_unheld(&self) {
        self.lock();
        self.unlock();
    }
}

impl Drop for RawLock {
    fn drop(&mut self) {
        // A lock still held when a failing execution unwinds (a violation raised inside an
        // irq-off section, say) may be dropped after the explorer tore its execution down:
        // releasing it then would touch explorer state that is gone and abort the process.
        // The execution is over, so the release would have no observer: forget the guard.
        if let Some(g) = self.guard.get_mut().take() {
            if std::thread::panicking() {
                std::mem::forget(g);
            } else {
                drop(g);
            }
        }
        // The guard is gone: free the mutex (as the `Box` of `new`, which it was).
        match self.mutex {
            // SAFETY: made by `Box::leak` in `new`, freed only here, once; no borrow is left.
            Mutex::Loom(m) => drop(unsafe { Box::from_raw(m.as_ptr()) }),
            // SAFETY: as above.
            Mutex::Shuttle(m) => drop(unsafe { Box::from_raw(m.as_ptr()) }),
        }
    }
}

impl Default for RawLock {
    fn default() -> Self {
        Self::new()
    }
}
