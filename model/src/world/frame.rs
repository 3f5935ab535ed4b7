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
    pub(super) cell: ShadowCell,
    pub(super) slots: Vec<Atomic>,
    /// The `struct page` words of a data page (tables have none: every model object is a
    /// shared location the explorers track, so only those a protocol uses exist).
    pub(super) page: Option<Box<PageWords>>,
    /// Compound-page state of a data page ([`crate::compound`]): `PG_tail` and the tail's
    /// `_mapcount` (gup's tail pins, 2014 THP refcounting), and the head's `compound_lock`.
    pub(crate) compound: Option<Box<crate::compound::CompoundState>>,
    /// Its physical address as the two 32-bit words of a PAE entry ([`Phys`]).
    pub phys: Phys,
    /// Words holding plain values, not entries (bit per slot).
    pub(super) fields: u64,
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
pub(super) struct FrameSpec {
    pub(super) name: FrameName,
    pub(super) kind: FrameKind,
    /// Initial entry values.
    pub(super) slots: Vec<u64>,
    /// Initial refcount (data pages).
    pub(super) refs: u64,
    pub(super) compound: Option<Box<crate::compound::CompoundState>>,
    pub(super) phys: Phys,
    /// Words holding plain values, not entries (bit per slot; see [`WorldBuilder::object_with_fields`]).
    pub(super) fields: u64,
}
