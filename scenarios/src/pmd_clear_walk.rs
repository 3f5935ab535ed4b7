//! **pmd clear vs lockless walk** (`../shared/seeds/powerpc-avoid-ipi-lockless-walk-2020.txt`):
//! a lockless irq-off walker on CPU0 while CPU1 clears or converts the huge pmd it walks.
//!
//! Initial state: `mm->pgd` (PGD#0) -> PMD#1[0] = a huge leaf of page A (`_PAGE_PTE`), with a
//! deposited pte table PT#2; or, for the collapse writer, PMD#1[0] -> PT#2 -> page A.
//!
//! CPU1 runs one writer, a data choice enumerated per run (each combination is its own run):
//! - default: THP split, `__split_huge_pmd_locked` (`pmdp_invalidate`, `pmd_populate` of the
//!   deposited table): the seed's cases 1 and 2 (`__split_huge_zero_page_pmd`,
//!   `do_huge_pmd_wp_page_fallback`), a huge pmd turned into a table pointer;
//! - writer alternative 1: MADV_DONTNEED racing a fault (the seed's case 3): `zap_huge_pmd`
//!   (`pmdp_huge_get_and_clear`), then a fault's `__pte_alloc` installs a new table PT#3 before
//!   the zap's `tlb_finish_mmu` (the fault stands for another thread of the mm; it runs on CPU1
//!   to keep the model at two threads, and nothing orders it after the zap's flush);
//! - writer alternative 2: khugepaged `collapse_huge_page` (`pmdp_collapse_flush`,
//!   `tlb_remove_table_sync_one`, isolate, copy, `pgtable_trans_huge_deposit` of the old table,
//!   `set_pmd_at` of the huge leaf): a table pointer turned into a huge leaf;
//! - writer alternative 3: the same collapse, then a `zap_huge_pmd` of the collapsed range
//!   (munmap or MADV_DONTNEED later on), whose `zap_deposited_table` frees the old pte table with
//!   `pte_free`, no grace period: the table a gup_fast may still be walking if nothing waited
//!   for it. This is the writer that frees a table walkers can reach, so irq-off and the
//!   collapse's sync IPI are exercised here (without it `no-irq-off` was vacuous).
//!
//! CPU0 runs one walker, also a data choice: `__find_linux_pte` with an irq-off caller in the
//! shape of `kvmppc_book3s_radix_page_fault` before 2020 (default; the walker the seed's rules
//! are about) or, with walker alternative 1, gup_fast; on the
//! hash MMU also alternative 2, `hash_page` (the fault path: insert an HPTE, retry the store
//! through it), which `hash__pmdp_collapse_flush`'s serialize waits for.
//!
//! What must hold: a walker acts only on values the entry held, with the meaning it gives them
//! (the entry-value oracles: no table pointer used as a huge leaf, no leaf or empty entry
//! followed as a table, no data page dereferenced as a table); no use-after-free; no pin of a
//! freed page; no leak.
//!
//! Two model threads, no RCU callback runner: explored exhaustively by loom (`loom_bound:
//! None`) for every writer x walker combination.

use crate::kernel::find_linux_pte::kvmppc_book3s_radix_page_fault;
use crate::kernel::gup_fast::{get_user_pages_fast, write_and_release};
use crate::kernel::hash_page::hash_page;
use crate::kernel::huge_memory::{
    collapse_huge_page, do_anonymous_page_pte_alloc, split_huge_pmd_locked, zap_huge_pmd, HugePmd,
};
use crate::kernel::{Addr, Mm};
use crate::scenario::{Absent, Applies, GuardDoc, Scenario, Setup, Variant};
use ptcheck_arch::mmu_gather::MmuGather;
use ptcheck_model::{run_cpus, Choice, Ctx, Entry, EntryFlags, Guards, Level, PageWord, Program};

/// Data choice: which writer CPU1 runs.
pub const WRITER: Choice = Choice {
    name: "writer",
    options: &[
        "__split_huge_pmd_locked",
        "zap_huge_pmd, then a racing fault's __pte_alloc",
        "collapse_huge_page (pmdp_collapse_flush)",
        "collapse_huge_page, then zap_huge_pmd (zap_deposited_table frees the old table)",
    ],
};
/// Data choice: which lockless walker CPU0 runs.
pub const WALKER: Choice = Choice {
    name: "walker",
    options: &["__find_linux_pte", "__get_user_pages_fast"],
};
/// The walker choice on a hash MMU, where user faults also walk locklessly (`hash_page`).
pub const WALKER_HASH: Choice = Choice {
    name: "walker",
    options: &["__find_linux_pte", "__get_user_pages_fast", "hash_page"],
};

const GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::READ_ONCE_PMD,
        step:
            "pmd = READ_ONCE(*pmdp) in __find_linux_pte; pte = READ_ONCE(*ptep) once in the caller",
        why: "rule 1 of the 2020 series: a reload after the test can see the entry converted or \
              cleared (a table pointer read as a huge leaf, a leaf or an empty entry followed as a \
              table). Necessary under every policy: serialize_against_pte_lookup waits for the \
              walker only after the pmd was cleared, so a reload still sees the cleared value",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PAGE_PTE_CHECK,
        step: "pte_present() tests _PAGE_PTE (book3s64 since the 2020 series)",
        why: "rule 3: the caller's single read of *ptep (a pmd slot for a THP) can see the table \
              pointer the split or the fault installed, which has the valid bit. Redundant where \
              the pmd update waits for walkers (serialize_against_pte_lookup, or an x86 IPI flush \
              in pmdp_invalidate), except against a fault that populates before the zap's flush",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::SERIALIZING_CHECK,
        step: "if (pmd_is_serializing(pmd)) return NULL; in __find_linux_pte (book3s64, v5.2+)",
        why: "a walker that enters after serialize_against_pte_lookup and before pmd_populate \
              reads the pmdp_invalidate'd leaf; returning pmdp for it lets the caller's later \
              *ptep read see the table pointer (the race \"powerpc/64s: Fix THP PMD collapse \
              serialisation\" closed in 2019)",
        redundant: Some(
            "alone it is covered by the _PAGE_PTE test of pte_present (rule 3 of the 2020 \
             series), which rejects the table pointer the caller would read; without both, the \
             walker acts on a table pointer as a leaf even under serialize_against_pte_lookup \
             (variant no-serializing-check-no-page-pte-check, and the pairs of the necessity \
             report)",
        ),
    },
    GuardDoc {
        guard: Guards::SERIALIZE_PTE_LOOKUP,
        step: "serialize_against_pte_lookup() in pmdp_huge_get_and_clear / pmdp_invalidate / \
               pmdp_collapse_flush, where the policy has it",
        why: "waits for irq-off walkers after the pmd update. For the 2020 series' walkers it is \
              not needed (no-serialize is safe for __find_linux_pte and gup_fast on every \
              policy: read once, tolerate a stale value, test _PAGE_PTE). It is needed by \
              hash__pmdp_collapse_flush against hash_page: a hash fault that read the old pmd \
              inserts an HPTE for a small page; waiting for it before flush_hash_table_pmd_range \
              lets the flush remove that HPTE, otherwise the retried store writes the small page \
              after khugepaged copied it (lost update on powerpc-hash)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::IRQ_OFF,
        step: "local_irq_save() around the walk (gup_fast, kvmppc_book3s_radix_page_fault)",
        why: "what the IPIs wait for: tlb_remove_table_sync_one after khugepaged's \
              pmdp_collapse_flush (the detached table is freed by a later zap_deposited_table \
              with pte_free, no grace period), x86 flush IPIs and serialize_against_pte_lookup. \
              With interrupts on a walker answers them at once and walks a freed table",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::COLLAPSE_SYNC_IPI,
        step: "tlb_remove_table_sync_one() after pmdp_collapse_flush in collapse_huge_page \
               (2ba99c5e0881, v6.1, 2022)",
        why: "a gup_fast that read the pmd before the collapse cleared it is still inside the old \
              pte table; khugepaged deposits that table (radix writes its list_head over the \
              first entries) and a later zap frees it with pte_free. Redundant where \
              pmdp_collapse_flush itself waits for walkers (x86 flush IPI, hash and pre-2020 \
              radix serialize_against_pte_lookup)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PTE_RECHECK,
        step: "gup_huge_pmd / gup_pte_range recheck the entry after the speculative reference",
        why:
            "gup_fast's own protection (gup-fast-vs-munmap); rule 2 (a stale value is fine) holds \
              for gup_fast because of it",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PMD_RECHECK,
        step: "pmd_val(pmd) != pmd_val(pmdp_get_lockless(pmdp)) after the pte recheck in \
               gup_fast_pte_range (v6.1+)",
        why: "khugepaged's pmdp_collapse_flush unlinks the pte table but leaves its ptes; a \
              gup_fast that took its reference after __collapse_huge_page_isolate checked the \
              count still finds the pte unchanged, keeps a page that is then copied away, and its \
              writes are lost (70cbc3cc78a9)",
        redundant: Some(
            "against anon collapse it is covered by the collapse's tlb_remove_table_sync_one \
             (2ba99c5e0881, same release): the IPI waits for the walker's irq-off section, so the \
             isolate refcount check runs after the walker took its reference and sees it; \
             without both (no-pmd-recheck-no-collapse-sync-ipi, the v6.0 kernel) the lost write \
             is found. The kernel keeps the recheck for paths that detach a table without an IPI \
             (retract_page_tables with pte_free_defer)",
        ),
    },
    GuardDoc {
        guard: Guards::GET_UNLESS_ZERO,
        step: "page_cache_get_speculative in gup_fast",
        why: "a plain get_page on the zapped huge page after its free resurrects it (or pins its next user)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::FREE_AFTER_FLUSH,
        step: "tlb_flush_mmu: flush before freeing the zapped huge page",
        why: "a page must not reach the allocator while a CPU can still reach it through a stale TLB entry",
        redundant: Some(
            "as in gup-fast-vs-munmap: gup_fast's rechecks reject a huge page freed before the \
             flush; the order protects CPUs using stale TLB entries, which the model lacks",
        ),
    },
];

