//! One data-choice combination's exploration, run a slice of executions at a time.
//!
//! The driver ([`crate::run`]) interleaves the combinations of a cell so that a broken cell is
//! found within the budget of its cheapest failing combination instead of after every earlier
//! combination has been explored to its end. Both explorers can be paused between executions
//! without changing what they explore:
//!
//! - loom: [`loom::model::Exploration`] (a ptcheck addition to the vendored loom, see
//!   `vendor/loom/PTCHECK-PATCH.md`) keeps loom's DPOR path between slices; the executions and
//!   their order are those of one `Builder::check`.
//! - shuttle: the scheduler (PCT, random, DFS, replay) keeps its own state between slices; a
//!   slice is a `shuttle::Runner` over a wrapper that ends the run after `n` executions.
//!
//! Executions run with the trace only counting steps ([`trace::set_recording`]); an execution
//! that fails is run once more, exactly (loom: its recorded branches, `Exploration::rerun_last`;
//! shuttle: its schedule), with the trace recording, and that run's failure is the one returned
//! (with its steps in the trace). A rerun that fails differently, or not at all, is reported as
//! a model error (the model would not be deterministic).

use crate::bounded_dfs::BoundedDfs;
use crate::capture::{self, Failure};
use crate::explorer::{Budget, Explorer};
use crate::no_repeat::NoRepeat;
use crate::pct::Pct;
use crate::random_walk::RandomWalk;
use ptcheck_model::{exec, rt, trace, Picked};
use shuttle::scheduler::{DfsScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One execution of a cell, given the data choices forced for the run.
pub type Body = Arc<dyn Fn(&[Picked]) + Send + Sync>;

/// Where a combination's exploration stands after a slice.
#[derive(Debug)]
pub enum Progress {
    /// More executions to run.
    More,
    /// Every execution of the bound has run (`complete: false`: the time budget stopped it);
    /// `every_schedule`: PCT or random ran every sequentially consistent schedule, each once
    /// ([`crate::no_repeat`]), before its iterations ran out.
    Done {
        complete: bool,
        every_schedule: bool,
    },
    /// An execution failed: the failure and, under shuttle, its schedule string.
    Failed(Failure, Option<String>),
}

/// A combination's exploration in progress.
pub struct Search {
    kind: Kind,
    /// Time spent so far, against the budget of one combination.
    spent: Duration,
    budget: Duration,
}

enum Kind {
    Loom(Option<Box<loom::model::Exploration>>),
    Shuttle {
        /// The scheduler between slices (a running slice holds it, [`Slice`]).
        sched: Rc<Cell<Option<Box<dyn Scheduler>>>>,
        /// Set when the scheduler has run every schedule ([`NoRepeat`]; PCT and random).
        every: Option<Rc<std::cell::Cell<bool>>>,
        body: Body,
        combo: Vec<Picked>,
    },
}

impl Search {
    /// The search of `combo` by `explorer`; loom at preemption bound `bound` (`None`: every
    /// schedule), whatever the explorer's own bound.
    pub fn new(
        explorer: &Explorer,
        bound: Option<usize>,
        budget: Budget,
        body: &Body,
        combo: &[Picked],
    ) -> Search {
        let kind = match explorer {
            Explorer::Loom { .. } => {
                let mut b = loom::model::Builder::new();
                b.preemption_bound = bound;
                b.max_branches = budget.max_branches;
                let body = body.clone();
                let combo = combo.to_vec();
                Kind::Loom(Some(Box::new(b.exploration(move || body(&combo)))))
            }
            _ => {
                let (sched, every) = shuttle_scheduler(explorer);
                Kind::Shuttle {
                    sched: Rc::new(Cell::new(Some(sched))),
                    every,
                    body: body.clone(),
                    combo: combo.to_vec(),
                }
            }
        };
        Search {
            kind,
            spent: Duration::ZERO,
            budget: budget.time,
        }
    }

    /// Run up to `n` more executions.
    pub fn advance(&mut self, n: usize) -> Progress {
        let left = self.budget.saturating_sub(self.spent);
        if left.is_zero() {
            return Progress::Done {
                complete: false,
                every_schedule: false,
            };
        }
        let start = Instant::now();
        capture::reset();
        capture::set_exploring(true);
        let recording = trace::set_recording(false);
        let r = match &mut self.kind {
            Kind::Loom(x) => {
                rt::set_backend(rt::Backend::Loom);
                let Some(e) = x.as_mut() else {
                    capture::set_exploring(false);
                    return Progress::Done {
                        complete: true,
                        every_schedule: false,
                    };
                };
                let r = catch_unwind(AssertUnwindSafe(|| e.run(n)));
                if matches!(r, Ok(true)) {
                    *x = None;
                }
                r.map_err(|p| (p, None))
            }
            Kind::Shuttle {
                sched, body, combo, ..
            } => {
                rt::set_backend(rt::Backend::Shuttle);
                let slice = Slice {
                    // Handed back by the last slice's drop (shuttle drops its scheduler at the
                    // end of every run, one that panics included).
                    inner: sched.take().unwrap_or_else(|| {
                        // Not under the quiet panic hook: this is a bug of ptcheck's, to be seen.
                        capture::set_exploring(false);
                        panic!("internal error: the last slice did not hand its scheduler back")
                    }),
                    home: sched.clone(),
                    left: n,
                    exhausted: Rc::new(Cell::new(false)),
                };
                let exhausted = slice.exhausted_flag();
                let mut cfg = shuttle_config();
                cfg.max_time = Some(left);
                let body = body.clone();
                let combo = combo.clone();
                let r = crate::quiet::without_stderr(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        shuttle::Runner::new(slice, cfg).run(move || body(&combo))
                    }))
                });
                r.map(|_| exhausted.get()).map_err(|p| {
                    // The failing execution's schedule, as shuttle itself records it (and
                    // prints it from its own panic hook): the execution that panicked is the
                    // last one shuttle started on this thread.
                    let s = shuttle_engine::scheduler::serialization::serialize_schedule(
                        &shuttle_engine::runtime::execution::CurrentSchedule::get_schedule(),
                    );
                    (p, Some(s.replace('\n', "")))
                })
            }
        };
        capture::set_exploring(false);
        trace::set_recording(recording);
        let r = r.map_err(|(p, schedule)| {
            let failure = capture::classify(p);
            let failure = if recording {
                self.watch_again(failure, schedule.as_deref())
            } else {
                failure
            };
            (failure, schedule)
        });
        if let Kind::Loom(x) = &mut self.kind {
            if r.is_err() {
                // A failed exploration must not be resumed.
                *x = None;
            }
        }
        self.spent += start.elapsed();
        match r {
            Err((failure, schedule)) => Progress::Failed(failure, schedule),
            Ok(true) => Progress::Done {
                complete: true,
                every_schedule: self.every_schedule(),
            },
            Ok(false) if self.spent >= self.budget => Progress::Done {
                complete: false,
                every_schedule: false,
            },
            Ok(false) => Progress::More,
        }
    }

    /// Run the execution that just failed with `first` once more, exactly, with the trace
    /// recording: its steps are what the counterexample shows. The rerun is not counted
    /// ([`exec::stats`] is restored). Returns the rerun's failure, which must be `first`.
    fn watch_again(&mut self, first: Failure, schedule: Option<&str>) -> Failure {
        let stats = exec::stats();
        capture::reset();
        capture::set_exploring(true);
        let r = match (&mut self.kind, schedule) {
            (Kind::Loom(Some(e)), _) => {
                rt::set_backend(rt::Backend::Loom);
                catch_unwind(AssertUnwindSafe(|| e.rerun_last()))
            }
            (Kind::Shuttle { body, combo, .. }, Some(schedule)) => {
                rt::set_backend(rt::Backend::Shuttle);
                let cfg = shuttle_config();
                let (body, combo) = (body.clone(), combo.clone());
                let replay = ReplayScheduler::new_from_encoded(schedule);
                crate::quiet::without_stderr(|| {
                    catch_unwind(AssertUnwindSafe(|| {
                        shuttle::Runner::new(replay, cfg).run(move || body(&combo))
                    }))
                })
                .map(|_| ())
            }
            _ => Ok(()),
        };
        capture::set_exploring(false);
        exec::restore(stats);
        match r {
            Err(p) => match capture::classify(p) {
                again if again == first => again,
                again => Failure::ModelError(format!(
                    "the failing execution failed differently when run again ({first}; then \
                     {again}): the model is not deterministic"
                )),
            },
            Ok(()) => Failure::ModelError(format!(
                "the failing execution passed when run again ({first}): the model is not \
                 deterministic"
            )),
        }
    }

    /// Whether the scheduler ran every schedule ([`NoRepeat`]).
    fn every_schedule(&self) -> bool {
        matches!(&self.kind, Kind::Shuttle { every: Some(e), .. } if e.get())
    }

    /// Run to the end, or to the first failure.
    pub fn finish(&mut self) -> Progress {
        loop {
            match self.advance(MAX_SLICE) {
                Progress::More => continue,
                p => return p,
            }
        }
    }
}

