//! Explorer agreement: loom and shuttle DFS must not disagree about a cell.
//!
//! shuttle's DFS, run to the end, visits every sequentially consistent schedule of a cell: it
//! is the ground truth for violations an interleaving reaches (DESIGN.md §2). loom explores a
//! superset (every schedule, plus the weak-memory outcomes of the C11 model), so a violation
//! DFS finds must be found by loom too. When it is not, the model or an explorer is wrong, never
//! "it depends": that is a *disagreement*, reported with both explorers' results.
//!
//! The converse is allowed: loom may find what no sequentially consistent schedule reaches (a
//! weak-memory finding); the reviewed expectation must then say so (`kind(weak)` in
//! `expected.matrix`), so that shuttle's verdicts there read "undecided (SC only)".
//!
//! DFS has no partial-order reduction, so it is run with a schedule limit per data-choice
//! combination; a cell whose DFS neither finds a violation nor finishes under the limit is
//! *not affordable* and is skipped, never counted as agreeing.
//!
//! A scenario the gate explores at a preemption bound (`loom_bound: Some(b)`: three CPUs) is
//! compared at that bound: shuttle DFS over every schedule with at most `b` preemptions
//! ([`ptcheck_checks::bounded_dfs`], no reduction) against loom's bounded DPOR at `b`. Agreement
//! there says "both safe at preemption bound b", never "both safe": neither search is
//! exhaustive. A violation bounded DFS finds that loom at `b` misses is settled by loom
//! unbounded, as for the other scenarios.

use crate::expected::{Expect, Expectations};
use crate::matrix::Cell;
use ptcheck_checks::{render, Budget, Explorer, ExplorerError, Outcome};
use std::time::{Duration, Instant};

/// How far to look.
#[derive(Clone, Debug)]
pub struct AgreeConfig {
    /// DFS schedules per data-choice combination; a combination that reaches it without a
    /// finding makes the cell not affordable.
    pub dfs_limit: usize,
    /// Time budget per exploration (DFS, and the deeper loom run).
    pub budget: Budget,
    /// For a scenario the gate explores at a preemption bound: compare the explorers at this
    /// bound when it is lower (the CI gate's affordable depth); `None`: at the scenario's.
    pub bound: Option<usize>,
}

impl AgreeConfig {
    /// The full check (`ptcheck agree`): 10 M schedules per combination.
    pub const FULL_DFS_LIMIT: usize = 10_000_000;
}

impl Default for AgreeConfig {
    fn default() -> Self {
        AgreeConfig {
            dfs_limit: Self::FULL_DFS_LIMIT,
            budget: Budget {
                time: Duration::from_secs(300),
                ..Budget::default()
            },
            bound: None,
        }
    }
}

/// What the two explorers say together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Agreement {
    /// Both found a violation (loom at the gate's bound, or deeper: `beyond_bound`).
    BothFound { beyond_bound: bool },
    /// DFS visited every schedule (`bound: None`) or every schedule with at most `bound`
    /// preemptions and found nothing; loom, at the same bound, found nothing either.
    BothSafe { bound: Option<usize> },
    /// loom found a violation no sequentially consistent schedule has; `marked` says whether
    /// the expectation says so (`kind(weak)`).
    WeakOnly { marked: bool },
    /// At a preemption bound: loom found, within the bound, a violation that needs weak memory
    /// (a stale read) and no sequentially consistent schedule within the bound has. Nothing is
    /// said about schedules with more preemptions (where shuttle may find it: `kind(deep)`).
    WeakWithinBound,
    /// loom found a violation in interleaving order (no weak memory needed) that DFS, covering
    /// every sequentially consistent schedule, did not: shuttle or the model is wrong.
    DfsMissed,
    /// The expectation marks the cell `kind(weak)` but DFS found a violation too: the mark is
    /// stale.
    StaleWeakMark,
    /// DFS found a violation that loom, run exhaustively, did not: a bug in the model or in an
    /// explorer.
    Disagree,
    /// DFS found a violation; loom did not at the gate's bound and could not finish deeper
    /// within the budget.
    Unresolved,
    /// DFS neither found a violation nor finished under the schedule limit.
    NotAffordable,
}