const VARIANTS: &[Variant] = &[
    Variant {
        name: "correct",
        about: "walkers follow the 2020 rules, pmd updates serialize as the policy does",
        off: Guards::empty(),
    },
    Variant {
        name: "reload-pmd",
        about: "the walker tests one read of the pmd/pte and acts on a reload",
        off: Guards::READ_ONCE_PMD,
    },
    Variant {
        name: "no-page-pte-check",
        about: "pte_present() without the _PAGE_PTE test (the pre-2020 walker)",
        off: Guards::PAGE_PTE_CHECK,
    },
    Variant {
        name: "no-serialize",
        about: "no serialize_against_pte_lookup anywhere: the 2020 series on every policy",
        off: Guards::SERIALIZE_PTE_LOOKUP,
    },
    Variant {
        name: "no-serializing-check",
        about: "__find_linux_pte without the pmd_is_serializing test",
        off: Guards::SERIALIZING_CHECK,
    },
    Variant {
        name: "no-serializing-check-no-page-pte-check",
        about: "the 2018 - v5.2 book3s64 walker: neither pmd_is_serializing nor the _PAGE_PTE test",
        off: Guards::SERIALIZING_CHECK.union(Guards::PAGE_PTE_CHECK),
    },
    Variant {
        name: "no-irq-off",
        about: "the walkers run with interrupts on",
        off: Guards::IRQ_OFF,
    },
    Variant {
        name: "no-collapse-sync-ipi",
        about: "khugepaged before 2ba99c5e0881 (v6.1, 2022): no tlb_remove_table_sync_one after \
                pmdp_collapse_flush",
        off: Guards::COLLAPSE_SYNC_IPI,
    },
    Variant {
        name: "no-pte-recheck",
        about: "gup_huge_pmd keeps the page without rechecking the pmd",
        off: Guards::PTE_RECHECK,
    },
    Variant {
        name: "no-pmd-recheck",
        about: "gup_fast without 70cbc3cc78a9 (v6.1): the pte is rechecked, the pmd is not; \
                khugepaged with its sync IPI",
        off: Guards::PMD_RECHECK,
    },
    Variant {
        name: "no-pmd-recheck-no-collapse-sync-ipi",
        about: "gup_fast and khugepaged before v6.1: neither 70cbc3cc78a9 nor 2ba99c5e0881",
        off: Guards::PMD_RECHECK.union(Guards::COLLAPSE_SYNC_IPI),
    },
    Variant {
        name: "plain-get-page",
        about: "gup_fast takes get_page instead of page_cache_get_speculative",
        off: Guards::GET_UNLESS_ZERO,
    },
    Variant {
        name: "free-pages-before-flush",
        about: "zap frees the huge page before the TLB flush",
        off: Guards::FREE_AFTER_FLUSH,
    },
    Variant {
        name: "no-serialize-no-page-pte-check",
        about: "the pre-2020 walker without the IPI it relied on",
        off: Guards::SERIALIZE_PTE_LOOKUP.union(Guards::PAGE_PTE_CHECK),
    },
];

/// The scenario value.
pub const PMD_CLEAR_WALK: Scenario = Scenario {
    name: "pmd-clear-vs-lockless-walk",
    about: "__find_linux_pte / gup_fast while a huge pmd is zapped, split or collapsed",
    source: "powerpc-avoid-ipi-lockless-walk-2020.txt",
    cpus: &[
        "CPU0: kvmppc_book3s_radix_page_fault (__find_linux_pte, READ_ONCE(*ptep), pte_present) \
         or __get_user_pages_fast, irq off",
        "CPU1: __split_huge_pmd_locked, or zap_huge_pmd + a racing fault, or collapse_huge_page \
         (then, as a fourth writer, zap_huge_pmd of the collapsed range)",
    ],
    guards: GUARDS,
    absent: &[Absent {
        guard: Guards::SPLITTING_CHECK,
        why: "today's gup_fast: the pmd splitting bit (pmd_trans_splitting) went with the THP \
              refcounting rework (v4.5); this scenario's split is __split_huge_pmd_locked",
    }],
    variants: VARIANTS,
    loom_bound: None,
    run,
    applies: Applies::EVERY_POLICY,
    own_guards: &[],
    findings: &[],
};

