//! The result of exploring one cell: a verdict with its coverage, cost and counterexample.

use crate::capture::Failure;
use crate::explorer::Explorer;
use ptcheck_model::{Cost, Event, Guards, Hazards, Picked, ViolationKind, Witnesses};
use std::time::Duration;

/// A failing execution, ready to print and replay.
#[derive(Clone, Debug)]
pub struct Finding {
    pub failure: Failure,
    /// The steps of the failing execution, in interleaving order.
    pub trace: Vec<Event>,
    /// The data choices forced in the failing run.
    pub choices: Vec<Picked>,
    /// shuttle's schedule string, replayable with `ptcheck replay`.
    pub schedule: Option<String>,
    /// loom's preemption bound at which it was found (the smallest that finds one).
    pub preemptions: Option<usize>,
    /// For a weak-memory counterexample ([`Finding::weak_memory`]): one the sequentially
    /// consistent search found in interleaving order, if any.
    pub interleaving: Option<Box<Finding>>,
    /// Schedules that search ran (0: not searched).
    pub sc_schedules: u64,
    /// The search covered every sequentially consistent schedule.
    pub sc_exhaustive: bool,
}

impl Finding {
    /// Does this counterexample need weak memory? A use-after-free reported because the free
    /// is not ordered after an access that came first, or a read of a value an earlier step
    /// had overwritten.
    pub fn weak_memory(&self) -> bool {
        let unordered = matches!(
            &self.failure,
            Failure::Violation(ptcheck_model::Violation::UseAfterFree {
                order: ptcheck_model::violation::UafOrder::NotOrderedBeforeFree,
                ..
            })
        );
        unordered || !crate::render::stale_reads(&self.trace).is_empty()
    }

    /// The violation kind, or `None` for a model error.
    pub fn kind(&self) -> Option<ViolationKind> {
        match &self.failure {
            Failure::Violation(v) => Some(v.kind()),
            Failure::ModelError(_) => None,
        }
    }
}

/// What one exploration of one cell established.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub explorer: Explorer,
    /// Executions run, over every choice combination and bound.
    pub executions: u64,
    pub elapsed: Duration,
    /// Every run reached the end of its bound (none was cut by the time budget).
    pub complete: bool,
    /// The largest protocol cost of one execution.
    pub cost: Cost,
    /// The data-choice combinations explored.
    pub combos: Vec<Vec<Picked>>,
    /// Executions run for each entry of `combos`, in the same order.
    pub combo_executions: Vec<u64>,
    pub finding: Option<Finding>,
    /// Per hazard kind, the executions that reached it (`ptcheck_model::hazard`).
    pub witnesses: Witnesses,
    /// Per hazard kind, the executions that set it up (a CPU changed or freed what another
    /// read); a safe exploration with none for its relevant hazards is `vacuous`.
    pub opportunities: Witnesses,
    /// The hazards this exploration is about (the cell's variant's); a safe exploration
    /// that reached none of them is `vacuous`. Every kind unless the caller narrows it.
    pub relevant: Hazards,
    /// Every guard a kernel path asked about.
    pub guards_read: Guards,
    /// The guards the cell's variant switched off (empty: the protocol as it is correct). If
    /// no kernel path ever asked about any of them, the run was the correct protocol's, and a
    /// safe verdict says nothing about them: `vacuous`.
    pub off: Guards,
    /// For a finding: the executions run, and the time taken, until the first failing
    /// execution (the rest of `executions` looked for the simplest counterexample).
    pub first_found: Option<(u64, Duration)>,
    /// This outcome is the exploration of another set of guards, shared because no execution
    /// of it asked about a guard the two sets differ in (so every execution ran the same
    /// steps): its executions and time are that exploration's.
    pub shared: bool,
    /// PCT or random ran every sequentially consistent schedule of every data-choice
    /// combination, each once ([`crate::no_repeat`]), before its iterations ran out: the
    /// search was exhaustive under sequential consistency.
    pub every_schedule: bool,
}

impl Outcome {
    /// `safe` only when the explorer ran its whole bound and some execution set up a hazard
    /// the exploration is about; `vacuous` when none did (the guard in question was never
    /// tested); a run the time budget cut short without a finding, or a DFS stopped at its
    /// schedule cap ([`Outcome::capped`]), is `incomplete`, and one that ran no execution
    /// `unexplored`.
    pub fn verdict(&self) -> String {
        match &self.finding {
            None if self.executions == 0 => "unexplored".into(),
            None if !self.complete || self.capped() => "incomplete".into(),
            None if self.opportunities.of(self.relevant) == 0 => "vacuous".into(),
            None if !self.off.is_empty() && !self.guards_read.intersects(self.off) => {
                "vacuous".into()
            }
            None => "safe".into(),
            Some(f) => f
                .kind()
                .map(|k| k.name().to_string())
                .unwrap_or_else(|| "model-error".into()),
        }
    }

    /// A DFS with a schedule cap (`--iterations N`) that ran `N` schedules in some data-choice
    /// combination: it stopped there, so it did not visit every schedule, and its "nothing
    /// found" is `incomplete`, not `safe`. (A combination with exactly `N` schedules counts as
    /// stopped too: the scheduler cannot tell the two apart.) PCT and random have no such
    /// notion: their iterations are the bound their verdict states.
    pub fn capped(&self) -> bool {
        matches!(self.explorer, Explorer::Dfs { max_iterations: Some(n), .. }
            if self.combo_executions.iter().any(|&e| e >= n as u64))
    }

    /// The coverage statement every verdict carries: explorer, bound or "exhaustive",
    /// executions, time, and whether the budget cut it short.
    pub fn coverage(&self) -> String {
        let bound = match (&self.finding, &self.explorer) {
            (Some(f), Explorer::Loom { .. }) => match f.preemptions {
                Some(p) => format!("found at preemption bound {p}"),
                None => "found unbounded".into(),
            },
            _ if !self.complete => format!("{}, STOPPED BY TIME BUDGET", self.explorer.bound()),
            _ if self.capped() => format!(
                "{}, STOPPED AT THE SCHEDULE CAP: not every schedule ran",
                self.explorer.bound()
            ),
            _ if self.every_schedule => format!(
                "{}; every schedule ran, each once: exhaustive under sequential consistency",
                self.explorer.bound()
            ),
            _ => self.explorer.bound(),
        };
        let choices = if self.combos.len() > 1 {
            format!(", {} choice combinations", self.combos.len())
        } else {
            String::new()
        };
        let witness = if self.finding.is_none() {
            format!(
                ", {} hazard set up in {} executions, reached in {}",
                self.relevant.names().join("/"),
                self.opportunities.of(self.relevant),
                self.witnesses.of(self.relevant),
            )
        } else {
            String::new()
        };
        let shared = if self.shared {
            " (explored once with the variants that differ only in guards no execution asks about)"
        } else {
            ""
        };
        format!(
            "{} ({bound}{choices}), {} executions{witness}, {:.2?}{shared}",
            self.explorer.name(),
            self.executions,
            self.elapsed
        )
    }
}
