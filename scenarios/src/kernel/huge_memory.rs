//! Writers that clear or convert a huge pmd (mm/huge_memory.c, mm/khugepaged.c, mm/memory.c),
//! each step named after its kernel function. The arch-specific pmd updates are in
//! `ptcheck_arch::pmd`.

use ptcheck_arch::mmu_gather::MmuGather;
use ptcheck_arch::pmd::{
    pmdp_collapse_flush, pmdp_huge_get_and_clear, pmdp_invalidate, pmdp_splitting_flush,
};
use ptcheck_arch::ArchPolicy;
use ptcheck_model::ordering::{smp_wmb, ONCE, PUBLISH};
use ptcheck_model::{Ctx, Entry, FrameId};

/// Where a huge pmd lives: the pmd table and slot, and its deposited pte table
/// (`pgtable_trans_huge_deposit`, `pmd_huge_pte`).
#[derive(Clone, Copy, Debug)]
pub struct HugePmd {
    pub pmd: FrameId,
    pub slot: usize,
    pub deposited: FrameId,
}

/// `zap_huge_pmd(tlb, vma, pmd, addr)` (munmap / MADV_DONTNEED of a THP):
/// `pmdp_huge_get_and_clear_full`, `zap_deposited_table` (`pte_free` of the withdrawn table,
/// which no walker can reach: it was never linked), `tlb_remove_page_size` of the huge page.
pub fn zap_huge_pmd(c: &Ctx, policy: &ArchPolicy, tlb: &mut MmuGather, h: HugePmd) {
    let old = pmdp_huge_get_and_clear(c, policy, h.pmd, h.slot);
    c.free(h.deposited, "zap_deposited_table (pte_free)");
    if old.is_present() {
        tlb.tlb_remove_page(old.pfn());
    }
}

/// A page fault on the zapped range racing MADV_DONTNEED (the seed's case 3), standing for
/// another thread of the mm: `do_anonymous_page` -> `__pte_alloc` -> `pmd_install`
/// (`smp_wmb(); pmd_populate(mm, pmd, new)`), a huge pmd turned into a table pointer.
pub fn do_anonymous_page_pte_alloc(c: &Ctx, h: HugePmd, new: FrameId) {
    smp_wmb();
    c.store(
        h.pmd,
        h.slot,
        Entry::table(new),
        PUBLISH,
        "__pte_alloc (pmd_populate)",
    );
}

/// `__split_huge_pmd_locked(vma, pmd, haddr)` (also what `__split_huge_zero_page_pmd` and the
/// old `do_huge_pmd_wp_page_fallback` do): fill the deposited table with ptes for the subpages,
/// `pmdp_invalidate`, then `smp_wmb(); pmd_populate(mm, pmd, pgtable)`.
pub fn split_huge_pmd_locked(c: &Ctx, policy: &ArchPolicy, h: HugePmd, ptes: &[Entry]) {
    map_deposited(
        c,
        policy,
        h,
        ptes,
        [
            "__split_huge_pmd_locked (set_pte_at)",
            "__split_huge_pmd_locked (pmd_populate)",
        ],
    );
}

/// The common tail of both splits: fill the deposited table with `ptes`, `pmdp_invalidate`,
/// then `smp_wmb(); pmd_populate(mm, pmd, pgtable)`. `names` label the two kinds of store.
fn map_deposited(
    c: &Ctx,
    policy: &ArchPolicy,
    h: HugePmd,
    ptes: &[Entry],
    names: [&'static str; 2],
) {
    for (i, e) in ptes.iter().enumerate() {
        c.store(h.deposited, i, *e, ONCE, names[0]);
    }
    pmdp_invalidate(c, policy, h.pmd, h.slot);
    smp_wmb();
    c.store(h.pmd, h.slot, Entry::table(h.deposited), PUBLISH, names[1]);
}

/// `collapse_huge_page` (khugepaged, anon): `pmdp_collapse_flush` of the pmd that points at the
/// pte table, `__collapse_huge_page_copy` (the ptes are cleared; here the huge page is the page
/// the ptes mapped, so no copy), `pgtable_trans_huge_deposit` of the old table, and
/// `set_pmd_at` of the huge leaf after `smp_wmb`.
pub fn collapse_huge_page(c: &Ctx, policy: &ArchPolicy, h: HugePmd, huge: Entry) {
    pmdp_collapse_flush(c, policy, h.pmd, h.slot);
    for i in 0..c.world.slots(h.deposited) {
        c.exchange(
            h.deposited,
            i,
            Entry::NONE,
            false,
            "__collapse_huge_page_copy (ptep_clear)",
        );
    }
    c.note(
        "pgtable_trans_huge_deposit",
        format!("deposit {}", c.world.name(h.deposited)),
    );
    smp_wmb();
    c.store(
        h.pmd,
        h.slot,
        huge,
        PUBLISH,
        "collapse_huge_page (set_pmd_at)",
    );
}

/// 2014 `split_huge_page(head)` of a compound page with `tails` tail pages, mapped by one huge
/// pmd: `__split_huge_page_splitting` (`pmdp_splitting_flush`), `__split_huge_page_refcount`,
/// `__split_huge_page_map` (fill the deposited table, `pmdp_invalidate`, `pmd_populate`).
pub fn split_huge_page(c: &Ctx, policy: &ArchPolicy, h: HugePmd, head: FrameId, tails: usize) {
    pmdp_splitting_flush(c, policy, h.pmd, h.slot);
    c.split_huge_page_refcount(head, tails);
    let ptes: Vec<Entry> = (0..=tails)
        .map(|i| {
            let p = FrameId(head.0 + i);
            Entry::leaf(p, c.world.generation(p), ptcheck_model::EntryFlags::WRITE)
        })
        .collect();
    map_deposited(
        c,
        policy,
        h,
        &ptes,
        [
            "__split_huge_page_map (set_pte_at)",
            "__split_huge_page_map (pmd_populate)",
        ],
    );
}
