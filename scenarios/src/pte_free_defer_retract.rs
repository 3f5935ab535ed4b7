//! Scenario: `pte_free_defer` vs khugepaged's `retract_page_tables` (the 2023 seed, "mm: free
//! retracted page table by RCU"), and the two other removers of a pte table that today's
//! `pte_offset_map*` walkers meet: `collapse_pte_mapped_thp` under `mmap_read_lock`, and empty
//! pte-table reclaim in `zap_pte_range` (v6.14).
//!
//! One pte table hangs off the pmd. CPU0 runs a walker (a data choice): `pte_offset_map`
//! that only reads, a write fault that installs a pte through `pte_offset_map_lock`, a write
//! fault on the present pte through `pte_offset_map_rw_nolock` (`handle_pte_fault`: its
//! `pte_same` recheck under the ptl instead of a pmd recheck), or gup_fast for comparison. CPU1 runs a remover (a data choice): `retract_page_tables` (the
//! table is empty: `collapse_file` unmapped the small pages and holds the huge folio locked),
//! `collapse_pte_mapped_thp` (the table maps a page of the huge folio, which is then mapped by
//! pmd), or `zap_pte_range` reclaiming the table it emptied (only where tables are freed
//! through RCU: `PT_RECLAIM` depends on it).
//!
//! On a fragment policy (powerpc), the file is mapped twice in the mm and the second VMA's table
//! is the other fragment of the first table's page: retract defers both.
//!
//! What must hold: no walker touches a freed table; no pte is written into a table that was
//! taken out of the tree, and no remover takes out a table that still holds one (both: lost
//! update); no page is pinned after its free; nothing leaks.

use crate::kernel::gup_fast::{get_user_pages_fast, use_and_release};
use crate::kernel::khugepaged::{
    collapse_pte_mapped_thp, retract_page_tables, HugeFolio, RangeLocks,
};
use crate::kernel::memory::{
    do_anonymous_page, handle_pte_fault, mfill_atomic_install_pte, pte_alloc,
};
use crate::kernel::pgtable_frag::FragPage;
use crate::kernel::pgtable_generic::{pte_offset_map, pte_unmap};
use crate::kernel::pt_reclaim::zap_pte_range_reclaim;
use crate::kernel::{Addr, Mm, Vma};
use crate::scenario::{Absent, Applies, GuardDoc, Scenario, Setup, Variant};
use ptcheck_arch::policy::TableFree;
use ptcheck_model::ordering::ONCE;
use ptcheck_model::{run_cpus, Choice, Ctx, Entry, EntryFlags, Guards, Level, Program};
use std::sync::Arc;

/// Data choice: which walker CPU0 runs.
/// The installer is `do_anonymous_page` against the reclaim (an anonymous VMA), and
/// `UFFDIO_COPY` into a private file VMA against khugepaged (the one installer that does not wait
/// for the locked huge folio; the VMA is then registered with userfaultfd).
pub const WALKER: Choice = Choice {
    name: "walker",
    options: &[
        "pte_offset_map (a reader: ptep_get, pte_unmap)",
        "a pte installer (pte_offset_map_lock, set_pte)",
        "__get_user_pages_fast",
        "a write fault on the present pte (handle_pte_fault: pte_offset_map_rw_nolock, pte_same)",
    ],
};

/// Data choice: which remover CPU1 runs, where tables are freed through RCU.
pub const WRITER: Choice = Choice {
    name: "writer",
    options: &[
        "retract_page_tables",
        "collapse_pte_mapped_thp",
        "zap_pte_range (MADV_DONTNEED, empty pte-table reclaim)",
    ],
};

/// Data choice: which walker CPU0 runs against the refilling remover of [`WRITER_PAE`] (the
/// installer is left out there: it takes the lock of the table it mapped, and the model's
/// installer has one lock, that of the first table).
pub const WALKER_PAE_REFILL: Choice = Choice {
    name: "walker against the refill",
    options: &[
        "pte_offset_map (a reader: ptep_get, pte_unmap)",
        "__get_user_pages_fast",
    ],
};

