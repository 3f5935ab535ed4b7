//! The happens-before shadow of a frame's contents: which access and which free of it each
//! thread made last, as vector-clock epochs.
//!
//! DESIGN.md §2: "use-after-free means the free is not ordered after the access". Under loom a
//! frame keeps, per loom thread, the epoch of that thread's latest access to the frame and of
//! its latest free (its own component of loom's vector clock at the event: for an access, the
//! epoch of the atomic operation that is the access, `loom::causality::last`; for a free, a new
//! event, `loom::causality::tick`). Loom's clocks spread only by joining whole vectors, so a thread
//! whose clock holds another thread's epoch is ordered after that event and everything the other
//! thread did before it: a free is ordered after every earlier access exactly when the freeing
//! thread's clock holds each recorded epoch (the epoch representation of FastTrack, Flanagan and
//! Freund, PLDI 2009). The world turns a free that is not into a typed use-after-free, even
//! when the interleaving put the access first.
//!
//! Until December 2026 a `loom::cell::UnsafeCell<()>` per frame did this job, read at every
//! access and written at the free; its object in loom's store and the lookups at every access
//! were measured at about a twentieth of an execution's cost (`ptcheck bench --baseline`). The
//! epochs give the cell's answers with two differences, both deliberate:
//! - An access is recorded at the epoch of its own atomic operation (the entry load, store or
//!   exchange it is), where the cell recorded a separate event just after it. A free whose
//!   thread acquired the very value the access stored (a release store that is the access) is
//!   ordered after it, which the cell called unordered: a false positive the matrix never
//!   reached (`ptcheck check` gives the same verdicts and counterexamples either way).
//! - No creation clock: every frame is built before any CPU is spawned, so its creation is
//!   ordered before every access.
//!
//! loom's `fence(SeqCst)` joins a global clock both ways (DESIGN.md §2), so an access followed
//! by an `smp_mb()` counts as ordered before a free that follows another CPU's `smp_mb()`, with
//! no reads-from between them: the epochs see what loom's clocks say, as the cell did, and the
//! interleaving-order check (the free's stores of `Entry::POISON`) is what catches that shape.
//! Under shuttle (sequentially consistent) interleaving order is the whole story and nothing is
//! recorded.
//!
//! No operation here is a scheduling point in either explorer.

use super::{backend, Backend};

/// What a frame's contents are checked with (chosen when the world is built).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contents {
    /// loom: the epochs in [`Epochs`].
    Loom,
    /// shuttle: nothing (interleaving order is checked by the world itself).
    Shuttle,
    /// A frame whose contents no kernel path of the model reads or writes (a data page, whose
    /// refcount is its own explorer-tracked word): its free checks nothing, and an access is a
    /// model bug.
    Untracked,
}

impl Contents {
    /// Checked under the backend the current exploration runs under.
    pub fn tracked() -> Self {
        match backend() {
            Backend::Loom => Contents::Loom,
            Backend::Shuttle => Contents::Shuttle,
        }
    }
}

/// Epochs of loom thread `i`'s latest access and latest free of one frame (0: none; a thread's
/// clock is at least 1 after its first event).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Epochs {
    access: [u16; loom::MAX_THREADS],
    free: [u16; loom::MAX_THREADS],
}

impl Epochs {
    /// Record an access to the frame (a read of its contents, as far as ordering goes), made by
    /// the atomic operation the running thread has just made on the frame, in the same step:
    /// its epoch is that operation's (`loom::causality::last`). It must be ordered after the
    /// frame's last free, if it has one (a data page handed to another user after its free,
    /// [`crate::world::World::reuse`]); the world reports an access to a frame still freed
    /// before it gets here.
    #[inline]
    pub fn access(&mut self, contents: Contents, frame: &dyn std::fmt::Display) {
        match contents {
            Contents::Loom => {
                let (thread, epoch) = loom::causality::last();
                if self.free != [0; loom::MAX_THREADS] {
                    self.check_after_free(frame);
                }
                self.access[thread] = epoch;
            }
            Contents::Shuttle => {}
            Contents::Untracked => panic!(
                "model bug: an access to the contents of {frame}, a frame built as untracked"
            ),
        }
    }