impl Drop for Search {
    fn drop(&mut self) {
        // shuttle's random scheduler (and PCT, built on it) prints the seed of an execution it
        // saw start but not end when it is dropped: after a failure, or a pause. Keep it quiet
        // like the runs themselves; the schedule string is what a counterexample prints.
        if let Kind::Shuttle { sched, .. } = &mut self.kind {
            let s = sched.take();
            crate::quiet::without_stderr(move || drop(s));
        }
    }
}

/// The shuttle configuration of every run: quiet, no failure file, a step limit (a run past it
/// is a model error, not a finding).
fn shuttle_config() -> shuttle::Config {
    let mut cfg = shuttle::Config::new();
    cfg.silence_warnings = true;
    cfg.failure_persistence = shuttle::FailurePersistence::None;
    cfg.max_steps = shuttle::MaxSteps::FailAfter(50_000);
    cfg
}

/// A scheduler with no executions (what a dropped search leaves behind).
struct Empty;

impl Scheduler for Empty {
    fn new_execution(&mut self) -> Option<Schedule> {
        None
    }

    fn next_task(&mut self, _: &[&Task], _: Option<TaskId>, _: bool) -> Option<TaskId> {
        None
    }

    fn next_u64(&mut self) -> u64 {
        0
    }
}

/// Executions in round `r` of the round-robin: 1, 2, 4, .. up to [`MAX_SLICE`], so a
/// combination that fails early is found after about as many executions of every other
/// combination, and a long search pays a slice's setup (a shuttle runner, the panic guard)
/// once per thousands of executions.
pub fn slice(round: u32) -> usize {
    (1usize << round.min(12)).min(MAX_SLICE)
}

