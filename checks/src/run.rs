//! Driving a model body under loom or shuttle, over every data-choice combination.
//!
//! A *body* is one execution of a cell: it builds the world with the forced choices and runs
//! every CPU to the end, raising a violation on the way if an oracle fires. The drivers here
//! know nothing about page tables.

use crate::capture::{self, Failure};
use crate::choice_tree::ChoiceTree;
use crate::explorer::{Budget, Explorer};
use crate::outcome::{Finding, Outcome};
use crate::search::{for_combination, slice, Progress, Search};
use ptcheck_model::{exec, trace, Guards, Picked};
use std::panic::catch_unwind;
use std::time::Instant;

pub use crate::search::Body;

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

/// Explore `body` with `explorer` over every data-choice combination ([`ChoiceTree`]); stop
/// at the first finding.
///
/// A combination that forces a point its runs never meet repeats the one without that pick
/// and is dropped ([`ChoiceTree::repeats`], and under loom [`ChoiceTree::runtime_unmet`]):
/// its first execution counts in `executions`, and it is not listed in `combos`.
///
/// The combinations are explored round-robin, a slice of executions at a time
/// ([`crate::search`]), so a broken cell is found within the budget of its cheapest failing
/// combination. loom runs each combination at the explorer's bound once (a safe verdict does
/// not re-explore lower bounds); when a combination fails, the bounds below are searched
/// from 0 for the counterexample with the fewest preemptions (DESIGN.md §2).
pub fn explore(explorer: &Explorer, budget: Budget, body: Body) -> Outcome {
    explore_focused(explorer, budget, body, Guards::empty())
}

/// How often a combination runs while one that got further towards the variant's bug is still
/// being explored ([`Focus`]): every [`DEFERRED_EVERY`]th round.
pub const DEFERRED_EVERY: u32 = 4;

/// How much a combination's executions so far give the variant's switched-off guards to do:
/// a priority (the driver runs the highest first), not stages an execution goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Focus {
    /// No execution asked about a switched-off guard: each ran the protocol with the guards on.
    Never,
    /// Some execution asked, but only at rechecks ([`ptcheck_model::World::guard_check`])
    /// whose state was not both read and written in that execution: skipping them let the path
    /// go on as with the guard on.
    Asked,
    /// Some execution read a plain switched-off guard (whose step always may have mattered),
    /// or read and wrote the state a switched-off recheck rechecks: the race the recheck closes
    /// was set up, whether or not that execution went on to the recheck itself (retract's
    /// first check, seeing the write already made, backs off before it).
    Fired,
}

