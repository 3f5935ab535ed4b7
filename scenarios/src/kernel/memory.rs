//! mm/memory.c: the fault that installs a pte into a table a remover may be taking out of the
//! tree (`do_anonymous_page`, a write fault on a private file mapping's hole; `finish_fault`
//! and userfaultfd's `mfill_atomic_install_pte` have the same shape).

use crate::kernel::pgtable_generic::{pte_offset_map_lock, pte_unmap_unlock};
use crate::kernel::{Addr, Mm, Vma};
use ptcheck_model::ordering::ONCE;
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId};

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
