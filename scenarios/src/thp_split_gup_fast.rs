//! **THP split vs gup_fast** (`../shared/seeds/arm-arm64-rcu-gup-fast-2014.txt`, patches 4/7
//! and 7/7): gup_fast pins a tail page of a transparent huge page while another CPU splits it,
//! with the 2014 THP refcounting (tail pins in the tail's `_mapcount`, see
//! `ptcheck_model::compound`).
//!
//! Initial state: PGD#0 -> PMD#1[0] = a huge leaf of compound page A (head) + B (tail),
//! refcount 1 on A for the mapping; deposited pte table PT#2 (2 entries).
//!
//! - CPU0: `__get_user_pages_fast` of the address of B (irq off): `gup_pmd_range` bails on
//!   `pmd_trans_splitting`, `gup_huge_pmd` refs the head, rechecks the pmd, and records the pin
//!   in B (`get_huge_page_tail`) while B is a tail; then the caller drops the page (`put_page`,
//!   `put_compound_page`).
//! - CPU1: `split_huge_page(A)`: `pmdp_splitting_flush` (policy: generic = set + TLB flush;
//!   arm/arm64 = set + dummy IPI `thp_splitting_flush_sync`; powerpc = set +
//!   `serialize_against_pte_lookup`), `__split_huge_page_refcount`, `__split_huge_page_map`.
//!
//! What must hold: at the end every refcount equals its mappings and pins (the split must not
//! run between gup_huge_pmd's head reference and its tail pin: "__split_huge_page_refcount()
//! cannot run from under us"); no page freed while still mapped; no walker acting on a value
//! that never existed.
//!
//! Two model threads: explored exhaustively by loom (`loom_bound: None`).

use crate::kernel::gup_fast::{get_user_pages_fast, use_and_release};
use crate::kernel::huge_memory::{split_huge_page, HugePmd};
use crate::kernel::{Addr, Mm};
use crate::scenario::{Absent, Applies, GuardDoc, Scenario, Setup, Variant};
use ptcheck_model::{run_cpus, Ctx, Entry, EntryFlags, Guards, Level, Program};

const GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::SPLITTING_IPI,
        step: "smp_call_function(thp_splitting_flush_sync) in arm/arm64 pmdp_splitting_flush \
               (serialize_against_pte_lookup on powerpc)",
        why: "waits for every gup_fast already past its pmd_trans_splitting test; without it a \
              broadcast-TLBI flush waits for no one. Redundant on x86 native, whose generic \
              pmdp_splitting_flush flushes the TLB by IPI",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::SPLITTING_CHECK,
        step: "pmd_trans_splitting(pmd) bail-out in gup_pmd_range",
        why: "a gup_fast that starts after the IPI would otherwise pin the page while \
              __split_huge_page_refcount runs; the IPI only covers walkers already inside",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::IRQ_OFF,
        step: "local_irq_save() in __get_user_pages_fast",
        why: "what the splitting IPI (or the x86 flush IPI) waits for",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PTE_RECHECK,
        step: "pmd_val(orig) != pmd_val(*pmdp) recheck in gup_huge_pmd",
        why: "backs off a gup that read the pmd before the splitting bit was set and rechecks \
              after; with the IPI in place it is redundant against the split (the IPI waits for \
              the whole walk), it matters against zap (gup-fast-vs-munmap)",
        redundant: Some(
            "the splitting IPI keeps the split (and its refcount move) from starting while \
             gup_fast has interrupts off, so the pmd cannot change between the read and the \
             reference; the recheck is needed against zap (pmd-clear-vs-lockless-walk)",
        ),
    },
    GuardDoc {
        guard: Guards::GET_UNLESS_ZERO,
        step: "page_cache_add_speculative on the head in gup_huge_pmd",
        why: "a reference on a page whose count reached zero would resurrect a freed page",
        redundant: Some(
            "the huge page is never freed in this scenario; the speculative reference is needed \
             where it is (gup-fast-vs-munmap, pmd-clear-vs-lockless-walk)",
        ),
    },
    GuardDoc {
        guard: Guards::SERIALIZE_PTE_LOOKUP,
        step: "serialize_against_pte_lookup() in pmdp_invalidate (powerpc pre-2020)",
        why: "waits for irq-off walkers after pmdp_invalidate",
        redundant: Some(
            "on powerpc the splitting flush is itself serialize_against_pte_lookup (guard \
             splitting-ipi); by the time pmdp_invalidate runs, no walker that saw the huge pmd \
             without the splitting bit is left to wait for",
        ),
    },
];

