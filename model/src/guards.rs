//! Guards: the synchronisation steps a scenario can switch off (DESIGN.md §7).
//!
//! Each scenario names the guards its protocol relies on; a *variant* runs the protocol with
//! some of them off. The necessity analysis switches each one off in turn to show that the
//! checker then finds a violation. The named flags are one vocabulary shared by every scenario
//! of this project, so that "irq-off" means the same step wherever it appears.
//!
//! A scenario written in another crate declares its own guards on the sixteen user bits
//! ([`Guards::user`]); their names and hazards come from the scenario that declares them
//! (`ptcheck_scenarios::OwnGuard`), so one user bit can be "my-arch-flush-ipi" in one scenario
//! and something else in another.

use crate::hazard::Hazards;
use bitflags::bitflags;

bitflags! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Guards: u64 {
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
        /// A lockless walker reads a pmd once (`READ_ONCE`) and acts on the value it tested
        /// (the 2020 powerpc rule 1); off: it tests one read and acts on a reload.
        const READ_ONCE_PMD     = 1 << 6;
        /// `pte_present()` checks `_PAGE_PTE` before the walker treats an entry reached through
        /// a pmd slot as a leaf (the 2020 powerpc rule 3); off: only the valid bit is tested.
        const PAGE_PTE_CHECK    = 1 << 7;
        /// `serialize_against_pte_lookup()`: `smp_mb()` then an IPI to `mm_cpumask`, waiting,
        /// after a pmd update, where the policy's `pmdp_*` functions do it.
        const SERIALIZE_PTE_LOOKUP = 1 << 8;
        /// The dummy IPI of the arch `pmdp_splitting_flush` (`thp_splitting_flush_sync`, arm and
        /// arm64 2014) where the policy has one; off: the generic `pmdp_splitting_flush`.
        const SPLITTING_IPI     = 1 << 9;
        /// gup_fast bails on `pmd_trans_splitting(pmd)`.
        const SPLITTING_CHECK   = 1 << 10;
        /// `__find_linux_pte` returns NULL for a pmd that `pmdp_invalidate` marked
        /// (`pmd_is_serializing`: `_PAGE_INVALID` without `_PAGE_PRESENT`; book3s64 since
        /// v5.2, "powerpc/64s: Fix THP PMD collapse serialisation").
        const SERIALIZING_CHECK = 1 << 11;
        /// gup_fast rechecks the pmd after the pte (`pmd_val(pmd) != pmd_val(pmdp_get_lockless(
        /// pmdp))` in `gup_fast_pte_range`, v6.1+: "mm: gup: fix the fast GUP race against THP
        /// collapse"); off: the 2014 walker, which rechecks the pte only.
        const PMD_RECHECK       = 1 << 12;
        /// `tlb_remove_table_sync_one()` right after `pmdp_collapse_flush` in khugepaged's
        /// `collapse_huge_page` (2ba99c5e0881, v6.1, 2022: "mm/khugepaged: fix GUP-fast
        /// interaction by sending IPI"): waits for every irq-off walker still inside the
        /// detached pte table before khugepaged reuses it (deposit) and a later zap frees it.
        const COLLAPSE_SYNC_IPI = 1 << 13;
        /// `__pte_offset_map` takes `rcu_read_lock()` before it reads the pmd and holds it
        /// until `pte_unmap` (v6.5+, "mm/pgtable: allow pte_offset_map[_lock]() to fail"):
        /// a table detached under the walker stays a valid, empty table until then.
        const PTE_MAP_RCU       = 1 << 14;
        /// khugepaged frees a retracted pte table with `pte_free_defer` (`call_rcu`, v6.6,
        /// "mm/pgtable: add pte_free_defer() for pgtable as page") instead of `pte_free`.
        const PTE_FREE_DEFER    = 1 << 15;
        /// `pte_offset_map_lock` rechecks `pmd_same(pmdval, pmdp_get_lockless(pmd))` under the
        /// pte lock and retries if the pmd changed (and `pte_offset_map_rw_nolock` callers do
        /// the same before writing): no pte is written into a table that was detached.
        const PMD_SAME          = 1 << 16;
        /// `retract_page_tables` repeats its retractability checks (`vma->anon_vma`,
        /// userfaultfd) under the pmd and pte locks (the seed's v2: "repeat checks under ptl
        /// because UFFD").
        const RETRACT_RECHECK   = 1 << 17;
        /// Empty pte-table reclaim (`zap_pte_table_if_empty`, v6.14 `try_to_free_pte`) rescans
        /// the table for `pte_none` under the pmd and pte locks before clearing the pmd, when
        /// the pte lock was dropped after the zap.
        const RECLAIM_RECHECK   = 1 << 18;
        /// On fragment policies, `pte_free_defer` marks the page `PageActive` and the put of
        /// its last fragment makes the page's one `call_rcu` (v6.6, 32cc0b7c9d50 "powerpc: add
        /// pte_free_defer() for pgtables sharing page"); off: the series' v1, a `call_rcu` on
        /// the page's `rcu_head` per deferred fragment.
        const FRAG_DEFER_ONCE   = 1 << 19;
        /// Where a pmd is two 32-bit words (`CONFIG_GUP_GET_PXX_LOW_HIGH`, x86-PAE), the
        /// remover's `pmdp_get_lockless_sync()` (`tlb_remove_table_sync_one()`, an IPI to every
        /// CPU) after clearing the pmd in `retract_page_tables` / `collapse_pte_mapped_thp`
        /// (the seed's v2, 02/12 and 09/12): no walker is left between the two halves of its
        /// read when the pmd can be populated again.
        const PMD_LOCKLESS_SYNC = 1 << 20;
        /// `pmdp_get_lockless_start/end()` (`local_irq_save/restore`) around the split read of
        /// the pmd in `__pte_offset_map` on the same architectures: what that IPI waits for.
        const PMD_LOCKLESS_IRQ_OFF = 1 << 21;
        /// `handle_pte_fault` rechecks `pte_same(ptep_get(vmf->pte), vmf->orig_pte)` under the
        /// pte lock before it updates a present pte (`ptep_set_access_flags`): the table it
        /// mapped with `pte_offset_map_rw_nolock` (no pmd recheck) may have been emptied and
        /// detached meanwhile, and a remover empties a table only under that lock.
        const PTE_SAME = 1 << 22;
        /// `pgd_alloc` runs `pgd_ctor` (copy the kernel slots from `swapper_pg_dir`, then
        /// `pgd_list_add`) under `pgd_lock`, so a sync either sees the new pgd on the list or
        /// ran before the copy read the reference.
        const PGD_CTOR_LOCK = 1 << 23;
        /// `pgd_free` -> `pgd_dtor` takes `pgd_lock` around `pgd_list_del` before the pgd is
        /// freed, so a sync walking the list never writes a freed pgd.
        const PGD_DTOR_LOCK = 1 << 24;
        /// The lockless sync reads `p->mm` and uses `mm->pgd` under `task_lock(p)` (the
        /// series' v2: "locking the task before looking at tsk->mm"), which `exit_mm` takes to
        /// clear `->mm` before the mm can be freed; off: v1.
        const TASK_LOCK_MM = 1 << 25;
        /// The series' `arch_pgd_init_late()` copies the kernel slots after the new mm is
        /// visible to the sync's task-list walk (after `list_add_tail_rcu` in `copy_process`);
        /// off: the copy runs before the task is published.
        const INIT_LATE_AFTER_PUBLISH = 1 << 26;
        /// `smp_mb()` at the top of `arch_pgd_init_late()` (the series' v3): the publication
        /// (a store) is ordered before the read of `swapper_pg_dir`; off: v2's `smp_wmb()`.
        const INIT_LATE_MB = 1 << 27;
        /// `smp_wmb()` at the top of v2's `arch_pgd_init_late()` (what v3 replaced).
        const INIT_LATE_WMB = 1 << 28;
        /// The sync's `spin_lock(&pgd_lock)` is a full barrier (x86: a LOCK-prefixed RMW): the
        /// store to `swapper_pg_dir` is ordered before the task-list walk's loads (v3's comment:
        /// "if you ever move this code to another architecture ... make sure this is an
        /// smp_mb()").
        const SYNC_FULL_BARRIER = 1 << 29;
        /// VMAs are freed through `call_srcu(&vma_srcu, ...)` in `remove_vma` (the speculative
        /// fault series): a fault that found the VMA under `srcu_read_lock` can still read it.
        const VMA_SRCU_FREE = 1 << 30;
        /// `pte_map_lock` rechecks `vma_has_changed()` after taking the pte lock: a munmap or
        /// mprotect that changed the VMA before the lock was taken is seen.
        const SPF_SEQ_RECHECK = 1 << 31;
        /// `pte_map_lock` takes the pte lock with `spin_trylock` (interrupts are off): a CPU
        /// that holds the lock and waits for this CPU's answer to its TLB-flush IPI is not
        /// waited for in turn.
        const SPF_TRYLOCK = 1 << 32;
        /// `page_add_new_anon_rmap` (`vma->anon_vma`) runs under the pte lock, inside the
        /// sequence-count window the lock closes (the series' "Protect SPF handler against
        /// anon_vma changes"): the anon_vma is freed only after munmap's zap took that lock.
        const SPF_RMAP_LOCKED = 1 << 33;
    }
}

