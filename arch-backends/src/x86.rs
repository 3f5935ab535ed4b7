//! x86 by era: TLB shootdown by IPI (and, since v6.15, AMD INVLPGB broadcast), page tables
//! freed after the flush (bare metal up to v6.14) or through RCU (paravirt guests, and every
//! x86 since v6.15).
//!
//! `native_flush_tlb_multi` sends an IPI to every CPU in `mm_cpumask` and waits, so a gup_fast
//! walker with interrupts off holds the flush, and with it every free behind it
//! (`tlb_flush_mmu`: flush, then free). Catalin Marinas, 2014: "the other architectures that
//! don't need HAVE_RCU_TABLE_FREE use IPI for TLB shootdown, hence they [get] gup_fast
//! synchronisation for free".

use crate::policy::*;
use ptcheck_model::RcuFlavour;

/// x86 native (bare metal) from v4.19 to v6.14: `MMU_GATHER_RCU_TABLE_FREE` is built in with
/// PARAVIRT (48a8b97cfd80, v4.19: "x86/mm: Only use tlb_remove_table() for paravirt"), but on
/// bare metal `pv_ops.mmu.tlb_remove_table` is `tlb_remove_page`: tables are freed right after
/// the IPI flush, and `tlb_remove_table_sync_one` is a real IPI. The same verdicts hold for
/// v4.13 and earlier (no RCU table free at all). This was the `x86` column before v6.15.
pub const X86_V6_14: ArchPolicy = ArchPolicy {
    name: "x86-v6.14",
    about: "x86 native v4.19 - v6.14: IPI TLB shootdown, tables freed after the flush \
            (tlb_remove_page)",
    tlb_flush: TlbFlush::IpiShootdown,
    table_free: TableFree::AfterFlush,
    remove_table_one: RemoveTableOne::IpiSync,
    table_rcu: RcuFlavour::Consolidated,
    table_invalidate: false,
    ptep_get_and_clear: PtepGetAndClear::Xchg,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    splitting_flush: SplittingFlush::Generic,
    deposit: Deposit::StructPage,
    rcu_table_free_config: true,
    hash_mmu: false,
    pte_fragments: PteFragments::WholePage,
    pmd_halves: false,
    kernel_pgd_sync: KernelPgdSync::TopLevel,
};

/// x86 today: since a37259732a7d (v6.15, "x86/mm: Make MMU_GATHER_RCU_TABLE_FREE
/// unconditional", part of the AMD INVLPGB series) every table goes through
/// `tlb_remove_table`, and `tlb_needs_table_invalidate()` is the generic `true`; the flush is
/// still an IPI shootdown on CPUs without a global ASID. The batch-allocation fallback is
/// `synchronize_rcu` since 1fb3d8c20bfa ("mm/mmu_gather: replace IPI with synchronize_rcu()
/// when batch allocation fails", 2026).
pub const X86: ArchPolicy = ArchPolicy {
    name: "x86",
    about: "x86 today (v7.x; RCU table free since v6.15, a37259732a7d): IPI TLB shootdown, \
            synchronize_rcu fallback (1fb3d8c20bfa, 2026)",
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::SynchronizeRcu,
    table_invalidate: true,
    ..X86_V6_14
};

/// x86-32 with PAE today: 64-bit entries written whole (`cmpxchg8b`: `native_set_pmd`,
/// `native_pmdp_get_and_clear`) but read locklessly in two 32-bit halves
/// (`CONFIG_GUP_GET_PXX_LOW_HIGH`), so `pmdp_get_lockless_sync()` is a real
/// `tlb_remove_table_sync_one()` (include/linux/pgtable.h). Otherwise today's x86: IPI
/// shootdown, RCU table free (a37259732a7d made it unconditional for 32-bit too). No
/// `PT_RECLAIM` (`ARCH_SUPPORTS_PT_RECLAIM` is x86-64 only).
pub const X86_PAE: ArchPolicy = ArchPolicy {
    name: "x86-pae",
    about: "x86-32 PAE today (v6.15+; pmdp_get_lockless_sync since v6.6): pmds read in two \
            32-bit halves (CONFIG_GUP_GET_PXX_LOW_HIGH), an IPI after a pmd is cleared; \
            otherwise x86",
    pmd_halves: true,
    kernel_pgd_sync: KernelPgdSync::PrivateKernelPmd,
    ..X86
};

/// x86 with AMD INVLPGB broadcast invalidation (v6.15+, `CONFIG_BROADCAST_TLB_FLUSH`): an mm
/// with a global ASID is flushed by `broadcast_tlb_flush` (INVLPGB + TLBSYNC) and no CPU is
/// interrupted, which is what made RCU table free unconditional first.
pub const X86_INVLPGB: ArchPolicy = ArchPolicy {
    name: "x86-invlpgb",
    about: "x86 with AMD INVLPGB (v6.15+): broadcast TLB flush (no IPI), RCU table free",
    tlb_flush: TlbFlush::BroadcastTlbi,
    ..X86
};

/// x86 as a paravirt guest today (Xen PV, Hyper-V with remote flush, KVM with PV TLB flush): the
/// flush is a hypercall or deferred for preempted vCPUs, interrupting no one, and tables go
/// through `tlb_remove_table` (with PARAVIRT since v4.14, unconditionally since v6.15); the
/// batch-allocation fallback is `synchronize_rcu` since 1fb3d8c20bfa (2026).
pub const X86_PV: ArchPolicy = ArchPolicy {
    name: "x86-pv",
    about: "x86 paravirt guest today (after 1fb3d8c20bfa, 2026): hypercall TLB flush (no IPI), \
            RCU table free, synchronize_rcu fallback",
    tlb_flush: TlbFlush::BroadcastTlbi,
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::SynchronizeRcu,
    table_rcu: RcuFlavour::Consolidated,
    table_invalidate: true,
    ptep_get_and_clear: PtepGetAndClear::Xchg,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    splitting_flush: SplittingFlush::Generic,
    deposit: Deposit::StructPage,
    rcu_table_free_config: true,
    hash_mmu: false,
    pte_fragments: PteFragments::WholePage,
    pmd_halves: false,
    kernel_pgd_sync: KernelPgdSync::TopLevel,
};

/// The hazard that made RCU table free necessary under paravirt: a flush that interrupts no
/// one, with tables still freed right after it and no `MMU_GATHER_RCU_TABLE_FREE` built in.
/// Not a shipped kernel; a "what if" users ask.
pub const X86_PV_NO_RCU: ArchPolicy = ArchPolicy {
    name: "x86-pv-no-rcu-free",
    about: "hypothetical: paravirt (no IPI) flush but tables freed after the flush, no RCU \
            table free built in",
    table_free: TableFree::AfterFlush,
    rcu_table_free_config: false,
    ..X86_PV
};
