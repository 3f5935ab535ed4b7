//! **gup_fast vs munmap**: a lockless `__get_user_pages_fast` on one CPU while another CPU
//! unmaps the range and frees its page tables (`../shared/seeds/arm-arm64-rcu-gup-fast-2014.txt`).
//!
//! Initial state: `mm->pgd` (PGD#0) -> PMD#1 -> PT#2 -> page A (refcount 1: the mapping).
//! Both CPUs run threads of the same process (`mm_users` = 2, so `tlb_remove_table` takes the
//! batched path, not the single-user shortcut of the 2014 code).
//!
//! - CPU0: `__get_user_pages_fast` of the page, then the caller drops its reference.
//! - CPU1: `unmap_region` (zap the pte, free PT#2 and PMD#1 through the policy's mmu_gather).
//!
//! Whoever frees page A (the last `put_page`) hands it to the allocator, which gives it to
//! another user in the next step (`alloc_pages`): a freed page is reused at once on a busy
//! machine, which is what makes a stale pin dangerous.
//!
//! What must hold: no access to a freed table (or one whose free is not ordered after the
//! access); no page returned pinned that was freed after the pte it came from was written; no
//! leaked table or unbalanced refcount at the end.

use crate::kernel::gup_fast::{get_user_pages_fast, use_and_release};
use crate::kernel::munmap::unmap_region;
use crate::kernel::{Addr, Mm};
use crate::scenario::{Absent, Applies, GuardDoc, Scenario, Setup, Variant};
use ptcheck_model::{run_cpus, Ctx, Entry, EntryFlags, Guards, Level, Program};

/// The guards of gup_fast vs munmap (public: a scenario built on the same two paths reuses them).
pub const GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::IRQ_OFF,
        step: "local_irq_save() in __get_user_pages_fast",
        why: "holds off the IPI of a TLB shootdown and RCU-sched grace periods, so page tables \
              cannot be freed under the walk",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PTE_RECHECK,
        step: "pte_val(pte) != pte_val(*ptep) after page_cache_get_speculative in gup_pte_range",
        why: "where pages are freed without waiting for the walker (no IPI flush), the page may \
              have been freed and reused between the pte read and the reference; redundant under \
              an IPI shootdown (x86), where the free waits for the walker's irq-off section",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::GET_UNLESS_ZERO,
        step: "page_cache_get_speculative (get_page_unless_zero) in gup_pte_range",
        why: "a plain get_page on a page whose count already reached zero resurrects a freed page; \
              redundant under an IPI shootdown (x86)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::TABLE_FREE_DEFER,
        step: "pte_free_tlb / pmd_free_tlb through the mmu_gather (tlb_remove_page or tlb_remove_table)",
        why: "a table freed as soon as it is unlinked can still be under the walker",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::REMOVE_TABLE_SYNC,
        step: "tlb_remove_table_sync_one / synchronize_rcu in tlb_remove_table_one",
        why: "without a batch page the table is freed at once; the sync waits for walkers. \
              Not used on policies that free tables after an IPI flush (x86)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::FREE_AFTER_FLUSH,
        step: "tlb_flush_mmu: tlb_flush before free_pages_and_swap_cache",
        why: "a page must not reach the allocator while another CPU can still reach it through a \
              stale TLB entry",
        redundant: Some(
            "gup_fast does not use the TLB: its pte recheck and get_page_unless_zero already \
             reject a page freed before the flush. The order protects CPUs still accessing the \
             page through stale TLB entries, which this model has no TLBs for. On x86 it is what \
             makes those two guards redundant: without it, either one is needed again (pairs)",
        ),
    },
];

