//! # ptcheck-scenarios
//!
//! Each scenario is a value ([`Scenario`]): its CPU programs written with the kernel paths of
//! [`kernel`], its guards and variants, and its final-state oracle. [`ALL`] is the registry the
//! matrix, the CLI and the gate read.

pub mod gup_fast_munmap;
pub mod kernel;
pub mod pgd_alloc_sync;
pub mod pmd_clear_walk;
pub mod pte_free_defer_retract;
pub mod scenario;
pub mod speculative_fault;
pub mod thp_split_gup_fast;

pub use scenario::{Absent, Applies, FindingDoc, GuardDoc, OwnGuard, Scenario, Setup, Variant};

/// Every scenario, in matrix order.
pub const ALL: &[Scenario] = &[
    gup_fast_munmap::GUP_FAST_MUNMAP_2W,
    gup_fast_munmap::GUP_FAST_MUNMAP,
    pmd_clear_walk::PMD_CLEAR_WALK,
    thp_split_gup_fast::THP_SPLIT_GUP_FAST,
    pte_free_defer_retract::PTE_FREE_DEFER_RETRACT,
    pgd_alloc_sync::PGD_ALLOC_SYNC,
    pgd_alloc_sync::PGD_ALLOC_LOCKLESS,
    speculative_fault::SPECULATIVE_FAULT,
];

/// Look a scenario up by name.
pub fn by_name(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}