/// [`explore`], for a variant whose guards `focus` are switched off. Under PCT and random,
/// a combination none of whose executions so far asked about a guard in `focus` runs the
/// same program as the protocol with those guards on, and so does one whose executions asked
/// only at checks that would not have fired ([`Focus`]); while some combination that got
/// further is still being explored, it gets a slice only every [`DEFERRED_EVERY`]th round (it
/// runs every round once no such combination is left, and joins them as soon as one of its
/// executions gets as far). Every combination runs the same executions as without focus and, unless a
/// finding stops the cell, its whole budget: whether a cell finds a bug, and a safe, vacuous or
/// incomplete verdict, do not change. Which counterexample is reported first can: where the
/// protocol is broken on the policy anyway, the variant's own bug now tends to come first (the
/// expectations accept either, `a|b`). loom, DFS and replay keep the plain round-robin (their
/// counterexamples, the snapshots, and the agreement figures depend on the order).
pub fn explore_focused(explorer: &Explorer, budget: Budget, body: Body, focus: Guards) -> Outcome {
    capture::install_hook();
    let focused =
        !focus.is_empty() && matches!(explorer, Explorer::Pct { .. } | Explorer::Random { .. });
    let start = Instant::now();
    let target = match explorer {
        Explorer::Loom { bound } => *bound,
        _ => None,
    };
    let mut tree = ChoiceTree::new();
    let mut searches: Vec<Option<Search>> = Vec::new();
    let mut per_combo: Vec<u64> = Vec::new();
    // Per combination: how far its executions got towards the variant's bug.
    let mut asked: Vec<Focus> = Vec::new();
    // Per combination: it repeats another one ([`ChoiceTree::repeats`],
    // [`ChoiceTree::runtime_unmet`]) and was dropped.
    let mut repeated: Vec<bool> = Vec::new();
    // Per combination: whether its exploration ran to the end, and the combination (and
    // point) it waits for to tell whether it repeats that one.
    let mut finished: Vec<bool> = Vec::new();
    // Per combination: PCT or random ran its every schedule ([`crate::no_repeat`]).
    let mut every: Vec<bool> = Vec::new();
    let mut waits_on: Vec<Option<(usize, &'static str)>> = Vec::new();
    let mut total = exec::ExecStats::default();
    let mut complete = true;
    let mut finding = None;
    let mut first_found = None;
    let mut misfit = None;
    let mut round = 0u32;
    'rounds: loop {
        let slice = slice(round);
        let deferred_turn = round.is_multiple_of(DEFERRED_EVERY);
        // The furthest a combination still being explored got: the others wait.
        let top = (0..searches.len())
            .filter(|&i| searches[i].is_some())
            .map(|i| asked[i])
            .max()
            .unwrap_or(Focus::Never);
        round += 1;
        let mut active = false;
        // Under focus, the combinations that got furthest go first in the round (a waiting
        // one's turn comes after theirs, so a bug in one of them is not behind the waiting
        // ones' slices); then the rest, and the combinations the round adds, in their order.
        let mut order: Vec<usize> = (0..searches.len()).collect();
        if focused {
            order.sort_by_key(|&i| std::cmp::Reverse(asked[i]));
        }
        let mut k = 0;
        while k < tree.nodes.len() {
            let i = order.get(k).copied().unwrap_or(k);
            if searches.len() <= i {
                searches.push(Some(Search::new(
                    &for_combination(explorer, &tree.nodes[i].picked),
                    target,
                    budget,
                    &body,
                    &tree.nodes[i].picked,
                )));
                per_combo.push(0);
                asked.push(Focus::Never);
                repeated.push(false);
                finished.push(false);
                every.push(false);
                waits_on.push(None);
            }
            // Waiting for the combination it may repeat (below): while that one runs without
            // meeting the point, this one does not; once it meets it, this one runs on, and
            // once it is done without, this one is dropped.
            if let Some((m, point)) = waits_on[i] {
                if searches[m].is_some() && !tree.met(m, point) {
                    active = true;
                    k += 1;
                    continue;
                }
                waits_on[i] = None;
                if finished[m] && !tree.met(m, point) && !tree.met(i, point) {
                    repeated[i] = true;
                    searches[i] = None;
                    k += 1;
                    continue;
                }
            }
            let Some(search) = searches[i].as_mut() else {
                k += 1;
                continue;
            };
            if focused && per_combo[i] > 0 && asked[i] < top && !deferred_turn {
                active = true;
                k += 1;
                continue;
            }
            exec::reset();
            // A new combination runs one execution first: if it forces a point its world
            // never met, it repeats another combination and is dropped (the execution counts
            // in `executions`).
            let fresh = per_combo[i] == 0;
            let mut progress = search.advance(if fresh { 1 } else { slice });
            if fresh {
                let s = exec::stats();
                // Not after a failure: PCT and random sample each combination under a seed of
                // its own, so the combination it repeats may never run this schedule.
                if s.executions > 0
                    && !matches!(progress, Progress::Failed(..))
                    && tree.repeats(i, &s.choices_met).is_some()
                {
                    total.merge(&s);
                    repeated[i] = true;
                    searches[i] = None;
                    k += 1;
                    continue;
                }
                // A point met only while the CPUs run, not met by this execution: under loom,
                // whose exploration of the combination without that pick covers every schedule,
                // wait for it; if none of its executions met the point, this combination
                // repeats it.
                let unmet = match explorer {
                    Explorer::Loom { .. } => tree.runtime_unmet(i, &s.choices_met),
                    _ => None,
                };
                // (The combination waited for may have been added after this one in this
                // round and not be visited yet: it is then not a repeat, and the next round
                // finds it visited.)
                match unmet {
                    Some((point, m)) if !repeated.get(m).copied().unwrap_or(false) => {
                        waits_on[i] = Some((m, point.name))
                    }
                    _ if matches!(progress, Progress::More) && slice > 1 => {
                        progress = search.advance(slice - 1);
                    }
                    _ => {}
                }
            }
            let s = exec::stats();
            per_combo[i] += s.executions;
            let now = if s.guards_fired.intersects(focus) {
                Focus::Fired
            } else if s.guards_read.intersects(focus) {
                Focus::Asked
            } else {
                Focus::Never
            };
            asked[i] = asked[i].max(now);
            total.merge(&s);
            tree.grow(i, &s.choices_met, &s.built_met);
            match progress {
                Progress::More => active = true,
                Progress::Done {
                    complete: c,
                    every_schedule,
                } => {
                    finished[i] = c;
                    every[i] = every_schedule;
                    complete &= c;
                    searches[i] = None;
                }
                // A replayed schedule fits the combination it was recorded in; in the others it
                // may not (the schedule's tasks and steps differ): try them all, and report that
                // it fits none only if no combination reproduces anything.
                Progress::Failed(failure @ Failure::ModelError(_), schedule)
                    if matches!(explorer, Explorer::Replay { .. }) =>
                {
                    misfit.get_or_insert((failure, schedule, trace::snapshot(), i));
                    searches[i] = None;
                }
                Progress::Failed(failure, schedule) => {
                    let combo = tree.nodes[i].picked.clone();
                    let f = Finding {
                        failure,
                        trace: trace::snapshot(),
                        choices: combo.clone(),
                        schedule,
                        preemptions: target,
                        interleaving: None,
                        sc_schedules: 0,
                        sc_exhaustive: false,
                    };
                    first_found = Some((total.executions, start.elapsed()));
                    let mut f = if matches!(explorer, Explorer::Loom { .. }) {
                        // (Under loom `order` is the identity: `i` is the visiting order.)
                        let earlier: Vec<Vec<Picked>> = tree.nodes[..i]
                            .iter()
                            .zip(&repeated)
                            .filter(|(_, &r)| !r)
                            .map(|(n, _)| n.picked.clone())
                            .collect();
                        let (f, n) = simplest(f, &earlier, target, budget, &body);
                        total.executions += n;
                        f
                    } else {
                        f
                    };
                    if matches!(explorer, Explorer::Loom { .. }) && f.weak_memory() {
                        let choices = f.choices.clone();
                        interleaving_search(&mut f, budget, &body, &choices);
                    }
                    finding = Some(f);
                    break 'rounds;
                }
            }
            k += 1;
        }
        if !active {
            break;
        }
    }
    if finding.is_none() {
        if let Some((failure, schedule, trace, i)) = misfit {
            finding = Some(Finding {
                failure,
                trace,
                choices: tree.nodes[i].picked.clone(),
                schedule,
                preemptions: None,
                interleaving: None,
                sc_schedules: 0,
                sc_exhaustive: false,
            });
        }
    }
    let kept = |k: &usize| !repeated[*k];
    let ran = per_combo.len();
    let every_schedule =
        finding.is_none() && complete && ran > 0 && (0..ran).filter(kept).all(|k| every[k]);
    Outcome {
        explorer: explorer.clone(),
        executions: total.executions,
        elapsed: start.elapsed(),
        complete,
        cost: total.cost,
        combos: (0..ran)
            .filter(kept)
            .map(|k| tree.nodes[k].picked.clone())
            .collect(),
        combo_executions: (0..ran).filter(kept).map(|k| per_combo[k]).collect(),
        finding,
        witnesses: total.witnesses,
        opportunities: total.opportunities,
        relevant: ptcheck_model::Hazards::all(),
        guards_read: total.guards_read,
        first_found,
        off: Guards::empty(),
        shared: false,
        every_schedule,
    }
}

