//! Empty pte-table reclaim (mm/pt_reclaim.c, v6.14, Qi Zheng: "synchronously scan and reclaim
//! empty user PTE pages"; folded into mm/memory.c today as `zap_empty_pte_table` /
//! `zap_pte_table_if_empty`): `madvise(MADV_DONTNEED)` zaps a whole table's worth of ptes and
//! frees the table if nothing is left in it, through the mmu_gather (`pte_free_tlb`: RCU table
//! free, which `PT_RECLAIM` selects). It holds only `mmap_read_lock` (or the VMA lock), as a
//! racing fault does.
//!
//! Guards read: reclaim-recheck, pmd-same (the zap's own `pte_offset_map_lock`), and those of
//! the mmu_gather (table-free-defer, remove-table-sync, free-after-flush).

use crate::kernel::khugepaged::RangeLocks;
use crate::kernel::pgtable_generic::{pte_offset_map, pte_offset_map_lock, pte_unmap};
use crate::kernel::{Addr, Mm};
use ptcheck_arch::mmu_gather::MmuGather;
use ptcheck_arch::ArchPolicy;
use ptcheck_model::ordering::ONCE;
use ptcheck_model::{Choice, Ctx, Entry, Guards};

/// The data choice: `need_resched()` during the zap breaks the loop with the pte lock dropped,
/// so the table is reclaimed by the slow path, which must look at every pte again.
pub const NEED_RESCHED: Choice = Choice {
    name: "zap_pte_range need_resched()",
    options: &[
        "no",
        "yes: the pte lock is dropped before the reclaim (slow path)",
    ],
};

/// `zap_pte_range(tlb, vma, pmd, addr, end, details)` with `details->reclaim_pt` (MADV_DONTNEED
/// of a whole table's range), then `tlb_finish_mmu`:
/// under `pte_offset_map_lock`, `ptep_get_and_clear_full` and `tlb_remove_page` of each pte;
/// fast path (the loop ran to the end under the lock): `zap_empty_pte_table`, `spin_trylock` of
/// the pmd lock while holding the pte lock (the lock order is pmd then pte), `pmd_clear`;
/// slow path: `zap_pte_table_if_empty`, the pmd lock, `pte_offset_map_rw_nolock`, the pte lock,
/// every pte still none (reclaim-recheck), `pmd_clear`; then `pte_free_tlb`.
pub fn zap_pte_range_reclaim(c: &Ctx, policy: &ArchPolicy, mm: Mm, a: Addr, l: &RangeLocks) {
    const F: &str = "zap_pte_range";
    let mut tlb = MmuGather::new(c, policy).pt_reclaim();
    let Some(m) = pte_offset_map_lock(c, mm, a, &l.ptl) else {
        tlb.tlb_finish_mmu();
        return;
    };
    let old = c.exchange(
        m.table,
        a.pte,
        Entry::NONE,
        true,
        "zap_pte_range (ptep_get_and_clear_full)",
    );
    if old.is_leaf() {
        tlb.tlb_remove_page(old.pfn());
    }
    let direct = !c.world.choose(NEED_RESCHED);
    let mut cleared = None;
    if direct {
        // zap_empty_pte_table: never wait for the pmd lock while holding the pte lock.
        if c.spin_trylock(&l.pml, "zap_empty_pte_table") {
            let v = c.load(m.pmdp, m.slot, ONCE, "zap_empty_pte_table (pmdp_get)");
            c.store(
                m.pmdp,
                m.slot,
                Entry::NONE,
                ONCE,
                "zap_empty_pte_table (pmd_clear)",
            );
            c.world.detach(c.actor, v.pfn(), F);
            c.spin_unlock(&l.pml, "zap_empty_pte_table");
            cleared = Some(v);
        }
    } else {
        c.note(F, "need_resched(): break, the pte lock is dropped");
    }
    c.spin_unlock(&l.ptl, "pte_unmap_unlock");
    pte_unmap(c, m);
    if cleared.is_none() {
        cleared = zap_pte_table_if_empty(c, mm, a, l);
    }
    if let Some(v) = cleared {
        tlb.free_table(v.pfn(), "pte_free_tlb");
    }
    tlb.tlb_finish_mmu();
}

/// `zap_pte_table_if_empty` (v6.14 `try_to_free_pte`): the slow path, with the pte lock taken
/// again. The pmd lock is held across `pte_offset_map_rw_nolock`, so the snapshot cannot go
/// stale (every pmd writer holds it); the ptes can: a fault may have filled one in since the
/// zap dropped the pte lock.
fn zap_pte_table_if_empty(c: &Ctx, mm: Mm, a: Addr, l: &RangeLocks) -> Option<Entry> {
    const F: &str = "zap_pte_table_if_empty";
    c.spin_lock(&l.pml, F);
    let Some(m) = pte_offset_map(c, mm, a) else {
        c.spin_unlock(&l.pml, F);
        return None;
    };
    c.spin_lock(&l.ptl, F);
    let empty = !c.guard(Guards::RECLAIM_RECHECK)
        || c.load(m.table, a.pte, ONCE, "zap_pte_table_if_empty (ptep_get)")
            .is_none();
    let cleared = if empty {
        c.store(
            m.pmdp,
            m.slot,
            Entry::NONE,
            ONCE,
            "zap_pte_table_if_empty (pmd_clear)",
        );
        c.world.detach(c.actor, m.table, F);
        Some(m.pmdval)
    } else {
        c.note(F, "a pte was filled in again: keep the table");
        None
    };
    c.spin_unlock(&l.ptl, F);
    pte_unmap(c, m);
    c.spin_unlock(&l.pml, F);
    cleared
}
