//! x86: TLB shootdown by IPI, and page tables freed after the flush.
//!
//! `native_flush_tlb_multi` sends an IPI to every CPU in `mm_cpumask` and waits, so a gup_fast
//! walker with interrupts off holds the flush, and with it every free behind it
//! (`tlb_flush_mmu`: flush, then free). Catalin Marinas, 2014: "the other architectures that
//! don't need HAVE_RCU_TABLE_FREE use IPI for TLB shootdown, hence they [get] gup_fast
//! synchronisation for free".

use crate::policy::*;
use ptcheck_model::RcuFlavour;

/// Native x86 without MMU_GATHER_RCU_TABLE_FREE (arch/x86/mm/tlb.c, asm-generic/tlb.h).
pub const X86: ArchPolicy = ArchPolicy {
    name: "x86",
    about: "x86 native: IPI TLB shootdown, tables freed after the flush (tlb_remove_page)",
    tlb_flush: TlbFlush::IpiShootdown,
    table_free: TableFree::AfterFlush,
    remove_table_one: RemoveTableOne::IpiSync,
    table_rcu: RcuFlavour::Consolidated,
    table_invalidate: false,
    ptep_clear_full_barrier: true,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    splitting_flush: SplittingFlush::Generic,
    deposit: Deposit::StructPage,
};

/// x86 under a paravirt TLB flush (Xen, Hyper-V: a hypercall, no IPI), which is why x86
/// selects MMU_GATHER_RCU_TABLE_FREE with PARAVIRT (v4.14+): tables go through
/// `tlb_remove_table`. Today's fallback is `synchronize_rcu`.
pub const X86_PV: ArchPolicy = ArchPolicy {
    name: "x86-pv",
    about: "x86 paravirt: hypercall TLB flush (no IPI), RCU table free, synchronize_rcu fallback",
    tlb_flush: TlbFlush::BroadcastTlbi,
    table_free: TableFree::RcuBatched,
    remove_table_one: RemoveTableOne::SynchronizeRcu,
    table_rcu: RcuFlavour::Consolidated,
    table_invalidate: false,
    ptep_clear_full_barrier: true,
    pmd_get_and_clear: PmdSerialize::FlushOnly,
    pmd_invalidate: PmdSerialize::FlushOnly,
    pmd_collapse_flush: PmdSerialize::FlushOnly,
    splitting_flush: SplittingFlush::Generic,
    deposit: Deposit::StructPage,
};

/// The hazard that made RCU table free necessary under paravirt: a flush that interrupts no
/// one, with tables still freed right after it. Not a shipped kernel; a "what if" users ask.
pub const X86_PV_NO_RCU: ArchPolicy = ArchPolicy {
    name: "x86-pv-no-rcu-free",
    about: "hypothetical: paravirt (no IPI) flush but tables freed after the flush",
    table_free: TableFree::AfterFlush,
    ..X86_PV
};
