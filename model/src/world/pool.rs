//! Allocations recycled from one execution's world to the next.
//!
//! A world is built and dropped once per execution, up to millions of times per cell, and its
//! vectors (the builder's frame specs, the frames and their entry words, the CPUs, the shadow
//! and its per-frame lists) were most of the allocations of an execution: in callgrind, 30 of
//! the 42 an execution of `gup-fast-vs-munmap/x86-v6.14/correct` made, about a tenth of
//! ptcheck's cost per execution (`ptcheck bench --baseline`). When a world is dropped, its
//! vectors are emptied (dropping what they hold, the explorer's objects included, when they
//! were always dropped) and their buffers kept here for the next world built on this OS thread
//! (both explorers run an execution's threads on the calling OS thread).
//!
//! Only capacity carries over. The shadow is cleared field by field ([`Shadow::clear`] and
//! [`FrameShadow::clear`] name every field, so a field added later does not compile until it is
//! cleared there too); the frames, CPUs and specs are built afresh in the buffers.

use super::*;
use std::cell::Cell;

/// The buffers of the last world dropped on this thread. One box goes round: taken by
/// [`WorldBuilder::new`], kept by the world it builds, put back when that world is dropped (two
/// thread-local accesses an execution).
#[derive(Default)]
pub(super) struct Spare {
    /// The builder's: frame specs, initial entries, the specs' entry values.
    pub(super) specs: Vec<FrameSpec>,
    pub(super) initial: Vec<(FrameId, usize, Entry)>,
    pub(super) spec_words: Vec<u64>,
    /// The world's: frames, their entry words, CPUs, the mm_cpumask, the shadow (cleared).
    pub(super) frames: Vec<Frame>,
    pub(super) words: Vec<Atomic>,
    pub(super) cpus: Vec<CpuState>,
    pub(super) mm_cpumask: Vec<bool>,
    pub(super) shadow: Option<Box<Shadow>>,
}

thread_local! {
    static SPARE: Cell<Option<Box<Spare>>> = const { Cell::new(None) };
}

/// This thread's spare buffers (new ones if there are none, or during thread teardown).
pub(super) fn take() -> Box<Spare> {
    SPARE
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Keep `spare` for the next world built on this thread.
fn put(spare: Box<Spare>) {
    let _ = SPARE.try_with(|s| s.set(Some(spare)));
}

impl World {
    /// Empty the world's vectors, dropping what they hold, and keep their buffers.
    pub(super) fn recycle(&mut self) {
        let mut spare = self.spare.take().unwrap_or_default();
        self.frames.clear();
        spare.frames = std::mem::take(&mut self.frames);
        self.words.clear();
        spare.words = std::mem::take(&mut self.words);
        self.cpus.clear();
        spare.cpus = std::mem::take(&mut self.cpus);
        self.mm_cpumask.clear();
        spare.mm_cpumask = std::mem::take(&mut self.mm_cpumask);
        if let Some(mut shadow) = self.shadow.0.get_mut().take() {
            shadow.clear();
            spare.shadow = Some(shadow);
        }
        put(spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryFlags;
    use crate::rt::{set_backend, Backend};

    const POINT: Choice = Choice {
        name: "a point",
        options: &["a", "b"],
    };

    /// One execution's world: checks it starts exactly as built, then leaves every kind of
    /// bookkeeping behind (an access, a new value, a free, a met choice, a pin, costs).
    fn round() {
        let mut b = WorldBuilder::new(2, Guards::all(), &[]);
        let t = b.table(Level::Pte, 2);
        let p = b.data_page(1);
        let leaf = Entry::leaf(p, 0, EntryFlags::WRITE);
        b.set(t, 0, leaf);
        let w = b.build();
        {
            let s = w.shadow();
            assert_eq!(s.frames.len(), 2);
            assert!(s.frames.iter().all(|f| f.freed.is_none()
                && f.accesses.is_empty()
                && f.readers.is_empty()
                && f.generation == 0));
            assert!(s.choices.met.is_empty() && s.pins.is_empty());
            assert_eq!(s.cost, Cost::default());
            assert!(s.hazards.is_empty() && s.opportunities.is_empty());
            assert_eq!((s.irq_depth.len(), s.finished.len()), (2, 2));
            let other = Entry::leaf(FrameId(1), 0, EntryFlags::empty());
            assert!(!s.values.ever_held(t, 0, other), "last round's value");
            assert!(s.values.ever_held(t, 0, leaf));
        }
        assert_eq!(w.final_entry(t, 0), leaf);
        let c = Ctx::cpu(&w, 0);
        assert_eq!(c.load(t, 0, Ordering::Relaxed, "test"), leaf);
        c.store(
            t,
            0,
            Entry::leaf(FrameId(1), 0, EntryFlags::empty()),
            Ordering::Relaxed,
            "t",
        );
        w.pick(POINT);
        w.cost(|k| k.ipis += 1);
        w.shadow().pins.push((Actor::Cpu(0), p));
        c.store(t, 0, Entry::NONE, Ordering::Relaxed, "test");
        c.free(t, "test");
        assert!(w.is_freed(t));
    }

    #[test]
    fn a_world_built_after_another_was_dropped_starts_as_built() {
        set_backend(Backend::Shuttle);
        // Two worlds in one execution, and one in each of several executions.
        shuttle::check_random(
            || {
                round();
                round();
            },
            3,
        );
    }
}