/// The removers where pmds are read in two halves (x86-PAE; no `PT_RECLAIM`, which is x86-64
/// only). The third clears and refills the pmd twice: `retract_page_tables`, a fault's
/// `__pte_alloc` putting a new table 4 GiB above (another high word), `retract_page_tables` of
/// that one, and a `__pte_alloc` of a third table at the first one's low word plus 8 GiB: a
/// reader between its two halves without `pmdp_get_lockless_sync` can pair the first low word
/// with the second high word, an address no pmd held (include/linux/pgtable.h: the sync
/// blocks "the TLB flush between present updates").
pub const WRITER_PAE: Choice = Choice {
    name: "writer",
    options: &[
        "retract_page_tables",
        "collapse_pte_mapped_thp",
        "retract_page_tables, __pte_alloc, retract_page_tables, __pte_alloc",
    ],
};

/// The removers where tables are freed after the TLB flush (`PT_RECLAIM` needs RCU table free).
pub const WRITER_NO_RECLAIM: Choice = Choice {
    name: "writer",
    options: &["retract_page_tables", "collapse_pte_mapped_thp"],
};

const GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::PTE_MAP_RCU,
        step: "rcu_read_lock() in __pte_offset_map, before the pmd is read, until pte_unmap",
        why: "a table detached under the walker stays allocated (valid and empty) until the \
              walker is done with it: pte_free_defer's grace period waits for this section",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PTE_FREE_DEFER,
        step: "pte_free_defer (call_rcu -> pte_free_now) in retract_page_tables and \
               collapse_pte_mapped_thp",
        why: "without the mmap write lock, a pte_offset_map walker (or gup_fast) may still be \
              inside the table when the pmd is cleared: it must not be freed before they leave",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::FRAG_DEFER_ONCE,
        step: "folio_set_active in the powerpc pte_free_defer, and one call_rcu by the last \
               pte_fragment_free of the page (32cc0b7c9d50, the seed's v3)",
        why: "pte tables that are fragments of one page share its one rcu_head: two deferrals \
              in one grace period must not queue it twice (the series' v1 did)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PMD_SAME,
        step: "pmd_same(pmdval, pmdp_get_lockless(pmd)) under the pte lock in \
               pte_offset_map_lock (retry), and in collapse_pte_mapped_thp after \
               pte_offset_map_rw_nolock",
        why: "a remover clears the pmd with the pte lock held: whoever takes the lock after it \
              must see the pmd changed, or it writes a pte into a table no pmd points to",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PTE_SAME,
        step: "pte_same(ptep_get(vmf->pte), vmf->orig_pte) under the pte lock in \
               handle_pte_fault, after pte_offset_map_rw_nolock (no pmd recheck)",
        why: "the table may have been emptied and detached since the lockless read; removers \
              empty a table only under its lock, so a present pte still there means the table \
              is still in place",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::RETRACT_RECHECK,
        step: "file_backed_vma_is_retractable() again under pmd lock and ptl in \
               retract_page_tables (vma->anon_vma, userfaultfd)",
        why: "the unlocked check can be overtaken by a fault or UFFDIO_COPY that sets \
              vma->anon_vma and installs an anonymous pte: retracting then throws it away",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::RECLAIM_RECHECK,
        step: "every pte still none, under pmd lock and ptl, in zap_pte_table_if_empty \
               (v6.14 try_to_free_pte)",
        why: "once the zap dropped the pte lock, a fault may fill a pte in again: clearing the \
              pmd on the strength of the earlier scan throws it away",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::TABLE_FREE_DEFER,
        step: "pte_free_tlb -> tlb_remove_table in the reclaiming zap_pte_range",
        why: "the reclaimed table is freed through RCU table free (which PT_RECLAIM selects), \
              after the walkers inside it",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::REMOVE_TABLE_SYNC,
        step: "call_rcu(&ptdesc->pt_rcu_head) in tlb_remove_table_one (CONFIG_PT_RECLAIM) when \
               no batch page can be allocated",
        why: "the fallback must still defer the free to a grace period",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::FREE_AFTER_FLUSH,
        step: "tlb_flush_mmu: tlb_flush before free_pages_and_swap_cache (the zapped page)",
        why: "CPUs may still access the page through stale TLB entries until the flush",
        redundant: Some(
            "the walkers here do not use the TLB: gup_fast's pte recheck and \
             get_page_unless_zero already reject a page freed before the flush; the order \
             protects stale TLB entries, which this model has none of",
        ),
    },
    GuardDoc {
        guard: Guards::IRQ_OFF,
        step: "local_irq_save() in __get_user_pages_fast",
        why: "gup_fast takes no RCU read lock: a consolidated grace period (pte_free_defer, RCU \
              table free) waits for its irq-off section instead",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PTE_RECHECK,
        step: "pte_val(pte) != pte_val(ptep_get(ptep)) after the speculative reference in \
               gup_fast_pte_range",
        why: "the page may be unmapped and freed between the pte read and the reference",
        redundant: Some(
            "every remover here that frees the page also clears the pmd, which gup_fast's v6.1 \
             pmd recheck sees: either recheck alone is enough (the pair is caught)",
        ),
    },
    GuardDoc {
        guard: Guards::GET_UNLESS_ZERO,
        step: "try_grab_folio_fast (get_page_unless_zero) in gup_fast_pte_range",
        why: "a plain get_page resurrects a page whose count already dropped to zero",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PMD_RECHECK,
        step: "pmd_val(pmd) != pmd_val(pmdp_get_lockless(pmdp)) in gup_fast_pte_range (v6.1)",
        why: "against a collapse that replaces the table under gup_fast",
        redundant: Some(
            "every remover here clears the pte (or finds it none) before the pmd: the pte \
             recheck sees the change too (the pair is caught)",
        ),
    },
    GuardDoc {
        guard: Guards::SERIALIZE_PTE_LOOKUP,
        step: "serialize_against_pte_lookup() in the powerpc pmdp_collapse_flush (hash; radix \
               before v6.1)",
        why: "waits for lockless walkers still inside the old table before it is freed",
        redundant: Some(
            "pte_free_defer's grace period (consolidated RCU) already waits for every walker \
             of this scenario: irq-off gup_fast and rcu_read_lock pte_offset_map alike",
        ),
    },
    GuardDoc {
        guard: Guards::PMD_LOCKLESS_SYNC,
        step: "pmdp_get_lockless_sync() (tlb_remove_table_sync_one, an IPI to every CPU) after \
               pmdp_collapse_flush in retract_page_tables and collapse_pte_mapped_thp, where \
               pmds are read in halves (x86-PAE; the seed's v2, 02/12 and 09/12)",
        why: "the remover must not let the pmd be populated again while a walker is between \
              its two halves: the walker could pair the old low word with a later high word",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PMD_LOCKLESS_IRQ_OFF,
        step: "pmdp_get_lockless_start/end (local_irq_save/restore) around the split pmd read \
               in __pte_offset_map (x86-PAE)",
        why: "what pmdp_get_lockless_sync's IPI waits for: a reader that keeps interrupts on \
              answers it between its two halves",
        redundant: None,
    },
];

