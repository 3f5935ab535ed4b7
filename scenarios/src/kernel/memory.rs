//! mm/memory.c: the fault that installs a pte into a table a remover may be taking out of the
//! tree (`do_anonymous_page`, a write fault on a private file mapping's hole; `finish_fault`
//! and userfaultfd's `mfill_atomic_install_pte` have the same shape), and the `__pte_alloc`
//! that puts a new table under a none pmd.

use crate::kernel::pgtable_generic::{
    pte_offset_map_lock, pte_offset_map_rw_nolock, pte_unmap, pte_unmap_unlock,
};
use crate::kernel::{Addr, Mm, Vma};
use ptcheck_model::ordering::{DEP, ONCE, PUBLISH};
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards};

/// `do_anonymous_page(vmf)` for a write: `vmf_anon_prepare` (`anon_vma_prepare`), a new page
/// (`alloc_anon_folio`, refcount 1: `page`), then `pte_offset_map_lock`, `vmf_pte_changed` (the
/// pte must still be none), `set_ptes`, `pte_unmap_unlock`. When the pmd is gone
/// (`pte_offset_map_lock` returns NULL) the fault releases the page; the kernel's retry would
/// `pte_alloc` a new table, which is not the one this scenario's remover frees. Returns whether
/// the pte was installed.
pub fn do_anonymous_page(
    c: &Ctx,
    mm: Mm,
    a: Addr,
    vma: &Vma,
    ptl: &SpinLock,
    page: FrameId,
) -> bool {
    install_anon_pte(c, mm, a, vma, ptl, page, "do_anonymous_page", "set_ptes")
}

/// `UFFDIO_COPY` into a private file VMA registered with userfaultfd: `mfill_atomic_pte_copy`
/// (`anon_vma_prepare`, a new anonymous page filled from user memory) and
/// `mfill_atomic_install_pte` (`pte_offset_map_lock`, the pte must be none, `set_pte_at`). The
/// one installer of a pte in a file range that does not need the page-cache folio, so it runs
/// while khugepaged holds the huge folio locked: the reason for retract's recheck under the pte
/// lock and collapse's early pmd lock.
pub fn mfill_atomic_install_pte(
    c: &Ctx,
    mm: Mm,
    a: Addr,
    vma: &Vma,
    ptl: &SpinLock,
    page: FrameId,
) -> bool {
    install_anon_pte(
        c,
        mm,
        a,
        vma,
        ptl,
        page,
        "mfill_atomic_install_pte",
        "set_pte_at",
    )
}

#[allow(clippy::too_many_arguments)]
fn install_anon_pte(
    c: &Ctx,
    mm: Mm,
    a: Addr,
    vma: &Vma,
    ptl: &SpinLock,
    page: FrameId,
    func: &'static str,
    set: &'static str,
) -> bool {
    vma.anon_vma_prepare(c);
    let Some(m) = pte_offset_map_lock(c, mm, a, ptl) else {
        c.note(func, "pmd gone: release the page, the fault is retried");
        c.put_page(page, "folio_put");
        return false;
    };
    let pte = c.load(m.table, a.pte, ONCE, "ptep_get (the pte must be none)");
    if !pte.is_none() {
        c.note(func, "pte not none: release");
        pte_unmap_unlock(c, m, ptl);
        c.put_page(page, "folio_put");
        return false;
    }
    c.store(
        m.table,
        a.pte,
        Entry::leaf(page, 0, EntryFlags::WRITE),
        ONCE,
        set,
    );
    pte_unmap_unlock(c, m, ptl);
    true
}

/// `__pte_alloc(mm, pmd)`: a fault that finds the pmd none allocates a pte table
/// (`pte_alloc_one`: `new`, empty) and `pmd_install`s it: under the pmd lock, if the pmd is
/// still none, `mm_inc_nr_ptes`, `smp_wmb()`, `pmd_populate`; otherwise the new table is freed
/// (`pte_free`). On x86-PAE `pmd_populate` is `set_pmd`, one 64-bit `cmpxchg8b`: both words at
/// once. Returns whether `new` was installed.
pub fn pte_alloc(c: &Ctx, mm: Mm, a: Addr, pml: &SpinLock, new: FrameId) -> bool {
    const F: &str = "pmd_install";
    let pgd = c.load(mm.pgd, a.pgd, DEP, "__handle_mm_fault (pmd_offset)");
    let pmdp = pgd.pfn();
    c.spin_lock(pml, F);
    let installed = c.load(pmdp, a.pmd, ONCE, "pmd_none(*pmd)").is_none();
    if installed {
        c.store(pmdp, a.pmd, Entry::table(new), PUBLISH, "pmd_populate");
    } else {
        c.note(F, "pmd populated meanwhile");
    }
    c.spin_unlock(pml, F);
    if !installed {
        c.free(new, "pte_free");
    }
    installed
}

/// `handle_pte_fault(vmf)` on a present pte, for a write to a writable page (v6.12+):
/// `pte_offset_map_rw_nolock(.., &dummy_pmdval, &vmf->ptl)` (no pmd recheck),
/// `vmf->orig_pte = ptep_get_lockless(vmf->pte)`, then `spin_lock(vmf->ptl)`,
/// `pte_same(ptep_get(vmf->pte), entry)` (else unlock: the fault is retried), `pte_mkdirty`,
/// `pte_mkyoung`, `ptep_set_access_flags`, `pte_unmap_unlock`. The pte_same recheck (guard
/// pte-same) is what keeps the write out of a table that was emptied and detached since the
/// lockless read: removers empty a table only under its lock. A none pte goes to
/// `do_pte_missing` (modelled by [`do_anonymous_page`]). Returns whether the pte was written.
pub fn handle_pte_fault(c: &Ctx, mm: Mm, a: Addr, ptl: &SpinLock) -> bool {
    const F: &str = "handle_pte_fault";
    let Some(m) = pte_offset_map_rw_nolock(c, mm, a) else {
        c.note(F, "no pte table: the fault is retried");
        return false;
    };
    let orig = c.load(m.table, a.pte, ONCE, "ptep_get_lockless (vmf->orig_pte)");
    if orig.is_none() || !orig.is_present() {
        c.note(F, "pte_none: do_pte_missing");
        pte_unmap(c, m);
        return false;
    }
    c.spin_lock(ptl, F);
    if c.guard(Guards::PTE_SAME) {
        let now = c.load(m.table, a.pte, ONCE, "ptep_get (pte_same)");
        if !now.same(orig) {
            c.note(F, "!pte_same: unlock, the fault is retried");
            pte_unmap_unlock(c, m, ptl);
            return false;
        }
    }
    c.store(
        m.table,
        a.pte,
        orig.with(EntryFlags::DIRTY),
        ONCE,
        "ptep_set_access_flags",
    );
    pte_unmap_unlock(c, m, ptl);
    true
}
