//! How `explore` walks a cell's data choices (checks/src/run.rs, checks/src/choice_tree.rs):
//! only combinations whose points are met, round-robin so that a failing combination is found
//! before the others are explored to their end, and a safe verdict in one pass per combination.

use ptcheck_checks::{explore, Budget, Explorer};
use ptcheck_model::rt::{self, Atomic, Ordering};
use ptcheck_model::{Choice, Guards, WorldBuilder};
use std::sync::Arc;

const FIRST: Choice = Choice {
    name: "first attempt",
    options: &["allocated", "fails"],
};
const LATER: Choice = Choice {
    name: "later attempts",
    options: &["allocated", "fails"],
};
const WRITER: Choice = Choice {
    name: "writer",
    options: &["a", "b", "broken"],
};

/// Two threads racing on `n` atomics: many schedules (loom) for a combination to explore.
fn race(n: usize) {
    let xs: Arc<Vec<Atomic>> = Arc::new((0..n).map(|_| Atomic::new(0)).collect());
    let ys = xs.clone();
    let h = rt::spawn(move || {
        for x in ys.iter() {
            x.store(1, Ordering::Relaxed);
        }
    });
    for x in xs.iter() {
        x.load(Ordering::Relaxed);
    }
    h.join();
}

fn explorers() -> [Explorer; 3] {
    [
        Explorer::Loom { bound: None },
        Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations: 500,
        },
        Explorer::Dfs {
            max_iterations: None,
            bound: None,
        },
    ]
}

#[test]
fn a_point_met_only_under_another_is_never_combined_without_it() {
    for e in explorers() {
        let o = explore(
            &e,
            Budget::default(),
            Arc::new(|choices| {
                let w = WorldBuilder::new(1, Guards::all(), choices).build();
                if w.choose(FIRST) {
                    w.choose(LATER);
                }
                race(2);
            }),
        );
        let combos: Vec<String> = o.combos.iter().map(|c| Choice::describe(c)).collect();
        assert_eq!(
            combos,
            [
                "",
                "first attempt = fails",
                "first attempt = fails, later attempts = fails"
            ],
            "{e}"
        );
        assert!(o.finding.is_none() && o.complete, "{e}");
    }
}

#[test]
fn a_failing_combination_is_found_before_the_others_are_explored_to_their_end() {
    for e in explorers() {
        let body = Arc::new(|choices: &[ptcheck_model::Picked]| {
            let w = WorldBuilder::new(1, Guards::all(), choices).build();
            let broken = w.pick(WRITER) == 2;
            race(4);
            assert!(!broken, "the broken writer");
        });
        let o = explore(&e, Budget::default(), body.clone());
        let f = o.finding.as_ref().expect("found");
        assert_eq!(Choice::describe(&f.choices), "writer = broken", "{e}");
        // Exploring one safe combination alone:
        let safe = explore(
            &e,
            Budget::default(),
            Arc::new(|choices: &[ptcheck_model::Picked]| {
                let _w = WorldBuilder::new(1, Guards::all(), choices).build();
                race(4);
            }),
        );
        let (first, _) = o.first_found.expect("first_found is set with a finding");
        assert!(
            first < safe.executions,
            "{e}: found after {first} executions, one safe combination takes {}",
            safe.executions
        );
    }
}

#[test]
fn a_safe_loom_verdict_explores_each_combination_once_at_its_bound() {
    let bound = Some(2);
    let body = Arc::new(|choices: &[ptcheck_model::Picked]| {
        let w = WorldBuilder::new(1, Guards::all(), choices).build();
        w.pick(WRITER);
        race(3);
    });
    let o = explore(&Explorer::Loom { bound }, Budget::default(), body);
    assert_eq!(o.combos.len(), 3);
    // Every combination runs the same race: the same number of executions, that of one loom
    // run at bound 2 (counted directly), not the sum over bounds 0, 1 and 2.
    let direct = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let d = direct.clone();
    let mut b = loom::model::Builder::new();
    b.preemption_bound = bound;
    rt::set_backend(rt::Backend::Loom);
    b.check(move || {
        d.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        race(3);
    });
    let one = direct.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(o.combo_executions, vec![one; 3]);
}