const VARIANTS: &[Variant] = &[
    Variant {
        name: "correct",
        about: "pmdp_splitting_flush as the policy has it, gup_fast as in the seed",
        off: Guards::empty(),
    },
    Variant {
        name: "no-splitting-ipi",
        about: "the generic pmdp_splitting_flush (set the bit, flush the TLB): no dummy IPI",
        off: Guards::SPLITTING_IPI,
    },
    Variant {
        name: "no-splitting-check",
        about: "gup_pmd_range does not bail on pmd_trans_splitting",
        off: Guards::SPLITTING_CHECK,
    },
    Variant {
        name: "no-irq-off",
        about: "gup_fast walks without local_irq_save",
        off: Guards::IRQ_OFF,
    },
    Variant {
        name: "no-pmd-recheck",
        about: "gup_huge_pmd keeps the head reference without rechecking the pmd",
        off: Guards::PTE_RECHECK,
    },
    Variant {
        name: "plain-get-page",
        about: "gup_huge_pmd takes the head with get_page instead of page_cache_add_speculative",
        off: Guards::GET_UNLESS_ZERO,
    },
    Variant {
        name: "no-serialize",
        about: "pmdp_invalidate without serialize_against_pte_lookup (powerpc)",
        off: Guards::SERIALIZE_PTE_LOOKUP,
    },
];

/// The scenario value.
pub const THP_SPLIT_GUP_FAST: Scenario = Scenario {
    name: "thp-split-vs-gup-fast",
    about: "gup_fast pins a THP tail page while split_huge_page splits it (2014 refcounting)",
    source: "arm-arm64-rcu-gup-fast-2014.txt",
    cpus: &[
        "CPU0: __get_user_pages_fast of the tail page (gup_huge_pmd, get_huge_page_tail), put_page",
        "CPU1: split_huge_page (pmdp_splitting_flush, __split_huge_page_refcount, \
         __split_huge_page_map)",
    ],
    guards: GUARDS,
    absent: &[Absent {
        guard: Guards::PMD_RECHECK,
        why: "the 2014 gup_fast of the seed: no pmd recheck after the pte recheck (v6.1)",
    }],
    variants: VARIANTS,
    loom_bound: None,
    run,
    applies: Applies::EVERY_POLICY,
    own_guards: &[],
    findings: &[],
};

fn run(s: &Setup) {
    let mut b = s.world(2);
    let pgd = b.table(Level::Pgd, 1);
    let pmd = b.table(Level::Pmd, 1);
    let pt = b.table(Level::Pte, 2);
    let head = b.compound_page(1, 1);
    b.set(pgd, 0, Entry::table(pmd));
    b.set(pmd, 0, Entry::leaf(head, 0, EntryFlags::WRITE));
    let w = b.build();
    let mm = Mm::new(pgd, s.policy);
    let a = Addr {
        pgd: 0,
        pmd: 0,
        pte: 1,
    };
    let h = HugePmd {
        pmd,
        slot: 0,
        deposited: pt,
    };
    let policy = *s.policy;
    let progs: Vec<Program> = vec![
        Box::new(move |c: &Ctx| {
            let r = get_user_pages_fast(c, mm, a);
            use_and_release(c, r);
        }),
        Box::new(move |c: &Ctx| split_huge_page(c, &policy, h, head, 1)),
    ];
    run_cpus(&w, progs);
    w.check_no_leak(&[pgd]);
}
