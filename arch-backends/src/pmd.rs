//! Huge pmd updates as each policy does them (arch/powerpc/mm/book3s64/pgtable.c,
//! radix_pgtable.c, hash_pgtable.c; mm/pgtable-generic.c; arch/arm{,64}/mm/flush.c), driven
//! by the policy's [`PmdSerialize`] and [`SplittingFlush`] knobs.
//!
//! The caller holds the pmd lock (`pmd_lock`), so no other writer races these updates: the
//! read-modify-writes are modelled as a load and an exchange.
//!
//! Guards read: serialize-pte-lookup (`pmdp_huge_get_and_clear`, `pmdp_invalidate`,
//! `pmdp_collapse_flush`, where the policy serializes), splitting-ipi (`pmdp_splitting_flush`).

use crate::policy::{ArchPolicy, PmdSerialize, SplittingFlush};
use crate::tlb::flush_tlb_mm;
use ptcheck_model::ordering::{smp_mb, ONCE};
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards, IpiTargets};

/// `serialize_against_pte_lookup(mm)`: `smp_mb()`, then an IPI to every CPU of
/// `mm_cpumask(mm)` (all CPUs of the model), waiting for each: it returns only once every
/// lockless walker that was inside an irq-off section has left it. Skipped when the
/// serialize-pte-lookup guard is off.
pub fn serialize_against_pte_lookup(c: &Ctx) {
    if !c.guard(Guards::SERIALIZE_PTE_LOOKUP) {
        return;
    }
    smp_mb();
    c.ipi(IpiTargets::MmCpumask, "serialize_against_pte_lookup");
}

fn serialize(c: &Ctx, how: PmdSerialize) {
    if how == PmdSerialize::SerializePteLookup {
        serialize_against_pte_lookup(c);
    }
}

/// `pmdp_huge_get_and_clear(mm, addr, pmdp)` (`radix__pmdp_huge_get_and_clear`:
/// `pmd_hugepage_update(mm, addr, pmdp, ~0UL, 0)`, fully ordered, then, per policy,
/// `serialize_against_pte_lookup`). The TLB flush is left to the caller's mmu_gather.
pub fn pmdp_huge_get_and_clear(c: &Ctx, policy: &ArchPolicy, pmd: FrameId, slot: usize) -> Entry {
    let old = c.exchange(pmd, slot, Entry::NONE, true, "pmdp_huge_get_and_clear");
    serialize(c, policy.pmd_get_and_clear);
    old
}

/// `pmdp_invalidate(vma, addr, pmdp)`: clear the valid bit (powerpc: `_PAGE_PRESENT` off,
/// `_PAGE_INVALID` on, pfn and `_PAGE_PTE` kept; elsewhere `pmd_mknotpresent`), flush the range
/// (`flush_pmd_tlb_range`), then, per policy, `serialize_against_pte_lookup`.
pub fn pmdp_invalidate(c: &Ctx, policy: &ArchPolicy, pmd: FrameId, slot: usize) -> Entry {
    let cur = c.load(pmd, slot, ONCE, "pmdp_invalidate");
    let old = c.exchange(
        pmd,
        slot,
        cur.without(EntryFlags::PRESENT),
        true,
        "pmdp_invalidate (pmd_hugepage_update)",
    );
    flush_tlb_mm(c, policy);
    serialize(c, policy.pmd_invalidate);
    old
}

/// `pmdp_collapse_flush(vma, addr, pmdp)`: clear a pmd that points at a pte table, then, per
/// policy, `serialize_against_pte_lookup`, then flush. powerpc (`hash__pmdp_collapse_flush`,
/// and `radix__pmdp_collapse_flush` before v6.1) serializes *before* the flush: the IPI waits
/// for every `hash_page` still holding a pointer into the old table, so that the HPTEs it
/// inserts are removed by the flush that follows (flushing first would leave them). The
/// generic one (x86, arm64) is `pmdp_huge_get_and_clear` + `flush_tlb_range`.
pub fn pmdp_collapse_flush(c: &Ctx, policy: &ArchPolicy, pmd: FrameId, slot: usize) -> Entry {
    let old = c.exchange(pmd, slot, Entry::NONE, true, "pmdp_collapse_flush");
    serialize(c, policy.pmd_collapse_flush);
    flush_tlb_mm(c, policy);
    old
}

/// `pmdp_splitting_flush(vma, addr, pmdp)` (2014): `set_pmd_at(pmd_mksplitting(*pmdp))`, then
/// the policy's serialization. With the splitting-ipi guard off, an arch that overrides it
/// falls back to the generic one (set, then `flush_pmd_tlb_range`).
pub fn pmdp_splitting_flush(c: &Ctx, policy: &ArchPolicy, pmd: FrameId, slot: usize) {
    let cur = c.load(pmd, slot, ONCE, "pmdp_splitting_flush");
    c.store(
        pmd,
        slot,
        cur.with(EntryFlags::SPLITTING),
        ONCE,
        "pmdp_splitting_flush (set_pmd_at)",
    );
    let ipi = c.guard(Guards::SPLITTING_IPI);
    match policy.splitting_flush {
        SplittingFlush::DummyIpi if ipi => c.ipi(IpiTargets::AllOnline, "thp_splitting_flush_sync"),
        SplittingFlush::SerializePteLookup if ipi => {
            // 2013 - 2016 book3s64: kick_all_cpus_sync(), every online CPU.
            smp_mb();
            c.ipi(IpiTargets::AllOnline, "kick_all_cpus_sync")
        }
        _ => flush_tlb_mm(c, policy),
    }
}
