//! The happens-before shadow of a frame's contents.
//!
//! DESIGN.md §2: "use-after-free means the free is not ordered after the access". Under loom a
//! frame carries a `loom::cell::UnsafeCell<()>`: every access to the frame is a read of the cell
//! and its free a write (`touch` and `touch_mut`, the vendored loom's one-step `with(|_| ())` and
//! `with_mut(|_| ())`, vendor/loom/PTCHECK-PATCH.md). loom then reports a free that is not
//! *happens-after* every earlier access (the free returns `false`), even when the interleaving
//! put the access first; the world turns that into a typed use-after-free. Under shuttle
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
            ShadowCell::Loom(c) => c.touch(),
            ShadowCell::Shuttle => {}
            ShadowCell::Untracked => panic!(
                "model bug: an access to the contents of a frame built without a shadow cell"
            ),
        }
    }

    /// Record the free; `false` if some earlier access does not happen before it (loom
    /// only: under shuttle, interleaving order is the whole story).
    pub fn free(&self) -> bool {
        match self {
            ShadowCell::Loom(c) => c.touch_mut(),
            ShadowCell::Shuttle | ShadowCell::Untracked => true,
        }
    }
}

impl Default for ShadowCell {
    fn default() -> Self {
        Self::new()
    }
}