/// Eight writers; only the last one asks about the guard the variant switches off, and it
/// fails on its 40th execution (a bug that needs that many schedules of its combination).
const EIGHT: Choice = Choice {
    name: "writer",
    options: &["a", "b", "c", "d", "e", "f", "g", "asks"],
};

static ASKS_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The guard the last writer asks about: a plain one, or a recheck (`Guards::RECHECKS`).
fn asked_guard(recheck: bool) -> Guards {
    if recheck {
        Guards::RETRACT_RECHECK
    } else {
        Guards::GET_UNLESS_ZERO
    }
}

/// `recheck`: the last writer asks at a recheck whose state nobody writes
/// (`World::guard_check`), which ranks above never asking, not a plain guard.
fn eight_writers(fails: bool, recheck: bool) -> ptcheck_checks::Body {
    Arc::new(move |choices: &[ptcheck_model::Picked]| {
        let g = asked_guard(recheck);
        let w = WorldBuilder::new(1, Guards::all() - g, choices).build();
        let asks = w.pick(EIGHT) == 7;
        let off = asks
            && !(if recheck {
                w.guard_check(g)
            } else {
                w.guard(g)
            });
        if off {
            let n = ASKS_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            assert!(!fails || n < 40, "the guard-off writer, 40th run");
        }
        // Six stores against six loads: hundreds of schedules, so that PCT and random (which
        // never run one twice, checks/src/no_repeat.rs) have 200 to run in each combination.
        race(6);
    })
}

/// PCT and random, 200 iterations per combination: the explorers `explore_focused` reorders for.
fn shuttle_explorers() -> [Explorer; 2] {
    [
        Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations: 200,
        },
        Explorer::Random {
            seed: 1,
            iterations: 200,
        },
    ]
}

/// With focus, the last of the eight combinations (the one that fails) ran at least twice as
/// often as each of the others, and the bug came in under half the executions it took without.
fn first_ran_and_paid(
    e: &Explorer,
    plain: &ptcheck_checks::Outcome,
    focused: &ptcheck_checks::Outcome,
) {
    let (p, _) = plain.first_found.expect("found without focus");
    let (f, _) = focused.first_found.expect("found with focus");
    let last = focused.combo_executions[7];
    assert!(
        focused.combo_executions[..7].iter().all(|&n| 2 * n <= last),
        "{e}: the waiting combinations ran as much: {:?}",
        focused.combo_executions
    );
    assert!(
        2 * f < p,
        "{e}: {f} executions with focus, {p} without ({:?} vs {:?})",
        focused.combo_executions,
        plain.combo_executions
    );
}

#[test]
fn pct_and_random_defer_combinations_that_never_ask_about_the_guards_off() {
    use ptcheck_checks::explore_focused;
    for (e, recheck) in shuttle_explorers()
        .into_iter()
        .flat_map(|e| [(e.clone(), false), (e, true)])
    {
        let focus = asked_guard(recheck);
        // Broken: the combination that asks runs every round, the others every 4th.
        ASKS_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
        let plain = explore(&e, Budget::default(), eight_writers(true, recheck));
        ASKS_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
        let focused = explore_focused(&e, Budget::default(), eight_writers(true, recheck), focus);
        assert_eq!(
            plain.finding.as_ref().map(|f| Choice::describe(&f.choices)),
            focused
                .finding
                .as_ref()
                .map(|f| Choice::describe(&f.choices)),
            "{e}"
        );
        first_ran_and_paid(&e, &plain, &focused);
        // Safe: the order changes, not the work. Every combination runs its whole budget.
        let safe_plain = explore(&e, Budget::default(), eight_writers(false, recheck));
        let safe_focused =
            explore_focused(&e, Budget::default(), eight_writers(false, recheck), focus);
        assert!(
            safe_focused.finding.is_none() && safe_focused.complete,
            "{e}"
        );
        assert_eq!(safe_plain.combo_executions, vec![200; 8], "{e}");
        assert_eq!(safe_focused.combo_executions, vec![200; 8], "{e}");
    }
    let focus = asked_guard(false);
    // loom keeps the plain round-robin: the same executions with and without focus.
    let e = Explorer::Loom { bound: None };
    ASKS_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
    let plain = explore(&e, Budget::default(), eight_writers(false, false));
    ASKS_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
    let focused = explore_focused(&e, Budget::default(), eight_writers(false, false), focus);
    assert_eq!(plain.combo_executions, focused.combo_executions);
}