impl Guards {
    /// The guards that are *rechecks*: the path tested the same state before, unguarded, and
    /// the guard tests it again ([`crate::World::guard_check`]). Skipping one can change the
    /// path only where a CPU wrote that state in between; for any other guard, a read while
    /// switched off may always have mattered (checks/src/run.rs `Focus`).
    pub const RECHECKS: Guards = Guards::RETRACT_RECHECK;

    /// The first of the bits reserved for guards a scenario outside this project declares.
    pub const FIRST_USER_BIT: u32 = 48;
    /// How many user guards one scenario can declare.
    pub const USER_BITS: u32 = 16;
    /// Every user bit.
    pub const USER: Guards = Guards::from_bits_retain(0xFFFF << Self::FIRST_USER_BIT);

    /// The `n`th user guard (`n` < 16): a guard a scenario of the user's own crate declares with
    /// its own name (`ptcheck_scenarios::OwnGuard`). Panics at compile time in a `const` if
    /// `n` is out of range.
    pub const fn user(n: u32) -> Guards {
        assert!(n < Self::USER_BITS, "a scenario has at most 16 user guards");
        Guards::from_bits_retain(1 << (Self::FIRST_USER_BIT + n))
    }

    /// Each guard of the set alone, in bit order: the named ones and the user bits (bitflags'
    /// own `iter` folds every unnamed bit into one item).
    pub fn each(self) -> impl Iterator<Item = Guards> {
        (0..64)
            .map(|i| 1u64 << i)
            .filter(move |b| self.bits() & b != 0)
            .map(Guards::from_bits_retain)
    }

