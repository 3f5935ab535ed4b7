//! `unmap_region`: munmap of a range whose page tables go away with it (mm/mmap.c).
//!
//! ```c
//! tlb_gather_mmu(&tlb, mm);
//! unmap_vmas(&tlb, ...);       // zap_pte_range: ptep_get_and_clear_full; tlb_remove_page(page)
//! free_pgtables(&tlb, ...);    // free_pgd_range: pmd_clear + pte_free_tlb; pud_clear + pmd_free_tlb
//! tlb_finish_mmu(&tlb);        // tlb_flush_mmu: flush, tlb_table_flush, free the pages
//! ```
//! The caller holds `mmap_lock` for write, which gup_fast does not take: the walker and the
//! unmap meet only through the entries, the flush, and the way frames are freed.

use super::{Addr, Mm};
use ptcheck_arch::mmu_gather::MmuGather;
use ptcheck_arch::policy::PtepGetAndClear;
use ptcheck_arch::ArchPolicy;
use ptcheck_model::ordering::{DEP, ONCE};
use ptcheck_model::{Ctx, Entry, FrameId};

/// The page tables `unmap_vmas` walked through to the page at `a`: what `free_pgtables`
/// unlinks and frees next.
#[derive(Clone, Copy, Debug)]
pub struct Walked {
    /// The pmd table (`pgd[a.pgd]`'s child).
    pub pmd_table: FrameId,
    /// The pte table (`pmd[a.pmd]`'s child).
    pub pt: FrameId,
}

/// How `free_pgtables` hands over a table it has just unlinked (the step a patch series may
/// change): the mmu_gather's `pte_free_tlb` / `pmd_free_tlb` in the kernel, [`gather_table`].
/// `(ctx, mmu_gather, table, kernel function)`.
pub type FreeTable<'a> = &'a mut dyn FnMut(&Ctx, &mut MmuGather, FrameId, &'static str);

/// The kernel's table-free step: hand the table to the mmu_gather (`tlb_remove_page` or
/// `tlb_remove_table`, as the policy frees tables).
pub fn gather_table(_: &Ctx, tlb: &mut MmuGather, table: FrameId, func: &'static str) {
    tlb.free_table(table, func);
}

/// `unmap_region(mm, vma, ...)` for the one page at `a`, freeing its pte and pmd tables:
/// [`unmap_vmas`], [`free_pgtables`] with the mmu_gather's table free, `tlb_finish_mmu`.
///
/// Guards read: those of the mmu_gather (free-after-flush, table-free-defer, remove-table-sync).
pub fn unmap_region(c: &Ctx, policy: &ArchPolicy, mm: Mm, a: Addr) {
    unmap_region_with(c, policy, mm, a, &mut gather_table)
}

/// `unmap_region` with another table-free step (a series that frees page tables its own way):
/// the same zap, unlink order and final flush as the kernel's.
pub fn unmap_region_with(c: &Ctx, policy: &ArchPolicy, mm: Mm, a: Addr, free: FreeTable) {
    let mut tlb = MmuGather::new(c, policy);
    let w = unmap_vmas(c, policy, &mut tlb, mm, a);
    free_pgtables(c, &mut tlb, mm, a, w, free);
    tlb.tlb_finish_mmu();
}

/// `unmap_vmas`: walk to the page at `a` and zap its pte ([`zap_pte_range`]); returns the
/// tables walked, for [`free_pgtables`].
pub fn unmap_vmas(c: &Ctx, policy: &ArchPolicy, tlb: &mut MmuGather, mm: Mm, a: Addr) -> Walked {
    let pgd = c.load(mm.pgd, a.pgd, DEP, "unmap_vmas");
    let pmd_table = pgd.pfn();
    let pmd = c.load(pmd_table, a.pmd, DEP, "unmap_vmas");
    let pt = pmd.pfn();
    zap_pte_range(c, policy, tlb, pt, a);
    Walked { pmd_table, pt }
}

/// `free_pgtables` -> `free_pgd_range`: unlink each table from its parent, then hand it over
/// with `free` (free_pte_range, then free_pmd_range with the pud folded into the pgd).
pub fn free_pgtables(c: &Ctx, tlb: &mut MmuGather, mm: Mm, a: Addr, w: Walked, free: FreeTable) {
    for (parent, slot, table, clear, func) in [
        (
            w.pmd_table,
            a.pmd,
            w.pt,
            "free_pte_range (pmd_clear)",
            "pte_free_tlb",
        ),
        (
            mm.pgd,
            a.pgd,
            w.pmd_table,
            "free_pmd_range (pud_clear)",
            "pmd_free_tlb",
        ),
    ] {
        c.store(parent, slot, Entry::NONE, ONCE, clear);
        c.world.mark_detached(table);
        free(c, tlb, table, func);
    }
}

/// `zap_pte_range`: clear the pte and gather its page.
pub fn zap_pte_range(c: &Ctx, policy: &ArchPolicy, tlb: &mut MmuGather, pt: FrameId, a: Addr) {
    const F: &str = "zap_pte_range (ptep_get_and_clear_full)";
    let old = match policy.ptep_get_and_clear {
        PtepGetAndClear::Xchg => c.exchange(pt, a.pte, Entry::NONE, true, F),
        PtepGetAndClear::XchgRelaxed => c.exchange(pt, a.pte, Entry::NONE, false, F),
        PtepGetAndClear::ReadThenClear => {
            let old = c.load(pt, a.pte, ONCE, F);
            c.store(pt, a.pte, Entry::NONE, ONCE, F);
            old
        }
    };
    if old.is_present() {
        tlb.tlb_remove_page(old.pfn());
    }
}
