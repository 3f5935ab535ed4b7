//! The generic MMU_GATHER_RCU_TABLE_FREE configuration of today's kernels (mm/mmu_gather.c):
//! hardware TLB invalidation, `tlb_remove_table` with consolidated RCU, and the
//! `synchronize_rcu()` slow path in `tlb_remove_table_one`.

use crate::policy::*;
use ptcheck_model::RcuFlavour;

pub const GENERIC_RCU: ArchPolicy = ArchPolicy {
    name: "generic-rcu",
    about:
        "generic RCU table free today (v7.x, after 1fb3d8c20bfa): TLBI broadcast, call_rcu batch, \
         synchronize_rcu fallback",
    tlb_flush: TlbFlush::BroadcastTlbi,
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::SynchronizeRcu,
    table_rcu: RcuFlavour::Consolidated,
    table_invalidate: true,
    ptep_get_and_clear: PtepGetAndClear::Xchg,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    // Today's kernels have no splitting bit (THP refcounting was reworked in v4.5 and gup_fast
    // is safe through page_ref_freeze); the 2014 split protocol runs with the generic flush.
    splitting_flush: SplittingFlush::Generic,
    deposit: Deposit::StructPage,
    rcu_table_free_config: true,
    hash_mmu: false,
    pte_fragments: PteFragments::WholePage,
    pmd_halves: false,
    kernel_pgd_sync: KernelPgdSync::NotApplicable,
};
