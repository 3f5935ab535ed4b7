//! The mmu_gather: how unmapped pages and unlinked page tables reach the allocator
//! (mm/mmu_gather.c, include/asm-generic/tlb.h), driven by the policy's knobs.
//!
//! Order of `tlb_flush_mmu` (kernel): flush the TLB (`tlb_flush_mmu_tlbonly`), then
//! `tlb_table_flush` (hand the table batch to RCU), then free the gathered pages
//! (`tlb_batch_pages_flush` / `free_pages_and_swap_cache`).
//!
//! The batch page allocation of `tlb_remove_table` (`__get_free_page(GFP_NOWAIT)`) is a data
//! choice, [`BATCH_ALLOC`]: the explorer runs the cell with the first attempt and the later
//! ones each succeeding or failing.
//!
//! Guards read: free-after-flush (`tlb_remove_page`), table-free-defer (`free_table`),
//! remove-table-sync (`tlb_remove_table_one`).

use crate::policy::{ArchPolicy, RemoveTableOne, TableFree};
use crate::tlb::flush_tlb_mm;
use ptcheck_model::{Choice, Ctx, FrameId, Guards, IpiTargets, RcuFlavour, What};
use smallvec::SmallVec;

/// The data choices: does `__get_free_page(GFP_NOWAIT)` for the table batch fail? A failed
/// attempt leaves no batch, so the next table tries again: the first attempt and every later
/// one are separate choice points (fail then succeed is explored too).
pub const BATCH_ALLOC: [Choice; 2] = [
    Choice {
        name: "tlb_remove_table batch page (first attempt)",
        options: &["allocated", "allocation fails"],
    },
    Choice {
        name: "tlb_remove_table batch page (later attempts)",
        options: &["allocated", "allocation fails"],
    },
];

/// `MMU_GATHER_BUNDLE` (include/asm-generic/tlb.h): the pages `struct mmu_gather` holds in
/// itself before it needs a batch page.
const MMU_GATHER_BUNDLE: usize = 8;

/// One `struct mmu_gather` (`tlb_gather_mmu` .. `tlb_finish_mmu`).
pub struct MmuGather<'a> {
    c: &'a Ctx,
    policy: &'a ArchPolicy,
    /// Pages gathered by `tlb_remove_page` (data pages, and tables on `AfterFlush` policies):
    /// `tlb->local`, whose `MMU_GATHER_BUNDLE` (8) slots live in the gather itself (more
    /// spill to the heap, where the kernel chains batch pages; no scenario gathers that many).
    pages: SmallVec<[(FrameId, bool); MMU_GATHER_BUNDLE]>,
    /// `tlb->batch`: tables waiting for `tlb_table_flush` (a page of them in the kernel; the
    /// model's scenarios free a few, kept inline).
    batch: Option<SmallVec<[FrameId; MMU_GATHER_BUNDLE]>>,
    need_flush: bool,
    /// Batch page allocations tried so far.
    batch_attempts: usize,
    /// `CONFIG_PT_RECLAIM` (v6.14+): `tlb_remove_table_one` defers to RCU on the table's own
    /// `pt_rcu_head`, since reclaim frees tables where it may not sleep.
    pt_reclaim: bool,
}

impl<'a> MmuGather<'a> {
    /// `tlb_gather_mmu(tlb, mm)`.
    pub fn new(c: &'a Ctx, policy: &'a ArchPolicy) -> Self {
        MmuGather {
            c,
            policy,
            pages: SmallVec::new(),
            batch: None,
            need_flush: false,
            batch_attempts: 0,
            pt_reclaim: false,
        }
    }

    /// The gather of a kernel built with `CONFIG_PT_RECLAIM` (which depends on RCU table
    /// free): without a batch page, `tlb_remove_table_one` is `call_rcu(&ptdesc->pt_rcu_head,
    /// __tlb_remove_table_one_rcu)` whatever the policy's older fallback.
    pub fn pt_reclaim(mut self) -> Self {
        self.pt_reclaim = true;
        self
    }

    /// `tlb_remove_page(tlb, page)` for a data page whose pte was cleared: drop the mapping's
    /// reference after the flush (at once if the free-after-flush guard is off).
    pub fn tlb_remove_page(&mut self, page: FrameId) {
        self.need_flush = true;
        if self.c.guard(Guards::FREE_AFTER_FLUSH) {
            self.pages.push((page, false));
        } else {
            self.c.put_page(page, "tlb_remove_page");
        }
    }

    /// `pte_free_tlb` / `pmd_free_tlb` (`__pte_free_tlb`): a table unlinked from its parent.
    pub fn free_table(&mut self, table: FrameId, func: &'static str) {
        self.need_flush = true;
        if !self.c.guard(Guards::TABLE_FREE_DEFER) {
            self.c.free(table, func);
            return;
        }
        match self.policy.table_free {
            TableFree::AfterFlush => {
                self.c.note(
                    func,
                    What::Call {
                        op: "tlb_remove_page",
                        frame: self.c.world.name(table),
                    },
                );
                self.pages.push((table, true));
            }
            TableFree::RcuBatched => self.tlb_remove_table(table),
        }
    }