const fn v(name: &'static str, about: &'static str, off: Guards) -> Variant {
    Variant { name, about, off }
}

const VARIANTS: &[Variant] = &[
    v("correct", "the protocol as merged", Guards::empty()),
    v(
        "no-pte-map-rcu",
        "the walker maps the table outside an RCU read section",
        Guards::PTE_MAP_RCU,
    ),
    v(
        "pte-free-now",
        "the removers free the table at once (pte_free), as before v6.6 under the mmap write lock",
        Guards::PTE_FREE_DEFER,
    ),
    v(
        "frag-defer-per-fragment",
        "the seed's v1 on fragment policies: call_rcu on the page's rcu_head per deferred fragment",
        Guards::FRAG_DEFER_ONCE,
    ),
    v(
        "no-pmd-same",
        "pte_offset_map_lock takes the lock without rechecking the pmd",
        Guards::PMD_SAME,
    ),
    v(
        "no-pte-same",
        "handle_pte_fault updates the pte without rechecking pte_same under the pte lock",
        Guards::PTE_SAME,
    ),
    v(
        "no-retract-recheck",
        "retract_page_tables checks only before taking the locks (the seed's v1)",
        Guards::RETRACT_RECHECK,
    ),
    v(
        "no-reclaim-recheck",
        "empty-table reclaim's slow path trusts the zap's scan",
        Guards::RECLAIM_RECHECK,
    ),
    v(
        "tables-freed-at-once",
        "the reclaimed table is freed as soon as it is unlinked",
        Guards::TABLE_FREE_DEFER,
    ),
    v(
        "no-remove-table-sync",
        "tlb_remove_table_one frees without a grace period",
        Guards::REMOVE_TABLE_SYNC,
    ),
    v(
        "free-pages-before-flush",
        "the zapped page is freed before the TLB flush",
        Guards::FREE_AFTER_FLUSH,
    ),
    v("no-irq-off", "gup_fast with interrupts on", Guards::IRQ_OFF),
    v(
        "no-pte-recheck",
        "gup_fast keeps the reference without rechecking the pte",
        Guards::PTE_RECHECK,
    ),
    v(
        "plain-get-page",
        "gup_fast takes get_page instead of get_page_unless_zero",
        Guards::GET_UNLESS_ZERO,
    ),
    v(
        "no-pmd-recheck",
        "gup_fast without its v6.1 pmd recheck",
        Guards::PMD_RECHECK,
    ),
    v(
        "no-serialize",
        "powerpc's pmdp_collapse_flush without serialize_against_pte_lookup",
        Guards::SERIALIZE_PTE_LOOKUP,
    ),
    v(
        "no-pmd-lockless-sync",
        "x86-PAE: the removers clear the pmd without pmdp_get_lockless_sync (the seed's v1)",
        Guards::PMD_LOCKLESS_SYNC,
    ),
    v(
        "no-pmd-lockless-irq-off",
        "x86-PAE: __pte_offset_map reads the pmd halves with interrupts on",
        Guards::PMD_LOCKLESS_IRQ_OFF,
    ),
];

