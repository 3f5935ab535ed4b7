//! The happens-before shadow of a frame's contents.
//!
//! DESIGN.md §2: "use-after-free means the free is not ordered after the access". Under loom a
//! frame carries a `loom::cell::UnsafeCell<()>`: every access to the frame is a `with` (a read of
//! the cell) and its free is a `with_mut` (a write). loom then reports a free that is not
//! *happens-after* every earlier access as a causality violation, even when the interleaving put
//! the access first; the explorer turns that report into a typed use-after-free. Under shuttle
//! (sequentially consistent) interleaving order is the whole story and the cell is empty.
//!
//! Cell accesses are not scheduling points in either explorer.

use super::{backend, Backend};

pub enum ShadowCell {
    Loom(loom::cell::UnsafeCell<()>),
    Shuttle,
    /// A frame whose contents no kernel path of the model reads or writes (a data page, whose
    /// refcount is its own explorer-tracked word): no cell, so its free checks nothing, and an
    /// access is a model bug.
    Untracked,
}

// SAFETY: the cell holds `()`: nothing is ever read or written through it. It exists only
// so that loom tracks the accesses and checks their happens-before order, which is its job.
unsafe impl Sync for ShadowCell {}
unsafe impl Send for ShadowCell {}

impl ShadowCell {
    pub fn new() -> Self {
        match backend() {
            Backend::Loom => ShadowCell::Loom(loom::cell::UnsafeCell::new(())),
            Backend::Shuttle => ShadowCell::Shuttle,
        }
    }

    /// See [`ShadowCell::Untracked`].
    pub fn untracked() -> Self {
        ShadowCell::Untracked
    }

    /// Record an access (a read of the frame's contents).
    pub fn access(&self) {
        match self {
            ShadowCell::Loom(c) => c.with(|_| ()),
            ShadowCell::Shuttle => {}
            ShadowCell::Untracked => panic!(
                "model bug: an access to the contents of a frame built without a shadow cell"
            ),
        }
    }

    /// Record the free: must happen after every earlier access.
    pub fn free(&self) {
        if let ShadowCell::Loom(c) = self {
            c.with_mut(|_| ());
        }
    }
}

impl Default for ShadowCell {
    fn default() -> Self {
        Self::new()
    }
}
