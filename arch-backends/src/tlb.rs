//! TLB flushing as each policy does it (`flush_tlb_mm_range`, `tlb_flush`).
//!
//! The model has no TLBs: what matters to lockless walkers is whether the flush *interrupts*
//! the other CPUs and waits for them ([`TlbFlush::IpiShootdown`]), which makes it a barrier
//! against irq-off sections, or not ([`TlbFlush::BroadcastTlbi`]).

use crate::policy::{ArchPolicy, TlbFlush};
use ptcheck_model::ordering::smp_mb;
use ptcheck_model::{Ctx, IpiTargets};

/// `flush_tlb_mm_range(mm, ...)` / `tlb_flush(tlb)` on `policy`.
pub fn flush_tlb_mm(c: &Ctx, policy: &ArchPolicy) {
    c.world.cost(|k| k.tlb_flushes += 1);
    match policy.tlb_flush {
        // flush_tlb_mm_range -> native_flush_tlb_multi(mm_cpumask(mm), info): with freed
        // tables (every flush here frees something) lazy-TLB CPUs are interrupted too.
        TlbFlush::IpiShootdown => c.ipi(IpiTargets::MmCpumask, "native_flush_tlb_multi"),
        TlbFlush::BroadcastTlbi => {
            // DSB ISH after the TLBI: a full barrier on the flushing CPU, nothing on the others.
            smp_mb();
            c.note("flush_tlb_mm", "broadcast TLB invalidate (no IPI)");
        }
    }
    if policy.hash_mmu {
        // The hash MMU's translations live in the HPT: the flush invalidates them
        // (flush_hash_table_pmd_range / flush_hash_page).
        c.hpte_flush("flush_hash_table_pmd_range");
    }
}
