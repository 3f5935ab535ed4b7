//! `hash_page_mm` (arch/powerpc/mm/book3s64/hash_utils.c): the powerpc hash MMU's fault path
//! for an access that misses the hash page table. It runs in the exception handler with
//! interrupts off and walks the Linux page table locklessly:
//!
//! ```c
//! ptep = find_linux_pte(pgdir, ea, &is_thp, &hugeshift);  // irqs off
//! if (ptep == NULL || !pte_present(*ptep)) goto slow;      // do_page_fault, mmap_lock
//! if (is_thp) rc = __hash_page_thp(ea, access, vsid, (pmd_t *)ptep, trap, flags, ssize, psize);
//! else        rc = __hash_page_4K(ea, access, vsid, ptep, trap, flags, ssize, subpg_prot);
//!             //  old_pte = READ_ONCE(*ptep); check_pte_access (_PAGE_PRESENT, _PAGE_PTE);
//!             //  take H_PAGE_BUSY (cmpxchg); insert the HPTE for pte_pfn(old_pte); clear it
//! ```
//! then the faulting access is retried and goes through the new HPTE. Against khugepaged's
//! collapse this is the walker `hash__pmdp_collapse_flush` waits for with
//! `serialize_against_pte_lookup` *before* it flushes the HPTEs of the range: a `hash_page`
//! that read the old pmd can insert an HPTE for a small page after the flush, and the retried
//! store then writes the small page after khugepaged copied it.
//!
//! Not modelled: `H_PAGE_BUSY` (it serializes `hash_page` against another `hash_page` and
//! against `pte_update` on the same pte; no second one runs here, and the collapse clears the
//! ptes only after its IPIs).
//!
//! Guards read: irq-off, page-pte-check, and those of `find_linux_pte` (pmd-is-serializing,
//! read-once-pmd).

use super::find_linux_pte::{find_linux_pte, pte_present};
use super::{Addr, Mm};
use ptcheck_model::ordering::ONCE;
use ptcheck_model::{Ctx, Guards, Meaning};

/// `hash_page_mm(mm, ea, ...)` for a user store to `a`, then the retried store.
pub fn hash_page(c: &Ctx, mm: Mm, a: Addr) {
    const F: &str = "hash_page_mm";
    let irq = c.guard(Guards::IRQ_OFF);
    if irq {
        c.local_irq_disable(F);
    }
    let mut inserted = None;
    match find_linux_pte(c, mm, a) {
        None => c.note(F, "no pte: slow path (do_page_fault)"),
        Some(p) => {
            let func = if p.is_thp {
                "__hash_page_thp"
            } else {
                "__hash_page_4K"
            };
            let pte = c.load(p.table, p.slot, ONCE, func);
            // check_pte_access: access |= _PAGE_PRESENT | _PAGE_PTE; bail unless all are set.
            if !pte_present(c, pte) {
                c.note(
                    func,
                    "check_pte_access fails: return, the access faults again",
                );
            } else {
                c.act_on(p.table, p.slot, pte, Meaning::Leaf, func);
                c.hpte_insert(pte.pfn(), func);
                inserted = Some(pte.pfn());
            }
        }
    }
    if irq {
        c.local_irq_enable(F);
    }
    if let Some(page) = inserted {
        c.store_through_hpte(page, "user store (retried)");
    }
}
