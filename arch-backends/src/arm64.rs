//! arm64: broadcast TLBI in hardware (no IPI), so page tables must be freed through RCU.
//!
//! Source: `../shared/seeds/arm-arm64-rcu-gup-fast-2014.txt`, patches 5/7 – 7/7 and the
//! review thread of 6/7.

use crate::policy::*;
use ptcheck_model::RcuFlavour;

/// arm64 as merged (v4.0 era): HAVE_RCU_TABLE_FREE with `__pte_free_tlb` calling
/// `tlb_remove_table`; `tlb_table_flush` uses `call_rcu_sched`; when the batch page cannot be
/// allocated `tlb_remove_table_one` IPIs every CPU (`smp_call_function`, wait) and frees.
pub const ARM64: ArchPolicy = ArchPolicy {
    name: "arm64",
    about: "arm64 as merged for v3.19 (2014 seed): TLBI broadcast, tlb_remove_table \
            (call_rcu_sched), IPI fallback",
    tlb_flush: TlbFlush::BroadcastTlbi,
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::IpiSync,
    table_rcu: RcuFlavour::Sched,
    // tlb_table_invalidate() arrived in 2018; the 2014 kernel flushed once, in tlb_flush_mmu.
    table_invalidate: false,
    ptep_get_and_clear: PtepGetAndClear::ReadThenClear,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    splitting_flush: SplittingFlush::DummyIpi,
    deposit: Deposit::StructPage,
    rcu_table_free_config: true,
    hash_mmu: false,
    pte_fragments: PteFragments::WholePage,
    pmd_halves: false,
    kernel_pgd_sync: KernelPgdSync::NotApplicable,
};

/// arm64 as in the 2014 RFC v4: HAVE_RCU_TABLE_FREE selected, but `__pte_free_tlb` still
/// frees with `tlb_remove_page`, i.e. right after a TLB flush that interrupts no one. Catalin
/// Marinas: "for RCU to work, we still need to use the full tlb_remove_table() logic (Steve's
/// patches just use tlb_remove_page() for table freeing)". Steve Capper: "This is a bug in
/// the arm64 patch (arm correctly calls tlb_remove_page [sic: tlb_remove_entry])".
pub const ARM64_RFC_V4: ArchPolicy = ArchPolicy {
    name: "arm64-rfc-v4",
    about: "arm64 RFC v4 (2014, never merged): RCU table free selected, but tables freed by \
            tlb_remove_page",
    table_free: TableFree::AfterFlush,
    ..ARM64
};

/// 32-bit arm with LPAE as in the seed (patches 1/7 – 4/7): the same knobs as arm64 —
/// broadcast TLB maintenance (inner shareable), `tlb_remove_table` with `call_rcu_sched` and the
/// IPI fallback, and `pmdp_splitting_flush` with the dummy IPI `thp_splitting_flush_sync`
/// (arch/arm/mm/flush.c). A separate column so that users can see the arm cells by name.
pub const ARM: ArchPolicy = ArchPolicy {
    name: "arm",
    about:
        "arm LPAE as merged for v3.19 (2014 seed): TLBI broadcast, tlb_remove_table, dummy IPI in \
         pmdp_splitting_flush",
    ..ARM64
};
