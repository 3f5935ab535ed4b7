//! Guards: the synchronisation steps a scenario can switch off (DESIGN.md §7).
//!
//! Each scenario names the guards its protocol relies on; a *variant* runs the protocol with
//! some of them off. The necessity analysis switches each one off in turn to show that the
//! checker then finds a violation. The set is one vocabulary shared by every scenario so that
//! "irq-off" means the same step wherever it appears.

use bitflags::bitflags;

bitflags! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Guards: u32 {
        /// The lockless walker runs with interrupts off (`local_irq_save` in gup_fast).
        const IRQ_OFF           = 1 << 0;
        /// Re-read the pte after taking the speculative reference and back off if it changed
        /// (`pte_val(pte) != pte_val(*ptep)` in `gup_pte_range`).
        const PTE_RECHECK       = 1 << 1;
        /// Take the reference only if the count is not zero (`page_cache_get_speculative`,
        /// i.e. `get_page_unless_zero`), instead of a plain `get_page`.
        const GET_UNLESS_ZERO   = 1 << 2;
        /// Page tables go through the policy's deferred free (`tlb_remove_table` or freeing
        /// after the flush) instead of being freed as soon as they are unlinked.
        const TABLE_FREE_DEFER  = 1 << 3;
        /// `tlb_remove_table_one` synchronises (IPI or `synchronize_rcu`) before freeing a
        /// table when the batch page cannot be allocated.
        const REMOVE_TABLE_SYNC = 1 << 4;
        /// Data pages are freed only after the TLB flush (`tlb_flush_mmu` order:
        /// `tlb_flush` then `free_pages_and_swap_cache`).
        const FREE_AFTER_FLUSH  = 1 << 5;
    }
}

impl Guards {
    /// The guard's name as users type it (`--guard`, necessity report).
    pub fn guard_name(self) -> &'static str {
        match self {
            g if g == Guards::IRQ_OFF => "irq-off",
            g if g == Guards::PTE_RECHECK => "pte-recheck",
            g if g == Guards::GET_UNLESS_ZERO => "get-unless-zero",
            g if g == Guards::TABLE_FREE_DEFER => "table-free-defer",
            g if g == Guards::REMOVE_TABLE_SYNC => "remove-table-sync",
            g if g == Guards::FREE_AFTER_FLUSH => "free-after-flush",
            _ => "(several)",
        }
    }

    /// Parse one guard name.
    pub fn from_guard_name(s: &str) -> Option<Guards> {
        Guards::all().iter().find(|g| g.guard_name() == s)
    }

    /// The names of the guards in this set, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(|g| g.guard_name()).collect()
    }
}
