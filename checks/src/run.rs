//! Driving a model body under loom or shuttle, over every data-choice combination.
//!
//! A *body* is one execution of a cell: it builds the world with the forced choices and runs
//! every CPU to the end, raising a violation on the way if an oracle fires. The drivers here
//! know nothing about page tables.

use crate::capture::{self, Failure};
use crate::explorer::{Budget, Explorer};
use crate::outcome::{Finding, Outcome};
use ptcheck_model::{exec, rt, trace, Choice, Picked};
use shuttle::scheduler::{
    DfsScheduler, PctScheduler, RandomScheduler, ReplayScheduler, Schedule, Scheduler, Task, TaskId,
};
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One execution of a cell, given the data choices forced for the run.
pub type Body = Arc<dyn Fn(&[Picked]) + Send + Sync>;

/// A malformed schedule string.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed schedule: expected the hex string a counterexample prints after `--schedule`")]
pub struct BadSchedule;

/// Check that a schedule string decodes (before handing it to shuttle, which would panic).
pub fn validate_schedule(s: &str) -> Result<(), BadSchedule> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let hex_ok = compact.len() >= 4
        && compact.len().is_multiple_of(2)
        && compact.chars().all(|c| c.is_ascii_hexdigit());
    if !hex_ok {
        return Err(BadSchedule);
    }
    // The decoder indexes without checking on truncated input: run it with the quiet hook.
    capture::install_hook();
    capture::set_exploring(true);
    let ok = catch_unwind(|| {
        shuttle_engine::scheduler::serialization::deserialize_schedule(&compact).is_some()
    });
    capture::set_exploring(false);
    capture::reset();
    match ok {
        Ok(true) => Ok(()),
        _ => Err(BadSchedule),
    }
}

struct RunResult {
    failure: Option<(Failure, Option<String>)>,
    complete: bool,
}

/// Explore `body` with `explorer`, enumerating data choices; stop at the first finding.
pub fn explore(explorer: &Explorer, budget: Budget, body: Body) -> Outcome {
    capture::install_hook();
    let start = Instant::now();
    let mut executions = 0;
    let mut cost = ptcheck_model::Cost::default();
    let mut complete = true;
    let mut known: Vec<Choice> = Vec::new();
    let mut done: Vec<Vec<Picked>> = Vec::new();
    let mut per_combo: Vec<u64> = Vec::new();
    let mut witnesses = ptcheck_model::Witnesses::default();
    let mut opportunities = ptcheck_model::Witnesses::default();
    let mut guards_read = ptcheck_model::Guards::empty();
    let mut todo: Vec<Vec<Picked>> = vec![Vec::new()];
    let mut finding = None;
    while let Some(combo) = todo.pop() {
        let (found, stats, ran_to_end) = explore_combo(explorer, budget, &body, &combo);
        executions += stats.executions;
        cost = cost.max(stats.cost);
        complete &= ran_to_end;
        done.push(combo.clone());
        per_combo.push(stats.executions);
        witnesses.merge(stats.witnesses);
        opportunities.merge(stats.opportunities);
        guards_read |= stats.guards_read;
        if let Some(mut f) = found {
            f.choices = combo;
            finding = Some(f);
            break;
        }
        // Enumerate every combination of the alternatives of the points met so far, once each
        // (a point a run does not force takes its default, alternative 0).
        for m in stats.choices_met {
            if !known.contains(&m) {
                known.push(m);
            }
        }
        let mut combos: Vec<Vec<Picked>> = vec![Vec::new()];
        for c in &known {
            combos = combos
                .into_iter()
                .flat_map(|base| {
                    (0..c.options.len()).map(move |i| {
                        let mut v = base.clone();
                        if i != 0 {
                            v.push((*c, i));
                        }
                        v
                    })
                })
                .collect();
        }
        for c in combos {
            if !done.contains(&c) && !todo.contains(&c) {
                todo.insert(0, c);
            }
        }
    }
    Outcome {
        explorer: explorer.clone(),
        executions,
        elapsed: start.elapsed(),
        complete,
        cost,
        combos: done,
        combo_executions: per_combo,
        finding,
        witnesses,
        opportunities,
        relevant: ptcheck_model::Hazards::all(),
        guards_read,
    }
}

/// One choice combination; for loom, raise the preemption bound from 0 so that the first
/// counterexample has the fewest preemptions.
fn explore_combo(
    explorer: &Explorer,
    budget: Budget,
    body: &Body,
    combo: &[Picked],
) -> (Option<Finding>, exec::ExecStats, bool) {
    let mut total = exec::ExecStats::default();
    let bounds: Vec<Option<usize>> = match explorer {
        Explorer::Loom { bound: Some(b) } => (0..=*b).map(Some).collect(),
        Explorer::Loom { bound: None } => vec![Some(0), Some(1), Some(2), None],
        _ => vec![None],
    };
    let deadline = Instant::now() + budget.time;
    let mut complete = true;
    for b in bounds {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            complete = false;
            break;
        }
        let b_budget = Budget {
            time: left,
            ..budget
        };
        exec::reset();
        let r = match explorer {
            Explorer::Loom { .. } => run_loom(b, b_budget, body, combo),
            _ => run_shuttle(explorer, b_budget, body, combo),
        };
        let s = exec::stats();
        total.executions += s.executions;
        total.cost = total.cost.max(s.cost);
        total.witnesses.merge(s.witnesses);
        total.opportunities.merge(s.opportunities);
        total.guards_read |= s.guards_read;
        for m in s.choices_met {
            if !total.choices_met.contains(&m) {
                total.choices_met.push(m);
            }
        }
        complete &= r.complete;
        if let Some((failure, schedule)) = r.failure {
            let mut f = Finding {
                failure,
                trace: trace::snapshot(),
                choices: combo.to_vec(),
                schedule,
                preemptions: b,
                interleaving: None,
                sc_schedules: 0,
                sc_exhaustive: false,
            };
            if matches!(explorer, Explorer::Loom { .. }) && f.weak_memory() {
                interleaving_search(&mut f, budget, body, combo);
            }
            return (Some(f), total, complete);
        }
    }
    (None, total, complete)
}

