//! One execution's machine: the frame pool, the CPUs' interrupt and RCU state, and the
//! bookkeeping the oracles read.
//!
//! A scenario builds a [`World`] inside the explorer's closure (loom and shuttle objects only
//! exist inside an execution) with [`WorldBuilder`], then runs one program per CPU against it
//! through a [`Ctx`]. Shared, explorer-tracked state is the frames' entry words and refcounts,
//! the per-CPU irq and RCU locks, and whatever locks a scenario adds. Everything else (names,
//! who freed what, costs, data choices) lives in [`Shadow`], plain memory read and written in
//! interleaving order, which costs no scheduling point.

use crate::entry::{Entry, FrameId};
use crate::guards::Guards;
use crate::hazard::Hazards;
use crate::name::{FrameName, Shown};
use crate::rt::{self, Atomic, Ordering, RawLock, ShadowCell};
use crate::trace::{self, Actor, EntryAccess, What};
use crate::violation::{self, FreedAt, UafOrder, Violation};
use std::sync::{Arc, Mutex, MutexGuard};

/// Page-table levels (the number a scenario uses is its own parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Pgd,
    Pud,
    Pmd,
    Pte,
}

impl Level {
    /// The trace name prefix of a table at this level (`PT#2`, `PMD#1`).
    pub fn prefix(self) -> &'static str {
        match self {
            Level::Pgd => "PGD",
            Level::Pud => "PUD",
            Level::Pmd => "PMD",
            Level::Pte => "PT",
        }
    }
}

/// What a frame of the pool holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// A page-table page of this level.
    Table(Level),
    /// A data page with a struct page refcount.
    Data,
    /// A kernel object that holds pointers and is freed like a table (a `task_struct`'s
    /// `->mm`, a list of pgds): its words are entries, so its accesses, its free and the
    /// use-after-free oracle are those of a table.
    Object,
}

/// A page frame: its entries (for a table), its struct page words (for a data page), and the
/// happens-before shadow of its contents.
pub struct Frame {
    pub name: FrameName,
    pub kind: FrameKind,
    cell: ShadowCell,
    slots: Vec<Atomic>,
    /// The `struct page` words of a data page (tables have none: every model object is a
    /// shared location the explorers track, so only those a protocol uses exist).
    page: Option<PageWords>,
    /// Compound-page state of a data page ([`crate::compound`]): `PG_tail` and the tail's
    /// `_mapcount` (gup's tail pins, 2014 THP refcounting), and the head's `compound_lock`.
    pub(crate) compound: Option<crate::compound::CompoundState>,
    /// Its physical address as the two 32-bit words of a PAE entry ([`Phys`]).
    pub phys: Phys,
    /// Words holding plain values, not entries (bit per slot).
    fields: u64,
}

/// Where a frame lies in physical memory, as far as a PAE entry (`CONFIG_GUP_GET_PXX_LOW_HIGH`,
/// x86-32 with 64-bit entries) can tell: the page-frame bits in the entry's low word, and those
/// above 4 GiB in its high word. By default a frame's low bits are its own index and its high
/// word is 0; [`WorldBuilder::above_4g`] places a frame at another's low bits plus `high` x
/// 4 GiB, the allocation a split read of two such entries can be torn between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phys {
    pub low: usize,
    pub high: u8,
}

/// The words of a data page's `struct page` and contents.
pub(crate) struct PageWords {
    /// `page->_refcount`.
    pub(crate) refcount: Atomic,
    /// The page's data, as one word: bumped by a write through a gup pin, copied by
    /// khugepaged's `__collapse_huge_page_copy` (the lost-update oracle, [`crate::page`]).
    pub(crate) content: Atomic,
    /// The powerpc hash page table entry of a data page: 1 while an HPTE maps it
    /// ([`crate::hpte`]).
    pub(crate) hpte: Atomic,
    /// `page->mapping` of an anonymous page: its `anon_vma` (frame index + 1; 0: none).
    pub(crate) mapping: Atomic,
}

impl Frame {
    /// The `struct page` words of a data page (a model bug to ask a table for them).
    pub(crate) fn page(&self) -> &PageWords {
        match &self.page {
            Some(p) => p,
            None => panic!("{} is not a data page", self.name),
        }
    }
}

/// A frame as the builder describes it, before the execution's shared locations exist.
struct FrameSpec {
    name: FrameName,
    kind: FrameKind,
    /// Initial entry values.
    slots: Vec<u64>,
    /// Initial refcount (data pages).
    refs: u64,
    compound: Option<crate::compound::CompoundState>,
    phys: Phys,
    /// Words holding plain values, not entries (bit per slot; see [`WorldBuilder::object_with_fields`]).
    fields: u64,
}

