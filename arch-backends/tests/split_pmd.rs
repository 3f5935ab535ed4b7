//! Litmus tests of the split pmd read (`pmdp_get_lockless` where a pmd is two 32-bit words,
//! x86-PAE) and of what protects it (`pmdp_get_lockless_start/end` + `pmdp_get_lockless_sync`),
//! shown both ways as every primitive is (checks/tests/litmus.rs): the torn value is reached
//! without the protection and never with it, and never when no two frames share a low word.
//!
//! CPU0 reads the pmd in halves. CPU1 clears and refills it twice: T1 -> none -> T2 (4 GiB up)
//! -> none -> T3 (T1's low word, 8 GiB up), each clear followed by `pmdp_get_lockless_sync`.

use ptcheck_arch::pmd::{
    pmdp_get_lockless, pmdp_get_lockless_end, pmdp_get_lockless_start, pmdp_get_lockless_sync,
};
use ptcheck_arch::x86::X86_PAE;
use ptcheck_checks::{explore, Body, Budget, Explorer};
use ptcheck_model::ordering::{ONCE, PUBLISH};
use ptcheck_model::{run_cpus, Ctx, Entry, Guards, Level, Program, ViolationKind, WorldBuilder};
use std::sync::Arc;

fn split_read(guards: Guards, aliases: bool) -> Body {
    Arc::new(move |choices| {
        // CPU0 walks another mm: only the sync IPI (to every CPU) reaches it.
        let mut b = WorldBuilder::new(2, guards, choices).outside_mm_cpumask(0);
        let pmd = b.table(Level::Pmd, 1);
        let t1 = b.table(Level::Pte, 1);
        let t2 = b.table(Level::Pte, 1);
        let t3 = b.table(Level::Pte, 1);
        if aliases {
            b.above_4g(t2, t2, 1);
            b.above_4g(t3, t1, 2);
        }
        b.set(pmd, 0, Entry::table(t1));
        let w = b.build();
        let progs: Vec<Program> = vec![
            Box::new(move |c: &Ctx| {
                let irq = pmdp_get_lockless_start(c, true);
                pmdp_get_lockless(c, true, pmd, 0, ONCE, "pmdp_get_lockless");
                pmdp_get_lockless_end(c, irq);
            }),
            Box::new(move |c: &Ctx| {
                for t in [t2, t3] {
                    c.exchange(pmd, 0, Entry::NONE, true, "pmdp_collapse_flush");
                    pmdp_get_lockless_sync(c, &X86_PAE);
                    c.store(pmd, 0, Entry::table(t), PUBLISH, "pmd_populate");
                }
            }),
        ];
        run_cpus(&w, progs);
    })
}

fn verdict(e: &Explorer, guards: Guards, aliases: bool) -> Option<ViolationKind> {
    let o = explore(e, Budget::default(), split_read(guards, aliases));
    assert!(o.executions > 0 && o.complete, "{}", o.coverage());
    o.finding
        .map(|f| f.kind().expect("a violation, not a model error"))
}

const LOOM: Explorer = Explorer::Loom { bound: None };
const BOTH: Guards = Guards::PMD_LOCKLESS_SYNC.union(Guards::PMD_LOCKLESS_IRQ_OFF);

#[test]
fn without_the_sync_ipi_a_reader_pairs_two_values_halves() {
    assert_eq!(
        verdict(&LOOM, Guards::PMD_LOCKLESS_IRQ_OFF, true),
        Some(ViolationKind::Torn)
    );
}

#[test]
fn without_the_irq_off_bracket_the_sync_ipi_does_not_wait_for_the_reader() {
    assert_eq!(
        verdict(&LOOM, Guards::PMD_LOCKLESS_SYNC, true),
        Some(ViolationKind::Torn)
    );
}

#[test]
fn sequentially_consistent_schedules_reach_it_too() {
    // Three reversals of the reader against the writer: exhaustive DFS finds it.
    let dfs = Explorer::Dfs {
        max_iterations: None,
        bound: None,
    };
    assert_eq!(
        verdict(&dfs, Guards::PMD_LOCKLESS_IRQ_OFF, true),
        Some(ViolationKind::Torn)
    );
}

#[test]
fn with_both_no_schedule_tears_the_read() {
    assert_eq!(verdict(&LOOM, BOTH, true), None);
}

#[test]
fn with_no_frame_above_4g_a_split_read_is_never_torn() {
    assert_eq!(verdict(&LOOM, Guards::empty(), false), None);
}
