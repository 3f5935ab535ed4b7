//! powerpc book3s64: radix (`tlbie` broadcast, no IPI) and hash MMU, before and after the 2020
//! series "Avoid IPI while updating page table entries" (`../shared/seeds/
//! powerpc-avoid-ipi-lockless-walk-2020.txt`).
//!
//! Page tables are freed through `tlb_remove_table` (powerpc has had MMU_GATHER_RCU_TABLE_FREE
//! since 2.6.x) with the IPI fallback of the seeds' era. What differs between the three
//! policies is whether a huge pmd update waits for lockless walkers
//! (`serialize_against_pte_lookup`): before the series every conversion did
//! (`radix__pmdp_huge_get_and_clear`, `pmdp_invalidate`, `radix__pmdp_collapse_flush`); after
//! it, walkers follow the seed's three rules instead (read once, tolerate a stale value, check
//! `_PAGE_PTE` in `pte_present`). Only the collapse flush kept the IPI in 2020; radix lost it
//! later (today's `radix__pmdp_collapse_flush` has none), hash keeps it in
//! `hash__pmdp_collapse_flush` to wait for in-flight `hash_page`.
//!
//! `pmdp_splitting_flush` (THP split before the v4.5 refcount rework) serialized with the same
//! IPI on every book3s64 MMU (2013 – 2016); the post-2020 policies keep that value so that the
//! 2014 split scenario runs with powerpc's own flush.

use crate::policy::*;
use ptcheck_model::RcuFlavour;

/// radix before the 2020 series: `serialize_against_pte_lookup` in every huge pmd update.
pub const POWERPC_RADIX_PRE2020: ArchPolicy = ArchPolicy {
    name: "powerpc-radix-pre2020",
    about: "powerpc radix v4.7 - v5.7 (before the 2020 series): tlbie, RCU table free, \
            serialize_against_pte_lookup IPI",
    tlb_flush: TlbFlush::BroadcastTlbi,
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::IpiSync,
    table_rcu: RcuFlavour::Sched,
    // tlb_needs_table_invalidate() is radix_enabled() (arch/powerpc/include/asm/tlb.h).
    table_invalidate: true,
    ptep_get_and_clear: PtepGetAndClear::Xchg,
    pmd_get_and_clear: PmdSerialize::SerializePteLookup,
    pmd_invalidate: PmdSerialize::SerializePteLookup,
    pmd_collapse_flush: PmdSerialize::SerializePteLookup,
    splitting_flush: SplittingFlush::SerializePteLookup,
    deposit: Deposit::ListInTable,
    rcu_table_free_config: true,
    hash_mmu: false,
    pte_fragments: PteFragments::Powerpc,
    pmd_halves: false,
    kernel_pgd_sync: KernelPgdSync::NotApplicable,
};

/// radix after the 2020 series (v5.8), as today: no IPI in `radix__pmdp_huge_get_and_clear`
/// nor in `pmdp_invalidate`, and (since it also left later) none in
/// `radix__pmdp_collapse_flush`, which today is `pmd_clear` + `radix__flush_tlb_collapsed_pmd`.
pub const POWERPC_RADIX: ArchPolicy = ArchPolicy {
    name: "powerpc-radix",
    // Today's generic mmu_gather: consolidated RCU, and the synchronize_rcu fallback of
    // 1fb3d8c20bfa (2026).
    table_rcu: RcuFlavour::Consolidated,
    remove_table_one: RemoveTableOne::SynchronizeRcu,
    about: "powerpc radix v6.1+ (today; bedf03416913 dropped the collapse IPI): no serialize \
            IPI anywhere, walkers follow the 2020 rules",
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    ..POWERPC_RADIX_PRE2020
};

/// hash after the 2020 series: `pmdp_invalidate` (shared book3s64 code) lost the IPI;
/// `hash__pmdp_collapse_flush` keeps it. The hash TLB flush (`flush_hash_table_pmd_range`,
/// `tlbie`) interrupts no one. `hash__pmdp_huge_get_and_clear` is modelled without the IPI.
pub const POWERPC_HASH: ArchPolicy = ArchPolicy {
    name: "powerpc-hash",
    about: "powerpc hash v5.8+ (after the 2020 series, today): IPI kept only in \
            hash__pmdp_collapse_flush",
    pmd_collapse_flush: PmdSerialize::SerializePteLookup,
    hash_mmu: true,
    table_invalidate: false,
    deposit: Deposit::PmdPageSlot,
    ..POWERPC_RADIX
};