impl Agreement {
    /// Is this a failure of the agreement check?
    pub fn fails(&self) -> bool {
        matches!(
            self,
            Agreement::Disagree
                | Agreement::DfsMissed
                | Agreement::StaleWeakMark
                | Agreement::Unresolved
                | Agreement::WeakOnly { marked: false }
        )
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Agreement::BothFound {
                beyond_bound: false,
            } => "agree: both found",
            Agreement::BothFound { beyond_bound: true } => {
                "agree: both found (loom only beyond the gate's bound)"
            }
            Agreement::BothSafe { bound: None } => "agree: both safe",
            Agreement::BothSafe { bound: Some(_) } => {
                "agree: both safe at the same preemption bound"
            }
            Agreement::WeakOnly { marked: true } => "agree: weak-memory finding (marked)",
            Agreement::WeakWithinBound => {
                "agree: weak-memory finding within the bound (SC needs more preemptions)"
            }
            Agreement::WeakOnly { marked: false } => {
                "WEAK-MEMORY FINDING NOT MARKED kind(weak) in expected.matrix"
            }
            Agreement::Disagree => "DISAGREE: DFS found a violation loom did not",
            Agreement::DfsMissed => {
                "DISAGREE: loom found an interleaving-order violation DFS did not"
            }
            Agreement::StaleWeakMark => "STALE kind(weak) MARK: DFS finds this cell's violation",
            Agreement::Unresolved => {
                "UNRESOLVED: DFS found a violation loom could not confirm within the budget"
            }
            Agreement::NotAffordable => "skipped: DFS not affordable under the schedule limit",
        }
    }
}

/// One cell's agreement check.
pub struct AgreeRow {
    pub cell: Cell,
    pub dfs: Outcome,
    /// loom at the gate's bound (not run when DFS was not affordable: nothing to compare).
    pub loom: Option<Outcome>,
    /// loom exhaustive, run only when DFS found a violation loom's gate bound did not.
    pub loom_deep: Option<Outcome>,
    pub agreement: Agreement,
}

impl AgreeRow {
    /// Both explorers' results, with their counterexamples, for a failure message.
    pub fn explain(&self) -> String {
        let mut out = format!("{}: {}\n", self.cell.id(), self.agreement.describe());
        for (name, o) in [
            ("shuttle DFS", Some(&self.dfs)),
            ("loom", self.loom.as_ref()),
        ]
        .into_iter()
        .chain(std::iter::once(("loom (deeper)", self.loom_deep.as_ref())))
        {
            let Some(o) = o else { continue };
            out.push_str(&format!("-- {name}: {} — {}\n", o.verdict(), o.coverage()));
            if let Some(f) = &o.finding {
                out.push_str(&render::counterexample(f));
            }
        }
        out
    }
}

/// The preemption bound a DFS outcome ran at (`None`: unbounded).
fn dfs_bound(o: &Outcome) -> Option<usize> {
    match o.explorer {
        Explorer::Dfs { bound, .. } => bound,
        _ => None,
    }
}

/// Did DFS cover every schedule (within its preemption bound) of every combination it ran:
/// not cut short by time, nor stopped at its schedule cap ([`Outcome::capped`])?
fn dfs_exhaustive(o: &Outcome) -> bool {
    o.complete && !o.capped()
}

/// What the explorers' outcomes say together: `dfs` run with a cap of schedules per
/// combination; `loom` at the gate's explorer (`gate_exhaustive` if that was a complete
/// exhaustive run); `deep`, loom exhaustive, when DFS found a violation the gate's loom did not;
/// `marked`: the expectation says the finding needs weak memory.
pub fn classify(
    dfs: &Outcome,
    loom: &Outcome,
    gate_exhaustive: bool,
    deep: Option<&Outcome>,
    marked: bool,
) -> Agreement {
    match (&dfs.finding, &loom.finding) {
        (Some(_), Some(_)) if marked => Agreement::StaleWeakMark,
        (Some(_), Some(_)) => Agreement::BothFound {
            beyond_bound: false,
        },
        (Some(_), None) if gate_exhaustive => Agreement::Disagree,
        (Some(_), None) => match deep {
            Some(d) if d.finding.is_some() => Agreement::BothFound { beyond_bound: true },
            Some(d) if d.complete => Agreement::Disagree,
            _ => Agreement::Unresolved,
        },
        (None, _) if !dfs_exhaustive(dfs) => Agreement::NotAffordable,
        (None, Some(l)) if !l.weak_memory() => Agreement::DfsMissed,
        (None, Some(_)) if !marked && dfs_bound(dfs).is_some() => Agreement::WeakWithinBound,
        (None, Some(_)) => Agreement::WeakOnly { marked },
        (None, None) => Agreement::BothSafe {
            bound: dfs_bound(dfs),
        },
    }
}