    /// The guard's name in variants, reports and the necessity analysis. A user bit is named
    /// by the scenario that declares it (`Scenario::guard_name`); alone it reads `user-guard-N`.
    pub fn guard_name(self) -> &'static str {
        match self {
            g if g == Guards::IRQ_OFF => "irq-off",
            g if g == Guards::PTE_RECHECK => "pte-recheck",
            g if g == Guards::GET_UNLESS_ZERO => "get-unless-zero",
            g if g == Guards::TABLE_FREE_DEFER => "table-free-defer",
            g if g == Guards::REMOVE_TABLE_SYNC => "remove-table-sync",
            g if g == Guards::FREE_AFTER_FLUSH => "free-after-flush",
            g if g == Guards::READ_ONCE_PMD => "read-once-pmd",
            g if g == Guards::PAGE_PTE_CHECK => "page-pte-check",
            g if g == Guards::SERIALIZE_PTE_LOOKUP => "serialize-pte-lookup",
            g if g == Guards::SPLITTING_IPI => "splitting-ipi",
            g if g == Guards::SPLITTING_CHECK => "splitting-check",
            g if g == Guards::SERIALIZING_CHECK => "pmd-is-serializing",
            g if g == Guards::PMD_RECHECK => "pmd-recheck",
            g if g == Guards::COLLAPSE_SYNC_IPI => "collapse-sync-ipi",
            g if g == Guards::PTE_MAP_RCU => "pte-map-rcu",
            g if g == Guards::PTE_FREE_DEFER => "pte-free-defer",
            g if g == Guards::PMD_SAME => "pmd-same",
            g if g == Guards::RETRACT_RECHECK => "retract-recheck",
            g if g == Guards::RECLAIM_RECHECK => "reclaim-recheck",
            g if g == Guards::FRAG_DEFER_ONCE => "frag-defer-once",
            g if g == Guards::PMD_LOCKLESS_SYNC => "pmd-lockless-sync",
            g if g == Guards::PMD_LOCKLESS_IRQ_OFF => "pmd-lockless-irq-off",
            g if g == Guards::PTE_SAME => "pte-same",
            g if g == Guards::PGD_CTOR_LOCK => "pgd-ctor-lock",
            g if g == Guards::PGD_DTOR_LOCK => "pgd-dtor-lock",
            g if g == Guards::TASK_LOCK_MM => "task-lock-mm",
            g if g == Guards::INIT_LATE_AFTER_PUBLISH => "init-late-after-publish",
            g if g == Guards::INIT_LATE_MB => "init-late-mb",
            g if g == Guards::INIT_LATE_WMB => "init-late-wmb",
            g if g == Guards::SYNC_FULL_BARRIER => "sync-full-barrier",
            g if g == Guards::VMA_SRCU_FREE => "vma-srcu-free",
            g if g == Guards::SPF_SEQ_RECHECK => "spf-seq-recheck",
            g if g == Guards::SPF_TRYLOCK => "spf-trylock",
            g if g == Guards::SPF_RMAP_LOCKED => "spf-rmap-locked",
            g if g.bits().count_ones() == 1 && Guards::USER.contains(g) => {
                const NAMES: [&str; 16] = [
                    "user-guard-0",
                    "user-guard-1",
                    "user-guard-2",
                    "user-guard-3",
                    "user-guard-4",
                    "user-guard-5",
                    "user-guard-6",
                    "user-guard-7",
                    "user-guard-8",
                    "user-guard-9",
                    "user-guard-10",
                    "user-guard-11",
                    "user-guard-12",
                    "user-guard-13",
                    "user-guard-14",
                    "user-guard-15",
                ];
                NAMES[(g.bits().trailing_zeros() - Self::FIRST_USER_BIT) as usize]
            }
            _ => "(several)",
        }
    }

    /// The hazards the guards in this set protect a walker from ([`crate::hazard`]): a `safe`
    /// verdict about a guard means something only if an execution reached one of them.
    /// irq-off is about page-table lifetime (mm/gup.c: disabling interrupts "prevents the
    /// pagetable pages from being freed from under us") and about what the serializing IPIs
    /// wait for (entries converted under a walker); page lifetime is the job of the reference
    /// and the rechecks.
    pub fn hazards(self) -> Hazards {
        const TABLE: &[Guards] = &[
            Guards::FRAG_DEFER_ONCE,
            Guards::PTE_MAP_RCU,
            Guards::PTE_FREE_DEFER,
            Guards::COLLAPSE_SYNC_IPI,
            Guards::IRQ_OFF,
            Guards::TABLE_FREE_DEFER,
            Guards::REMOVE_TABLE_SYNC,
            // An exiting mm's pgd freed under a sync that found it; a VMA freed under a
            // speculative fault that found it.
            Guards::PGD_DTOR_LOCK,
            Guards::VMA_SRCU_FREE,
            Guards::TASK_LOCK_MM,
        ];
        const PAGE: &[Guards] = &[
            // The new page zapped and freed under the fault that still links its rmap.
            Guards::SPF_RMAP_LOCKED,
            Guards::PTE_RECHECK,
            Guards::GET_UNLESS_ZERO,
            Guards::FREE_AFTER_FLUSH,
        ];
        const ENTRY: &[Guards] = &[
            // What serialize_against_pte_lookup waits for (hash_page vs collapse).
            Guards::IRQ_OFF,
            Guards::PTE_RECHECK,
            Guards::READ_ONCE_PMD,
            Guards::PAGE_PTE_CHECK,
            Guards::SERIALIZE_PTE_LOOKUP,
            Guards::SPLITTING_IPI,
            Guards::SPLITTING_CHECK,
            Guards::SERIALIZING_CHECK,
            Guards::PMD_RECHECK,
            Guards::COLLAPSE_SYNC_IPI,
            // A pte written into a table a remover detached, or thrown away with it.
            Guards::PMD_SAME,
            Guards::RETRACT_RECHECK,
            Guards::RECLAIM_RECHECK,
            // A pmd read in two halves that belong to two different values.
            Guards::PMD_LOCKLESS_SYNC,
            Guards::PMD_LOCKLESS_IRQ_OFF,
            Guards::PTE_SAME,
            // A kernel entry the fork read as none, populated by the sync under it.
            Guards::PGD_CTOR_LOCK,
            Guards::INIT_LATE_AFTER_PUBLISH,
            Guards::INIT_LATE_MB,
            Guards::INIT_LATE_WMB,
            Guards::SYNC_FULL_BARRIER,
            // A VMA word the speculative fault read, changed by munmap or mprotect under it;
            // the pte lock the fault waits for held by a CPU that waits for its IPI answer.
            Guards::SPF_SEQ_RECHECK,
            Guards::SPF_TRYLOCK,
        ];
        let mut h = Hazards::empty();
        for (list, kind) in [
            (TABLE, Hazards::TABLE_FREED),
            (PAGE, Hazards::PAGE_FREED),
            (ENTRY, Hazards::ENTRY_CHANGED),
        ] {
            if list.iter().any(|g| self.contains(*g)) {
                h |= kind;
            }
        }
        h
    }

    /// The names of the guards in this set, in bit order (user bits as `user-guard-N`; a
    /// scenario's `guard_names` gives their declared names).
    pub fn names(self) -> Vec<&'static str> {
        self.each().map(|g| g.guard_name()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_guard_protects_against_some_hazard() {
        for g in Guards::all().iter() {
            assert!(!g.hazards().is_empty(), "{} has no hazard", g.guard_name());
        }
        assert_eq!(
            Guards::IRQ_OFF.hazards(),
            Hazards::TABLE_FREED | Hazards::ENTRY_CHANGED
        );
    }

    #[test]
    fn user_bits_are_apart_from_the_project_guards_and_named_one_by_one() {
        assert!((Guards::all() & Guards::USER).is_empty());
        let two = Guards::user(0) | Guards::user(15) | Guards::IRQ_OFF;
        assert_eq!(two.names(), ["irq-off", "user-guard-0", "user-guard-15"]);
        assert_eq!(two.each().count(), 3);
        // A user bit protects from nothing the project knows: its scenario says what.
        assert!(Guards::user(3).hazards().is_empty());
    }
}
