//! Kernel paths shared by scenarios, each function named after the kernel function it models.
//!
//! | file | kernel |
//! |---|---|
//! | [`gup_fast`] | `__get_user_pages_fast` and its range walkers (mm/gup.c, 2014 seed and today) |
//! | [`find_linux_pte`] | powerpc `__find_linux_pte` and a lockless caller (`kvmppc_book3s_radix_page_fault`) |
//! | [`hash_page`] | powerpc hash `hash_page_mm`: the fault path's lockless walk and HPTE insert |
//! | [`huge_memory`] | `zap_huge_pmd`, `__split_huge_pmd_locked`, `collapse_huge_page`, 2014 `split_huge_page`, a racing fault |
//! | [`munmap`] | `unmap_region`: `zap_pte_range`, `free_pgtables` (mm/mmap.c, mm/memory.c) |
//! | [`pgtable_frag`] | powerpc pte fragments: `pte_free_defer`, `pte_fragment_free` (arch/powerpc/mm/pgtable-frag.c) |
//! | [`pgtable_generic`] | `__pte_offset_map`, `pte_offset_map_lock`, `pte_free_defer` (mm/pgtable-generic.c) |
//! | [`memory`] | the anonymous fault that installs a pte through `pte_offset_map_lock` (mm/memory.c) |
//! | [`khugepaged`] | `retract_page_tables`, `collapse_pte_mapped_thp` (mm/khugepaged.c) |
//! | [`pt_reclaim`] | empty pte-table reclaim in `zap_pte_range` (mm/pt_reclaim.c, v6.14; mm/memory.c today) |
//! | [`spf`] | the 2017 speculative page fault (`handle_speculative_fault`, `pte_map_lock`), its classic fallback, and `do_munmap` / `mprotect_fixup` / `try_to_unmap_one` as the series has them |
//! | [`fork`] | `copy_process` (a new mm published on the task list) and `do_exit` (`exit_mm`, `__mmdrop`) |
//! | [`x86_pgd`] | x86 `pgd_alloc` / `pgd_free`, `sync_global_pgds`, `arch_sync_kernel_mappings`; the 2015 lockless series' `arch_pgd_init_late` |

pub mod find_linux_pte;
pub mod fork;
pub mod gup_fast;
pub mod hash_page;
pub mod huge_memory;
pub mod khugepaged;
pub mod memory;
pub mod munmap;
pub mod pgtable_frag;
pub mod pgtable_generic;
pub mod pt_reclaim;
pub mod spf;
pub mod x86_pgd;

use ptcheck_arch::ArchPolicy;
use ptcheck_model::FrameId;

/// An address space: the root table of `mm->pgd`, and its page-table format.
#[derive(Clone, Copy, Debug)]
pub struct Mm {
    pub pgd: FrameId,
    /// Its pmds are two 32-bit words read apart (the policy's `pmd_halves`, x86-PAE).
    pub pmd_halves: bool,
}

impl Mm {
    /// The mm whose root table is `pgd`, on `policy`.
    pub fn new(pgd: FrameId, policy: &ArchPolicy) -> Mm {
        Mm {
            pgd,
            pmd_halves: policy.pmd_halves,
        }
    }
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

/// The `vm_area_struct` word the retract protocol reads: `vma->anon_vma`, set by
/// `anon_vma_prepare` before the first anonymous pte of a private file mapping is installed
/// (a COW fault, or `UFFDIO_COPY` into a private VMA), and read by `retract_page_tables`
/// (`file_backed_vma_is_retractable`) before and, since the seed's v2, again under the pte lock.
pub struct Vma {
    anon_vma: ptcheck_model::rt::Atomic,
}

impl Default for Vma {
    fn default() -> Self {
        Self::new()
    }
}

impl Vma {
    /// A file mapping that has no anonymous pages yet.
    pub fn new() -> Self {
        Vma {
            anon_vma: ptcheck_model::rt::Atomic::new(0),
        }
    }

    /// `anon_vma_prepare(vma)`: `vma->anon_vma = anon_vma` (under `mm->page_table_lock`; the
    /// pte lock the installer takes next is what orders it before the pte).
    pub fn anon_vma_prepare(&self, c: &ptcheck_model::Ctx) {
        self.anon_vma.store(1, ptcheck_model::ordering::ONCE);
        Self::traced(c, "anon_vma_prepare", "vma->anon_vma set", true, 1);
        // What retract_page_tables' recheck under the ptl reads (in this model its only
        // writer).
        c.guarded_state(ptcheck_model::Guards::RETRACT_RECHECK, true);
    }

    /// Trace an access of the word like an entry access, so that a read of a value an earlier
    /// step overwrote (weak memory) is marked stale in the counterexample.
    fn traced(
        c: &ptcheck_model::Ctx,
        func: &'static str,
        what: &'static str,
        write: bool,
        value: u64,
    ) {
        ptcheck_model::trace::record_access(
            c.actor,
            func,
            what,
            Some(ptcheck_model::EntryAccess {
                entry: (usize::MAX, 0),
                write,
                value,
            }),
        );
    }

    /// `READ_ONCE(vma->anon_vma)`.
    pub fn has_anon_vma(&self, c: &ptcheck_model::Ctx, func: &'static str) -> bool {
        let v = self.anon_vma.load(ptcheck_model::ordering::ONCE);
        let what = if v != 0 {
            "vma->anon_vma set: not retractable"
        } else {
            "vma->anon_vma NULL"
        };
        Self::traced(c, func, what, false, v);
        c.guarded_state(ptcheck_model::Guards::RETRACT_RECHECK, false);
        v != 0
    }
}