/// loom found `f` at bound `target` in a combination that `earlier` combinations precede: look
/// for the counterexample a reader is best served by, the one with the fewest preemptions and,
/// among those, in the earliest combination (the defaults first). Bounds 0, 1, .. below
/// `target` are searched on `earlier` and on `f`'s own choices, then `target` itself on
/// `earlier`; the first failure found is kept, `f` otherwise. Returns the counterexample and
/// the executions the search ran. This is work after the bug is known: a safe cell never
/// pays it.
fn simplest(
    f: Finding,
    earlier: &[Vec<Picked>],
    target: Option<usize>,
    budget: Budget,
    body: &Body,
) -> (Finding, u64) {
    let below = target.unwrap_or(UNBOUNDED_AFTER);
    let mut n = 0;
    let own = f.choices.clone();
    let runs = (0..below)
        .flat_map(|b| {
            earlier
                .iter()
                .chain(std::iter::once(&own))
                .map(move |c| (Some(b), c))
        })
        .chain(earlier.iter().map(|c| (target, c)));
    for (b, combo) in runs {
        exec::reset();
        let loom = Explorer::Loom { bound: b };
        let r = Search::new(&loom, b, budget, body, combo).finish();
        n += exec::stats().executions;
        if let Progress::Failed(failure, schedule) = r {
            let simpler = Finding {
                failure,
                trace: trace::snapshot(),
                choices: combo.clone(),
                schedule,
                preemptions: b,
                ..f
            };
            return (simpler, n);
        }
    }
    (f, n)
}

/// Under exhaustive loom, a counterexample is first sought at bounds below this one.
const UNBOUNDED_AFTER: usize = 3;

/// Schedules the sequentially consistent search for an interleaving-order counterexample may
/// run, per weak-memory finding.
pub const SC_SEARCH_LIMIT: usize = 2_000;

/// The search: shuttle PCT (seed 1; depth 2 or 3 drawn per execution, [`crate::pct`]; no
/// schedule twice, [`crate::no_repeat`], so when the data choices have fewer schedules than
/// this it runs them all and says so, [`Finding::sc_exhaustive`]), which finds every race of
/// the matrix within this many schedules where DFS, exploring one thread's choices to the end
/// first, can need hundreds of thousands on three CPUs.
pub const SC_SEARCH: Explorer = Explorer::Pct {
    seed: 1,
    depth: 3,
    iterations: SC_SEARCH_LIMIT,
};

/// loom's first counterexample needs weak memory: look for one a reader can follow in
/// interleaving order too ([`SC_SEARCH`] on the same data choices), and attach it.
fn interleaving_search(f: &mut Finding, budget: Budget, body: &Body, combo: &[Picked]) {
    exec::reset();
    let r = Search::new(&SC_SEARCH, None, budget, body, combo).finish();
    f.sc_schedules = exec::stats().executions;
    f.sc_exhaustive = matches!(
        r,
        Progress::Done {
            every_schedule: true,
            ..
        }
    );
    if let Progress::Failed(failure, schedule) = r {
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