/// Protocol costs counted per execution: the quantities the seeds were written to cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// `smp_call_function*` broadcasts (each one a wait for every target).
    pub ipis: u32,
    /// CPUs interrupted by those broadcasts.
    pub cpus_interrupted: u32,
    /// Grace periods waited for (`synchronize_rcu`, `call_rcu` batches).
    pub grace_periods: u32,
    /// TLB flushes issued (`flush_tlb_*`, `tlb_flush`).
    pub tlb_flushes: u32,
    /// `pgd_lock` acquisitions on the fork path (`pgd_alloc`) and on the exit path
    /// (`pgd_free` -> `pgd_dtor`): the contention the lockless pgd_alloc series (2015) was
    /// written to remove. Counted only by scenarios that model those paths (`pgd_lock_counted`).
    pub pgd_lock_fork: u32,
    pub pgd_lock_exit: u32,
    pub pgd_lock_counted: bool,
    /// Speculative page faults that fell back to the classic fault (`VM_FAULT_RETRY`), counted
    /// by scenarios that model them (`spf_counted`).
    pub spf_fallbacks: u32,
    pub spf_counted: bool,
}

impl Cost {
    /// Component-wise maximum.
    pub fn max(self, o: Cost) -> Cost {
        Cost {
            ipis: self.ipis.max(o.ipis),
            cpus_interrupted: self.cpus_interrupted.max(o.cpus_interrupted),
            grace_periods: self.grace_periods.max(o.grace_periods),
            tlb_flushes: self.tlb_flushes.max(o.tlb_flushes),
            pgd_lock_fork: self.pgd_lock_fork.max(o.pgd_lock_fork),
            pgd_lock_exit: self.pgd_lock_exit.max(o.pgd_lock_exit),
            pgd_lock_counted: self.pgd_lock_counted || o.pgd_lock_counted,
            spf_fallbacks: self.spf_fallbacks.max(o.spf_fallbacks),
            spf_counted: self.spf_counted || o.spf_counted,
        }
    }
}

/// A data choice point (e.g. "does the batch page allocation fail"): a name and its
/// alternatives, the first being the default. loom explores schedules only, so each
/// combination of alternatives is a separate run of the cell; the explorer learns the points
/// an execution meets and enumerates them (DESIGN.md §2, "data choices").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub name: &'static str,
    pub options: &'static [&'static str],
}

/// One alternative of a choice point, forced for a run.
pub type Picked = (Choice, usize);

impl Choice {
    /// The alternative `set` forces for this point (the default, 0, if none).
    pub fn picked(&self, set: &[Picked]) -> usize {
        set.iter()
            .find(|(c, _)| c.name == self.name)
            .map(|&(_, i)| i)
            .unwrap_or(0)
    }

