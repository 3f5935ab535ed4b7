//! Executions run with the trace only counting steps; a failing one is run again, exactly,
//! with the trace recording (checks/src/search.rs, `Search::watch_again`). The counterexample's
//! steps come from that rerun, the rerun is not counted, and a model whose rerun does not fail
//! the same way is reported as not deterministic rather than shown with another run's steps.

use ptcheck_checks::{explore, Budget, Explorer, Failure};
use ptcheck_model::rt::{self, Atomic, Ordering};
use ptcheck_model::{trace, violation, Ctx, Guards, Violation, WorldBuilder};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

fn explorers() -> [Explorer; 4] {
    [
        Explorer::Loom { bound: None },
        Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations: 200,
        },
        Explorer::Random {
            seed: 1,
            iterations: 200,
        },
        Explorer::Dfs {
            max_iterations: None,
            bound: None,
        },
    ]
}

/// Two CPUs: CPU1 sets a flag; CPU0 notes what it read and fails if it saw the flag set. Every
/// explorer finds the failing order after some passing executions.
fn flag_race(fail: impl Fn() -> bool + Send + Sync + 'static) -> ptcheck_checks::Body {
    let fail = Arc::new(fail);
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::all(), choices).build();
        let flag = Arc::new(Atomic::new(0));
        let f1 = flag.clone();
        let c1 = Ctx::cpu(&w, 1);
        let h = rt::spawn(move || {
            f1.store(1, Ordering::Relaxed);
            c1.note("writer", "flag := 1");
        });
        let c0 = Ctx::cpu(&w, 0);
        let seen = flag.load(Ordering::Relaxed);
        c0.note(
            "reader",
            if seen == 1 {
                "read flag = 1"
            } else {
                "read flag = 0"
            },
        );
        if seen == 1 && fail() {
            violation::raise_own("saw-flag", "the reader saw the flag");
        }
        h.join();
    })
}

#[test]
fn the_failing_execution_is_shown_with_its_own_steps_and_counted_once() {
    for e in explorers() {
        let o = explore(&e, Budget::default(), flag_race(|| true));
        let f = o
            .finding
            .as_ref()
            .unwrap_or_else(|| panic!("{e}: no finding"));
        assert!(
            matches!(
                &f.failure,
                Failure::Violation(Violation::Own {
                    name: "saw-flag",
                    ..
                })
            ),
            "{e}: {:?}",
            f.failure
        );
        let steps: Vec<String> = f.trace.iter().map(|s| s.what.to_string()).collect();
        assert!(
            steps.contains(&"read flag = 1".to_string()),
            "{e}: {steps:?}"
        );
        assert!(steps.contains(&"flag := 1".to_string()), "{e}: {steps:?}");
        // The reruns are not counted: with recording off (no rerun, no steps) the same
        // executions run.
        let was = trace::set_recording(false);
        let quiet = explore(&e, Budget::default(), flag_race(|| true));
        trace::set_recording(was);
        assert_eq!(quiet.executions, o.executions, "{e}");
        let q = quiet
            .finding
            .as_ref()
            .expect("found with recording off too");
        assert_eq!(q.failure, f.failure, "{e}");
        assert!(q.trace.is_empty(), "{e}: recording off, no rerun: no steps");
    }
}

#[test]
fn a_failure_that_does_not_happen_again_is_reported_as_a_model_error() {
    for e in explorers() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        // Fails the first time the reader sees the flag, never again: the rerun passes.
        let o = explore(
            &e,
            Budget::default(),
            flag_race(move || r.fetch_add(1, Relaxed) == 0),
        );
        let f = o
            .finding
            .as_ref()
            .unwrap_or_else(|| panic!("{e}: no finding"));
        match &f.failure {
            Failure::ModelError(m) => assert!(m.contains("not deterministic"), "{e}: {m}"),
            other => panic!("{e}: {other:?}"),
        }
    }
}
