//! The baseline of `ptcheck bench --baseline`: gup_fast vs munmap written by hand against raw
//! loom and raw shuttle, with none of ptcheck's model (no world, trace, shadow, oracles beyond
//! two asserts). It is the yardstick for ptcheck's cost per execution: the same protocol as
//! the cell `gup-fast-vs-munmap/x86-v6.14/correct`, with the same shared locations, the same
//! memory orderings and the same scheduling points:
//!
//! - CPU0, `__get_user_pages_fast`: `local_irq_save` (the CPU's irq lock), `READ_ONCE` of the
//!   pgd, pmd and pte entries, `get_page_unless_zero` (a compare-exchange loop on the page's
//!   refcount), the pte recheck (`put_page` on a change), `local_irq_restore`, then the caller's
//!   use and `put_page`.
//! - CPU1, `unmap_region`: `ptep_get_and_clear_full` (a full exchange), `pmd_clear` and
//!   `pud_clear`, `flush_tlb_mm` (the IPI: wait until CPU0's interrupts are on), then the
//!   tables' and the page's frees (tables: a poison store; the page: `put_page`).
//!
//! The two asserts are the use-after-free (a walker reads a poisoned entry) and the pin of a
//! freed page (a reference taken on a count of zero) oracles.

/// The entry value a freed table holds.
const POISON: u64 = u64::MAX;
/// A present entry (the value is irrelevant beyond being neither none nor poison).
const PRESENT: u64 = 1;

macro_rules! hand_model {
    ($name:ident, $atomic:path, $mutex:path, $spawn:path, $fence:path) => {
        pub mod $name {
            use super::{POISON, PRESENT};
            use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
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

            fn put_page(s: &State) {
                let old = s.refcount.fetch_sub(1, AcqRel);
                assert!(old >= 1, "put_page of a freed page");
            }

            fn gup_fast(s: &State) {
                let irq = s.irq0.lock().unwrap();
                let mut pinned = false;
                'walk: {
                    let pgd = s.pgd.load(Relaxed);
                    assert_ne!(pgd, POISON, "use-after-free of the pgd entry's table");
                    if pgd == 0 {
                        break 'walk;
                    }
                    let pmd = s.pmd.load(Relaxed);
                    assert_ne!(pmd, POISON, "use-after-free of the pmd table");
                    if pmd == 0 {
                        break 'walk;
                    }
                    let pte = s.pte.load(Relaxed);
                    assert_ne!(pte, POISON, "use-after-free of the pte table");
                    if pte == 0 {
                        break 'walk;
                    }
                    // get_page_unless_zero
                    let mut c = s.refcount.load(Relaxed);
                    loop {
                        if c == 0 {
                            break 'walk;
                        }
                        match s.refcount.compare_exchange(c, c + 1, SeqCst, Relaxed) {
                            Ok(_) => break,
                            Err(now) => c = now,
                        }
                    }
                    let again = s.pte.load(Relaxed);
                    assert_ne!(again, POISON, "use-after-free of the pte table");
                    if again != pte {
                        put_page(s);
                        break 'walk;
                    }
                    pinned = true;
                }
                drop(irq);
                if pinned {
                    put_page(s);
                }
            }

            fn unmap_region(s: &State) {
                $fence(SeqCst);
                let old = s.pte.swap(0, Relaxed);
                $fence(SeqCst);
                s.pmd.store(0, Release);
                s.pgd.store(0, Release);
                // flush_tlb_mm: the IPI waits for CPU0's interrupts to be on.
                drop(s.irq0.lock().unwrap());
                // free_pgtables after the flush: the allocator writes the freed tables.
                s.pte.store(POISON, Release);
                s.pmd.store(POISON, Release);
                if old == PRESENT {
                    put_page(s);
                }
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
                gup_fast(&s);
                h.join().unwrap();
                assert_eq!(s.refcount.load(Acquire), 0, "page leaked");
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
