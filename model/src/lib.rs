//! # ptcheck-model: the shared page-table machine
//!
//! One model of the pieces every lockless page-table protocol is made of, shared by all
//! scenarios and arch policies:
//!
//! | concept | module | kernel |
//! |---|---|---|
//! | loom/shuttle facade | [`rt`] | — |
//! | one execution's machine, frames, oracles | [`world`] | page allocator, `struct page` |
//! | entry values and flag bits | [`entry`] | `pte_t`, `pmd_t`, `pte_present`, `pmd_trans_huge` |
//! | interrupts off | [`cpu`] | `local_irq_save/restore` |
//! | IPI broadcast with wait | [`ipi`] | `smp_call_function(_many)` |
//! | RCU and its flavours | [`rcu`] | `rcu_read_lock`, `synchronize_rcu`, `call_rcu(_sched)` |
//! | spinlocks | [`spinlock`] | `spin_lock`, `ptl`, `pgd_lock` |
//! | refcounts | [`page`] | `get_page_unless_zero`, `put_page` |
//! | compound pages, 2014 THP refcounting | [`compound`] | `get_huge_page_tail`, `__split_huge_page_refcount` |
//! | powerpc hash page table entries | [`hpte`] | `hash_page`, `flush_hash_table_pmd_range` |
//! | values each entry held; the torn / stale / misread oracles | [`history`] | — |
//! | memory-ordering mapping | [`ordering`] | `READ_ONCE`, `smp_mb`, `xchg`, ... |
//! | guards a variant switches off | [`guards`] | — |
//! | hazards a walker met (coverage witnesses, `vacuous`) | [`hazard`] | — |
//! | typed violations | [`violation`] | — |
//! | event trace | [`trace`] | — |
//! | frame and entry names, formatted when read | [`name`] | — |

pub mod compound;
pub mod cpu;
pub mod entry;
pub mod exec;
pub mod guards;
pub mod hazard;
pub mod history;
pub mod hpte;
pub mod ipi;
pub mod name;
pub mod ordering;
pub mod page;
pub mod rcu;
pub mod rt;
pub mod rwsem;
pub mod spinlock;
pub mod srcu;
pub mod trace;
pub mod violation;
pub mod world;

pub use entry::{Entry, EntryFlags, FrameId};
pub use guards::Guards;
pub use hazard::{Hazards, Witnesses};
pub use history::Meaning;
pub use ipi::IpiTargets;
pub use name::{FrameName, Shown};
pub use rcu::RcuFlavour;
pub use trace::{Actor, EntryAccess, Event, SyncStep, What};
pub use violation::{Violation, ViolationKind};
pub use world::{
    run_cpus, Choice, Cost, Ctx, Level, PageWord, Picked, Program, World, WorldBuilder,
};
