//! The shadow: plain memory read and written in interleaving order (names, who freed what,
//! the values each entry held, hazards, costs, per-CPU irq/RCU depth), which costs no
//! scheduling point (DESIGN.md §2: bookkeeping must stay outside tracked state).

use super::*;

#[derive(Default)]
pub(super) struct FrameShadow {
    pub(super) freed: Option<FreedAt>,
    /// The most recent free, kept across a reuse (names the culprit of a stale pin).
    pub(super) last_freed: Option<FreedAt>,
    pub(super) generation: u8,
    /// Accesses since the frame was last allocated: (who, kernel function, step).
    pub(super) accesses: Vec<(Actor, &'static str, usize, &'static str)>,
    /// Detached from the tree (for the lost-update oracle).
    pub(super) detached: bool,
    /// A data page that the allocator gave to someone outside the scenario after its free.
    pub(super) reused: bool,
    /// CPUs that read an entry of this table, with the slot ([`crate::hazard`]).
    pub(super) readers: Vec<(usize, usize)>,
    /// CPUs that reached this data page through a leaf entry they read ([`crate::hazard`]).
    pub(super) reached_by: Vec<usize>,
}

/// Plain bookkeeping, mutated in interleaving order (no scheduling points).
#[derive(Default)]
pub struct Shadow {
    pub(super) frames: Vec<FrameShadow>,
    pub cost: Cost,
    pub choices: Choices,
    pub(super) threads: Vec<rt::JoinHandle>,
    pub(super) rcu_batches: usize,
    /// Who queued each callback batch (`rcu-cbN`) and at which trace step: its accesses before
    /// that step are ordered before the callback (the runner is spawned there).
    pub(super) rcu_queued_by: Vec<(Actor, usize)>,
    pub(super) irq_depth: Vec<u32>,
    pub(super) rcu_depth: Vec<u32>,
    /// Pages a walker returned pinned, still held at the end: (who, page).
    pub pins: Vec<(Actor, FrameId)>,
    /// Writes made through gup pins: (who, page).
    pub writes: Vec<(Actor, FrameId)>,
    /// Every value each entry has held, (frame, slot) -> values in store order (the
    /// entry-value oracles, [`crate::history`]).
    pub(crate) history: std::collections::HashMap<(usize, usize), Vec<Entry>>,
    /// Per entry, the value written last in interleaving order and its writer (`None`: the
    /// initial state); the entries a detached table still holds ([`World::detach`]).
    pub(crate) current: std::collections::HashMap<(usize, usize), (Entry, Option<Actor>)>,
    /// The hazards this execution reached: a walker in danger ([`crate::hazard`]).
    pub hazards: Hazards,
    /// The hazards this execution set up: a CPU changed or freed what another CPU read, at
    /// any time (a superset of `hazards`).
    pub opportunities: Hazards,
    /// CPUs that have finished their program.
    pub(super) finished: Vec<bool>,
    /// The guards kernel paths asked about in this execution.
    pub guards_read: Guards,
    /// Data pages with an HPTE inserted and not yet flushed ([`crate::hpte`]).
    pub(crate) hptes: Vec<FrameId>,
}

/// Per-CPU explorer-tracked state.
pub struct CpuState {
    /// Held while the CPU runs with interrupts off: an IPI waits for it, and so do grace
    /// periods of the flavours an irq-off section holds off (see [`crate::rcu`]).
    pub(crate) irq: RawLock,
    /// Held while the CPU is inside `rcu_read_lock()`.
    pub(crate) rcu: RawLock,
    /// Held for the length of one instruction whose translation a TLB/HPT invalidation must
    /// wait for (`tlbsync` completes after accesses in flight, [`crate::hpte`]); unlike `irq`,
    /// software irq-off sections do not hold it.
    pub(crate) insn: RawLock,
}
