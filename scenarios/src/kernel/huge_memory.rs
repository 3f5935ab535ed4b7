//! Writers that clear or convert a huge pmd (mm/huge_memory.c, mm/khugepaged.c, mm/memory.c),
//! each step named after its kernel function. The arch-specific pmd updates are in
//! `ptcheck_arch::pmd`.

use ptcheck_arch::mmu_gather::{tlb_remove_table_sync_one, MmuGather};
use ptcheck_arch::pmd::{
    pmdp_collapse_flush, pmdp_huge_get_and_clear, pmdp_invalidate, pmdp_splitting_flush,
};
use ptcheck_arch::policy::Deposit;
use ptcheck_arch::ArchPolicy;
use ptcheck_model::ordering::{smp_wmb, ONCE, PUBLISH};
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards};

/// Where a huge pmd lives: the pmd table and slot, and its deposited pte table
/// (`pgtable_trans_huge_deposit`, `pmd_huge_pte`).
#[derive(Clone, Copy, Debug)]
pub struct HugePmd {
    pub pmd: FrameId,
    pub slot: usize,
    pub deposited: FrameId,
}

/// `zap_huge_pmd(tlb, vma, pmd, addr)` (munmap / MADV_DONTNEED of a THP):
/// `pmdp_huge_get_and_clear_full`, `zap_deposited_table`, `tlb_remove_page_size` of the huge
/// page. Guards read: those of `pmdp_huge_get_and_clear` and the mmu_gather.
pub fn zap_huge_pmd(c: &Ctx, policy: &ArchPolicy, tlb: &mut MmuGather, h: HugePmd) {
    let old = pmdp_huge_get_and_clear(c, policy, h.pmd, h.slot);
    zap_deposited_table(c, policy, h);
    if old.is_present() {
        tlb.tlb_remove_page(old.pfn());
    }
}

/// `zap_deposited_table(mm, pmd)`: `pgtable_trans_huge_withdraw` (on radix it zeroes the list
/// link in the table), then `pte_free` at once, no grace period
/// and no TLB gather: the withdrawn table was not linked in the tree. If it is a table that
/// khugepaged detached by collapse, a walker that was inside it when it was detached is only
/// kept out by the collapse's `tlb_remove_table_sync_one`.
pub fn zap_deposited_table(c: &Ctx, policy: &ArchPolicy, h: HugePmd) {
    if matches!(
        policy.deposit,
        Deposit::ListInTable | Deposit::ListInTableBigEndian
    ) {
        c.store(
            h.deposited,
            0,
            Entry::NONE,
            ONCE,
            "pgtable_trans_huge_withdraw",
        );
    }
    c.free(h.deposited, "zap_deposited_table (pte_free)");
}

