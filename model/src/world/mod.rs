//! One execution's machine: the frame pool, the CPUs' interrupt and RCU state, and the
//! bookkeeping the oracles read.
//!
//! A scenario builds a [`World`] inside the explorer's closure (loom and shuttle objects only
//! exist inside an execution) with [`WorldBuilder`], then runs one program per CPU against it
//! through a [`Ctx`]. Shared, explorer-tracked state is the frames' entry words and refcounts,
//! the per-CPU irq and RCU locks, and whatever locks a scenario adds. Everything else (names,
//! who freed what, costs, data choices) lives in [`Shadow`], plain memory read and written in
//! interleaving order, which costs no scheduling point.
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | [`World`]: the frames, CPU state, guards, data choices and costs of one execution |
//! | [`frame`] | what a frame is: level, kind, physical address |
//! | [`builder`] | [`WorldBuilder`]: the initial state |
//! | `access` | entry and field accesses with their oracles; detach and lost updates |
//! | `lifetime` | the free, the reuse of a freed page, the leak oracle |
//! | `shadow` | [`Shadow`]: the bookkeeping outside tracked state |
//! | [`choice`] | data choices ([`Choice`]) |
//! | [`cost`] | the protocol cost ([`Cost`]) |
//! | [`ctx`] | a CPU's [`Ctx`] and [`run_cpus`] |

use crate::entry::{Entry, FrameId};
use crate::guards::Guards;
use crate::hazard::Hazards;
use crate::name::{FrameName, Shown};
use crate::rt::{self, Atomic, Contents, Epochs, Ordering, RawLock};
use crate::trace::{self, Actor, EntryAccess, What};
use crate::violation::{self, FreedAt, UafOrder, Violation};
use std::cell::{RefCell, RefMut};
use std::sync::Arc;

mod access;
pub mod builder;
pub mod choice;
pub mod cost;
pub mod ctx;
pub mod frame;
mod lifetime;
mod pool;
mod shadow;

pub use builder::WorldBuilder;
pub use choice::{Choice, Choices, Picked};
pub use cost::Cost;
pub use ctx::{run_cpus, Ctx, Program};
pub(crate) use frame::PageWords;
pub use frame::{Frame, FrameKind, Level, PageWord, Phys};
use frame::{FrameSpec, Words};
use shadow::FrameShadow;
pub use shadow::{CpuState, Shadow};

/// The machine of one execution.
pub struct World {
    pub frames: Vec<Frame>,
    /// Every frame's entry words, frame after frame ([`Frame::words`], [`World::word`]).
    words: Vec<Atomic>,
    pub cpus: Vec<CpuState>,
    /// The guards switched on for this run.
    pub guards: Guards,
    /// The guards the scenario declares: a kernel path that asks about another one is a
    /// model error (it would silently run with that guard off).
    declared: Guards,
    /// Per CPU: in `mm_cpumask(mm)` of the scenario's mm ([`crate::ipi::IpiTargets`]).
    mm_cpumask: Vec<bool>,
    reuse: bool,
    /// Some frame lies above 4 GiB ([`Phys`]): only then can a split read be torn.
    split_phys: bool,
    shadow: Bookkeeping,
    /// The buffers this world does not use, kept for the next one ([`pool`]).
    spare: Option<Box<pool::Spare>>,
}

/// The cell of the world's [`Shadow`]: a `RefCell` shared by the model threads of one
/// execution.
///
/// Both explorers run every model thread of an execution as a coroutine on the calling OS
/// thread, one at a time (see [`crate::trace`]), and a world never leaves its execution, so
/// no two threads can borrow it at once; a nested borrow is a model bug and panics. A
/// `Mutex` did the same job at a lock and an unlock per bookkeeping step, about 2% of an
/// execution's cost.
pub(super) struct Bookkeeping(RefCell<Option<Box<Shadow>>>);

