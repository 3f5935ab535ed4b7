//! s390 (64-bit) today (v6.9+: whole-page pte tables, "s390/mm: allocate page table with
//! PAGE_SIZE granularity"; arch/s390/mm/pgalloc.c, pgtable.c, asm/tlb.h).
//!
//! No IPIs anywhere: a pte or pmd is changed by IPTE / IDTE (or CSP), which the hardware
//! broadcasts to every CPU attached to the mm (`ptep_xchg_direct`, `pmdp_xchg_direct`), and
//! `flush_tlb_range` is `__tlb_flush_mm_lazy`. Tables are freed through
//! `MMU_GATHER_RCU_TABLE_FREE` (selected unconditionally), the generic `tlb_remove_table`;
//! gup_fast (`HAVE_GUP_FAST`) relies on that and on irq-off. `pgtable_trans_huge_deposit`
//! keeps the deposited table on a `list_head` written over its first two entries (withdraw
//! rewrites them `_PAGE_INVALID`): a pointer there has `_PAGE_PRESENT` (0x001) clear, so it
//! reads as a non-present, non-empty pte.

use crate::generic::GENERIC_RCU;
use crate::policy::*;

/// What s390 does differently from the generic RCU-table-free configuration: where the
/// deposited table is kept. Its other knobs are the generic ones (no IPI: IPTE/IDTE are
/// broadcast by the hardware; `ptep_xchg_lazy` / `ptep_xchg_direct` exchange the pte; no
/// `MMU_GATHER_NO_TABLE_INVALIDATE`; no splitting bit today).
pub const S390: ArchPolicy = ArchPolicy {
    name: "s390",
    about: "s390 today (v6.9+, whole-page pte tables): IPTE/IDTE broadcast (no IPI), RCU table \
            free, synchronize_rcu fallback (1fb3d8c20bfa, 2026)",
    deposit: Deposit::ListInTable,
    ..GENERIC_RCU
};

/// s390 when the 2023 seed was merged (v6.6 - v6.8): what [`S390`] does, but pte tables are
/// 2 KiB, two to a 4 KiB page sharing its `struct page` ("s390: add pte_free_defer() for
/// pgtables sharing page", the seed's 07/12 as merged: `SetPageActive`, then
/// `page_table_free`, whose free of the page's last half makes the one `call_rcu`). The seed's
/// v1 did a `call_rcu` on the shared `rcu_head` per deferred half. The tables of this kernel
/// are also freed through `tlb_remove_table` with the half in the pointer's low bits; the
/// model's `pte_free_defer` paths are the ones that differ.
pub const S390_V6_6: ArchPolicy = ArchPolicy {
    name: "s390-v6.6",
    about: "s390 v6.6 - v6.8: 2 KiB pte tables, two per 4 KiB page sharing one rcu_head \
            (AA/PP bits in page->_refcount, PageActive); otherwise s390",
    pte_fragments: PteFragments::S390Halves,
    ..S390
};
