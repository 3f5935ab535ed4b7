//! The frame pool's types: what a frame is (a page-table page at a level, a kernel object,
//! a data page), its physical address, and what the builder records before the execution.

use super::*;

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
    /// How its contents' happens-before shadow is kept ([`Epochs`], in the frame's shadow).
    pub(super) contents: Contents,
    /// Its entry words: `len` of the world's flat list from `first` on ([`World::word`]).
    pub(super) words: Words,
    /// The `struct page` words of a data page (tables have none: every model object is a
    /// shared location the explorers track, so only those a protocol uses exist).
    pub(super) page: Option<PageWords>,
    /// Compound-page state of a data page ([`crate::compound`]): `PG_tail` and the tail's
    /// `_mapcount` (gup's tail pins, 2014 THP refcounting), and the head's `compound_lock`.
    pub(crate) compound: Option<Box<crate::compound::CompoundState>>,
    /// Its physical address as the two 32-bit words of a PAE entry ([`Phys`]).
    pub phys: Phys,
    /// Words holding plain values, not entries (bit per slot).
    pub(super) fields: u64,
}

/// Where a frame's entry words lie in the flat list of every frame's words (the builder's
/// initial values, the world's explorer atomics): one buffer per world instead of one per frame,
/// which a world built and dropped once per execution paid for in every execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Words {
    pub(super) first: u32,
    pub(super) len: u32,
}

impl Words {
    /// The index of word `slot` in the flat list (a slot beyond the frame is a model bug).
    #[inline]
    pub(super) fn at(self, slot: usize) -> usize {
        assert!(
            slot < self.len as usize,
            "model bug: slot {slot} of a {}-word frame",
            self.len
        );
        self.first as usize + slot
    }

    pub(super) fn range(self) -> std::ops::Range<usize> {
        self.first as usize..(self.first + self.len) as usize
    }
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

bitflags::bitflags! {
    /// The `struct page` words (beyond `_refcount`, which every data page has) that a
    /// scenario's kernel paths use, declared with [`WorldBuilder::page_words`]. Each is a shared
    /// location the explorers track in every execution (a loom atomic costs its creation, and
    /// every `smp_mb()` scans it), so only the declared ones exist.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct PageWord: u8 {
        /// The page's data, as one word: bumped by a write through a gup pin, copied by
        /// khugepaged's `__collapse_huge_page_copy` (the lost-update oracle, [`crate::page`]).
        const DATA = 1;
        /// The powerpc hash page table entry of the page ([`crate::hpte`]).
        const HPTE = 2;
        /// `page->mapping` of an anonymous page (`page_add_new_anon_rmap`).
        const MAPPING = 4;
    }
}

/// The words of a data page's `struct page` and contents.
pub(crate) struct PageWords {
    /// `page->_refcount`.
    pub(crate) refcount: Atomic,
    /// [`PageWord::DATA`], [`PageWord::HPTE`], [`PageWord::MAPPING`], if declared.
    words: [Option<Atomic>; 3],
}

impl PageWords {
    pub(super) fn new(refs: u64, declared: PageWord) -> Self {
        let word = |w: PageWord| declared.contains(w).then(|| Atomic::new(0));
        PageWords {
            refcount: Atomic::new(refs),
            words: [
                word(PageWord::DATA),
                word(PageWord::HPTE),
                word(PageWord::MAPPING),
            ],
        }
    }

    fn word(&self, i: usize, w: PageWord, name: &str) -> &Atomic {
        match &self.words[i] {
            Some(a) => a,
            None => panic!(
                "model bug: a kernel path uses {name} of a data page, but the scenario's world \
                 does not declare it (WorldBuilder::page_words({w:?}))"
            ),
        }
    }

    /// The page's data word ([`PageWord::DATA`]).
    pub(crate) fn content(&self) -> &Atomic {
        self.word(0, PageWord::DATA, "the contents")
    }

    /// The page's HPTE word ([`PageWord::HPTE`]).
    pub(crate) fn hpte(&self) -> &Atomic {
        self.word(1, PageWord::HPTE, "the HPTE")
    }

    /// `page->mapping` ([`PageWord::MAPPING`]).
    pub(crate) fn mapping(&self) -> &Atomic {
        self.word(2, PageWord::MAPPING, "page->mapping")
    }
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
pub(super) struct FrameSpec {
    pub(super) name: FrameName,
    pub(super) kind: FrameKind,
    /// Its entry words' initial values: `len` of the builder's flat list from `first` on.
    pub(super) words: Words,
    /// Initial refcount (data pages).
    pub(super) refs: u64,
    pub(super) compound: Option<Box<crate::compound::CompoundState>>,
    pub(super) phys: Phys,
    /// Words holding plain values, not entries (bit per slot; see [`WorldBuilder::object_with_fields`]).
    pub(super) fields: u64,
}
