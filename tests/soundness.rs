//! The soundness issue's reproduction, written as a user outside the model crate would write
//! it: the real `kvmppc_book3s_radix_page_fault` / `__find_linux_pte` walker and the real
//! `pmdp_collapse_flush` of the powerpc-hash policy (which sends
//! `serialize_against_pte_lookup`), followed by `pte_free` of the detached table, with the
//! walker's irq-off guard switched off.
//!
//! Without interrupts off the walker answers the IPI at once and can read the table after its
//! free, in a plain interleaving: "walker reads PMD#1 = ->PT#2; writer clears the pmd, IPIs,
//! frees PT#2; walker reads PT#2[0]". Before the free was an access the explorers see, loom
//! called this `safe (exhaustive)` and shuttle DFS found it. Both must find it, and both must
//! call the same protocol with interrupts off safe.

use ptcheck_arch::pmd::pmdp_collapse_flush;
use ptcheck_checks::{explore, Body, Budget, Explorer};
use ptcheck_model::{
    run_cpus, Ctx, Entry, EntryFlags, Guards, Level, Program, ViolationKind, WorldBuilder,
};
use ptcheck_scenarios::kernel::find_linux_pte::kvmppc_book3s_radix_page_fault;
use ptcheck_scenarios::kernel::{Addr, Mm};
use std::sync::Arc;

fn walker_vs_collapse_flush_then_pte_free(irq_off: bool) -> Body {
    Arc::new(move |choices| {
        let policy = *ptcheck_arch::by_name("powerpc-hash").expect("policy");
        let mut guards = Guards::READ_ONCE_PMD
            | Guards::PAGE_PTE_CHECK
            | Guards::SERIALIZING_CHECK
            | Guards::SERIALIZE_PTE_LOOKUP;
        if irq_off {
            guards |= Guards::IRQ_OFF;
        }
        let mut b = WorldBuilder::new(2, guards, choices);
        let pgd = b.table(Level::Pgd, 1);
        let pmd = b.table(Level::Pmd, 1);
        let pt = b.table(Level::Pte, 1);
        let page = b.data_page(1);
        b.set(pgd, 0, Entry::table(pmd));
        b.set(pmd, 0, Entry::table(pt));
        b.set(pt, 0, Entry::leaf(page, 0, EntryFlags::PAGE_PTE));
        let w = b.build();
        let mm = Mm::new(pgd, &policy);
        let progs: Vec<Program> = vec![
            Box::new(move |c: &Ctx| kvmppc_book3s_radix_page_fault(c, mm, Addr::FIRST)),
            Box::new(move |c: &Ctx| {
                pmdp_collapse_flush(c, &policy, pmd, 0);
                c.world.mark_detached(pt);
                c.free(pt, "pte_free");
            }),
        ];
        run_cpus(&w, progs);
    })
}

fn verdict(explorer: Explorer, irq_off: bool) -> (Option<ViolationKind>, u64) {
    let o = explore(
        &explorer,
        Budget::default(),
        walker_vs_collapse_flush_then_pte_free(irq_off),
    );
    assert!(o.complete && o.executions > 0, "{}", o.coverage());
    (o.finding.and_then(|f| f.kind()), o.executions)
}

const LOOM: Explorer = Explorer::Loom { bound: None };
const DFS: Explorer = Explorer::Dfs {
    max_iterations: None,
    bound: None,
};

#[test]
fn a_table_freed_after_an_ipi_the_walker_answered_is_found_by_loom_and_dfs() {
    for e in [LOOM, DFS] {
        let (v, n) = verdict(e.clone(), false);
        assert_eq!(
            v,
            Some(ViolationKind::UseAfterFree),
            "{e} in {n} executions"
        );
    }
}

#[test]
fn with_interrupts_off_both_explorers_call_it_safe() {
    for e in [LOOM, DFS] {
        let (v, n) = verdict(e.clone(), true);
        assert_eq!(v, None, "{e} in {n} executions");
    }
}

