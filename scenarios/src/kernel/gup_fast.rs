//! `__get_user_pages_fast`: the lockless, irq-off page-table walk of gup_fast, as in the 2014
//! seed's generic mm/gup.c (`../shared/seeds/arm-arm64-rcu-gup-fast-2014.txt`, patch 1/7).
//!
//! ```c
//! local_irq_save(flags);                       // blocks IPI shootdown and RCU-sched frees
//! pgdp = pgd_offset(mm, addr); if (pgd_none(*pgdp)) break;
//! gup_pmd_range: pmd = ACCESS_ONCE(*pmdp);
//!     if (pmd_none(pmd) || pmd_trans_splitting(pmd)) return 0;
//!     if (pmd_trans_huge(pmd)) gup_huge_pmd(...) else gup_pte_range(pmd, ...)
//! gup_pte_range: pte = ACCESS_ONCE(*ptep);
//!     if (!pte_present(pte) || pte_special(pte)) goto out;
//!     if (!page_cache_get_speculative(page)) goto out;
//!     if (pte_val(pte) != pte_val(*ptep)) { put_page(page); goto out; }
//! local_irq_restore(flags);
//! ```
//! Today's mm/gup.c has the same shape (`gup_fast_pte_range`, `try_grab_folio_fast`, and the
//! recheck of both the pmd and the pte).

use super::{Addr, Mm};
use ptcheck_arch::pmd::pmdp_get_lockless;
use ptcheck_model::ordering::{DEP, ONCE};
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards, Meaning};

/// A page the walk returned pinned, with the entry it was found through.
#[derive(Clone, Copy, Debug)]
pub struct Pinned {
    pub page: FrameId,
    pub via: Entry,
}

/// `__get_user_pages_fast(addr, 1, write=0, pages)` on `current->mm`.
///
/// Guards read: irq-off, splitting-check, get-unless-zero, pte-recheck, pmd-recheck.
pub fn get_user_pages_fast(c: &Ctx, mm: Mm, a: Addr) -> Option<Pinned> {
    const F: &str = "__get_user_pages_fast";
    let irq = c.guard(Guards::IRQ_OFF);
    if irq {
        c.local_irq_disable(F);
    }
    let pgd = c.load(mm.pgd, a.pgd, DEP, F);
    let r = if pgd.is_none() {
        c.note(F, "pgd_none: bail");
        None
    } else {
        gup_pmd_range(c, mm, pgd, a)
    };
    if irq {
        c.local_irq_enable(F);
    }
    r
}

/// `gup_pmd_range(pud, addr, ...)`: `pmd = pmdp_get_lockless(pmdp)` (in two halves on
/// x86-PAE, where interrupts are already off).
pub fn gup_pmd_range(c: &Ctx, mm: Mm, pud: Entry, a: Addr) -> Option<Pinned> {
    const F: &str = "gup_pmd_range";
    let pmdp = pud.pfn();
    let pmd = pmdp_get_lockless(c, mm.pmd_halves, pmdp, a.pmd, DEP, F);
    let splitting = c.guard(Guards::SPLITTING_CHECK) && pmd.flags().contains(EntryFlags::SPLITTING);
    if pmd.is_none() || splitting {
        c.note(F, "pmd_none || pmd_trans_splitting: bail");
        return None;
    }
    if !pmd.is_present() {
        // An invalidated huge pmd (pmdp_invalidate): today's `!pmd_present` test, and on
        // powerpc `pmd_access_permitted` in gup_huge_pmd.
        c.note(F, "!pmd_present: bail");
        return None;
    }
    if pmd.is_leaf() {
        c.act_on(pmdp, a.pmd, pmd, Meaning::Leaf, "gup_huge_pmd");
        return gup_huge_pmd(c, pmd, pmdp, a);
    }
    c.act_on(pmdp, a.pmd, pmd, Meaning::Table, "gup_pte_range");
    gup_pte_range(c, pmd, pmdp, a)
}

/// `page_cache_get_speculative(page)`, or a plain `get_page` when that guard is off, on the
/// page found through entry `via`.
pub fn get_speculative(c: &Ctx, page: FrameId, via: Entry, func: &'static str) -> bool {
    if c.guard(Guards::GET_UNLESS_ZERO) {
        c.get_page_unless_zero(page, func)
    } else {
        c.get_page_via(page, via, func);
        true
    }
}

