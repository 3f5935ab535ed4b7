//! The shadow: plain memory read and written in interleaving order (names, who freed what,
//! the values each entry held, hazards, costs, per-CPU irq/RCU depth), which costs no
//! scheduling point (DESIGN.md §2: bookkeeping must stay outside tracked state).

use super::*;
use std::sync::OnceLock;

#[derive(Default)]
pub(super) struct FrameShadow {
    pub(super) freed: Option<FreedAt>,
    /// The most recent free, kept across a reuse (names the culprit of a stale pin).
    pub(super) last_freed: Option<FreedAt>,
    pub(super) generation: u8,
    /// The latest access of each actor since the frame was last allocated: (who, kernel
    /// function, step, what it did).
    pub(super) accesses: Vec<(Actor, &'static str, usize, &'static str)>,
    /// Detached from the tree (for the lost-update oracle).
    pub(super) detached: bool,
    /// A data page that the allocator gave to someone outside the scenario after its free.
    pub(super) reused: bool,
    /// CPUs that read an entry of this table, with the slot ([`crate::hazard`]).
    pub(super) readers: Vec<(usize, usize)>,
    /// CPUs that reached this data page through a leaf entry they read ([`crate::hazard`]).
    pub(super) reached_by: Vec<usize>,
    /// The happens-before shadow of the frame's contents (loom only, [`crate::rt::Epochs`]).
    pub(super) epochs: Epochs,
}

impl FrameShadow {
    /// Forget everything, keeping the lists' buffers ([`super::pool`]).
    pub(super) fn clear(&mut self) {
        let FrameShadow {
            freed,
            last_freed,
            generation,
            accesses,
            detached,
            reused,
            readers,
            reached_by,
            epochs,
        } = self;
        (*freed, *last_freed, *generation) = (None, None, 0);
        (*detached, *reused) = (false, false);
        accesses.clear();
        readers.clear();
        reached_by.clear();
        epochs.clear();
    }
}

/// Plain bookkeeping, mutated in interleaving order (no scheduling points).
#[derive(Default)]
pub struct Shadow {
    pub(super) frames: Vec<FrameShadow>,
    pub cost: Cost,
    pub choices: Choices,
    pub(super) threads: Vec<rt::JoinHandle>,
    /// The CPUs spawned by [`super::run_cpus`] (kept for the vector's buffer).
    pub(super) cpu_threads: Vec<rt::JoinHandle>,
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
    /// Every value each entry has held and the one written last ([`EntryValues`]).
    pub(crate) values: EntryValues,
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
    /// The leak oracle's scratch ([`World::check_no_leak`]), kept for its buffers.
    pub(super) scratch_reachable: Vec<bool>,
    pub(super) scratch_mapcount: Vec<u64>,
    pub(super) scratch_stack: Vec<FrameId>,
}

impl Shadow {
    /// Drop everything the execution recorded, keeping the lists' buffers ([`super::pool`]):
    /// the shadow of the next execution starts as `Shadow::default()` does, frame shadows
    /// included (cleared, [`FrameShadow::clear`]).
    pub(super) fn clear(&mut self) {
        let Shadow {
            frames,
            cost,
            choices,
            threads,
            cpu_threads,
            rcu_batches,
            rcu_queued_by,
            irq_depth,
            rcu_depth,
            pins,
            writes,
            values,
            hazards,
            opportunities,
            finished,
            guards_read,
            hptes,
            scratch_reachable,
            scratch_mapcount,
            scratch_stack,
        } = self;
        for f in frames.iter_mut() {
            f.clear();
        }
        *cost = Cost::default();
        choices.set.clear();
        choices.met.clear();
        threads.clear();
        cpu_threads.clear();
        *rcu_batches = 0;
        rcu_queued_by.clear();
        irq_depth.clear();
        rcu_depth.clear();
        pins.clear();
        writes.clear();
        values.clear();
        (*hazards, *opportunities) = (Hazards::empty(), Hazards::empty());
        finished.clear();
        *guards_read = Guards::empty();
        hptes.clear();
        scratch_reachable.clear();
        scratch_mapcount.clear();
        scratch_stack.clear();
    }
}

