//! The runtime facade: the only place that names loom or shuttle.
//!
//! Every shared location of the model (a page-table entry, a refcount, a lock, a frame's
//! happens-before shadow) is one of the types below. Each is an enum over the two explorers'
//! types, picked when the value is created from the backend the current exploration runs
//! under ([`set_backend`], called by the explorer before it enters the model). Scenario code
//! never sees the difference, which is what lets one scenario run under loom (exhaustive, C11
//! weak memory) and shuttle (random/PCT/DFS, sequentially consistent) unchanged.
//!
//! Cost rule (DESIGN.md §2): every operation here except [`Epochs`] records and
//! [`yield_now`] bookkeeping is a scheduling point for the explorer. Keep them few.

mod atomic;
mod causality;
mod lock;
mod thread;
mod wait;

pub use atomic::{fence, Atomic};
pub use causality::{Contents, Epochs};
pub use lock::RawLock;
pub use std::sync::atomic::Ordering;
pub use thread::{spawn, JoinHandle};
pub use wait::WaitQueue;

use std::cell::Cell;

/// Which explorer drives the current execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// loom: exhaustive DPOR over schedules, C11 memory model.
    Loom,
    /// shuttle: randomized / PCT / DFS schedules, sequential consistency.
    Shuttle,
}

thread_local! {
    static BACKEND: Cell<Backend> = const { Cell::new(Backend::Loom) };
}

/// Select the backend for model objects created from now on in this OS thread.
///
/// Both explorers run all model threads as coroutines on the calling OS thread, so one
/// thread-local covers every model thread of an execution.
pub fn set_backend(b: Backend) {
    BACKEND.with(|c| c.set(b));
}

/// The backend model objects are created for.
pub fn backend() -> Backend {
    BACKEND.with(|c| c.get())
}

/// Yield to the explorer inside a wait loop (needed by loom, honoured by shuttle random/PCT).
pub fn yield_now() {
    match backend() {
        Backend::Loom => loom::thread::yield_now(),
        Backend::Shuttle => shuttle::thread::yield_now(),
    }
}