#[test]
fn a_dfs_stopped_at_its_schedule_cap_is_incomplete_not_safe() {
    let body = || -> ptcheck_checks::Body {
        Arc::new(|choices| {
            let _w = WorldBuilder::new(2, Guards::all(), choices).build();
            race(3);
        })
    };
    let capped = explore(
        &Explorer::Dfs {
            max_iterations: Some(5),
            bound: None,
        },
        Budget::default(),
        body(),
    );
    assert!(capped.capped() && capped.complete, "{}", capped.coverage());
    assert_eq!(capped.verdict(), "incomplete");
    assert!(capped.coverage().contains("STOPPED AT THE SCHEDULE CAP"));
    let all = explore(
        &Explorer::Dfs {
            max_iterations: None,
            bound: None,
        },
        Budget::default(),
        body(),
    );
    assert!(!all.capped() && all.executions > 5, "{}", all.coverage());
    assert_ne!(all.verdict(), "incomplete");
    // A cap above the number of schedules is not reached.
    let roomy = explore(
        &Explorer::Dfs {
            max_iterations: Some(all.executions as usize + 1),
            bound: None,
        },
        Budget::default(),
        body(),
    );
    assert!(!roomy.capped(), "{}", roomy.coverage());
}

const REFILL_WRITER: Choice = Choice {
    name: "writer",
    options: &["retract", "collapse", "refill"],
};
const WALKER: Choice = Choice {
    name: "walker",
    options: &["reader", "installer", "gup"],
};
const REFILL_WALKER: Choice = Choice {
    name: "walker against the refill",
    options: &["reader", "gup"],
};

/// The shape of pte-free-defer-vs-retract on x86-PAE: the world picks its writer, then its
/// walker from one point, or from another when the writer is the refill. `walker = installer`
/// (met with the default writer) combined with `writer = refill` never meets `walker`: it would
/// run exactly what `writer = refill` runs. Such combinations are dropped after one
/// execution, by every explorer; the others run as before.
#[test]
fn a_combination_that_turns_off_a_point_it_forces_is_dropped_as_a_repeat() {
    let body = || {
        Arc::new(|choices: &[ptcheck_model::Picked]| {
            let mut b = WorldBuilder::new(1, Guards::all(), choices);
            let writer = b.pick(REFILL_WRITER);
            let _walker = if writer == 2 {
                b.pick(REFILL_WALKER)
            } else {
                b.pick(WALKER)
            };
            let _w = b.build();
            race(3);
        })
    };
    for e in explorers() {
        let o = explore(&e, Budget::default(), body());
        let mut combos: Vec<String> = o.combos.iter().map(|c| Choice::describe(c)).collect();
        combos.sort();
        // 3 writers x 3 walkers, less the refill's 3, plus the refill's 2 walkers.
        assert_eq!(combos.len(), 3 * 3 - 3 + 2, "{e}: {combos:?}");
        for c in &o.combos {
            let refill = REFILL_WRITER.picked(c) == 2;
            assert!(
                !(refill && c.iter().any(|(p, _)| p.name == WALKER.name)),
                "{e}: a repeat was explored: {}",
                Choice::describe(c)
            );
        }
        assert!(o.finding.is_none() && o.complete, "{e}");
        // Every kept combination ran its whole exploration; each of the two repeats (`walker =
        // installer` and `walker = gup` with the refill), one execution, and no combination
        // grew out of them.
        let kept: u64 = o.combo_executions.iter().sum();
        assert_eq!(o.executions, kept + 2, "{e}: {:?}", o.combo_executions);
        if matches!(e, Explorer::Loom { .. }) {
            let one = o.combo_executions[0];
            assert!(o.combo_executions.iter().all(|&n| n == one), "{e}");
        }
    }
}

