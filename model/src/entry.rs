//! Page-table entry values: 64-bit words with flag bits (`bitflags`), as the kernel's
//! `pgd_t`/`pmd_t`/`pte_t`.
//!
//! Layout (a model layout, not one architecture's):
//! - bits 0..8: [`EntryFlags`];
//! - bits 12..32: the page frame number, here the index of a frame of the scenario's pool;
//! - bits 40..48: a *ghost* generation tag: the generation of the data page when the entry was
//!   written. No kernel code reads it ([`Entry::same`] ignores it, as `pte_same` would compare
//!   real bits only); the pin oracle uses it to see that a page was freed between the write of
//!   the entry a walker read and the walker's pin, even when loom hands the walker a stale value.

use bitflags::bitflags;

bitflags! {
    /// Flag bits of an entry, named after the kernel helpers that test them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EntryFlags: u64 {
        /// `pte_present` / `pmd_present`.
        const PRESENT   = 1 << 0;
        /// The entry points at a next-level table (arm64 `PMD_TABLE_BIT`); clear = a leaf.
        const TABLE     = 1 << 1;
        /// Write permission (`pte_write`).
        const WRITE     = 1 << 2;
        /// `pte_special`: no struct page behind it; gup_fast must not touch it.
        const SPECIAL   = 1 << 3;
        /// arm/arm64 2014 `PMD_SECT_SPLITTING` (`pmd_trans_splitting`).
        const SPLITTING = 1 << 4;
        /// powerpc `_PAGE_PTE`: this entry is a leaf (huge) mapping, not a table pointer.
        const PAGE_PTE  = 1 << 5;
        /// `pte_mkyoung` / `pte_mkdirty`: the access and dirty bits a fault sets
        /// (`ptep_set_access_flags`).
        const DIRTY     = 1 << 6;
    }
}

/// Index of a frame in the scenario's pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameId(pub usize);

/// A page-table entry value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry(pub u64);

const PFN_SHIFT: u32 = 12;
const PFN_MASK: u64 = 0xf_ffff << PFN_SHIFT;
const GEN_SHIFT: u32 = 40;
const GEN_MASK: u64 = 0xff << GEN_SHIFT;

impl Entry {
    /// `pXd_none`: the empty entry.
    pub const NONE: Entry = Entry(0);

    /// What the allocator leaves in every entry word of a freed table
    /// ([`crate::World::free`]): not present, not none, never a valid entry.
    pub const POISON: Entry = Entry(0xdead << 48);

    /// The `list_head` that `pgtable_trans_huge_deposit` writes over the first entry of a
    /// deposited pte table on big-endian powerpc radix: the kernel pointer's top bits read as
    /// `_PAGE_PRESENT` and `_PAGE_PTE`, so a walker that reads it as a pte sees a present leaf.
    pub const DEPOSIT_LINK: Entry = Entry((0xc0de << 48) | 0x21);

    /// The same `list_head` on little-endian radix: read through the big-endian `pte_val` its
    /// bytes come out swapped, not present and not empty; a walker bails on it.
    pub const DEPOSIT_LINK_LE: Entry = Entry(0xc0de << 20);

    /// A present entry pointing at the next-level table `t` (`pmd_populate`, `pud_populate`).
    pub fn table(t: FrameId) -> Entry {
        Entry(((t.0 as u64) << PFN_SHIFT) | (EntryFlags::PRESENT | EntryFlags::TABLE).bits())
    }

    /// A present leaf mapping of data page `p` whose current generation is `gen`.
    pub fn leaf(p: FrameId, gen: u8, extra: EntryFlags) -> Entry {
        Entry(
            ((p.0 as u64) << PFN_SHIFT)
                | ((gen as u64) << GEN_SHIFT)
                | (EntryFlags::PRESENT | extra).bits(),
        )
    }

    pub fn flags(self) -> EntryFlags {
        EntryFlags::from_bits_truncate(self.0)
    }

    pub fn with(self, f: EntryFlags) -> Entry {
        Entry(self.0 | f.bits())
    }

    pub fn without(self, f: EntryFlags) -> Entry {
        Entry(self.0 & !f.bits())
    }

    /// The frame this entry points at (table or page).
    pub fn pfn(self) -> FrameId {
        FrameId(((self.0 & PFN_MASK) >> PFN_SHIFT) as usize)
    }

    /// The ghost generation tag (see the module docs).
    pub fn ghost_gen(self) -> u8 {
        ((self.0 & GEN_MASK) >> GEN_SHIFT) as u8
    }

    pub fn is_none(self) -> bool {
        self.0 & !GEN_MASK == 0
    }

    pub fn is_present(self) -> bool {
        self.flags().contains(EntryFlags::PRESENT)
    }

    /// Points at a next-level table.
    pub fn is_table(self) -> bool {
        self.is_present() && self.flags().contains(EntryFlags::TABLE)
    }

    /// A present leaf (a pte, or a huge pmd: `pmd_trans_huge`).
    pub fn is_leaf(self) -> bool {
        self.is_present() && !self.flags().contains(EntryFlags::TABLE)
    }

    /// `pte_same` / `pmd_same`: equal in every bit the hardware and kernel see.
    pub fn same(self, other: Entry) -> bool {
        self.0 & !GEN_MASK == other.0 & !GEN_MASK
    }
}