/// The values of every entry word, for the entry-value oracles ([`crate::history`]) and the
/// entries a detached table still holds ([`World::detach`]). A world has a few dozen entry
/// words and each holds a handful of values, so these are flat lists searched in order: every
/// walker step consults them, and hashing a `(frame, slot)` key cost more than the scan.
#[derive(Default)]
pub(crate) struct EntryValues {
    /// `(frame, slot, value)`: each distinct value an entry held, in store order.
    held: Vec<(u32, u32, Entry)>,
    /// `(frame, slot, value, writer)`: the value written last in interleaving order and its
    /// writer (`None`: the initial state).
    current: Vec<(u32, u32, Entry, Option<Actor>)>,
    /// `(frame, slot)` of the entries the builder gave an initial value; every other entry
    /// started out `none` (a new table is zeroed).
    initial: Vec<(u32, u32)>,
}

impl EntryValues {
    /// Forget every value, keeping the buffers.
    pub(crate) fn clear(&mut self) {
        let EntryValues {
            held,
            current,
            initial,
        } = self;
        held.clear();
        current.clear();
        initial.clear();
    }

    /// Entry `slot` of `t` now holds `e`, written by `who` (`None`: the initial state).
    pub(crate) fn record(&mut self, t: FrameId, slot: usize, e: Entry, who: Option<Actor>) {
        let (f, i) = (t.0 as u32, slot as u32);
        match self.current.iter_mut().find(|c| c.0 == f && c.1 == i) {
            Some(c) => (c.2, c.3) = (e, who),
            None => self.current.push((f, i, e, who)),
        }
        if !self
            .held
            .iter()
            .any(|h| h.0 == f && h.1 == i && h.2.same(e))
        {
            self.held.push((f, i, e));
        }
    }

    /// The builder's initial value of the entry: replaces whatever an earlier `set` of the same
    /// entry gave it (its history starts here).
    pub(crate) fn set_initial(&mut self, t: FrameId, slot: usize, e: Entry) {
        let (f, i) = (t.0 as u32, slot as u32);
        if !self.initial.contains(&(f, i)) && !self.current.iter().any(|c| c.0 == f && c.1 == i) {
            // The entry's first value (what the builder does: it sets entries before any
            // CPU runs): nothing recorded to replace.
            self.initial.push((f, i));
            self.current.push((f, i, e, None));
            self.held.push((f, i, e));
            return;
        }
        self.held.retain(|h| !(h.0 == f && h.1 == i));
        self.record(t, slot, e, None);
    }

    /// Whether the entry started out `none`: the builder never set it.
    fn started_none(&self, f: u32, i: u32) -> bool {
        !self.initial.contains(&(f, i))
    }

    /// Whether the entry held `e` as a whole: its initial value (the builder's, or `none` for
    /// an entry the builder did not set) or a value written to it since.
    pub(crate) fn ever_held(&self, t: FrameId, slot: usize, e: Entry) -> bool {
        let (f, i) = (t.0 as u32, slot as u32);
        (self.started_none(f, i) && Entry::NONE.same(e))
            || self
                .held
                .iter()
                .any(|h| h.0 == f && h.1 == i && h.2.same(e))
    }

    /// The values the entry held, in order: its initial value, then every other value written
    /// to it.
    pub(crate) fn held(&self, t: FrameId, slot: usize) -> Vec<Entry> {
        let (f, i) = (t.0 as u32, slot as u32);
        let mut v: Vec<Entry> = Vec::new();
        if self.started_none(f, i) {
            v.push(Entry::NONE);
        }
        for h in self.held.iter().filter(|h| h.0 == f && h.1 == i) {
            if !v.iter().any(|x| x.same(h.2)) {
                v.push(h.2);
            }
        }
        v
    }

    /// The value written last and its writer, if the entry was ever given one.
    pub(crate) fn current(&self, t: FrameId, slot: usize) -> Option<(Entry, Option<Actor>)> {
        let (f, i) = (t.0 as u32, slot as u32);
        self.current
            .iter()
            .find(|c| c.0 == f && c.1 == i)
            .map(|c| (c.2, c.3))
    }
}