/// The scenario value.
pub const PTE_FREE_DEFER_RETRACT: Scenario = Scenario {
    name: "pte-free-defer-vs-retract",
    about: "pte_offset_map walkers, a fault and gup_fast while khugepaged retracts or collapses \
            a pte table, or MADV_DONTNEED reclaims it",
    source: "mm-free-retracted-page-table-by-rcu-2023.txt",
    cpus: &[
        "CPU0: pte_offset_map (read), a pte installer through pte_offset_map_lock \
         (do_anonymous_page, or UFFDIO_COPY's mfill_atomic_install_pte against khugepaged), \
         __get_user_pages_fast, or handle_pte_fault on a present pte (pte_offset_map_rw_nolock, \
         pte_same under the ptl)",
        "CPU1: retract_page_tables, collapse_pte_mapped_thp, or zap_pte_range reclaiming the \
         emptied table (x86-PAE: or retract_page_tables and __pte_alloc twice)",
    ],
    guards: GUARDS,
    absent: &[Absent {
        guard: Guards::SPLITTING_CHECK,
        why: "today's gup_fast: the pmd splitting bit went with the THP refcounting rework \
              (v4.5), long before pte_free_defer (v6.6)",
    }],
    variants: VARIANTS,
    // Two CPUs and the RCU callbacks: preemption bound 3 takes 1.05 M executions for the 288
    // cells (1.8 M, 33 s on one core of the 2-core CI machine, before the x86-PAE combinations
    // that repeated the refill's were dropped: checks/src/choice_tree.rs). Exhaustive loom
    // took 2.6 M executions (164 s, every verdict the same as at bound 3) before the x86-PAE
    // refilling writer, the handle_pte_fault walker and the s390-v6.6 column; with them it did
    // not finish in 8 minutes (`--explorer loom-exhaustive` runs it).
    loom_bound: Some(3),
    run,
    applies: Applies::EVERY_POLICY,
    own_guards: &[],
    findings: &[],
};