/// The largest slice.
pub const MAX_SLICE: usize = 4096;

/// The explorer a combination is searched with: PCT and random get a seed of their own per
/// combination (the explorer's seed for the default combination), so that the combinations
/// of a cell are independent samples instead of the same schedules replayed on other data.
/// The seed is derived from the combination's choices, so it is the same in every run.
pub fn for_combination(explorer: &Explorer, combo: &[Picked]) -> Explorer {
    if combo.is_empty() {
        return explorer.clone();
    }
    // FNV-1a over the forced alternatives, in a fixed order.
    let mut key: Vec<(&str, usize)> = combo.iter().map(|(c, i)| (c.name, *i)).collect();
    key.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, i) in key {
        for b in name.bytes().chain(i.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    match explorer {
        Explorer::Pct {
            seed,
            depth,
            iterations,
        } => Explorer::Pct {
            seed: seed ^ h,
            depth: *depth,
            iterations: *iterations,
        },
        Explorer::Random { seed, iterations } => Explorer::Random {
            seed: seed ^ h,
            iterations: *iterations,
        },
        other => other.clone(),
    }
}

/// The scheduler a shuttle explorer (PCT, random, DFS, replay) runs its executions with, for
/// running another program the way it runs a cell (`ptcheck bench --baseline`).
pub fn scheduler(explorer: &Explorer) -> Boxed {
    Boxed(shuttle_scheduler(explorer).0)
}

/// A boxed scheduler, as a scheduler (what [`scheduler`] returns).
pub struct Boxed(pub Box<dyn Scheduler>);

impl Scheduler for Boxed {
    fn new_execution(&mut self) -> Option<Schedule> {
        self.0.new_execution()
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.0.next_task(runnable, current, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// The scheduler of a shuttle explorer and, for PCT and random (wrapped in [`NoRepeat`]), the
/// flag it sets once it has run every schedule.
fn shuttle_scheduler(
    explorer: &Explorer,
) -> (Box<dyn Scheduler>, Option<Rc<std::cell::Cell<bool>>>) {
    fn no_repeat<S: Scheduler + 'static>(
        s: S,
        seed: u64,
    ) -> (Box<dyn Scheduler>, Option<Rc<std::cell::Cell<bool>>>) {
        let s = NoRepeat::new(s, seed);
        let every = s.exhausted_flag();
        (Box::new(s), Some(every))
    }
    match explorer {
        Explorer::Pct {
            seed,
            depth,
            iterations,
        } => no_repeat(Pct::new(*seed, *depth, *iterations), *seed),
        Explorer::Random { seed, iterations } => {
            no_repeat(RandomWalk::new(*seed, *iterations), *seed)
        }
        Explorer::Dfs {
            max_iterations,
            bound: None,
        } => (Box::new(DfsScheduler::new(*max_iterations, false)), None),
        Explorer::Dfs {
            max_iterations,
            bound: Some(b),
        } => (Box::new(BoundedDfs::new(*b, *max_iterations)), None),
        Explorer::Replay { schedule } => {
            (Box::new(ReplayScheduler::new_from_encoded(schedule)), None)
        }
        Explorer::Loom { .. } => unreachable!("loom runs through loom::model::Exploration"),
    }
}

/// A slice of a shuttle scheduler's executions: ends the run after `left` executions. (A
/// failing execution's schedule is the one shuttle records itself, `CurrentSchedule`: a copy
/// kept here, pushed at every step, cost about 1,900 instructions an execution of
/// `gup-fast-vs-munmap/x86-v6.14/correct` under PCT while it grew from empty in each, and 780
/// once its buffer was reused.) The slice holds the scheduler while it runs and puts it back
/// `home` when shuttle drops it at the end of the run (a panic included), so that a scheduling
/// decision borrows nothing.
struct Slice {
    inner: Box<dyn Scheduler>,
    home: Rc<Cell<Option<Box<dyn Scheduler>>>>,
    left: usize,
    /// Set when the inner scheduler has no execution left.
    exhausted: Rc<Cell<bool>>,
}

impl Slice {
    fn exhausted_flag(&self) -> Rc<Cell<bool>> {
        self.exhausted.clone()
    }
}

impl Drop for Slice {
    fn drop(&mut self) {
        self.home
            .set(Some(std::mem::replace(&mut self.inner, Box::new(Empty))));
    }
}

impl Scheduler for Slice {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let Some(s) = self.inner.new_execution() else {
            self.exhausted.set(true);
            return None;
        };
        Some(s)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.inner.next_task(runnable, current, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}
