//! **speculative page fault vs munmap / mprotect** (`../shared/seeds/speculative-page-faults-2017.txt`):
//! CPU0 takes a write fault on an anonymous page with `handle_speculative_fault` (no
//! `mmap_sem`), falling back to the classic fault under `mmap_sem` on any detected change;
//! CPU1 changes the VMA or holds the pte lock.
//!
//! Initial state: one anonymous VMA (read/write, `anon_vma` set, linked in `mm->mm_rb`,
//! `vm_sequence` 0) over a pte table PT whose entry 0 (the faulting address) is none and whose
//! entry 1 maps page B; the fault's new page A is allocated.
//!
//! CPU1 runs one of three paths, a data choice:
//! - default: `do_munmap` of the VMA (unlinked from `mm_rb`, its ptes zapped inside
//!   `vm_write_begin/end`, the anon_vma and the pte table freed, the VMA freed through
//!   `call_srcu`);
//! - writer alternative 1: `mprotect(PROT_READ)` (`vm_flags` without `VM_WRITE` inside
//!   `vm_write_begin/end`, ptes write-protected under the pte lock, TLB flush);
//! - writer alternative 2: reclaim's `try_to_unmap_one` of page B, holding the pte lock across
//!   `ptep_clear_flush`, whose flush is an IPI on IPI policies.
//!
//! What must hold: no use-after-free of the VMA, the anon_vma, the pte table or the page; once
//! both CPUs are done, no present pte outside a live VMA or granting an access its VMA does not
//! (`bad-pte`); no deadlock (reported with both CPUs' positions); no leak.
//!
//! Two CPUs and the SRCU callback runner (and RCU table freeing on RCU policies): loom at
//! preemption bound 2 in the gate. Measured on one core: bound 2, 128 cells in 24.8 s (1.0 M
//! executions); bound 3, the same 128 verdicts in 412 s (14.9 M executions), beyond the gate's
//! budget (`--deep` runs bound 4); exhaustive did not finish the x86-v6.14 `correct` cell in 83 s
//! (3.6 M executions).

use crate::kernel::spf::{
    do_munmap, do_page_fault_classic, handle_speculative_fault, mprotect_read_only,
    try_to_unmap_one, SpfMm, ANON_VMA, FAULT_PAGE, VMA_WORDS, VM_END, VM_FLAGS, VM_RB, VM_READ,
    VM_SEQUENCE, VM_START, VM_WRITE,
};
use crate::kernel::{Addr, Mm};
use crate::scenario::{Applies, GuardDoc, Scenario, Setup, Variant};
use ptcheck_model::rwsem::RwSem;
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::srcu::Srcu;
use ptcheck_model::{
    run_cpus, Choice, Ctx, Entry, EntryFlags, Guards, Level, PageWord, Program, Violation,
};
use std::sync::Arc;

/// Data choice: what CPU1 runs.
pub const WRITER: Choice = Choice {
    name: "writer",
    options: &[
        "do_munmap",
        "mprotect(PROT_READ)",
        "try_to_unmap_one (pte lock held across the flush IPI)",
    ],
};

const GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::VMA_SRCU_FREE,
        step: "remove_vma frees the VMA with call_srcu(&vma_srcu, ...) (the series' \"mm: VMA \
               sequence count\" / SRCU patches)",
        why: "the speculative fault finds the VMA under srcu_read_lock without mmap_sem; freed at \
              once, the VMA it still reads (vm_sequence, vm_flags, anon_vma) is gone",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::SPF_SEQ_RECHECK,
        step: "vma_has_changed() again after spin_trylock(ptl) in pte_map_lock",
        why: "a munmap or mprotect that changed the VMA after the first check but before the \
              lock was taken: without the recheck the pte goes into a table munmap detached, or \
              with the write permission mprotect removed",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::SPF_TRYLOCK,
        step: "spin_trylock(ptl) instead of spin_lock in pte_map_lock (interrupts off)",
        why: "a CPU holding the pte lock may wait for this CPU to answer a TLB-flush IPI; a \
              blocking spin_lock with interrupts off waits for it in turn: a deadlock (the \
              cover letter's reason for the trylock). Only where the flush is an IPI",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::SPF_RMAP_LOCKED,
        step: "page_add_new_anon_rmap (vma->anon_vma) under the pte lock, inside the \
               sequence-count window (\"Protect SPF handler against anon_vma changes\")",
        why: "the anon_vma is freed by munmap's free_pgtables after its zap took the pte lock: \
              read after pte_unmap_unlock, the zap has run, the new page is freed, and the rmap \
              update writes page->mapping of a freed page (pointing to a freed anon_vma)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::TABLE_FREE_DEFER,
        step: "free_pgtables hands the pte table to the mmu_gather (pte_free_tlb: freed after the \
               flush, or through RCU), not pte_free at once",
        why: "the speculative fault walks pgd .. pte with interrupts off and no lock: \"having \
              IRQs disabled ensures they stay around\" holds only while tables are freed after \
              the IPI flush or a grace period",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::REMOVE_TABLE_SYNC,
        step: "tlb_remove_table_one synchronises (IPI or synchronize_rcu) before freeing a table \
               when no batch page can be allocated",
        why: "the same irq-off walk, on policies that free tables through RCU",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::FREE_AFTER_FLUSH,
        step: "tlb_flush_mmu: flush before freeing the zapped pages",
        why: "a page must not reach the allocator while a CPU can still reach it through a stale \
              TLB entry",
        redundant: Some(
            "the faulting CPU holds no reference to the pages munmap frees and the model has no \
             TLBs; the order protects CPUs using stale TLB entries (as in gup-fast-vs-munmap, \
             where gup_fast's rechecks cover it)",
        ),
    },
];

const VARIANTS: &[Variant] = &[
    Variant {
        name: "correct",
        about: "the series' v3: SRCU-freed VMAs, vma_has_changed after the trylock, rmap under \
                the pte lock",
        off: Guards::empty(),
    },
    Variant {
        name: "vma-freed-at-once",
        about: "remove_vma frees the VMA without waiting for SRCU readers",
        off: Guards::VMA_SRCU_FREE,
    },
    Variant {
        name: "no-seq-recheck",
        about: "pte_map_lock does not recheck the sequence count once it holds the pte lock",
        off: Guards::SPF_SEQ_RECHECK,
    },
    Variant {
        name: "spin-lock",
        about: "pte_map_lock takes the pte lock with spin_lock, interrupts off (Peter \
                Zijlstra's 2010 RFC)",
        off: Guards::SPF_TRYLOCK,
    },
    Variant {
        name: "rmap-after-unlock",
        about: "page_add_new_anon_rmap reads vma->anon_vma after pte_unmap_unlock, outside the \
                sequence-count window",
        off: Guards::SPF_RMAP_LOCKED,
    },
    Variant {
        name: "tables-freed-at-once",
        about: "munmap frees the pte table with pte_free, no deferral",
        off: Guards::TABLE_FREE_DEFER,
    },
    Variant {
        name: "no-remove-table-sync",
        about: "tlb_remove_table_one frees without synchronising when the batch allocation fails",
        off: Guards::REMOVE_TABLE_SYNC,
    },
    Variant {
        name: "free-pages-before-flush",
        about: "zap frees the pages before the TLB flush",
        off: Guards::FREE_AFTER_FLUSH,
    },
];

/// The scenario value.
pub const SPECULATIVE_FAULT: Scenario = Scenario {
    name: "speculative-fault-vs-munmap",
    about: "a speculative page fault (no mmap_sem, SRCU VMA lookup, sequence count, \
            spin_trylock) vs munmap, mprotect, or a pte-lock holder's flush IPI",
    source: "speculative-page-faults-2017.txt",
    cpus: &[
        "CPU0: handle_speculative_fault (find_vma_srcu, vm_sequence, irq-off walk, \
         do_anonymous_page with pte_map_lock), falling back to the classic fault under \
         mmap_sem",
        "CPU1: do_munmap, mprotect(PROT_READ), or try_to_unmap_one holding the pte lock \
         across its flush",
    ],
    guards: GUARDS,
    absent: &[],
    variants: VARIANTS,
    loom_bound: Some(2),
    run,
    applies: Applies::EVERY_POLICY,
    own_guards: &[],
    findings: &[],
};