/// Per-CPU explorer-tracked state.
pub struct CpuState {
    /// Held while the CPU runs with interrupts off: an IPI waits for it, and so do grace
    /// periods of the flavours an irq-off section holds off (see [`crate::rcu`]).
    irq: OnceLock<RawLock>,
    /// Held while the CPU is inside `rcu_read_lock()` ([`CpuState::rcu`]).
    rcu: OnceLock<RawLock>,
    /// Held for the length of one instruction whose translation a TLB/HPT invalidation must
    /// wait for (`tlbsync` completes after accesses in flight, [`crate::hpte`]); unlike `irq`,
    /// software irq-off sections do not hold it ([`CpuState::insn`]).
    insn: OnceLock<RawLock>,
}

impl CpuState {
    pub(crate) fn new() -> Self {
        CpuState {
            irq: OnceLock::new(),
            rcu: OnceLock::new(),
            insn: OnceLock::new(),
        }
    }

    /// The CPU's irq lock, made at its first use (as [`CpuState::rcu`]): a CPU that never
    /// disables interrupts and is never sent an IPI (the unmapping CPU of most scenarios)
    /// never needs it.
    pub(crate) fn irq(&self) -> &RawLock {
        self.irq.get_or_init(RawLock::new)
    }

    /// The CPU's `rcu_read_lock()` lock, made at its first use: many scenarios and policies
    /// never take it, and every model object costs each execution (loom and shuttle track it).
    /// Making it late changes nothing the explorers see: a lock's creation is not a scheduling
    /// point nor an access, and neither explorer orders it against other threads (a loom mutex
    /// has no initialisation to race with, unlike an atomic).
    pub(crate) fn rcu(&self) -> &RawLock {
        self.rcu.get_or_init(RawLock::new)
    }

    /// The CPU's instruction lock ([`crate::hpte`]), made at its first use like
    /// [`CpuState::rcu`]: only hash-MMU policies take it.
    pub(crate) fn insn(&self) -> &RawLock {
        self.insn.get_or_init(RawLock::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryFlags;

    #[test]
    fn an_entry_keeps_every_value_written_to_it_none_included() {
        let t = FrameId(3);
        let x = Entry::leaf(FrameId(7), 0, EntryFlags::empty());
        let mut v = EntryValues::default();
        assert!(v.ever_held(t, 0, Entry::NONE), "never written: none");
        v.record(t, 0, Entry::NONE, None);
        v.record(t, 0, x, Some(Actor::Cpu(1)));
        assert!(v.ever_held(t, 0, Entry::NONE), "none was written first");
        assert!(v.ever_held(t, 0, x));
        assert_eq!(v.held(t, 0), vec![Entry::NONE, x]);
        assert_eq!(v.current(t, 0), Some((x, Some(Actor::Cpu(1)))));
        // Another entry's values are its own.
        assert!(!v.ever_held(t, 1, x));
        assert_eq!(v.held(t, 1), vec![Entry::NONE]);
        // A first write of x to an entry the builder never set: it held none (a new table is
        // zeroed), then x.
        v.record(t, 2, x, Some(Actor::Cpu(0)));
        assert!(v.ever_held(t, 2, Entry::NONE));
        assert_eq!(v.held(t, 2), vec![Entry::NONE, x]);
        // An entry the builder set to x never held none, until something writes it.
        v.set_initial(t, 3, x);
        assert!(!v.ever_held(t, 3, Entry::NONE));
        assert_eq!(v.held(t, 3), vec![x]);
        // The builder setting an entry twice: the last value is the initial one.
        v.set_initial(FrameId(4), 0, x);
        v.set_initial(FrameId(4), 0, Entry::NONE);
        assert_eq!(v.held(FrameId(4), 0), vec![Entry::NONE]);
        assert_eq!(v.current(FrameId(4), 0), Some((Entry::NONE, None)));
    }
}
