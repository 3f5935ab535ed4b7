//! Kernel paths shared by scenarios, each function named after the kernel function it models.
//!
//! | file | kernel |
//! |---|---|
//! | [`gup_fast`] | `__get_user_pages_fast` and its range walkers (mm/gup.c, 2014 seed and today) |
//! | [`find_linux_pte`] | powerpc `__find_linux_pte` and a lockless caller (`kvmppc_book3s_radix_page_fault`) |
//! | [`hash_page`] | powerpc hash `hash_page_mm`: the fault path's lockless walk and HPTE insert |
//! | [`huge_memory`] | `zap_huge_pmd`, `__split_huge_pmd_locked`, `collapse_huge_page`, 2014 `split_huge_page`, a racing fault |
//! | [`munmap`] | `unmap_region`: `zap_pte_range`, `free_pgtables` (mm/mmap.c, mm/memory.c) |

pub mod find_linux_pte;
pub mod gup_fast;
pub mod hash_page;
pub mod huge_memory;
pub mod munmap;

use ptcheck_model::FrameId;

/// An address space: the root table of `mm->pgd`.
#[derive(Clone, Copy, Debug)]
pub struct Mm {
    pub pgd: FrameId,
}

/// A user address, as the entry index at each level (3 levels: the pud is folded into the pgd).
#[derive(Clone, Copy, Debug)]
pub struct Addr {
    pub pgd: usize,
    pub pmd: usize,
    pub pte: usize,
}

impl Addr {
    /// The first page of the first pmd: where the scenarios map their page.
    pub const FIRST: Addr = Addr {
        pgd: 0,
        pmd: 0,
        pte: 0,
    };
}
