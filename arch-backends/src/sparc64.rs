//! sparc64 today (arch/sparc/mm/tlb.c, init_64.c, asm/tlb_64.h, asm/tlbflush_64.h).
//!
//! `flush_tlb_range`, `flush_tlb_page` and `flush_tlb_mm` are empty: user TLB/TSB entries are
//! flushed per pte change through the TLB batch (`tlb_batch_add`, `flush_tlb_pending` ->
//! `smp_flush_tlb_pending` cross-calls), which do not wait for irq-off sections to end; so a pmd
//! clear interrupts no one. Tables are freed through `MMU_GATHER_RCU_TABLE_FREE` (`if SMP`),
//! and `tlb_needs_table_invalidate()` is false (the hardware TLB fill does not read Linux page
//! tables). pte tables are whole pages. `ptep_get_and_clear` is the generic read, then
//! `pte_clear`. `pgtable_trans_huge_deposit` keeps the table on a `list_head` over its first
//! two entries (withdraw zeroes them): `pte_present` tests `_PAGE_PRESENT_4U`/`_4V`, clear in
//! an 8K-aligned pointer, so it reads as a non-present, non-empty pte.
//!
//! sparc64 does not select `HAVE_GUP_FAST`: its cells with a gup_fast walker are pairings no
//! kernel has (kept, like the other non-existent pairings, to show the hazard).

use crate::generic::GENERIC_RCU;
use crate::policy::*;

/// What sparc64 does differently from the generic RCU-table-free configuration.
pub const SPARC64: ArchPolicy = ArchPolicy {
    name: "sparc64",
    about: "sparc64 today (v6.x, SMP): empty flush_tlb_range, batched cross-call TLB flush, RCU \
            table free, no table invalidate, no gup_fast",
    table_invalidate: false,
    ptep_get_and_clear: PtepGetAndClear::ReadThenClear,
    deposit: Deposit::ListInTable,
    ..GENERIC_RCU
};
