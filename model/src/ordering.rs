//! How kernel accessors map onto the explorers' memory orderings (DESIGN.md §3).
//!
//! | kernel | model | why |
//! |---|---|---|
//! | `READ_ONCE(x)` | `load(Relaxed)` | a single untorn load, no ordering |
//! | `READ_ONCE` of a table pointer that is then dereferenced (`pXd_offset_lockless`, `pte_offset_map`) | `load(Acquire)` | the kernel relies on the address dependency; loom has no consume, acquire is its closest sound stand-in |
//! | `WRITE_ONCE(x, v)`, `set_pte_at`, `set_pmd_at`, `pXd_clear` | `store(Relaxed)` | a single untorn store |
//! | `pmd_populate` / `pud_populate` after the new table is initialised (`pmd_install`: `smp_wmb()` first) | `store(Release)` | `smp_wmb` + store publishes the table's contents |
//! | `smp_mb()` | `fence(SeqCst)` | loom models SeqCst *fences* correctly, SeqCst *accesses* not (DESIGN.md §2) |
//! | `smp_rmb()` | `fence(Acquire)` | orders earlier loads before later loads |
//! | `smp_wmb()` | `fence(Release)` | orders earlier stores before later stores |
//! | `smp_load_acquire` / `smp_store_release` | `load(Acquire)` / `store(Release)` | |
//! | `rcu_dereference` / `rcu_assign_pointer` | `load(Acquire)` / `store(Release)` | consume modelled as acquire |
//! | `xchg`, `cmpxchg`, `atomic_inc_not_zero`, `atomic_dec_and_test` (fully ordered RMWs: `ptep_get_and_clear` on x86, `pmdp_huge_get_and_clear`, `get_page_unless_zero`, `put_page`) | `fence(SeqCst)`; RMW(Relaxed); `fence(SeqCst)` | a fully ordered RMW is an `smp_mb()` on each side |
//! | `xchg_relaxed` (arm64 `__ptep_get_and_clear`) | RMW(Relaxed) | |
//! | `spin_lock` / `spin_unlock` | mutex lock (acquire) / unlock (release) | |
//! | `local_irq_disable` / `local_irq_enable` | the CPU's irq lock: acquire / release | see [`crate::cpu`] |
//! | `smp_call_function(.., wait=1)` | take and release every target's irq lock | full barrier both ways, [`crate::ipi`] |
//! | `rcu_read_lock` / `rcu_read_unlock` | the CPU's rcu lock | [`crate::rcu`] |
//! | `synchronize_rcu` / `call_rcu` | take and release the readers' locks of the flavour | [`crate::rcu`] |
//!
//! The functions below name the table's rows so that scenario code reads like the kernel.

pub use crate::rt::Ordering;

/// `READ_ONCE` / `WRITE_ONCE`.
pub const ONCE: Ordering = Ordering::Relaxed;
/// A table pointer loaded and then dereferenced (address dependency).
pub const DEP: Ordering = Ordering::Acquire;
/// `smp_wmb()` followed by the publishing store (`pmd_populate` after `pmd_install`'s barrier).
pub const PUBLISH: Ordering = Ordering::Release;

/// `smp_mb()`.
pub fn smp_mb() {
    crate::rt::fence(Ordering::SeqCst)
}

/// `smp_rmb()`.
pub fn smp_rmb() {
    crate::rt::fence(Ordering::Acquire)
}

/// `smp_wmb()`.
pub fn smp_wmb() {
    crate::rt::fence(Ordering::Release)
}