// SAFETY: see above: only one thread of the execution runs at a time, all on one OS thread,
// and the world (and so this cell) is never used outside its execution.
unsafe impl Sync for Bookkeeping {}

impl World {
    /// The bookkeeping (never blocks: one model thread runs at a time).
    pub fn shadow(&self) -> RefMut<'_, Shadow> {
        RefMut::map(self.shadow.0.borrow_mut(), |s| {
            s.as_deref_mut()
                .expect("a world's shadow lives as long as the world")
        })
    }

    pub fn name(&self, f: FrameId) -> FrameName {
        self.frames[f.0].name
    }

    /// A readable rendering of an entry value: `none`, `->PT#2`, `page A [W]` (formatted
    /// when displayed).
    pub fn show(&self, e: Entry) -> Shown {
        let special = e.is_none()
            || e == Entry::POISON
            || e == Entry::DEPOSIT_LINK
            || e == Entry::DEPOSIT_LINK_LE;
        Shown {
            entry: e,
            target: if special {
                None
            } else {
                self.frames.get(e.pfn().0).map(|f| f.name)
            },
        }
    }

    /// The two 32-bit words of `e` as a PAE entry: the flag bits and the low page-frame bits,
    /// and the page-frame bits above 4 GiB ([`Phys`]). An entry that points at no frame of the
    /// pool (none, poison, a deposit link) is split as the raw value.
    pub fn halves(&self, e: Entry) -> (u64, u64) {
        match self.frames.get(e.pfn().0) {
            Some(f) if !e.is_none() && e != Entry::POISON && e != Entry::DEPOSIT_LINK => (
                (e.0 & 0xfff) | ((f.phys.low as u64) << 12),
                f.phys.high as u64,
            ),
            _ => (e.0 & 0xffff_ffff, e.0 >> 32),
        }
    }

    /// Can a read of an entry in two halves return a value no entry held? Only if some frame
    /// lies above 4 GiB ([`WorldBuilder::above_4g`]); otherwise a split read returns the value
    /// of its first load, and one load models it.
    pub fn split_phys(&self) -> bool {
        self.split_phys
    }

    /// Is CPU `cpu` in the mm's `mm_cpumask`?
    pub fn in_mm_cpumask(&self, cpu: usize) -> bool {
        self.mm_cpumask.get(cpu).copied().unwrap_or(false)
    }

    /// See [`WorldBuilder::reuse_freed_pages`].
    pub fn reuses_freed_pages(&self) -> bool {
        self.reuse
    }

    /// Is this guard switched on for the run? Kernel paths ask this for the steps a variant
    /// can switch off; asking about a guard the scenario does not declare is a model error
    /// (DESIGN.md §7: a scenario that forgets a guard would run a different kernel).
    pub fn guard(&self, g: Guards) -> bool {
        if !self.declared.contains(g) {
            undeclared_guard(g);
        }
        self.shadow().guards_read |= g;
        self.guards.contains(g)
    }

    /// [`World::guard`] for a guard of [`Guards::RECHECKS`]: a recheck of some state an
    /// earlier, unguarded check of the same path has passed. Skipping it changes the path only
    /// if the state changed in between, which needs a CPU to write it; the paths that read and
    /// write that state say so ([`World::guarded_state`]). An execution in which it was not both
    /// read and written took the path of the protocol with the guard on (for
    /// [`crate::exec::ExecStats`]'s `guards_fired`: the explorers' driver runs first the
    /// data-choice combinations where a skipped step could have mattered, checks/src/run.rs
    /// `Focus`; no verdict depends on it).
    pub fn guard_check(&self, g: Guards) -> bool {
        debug_assert!(Guards::RECHECKS.contains(g), "{g:?} is not a recheck");
        self.guard(g)
    }

    /// A CPU read (`write: false`) or wrote the state guard `g`'s recheck reads
    /// ([`World::guard_check`]). Nothing where the guard is on or not declared (the state has
    /// other users there). The marks are per guard, not per object: where a scenario has two
    /// objects of the kind (two VMAs), a write to one and a read of the other count as the
    /// state read and written (it only moves a combination up the order of exploration).
    pub fn guarded_state(&self, g: Guards, write: bool) {
        if self.declared.contains(g) && !self.guards.contains(g) {
            crate::exec::guarded_state(g, write);
        }
    }

    /// A CPU finished its program: it holds no pointer into the tables any more.
    pub(crate) fn cpu_finished(&self, cpu: usize) {
        if let Some(f) = self.shadow().finished.get_mut(cpu) {
            *f = true;
        }
    }

    /// The alternative of choice point `c` in this run (see [`Choice`]).
    pub fn pick(&self, c: Choice) -> usize {
        self.shadow().choices.pick(c)
    }

    /// A two-way choice point: `true` for its second alternative.
    pub fn choose(&self, c: Choice) -> bool {
        self.pick(c) != 0
    }

    /// Current generation of a data page (bumped when it is freed).
    pub fn generation(&self, f: FrameId) -> u8 {
        self.shadow().frames[f.0].generation
    }

    pub fn is_freed(&self, f: FrameId) -> bool {
        self.shadow().frames[f.0].freed.is_some()
    }

    /// The most recent free of `f`, even if the frame was reused since.
    pub fn last_freed_at(&self, f: FrameId) -> Option<FreedAt> {
        self.shadow().frames[f.0].last_freed.clone()
    }

    /// Add to the execution's protocol cost.
    pub fn cost(&self, f: impl FnOnce(&mut Cost)) {
        f(&mut self.shadow().cost);
    }

    /// Keep a model thread to join at the end (RCU callback runners).
    pub(crate) fn adopt(&self, h: rt::JoinHandle) {
        self.shadow().threads.push(h);
    }

    pub(crate) fn next_rcu_batch(&self) -> usize {
        let mut s = self.shadow();
        s.rcu_batches += 1;
        s.rcu_batches - 1
    }

    /// Batch `n` was queued by `by` at trace step `step` (see [`Shadow`]'s `rcu_queued_by`).
    pub(crate) fn rcu_queued(&self, n: usize, by: Actor, step: usize) {
        let mut s = self.shadow();
        if s.rcu_queued_by.len() <= n {
            s.rcu_queued_by.resize(n + 1, (by, step));
        }
        s.rcu_queued_by[n] = (by, step);
    }

    pub(crate) fn depth(&self, cpu: usize, rcu: bool) -> u32 {
        let s = self.shadow();
        if rcu {
            s.rcu_depth[cpu]
        } else {
            s.irq_depth[cpu]
        }
    }

    pub(crate) fn set_depth(&self, cpu: usize, rcu: bool, d: u32) {
        let mut s = self.shadow();
        if rcu {
            s.rcu_depth[cpu] = d
        } else {
            s.irq_depth[cpu] = d
        }
    }

    /// Join every model thread spawned during the execution (callback runners, which may
    /// spawn no further threads themselves).
    pub fn join_all(&self) {
        loop {
            let h = self.shadow().threads.pop();
            match h {
                Some(h) => h.join(),
                None => break,
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        {
            let s = self.shadow();
            crate::exec::finished(
                s.cost,
                &s.choices.met,
                s.hazards,
                s.opportunities,
                s.guards_read,
                self.guards,
            );
        }
        self.recycle();
    }
}

/// The model error [`World::guard`] reports (out of the hot path: it formats).
#[cold]
#[inline(never)]
fn undeclared_guard(g: Guards) -> ! {
    panic!(
        "model error: a kernel path reads guard `{}`, which the scenario does not declare (add \
         its GuardDoc if the protocol has the step, or list it in the scenario's `absent` \
         steps, off in every variant, if it does not)",
        g.names().join("`, `")
    );
}
