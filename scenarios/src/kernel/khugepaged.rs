//! mm/khugepaged.c: taking a pte table out of the tree once a huge folio can map the range by
//! pmd, without the mmap write lock (the seed: "mm: free retracted page table by RCU", v6.6).
//!
//! Both removers clear the pmd with the pmd lock *and* the table's pte lock held, so a
//! `pte_offset_map_lock` user either finishes with the table before, or finds the pmd changed
//! under the lock and retries; lockless walkers inside the table are left to `pte_free_defer`.
//!
//! Guards read: retract-recheck (`retract_page_tables`), pmd-same (`collapse_pte_mapped_thp`'s
//! `pte_offset_map_rw_nolock` rechecks), pte-free-defer, and those of `pmdp_collapse_flush`
//! (serialize-pte-lookup) and `pmdp_get_lockless_sync` (pmd-lockless-sync, x86-PAE).

use crate::kernel::pgtable_frag::FragPage;
use crate::kernel::pgtable_generic::{
    pmd_same_under_ptl, pte_free_defer, pte_offset_map, pte_offset_map_lock, pte_unmap_unlock,
    PteMap,
};
use crate::kernel::{Addr, Mm, Vma};
use ptcheck_arch::pmd::{pmdp_collapse_flush, pmdp_get_lockless_sync};
use ptcheck_arch::tlb::flush_tlb_mm;
use ptcheck_arch::ArchPolicy;
use ptcheck_model::ordering::{DEP, ONCE};
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards};
use std::sync::Arc;

/// The locks of the range: the pmd lock (`pmd_lock(mm, pmd)`, shared by the tables of one
/// pmd page) and the split pte lock of the table (`pte_lockptr`).
pub struct RangeLocks {
    pub pml: Arc<SpinLock>,
    pub ptl: SpinLock,
}

impl Default for RangeLocks {
    fn default() -> Self {
        Self::new()
    }
}

impl RangeLocks {
    pub fn new() -> Self {
        RangeLocks {
            pml: Arc::new(SpinLock::new("pmd_lock")),
            ptl: SpinLock::new("ptl"),
        }
    }

    /// The same, with a pmd lock some path takes by `spin_trylock` (empty pte-table reclaim's
    /// `try_get_and_clear_pmd`, under the pte lock): a lock word (model/src/spinlock.rs).
    pub fn with_trylockable_pml() -> Self {
        RangeLocks {
            pml: Arc::new(SpinLock::trylockable("pmd_lock")),
            ptl: SpinLock::new("ptl"),
        }
    }

    /// The locks of another table under the same pmd page: the same pmd lock, its own ptl.
    pub fn sibling(&self, ptl: &'static str) -> Self {
        RangeLocks {
            pml: self.pml.clone(),
            ptl: SpinLock::new(ptl),
        }
    }
}

/// `mm_find_pmd` + `check_pmd_state(pmdp_get_lockless(pmd))`: the pmd slot, and its value if
/// it points to a pte table (`SCAN_SUCCEED`).
fn find_pmd(c: &Ctx, mm: Mm, a: Addr, func: &'static str) -> Option<(FrameId, Entry)> {
    let pgd = c.load(mm.pgd, a.pgd, DEP, "mm_find_pmd");
    if pgd.is_none() {
        return None;
    }
    let pmdp = pgd.pfn();
    let pmd = c.load(pmdp, a.pmd, ONCE, func);
    if pmd.is_table() {
        Some((pmdp, pmd))
    } else {
        c.note(func, "no pte table here (none or huge): nothing to do");
        None
    }
}

/// `retract_page_tables(mapping, pgoff)` for one VMA (`collapse_file` calls it with the new
/// huge folio still locked, so faults on the page cache wait; the table is empty):
/// the unlocked checks (`find_pmd_or_thp_or_none`, `file_backed_vma_is_retractable`), then
/// `pmd_lock`, `check_pmd_state` again (v6.14), the table's `ptl`, the retractability checks
/// again under the locks (retract-recheck: an anonymous pte installed since the unlocked check,
/// the userfaultfd case), `pmdp_collapse_flush`, `pmdp_get_lockless_sync`, unlock, and
/// `pte_free_defer`. No mmap lock, no VMA lock. `frag`: the page the table is a fragment of,
/// on a fragment policy.
pub fn retract_page_tables(
    c: &Ctx,
    policy: &ArchPolicy,
    mm: Mm,
    a: Addr,
    vma: &Vma,
    l: &RangeLocks,
    frag: Option<&Arc<FragPage>>,
) {
    const F: &str = "retract_page_tables";
    let Some((pmdp, _)) = find_pmd(c, mm, a, "find_pmd_or_thp_or_none (pmdp_get_lockless)") else {
        return;
    };
    if vma.has_anon_vma(c, "file_backed_vma_is_retractable") {
        return;
    }
    c.spin_lock(&l.pml, F);
    // check_pmd_state(pmd): the pmd pointer is kept, only its value is read again.
    let pmd = c.load(pmdp, a.pmd, ONCE, "check_pmd_state (pmdp_get_lockless)");
    if !pmd.is_table() {
        c.note(F, "no pte table here any more: nothing to do");
        c.spin_unlock(&l.pml, F);
        return;
    }
    c.spin_lock(&l.ptl, F);
    // A recheck of what file_backed_vma_is_retractable read above: in this model it can stop
    // the retract only if anon_vma_prepare ran since (both say so: `Ctx::guarded_state`). The
    // kernel's check tests more than anon_vma (userfaultfd-wp registration; recent kernels add
    // VMA flags set without the mmap write lock): those writers are not modelled, and one that
    // is must report its write the same way.
    let retractable = !c.guard_check(Guards::RETRACT_RECHECK)
        || !vma.has_anon_vma(c, "file_backed_vma_is_retractable (under ptl)");
    if retractable {
        let old = pmdp_collapse_flush(c, policy, pmdp, a.pmd);
        c.world.detach(c.actor, old.pfn(), F);
        pmdp_get_lockless_sync(c, policy);
    }
    c.spin_unlock(&l.ptl, F);
    c.spin_unlock(&l.pml, F);
    if retractable {
        pte_free_defer(c, pmd.pfn(), frag);
    }
}