/// The shape of speculative-fault-vs-munmap: the batch page allocation (a point met while the
/// CPUs run) is met by munmap's table free, never by the other writers. `first attempt =
/// fails` (met with the default writer) combined with `writer = b` runs what `writer = b`
/// runs; only an exhaustive exploration of `writer = b` can tell, so loom waits for it and
/// then drops the combination; PCT and DFS, which do not wait, keep it.
#[test]
fn under_loom_a_combination_whose_runtime_point_the_other_never_meets_is_dropped() {
    let body = Arc::new(|choices: &[ptcheck_model::Picked]| {
        let w = WorldBuilder::new(1, Guards::all(), choices).build();
        let writer = w.pick(WRITER);
        race(3);
        if writer == 0 {
            w.choose(FIRST);
        }
    });
    for e in explorers() {
        let o = explore(&e, Budget::default(), body.clone());
        let combos: Vec<String> = o.combos.iter().map(|c| Choice::describe(c)).collect();
        assert!(o.finding.is_none() && o.complete, "{e}");
        let repeats = [
            "first attempt = fails, writer = b",
            "first attempt = fails, writer = broken",
        ];
        if matches!(e, Explorer::Loom { .. }) {
            assert_eq!(
                combos,
                ["", "writer = b", "writer = broken", "first attempt = fails"],
                "{e}"
            );
            // Each repeat ran one execution before it waited.
            let kept: u64 = o.combo_executions.iter().sum();
            assert_eq!(o.executions, kept + 2, "{e}");
        } else {
            assert!(
                repeats.iter().all(|r| combos.iter().any(|c| c == r)),
                "{e}: {combos:?}"
            );
        }
    }
}

/// The waiting must not become a drop where the point is met in some schedules only: with
/// `writer = b` the allocation is reached only when CPU1's store came first, which loom's first
/// execution of `first attempt = fails, writer = b` does not do. That combination, and only it,
/// is broken: it must be kept, explored, and found, by every explorer.
#[test]
fn a_combination_whose_runtime_point_some_schedules_meet_is_kept_and_explored() {
    let body = Arc::new(|choices: &[ptcheck_model::Picked]| {
        let w = WorldBuilder::new(1, Guards::all(), choices).build();
        let writer = w.pick(WRITER);
        let x = Arc::new(Atomic::new(0));
        let y = x.clone();
        let h = rt::spawn(move || y.store(1, Ordering::Relaxed));
        let seen = x.load(Ordering::Relaxed);
        h.join();
        if writer == 0 || (writer == 1 && seen == 1) {
            let fails = w.choose(FIRST);
            assert!(!(fails && writer == 1), "the broken combination");
        }
    });
    for e in explorers() {
        let o = explore(&e, Budget::default(), body.clone());
        let f = o
            .finding
            .as_ref()
            .unwrap_or_else(|| panic!("{e}: not found"));
        assert_eq!(
            Choice::describe(&f.choices),
            "first attempt = fails, writer = b",
            "{e}"
        );
    }
}

/// Eight walkers; every one reaches a recheck the variant switches off, and its first check
/// reads the state; only the last one's other CPU writes that state, so only there could the
/// skipped recheck fire. It fails on its `fail_at`th execution.
const RECHECKED: Choice = Choice {
    name: "walker",
    options: &["a", "b", "c", "d", "e", "f", "g", "writes the state"],
};

