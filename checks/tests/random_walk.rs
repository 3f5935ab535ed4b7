//! The `random` explorer's walk (checks/src/random_walk.rs): it finds a bug that needs one
//! thread to run many steps while another is stopped, where shuttle's uniform draws rarely
//! do; it still reaches every schedule of a small program; a seed gives the same schedules.

use ptcheck_checks::{explore, Budget, Explorer};
use ptcheck_model::rt::{self, Atomic, Ordering};
use ptcheck_model::{violation, Guards, WorldBuilder};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Steps the writer must run between the reader's two loads.
const RUN: u64 = 12;

/// The reader loads `x` twice; the writer stores 1, 2, .. RUN. The bug: the reader's first load
/// sees none of the stores and its second sees the last, so the writer ran all of them while
/// the reader was stopped between its loads.
fn long_run(choices: &[ptcheck_model::Picked]) {
    // A world of its own: what counts an execution.
    let _w = WorldBuilder::new(2, Guards::all(), choices).build();
    let x = Arc::new(Atomic::new(0));
    let y = x.clone();
    let h = rt::spawn(move || {
        for v in 1..=RUN {
            y.store(v, Ordering::Relaxed);
        }
    });
    let first = x.load(Ordering::Relaxed);
    let second = x.load(Ordering::Relaxed);
    if first == 0 && second == RUN {
        violation::raise_own(
            "long-run",
            "the writer ran every store between the two loads",
        );
    }
    h.join();
}

fn random(seed: u64, iterations: usize) -> Explorer {
    Explorer::Random { seed, iterations }
}

#[test]
fn the_walk_finds_a_long_uninterrupted_run_within_1000_executions_at_every_seed() {
    for seed in 1..=10 {
        let o = explore(&random(seed, 1_000), Budget::default(), Arc::new(long_run));
        let (n, _) = o
            .first_found
            .unwrap_or_else(|| panic!("seed {seed}: not found"));
        assert!((1..=1_000).contains(&n), "seed {seed}: {n}");
    }
}

/// Seeds 1-10 at which `scheduler(seed)` finds the long run within 1,000 executions, run
/// straight through shuttle's runner.
fn seeds_finding_the_long_run<S: shuttle::scheduler::Scheduler + 'static>(
    scheduler: impl Fn(u64) -> S,
) -> usize {
    rt::set_backend(rt::Backend::Shuttle);
    let found = (1..=10u64)
        .filter(|&seed| {
            let mut cfg = shuttle::Config::new();
            cfg.silence_warnings = true;
            let s = scheduler(seed);
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                shuttle::Runner::new(s, cfg).run(|| long_run(&[]));
            }))
            .is_err()
        })
        .count();
    let _ = violation::take_raised();
    found
}

#[test]
fn uniform_draws_rarely_find_the_long_run_and_the_walk_always_does() {
    // Why the walk exists: one uniform draw per scheduling point runs the writer's 12 stores
    // back to back with probability about 2^-12. The same runner and the same bug for both, so
    // the walk's 10 also shows the bug is reachable this way.
    let uniform = seeds_finding_the_long_run(|seed| {
        shuttle::scheduler::RandomScheduler::new_from_seed(seed, 1_000)
    });
    let walk = seeds_finding_the_long_run(|seed| {
        ptcheck_checks::random_walk::RandomWalk::new(seed, 1_000)
    });
    assert!(uniform <= 3, "uniform draws found it at {uniform} seeds");
    assert_eq!(walk, 10);
}

#[test]
fn the_walk_reaches_every_schedule_of_a_small_program() {
    // Two threads, two increments each of one counter: the values each thread gets name the
    // interleaving, and there are six. The rarest, alternating at every step, needs three
    // switches (about 1/12 each with two threads runnable): about 12 of 20,000 draws.
    let seen: Arc<Mutex<HashSet<(u64, u64)>>> = Arc::default();
    let s = seen.clone();
    let o = explore(
        &random(7, 20_000),
        Budget::default(),
        Arc::new(move |choices| {
            let _w = WorldBuilder::new(2, Guards::all(), choices).build();
            let c = Arc::new(Atomic::new(0));
            let d = c.clone();
            let h = rt::spawn(move || {
                d.fetch_add(1, Ordering::Relaxed);
                d.fetch_add(1, Ordering::Relaxed);
            });
            let a = c.fetch_add(1, Ordering::Relaxed);
            let b = c.fetch_add(1, Ordering::Relaxed);
            h.join();
            s.lock().unwrap().insert((a, b));
        }),
    );
    // Each schedule runs once (checks/src/no_repeat.rs): the walk stops long before its
    // 20,000 iterations, once every schedule has run.
    assert!(
        o.finding.is_none() && o.executions < 100,
        "{:?} {}",
        o.finding.map(|f| f.failure),
        o.executions
    );
    // (a, b): the main thread's two values, one pair per interleaving.
    let all: HashSet<(u64, u64)> = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
        .into_iter()
        .collect();
    assert_eq!(*seen.lock().unwrap(), all);
}

#[test]
fn a_seed_gives_the_same_schedules() {
    let run = || {
        let o = explore(&random(3, 1_000), Budget::default(), Arc::new(long_run));
        (
            o.first_found.map(|(n, _)| n),
            o.finding.and_then(|f| f.schedule),
        )
    };
    let first = run();
    assert!(first.0.is_some() && first.1.is_some(), "{first:?}");
    assert_eq!(first, run());
}