/// The huge folio `collapse_pte_mapped_thp` maps, and whether its VMA is registered with
/// userfaultfd (`userfaultfd_armed(vma)`, a private mapping).
#[derive(Clone, Copy, Debug)]
pub struct HugeFolio {
    pub folio: FrameId,
    pub uffd_armed: bool,
}

/// `collapse_pte_mapped_thp(mm, addr, install_pmd = true)` under `mmap_read_lock`, the huge
/// `folio` locked and in the page cache (v6.6: "collapse_pte_mapped_thp() with
/// mmap_read_lock()"; the `pmd_same` rechecks of `pte_offset_map_rw_nolock`'s callers, v6.12):
/// step 1, under `pte_offset_map_lock`, every present pte must map the folio; step 2,
/// `pte_offset_map_rw_nolock`, the `ptl`, `pmd_same`, clear the ptes (`clear_ptes`,
/// `folio_remove_rmap_ptes`); step 3, `folio_ref_sub`; step 4, `pmd_lock`, the `ptl` again,
/// `pmd_same` again, `pmdp_collapse_flush`, `pmdp_get_lockless_sync`, unlock,
/// `pte_free_defer`; then `set_huge_pmd` maps the folio by pmd.
///
/// Faults cannot refill the table meanwhile: they need the locked folio. `UFFDIO_COPY` into a
/// private VMA does not (`mfill_atomic_install_pte`), so when the VMA is registered with
/// userfaultfd (`uffd_armed`) the pmd lock is taken before step 2 and the pte lock is held from
/// step 2 to the pmd clear.
pub fn collapse_pte_mapped_thp(
    c: &Ctx,
    policy: &ArchPolicy,
    mm: Mm,
    a: Addr,
    l: &RangeLocks,
    t: HugeFolio,
    frag: Option<&Arc<FragPage>>,
) {
    const F: &str = "collapse_pte_mapped_thp";
    let HugeFolio { folio, uffd_armed } = t;
    if find_pmd(c, mm, a, "find_pmd_or_thp_or_none (pmdp_get_lockless)").is_none() {
        return;
    }
    // Step 1: the ptes map the folio's pages (or nothing).
    let Some(m) = pte_offset_map_lock(c, mm, a, &l.ptl) else {
        return;
    };
    let pte = c.load(m.table, a.pte, ONCE, "collapse_pte_mapped_thp (ptep_get)");
    pte_unmap_unlock(c, m, &l.ptl);
    if pte.is_present() && pte.pfn() != folio {
        c.note(F, "a pte maps another page: abort");
        return;
    }
    // Step 2: clear them under the pte lock.
    if uffd_armed {
        c.spin_lock(&l.pml, "collapse_pte_mapped_thp (userfaultfd_armed)");
    }
    let abort = |m: Option<PteMap>| {
        if let Some(m) = m {
            pte_unmap_unlock(c, m, &l.ptl);
        }
        if uffd_armed {
            c.spin_unlock(&l.pml, F);
        }
    };
    let Some(m) = pte_offset_map(c, mm, a) else {
        abort(None);
        return;
    };
    c.spin_lock(&l.ptl, F);
    if !pmd_same_under_ptl(c, &m, "collapse_pte_mapped_thp (pmdp_get_lockless)") {
        abort(Some(m));
        return;
    }
    let old = c.exchange(m.table, a.pte, Entry::NONE, false, "clear_ptes");
    let mapped = old.is_present() && old.pfn() == folio;
    if mapped {
        c.note(F, "folio_remove_rmap_ptes");
    }
    if !uffd_armed {
        c.spin_unlock(&l.ptl, F);
    }
    // Step 3: the ptes' references (the page cache keeps its own).
    if mapped {
        c.put_page(folio, "folio_ref_sub");
    }
    // Step 4: remove the empty table.
    if !uffd_armed {
        c.spin_lock(&l.pml, F);
        c.spin_lock(&l.ptl, F);
        if !pmd_same_under_ptl(c, &m, "collapse_pte_mapped_thp (pmdp_get_lockless)") {
            flush_tlb_mm(c, policy);
            abort(Some(m));
            c.spin_unlock(&l.pml, F);
            return;
        }
    }
    let pmd = pmdp_collapse_flush(c, policy, m.pmdp, m.slot);
    c.world.detach(c.actor, pmd.pfn(), F);
    pmdp_get_lockless_sync(c, policy);
    pte_unmap_unlock(c, m, &l.ptl);
    c.spin_unlock(&l.pml, F);
    pte_free_defer(c, pmd.pfn(), frag);
    // maybe_install_pmd: set_huge_pmd (do_set_pmd's pmd lock, folio_get, set_pmd_at).
    c.spin_lock(&l.pml, "set_huge_pmd");
    c.get_page(folio, "set_huge_pmd (folio_get)");
    c.store(
        m.pmdp,
        m.slot,
        Entry::leaf(folio, 0, EntryFlags::WRITE),
        ONCE,
        "set_huge_pmd (set_pmd_at)",
    );
    c.spin_unlock(&l.pml, "set_huge_pmd");
}