/// `pgtable_trans_huge_deposit(mm, pmdp, pgtable)`: keep the pte table for a later split or
/// zap (see [`Deposit`]). Generic: a list in the table's `struct page`; hash: a pointer in the
/// pmd page; radix: the `list_head` over the table's first entries (slot 0 here: the model's
/// tables have one entry per address).
pub fn pgtable_trans_huge_deposit(c: &Ctx, policy: &ArchPolicy, h: HugePmd) {
    const F: &str = "pgtable_trans_huge_deposit";
    let name = c.world.name(h.deposited).to_string();
    match policy.deposit {
        Deposit::ListInTable => c.store(h.deposited, 0, Entry::DEPOSIT_LINK_LE, ONCE, F),
        Deposit::ListInTableBigEndian => c.store(h.deposited, 0, Entry::DEPOSIT_LINK, ONCE, F),
        Deposit::StructPage => c.note(F, format!("deposit {name} (list in its struct page)")),
        Deposit::PmdPageSlot => c.note(F, format!("deposit {name} (pointer in the pmd page)")),
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
/// old `do_huge_pmd_wp_page_fallback` do): `pmdp_invalidate`, fill the deposited table with
/// ptes for the subpages, then `smp_wmb(); pmd_populate(mm, pmd, pgtable)`.
///
/// Guards read: those of `pmdp_invalidate` (serialize-pte-lookup).
pub fn split_huge_pmd_locked(c: &Ctx, policy: &ArchPolicy, h: HugePmd, ptes: &[Entry]) {
    // Since v4.5 the pmd is invalidated first, then the deposited table is withdrawn and
    // filled, then published.
    pmdp_invalidate(c, policy, h.pmd, h.slot);
    fill_deposited(c, h, ptes, "__split_huge_pmd_locked (set_pte_at)");
    populate(c, h, "__split_huge_pmd_locked (pmd_populate)");
}

/// Fill the deposited table with the subpages' ptes (`set_pte_at` for each).
fn fill_deposited(c: &Ctx, h: HugePmd, ptes: &[Entry], func: &'static str) {
    for (i, e) in ptes.iter().enumerate() {
        c.store(h.deposited, i, *e, ONCE, func);
    }
}

/// `smp_wmb(); pmd_populate(mm, pmd, pgtable)`: publish the filled table.
fn populate(c: &Ctx, h: HugePmd, func: &'static str) {
    smp_wmb();
    c.store(h.pmd, h.slot, Entry::table(h.deposited), PUBLISH, func);
}

/// `collapse_huge_page` (khugepaged, anon) of the pte table at `h`, into the new huge page
/// `hpage` (allocated by khugepaged beforehand, refcount 1):
/// `pmdp_collapse_flush` (clear the pmd, flush, per policy serialize); the collapse-sync-ipi
/// guard's `tlb_remove_table_sync_one()` (v6.1+); then `__collapse_huge_page_isolate`: every small page must be held by its mapping alone
/// (`is_refcount_suitable`), otherwise the collapse fails and the pmd is restored
/// (`pmd_populate` of the old table, `put_page` of `hpage`); then `__collapse_huge_page_copy`
/// (copy each page into `hpage`, clear the pte, drop the mapping's reference), deposit the old
/// table (`pgtable_trans_huge_deposit`), and `smp_wmb(); set_pmd_at` of the huge leaf.
/// Returns whether the collapse happened. Guards read: collapse-sync-ipi, and those of
/// `pmdp_collapse_flush` (serialize-pte-lookup).
pub fn collapse_huge_page(c: &Ctx, policy: &ArchPolicy, h: HugePmd, hpage: FrameId) -> bool {
    let old = pmdp_collapse_flush(c, policy, h.pmd, h.slot);
    if c.guard(Guards::COLLAPSE_SYNC_IPI) {
        // 2ba99c5e0881 (v6.1): a GUP-fast walker may still be inside the detached table.
        tlb_remove_table_sync_one(c, policy);
    }
    let Some(ptes) = collapse_huge_page_isolate(c, h) else {
        collapse_abort(c, h, old, hpage);
        return false;
    };
    collapse_huge_page_copy(c, h, &ptes, hpage);
    pgtable_trans_huge_deposit(c, policy, h);
    collapse_set_pmd(c, h, hpage);
    true
}

/// `__collapse_huge_page_isolate`: the present ptes of the detached table, if every page is
/// held by its mapping alone (`is_refcount_suitable`); `None`: a page has an extra reference
/// (a gup pin), the collapse must give up.
pub fn collapse_huge_page_isolate(c: &Ctx, h: HugePmd) -> Option<Vec<(usize, Entry)>> {
    let ptes: Vec<(usize, Entry)> = (0..c.world.slots(h.deposited))
        .map(|i| {
            (
                i,
                c.load(h.deposited, i, ONCE, "__collapse_huge_page_isolate"),
            )
        })
        .filter(|(_, e)| e.is_present())
        .collect();
    for (_, e) in &ptes {
        if c.page_count(
            e.pfn(),
            "__collapse_huge_page_isolate (is_refcount_suitable)",
        ) != 1
        {
            return None;
        }
    }
    Some(ptes)
}

/// The failed collapse: restore the pmd to the old table (`smp_wmb(); pmd_populate`) and drop
/// the new huge page.
pub fn collapse_abort(c: &Ctx, h: HugePmd, old: Entry, hpage: FrameId) {
    c.note(
        "collapse_huge_page",
        "extra reference: give up, restore the pmd",
    );
    smp_wmb();
    c.store(
        h.pmd,
        h.slot,
        old,
        PUBLISH,
        "collapse_huge_page (pmd_populate)",
    );
    c.put_page(hpage, "collapse_huge_page (put_page(hpage))");
}

/// `__collapse_huge_page_copy`: copy each isolated page into `hpage`, clear its pte, drop the
/// mapping's reference.
pub fn collapse_huge_page_copy(c: &Ctx, h: HugePmd, ptes: &[(usize, Entry)], hpage: FrameId) {
    for (i, e) in ptes {
        c.copy_page(e.pfn(), hpage, "__collapse_huge_page_copy");
        c.exchange(
            h.deposited,
            *i,
            Entry::NONE,
            false,
            "__collapse_huge_page_copy (ptep_clear)",
        );
        c.put_page(
            e.pfn(),
            "__collapse_huge_page_copy (free_page_and_swap_cache)",
        );
    }
}

/// `smp_wmb(); set_pmd_at(mm, address, pmd, _pmd)`: publish the huge leaf of `hpage`.
pub fn collapse_set_pmd(c: &Ctx, h: HugePmd, hpage: FrameId) {
    let gen = c.world.generation(hpage);
    let huge = Entry::leaf(hpage, gen, EntryFlags::WRITE | EntryFlags::PAGE_PTE);
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
            Entry::leaf(p, c.world.generation(p), EntryFlags::WRITE)
        })
        .collect();
    // 2014 __split_huge_page_map: fill first, then pmdp_invalidate, then publish.
    fill_deposited(c, h, &ptes, "__split_huge_page_map (set_pte_at)");
    pmdp_invalidate(c, policy, h.pmd, h.slot);
    populate(c, h, "__split_huge_page_map (pmd_populate)");
}