    /// An access to a frame freed before (and reallocated since) must be ordered after that
    /// free, as loom's cell check had it: a model error otherwise.
    #[cold]
    fn check_after_free(&self, frame: &dyn std::fmt::Display) {
        let now = loom::causality::tick();
        if let Some(t) = (0..self.free.len()).find(|&t| !now.knows(t, self.free[t])) {
            panic!(
                "model error: Causality violation: an access to {frame} by loom thread {} is \
                 not ordered after its free by loom thread {t}",
                now.thread
            );
        }
    }

    /// Record the free; `false` if some earlier access or free does not happen before it
    /// (loom only: under shuttle, interleaving order is the whole story).
    pub fn free(&mut self, contents: Contents) -> bool {
        match contents {
            Contents::Loom => {
                let now = loom::causality::tick();
                let ordered = (0..self.access.len())
                    .all(|t| now.knows(t, self.access[t]) && now.knows(t, self.free[t]));
                self.free[now.thread] = now.epoch();
                ordered
            }
            Contents::Shuttle | Contents::Untracked => true,
        }
    }

    /// Forget every epoch (the next execution's frame starts with none).
    pub fn clear(&mut self) {
        *self = Epochs::default();
    }
}

#[cfg(test)]
mod tests {
    //! Litmus tests of the epochs against loom's own orderings: a free after an acquire of
    //! the accessor's release is ordered; one after an acquire of a release made *before* the
    //! access is not (the case a single "last access" without an increment would get wrong).
    use super::*;
    use loom::sync::atomic::{AtomicU64, Ordering::*};
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    /// CPU A accesses the frame and releases a flag (access first, or flag first); the main
    /// thread acquires the flag and, if it saw it, frees the frame. An access is the atomic
    /// operation on the frame's word, then its record (unless the frame is already freed in
    /// interleaving order: the world reports that itself); the free is the allocator's store to
    /// the word, then its record. Returns every (access recorded before the free, free ordered)
    /// pair observed.
    fn observe(access_first: bool) -> BTreeSet<(bool, bool)> {
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let out = seen.clone();
        loom::model(move || {
            // The epochs and whether the frame is freed: plain bookkeeping, as the shadow.
            let shadow = Arc::new(Mutex::new((Epochs::default(), false)));
            let (flag, word) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let (sh, f, w) = (shadow.clone(), flag.clone(), word.clone());
            let a = loom::thread::spawn(move || {
                let access = || {
                    w.load(Relaxed);
                    let mut s = sh.lock().unwrap();
                    if !s.1 {
                        s.0.access(Contents::Loom, &"T");
                    }
                };
                if access_first {
                    access();
                    f.store(1, Release);
                } else {
                    f.store(1, Release);
                    access();
                }
            });
            if flag.load(Acquire) == 1 {
                word.store(u64::MAX, Relaxed);
                let mut s = shadow.lock().unwrap();
                let accessed = s.0.access != [0; loom::MAX_THREADS];
                // The main thread (loom thread 0) made no access: A's lands in A's slot.
                assert_eq!(s.0.access[0], 0, "an access recorded for the wrong thread");
                let ordered = s.0.free(Contents::Loom);
                s.1 = true;
                seen.lock().unwrap().insert((accessed, ordered));
            }
            a.join().unwrap();
        });
        let s = out.lock().unwrap().clone();
        s
    }

    #[test]
    fn a_free_after_acquiring_the_accessors_later_release_is_ordered() {
        assert_eq!(observe(true), BTreeSet::from([(true, true)]));
    }

    #[test]
    fn an_access_after_the_release_the_freer_acquired_is_not_ordered_before_the_free() {
        // Both orders of the access and the free: the free first (nothing recorded, ordered),
        // and the access first, which the release the main thread acquired does not carry.
        assert_eq!(
            observe(false),
            BTreeSet::from([(false, true), (true, false)])
        );
    }