/// Check one cell.
pub fn agree_cell(
    cell: Cell,
    cfg: &AgreeConfig,
    exp: &Expectations,
) -> Result<AgreeRow, ExplorerError> {
    let bound = cell
        .scenario
        .loom_bound
        .map(|b| cfg.bound.map_or(b, |c| c.min(b)));
    let dfs = cell.check(
        &Explorer::Dfs {
            max_iterations: Some(cfg.dfs_limit),
            bound,
        },
        cfg.budget,
    );
    if dfs.finding.is_none() && !dfs_exhaustive(&dfs) {
        return Ok(AgreeRow {
            cell,
            dfs,
            loom: None,
            loom_deep: None,
            agreement: Agreement::NotAffordable,
        });
    }
    let loom = cell.check(&Explorer::Loom { bound }, cfg.budget);
    let gate_exhaustive = bound.is_none() && loom.complete;
    let loom_deep = (dfs.finding.is_some() && loom.finding.is_none() && !gate_exhaustive)
        .then(|| cell.check(&Explorer::Loom { bound: None }, cfg.budget));
    let marked = exp.get(&cell).is_some_and(Expect::weak_only);
    let agreement = classify(&dfs, &loom, gate_exhaustive, loom_deep.as_ref(), marked);
    Ok(AgreeRow {
        cell,
        dfs,
        loom: Some(loom),
        loom_deep,
        agreement,
    })
}

/// The agreement check over `cells`, with a per-scenario summary.
pub struct AgreeReport {
    pub rows: Vec<AgreeRow>,
    pub elapsed: Duration,
}

/// Run the check over `cells` on `jobs` threads (calling `progress` after each cell, from
/// the thread that checked it); rows in cell order.
pub fn agree(
    cells: &[Cell],
    cfg: &AgreeConfig,
    exp: &Expectations,
    jobs: usize,
    progress: impl Fn(&AgreeRow) + Sync,
) -> Result<AgreeReport, ExplorerError> {
    let start = Instant::now();
    let rows = crate::parallel::map(cells.len(), jobs, None, |k| {
        let r = agree_cell(cells[k], cfg, exp)?;
        progress(&r);
        Ok(r)
    })
    .into_iter()
    .collect::<Result<Vec<_>, ExplorerError>>()?;
    Ok(AgreeReport {
        rows,
        elapsed: start.elapsed(),
    })
}

impl AgreeReport {
    /// Cells that fail the check.
    pub fn failures(&self) -> Vec<&AgreeRow> {
        self.rows.iter().filter(|r| r.agreement.fails()).collect()
    }