    /// `tlb_remove_table(tlb, table)`.
    fn tlb_remove_table(&mut self, table: FrameId) {
        let c = self.c;
        if self.batch.is_none() {
            let attempt = BATCH_ALLOC[self.batch_attempts.min(1)];
            self.batch_attempts += 1;
            if c.world.choose(attempt) {
                c.note(
                    "tlb_remove_table",
                    "__get_free_page(GFP_NOWAIT) failed: no batch",
                );
                self.tlb_table_invalidate();
                self.tlb_remove_table_one(table);
                return;
            }
            self.batch = Some(SmallVec::new());
        }
        c.note(
            "tlb_remove_table",
            What::Labelled {
                label: "batch",
                frame: c.world.name(table),
            },
        );
        self.batch.get_or_insert_with(SmallVec::new).push(table);
    }

    /// `tlb_table_invalidate`: where the walk caches need it (`tlb_needs_table_invalidate`),
    /// flush the pending range first (`tlb_flush_mmu_tlbonly`, a no-op when nothing is pending).
    fn tlb_table_invalidate(&mut self) {
        if self.policy.table_invalidate && self.need_flush {
            flush_tlb_mm(self.c, self.policy);
            self.need_flush = false;
        }
    }

    /// `tlb_remove_table_one(table)`: the slow path without a batch page.
    fn tlb_remove_table_one(&mut self, table: FrameId) {
        let c = self.c;
        if self.pt_reclaim && c.guard(Guards::REMOVE_TABLE_SYNC) {
            c.call_rcu(
                RcuFlavour::Consolidated,
                "tlb_remove_table_one",
                "__tlb_remove_table_one_rcu",
                move |cb| cb.free(table, "__tlb_remove_table_one_rcu"),
            );
            return;
        }
        if c.guard(Guards::REMOVE_TABLE_SYNC) {
            match self.policy.remove_table_one {
                RemoveTableOne::IpiSync => tlb_remove_table_sync_one(c, self.policy),
                RemoveTableOne::SynchronizeRcu => {
                    c.synchronize_rcu(self.policy.table_rcu, "tlb_remove_table_one")
                }
            }
        }
        c.free(table, "__tlb_remove_table");
    }

    /// `tlb_table_flush(tlb)`: hand the batch to RCU (`tlb_remove_table_free`).
    fn tlb_table_flush(&mut self) {
        if let Some(batch) = self.batch.take() {
            self.tlb_table_invalidate();
            // PT_RECLAIM is v6.14+: the flavours have been one since v4.20.
            let flavour = if self.pt_reclaim {
                RcuFlavour::Consolidated
            } else {
                self.policy.table_rcu
            };
            self.c.call_rcu(
                flavour,
                "tlb_table_flush",
                "tlb_remove_table_rcu",
                move |cb| {
                    for t in batch {
                        cb.free(t, "tlb_remove_table_rcu");
                    }
                },
            );
        }
    }

    /// `tlb_flush_mmu(tlb)`: flush, hand tables to RCU, free the gathered pages.
    pub fn tlb_flush_mmu(&mut self) {
        if self.need_flush {
            flush_tlb_mm(self.c, self.policy);
            self.need_flush = false;
        }
        self.tlb_table_flush();
        for (f, is_table) in std::mem::take(&mut self.pages) {
            if is_table {
                self.c.free(f, "free_pages_and_swap_cache");
            } else {
                self.c.put_page(f, "free_pages_and_swap_cache");
            }
        }
    }

    /// `tlb_finish_mmu(tlb)`.
    pub fn tlb_finish_mmu(mut self) {
        self.tlb_flush_mmu();
    }
}

/// `tlb_remove_table_sync_one()` (mm/mmu_gather.c): `smp_call_function(
/// tlb_remove_table_smp_sync, NULL, 1)`, an IPI to every other online CPU, waiting: it returns
/// once no CPU is still inside an irq-off walk that began before it. Without
/// `CONFIG_MMU_GATHER_RCU_TABLE_FREE` (the policy's `rcu_table_free_config`) it is an empty
/// stub: there the TLB flush itself is what walkers are waited for by.
pub fn tlb_remove_table_sync_one(c: &Ctx, policy: &ArchPolicy) {
    if policy.rcu_table_free_config {
        c.ipi(IpiTargets::AllOnline, "tlb_remove_table_sync_one");
    } else {
        c.note(
            "tlb_remove_table_sync_one",
            "no-op (!CONFIG_MMU_GATHER_RCU_TABLE_FREE)",
        );
    }
}
