//! [`WorldBuilder`]: the initial state of an execution (frames, entries, names, the guards on,
//! the forced data choices), built inside the explorer's closure.

use super::*;

/// Builds a [`World`] (inside the explorer's closure).
pub struct WorldBuilder {
    pub(super) frames: Vec<FrameSpec>,
    pub(super) ncpus: usize,
    pub(super) guards: Guards,
    pub(super) declared: Guards,
    pub(super) outside_mm: Vec<usize>,
    /// The shadow of the execution, recycled ([`super::pool`]); holds the data choices.
    pub(super) shadow: Box<Shadow>,
    /// The last world's buffers ([`super::pool`]).
    pub(super) spare: Box<pool::Spare>,
    pub(super) data_names: usize,
    pub(super) reuse: bool,
    pub(super) initial: Vec<(FrameId, usize, Entry)>,
    /// Every frame's initial entry words, frame after frame ([`Words`]).
    pub(super) words: Vec<u64>,
    /// Data pages another user holds a reference to (the page cache).
    pub(super) external: Vec<FrameId>,
    /// The `struct page` words beyond the refcount that the scenario uses.
    pub(super) page_words: PageWord,
}

impl WorldBuilder {
    pub fn new(ncpus: usize, guards: Guards, choices: &[Picked]) -> Self {
        // A builder runs once per execution: its vectors are the last world's ([`super::pool`]).
        let mut spare = pool::take();
        let (frames, initial, words) = (
            std::mem::take(&mut spare.specs),
            std::mem::take(&mut spare.initial),
            std::mem::take(&mut spare.spec_words),
        );
        let mut shadow = spare.shadow.take().unwrap_or_default();
        shadow.choices.set.extend_from_slice(choices);
        WorldBuilder {
            frames,
            ncpus,
            guards,
            declared: Guards::all(),
            outside_mm: Vec::new(),
            shadow,
            spare,
            data_names: 0,
            reuse: false,
            initial,
            words,
            external: Vec::new(),
            page_words: PageWord::empty(),
        }
    }

    /// The `struct page` words beyond `_refcount` the scenario's kernel paths use
    /// ([`PageWord`]); a path using an undeclared one is a model bug, reported as such.
    pub fn page_words(mut self, w: PageWord) -> Self {
        self.page_words = w;
        self
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
    /// Met before any CPU runs, so whether it is met depends on the forced alternatives alone
    /// ([`crate::exec::ExecStats::built_met`]).
    pub fn pick(&mut self, c: Choice) -> usize {
        crate::exec::met_at_build(c);
        self.shadow.choices.pick(c)
    }

    /// Freed data pages are reallocated to another user right after their free (a separate
    /// step of the freeing CPU), as on a busy machine. This is what makes a stale pin harmful.
    pub fn reuse_freed_pages(mut self) -> Self {
        self.reuse = true;
        self
    }

    pub(super) fn push(&mut self, name: FrameName, kind: FrameKind, slots: usize) -> FrameId {
        let first = self.words.len();
        self.words.resize(first + slots, 0);
        self.frames.push(FrameSpec {
            name,
            kind,
            words: Words {
                first: first as u32,
                len: slots as u32,
            },
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
        let i = self.frames[o.0].words.at(slot);
        self.words[i] = v;
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
        let i = self.frames[t.0].words.at(slot);
        self.words[i] = e.0;
        self.initial.push((t, slot, e));
    }

    /// A compound (huge) page: a head with refcount `refs` and `tails` tail pages right after
    /// it in the pool (so that `head + i` is the i-th subpage, as `pmd_page(pmd) + index`).
    pub fn compound_page(&mut self, refs: u64, tails: usize) -> FrameId {
        let head = self.data_page(refs);
        self.frames[head.0].compound = Some(Box::new(crate::compound::CompoundState::head()));
        for _ in 0..tails {
            let t = self.data_page(0);
            self.frames[t.0].compound = Some(Box::new(crate::compound::CompoundState::tail()));
        }
        head
    }

    pub fn build(self) -> Arc<World> {
        trace::clear();
        crate::exec::started();
        let WorldBuilder {
            frames: mut specs,
            ncpus,
            guards,
            declared,
            outside_mm,
            mut shadow,
            mut spare,
            data_names: _,
            reuse,
            mut initial,
            words: mut spec_words,
            external,
            page_words,
        } = self;
        shadow.frames.truncate(specs.len());
        shadow.frames.resize_with(specs.len(), FrameShadow::default);
        shadow.irq_depth.resize(ncpus, 0);
        shadow.rcu_depth.resize(ncpus, 0);
        shadow.finished.resize(ncpus, false);
        for (t, slot, e) in initial.drain(..) {
            shadow.values.set_initial(t, slot, e);
        }
        for p in external {
            shadow.frames[p.0].reused = true;
        }
        let mut frames = std::mem::take(&mut spare.frames);
        let mut cpus = std::mem::take(&mut spare.cpus);
        let mut mm_cpumask = std::mem::take(&mut spare.mm_cpumask);
        let contents = Contents::tracked();
        let mut words = std::mem::take(&mut spare.words);
        words.extend(spec_words.drain(..).map(Atomic::new));
        for f in specs.drain(..) {
            frames.push(Frame {
                name: f.name,
                kind: f.kind,
                // A data page's contents are accessed only through page->mapping (`touch`);
                // its other words are explorer-tracked atomics of their own.
                contents: if f.kind == FrameKind::Data && !page_words.contains(PageWord::MAPPING) {
                    Contents::Untracked
                } else {
                    contents
                },
                words: f.words,
                page: (f.kind == FrameKind::Data).then(|| PageWords::new(f.refs, page_words)),
                compound: f.compound,
                phys: f.phys,
                fields: f.fields,
            });
        }
        let split_phys = frames.iter().any(|f| f.phys.high != 0);
        cpus.extend((0..ncpus).map(|_| CpuState::new()));
        mm_cpumask.extend((0..ncpus).map(|c| !outside_mm.contains(&c)));
        (spare.specs, spare.initial, spare.spec_words) = (specs, initial, spec_words);
        Arc::new(World {
            frames,
            words,
            cpus,
            guards,
            declared,
            mm_cpumask,
            reuse,
            split_phys,
            shadow: Bookkeeping(RefCell::new(Some(shadow))),
            spare: Some(spare),
        })
    }
}