    /// `name = option`, for verdicts and counterexamples.
    pub fn describe(set: &[Picked]) -> String {
        set.iter()
            .map(|(c, i)| format!("{} = {}", c.name, c.options.get(*i).unwrap_or(&"?")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The data choices of one execution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// The alternatives forced in this run (points not listed take their default).
    pub set: Vec<Picked>,
    /// Choice points the execution reached.
    pub met: Vec<Choice>,
}

impl Choices {
    fn pick(&mut self, c: Choice) -> usize {
        if !self.met.contains(&c) {
            self.met.push(c);
            crate::exec::met(c);
        }
        c.picked(&self.set)
    }
}

#[derive(Default)]
struct FrameShadow {
    freed: Option<FreedAt>,
    /// The most recent free, kept across a reuse (names the culprit of a stale pin).
    last_freed: Option<FreedAt>,
    generation: u8,
    /// Accesses since the frame was last allocated: (who, kernel function, step).
    accesses: Vec<(Actor, &'static str, usize, &'static str)>,
    /// Detached from the tree (for the lost-update oracle).
    detached: bool,
    /// A data page that the allocator gave to someone outside the scenario after its free.
    reused: bool,
    /// CPUs that read an entry of this table, with the slot ([`crate::hazard`]).
    readers: Vec<(usize, usize)>,
    /// CPUs that reached this data page through a leaf entry they read ([`crate::hazard`]).
    reached_by: Vec<usize>,
}

/// Plain bookkeeping, mutated in interleaving order (no scheduling points).
#[derive(Default)]
pub struct Shadow {
    frames: Vec<FrameShadow>,
    pub cost: Cost,
    pub choices: Choices,
    threads: Vec<rt::JoinHandle>,
    rcu_batches: usize,
    irq_depth: Vec<u32>,
    rcu_depth: Vec<u32>,
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
    finished: Vec<bool>,
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

/// The machine of one execution.
pub struct World {
    pub frames: Vec<Frame>,
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
    shadow: Mutex<Shadow>,
}

/// Builds a [`World`] (inside the explorer's closure).
pub struct WorldBuilder {
    frames: Vec<FrameSpec>,
    ncpus: usize,
    guards: Guards,
    declared: Guards,
    outside_mm: Vec<usize>,
    choices: Choices,
    data_names: usize,
    reuse: bool,
    initial: Vec<(FrameId, usize, Entry)>,
    /// Data pages another user holds a reference to (the page cache).
    external: Vec<FrameId>,
}

impl WorldBuilder {
    pub fn new(ncpus: usize, guards: Guards, choices: &[Picked]) -> Self {
        WorldBuilder {
            frames: Vec::new(),
            ncpus,
            guards,
            declared: Guards::all(),
            outside_mm: Vec::new(),
            choices: Choices {
                set: choices.to_vec(),
                met: Vec::new(),
            },
            data_names: 0,
            reuse: false,
            initial: Vec::new(),
            external: Vec::new(),
        }
    }

    /// The guards the scenario declares (its `GuardDoc`s): every guard a kernel path of the
    /// run asks about must be one of them (default: any guard, for litmus tests).
    pub fn declared(mut self, g: Guards) -> Self {
        self.declared = g;
        self
    }

    /// CPU `cpu` is not in the mm's `mm_cpumask` (it runs another mm, or was trimmed from the
    /// mask): IPIs sent to `mm_cpumask` do not reach it.
    pub fn outside_mm_cpumask(mut self, cpu: usize) -> Self {
        self.outside_mm.push(cpu);
        self
    }

    /// The alternative of choice point `c` in this run, when the initial state depends on it.
    pub fn pick(&mut self, c: Choice) -> usize {
        self.choices.pick(c)
    }

    /// Freed data pages are reallocated to another user right after their free (a separate
    /// step of the freeing CPU), as on a busy machine. This is what makes a stale pin harmful.
    pub fn reuse_freed_pages(mut self) -> Self {
        self.reuse = true;
        self
    }

    fn push(&mut self, name: FrameName, kind: FrameKind, slots: usize) -> FrameId {
        self.frames.push(FrameSpec {
            name,
            kind,
            slots: vec![0; slots],
            refs: 0,
            compound: None,
            phys: Phys {
                low: self.frames.len(),
                high: 0,
            },
            fields: 0,
        });
        FrameId(self.frames.len() - 1)
    }

    /// A page-table page with `slots` entries, named `PT#n` / `PMD#n` by level and index.
    pub fn table(&mut self, level: Level, slots: usize) -> FrameId {
        let n = self.frames.len();
        self.push(
            FrameName::Table(level, n as u16),
            FrameKind::Table(level),
            slots,
        )
    }

    /// A page-table page with `slots` entries and a name that says whose it is (`mm A: pgd`,
    /// `swapper_pg_dir`).
    pub fn named_table(&mut self, level: Level, slots: usize, name: &'static str) -> FrameId {
        self.push(FrameName::Named(name), FrameKind::Table(level), slots)
    }

    /// A kernel object of `slots` pointer words (`task B`, `pgd_list`): see
    /// [`FrameKind::Object`].
    pub fn object(&mut self, name: &'static str, slots: usize) -> FrameId {
        self.push(FrameName::Named(name), FrameKind::Object, slots)
    }

    /// A kernel object whose words `fields` hold plain values (`vma->vm_sequence`,
    /// `vma->vm_flags`), read and written with [`World::load_field`] / [`World::store_field`];
    /// its other words are pointers. The leak oracle follows only the pointers.
    pub fn object_with_fields(
        &mut self,
        name: &'static str,
        slots: usize,
        fields: &[usize],
    ) -> FrameId {
        let o = self.object(name, slots);
        self.frames[o.0].fields = fields.iter().fold(0, |m, &f| m | 1 << f);
        o
    }

    /// Initial value of a plain-value word of an object.
    pub fn set_field(&mut self, o: FrameId, slot: usize, v: u64) {
        self.frames[o.0].slots[slot] = v;
    }

    /// A data page with refcount `refs`, named `page A`, `page B`, ...
    pub fn data_page(&mut self, refs: u64) -> FrameId {
        let name = FrameName::Data(self.data_names as u8);
        self.data_names += 1;
        let id = self.push(name, FrameKind::Data, 0);
        self.frames[id.0].refs = refs;
        id
    }

    /// A data page with a name that says whose it is (`mm B: page X`).
    pub fn named_data_page(&mut self, refs: u64, name: &'static str) -> FrameId {
        let id = self.push(FrameName::Named(name), FrameKind::Data, 0);
        self.frames[id.0].refs = refs;
        id
    }

    /// A reference to data page `p` held outside the scenario (the page cache's, for a file
    /// page): one more count, which the leak oracle expects to remain.
    pub fn page_cache_ref(&mut self, p: FrameId) {
        self.frames[p.0].refs += 1;
        self.external.push(p);
    }

    /// Frame `f` lies `high` x 4 GiB above frame `like` (PAE): an entry pointing at it has the
    /// same low word as one pointing at `like`, with the same flags.
    pub fn above_4g(&mut self, f: FrameId, like: FrameId, high: u8) {
        self.frames[f.0].phys = Phys {
            low: self.frames[like.0].phys.low,
            high,
        };
    }

    /// Initial value of an entry (written before any CPU starts).
    pub fn set(&mut self, t: FrameId, slot: usize, e: Entry) {
        self.frames[t.0].slots[slot] = e.0;
        self.initial.push((t, slot, e));
    }

    /// A compound (huge) page: a head with refcount `refs` and `tails` tail pages right after
    /// it in the pool (so that `head + i` is the i-th subpage, as `pmd_page(pmd) + index`).
    pub fn compound_page(&mut self, refs: u64, tails: usize) -> FrameId {
        let head = self.data_page(refs);
        self.frames[head.0].compound = Some(crate::compound::CompoundState::head());
        for _ in 0..tails {
            let t = self.data_page(0);
            self.frames[t.0].compound = Some(crate::compound::CompoundState::tail());
        }
        head
    }

    pub fn build(self) -> Arc<World> {
        trace::clear();
        crate::exec::started();
        let shadow = Shadow {
            frames: self.frames.iter().map(|_| FrameShadow::default()).collect(),
            irq_depth: vec![0; self.ncpus],
            rcu_depth: vec![0; self.ncpus],
            finished: vec![false; self.ncpus],
            choices: self.choices,
            ..Shadow::default()
        };
        let mut shadow = shadow;
        for (t, slot, e) in self.initial {
            shadow.history.insert((t.0, slot), vec![e]);
            shadow.current.insert((t.0, slot), (e, None));
        }
        for p in self.external {
            shadow.frames[p.0].reused = true;
        }
        let frames = self
            .frames
            .into_iter()
            .map(|f| Frame {
                name: f.name,
                kind: f.kind,
                cell: ShadowCell::new(),
                slots: f.slots.into_iter().map(Atomic::new).collect(),
                page: (f.kind == FrameKind::Data).then(|| PageWords {
                    refcount: Atomic::new(f.refs),
                    content: Atomic::new(0),
                    hpte: Atomic::new(0),
                    mapping: Atomic::new(0),
                }),
                compound: f.compound,
                phys: f.phys,
                fields: f.fields,
            })
            .collect::<Vec<_>>();
        let split_phys = frames.iter().any(|f| f.phys.high != 0);
        Arc::new(World {
            frames,
            cpus: (0..self.ncpus)
                .map(|_| CpuState {
                    irq: RawLock::new(),
                    rcu: RawLock::new(),
                    insn: RawLock::new(),
                })
                .collect(),
            guards: self.guards,
            declared: self.declared,
            mm_cpumask: (0..self.ncpus)
                .map(|c| !self.outside_mm.contains(&c))
                .collect(),
            reuse: self.reuse,
            split_phys,
            shadow: Mutex::new(shadow),
        })
    }
}

impl World {
    /// The bookkeeping (never blocks: one model thread runs at a time).
    pub fn shadow(&self) -> MutexGuard<'_, Shadow> {
        self.shadow.lock().unwrap_or_else(|e| e.into_inner())
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
            panic!(
                "model error: a kernel path reads guard `{}`, which the scenario does not declare \
                 (add its GuardDoc, or the path runs with the step switched off)",
                g.names().join("`, `")
            );
        }
        self.shadow().guards_read |= g;
        self.guards.contains(g)
    }

    /// A CPU finished its program: it holds no pointer into the tables any more.
    pub(crate) fn cpu_finished(&self, cpu: usize) {
        if let Some(f) = self.shadow().finished.get_mut(cpu) {
            *f = true;
        }
    }

    /// Record that CPU `who` read `v` from entry `slot` of `t` (for the hazard witnesses).
    fn note_read(&self, who: Actor, t: FrameId, slot: usize, v: Entry) {
        let Actor::Cpu(n) = who else { return };
        let mut s = self.shadow();
        let r = &mut s.frames[t.0].readers;
        if !r.contains(&(n, slot)) {
            r.push((n, slot));
        }
        let p = v.pfn().0;
        if v.is_leaf() && p < self.frames.len() && self.frames[p].kind == FrameKind::Data {
            let by = &mut s.frames[p].reached_by;
            if !by.contains(&n) {
                by.push(n);
            }
        }
    }

    /// `who` changed or freed something that the CPUs satisfying `read` had read: an
    /// opportunity for hazard `h`, and the hazard itself if one of them is still walking.
    fn note_hazard(s: &mut Shadow, who: Actor, h: Hazards, read: impl Fn(usize) -> bool) {
        let others = (0..s.finished.len()).filter(|&n| Actor::Cpu(n) != who && read(n));
        for n in others {
            s.opportunities |= h;
            if !s.finished[n] {
                s.hazards |= h;
            }
        }
    }

    /// `who` rewrote entry `slot` of `t`: an entry-changed hazard if a walker read it.
    fn note_write(&self, who: Actor, t: FrameId, slot: usize) {
        let mut s = self.shadow();
        let readers = s.frames[t.0].readers.clone();
        Self::note_hazard(&mut s, who, Hazards::ENTRY_CHANGED, |n| {
            readers.contains(&(n, slot))
        });
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

    /// The oracle at every access to a frame (called right after the access's trace step): it
    /// must not be freed (interleaving order), and, under loom, the access is recorded so that a
    /// later unordered free is caught.
    pub(crate) fn touch(&self, who: Actor, f: FrameId, access: &'static str, func: &'static str) {
        let step = {
            let s = self.shadow();
            if let Some(freed) = &s.frames[f.0].freed {
                let freed = freed.clone();
                drop(s);
                violation::raise(Violation::UseAfterFree {
                    frame: self.frames[f.0].name.to_string(),
                    by: who,
                    access,
                    func,
                    freed,
                    order: UafOrder::AfterFree,
                });
            }
            trace::snapshot_len().saturating_sub(1)
        };
        self.frames[f.0].cell.access();
        let mut s = self.shadow();
        let acc = &mut s.frames[f.0].accesses;
        acc.retain(|(a, _, _, _)| *a != who);
        acc.push((who, func, step, access));
    }

    /// Load entry `slot` of table `t` (`READ_ONCE(*pXdp)` and friends): one scheduling point,
    /// then the use-after-free oracle in the same step (DESIGN.md §2: the check must follow the
    /// racy load with no scheduling point between).
    pub fn load(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        o: Ordering,
        func: &'static str,
    ) -> Entry {
        self.check_is_table(who, t, slot, func);
        let v = Entry(self.frames[t.0].slots[slot].load(o));
        trace::record_access(
            who,
            func,
            What::Read {
                table: self.name(t),
                slot,
                value: self.show(v),
            },
            Some(EntryAccess {
                entry: (t.0, slot),
                write: false,
                value: v.0,
            }),
        );
        self.touch(who, t, "read", func);
        self.note_read(who, t, slot, v);
        if v == Entry::DEPOSIT_LINK {
            violation::raise(Violation::Misread {
                by: who,
                func,
                seen: format!("{}[{slot}] = {}", self.name(t), self.show(v)),
                detail: "not an entry: the list_head pgtable_trans_huge_deposit wrote over the \
                         first entries of the detached table, which reads as a present pte"
                    .into(),
            });
        }
        v
    }

    /// Load word `slot` of kernel object `o` ([`WorldBuilder::object`]), a plain value named
    /// `field` in the trace (`vma->vm_sequence`, `vma->vm_flags`): one scheduling point, the
    /// use-after-free oracle in the same step, and the reader noted for the hazards (an object
    /// word holds no page-table entry, so it is never followed as one).
    pub fn load_field(
        &self,
        who: Actor,
        o: FrameId,
        slot: usize,
        field: &'static str,
        ord: Ordering,
        func: &'static str,
    ) -> u64 {
        self.check_is_table(who, o, slot, func);
        let v = self.frames[o.0].slots[slot].load(ord);
        self.record_field(who, o, slot, field, v, false, func);
        self.touch(who, o, "read", func);
        self.note_read(who, o, slot, Entry::NONE);
        v
    }

    /// Store `v` to word `slot` of kernel object `o`, named `field` in the trace.
    #[allow(clippy::too_many_arguments)]
    pub fn store_field(
        &self,
        who: Actor,
        o: FrameId,
        slot: usize,
        field: &'static str,
        v: u64,
        ord: Ordering,
        func: &'static str,
    ) {
        self.check_is_table(who, o, slot, func);
        self.frames[o.0].slots[slot].store(v, ord);
        self.record_value(who, o, slot, Entry(v));
        self.record_field(who, o, slot, field, v, true, func);
        self.touch(who, o, "wrote", func);
        self.note_write(who, o, slot);
    }

    /// The trace step of a field access (with its entry access, for stale-read marking).
    #[allow(clippy::too_many_arguments)]
    fn record_field(
        &self,
        who: Actor,
        o: FrameId,
        slot: usize,
        field: &'static str,
        value: u64,
        write: bool,
        func: &'static str,
    ) {
        trace::record_access(
            who,
            func,
            What::Field {
                object: self.name(o),
                field,
                value,
                write,
            },
            Some(EntryAccess {
                entry: (o.0, slot),
                write,
                value,
            }),
        );
    }

    /// Store to entry `slot` of table `t` (`WRITE_ONCE`, `set_pte_at`, `pmd_populate`, ...).
    pub fn store(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        e: Entry,
        o: Ordering,
        func: &'static str,
    ) {
        self.check_is_table(who, t, slot, func);
        self.frames[t.0].slots[slot].store(e.0, o);
        self.record_value(who, t, slot, e);
        trace::record_access(
            who,
            func,
            What::Write {
                table: self.name(t),
                slot,
                value: self.show(e),
            },
            Some(EntryAccess {
                entry: (t.0, slot),
                write: true,
                value: e.0,
            }),
        );
        self.touch(who, t, "wrote", func);
        self.note_write(who, t, slot);
        self.check_detached(who, t, e, func);
    }

    /// Exchange entry `slot` of table `t` (`xchg`: `ptep_get_and_clear`,
    /// `pmdp_huge_get_and_clear`); `full` adds `smp_mb()` on both sides (a fully ordered RMW).
    pub fn exchange(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        e: Entry,
        full: bool,
        func: &'static str,
    ) -> Entry {
        if full {
            rt::fence(Ordering::SeqCst);
        }
        self.check_is_table(who, t, slot, func);
        let old = Entry(self.frames[t.0].slots[slot].swap(e.0, Ordering::Relaxed));
        self.record_value(who, t, slot, e);
        if full {
            rt::fence(Ordering::SeqCst);
        }
        trace::record_access(
            who,
            func,
            What::Exchange {
                table: self.name(t),
                slot,
                old: self.show(old),
                new: self.show(e),
            },
            Some(EntryAccess {
                entry: (t.0, slot),
                write: true,
                value: e.0,
            }),
        );
        self.touch(who, t, "wrote", func);
        self.note_write(who, t, slot);
        self.check_detached(who, t, e, func);
        old
    }

    fn check_detached(&self, who: Actor, t: FrameId, e: Entry, func: &'static str) {
        if !e.is_none() && self.shadow().frames[t.0].detached {
            violation::raise(Violation::LostUpdate {
                by: who,
                func,
                frame: self.name(t).to_string(),
                what: self.show(e).to_string(),
                why: "which was already detached from the tree".into(),
            });
        }
    }

    /// Mark a table as unlinked from the tree (after `pmd_clear` & co): a later non-empty
    /// write into it is a lost update.
    pub fn mark_detached(&self, t: FrameId) {
        self.shadow().frames[t.0].detached = true;
    }

    /// A detached table handed out again without going through the page allocator (a
    /// page-table cache: the old `quicklist`s, an arch's pte-fragment cache): to its new owner
    /// it is a fresh table, so writes into it are not lost updates; a walker still inside it
    /// from its old place sees whatever the new owner writes (no poison: nothing was freed).
    pub fn reattach(&self, who: Actor, t: FrameId, func: &'static str) {
        self.shadow().frames[t.0].detached = false;
        trace::record(who, func, format!("{} handed out again", self.name(t)));
    }

    /// A remover that detaches a table it believes empty (`retract_page_tables`,
    /// `collapse_pte_mapped_thp` after clearing its ptes, empty-table reclaim): mark it
    /// detached, and report a live entry still in it (the value written last in interleaving
    /// order, which the lock the remover holds makes the one it would see) as an update lost
    /// with the table.
    pub fn detach(&self, who: Actor, t: FrameId, func: &'static str) {
        let live = {
            let mut s = self.shadow();
            s.frames[t.0].detached = true;
            (0..self.slots(t)).find_map(|i| {
                s.current
                    .get(&(t.0, i))
                    .filter(|(e, _)| !e.is_none() && *e != Entry::POISON)
                    .map(|&(e, by)| (i, e, by))
            })
        };
        if let Some((i, e, by)) = live {
            violation::raise(Violation::EntryDiscarded {
                by: who,
                func,
                frame: format!("{}[{i}]", self.name(t)),
                what: self.show(e).to_string(),
                installed_by: by.map_or("the initial state".into(), |a| a.to_string()),
            });
        }
    }

    /// Return a frame to the allocator (`free_page`, `__free_page`, `pte_free`,
    /// `__tlb_remove_table`). Every earlier access must happen before this point.
    ///
    /// The free is an *access the explorers see* (DESIGN.md §2, "a free that is not an atomic
    /// access is invisible to DPOR"): the allocator writes the page it gets back (poisoning or
    /// zeroing with `init_on_free`, the free-list link, then the next owner's `clear_page`), so
    /// the free stores [`Entry::POISON`] into every entry word of a table frame. Each store is a
    /// scheduling point that conflicts with every load and store of that word, so loom's DPOR
    /// and shuttle both try "free, then the walker's access" wherever the two are not ordered,
    /// and the interleaving-order oracle in [`World::load`] reports it. The frame counts as freed
    /// from the first of those stores on (same step). A data page has no entry words: its free is
    /// the `put_page` that dropped the refcount to zero, itself an RMW that conflicts with every
    /// `get_page_unless_zero`, and a stale pin is caught by the pin oracle's generation check.
    pub fn free(&self, who: Actor, f: FrameId, func: &'static str) {
        {
            let s = self.shadow();
            if let Some(prev) = &s.frames[f.0].freed {
                let prev = prev.clone();
                drop(s);
                violation::raise(Violation::DoubleFree {
                    frame: self.name(f).to_string(),
                    by: who,
                    func,
                    freed: prev,
                });
            }
        }
        let slots = &self.frames[f.0].slots;
        match slots.first() {
            None => self.mark_freed(who, f, func),
            Some(first) => {
                first.store(Entry::POISON.0, Ordering::Relaxed);
                self.mark_freed(who, f, func);
                for s in &slots[1..] {
                    s.store(Entry::POISON.0, Ordering::Relaxed);
                }
            }
        }
    }

    /// The bookkeeping of a free, in the step of the allocator's first write: the trace step,
    /// the causality check of earlier accesses (loom), the shadow state.
    fn mark_freed(&self, who: Actor, f: FrameId, func: &'static str) {
        let step = trace::record(who, func, What::Free(self.name(f)));
        let here = FreedAt {
            by: who,
            func,
            step,
        };
        let pending = {
            let s = self.shadow();
            s.frames[f.0]
                .accesses
                .iter()
                .rev()
                .find(|(a, _, _, _)| *a != who)
                .map(|&(a, afunc, _, access)| Violation::UseAfterFree {
                    frame: self.name(f).to_string(),
                    by: a,
                    access,
                    func: afunc,
                    freed: here.clone(),
                    order: UafOrder::NotOrderedBeforeFree,
                })
        };
        violation::set_pending_causality(pending);
        self.frames[f.0].cell.free();
        violation::set_pending_causality(None);
        let mut s = self.shadow();
        let (readers, reached) = (
            s.frames[f.0].readers.clone(),
            s.frames[f.0].reached_by.clone(),
        );
        Self::note_hazard(&mut s, who, Hazards::TABLE_FREED, |n| {
            readers.iter().any(|&(r, _)| r == n)
        });
        Self::note_hazard(&mut s, who, Hazards::PAGE_FREED, |n| reached.contains(&n));
        let fs = &mut s.frames[f.0];
        fs.freed = Some(here.clone());
        fs.last_freed = Some(here);
        fs.generation = fs.generation.wrapping_add(1);
    }

    /// The page allocator hands a freed data page to someone outside the scenario (the
    /// common case on a busy machine: the per-CPU free list is reused at once).
    ///
    /// The allocator orders the allocation after the free (zone lock, per-cpu lists); the model
    /// gets that edge from the refcount itself: `set_page_count(page, 1)` is done as a
    /// compare-exchange from 0 with acquire, reading the releasing put that freed the page.
    /// No shadow-cell write: walkers never read a data page's contents, only its refcount.
    pub fn reuse(&self, who: Actor, f: FrameId, func: &'static str) {
        assert!(self.is_freed(f), "reuse of a live frame");
        let r = self.frames[f.0].page().refcount.compare_exchange(
            0,
            1,
            Ordering::Acquire,
            Ordering::Relaxed,
        );
        if let Err(c) = r {
            trace::record(
                who,
                func,
                format!("{} not reallocated: refcount {c}", self.name(f)),
            );
            return;
        }
        {
            let mut s = self.shadow();
            let fs = &mut s.frames[f.0];
            fs.freed = None;
            fs.reused = true;
            fs.accesses.clear();
            fs.reached_by.clear();
        }
        trace::record(
            who,
            func,
            format!("{} reallocated to another user (refcount 1)", self.name(f)),
        );
    }

    /// Entries of table `t` as now seen by the finishing thread (final-state oracles only).
    pub fn final_entry(&self, t: FrameId, slot: usize) -> Entry {
        Entry(self.frames[t.0].slots[slot].load(Ordering::Acquire))
    }

    pub fn slots(&self, t: FrameId) -> usize {
        self.frames[t.0].slots.len()
    }

    /// The end-of-execution oracle: every table frame is either freed or reachable from a
    /// root; every data page's refcount equals its mappings plus the pins still held plus one
    /// for a reuse by another user; a page whose count is zero has been freed.
    ///
    /// An execution can break several of these at once (a tail page freed while still mapped
    /// *and* a head reference leaked); the most severe is reported, naming its frame: a table
    /// freed but still linked, then a page freed while still mapped, then a leak.
    pub fn check_no_leak(&self, roots: &[FrameId]) {
        let mut reachable = vec![false; self.frames.len()];
        let mut mapcount = vec![0u64; self.frames.len()];
        let mut stack: Vec<FrameId> = roots.to_vec();
        while let Some(t) = stack.pop() {
            if reachable[t.0] {
                continue;
            }
            reachable[t.0] = true;
            for i in 0..self.slots(t) {
                if self.frames[t.0].fields & (1 << i) != 0 {
                    continue;
                }
                let e = self.final_entry(t, i);
                if e.is_table() {
                    stack.push(e.pfn());
                } else if e.is_leaf() && e.pfn().0 < self.frames.len() {
                    mapcount[e.pfn().0] += 1;
                }
            }
        }
        // (severity: lower is worse, violation)
        let mut found: Vec<(u8, Violation)> = Vec::new();
        let s = self.shadow();
        for (i, f) in self.frames.iter().enumerate() {
            let fs = &s.frames[i];
            match f.kind {
                FrameKind::Table(_) | FrameKind::Object => {
                    if fs.freed.is_none() && !reachable[i] {
                        found.push((
                            2,
                            Violation::Leak {
                                detail: format!("{} is neither freed nor reachable", f.name),
                            },
                        ));
                    }
                    if let (Some(freed), true) = (&fs.freed, reachable[i]) {
                        found.push((
                            0,
                            Violation::FreedWhileMapped {
                                frame: f.name.to_string(),
                                what: "still linked in the tree".into(),
                                freed: freed.clone(),
                            },
                        ));
                    }
                }
                FrameKind::Data => {
                    let pins = s.pins.iter().filter(|(_, p)| p.0 == i).count() as u64;
                    let want = mapcount[i] + pins + u64::from(fs.reused);
                    let have = f.page().refcount.load(Ordering::Acquire);
                    match (&fs.freed, mapcount[i]) {
                        (Some(freed), m) if m > 0 => found.push((
                            1,
                            Violation::FreedWhileMapped {
                                frame: f.name.to_string(),
                                what: format!("still mapped by {m} entr{}", if m == 1 { "y" } else { "ies" }),
                                freed: freed.clone(),
                            },
                        )),
                        _ if have != want => found.push((
                            2,
                            Violation::Leak {
                                detail: format!(
                                    "{} has refcount {have}, expected {want} ({} mappings, {pins} pins, {} other user)",
                                    f.name, mapcount[i], u64::from(fs.reused)
                                ),
                            },
                        )),
                        (None, _) if have == 0 => found.push((
                            2,
                            Violation::Leak {
                                detail: format!("{} has refcount 0 but was never freed", f.name),
                            },
                        )),
                        _ => {}
                    }
                }
            }
        }
        drop(s);
        if let Some((_, v)) = found.into_iter().min_by_key(|(rank, _)| *rank) {
            violation::raise(v);
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let s = self.shadow();
        crate::exec::finished(
            s.cost,
            &s.choices.met,
            s.hazards,
            s.opportunities,
            s.guards_read,
        );
    }
}

/// A CPU's program: what it runs from the start of the execution to its end.
pub type Program = Box<dyn FnOnce(&Ctx) + Send>;

/// Run one program per CPU: CPU0 on the explorer's main thread (one model thread fewer, which
/// is what loom's cost depends on), the others on spawned threads; then join every thread,
/// RCU callback runners included, so that the final-state oracles see a quiescent machine.
pub fn run_cpus(world: &Arc<World>, programs: Vec<Program>) {
    let mut progs = programs.into_iter().enumerate();
    let first = progs.next();
    let handles: Vec<_> = progs
        .map(|(n, p)| {
            let ctx = Ctx::cpu(world, n);
            rt::spawn(move || {
                p(&ctx);
                ctx.world.cpu_finished(n);
            })
        })
        .collect();
    if let Some((_, p)) = first {
        p(&Ctx::cpu(world, 0));
        world.cpu_finished(0);
    }
    for h in handles {
        h.join();
    }
    world.join_all();
}

/// A thread of the execution acting on the world: a CPU or an RCU callback.
#[derive(Clone)]
pub struct Ctx {
    pub actor: Actor,
    pub world: Arc<World>,
}

impl Ctx {
    pub fn cpu(world: &Arc<World>, n: usize) -> Ctx {
        Ctx {
            actor: Actor::Cpu(n),
            world: world.clone(),
        }
    }

    /// The CPU number; panics for an RCU callback (a model bug: callbacks have no CPU state).
    pub fn cpu_id(&self) -> usize {
        match self.actor {
            Actor::Cpu(n) => n,
            a => panic!("{a} is not a CPU"),
        }
    }

    /// ` (interrupts off)` when this CPU is in an irq-off section, for reports of where it
    /// waits.
    pub(crate) fn irqs_off_note(&self) -> &'static str {
        match self.actor {
            Actor::Cpu(n) if self.world.depth(n, false) > 0 => " (interrupts off)",
            _ => "",
        }
    }

    /// Record a step that touches no shared state (a decision, a bail-out).
    pub fn note(&self, func: &'static str, what: impl Into<What>) {
        trace::record(self.actor, func, what);
    }

    pub fn load(&self, t: FrameId, slot: usize, o: Ordering, func: &'static str) -> Entry {
        self.world.load(self.actor, t, slot, o, func)
    }

    pub fn store(&self, t: FrameId, slot: usize, e: Entry, o: Ordering, func: &'static str) {
        self.world.store(self.actor, t, slot, e, o, func)
    }

    pub fn exchange(
        &self,
        t: FrameId,
        slot: usize,
        e: Entry,
        full: bool,
        func: &'static str,
    ) -> Entry {
        self.world.exchange(self.actor, t, slot, e, full, func)
    }

    pub fn free(&self, f: FrameId, func: &'static str) {
        self.world.free(self.actor, f, func)
    }

    pub fn guard(&self, g: Guards) -> bool {
        self.world.guard(g)
    }

    /// [`World::load_field`].
    pub fn load_field(
        &self,
        o: FrameId,
        slot: usize,
        field: &'static str,
        ord: Ordering,
        func: &'static str,
    ) -> u64 {
        self.world.load_field(self.actor, o, slot, field, ord, func)
    }

    /// [`World::store_field`].
    pub fn store_field(
        &self,
        o: FrameId,
        slot: usize,
        field: &'static str,
        v: u64,
        ord: Ordering,
        func: &'static str,
    ) {
        self.world
            .store_field(self.actor, o, slot, field, v, ord, func)
    }
}
