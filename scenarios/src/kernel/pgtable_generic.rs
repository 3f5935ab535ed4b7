//! mm/pgtable-generic.c: today's way to reach a pte table without the mmap lock
//! (`__pte_offset_map` and the functions built on it, v6.5+: "mm/pgtable: allow
//! pte_offset_map[_lock]() to fail") and the deferred free of a table taken out of the tree
//! (`pte_free_defer`, v6.6: "mm/pgtable: add pte_free_defer() for pgtable as page").
//!
//! The contract (file comment): `pte_offset_map` "does take rcu_read_lock(): so that even when
//! page table is racily removed, it remains a valid though empty and disconnected table. Until
//! pte_unmap(pte) unmaps and rcu_read_unlock()s afterwards." `pte_offset_map_lock` rechecks the
//! pmd under the pte lock "so that a page table can be safely removed or replaced by THP while
//! holding its lock"; `pte_offset_map_rw_nolock` leaves that recheck to its caller.
//!
//! Guards read: pte-map-rcu and, on x86-PAE, pmd-lockless-irq-off (`__pte_offset_map`), pmd-same (`pte_offset_map_lock` and the
//! callers of `pte_offset_map_rw_nolock`), pte-free-defer (`pte_free_defer`), and on fragment
//! policies frag-defer-once.

use crate::kernel::pgtable_frag::{self, FragPage};
use crate::kernel::{Addr, Mm};
use ptcheck_arch::pmd::{pmdp_get_lockless, pmdp_get_lockless_end, pmdp_get_lockless_start};
use ptcheck_model::ordering::{DEP, ONCE};
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{Ctx, Entry, FrameId, Guards, Meaning, RcuFlavour};
use std::sync::Arc;

/// A pte table mapped by `__pte_offset_map`: where its pmd is, the pmd value it was mapped from
/// (`pmdval`, what `pte_offset_map_rw_nolock` hands its caller), the table, and whether the
/// walker holds `rcu_read_lock` until [`pte_unmap`].
#[derive(Clone, Copy, Debug)]
pub struct PteMap {
    pub pmdp: FrameId,
    pub slot: usize,
    pub pmdval: Entry,
    pub table: FrameId,
    rcu: bool,
}

/// `__pte_offset_map(pmd, addr, &pmdval)`: `rcu_read_lock()` *before* the pmd is read, one
/// `pmdp_get_lockless` snapshot (inside `pmdp_get_lockless_start/end` where pmds are read in
/// halves), NULL for a none, non-present or huge pmd, else the table the
/// snapshot points to (`__pte_map(&pmdval, addr)`: never a reload of `*pmd`). The caller's
/// `pmd_offset` walk down from the pgd is `mm_find_pmd`.
pub fn pte_offset_map(c: &Ctx, mm: Mm, a: Addr) -> Option<PteMap> {
    const F: &str = "__pte_offset_map";
    let rcu = c.guard(Guards::PTE_MAP_RCU);
    if rcu {
        c.rcu_read_lock(F);
    }
    let pgd = c.load(mm.pgd, a.pgd, DEP, "mm_find_pmd");
    let map = if pgd.is_none() {
        c.note(F, "pgd_none: NULL");
        None
    } else {
        let pmdp = pgd.pfn();
        let irq = pmdp_get_lockless_start(c, mm.pmd_halves);
        let pmdval = pmdp_get_lockless(c, mm.pmd_halves, pmdp, a.pmd, DEP, "pmdp_get_lockless");
        pmdp_get_lockless_end(c, irq);
        if pmdval.is_none() || !pmdval.is_present() || pmdval.is_leaf() {
            c.note(F, "pmd_none || !pmd_present || pmd_trans_huge: NULL");
            None
        } else {
            c.act_on(pmdp, a.pmd, pmdval, Meaning::Table, "__pte_map");
            Some(PteMap {
                pmdp,
                slot: a.pmd,
                pmdval,
                table: pmdval.pfn(),
                rcu,
            })
        }
    };
    if map.is_none() && rcu {
        c.rcu_read_unlock(F);
    }
    map
}

