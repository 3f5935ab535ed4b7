//! Huge pmd updates as each policy does them (arch/powerpc/mm/book3s64/pgtable.c,
//! radix_pgtable.c, hash_pgtable.c; mm/pgtable-generic.c; arch/arm{,64}/mm/flush.c), driven
//! by the policy's [`PmdSerialize`] and [`SplittingFlush`] knobs.
//!
//! The caller holds the pmd lock (`pmd_lock`), so no other writer races these updates: the
//! read-modify-writes are modelled as a load and an exchange.
//!
//! The lockless side is here too: `pmdp_get_lockless` and, where a pmd is two 32-bit words
//! (x86-PAE), its irq-off bracket and the remover's `pmdp_get_lockless_sync`.
//!
//! Guards read: serialize-pte-lookup (`pmdp_huge_get_and_clear`, `pmdp_invalidate`,
//! `pmdp_collapse_flush`, where the policy serializes), splitting-ipi (`pmdp_splitting_flush`),
//! and on split-pmd policies pmd-lockless-sync and pmd-lockless-irq-off.

use crate::mmu_gather::tlb_remove_table_sync_one;
use crate::policy::{ArchPolicy, PmdSerialize, SplittingFlush};
use crate::tlb::flush_tlb_mm;
use ptcheck_model::ordering::{smp_mb, Ordering, ONCE};
use ptcheck_model::violation::{raise, Violation};
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards, IpiTargets};

/// `pmdp_get_lockless(pmdp)` (include/linux/pgtable.h). One `READ_ONCE` where a pmd is one
/// word. Where it is two (`CONFIG_GUP_GET_PXX_LOW_HIGH`, `halves`: the policy's `pmd_halves`):
///
/// ```c
/// do {
///         pmd.pmd_low = pmdp->pmd_low;   smp_rmb();
///         pmd.pmd_high = pmdp->pmd_high; smp_rmb();
/// } while (unlikely(pmd.pmd_low != pmdp->pmd_low));
/// ```
///
/// The writers store both words at once (`cmpxchg8b`), so the model keeps the pmd one
/// location and reads it three times, taking the low word ([`ptcheck_model::World::halves`])
/// of the first and third loads and the high word of the second. The retry catches a low word
/// that changed; it cannot catch a high word from a value between two with the same low word
/// (a table freed and another allocated 4 GiB away). The result is then a value the pmd never
/// held: a `torn` violation where the walker would act on it (its low word present). With no
/// frame above 4 GiB the split read always returns its first load's value, and one load is
/// what the model runs (same verdicts, fewer steps).
pub fn pmdp_get_lockless(
    c: &Ctx,
    halves: bool,
    pmdp: FrameId,
    slot: usize,
    o: Ordering,
    func: &'static str,
) -> Entry {
    if !halves || !c.world.split_phys() {
        return c.load(pmdp, slot, o, func);
    }
    loop {
        let low = c.load(pmdp, slot, o, "pmdp_get_lockless (pmd_low)");
        // smp_rmb(): three loads of one location, ordered by coherence.
        let high = c.load(pmdp, slot, o, "pmdp_get_lockless (pmd_high)");
        let again = c.load(pmdp, slot, o, "pmdp_get_lockless (pmd_low again)");
        let w = &c.world;
        let first = w.halves(low);
        if w.halves(again).0 != first.0 {
            c.note(func, "pmd_low changed: retry");
            continue;
        }
        let joined = (first.0, w.halves(high).1);
        if let Some(e) = [low, high, again]
            .into_iter()
            .find(|e| w.halves(*e) == joined)
        {
            return e;
        }
        if !low.is_present() {
            // pmd_none() and pmd_present() test the low word: the caller bails.
            return low;
        }
        raise(Violation::Torn {
            by: c.actor,
            func,
            seen: format!(
                "the low word of {} with the high word of {}",
                w.show(low),
                w.show(high)
            ),
            detail: format!(
                "pmd_low read from {}, pmd_high from {}, pmd_low again from {}: the recheck \
                 saw the same low word, so the walker takes a table at an address no pmd \
                 pointed to",
                w.show(low),
                w.show(high),
                w.show(again)
            ),
        });
    }
}

/// `pmdp_get_lockless_start()` (mm/pgtable-generic.c, `__pte_offset_map`): on split-pmd
/// policies, `local_irq_save` before the split read, so that `pmdp_get_lockless_sync` waits
/// for it (`halves`: the policy's `pmd_halves`). Returns whether interrupts were disabled
/// (for [`pmdp_get_lockless_end`]).
pub fn pmdp_get_lockless_start(c: &Ctx, halves: bool) -> bool {
    let off = halves && c.guard(Guards::PMD_LOCKLESS_IRQ_OFF);
    if off {
        c.local_irq_disable("pmdp_get_lockless_start");
    }
    off
}

/// `pmdp_get_lockless_end()`: `local_irq_restore`.
pub fn pmdp_get_lockless_end(c: &Ctx, irq_off: bool) {
    if irq_off {
        c.local_irq_enable("pmdp_get_lockless_end");
    }
}

/// `pmdp_get_lockless_sync()` after a remover cleared a pmd (`retract_page_tables`,
/// `collapse_pte_mapped_thp`): `tlb_remove_table_sync_one()` where pmds are read in halves,
/// so that no walker still between its two loads can pair a half of the old value with a half
/// of a later one; an empty inline everywhere else.
pub fn pmdp_get_lockless_sync(c: &Ctx, policy: &ArchPolicy) {
    if !policy.pmd_halves {
        c.note("pmdp_get_lockless_sync", "no-op (pmds are read whole)");
    } else if c.guard(Guards::PMD_LOCKLESS_SYNC) {
        tlb_remove_table_sync_one(c, policy);
    }
}

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
