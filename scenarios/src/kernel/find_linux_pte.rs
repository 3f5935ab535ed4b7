//! `__find_linux_pte` (arch/powerpc/mm/pgtable.c) and one of its callers, the powerpc lockless
//! walk that the 2020 series made safe without `serialize_against_pte_lookup`
//! (`../shared/seeds/powerpc-avoid-ipi-lockless-walk-2020.txt`).
//!
//! ```c
//! pte_t *__find_linux_pte(pgd_t *pgdir, unsigned long ea, bool *is_thp, unsigned *hpage_shift)
//!     pgd = READ_ONCE(*pgdp); if (pgd_none(pgd)) return NULL;
//!     pmdp = pmd_offset(&pgd, ea);
//!     pmd  = READ_ONCE(*pmdp);                 // rule 1: read once
//!     if (pmd_none(pmd)) return NULL;
//!     if (pmd_is_serializing(pmd)) return NULL; // pmdp_invalidate'd (book3s64, v5.2+)
//!     if (pmd_is_leaf(pmd)) { *is_thp = true; return (pte_t *)pmdp; }   // _PAGE_PTE
//!     return pte_offset_kernel(&pmd, ea);      // the copy, not *pmdp
//!
//! caller, irq off (kvmppc_book3s_radix_page_fault, v4.15 - v5.7, with find_current_mm_pte):
//!     ptep = __find_linux_pte(...);
//!     pte = READ_ONCE(*ptep);                  // once: the pmd slot may have been converted
//!     if (!pte_present(pte)) bail;             // rule 3: checks _PAGE_PTE
//!     use pte_pfn(pte)                         // rule 2: a stale value is fine
//! ```
//! The broken variants: with the read-once-pmd guard off the walker tests one read and acts on
//! a reload (of the pmd in `__find_linux_pte`, and of `*ptep` in the caller); with the
//! page-pte-check guard off, `pte_present` tests only the valid bit, which a pmd pointing at a
//! table also has on book3s64.

use super::{Addr, Mm};
use ptcheck_model::ordering::{DEP, ONCE};
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards, Meaning};

/// What `__find_linux_pte` returns: a pointer to an entry, and whether it is a huge pmd.
#[derive(Clone, Copy, Debug)]
pub struct PtePtr {
    pub table: FrameId,
    pub slot: usize,
    pub is_thp: bool,
}

/// `pmd_is_leaf(pmd)` / `pmd_trans_huge(pmd)` on book3s64: `_PAGE_PTE` is set.
fn pmd_is_leaf(pmd: Entry) -> bool {
    pmd.flags().contains(EntryFlags::PAGE_PTE)
}

/// `__find_linux_pte(mm->pgd, ea, &is_thp, &shift)`.
///
/// Guards read: pmd-is-serializing, read-once-pmd.
pub fn find_linux_pte(c: &Ctx, mm: Mm, a: Addr) -> Option<PtePtr> {
    const F: &str = "__find_linux_pte";
    let pgd = c.load(mm.pgd, a.pgd, DEP, F);
    if pgd.is_none() {
        c.note(F, "pgd_none: NULL");
        return None;
    }
    let pmdp = pgd.pfn();
    let pmd = c.load(pmdp, a.pmd, DEP, F);
    if pmd.is_none() {
        c.note(F, "pmd_none: NULL");
        return None;
    }
    if c.guard(Guards::SERIALIZING_CHECK) && pmd_is_leaf(pmd) && !pmd.is_present() {
        c.note(F, "pmd_is_serializing (pmdp_invalidate): NULL");
        return None;
    }
    if pmd_is_leaf(pmd) {
        c.note(F, "pmd_is_leaf: return (pte_t *)pmdp");
        return Some(PtePtr {
            table: pmdp,
            slot: a.pmd,
            is_thp: true,
        });
    }
    let used = if c.guard(Guards::READ_ONCE_PMD) {
        pmd
    } else {
        c.load(pmdp, a.pmd, DEP, "pte_offset_kernel (reload *pmdp)")
    };
    c.act_on_tested(pmdp, a.pmd, pmd, used, Meaning::Table, "pte_offset_kernel");
    Some(PtePtr {
        table: used.pfn(),
        slot: a.pte,
        is_thp: false,
    })
}

/// `pte_present(pte)` on book3s64 since the series: `_PAGE_PTE` and (valid or invalidated).
/// With the page-pte-check guard off: the valid bit, or an invalidated leaf.
pub(crate) fn pte_present(c: &Ctx, pte: Entry) -> bool {
    let leaf = pte.flags().contains(EntryFlags::PAGE_PTE);
    if c.guard(Guards::PAGE_PTE_CHECK) {
        leaf
    } else {
        pte.is_present() || leaf
    }
}

/// A lockless lookup of `ea` in `current->mm` with interrupts off, in the shape of
/// `kvmppc_book3s_radix_page_fault` before 2020 (v4.15 - v5.7: `local_irq_save`,
/// `find_current_mm_pte`, one `READ_ONCE(*ptep)`, `pte_present`, use the pfn), the walker the
/// 2020 series wrote its rules for. Since 2020 KVM looks up with `find_kvm_host_pte` under
/// `kvm->mmu_lock` and an mmu-notifier sequence check, and `find_current_mm_pte` itself was
/// removed in 2022 (its last user, `read_user_stack_slow`, moved to gup_fast): the irq-off
/// `__find_linux_pte` user of today is the hash fault path, [`super::hash_page`].
///
/// Guards read: irq-off, read-once-pmd, page-pte-check, and those of [`find_linux_pte`].
pub fn kvmppc_book3s_radix_page_fault(c: &Ctx, mm: Mm, a: Addr) {
    const F: &str = "kvmppc_book3s_radix_page_fault";
    let irq = c.guard(Guards::IRQ_OFF);
    if irq {
        c.local_irq_disable(F);
    }
    if let Some(p) = find_linux_pte(c, mm, a) {
        let pte = c.load(p.table, p.slot, ONCE, "READ_ONCE(*ptep)");
        if pte_present(c, pte) {
            let used = if c.guard(Guards::READ_ONCE_PMD) {
                pte
            } else {
                c.load(p.table, p.slot, ONCE, "pte_pfn(*ptep) (reload)")
            };
            c.act_on_tested(p.table, p.slot, pte, used, Meaning::Leaf, "pte_pfn");
            c.note(
                F,
                format!(
                    "map {} into the guest{}",
                    c.world.name(used.pfn()),
                    if p.is_thp { " (huge)" } else { "" }
                ),
            );
        } else {
            c.note(F, "!pte_present: bail");
        }
    }
    if irq {
        c.local_irq_enable(F);
    }
}