fn run(s: &Setup) {
    // page_add_new_anon_rmap sets page->mapping.
    let mut b = s.world(2).page_words(PageWord::MAPPING);
    let writer = b.pick(WRITER);
    let pgd = b.table(Level::Pgd, 1);
    let pmd = b.table(Level::Pmd, 1);
    let pt = b.table(Level::Pte, 2);
    let page_a = b.data_page(1);
    let page_b = b.data_page(1);
    let mm_rb = b.object("mm->mm_rb", 1);
    let vma = b.object_with_fields(
        "VMA",
        VMA_WORDS,
        &[VM_SEQUENCE, VM_FLAGS, VM_RB, VM_START, VM_END],
    );
    let anon_vma = b.object("anon_vma", 1);
    b.set(pgd, 0, Entry::table(pmd));
    b.set(pmd, 0, Entry::table(pt));
    b.set(pt, 1, Entry::leaf(page_b, 0, EntryFlags::WRITE));
    b.set(mm_rb, 0, Entry::table(vma));
    b.set_field(vma, VM_FLAGS, VM_READ | VM_WRITE);
    b.set_field(vma, VM_RB, 1);
    b.set_field(vma, VM_START, FAULT_PAGE);
    b.set_field(vma, VM_END, FAULT_PAGE + 2);
    b.set(vma, ANON_VMA, Entry::table(anon_vma));
    let w = b.build();
    w.cost(|k| k.spf_counted = true);
    let policy = *s.policy;
    let m = Arc::new(SpfMm {
        mm: Mm::new(pgd, s.policy),
        pmd,
        pt,
        mm_rb,
        vma,
        anon_vma,
        mmap_sem: RwSem::new("mmap_sem"),
        ptl: SpinLock::trylockable("ptl"),
        vma_srcu: Arc::new(Srcu::new("vma_srcu", 2)),
        seq_written: std::sync::atomic::AtomicU64::new(0),
    });
    let (m0, m1) = (m.clone(), m.clone());
    let a = Addr::FIRST;
    let progs: Vec<Program> = vec![
        Box::new(move |c: &Ctx| {
            if handle_speculative_fault(c, &m0, a, page_a).is_err() {
                c.world.cost(|k| k.spf_fallbacks += 1);
                do_page_fault_classic(c, &m0, a, page_a);
            }
        }),
        Box::new(move |c: &Ctx| match writer {
            0 => do_munmap(c, &policy, &m1, 2),
            1 => mprotect_read_only(c, &policy, &m1, 2),
            _ => try_to_unmap_one(c, &policy, &m1, 1),
        }),
    ];
    run_cpus(&w, progs);
    // Every present pte in a table still linked lies in a live VMA and grants no more than it.
    if w.final_entry(pmd, 0).is_table() {
        let live = w.final_entry(mm_rb, 0).is_table() && !w.is_freed(vma) && {
            w.final_entry(vma, VM_RB).0 == 1
        };
        let flags = if live {
            w.final_entry(vma, VM_FLAGS).0
        } else {
            0
        };
        for slot in 0..2 {
            let e = w.final_entry(pt, slot);
            if !e.is_present() {
                continue;
            }
            let why = if !live {
                Some("no live VMA covers it (munmap removed the VMA)")
            } else if e.flags().contains(EntryFlags::WRITE) && flags & VM_WRITE == 0 {
                Some("it is writable and its VMA is read-only (mprotect)")
            } else {
                None
            };
            if let Some(why) = why {
                ptcheck_model::violation::raise(Violation::BadPte {
                    detail: format!(
                        "both CPUs are done and {}[{slot}] = {}: {why}",
                        w.name(pt),
                        w.show(e)
                    ),
                });
            }
        }
    }
    w.check_no_leak(&[pgd, mm_rb]);
}