fn run(s: &Setup) {
    let mut b = s.world(2).reuse_freed_pages();
    let writer = b.pick(WRITER);
    let (zap, collapse, zap_after) = (writer == 1, writer >= 2, writer == 3);
    let walker = if s.policy.hash_mmu {
        b.pick(WALKER_HASH)
    } else {
        b.pick(WALKER)
    };
    let (gup, hash) = (walker == 1, walker == 2);
    // Writes through a pin (gup, the retried store) and khugepaged's copy use the pages' data;
    // hash_page the HPTE.
    let mut words = PageWord::empty();
    words.set(PageWord::DATA, gup || hash || collapse);
    words.set(PageWord::HPTE, hash);
    b = b.page_words(words);
    let pgd = b.table(Level::Pgd, 1);
    let pmd = b.table(Level::Pmd, 1);
    let pt = b.table(Level::Pte, 1);
    let fault_pt = zap.then(|| b.table(Level::Pte, 1));
    let page = b.data_page(1);
    // The collapse writer's new huge page, allocated by khugepaged before it starts.
    let hpage = collapse.then(|| b.data_page(1));
    b.set(pgd, 0, Entry::table(pmd));
    if collapse {
        b.set(pmd, 0, Entry::table(pt));
        // book3s64 sets _PAGE_PTE in every leaf entry, small ptes included.
        b.set(
            pt,
            0,
            Entry::leaf(page, 0, EntryFlags::WRITE | EntryFlags::PAGE_PTE),
        );
    } else {
        let leaf = Entry::leaf(page, 0, EntryFlags::WRITE | EntryFlags::PAGE_PTE);
        b.set(pmd, 0, leaf);
    }
    let w = b.build();
    let mm = Mm::new(pgd, s.policy);
    let a = Addr::FIRST;
    let h = HugePmd {
        pmd,
        slot: 0,
        deposited: pt,
    };
    let policy = *s.policy;
    let progs: Vec<Program> = vec![
        Box::new(move |c: &Ctx| {
            if gup {
                let r = get_user_pages_fast(c, mm, a);
                write_and_release(c, r);
            } else if hash {
                hash_page(c, mm, a);
            } else {
                kvmppc_book3s_radix_page_fault(c, mm, a);
            }
        }),
        Box::new(move |c: &Ctx| {
            if let Some(new) = fault_pt {
                let mut tlb = MmuGather::new(c, &policy);
                zap_huge_pmd(c, &policy, &mut tlb, h);
                do_anonymous_page_pte_alloc(c, h, new);
                tlb.tlb_finish_mmu();
            } else if let Some(hpage) = hpage {
                let collapsed = collapse_huge_page(c, &policy, h, hpage);
                if zap_after && collapsed {
                    let mut tlb = MmuGather::new(c, &policy);
                    zap_huge_pmd(c, &policy, &mut tlb, h);
                    tlb.tlb_finish_mmu();
                }
            } else {
                let leaf = Entry::leaf(page, 0, EntryFlags::WRITE | EntryFlags::PAGE_PTE);
                split_huge_pmd_locked(c, &policy, h, &[leaf]);
            }
        }),
    ];
    run_cpus(&w, progs);
    // What the address maps at the end: a write through a gup pin must have reached it.
    w.check_no_lost_write(mapped_page(&w, mm, a));
    // The deposited table hangs off the pmd (pmd_huge_pte) after a collapse.
    let collapsed = hpage.is_some_and(|p| w.final_entry(pmd, 0).pfn() == p);
    let roots = if collapsed { vec![pgd, pt] } else { vec![pgd] };
    w.check_no_leak(&roots);
}

/// The data page the address maps in the final state (through a huge pmd or a pte).
fn mapped_page(w: &ptcheck_model::World, mm: Mm, a: Addr) -> Option<ptcheck_model::FrameId> {
    let pgd = w.final_entry(mm.pgd, a.pgd);
    if !pgd.is_table() {
        return None;
    }
    let pmd = w.final_entry(pgd.pfn(), a.pmd);
    if pmd.is_leaf() {
        return Some(pmd.pfn());
    }
    if !pmd.is_table() {
        return None;
    }
    let pte = w.final_entry(pmd.pfn(), a.pte);
    pte.is_leaf().then(|| pte.pfn())
}
