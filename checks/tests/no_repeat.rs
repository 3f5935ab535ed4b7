//! PCT and random without repeated schedules (checks/src/no_repeat.rs): on their own they run
//! the same schedule again and again; wrapped, every execution is a schedule not run before,
//! and once every schedule has run the search stops, having run exactly the schedules an
//! exhaustive DFS runs.

use ptcheck_checks::no_repeat::NoRepeat;
use ptcheck_checks::random_walk::RandomWalk;
use ptcheck_checks::{explore, Budget, Explorer};
use ptcheck_model::rt::{self, Atomic, Ordering};
use ptcheck_model::{Guards, WorldBuilder};
use shuttle::scheduler::{PctScheduler, Schedule, Scheduler, Task, TaskId};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Two threads, two increments each of one counter, and a third increment after a load: a
/// small program whose schedules are few (the values each thread gets name most of them).
fn increments(choices: &[ptcheck_model::Picked]) {
    let _w = WorldBuilder::new(2, Guards::all(), choices).build();
    let c = Arc::new(Atomic::new(0));
    let d = c.clone();
    let h = rt::spawn(move || {
        d.fetch_add(1, Ordering::Relaxed);
        if d.load(Ordering::Relaxed) < 3 {
            d.fetch_add(1, Ordering::Relaxed);
        }
    });
    c.fetch_add(1, Ordering::Relaxed);
    c.fetch_add(1, Ordering::Relaxed);
    h.join();
}

/// Records each execution's choices (the thread taken at every point with two or more
/// runnable), in order.
struct Recorder<S> {
    inner: S,
    current: Vec<usize>,
    done: Arc<Mutex<Vec<Vec<usize>>>>,
    started: bool,
}

impl<S: Scheduler> Scheduler for Recorder<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            self.done
                .lock()
                .unwrap()
                .push(std::mem::take(&mut self.current));
        }
        let s = self.inner.new_execution();
        self.started = s.is_some();
        s
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        if runnable.len() > 1 {
            self.current.push(usize::from(t));
        }
        Some(t)
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

/// The schedules `scheduler` runs of [`increments`], straight through shuttle's runner.
fn schedules<S: Scheduler + 'static>(scheduler: S) -> Vec<Vec<usize>> {
    rt::set_backend(rt::Backend::Shuttle);
    let done = Arc::new(Mutex::new(Vec::new()));
    let r = Recorder {
        inner: scheduler,
        current: Vec::new(),
        done: done.clone(),
        started: false,
    };
    let mut cfg = shuttle::Config::new();
    cfg.silence_warnings = true;
    shuttle::Runner::new(r, cfg).run(|| increments(&[]));
    let v = done.lock().unwrap().clone();
    v
}

/// Every schedule of [`increments`], by an exhaustive DFS.
fn every_schedule() -> HashSet<Vec<usize>> {
    let all = schedules(shuttle::scheduler::DfsScheduler::new(None, false));
    let set: HashSet<Vec<usize>> = all.iter().cloned().collect();
    assert_eq!(set.len(), all.len(), "DFS runs each schedule once");
    set
}

#[test]
fn on_their_own_pct_and_the_walk_repeat_schedules() {
    // Why the wrapper exists: the premise, measured on this program.
    let n = every_schedule().len();
    for run in [
        schedules(PctScheduler::new_from_seed(1, 3, 1_000)),
        schedules(RandomWalk::new(1, 1_000)),
    ] {
        let distinct: HashSet<_> = run.iter().cloned().collect();
        assert_eq!(run.len(), 1_000);
        // At most `n` of the 1,000 are distinct: over 95% repeat one already run.
        assert!(n < 50 && distinct.len() <= n, "{} of {n}", distinct.len());
    }
}

#[test]
fn wrapped_they_run_each_schedule_once_then_stop_having_run_every_one() {
    let all = every_schedule();
    for seed in 1..=5 {
        for run in [
            schedules(NoRepeat::new(
                PctScheduler::new_from_seed(seed, 3, 100_000),
                seed,
            )),
            schedules(NoRepeat::new(RandomWalk::new(seed, 100_000), seed)),
        ] {
            let distinct: HashSet<_> = run.iter().cloned().collect();
            assert_eq!(
                distinct.len(),
                run.len(),
                "seed {seed}: a schedule ran twice"
            );
            assert_eq!(distinct, all, "seed {seed}: not every schedule, or others");
        }
    }
}

#[test]
fn the_first_choice_is_the_wrapped_schedulers_own() {
    // Steering changes a choice only where the wrapped scheduler's leads to schedules already
    // run: the first execution is the scheduler's, unchanged.
    let plain = schedules(PctScheduler::new_from_seed(4, 3, 1));
    let wrapped = schedules(NoRepeat::new(PctScheduler::new_from_seed(4, 3, 1), 4));
    assert_eq!(plain, wrapped);
}

#[test]
fn the_explorers_stop_once_every_schedule_has_run() {
    let n = every_schedule().len() as u64;
    for e in [
        Explorer::Pct {
            seed: 2,
            depth: 3,
            iterations: 20_000,
        },
        Explorer::Random {
            seed: 2,
            iterations: 20_000,
        },
    ] {
        let o = explore(&e, Budget::default(), Arc::new(increments));
        assert!(o.finding.is_none(), "{e}");
        assert_eq!(o.executions, n, "{e}");
        assert!(o.complete, "{e}");
    }
}

static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A model that is not deterministic: every other execution makes one more access before the
/// second thread exists, so the same (empty) path leads to the first choice point after more
/// scheduling decisions. (Nondeterminism that only changes a path no other execution takes
/// cannot be seen by a search that never repeats a path: exhaustive there, as for shuttle's DFS,
/// assumes the model is deterministic, which the rerun of every failing execution checks.)
fn not_deterministic(choices: &[ptcheck_model::Picked]) {
    let _w = WorldBuilder::new(2, Guards::all(), choices).build();
    let odd = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2 == 1;
    let c = Arc::new(Atomic::new(0));
    if odd {
        c.fetch_add(1, Ordering::Relaxed);
    }
    let d = c.clone();
    let h = rt::spawn(move || {
        d.fetch_add(1, Ordering::Relaxed);
        d.fetch_add(1, Ordering::Relaxed);
    });
    c.fetch_add(1, Ordering::Relaxed);
    c.fetch_add(1, Ordering::Relaxed);
    h.join();
}

#[test]
fn a_model_that_is_not_deterministic_is_never_called_exhausted() {
    for e in [
        Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations: 300,
        },
        Explorer::Random {
            seed: 1,
            iterations: 300,
        },
    ] {
        RUNS.store(0, std::sync::atomic::Ordering::Relaxed);
        let o = explore(&e, Budget::default(), Arc::new(not_deterministic));
        assert!(o.finding.is_none(), "{e}");
        assert!(!o.every_schedule, "{e}: {}", o.coverage());
        assert_eq!(o.executions, 300, "{e}");
    }
    // The same program made deterministic (the extra access always, or never) is exhausted
    // well within 300.
    let o = explore(
        &Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations: 300,
        },
        Budget::default(),
        Arc::new(increments),
    );
    assert!(o.every_schedule && o.executions < 300, "{}", o.coverage());
}