static WRITES_RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn eight_rechecks(fail_at: Option<u64>) -> ptcheck_checks::Body {
    Arc::new(move |choices: &[ptcheck_model::Picked]| {
        let g = Guards::RETRACT_RECHECK;
        let w = WorldBuilder::new(1, Guards::all() - g, choices).build();
        let writes = w.pick(RECHECKED) == 7;
        // The first, unguarded check.
        w.guarded_state(g, false);
        if writes {
            w.guarded_state(g, true);
        }
        if !w.guard_check(g) && writes {
            let n = WRITES_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            assert!(
                fail_at.is_none_or(|k| n < k),
                "the recheck skipped, run {n}"
            );
        }
        race(6);
    })
}

#[test]
fn a_skipped_recheck_is_fired_only_where_its_state_is_read_and_written() {
    use ptcheck_model::exec;
    rt::set_backend(rt::Backend::Shuttle);
    // `asks`: a plain guard read (GET_UNLESS_ZERO), a recheck read (RETRACT_RECHECK), or
    // (None) the path never got to the recheck.
    let fired = |on: bool, read: bool, write: bool, asks: Option<bool>| {
        let g = asked_guard(asks != Some(true));
        exec::reset();
        {
            let guards = if on { Guards::all() } else { Guards::all() - g };
            let w = WorldBuilder::new(1, guards, &[]).build();
            if read {
                w.guarded_state(g, false);
            }
            if write {
                w.guarded_state(g, true);
            }
            match asks {
                Some(true) => drop(w.guard(g)),
                Some(false) => drop(w.guard_check(g)),
                None => {}
            }
        }
        exec::stats().guards_fired.contains(g)
    };
    let (plain, recheck) = (Some(true), Some(false));
    assert!(fired(false, true, true, recheck));
    assert!(!fired(false, true, false, recheck));
    assert!(!fired(false, false, true, recheck));
    assert!(!fired(false, false, false, recheck));
    assert!(
        !fired(true, true, true, recheck),
        "a guard switched on never fires"
    );
    // The state read and written sets up the race the recheck closes, even where the path
    // backed off before the recheck (retract's first check saw anon_vma set).
    assert!(fired(false, true, true, None));
    // A plain guard cannot tell whether its step mattered: read while off, it counts as fired.
    assert!(fired(false, false, false, plain));
    assert!(!fired(true, false, false, plain));
}

#[test]
fn pct_and_random_run_first_the_combinations_where_a_skipped_recheck_could_fire() {
    use ptcheck_checks::explore_focused;
    let focus = Guards::RETRACT_RECHECK;
    for e in shuttle_explorers() {
        WRITES_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
        let plain = explore(&e, Budget::default(), eight_rechecks(Some(40)));
        WRITES_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
        let focused = explore_focused(&e, Budget::default(), eight_rechecks(Some(40)), focus);
        // Every walker asks about the recheck; the ones whose state nobody writes wait.
        first_ran_and_paid(&e, &plain, &focused);
        // Its 20th execution comes in round 4 (slices 1, 2, 4, 8, 16), a turn of the waiting
        // combinations too: it runs before them, so they have run their first execution only.
        WRITES_RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
        let early = explore_focused(&e, Budget::default(), eight_rechecks(Some(20)), focus);
        assert_eq!(
            early.combo_executions,
            [1, 1, 1, 1, 1, 1, 1, 20],
            "{e}: the waiting combinations' slices came first"
        );
        // Safe: every combination still runs its whole budget.
        let safe = explore_focused(&e, Budget::default(), eight_rechecks(None), focus);
        assert!(safe.finding.is_none() && safe.complete, "{e}");
        assert_eq!(safe.combo_executions, vec![200; 8], "{e}");
    }
}