fn run(s: &Setup) {
    let mut b = s.world(2).reuse_freed_pages();
    let pae = s.policy.pmd_halves;
    let reclaim_ok = s.policy.table_free == TableFree::RcuBatched && !pae;
    let writer = if pae {
        b.pick(WRITER_PAE)
    } else if reclaim_ok {
        b.pick(WRITER)
    } else {
        b.pick(WRITER_NO_RECLAIM)
    };
    let (retract, collapse) = (writer == 0, writer == 1);
    let (reclaim, refill) = (writer == 2 && !pae, writer == 2 && pae);
    // The walker, numbered as in WALKER.
    let walker = if refill {
        [0, 2][b.pick(WALKER_PAE_REFILL)]
    } else {
        b.pick(WALKER)
    };
    if pae && walker == 0 {
        // The reader walks another mm's tables (a /proc/PID/smaps or process_madvise walker),
        // so TLB flush IPIs to the mm's CPUs do not reach it: only pmdp_get_lockless_sync's IPI
        // to every CPU waits for its irq-off read. Elsewhere it never disables interrupts, and
        // where it runs makes no difference.
        b = b.outside_mm_cpumask(0);
    }
    // On a fragment policy the file is mapped by a second VMA of the same mm too, whose table
    // is the other fragment of the same page: retract_page_tables defers both.
    let frags = s.policy.pte_fragments.shared();
    let second = frags && retract;
    let pgd = b.table(Level::Pgd, 1);
    let pmd = b.table(Level::Pmd, if second { 2 } else { 1 });
    let pt = b.table(Level::Pte, 1);
    let pt2 = second.then(|| b.table(Level::Pte, 1));
    // The refill's tables: one 4 GiB above its own low word, one at the first table's low word
    // 8 GiB up.
    let refills = refill.then(|| {
        let (t2, t3) = (b.table(Level::Pte, 1), b.table(Level::Pte, 1));
        b.above_4g(t2, t2, 1);
        b.above_4g(t3, pt, 2);
        (t2, t3)
    });
    // The page the table maps: a page of the huge folio in the page cache (collapse), or an
    // anonymous page (reclaim); retract's tables are empty.
    let mapped = (collapse || reclaim).then(|| b.data_page(1));
    if let (true, Some(folio)) = (collapse, mapped) {
        b.page_cache_ref(folio);
    }
    // The fault's new page (alloc_anon_folio), refcount 1.
    let fault_page = (walker == 1).then(|| b.data_page(1));
    b.set(pgd, 0, Entry::table(pmd));
    b.set(pmd, 0, Entry::table(pt));
    if let Some(t) = pt2 {
        b.set(pmd, 1, Entry::table(t));
    }
    if let Some(p) = mapped {
        b.set(pt, 0, Entry::leaf(p, 0, EntryFlags::WRITE));
    }
    let w = b.build();
    let mm = Mm::new(pgd, s.policy);
    let a = Addr::FIRST;
    let policy = *s.policy;
    // The reclaim takes the pmd lock with spin_trylock.
    let locks = Arc::new(if reclaim {
        RangeLocks::with_trylockable_pml()
    } else {
        RangeLocks::new()
    });
    let vma = Arc::new(Vma::new());
    // The reclaim frees through the mmu_gather (__tlb_remove_table -> pte_fragment_free after
    // the batch's grace period): one fragment, a whole-page free.
    let frag = (frags && !reclaim).then(|| {
        FragPage::new(
            s.policy.pte_fragments,
            std::iter::once(pt).chain(pt2).collect(),
        )
    });
    let page = frag.clone();
    let second_vma = pt2.map(|_| (Vma::new(), locks.sibling("ptl (second table)")));
    let (l0, v0) = (locks.clone(), vma.clone());
    let progs: Vec<Program> = vec![
        Box::new(move |c: &Ctx| match (walker, fault_page) {
            (1, Some(page)) if reclaim => {
                do_anonymous_page(c, mm, a, &v0, &l0.ptl, page);
            }
            (1, Some(page)) => {
                mfill_atomic_install_pte(c, mm, a, &v0, &l0.ptl, page);
            }
            (2, _) => {
                let r = get_user_pages_fast(c, mm, a);
                use_and_release(c, r);
            }
            (3, _) => {
                handle_pte_fault(c, mm, a, &l0.ptl);
            }
            _ => {
                if let Some(m) = pte_offset_map(c, mm, a) {
                    c.load(m.table, a.pte, ONCE, "ptep_get");
                    pte_unmap(c, m);
                }
            }
        }),
        Box::new(move |c: &Ctx| {
            if retract {
                retract_page_tables(c, &policy, mm, a, &vma, &locks, frag.as_ref());
                if let Some((vma2, locks2)) = &second_vma {
                    let a2 = Addr { pmd: 1, ..a };
                    retract_page_tables(c, &policy, mm, a2, vma2, locks2, frag.as_ref());
                }
            } else if let (true, Some(folio)) = (collapse, mapped) {
                // An installer that bypasses the folio lock means a userfaultfd VMA.
                let t = HugeFolio {
                    folio,
                    uffd_armed: walker == 1,
                };
                collapse_pte_mapped_thp(c, &policy, mm, a, &locks, t, frag.as_ref());
            } else if reclaim {
                zap_pte_range_reclaim(c, &policy, mm, a, &locks);
            } else if let Some((t2, t3)) = refills {
                retract_page_tables(c, &policy, mm, a, &vma, &locks, None);
                pte_alloc(c, mm, a, &locks.pml, t2);
                let l2 = locks.sibling("ptl (second table)");
                retract_page_tables(c, &policy, mm, a, &vma, &l2, None);
                pte_alloc(c, mm, a, &locks.pml, t3);
            }
        }),
    ];
    run_cpus(&w, progs);
    // A fragment page still in use keeps all its fragments allocated.
    let mut roots = vec![pgd];
    roots.extend(page.map(|p| p.tables_if_live()).unwrap_or_default());
    w.check_no_leak(&roots);
}