/// Schedules the sequentially consistent search for an interleaving-order counterexample may
/// run, per weak-memory finding.
pub const SC_SEARCH_LIMIT: usize = 2_000;

/// The search: shuttle PCT (depth 3, seed 1), which finds every race of the matrix within
/// this many schedules where DFS, exploring one thread's choices to the end first, can need
/// hundreds of thousands on three CPUs.
pub const SC_SEARCH: Explorer = Explorer::Pct {
    seed: 1,
    depth: 3,
    iterations: SC_SEARCH_LIMIT,
};

/// loom's first counterexample needs weak memory: look for one a reader can follow in
/// interleaving order too ([`SC_SEARCH`] on the same data choices), and attach it.
fn interleaving_search(f: &mut Finding, budget: Budget, body: &Body, combo: &[Picked]) {
    exec::reset();
    let r = run_shuttle(&SC_SEARCH, budget, body, combo);
    let n = exec::stats().executions;
    f.sc_schedules = n;
    f.sc_exhaustive = false;
    if let Some((failure, schedule)) = r.failure {
        f.interleaving = Some(Box::new(Finding {
            failure,
            trace: trace::snapshot(),
            choices: combo.to_vec(),
            schedule,
            preemptions: None,
            interleaving: None,
            sc_schedules: 0,
            sc_exhaustive: false,
        }));
    }
}

fn run_loom(bound: Option<usize>, budget: Budget, body: &Body, combo: &[Picked]) -> RunResult {
    rt::set_backend(rt::Backend::Loom);
    capture::reset();
    let mut b = loom::model::Builder::new();
    b.preemption_bound = bound;
    b.max_branches = budget.max_branches;
    b.max_duration = Some(budget.time);
    b.checkpoint_interval = 500;
    b.checkpoint_file = None;
    let body = body.clone();
    let combo = combo.to_vec();
    let start = Instant::now();
    capture::set_exploring(true);
    let r = catch_unwind(AssertUnwindSafe(|| b.check(move || body(&combo))));
    capture::set_exploring(false);
    let complete = start.elapsed() < budget.time;
    RunResult {
        failure: r.err().map(|p| (capture::classify(p), None)),
        complete,
    }
}

/// Wraps a shuttle scheduler to record the schedule it produces, so that a failing execution's
/// schedule reaches the caller (shuttle itself only prints it from its panic hook).
struct Recording {
    inner: Box<dyn Scheduler>,
    rec: Rc<RefCell<Schedule>>,
}

impl Scheduler for Recording {
    fn new_execution(&mut self) -> Option<Schedule> {
        let s = self.inner.new_execution()?;
        *self.rec.borrow_mut() = Schedule::new(s.seed);
        Some(s)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let t = self.inner.next_task(runnable, current, is_yielding)?;
        self.rec.borrow_mut().push_task(t);
        Some(t)
    }

    fn next_u64(&mut self) -> u64 {
        self.rec.borrow_mut().push_random();
        self.inner.next_u64()
    }
}

fn run_shuttle(explorer: &Explorer, budget: Budget, body: &Body, combo: &[Picked]) -> RunResult {
    rt::set_backend(rt::Backend::Shuttle);
    capture::reset();
    let inner: Box<dyn Scheduler> = match explorer {
        Explorer::Pct {
            seed,
            depth,
            iterations,
        } => Box::new(PctScheduler::new_from_seed(*seed, *depth, *iterations)),
        Explorer::Random { seed, iterations } => {
            Box::new(RandomScheduler::new_from_seed(*seed, *iterations))
        }
        Explorer::Dfs { max_iterations } => Box::new(DfsScheduler::new(*max_iterations, false)),
        Explorer::Replay { schedule } => Box::new(ReplayScheduler::new_from_encoded(schedule)),
        Explorer::Loom { .. } => unreachable!("loom runs through run_loom"),
    };
    let rec = Rc::new(RefCell::new(Schedule::new(0)));
    let sched = Recording {
        inner,
        rec: rec.clone(),
    };
    let mut cfg = shuttle::Config::new();
    cfg.silence_warnings = true;
    cfg.failure_persistence = shuttle::FailurePersistence::None;
    cfg.max_time = Some(budget.time);
    cfg.max_steps = shuttle::MaxSteps::FailAfter(50_000);
    let body = body.clone();
    let combo = combo.to_vec();
    let start = Instant::now();
    capture::set_exploring(true);
    let r = crate::quiet::without_stderr(|| {
        catch_unwind(AssertUnwindSafe(|| {
            shuttle::Runner::new(sched, cfg).run(move || body(&combo))
        }))
    });
    capture::set_exploring(false);
    let complete = start.elapsed() < budget.time + Duration::from_millis(1);
    RunResult {
        failure: r.err().map(|p| {
            let s = shuttle_engine::scheduler::serialization::serialize_schedule(&rec.borrow());
            (capture::classify(p), Some(s.replace('\n', "")))
        }),
        complete,
    }
}