/// `pte_offset_map_rw_nolock(mm, pmd, addr, &pmdval, &ptl)` (v6.12+): `__pte_offset_map`,
/// the lock is the mapped table's; no lock taken, no pmd recheck: the caller must make sure the
/// table is still in place before it writes (`pmd_same` on `pmdval`, or `pte_same` of a pte
/// that was not none).
pub fn pte_offset_map_rw_nolock(c: &Ctx, mm: Mm, a: Addr) -> Option<PteMap> {
    pte_offset_map(c, mm, a)
}

/// `pte_unmap(pte)`: the end of the walker's RCU read section.
pub fn pte_unmap(c: &Ctx, m: PteMap) {
    if m.rcu {
        c.rcu_read_unlock("pte_unmap");
    }
}

/// The caller-side recheck `pte_offset_map_rw_nolock` asks for, and what
/// `pte_offset_map_lock` does itself: under the pte lock, `pmd_same(pmdval,
/// pmdp_get_lockless(pmd))`. With the pmd-same guard off it is skipped (reported the same).
pub fn pmd_same_under_ptl(c: &Ctx, m: &PteMap, func: &'static str) -> bool {
    if !c.guard(Guards::PMD_SAME) {
        return true;
    }
    let now = c.load(m.pmdp, m.slot, ONCE, func);
    let same = now.same(m.pmdval);
    if !same {
        c.note(func, "!pmd_same: the table was removed or replaced");
    }
    same
}

/// `pte_offset_map_lock(mm, pmd, addr, &ptl)`: map, take the table's lock (`pte_lockptr(mm,
/// &pmdval)`: the split lock of the table in the snapshot), recheck the pmd and retry while it
/// changed. NULL once the pmd is none.
pub fn pte_offset_map_lock(c: &Ctx, mm: Mm, a: Addr, ptl: &SpinLock) -> Option<PteMap> {
    const F: &str = "pte_offset_map_lock";
    loop {
        let m = pte_offset_map(c, mm, a)?;
        c.spin_lock(ptl, F);
        if pmd_same_under_ptl(c, &m, "pte_offset_map_lock (pmdp_get_lockless)") {
            return Some(m);
        }
        c.spin_unlock(ptl, F);
        pte_unmap(c, m);
    }
}

/// `pte_unmap_unlock(pte, ptl)`.
pub fn pte_unmap_unlock(c: &Ctx, m: PteMap, ptl: &SpinLock) {
    c.spin_unlock(ptl, "pte_unmap_unlock");
    pte_unmap(c, m);
}

/// `pte_free_defer(mm, pgtable)`. Generic: `call_rcu(&page->rcu_head, pte_free_now)`, so that
/// a walker that mapped the table before it was detached finishes with it first; on a fragment
/// policy (`frag`), powerpc's ([`crate::kernel::pgtable_frag`]). With the pte-free-defer guard
/// off, the pre-v6.6 `pte_free` at once (what `collapse_and_free_pmd` did under the mmap write
/// lock; on fragments, `pte_fragment_free` without the deferral mark).
pub fn pte_free_defer(c: &Ctx, table: FrameId, frag: Option<&Arc<FragPage>>) {
    let defer = c.guard(Guards::PTE_FREE_DEFER);
    match (frag, defer) {
        (Some(page), true) => pgtable_frag::pte_free_defer(c, page),
        (Some(page), false) => pgtable_frag::pte_fragment_free(c, page),
        (None, false) => c.free(table, "pte_free"),
        // v6.6+: the RCU flavours are one (v4.20): a grace period also waits for irq-off
        // sections.
        (None, true) => c.call_rcu(
            RcuFlavour::Consolidated,
            "pte_free_defer",
            "pte_free_now",
            move |cb| cb.free(table, "pte_free_now"),
        ),
    }
}