    #[test]
    fn a_free_by_the_accessing_thread_and_one_after_joining_it_are_ordered() {
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let out = seen.clone();
        loom::model(move || {
            let epochs = Arc::new(Mutex::new(Epochs::default()));
            let word = Arc::new(AtomicU64::new(0));
            let (e, w) = (epochs.clone(), word.clone());
            let a = loom::thread::spawn(move || {
                w.load(Relaxed);
                let mut e = e.lock().unwrap();
                e.access(Contents::Loom, &"T");
                e.free(Contents::Loom)
            });
            let first = a.join().unwrap();
            // The join orders everything A did before this free.
            let joined = epochs.lock().unwrap().free(Contents::Loom);
            seen.lock().unwrap().insert((first, joined));
        });
        assert_eq!(*out.lock().unwrap(), BTreeSet::from([(true, true)]));
    }

    /// The access is a release store, and the freer acquires the value it stored: the free is
    /// ordered after the access itself (the loom cell, which recorded the access as an event
    /// after the store, called it unordered).
    #[test]
    fn a_free_that_acquired_the_value_the_access_released_is_ordered() {
        let seen = Arc::new(Mutex::new(BTreeSet::new()));
        let out = seen.clone();
        loom::model(move || {
            let shadow = Arc::new(Mutex::new(Epochs::default()));
            let word = Arc::new(AtomicU64::new(0));
            let (sh, w) = (shadow.clone(), word.clone());
            let a = loom::thread::spawn(move || {
                w.store(1, Release);
                sh.lock().unwrap().access(Contents::Loom, &"T");
            });
            if word.load(Acquire) == 1 {
                seen.lock()
                    .unwrap()
                    .insert(shadow.lock().unwrap().free(Contents::Loom));
            }
            a.join().unwrap();
        });
        assert_eq!(*out.lock().unwrap(), BTreeSet::from([true]));
    }

    /// Two frees of one frame by two threads with nothing between them: the second is not
    /// ordered after the first (the world reports a double free first; the epochs agree).
    #[test]
    fn a_free_not_ordered_after_an_earlier_free_is_not_ordered() {
        loom::model(|| {
            let shadow = Arc::new(Mutex::new(Epochs::default()));
            let sh = shadow.clone();
            let a = loom::thread::spawn(move || sh.lock().unwrap().free(Contents::Loom));
            let mine = shadow.lock().unwrap().free(Contents::Loom);
            let theirs = a.join().unwrap();
            // Whichever ran second was not ordered after the first.
            assert!(!(mine && theirs), "two unordered frees both called ordered");
        });
    }

    /// A frame freed and handed out again (a reused data page): an access ordered after the
    /// free passes; one that is not is a model error, as loom's cell check made it.
    fn access_after_reuse(ordered: bool) {
        loom::model(move || {
            let shadow = Arc::new(Mutex::new(Epochs::default()));
            let (flag, word) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
            let (sh, f, w) = (shadow.clone(), flag.clone(), word.clone());
            let a = loom::thread::spawn(move || {
                if ordered {
                    while f.load(Acquire) == 0 {
                        loom::thread::yield_now();
                    }
                }
                w.load(Relaxed);
                sh.lock().unwrap().access(Contents::Loom, &"page A");
            });
            word.store(u64::MAX, Relaxed);
            shadow.lock().unwrap().free(Contents::Loom);
            flag.store(1, Release);
            a.join().unwrap();
        });
    }

    #[test]
    fn an_access_ordered_after_the_free_of_a_reused_frame_passes() {
        access_after_reuse(true);
    }

    #[test]
    #[should_panic(expected = "Causality violation: an access to page A")]
    fn an_access_not_ordered_after_the_free_of_a_reused_frame_is_a_model_error() {
        access_after_reuse(false);
    }

    #[test]
    #[should_panic(expected = "an access to the contents of page B, a frame built as untracked")]
    fn an_access_to_an_untracked_frame_is_a_model_bug() {
        Epochs::default().access(Contents::Untracked, &"page B");
    }
}
