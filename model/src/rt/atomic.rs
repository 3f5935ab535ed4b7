//! A 64-bit atomic location (a page-table entry, a refcount, a flag).
//!
//! The kernel accessors map onto these orderings as documented in [`crate::ordering`].
//! Never rely on `SeqCst` *accesses*: loom treats them as acquire/release (DESIGN.md §2);
//! full ordering is expressed with [`fence`]`(SeqCst)`.

use super::{backend, Backend, Ordering};

/// A 64-bit atomic, backed by loom or shuttle.
///
/// shuttle's atomic (72 bytes) is boxed so that the enum is loom's size: a world's entry words
/// are built into a vector in every execution, and moving the larger enum cost a `memcpy` each
/// (measured with `ptcheck bench --baseline`: 1.33-1.37x -> 1.33x under loom, 1.32-1.34x ->
/// 1.29-1.30x under PCT, where the box's allocation costs less than the moves it saves).
pub enum Atomic {
    Loom(loom::sync::atomic::AtomicU64),
    Shuttle(Box<shuttle::sync::atomic::AtomicU64>),
}

impl Atomic {
    /// Create a location holding `v` for the current backend.
    pub fn new(v: u64) -> Self {
        match backend() {
            Backend::Loom => Atomic::Loom(loom::sync::atomic::AtomicU64::new(v)),
            Backend::Shuttle => Atomic::Shuttle(Box::new(shuttle::sync::atomic::AtomicU64::new(v))),
        }
    }

    pub fn load(&self, o: Ordering) -> u64 {
        match self {
            Atomic::Loom(a) => a.load(o),
            Atomic::Shuttle(a) => a.load(o),
        }
    }

    pub fn store(&self, v: u64, o: Ordering) {
        match self {
            Atomic::Loom(a) => a.store(v, o),
            Atomic::Shuttle(a) => a.store(v, o),
        }
    }

    pub fn swap(&self, v: u64, o: Ordering) -> u64 {
        match self {
            Atomic::Loom(a) => a.swap(v, o),
            Atomic::Shuttle(a) => a.swap(v, o),
        }
    }

    pub fn compare_exchange(
        &self,
        cur: u64,
        new: u64,
        ok: Ordering,
        fail: Ordering,
    ) -> Result<u64, u64> {
        match self {
            Atomic::Loom(a) => a.compare_exchange(cur, new, ok, fail),
            Atomic::Shuttle(a) => a.compare_exchange(cur, new, ok, fail),
        }
    }

    pub fn fetch_add(&self, v: u64, o: Ordering) -> u64 {
        match self {
            Atomic::Loom(a) => a.fetch_add(v, o),
            Atomic::Shuttle(a) => a.fetch_add(v, o),
        }
    }

    pub fn fetch_sub(&self, v: u64, o: Ordering) -> u64 {
        match self {
            Atomic::Loom(a) => a.fetch_sub(v, o),
            Atomic::Shuttle(a) => a.fetch_sub(v, o),
        }
    }

    /// One atomic read-modify-write step (one scheduling point), as `atomic_*_unless`.
    pub fn fetch_update(
        &self,
        set: Ordering,
        fetch: Ordering,
        f: impl FnMut(u64) -> Option<u64>,
    ) -> Result<u64, u64> {
        match self {
            Atomic::Loom(a) => a.fetch_update(set, fetch, f),
            Atomic::Shuttle(a) => a.fetch_update(set, fetch, f),
        }
    }
}

/// A memory fence for the current backend (`smp_mb` is `fence(SeqCst)`).
pub fn fence(o: Ordering) {
    match backend() {
        Backend::Loom => loom::sync::atomic::fence(o),
        Backend::Shuttle => shuttle::sync::atomic::fence(o),
    }
}
