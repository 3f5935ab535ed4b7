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

use crate::policy::*;
use ptcheck_model::RcuFlavour;

pub const S390: ArchPolicy = ArchPolicy {
    name: "s390",
    about: "s390 today (v6.9+, whole-page pte tables): IPTE/IDTE broadcast (no IPI), RCU table \
            free, synchronize_rcu fallback (1fb3d8c20bfa, 2026)",
    tlb_flush: TlbFlush::BroadcastTlbi,
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::SynchronizeRcu,
    table_rcu: RcuFlavour::Consolidated,
    // No MMU_GATHER_NO_TABLE_INVALIDATE: the generic `true`.
    table_invalidate: true,
    // ptep_xchg_lazy / ptep_xchg_direct: an IPTE exchange.
    ptep_get_and_clear: PtepGetAndClear::Xchg,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    // No splitting bit today (the 2014 split protocol runs with the generic flush).
    splitting_flush: SplittingFlush::Generic,
    deposit: Deposit::ListInTable,
    rcu_table_free_config: true,
    hash_mmu: false,
    pte_fragments: false,
};