/// The variants: each guard switched off alone.
pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "correct",
        about: "the protocol as merged",
        off: Guards::empty(),
    },
    Variant {
        name: "no-irq-off",
        about: "gup_fast walks without local_irq_save",
        off: Guards::IRQ_OFF,
    },
    Variant {
        name: "no-pte-recheck",
        about: "gup_pte_range keeps the page without rechecking the pte",
        off: Guards::PTE_RECHECK,
    },
    Variant {
        name: "plain-get-page",
        about: "get_page instead of page_cache_get_speculative",
        off: Guards::GET_UNLESS_ZERO,
    },
    Variant {
        name: "tables-freed-at-once",
        about: "pte_free/pmd_free right after pmd_clear/pud_clear, not via the mmu_gather",
        off: Guards::TABLE_FREE_DEFER,
    },
    Variant {
        name: "free-pages-before-flush",
        about: "zap frees the data page at tlb_remove_page, before the TLB flush",
        off: Guards::FREE_AFTER_FLUSH,
    },
    Variant {
        name: "no-remove-table-sync",
        about: "tlb_remove_table_one frees without the IPI / grace period",
        off: Guards::REMOVE_TABLE_SYNC,
    },
];

/// The scenario value.
pub const GUP_FAST_MUNMAP: Scenario = Scenario {
    name: "gup-fast-vs-munmap",
    about: "gup_fast walks and pins a page while another CPU munmaps it and frees its tables",
    source: "arm-arm64-rcu-gup-fast-2014.txt",
    cpus: &[
        "CPU0: __get_user_pages_fast (irq-off walk, speculative ref, pte recheck)",
        "CPU1: unmap_region (zap_pte_range, free_pgtables, tlb_finish_mmu)",
    ],
    guards: GUARDS,
    absent: &[
        Absent {
            guard: Guards::PMD_RECHECK,
            why: "the 2014 walker of the seed: gup_pte_range rechecks the pte only (the pmd \
                  recheck came with v6.1, against khugepaged's collapse, which this scenario \
                  does not run)",
        },
        Absent {
            guard: Guards::SPLITTING_CHECK,
            why: "gup_pmd_range's pmd_trans_splitting test: nothing splits a huge pmd here (the \
                  range is mapped by a pte table); see thp-split-vs-gup-fast",
        },
    ],
    variants: VARIANTS,
    loom_bound: None,
    run,
    applies: Applies::EVERY_POLICY,
    own_guards: &[],
    findings: &[],
};

/// The same race with a second gup_fast CPU: three CPUs (plus the RCU callback runner on
/// RCU policies), which loom cannot explore exhaustively in gate time; explored at preemption
/// bound 3 (DESIGN.md §2 calibration: some bugs need two preemptions, bound 1 can miss them;
/// 112 cells, 5.2 M executions, 72 s on one core of the 2-core machine) and by shuttle;
/// `check --deep` takes bound 4.
pub const GUP_FAST_MUNMAP_2W: Scenario = Scenario {
    name: "gup-fast-vs-munmap-2w",
    about: "gup-fast-vs-munmap with two gup_fast CPUs against the munmap",
    cpus: &[
        "CPU0: __get_user_pages_fast",
        "CPU1: unmap_region",
        "CPU2: __get_user_pages_fast",
    ],
    loom_bound: Some(3),
    run: run_2w,
    ..GUP_FAST_MUNMAP
};

fn run(s: &Setup) {
    run_with(s, 1)
}

fn run_2w(s: &Setup) {
    run_with(s, 2)
}

/// CPU1 unmaps; every other CPU (`walkers` of them) runs gup_fast on the page.
fn run_with(s: &Setup, walkers: usize) {
    let mut b = s.world(walkers + 1).reuse_freed_pages();
    let pgd = b.table(Level::Pgd, 1);
    let pmd = b.table(Level::Pmd, 1);
    let pt = b.table(Level::Pte, 1);
    let page = b.data_page(1);
    b.set(pgd, 0, Entry::table(pmd));
    b.set(pmd, 0, Entry::table(pt));
    b.set(pt, 0, Entry::leaf(page, 0, EntryFlags::WRITE));
    let w = b.build();
    let mm = Mm::new(pgd, s.policy);
    let a = Addr::FIRST;
    let policy = *s.policy;
    let walker = || -> Program {
        Box::new(move |c: &Ctx| {
            let r = get_user_pages_fast(c, mm, a);
            use_and_release(c, r);
        })
    };
    let mut progs: Vec<Program> = vec![
        walker(),
        Box::new(move |c: &Ctx| unmap_region(c, &policy, mm, a)),
    ];
    progs.extend((1..walkers).map(|_| walker()));
    run_cpus(&w, progs);
    w.check_no_leak(&[pgd]);
}
