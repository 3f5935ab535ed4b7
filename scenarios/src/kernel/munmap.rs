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
use ptcheck_model::{Ctx, Entry};

/// `unmap_region(mm, vma, ...)` for the one page at `a`, freeing its pte and pmd tables.
///
/// Guards read: those of the mmu_gather (free-after-flush, table-free-defer, remove-table-sync).
pub fn unmap_region(c: &Ctx, policy: &ArchPolicy, mm: Mm, a: Addr) {
    let mut tlb = MmuGather::new(c, policy);
    let pgd = c.load(mm.pgd, a.pgd, DEP, "unmap_vmas");
    let pmd_table = pgd.pfn();
    let pmd = c.load(pmd_table, a.pmd, DEP, "unmap_vmas");
    let pt = pmd.pfn();
    zap_pte_range(c, policy, &mut tlb, pt, a);
    // free_pgtables -> free_pgd_range: unlink each table from its parent, then hand it to the
    // mmu_gather (free_pte_range, then free_pmd_range with the pud folded into the pgd).
    for (parent, slot, table, clear, free) in [
        (
            pmd_table,
            a.pmd,
            pt,
            "free_pte_range (pmd_clear)",
            "pte_free_tlb",
        ),
        (
            mm.pgd,
            a.pgd,
            pmd_table,
            "free_pmd_range (pud_clear)",
            "pmd_free_tlb",
        ),
    ] {
        c.store(parent, slot, Entry::NONE, ONCE, clear);
        c.world.mark_detached(table);
        tlb.free_table(table, free);
    }
    tlb.tlb_finish_mmu();
}

/// `zap_pte_range`: clear the pte and gather its page.
pub fn zap_pte_range(
    c: &Ctx,
    policy: &ArchPolicy,
    tlb: &mut MmuGather,
    pt: ptcheck_model::FrameId,
    a: Addr,
) {
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
