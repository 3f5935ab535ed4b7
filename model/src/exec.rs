//! Per-exploration statistics gathered from inside the executions: how many ran, the largest
//! protocol cost seen, and which data choice points were met.
//!
//! Neither explorer returns an execution count (DESIGN.md §2), so the model counts: every
//! [`crate::WorldBuilder::build`] starts one execution, and dropping the [`crate::World`] folds
//! its cost and choices in. Plain thread-local state: no scheduling points.

use crate::guards::Guards;
use crate::hazard::{Hazards, Witnesses};
use crate::world::{Choice, Cost};
use std::cell::{Cell, RefCell};

/// What an exploration's executions reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecStats {
    pub executions: u64,
    pub cost: Cost,
    pub choices_met: Vec<Choice>,
    /// The points of `choices_met` met while the world was built ([`crate::WorldBuilder::pick`]),
    /// before any CPU ran: no schedule decides whether they are met, only the alternatives
    /// forced for the run, so every execution of one data-choice combination meets the same
    /// ones.
    pub built_met: Vec<Choice>,
    /// Per hazard kind, the executions that reached it, and those that set it up
    /// ([`crate::hazard`]).
    pub witnesses: Witnesses,
    pub opportunities: Witnesses,
    /// Every guard a kernel path asked about.
    pub guards_read: Guards,
    /// The guards switched off that some execution read as a plain guard ([`crate::World::guard`]:
    /// its skipped step may have mattered), or whose rechecked state it both read and wrote
    /// ([`crate::World::guard_check`], [`crate::World::guarded_state`]: the race the recheck
    /// closes was set up, even where that execution never reached the recheck). Only the order
    /// in which PCT and random run a cell's data-choice combinations depends on it.
    pub guards_fired: Guards,
}

impl ExecStats {
    /// Fold in the statistics of another exploration.
    pub fn merge(&mut self, o: &ExecStats) {
        self.executions += o.executions;
        self.cost = self.cost.max(o.cost);
        self.witnesses.merge(o.witnesses);
        self.opportunities.merge(o.opportunities);
        self.guards_read |= o.guards_read;
        self.guards_fired |= o.guards_fired;
        for &m in &o.choices_met {
            add_new(&mut self.choices_met, m);
        }
        for &m in &o.built_met {
            add_new(&mut self.built_met, m);
        }
    }
}

/// Add `c` to the points `v` lists, once.
fn add_new(v: &mut Vec<Choice>, c: Choice) {
    if !v.contains(&c) {
        v.push(c);
    }
}

thread_local! {
    static STATS: RefCell<ExecStats> = RefCell::new(ExecStats::default());
    static MARKS: Cell<GuardMarks> = const { Cell::new(GuardMarks::EMPTY) };
}

/// The current execution's rechecked state, read and written ([`crate::World::guarded_state`]),
/// folded into [`ExecStats::guards_fired`] when its world is dropped. Kept here rather than in
/// the world's shadow: more words there moved glibc's heap layout so that shuttle's
/// per-execution schedule vector grew more slowly (`realloc` no longer in place: 366 more
/// instructions an execution under PCT, `valgrind --tool=callgrind ptcheck bench --profile
/// ptcheck --under pct`), and only the scenarios with a recheck touch it.
#[derive(Clone, Copy)]
struct GuardMarks {
    read: Guards,
    written: Guards,
}

impl GuardMarks {
    const EMPTY: GuardMarks = GuardMarks {
        read: Guards::empty(),
        written: Guards::empty(),
    };
}

/// The state switched-off recheck `g` rechecks was read (`write: false`) or written.
pub(crate) fn guarded_state(g: Guards, write: bool) {
    MARKS.with(|m| {
        let mut v = m.get();
        if write {
            v.written |= g;
        } else {
            v.read |= g;
        }
        m.set(v);
    });
}

/// Start counting afresh.
pub fn reset() {
    STATS.with(|s| *s.borrow_mut() = ExecStats::default());
    MARKS.with(|m| m.set(GuardMarks::EMPTY));
}

/// The counts so far.
pub fn stats() -> ExecStats {
    STATS.with(|s| s.borrow().clone())
}

/// Put back counts taken with [`stats`] (forgetting executions run since, e.g. a failing
/// execution run again to record its trace).
pub fn restore(saved: ExecStats) {
    STATS.with(|s| *s.borrow_mut() = saved);
}

pub(crate) fn started() {
    STATS.with(|s| s.borrow_mut().executions += 1);
}

/// A data choice point was met (recorded at once: a failing execution may never finish).
pub(crate) fn met(c: Choice) {
    STATS.with(|s| add_new(&mut s.borrow_mut().choices_met, c));
}

/// A data choice point was met by the world builder, before any CPU ran.
pub(crate) fn met_at_build(c: Choice) {
    STATS.with(|s| add_new(&mut s.borrow_mut().built_met, c));
}

pub(crate) fn finished(
    cost: Cost,
    met: &[Choice],
    hazards: Hazards,
    opportunities: Hazards,
    guards_read: Guards,
    guards_on: Guards,
) {
    // A plain guard read while off may always have mattered; a recheck, where its state was
    // read (by the check it repeats, at least) and written.
    let m = MARKS.with(|m| m.replace(GuardMarks::EMPTY));
    let guards_fired =
        (guards_read - guards_on - Guards::RECHECKS) | (m.read & m.written & Guards::RECHECKS);
    STATS.with(|s| {
        let mut s = s.borrow_mut();
        s.cost = s.cost.max(cost);
        s.witnesses.add(hazards);
        s.opportunities.add(opportunities);
        s.guards_read |= guards_read;
        s.guards_fired |= guards_fired;
        for &m in met {
            add_new(&mut s.choices_met, m);
        }
    });
}
