//! The baseline of `ptcheck bench --baseline`: gup_fast vs munmap written by hand against raw
//! loom and raw shuttle, with none of ptcheck's model (no world, trace, shadow, oracles beyond
//! a few asserts). It is the yardstick for ptcheck's cost per execution, so it makes exactly the
//! shared-memory operations the cell `gup-fast-vs-munmap/x86-v6.14/correct` makes, in the same
//! order, on the same locations, with the same orderings (`ptcheck_model::ordering`):
//!
//! - CPU0, `__get_user_pages_fast`: `local_irq_save` (the CPU's irq lock), the pgd and pmd
//!   entries loaded with acquire (a table pointer then dereferenced), the pte with relaxed
//!   (`READ_ONCE`), `get_page_unless_zero` (one RMW, then `smp_mb()` when it succeeds), the
//!   pmd and pte rechecks (relaxed), `local_irq_restore`; then the caller's `put_page`.
//! - CPU1, `unmap_region`: `unmap_vmas` walks to the pte (two acquire loads), `zap_pte_range`'s
//!   `ptep_get_and_clear_full` (a fully ordered exchange), `free_pgtables`' `pmd_clear` and
//!   `pud_clear` (relaxed stores), `tlb_finish_mmu`: `flush_tlb_mm` (the IPI: take and release
//!   CPU0's irq lock), then the gathered page (`put_page`) and tables (the allocator's poison
//!   store) in gather order.
//! - `put_page` is a fully ordered RMW (`smp_mb()`; relaxed decrement; `smp_mb()`); the last
//!   one frees the page, and the allocator hands it to another user at once (a
//!   compare-exchange of the count from 0 to 1, acquire), as `reuse_freed_pages` does.
//! - The final-state oracle reads the pgd entry and the page's count (acquire).
//!
//! What it leaves out is ptcheck's: the trace, the shadow bookkeeping, the hazard witnesses,
//! the epochs per frame of the unordered-free oracle, the struct page words this protocol
//! does not use. A unit test of `crate::bench` checks that loom explores exactly as many executions of it
//! as of the cell, so the two make the same scheduling points.
//!
//! The asserts are the use-after-free (a walker reads a poisoned entry), put-of-a-freed-page
//! and final-refcount oracles.

/// The entry value a freed table holds.
const POISON: u64 = u64::MAX;
/// A present entry (the value is irrelevant beyond being neither none nor poison).
const PRESENT: u64 = 1;

macro_rules! hand_model {
    ($name:ident, $atomic:path, $mutex:path, $spawn:path, $fence:path) => {
        pub mod $name {
            use super::{POISON, PRESENT};
            use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, SeqCst};
            use std::sync::Arc;
            use $atomic as AtomicU64;
            use $mutex as Mutex;

            struct State {
                pgd: AtomicU64,
                pmd: AtomicU64,
                pte: AtomicU64,
                refcount: AtomicU64,
                irq0: Mutex<()>,
            }

            /// `put_page`: a fully ordered decrement; the last one frees the page and the
            /// allocator reallocates it at once.
            fn put_page(s: &State) {
                $fence(SeqCst);
                let old = s.refcount.fetch_sub(1, Relaxed);
                $fence(SeqCst);
                assert!(old >= 1, "put_page of a freed page");
                if old == 1 {
                    let _ = s.refcount.compare_exchange(0, 1, Acquire, Relaxed);
                }
            }

            fn load(e: &AtomicU64, o: std::sync::atomic::Ordering) -> u64 {
                let v = e.load(o);
                assert_ne!(v, POISON, "use-after-free of a page table");
                v
            }

            fn gup_fast(s: &State) -> bool {
                let irq = s.irq0.lock().unwrap();
                let mut pinned = false;
                'walk: {
                    if load(&s.pgd, Acquire) == 0 {
                        break 'walk;
                    }
                    let pmd = load(&s.pmd, Acquire);
                    if pmd == 0 {
                        break 'walk;
                    }
                    let pte = load(&s.pte, Relaxed);
                    if pte == 0 {
                        break 'walk;
                    }
                    // get_page_unless_zero
                    let r = s
                        .refcount
                        .fetch_update(AcqRel, Relaxed, |c| (c != 0).then_some(c + 1));
                    if r.is_err() {
                        break 'walk;
                    }
                    $fence(SeqCst);
                    if load(&s.pte, Relaxed) != pte {
                        put_page(s);
                        break 'walk;
                    }
                    pinned = true;
                }
                drop(irq);
                pinned
            }

            fn unmap_region(s: &State) {
                // unmap_vmas
                let _ = load(&s.pgd, Acquire);
                let _ = load(&s.pmd, Acquire);
                // zap_pte_range: ptep_get_and_clear_full
                $fence(SeqCst);
                let old = s.pte.swap(0, Relaxed);
                $fence(SeqCst);
                // free_pgtables
                s.pmd.store(0, Relaxed);
                s.pgd.store(0, Relaxed);
                // tlb_finish_mmu: flush_tlb_mm (the IPI waits for CPU0's interrupts to be on),
                // then the gathered page and tables.
                drop(s.irq0.lock().unwrap());
                if old == PRESENT {
                    put_page(s);
                }
                s.pte.store(POISON, Relaxed);
                s.pmd.store(POISON, Relaxed);
            }

            /// One execution: CPU1 spawned, CPU0 on the calling thread.
            pub fn execution() {
                let s = Arc::new(State {
                    pgd: AtomicU64::new(PRESENT),
                    pmd: AtomicU64::new(PRESENT),
                    pte: AtomicU64::new(PRESENT),
                    refcount: AtomicU64::new(1),
                    irq0: Mutex::new(()),
                });
                let s1 = s.clone();
                let h = $spawn(move || unmap_region(&s1));
                if gup_fast(&s) {
                    put_page(&s);
                }
                h.join().unwrap();
                assert_eq!(s.pgd.load(Acquire), 0, "pgd entry left set");
                assert_eq!(s.refcount.load(Acquire), 1, "page leaked or freed twice");
            }
        }
    };
}

hand_model!(
    loom_model,
    loom::sync::atomic::AtomicU64,
    loom::sync::Mutex,
    loom::thread::spawn,
    loom::sync::atomic::fence
);
hand_model!(
    shuttle_model,
    shuttle::sync::atomic::AtomicU64,
    shuttle::sync::Mutex,
    shuttle::thread::spawn,
    shuttle::sync::atomic::fence
);