/// A scenario that forgets a guard its kernel paths read does not silently run with the step
/// off: every execution stops with a model error naming the guard.
#[test]
fn a_scenario_that_forgets_a_guard_fails_instead_of_running_without_it() {
    use ptcheck_scenarios::pmd_clear_walk::PMD_CLEAR_WALK;
    let guards: Vec<_> = PMD_CLEAR_WALK
        .guards
        .iter()
        .copied()
        .filter(|g| g.guard != Guards::PMD_RECHECK)
        .collect();
    let forgetful: &'static ptcheck_scenarios::Scenario =
        Box::leak(Box::new(ptcheck_scenarios::Scenario {
            guards: Box::leak(guards.into_boxed_slice()),
            ..PMD_CLEAR_WALK
        }));
    let policy = ptcheck_arch::by_name("arm64").expect("policy");
    let body = ptcheck::matrix::body_for(forgetful, policy, forgetful.all_guards());
    let o = explore(&LOOM, Budget::default(), body);
    let f = o.finding.expect("a model error");
    match &f.failure {
        ptcheck_checks::Failure::ModelError(m) => {
            assert!(m.contains("reads guard `pmd-recheck`"), "{m}");
            assert!(m.contains("does not declare"), "{m}");
        }
        other => panic!("expected a model error, got {other:?}"),
    }
    // The real scenario declares it, and every path's guards are among its declared ones.
    let o = explore(
        &LOOM,
        Budget::default(),
        ptcheck::matrix::body_for(&PMD_CLEAR_WALK, policy, PMD_CLEAR_WALK.all_guards()),
    );
    assert!(o.finding.is_none());
    assert!(PMD_CLEAR_WALK.declared().contains(o.guards_read));
    assert!(o
        .guards_read
        .contains(Guards::PMD_RECHECK | Guards::COLLAPSE_SYNC_IPI));
}

/// The 2014 split race frees tail page B while the split pte still maps it, and leaks a head
/// reference: the most severe of the two is reported, naming page B.
#[test]
fn the_most_severe_end_state_finding_is_reported_and_names_its_page() {
    let cell = ptcheck::matrix::Cell::parse("thp-split-vs-gup-fast/arm64/no-splitting-check")
        .expect("cell");
    let o = cell.check(&LOOM, Budget::default());
    let f = o.finding.expect("found");
    match &f.failure {
        ptcheck_checks::Failure::Violation(ptcheck_model::Violation::FreedWhileMapped {
            frame,
            what,
            ..
        }) => {
            assert_eq!(frame, "page B");
            assert!(what.contains("still mapped"), "{what}");
        }
        other => panic!("expected freed-while-mapped, got {other:?}"),
    }
}

/// When loom's first counterexample needs weak memory (the access came first in the trace,
/// only "not ordered" before the free), an interleaving-order one is searched for and printed.
#[test]
fn a_weak_memory_counterexample_comes_with_an_interleaving_order_one() {
    let cell =
        ptcheck::matrix::Cell::parse("pmd-clear-vs-lockless-walk/arm64/no-collapse-sync-ipi")
            .expect("cell");
    let o = cell.check(&LOOM, Budget::default());
    let f = o.finding.expect("found");
    assert!(f.weak_memory(), "{:?}", f.failure);
    let g = f
        .interleaving
        .as_ref()
        .expect("an interleaving-order counterexample");
    assert!(!g.weak_memory(), "{:?}", g.failure);
    assert!(matches!(
        &g.failure,
        ptcheck_checks::Failure::Violation(ptcheck_model::Violation::UseAfterFree {
            order: ptcheck_model::violation::UafOrder::AfterFree,
            ..
        })
    ));
    let text = ptcheck_checks::render::counterexample(&f);
    assert!(
        text.contains("An interleaving-order counterexample"),
        "{text}"
    );
}

/// A read of a value an earlier step overwrote is marked in the trace.
#[test]
fn stale_reads_are_marked() {
    use ptcheck_model::{Actor, EntryAccess, Event};
    let ev = |write: bool, value: u64| Event {
        actor: Actor::Cpu(if write { 1 } else { 0 }),
        func: "f",
        what: format!("{}", value).into(),
        access: Some(EntryAccess {
            entry: (1, 0),
            write,
            value,
        }),
    };
    let trace = vec![ev(true, 5), ev(false, 5), ev(true, 6), ev(false, 5)];
    assert_eq!(ptcheck_checks::render::stale_reads(&trace), vec![(3, 2)]);
    let table = ptcheck_checks::render::trace_table(&trace);
    assert!(table.contains("[stale: step 3 wrote it over]"), "{table}");
}