    /// The per-cell table and the per-scenario summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let w = self
            .rows
            .iter()
            .map(|r| r.cell.id().len())
            .max()
            .unwrap_or(4);
        out.push_str(&format!(
            "{:<w$}  {:<28}  {:<28}  agreement\n",
            "cell", "shuttle DFS (SC)", "loom"
        ));
        for r in &self.rows {
            let dfs = format!(
                "{} ({} sched.{})",
                r.dfs.finding.as_ref().map_or("none", |_| "found"),
                r.dfs.executions,
                dfs_bound(&r.dfs).map_or(String::new(), |b| format!(", bound {b}"))
            );
            let loom = match r.loom_deep.as_ref().or(r.loom.as_ref()) {
                Some(lo) => format!(
                    "{} ({} exec.)",
                    lo.finding.as_ref().map_or("none", |_| "found"),
                    lo.executions
                ),
                None => "not run".into(),
            };
            out.push_str(&format!(
                "{:<w$}  {dfs:<28}  {loom:<28}  {}\n",
                r.cell.id(),
                r.agreement.describe()
            ));
        }
        out.push('\n');
        let mut scenarios: Vec<&str> = self.rows.iter().map(|r| r.cell.scenario.name).collect();
        scenarios.dedup();
        for s in scenarios {
            let rs: Vec<&AgreeRow> = self
                .rows
                .iter()
                .filter(|r| r.cell.scenario.name == s)
                .collect();
            let count =
                |f: &dyn Fn(&Agreement) -> bool| rs.iter().filter(|r| f(&r.agreement)).count();
            let secs: f64 = rs
                .iter()
                .map(|r| {
                    [Some(&r.dfs), r.loom.as_ref(), r.loom_deep.as_ref()]
                        .into_iter()
                        .flatten()
                        .map(|o| o.elapsed.as_secs_f64())
                        .sum::<f64>()
                })
                .sum();
            out.push_str(&format!(
                "{s}: {} cells checked ({} both found, {} both safe, {} weak-memory only), {} skipped (DFS not affordable), {} unresolved, {} failing; {secs:.1} s\n",
                rs.len() - count(&|a| *a == Agreement::NotAffordable),
                count(&|a| matches!(a, Agreement::BothFound { .. })),
                count(&|a| matches!(a, Agreement::BothSafe { .. })),
                count(&|a| matches!(a, Agreement::WeakOnly { .. } | Agreement::WeakWithinBound)),
                count(&|a| *a == Agreement::NotAffordable),
                count(&|a| *a == Agreement::Unresolved),
                count(&|a| a.fails()),
            ));
        }
        out.push_str(&format!(
            "\n{} cells, {} disagreements, {:.1} s\n",
            self.rows.len(),
            self.failures().len(),
            self.elapsed.as_secs_f64()
        ));
        for f in self.failures() {
            out.push('\n');
            out.push_str(&f.explain());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptcheck_checks::{Failure, Finding};
    use ptcheck_model::{Violation, Witnesses};

    /// A DFS outcome, capped at 100 schedules per combination.
    fn dfs_outcome(found: bool, per_combo: u64, complete: bool) -> Outcome {
        Outcome {
            explorer: Explorer::Dfs {
                max_iterations: Some(100),
                bound: None,
            },
            ..outcome(found, per_combo, complete)
        }
    }

    fn outcome(found: bool, per_combo: u64, complete: bool) -> Outcome {
        Outcome {
            explorer: Explorer::Loom { bound: None },
            executions: per_combo,
            elapsed: Duration::from_millis(1),
            complete,
            cost: Default::default(),
            combos: vec![Vec::new()],
            combo_executions: vec![per_combo],
            finding: found.then(|| Finding {
                failure: Failure::Violation(Violation::Leak { detail: "x".into() }),
                trace: Vec::new(),
                choices: Vec::new(),
                schedule: None,
                preemptions: Some(0),
                interleaving: None,
                sc_schedules: 0,
                sc_exhaustive: false,
            }),
            witnesses: Witnesses::default(),
            opportunities: Witnesses([1, 1, 1]),
            relevant: ptcheck_model::Hazards::all(),
            guards_read: Default::default(),
            first_found: None,
            off: Default::default(),
            shared: false,
            every_schedule: false,
        }
    }

    #[test]
    fn a_dfs_finding_loom_misses_exhaustively_is_a_disagreement() {
        let dfs = dfs_outcome(true, 10, true);
        let loom = outcome(false, 50, true);
        let a = classify(&dfs, &loom, true, None, false);
        assert!(classify(&dfs, &loom, false, Some(&outcome(false, 1, false)), false).fails());
        assert_eq!(a, Agreement::Disagree);
        assert!(a.fails());
        // At a bound, loom exhaustive decides: found deeper, missed, or out of budget.
        let found = outcome(true, 500, true);
        let missed = outcome(false, 500, true);
        let cut = outcome(false, 500, false);
        assert_eq!(
            classify(&dfs, &loom, false, Some(&found), false),
            Agreement::BothFound { beyond_bound: true }
        );
        assert_eq!(
            classify(&dfs, &loom, false, Some(&missed), false),
            Agreement::Disagree
        );
        assert_eq!(
            classify(&dfs, &loom, false, Some(&cut), false),
            Agreement::Unresolved
        );
    }

    #[test]
    fn a_loom_only_finding_must_be_weak_memory_and_marked_and_dfs_must_have_finished() {
        let mut loom = outcome(true, 5, true);
        let finished = dfs_outcome(false, 99, true);
        // An interleaving-order finding that DFS missed: shuttle or the model is wrong.
        assert_eq!(
            classify(&finished, &loom, true, None, false),
            Agreement::DfsMissed
        );
        // A weak-memory one (a read of an overwritten value) must be marked kind(weak).
        if let Some(f) = loom.finding.as_mut() {
            let ev = |write: bool, value: u64| ptcheck_model::Event {
                actor: ptcheck_model::Actor::Cpu(usize::from(!write)),
                func: "f",
                what: ptcheck_model::What::Static(""),
                access: Some(ptcheck_model::EntryAccess {
                    entry: (1, 0),
                    write,
                    value,
                }),
            };
            f.trace = vec![ev(true, 1), ev(true, 2), ev(false, 1)];
        }
        let a = classify(&finished, &loom, true, None, false);
        assert_eq!(a, Agreement::WeakOnly { marked: false });
        assert!(a.fails());
        // At a preemption bound it is agreement without the mark: an SC schedule with more
        // preemptions may have it (`kind(deep)`), one within the bound does not.
        let bounded = Outcome {
            explorer: Explorer::Dfs {
                max_iterations: Some(100),
                bound: Some(2),
            },
            ..outcome(false, 99, true)
        };
        let a = classify(&bounded, &loom, false, None, false);
        assert_eq!(a, Agreement::WeakWithinBound);
        assert!(!a.fails());
        assert_eq!(
            classify(&bounded, &outcome(true, 5, true), false, None, false),
            Agreement::DfsMissed
        );
        assert!(!classify(&finished, &loom, true, None, true).fails());
        // A kind(weak) mark on a cell DFS finds is stale.
        assert_eq!(
            classify(&dfs_outcome(true, 3, true), &loom, true, None, true),
            Agreement::StaleWeakMark
        );
        // DFS stopped at its limit: it proves nothing, the cell is skipped.
        let at_limit = dfs_outcome(false, 100, true);
        assert_eq!(
            classify(&at_limit, &loom, true, None, false),
            Agreement::NotAffordable
        );
        assert_eq!(
            classify(&finished, &outcome(false, 5, true), true, None, false),
            Agreement::BothSafe { bound: None }
        );
        // At a preemption bound, both safe says so.
        let bounded = Outcome {
            explorer: Explorer::Dfs {
                max_iterations: Some(100),
                bound: Some(3),
            },
            ..outcome(false, 10, true)
        };
        assert_eq!(
            classify(&bounded, &outcome(false, 5, true), false, None, false),
            Agreement::BothSafe { bound: Some(3) }
        );
    }

    /// PCT and random never repeat a schedule (`ptcheck_checks::no_repeat`), so with
    /// iterations to spare they run each data-choice combination's every sequentially
    /// consistent schedule once and stop: exactly the schedules an exhaustive DFS runs, per
    /// combination. Three independent counts of one tree (the first two differ in every
    /// choice they make where the tree leaves them one).
    #[test]
    fn pct_and_random_exhaust_each_combination_with_dfs_s_schedules() {
        let cell = Cell::parse("pmd-clear-vs-lockless-walk/x86/correct").expect("cell");
        let run = |e: Explorer| {
            let o = ptcheck_checks::explore(&e, Budget::default(), cell.body());
            assert!(o.finding.is_none() && o.complete, "{e}");
            o.combo_executions
        };
        let dfs = run(Explorer::Dfs {
            max_iterations: None,
            bound: None,
        });
        assert_eq!(dfs.len(), 8);
        assert!(dfs.iter().all(|&n| n > 50), "{dfs:?}");
        let iterations = 100_000;
        assert_eq!(
            run(Explorer::Pct {
                seed: 5,
                depth: 3,
                iterations
            }),
            dfs
        );
        assert_eq!(
            run(Explorer::Random {
                seed: 9,
                iterations
            }),
            dfs
        );
    }
}