/// `gup_pte_range(pmd, pmdp, addr, ...)`: `pmd` is the walker's copy of the entry at `pmdp`.
/// After the speculative reference, today's `gup_fast_pte_range` rereads the pmd first, then the
/// pte (`pmd_val(pmd) != pmd_val(pmdp_get_lockless(pmdp)) || pte_val(pte) !=
/// pte_val(ptep_get(ptep))`, short-circuit order).
pub fn gup_pte_range(c: &Ctx, pmd: Entry, pmdp: FrameId, a: Addr) -> Option<Pinned> {
    const F: &str = "gup_pte_range";
    let ptep = pmd.pfn(); // pte_offset_map(&pmd, addr)
    let pte = c.load(ptep, a.pte, ONCE, F);
    if !pte.is_present() || pte.flags().contains(EntryFlags::SPECIAL) {
        c.note(F, "!pte_present || pte_special: bail");
        return None;
    }
    let page = pte.pfn();
    if !get_speculative(c, page, pte, F) {
        return None;
    }
    // v6.1+: the table may have been unlinked (khugepaged's pmdp_collapse_flush) while the pte
    // in it still reads the same.
    let pmd_at = (pmdp, a.pmd, "gup_fast_pte_range (pmdp_get_lockless)");
    recheck(c, Guards::PMD_RECHECK, page, pmd_at, pmd)?;
    recheck(c, Guards::PTE_RECHECK, page, (ptep, a.pte, F), pte)?;
    Some(Pinned { page, via: pte })
}

/// Take the speculative reference on `page`, found through entry `at` holding `seen`, then
/// recheck the entry ([`recheck`]): the step `gup_huge_pmd` takes. `None`: no reference held.
pub fn ref_and_recheck(
    c: &Ctx,
    page: FrameId,
    at: (FrameId, usize),
    seen: Entry,
    func: &'static str,
) -> Option<()> {
    if !get_speculative(c, page, seen, func) {
        return None;
    }
    recheck(c, Guards::PTE_RECHECK, page, (at.0, at.1, func), seen)
}

/// A recheck guard (`pte-recheck`, `pmd-recheck`): re-read the entry `at` (table, slot, the
/// kernel function reading it) and back off, dropping the reference on `page`, if it no
/// longer holds `seen`.
pub fn recheck(
    c: &Ctx,
    guard: Guards,
    page: FrameId,
    at: (FrameId, usize, &'static str),
    seen: Entry,
) -> Option<()> {
    if c.guard(guard) {
        let func = at.2;
        let again = c.load(at.0, at.1, ONCE, func);
        if !again.same(seen) {
            c.note(func, "entry changed: back off");
            c.put_page(page, func);
            return None;
        }
    }
    Some(())
}

/// `gup_huge_pmd(orig, pmdp, addr, ...)`: ref the head page (`page_cache_add_speculative`),
/// recheck the pmd, then record the pin in the tail page (`get_huge_page_tail`) if the page
/// returned is a tail: `page = head + ((addr & ~PMD_MASK) >> PAGE_SHIFT)`, here the pte index
/// of the address (a scenario lays a compound page's subpages out after its head).
pub fn gup_huge_pmd(c: &Ctx, orig: Entry, pmdp: FrameId, a: Addr) -> Option<Pinned> {
    const F: &str = "gup_huge_pmd";
    let head = orig.pfn();
    let page = FrameId(head.0 + a.pte);
    ref_and_recheck(c, head, (pmdp, a.pmd), orig, F)?;
    if page != head && c.page_tail(page, F) {
        c.get_huge_page_tail(page, F);
    }
    Some(Pinned { page, via: orig })
}

/// The caller's side for `FOLL_WRITE`: the pin oracle, a write through the pin (DMA, an
/// `O_DIRECT` read into the page), then the caller is done with the page.
pub fn write_and_release(c: &Ctx, p: Option<Pinned>) {
    if let Some(p) = p {
        c.check_pin(p.page, p.via, "__get_user_pages_fast");
        c.write_through_pin(p.page, "gup caller");
        c.unpin(p.page, "put_page");
    }
}

/// The caller's side: the pin oracle on what the walk returned, then the caller is done with
/// the page (`put_page`).
pub fn use_and_release(c: &Ctx, p: Option<Pinned>) {
    if let Some(p) = p {
        c.check_pin(p.page, p.via, "__get_user_pages_fast");
        c.unpin(p.page, "put_page");
    }
}
