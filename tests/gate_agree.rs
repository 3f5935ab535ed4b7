//! The CI gate's explorer agreement (`ptcheck agree` on what the gate can afford): for every
//! cell, shuttle DFS with a schedule limit; where it finds a violation, loom must find one too,
//! and where it covers every schedule and finds nothing, a loom finding must be marked
//! `kind(weak)` in expected.matrix. Cells whose DFS is not affordable under the limit are
//! skipped (the trial says so); `ptcheck agree` runs the whole matrix with a far higher limit.
//!
//! Limits (schedules per data-choice combination), measured on the 2-core CI machine:
//! pmd-clear-vs-lockless-walk needs at most 61,760 for its largest safe cell, so all of its
//! cells run exhaustively (about 30 s). gup-fast-vs-munmap and thp-split-vs-gup-fast need
//! 0.2 M - 2.6 M schedules per safe cell, beyond the gate: their found cells get 10,000, which is
//! enough for DFS to find every violation the matrix expects there, and their safe cells 1,000
//! (a smoke test; the PCT gate runs every cell too, `ptcheck agree` runs them to the end).
//!
//! The three-CPU scenarios the gate explores at a preemption bound (gup-fast-vs-munmap-2w,
//! pte-free-defer-vs-retract) are compared at a bound, every cell to the end: shuttle DFS over
//! every schedule with at most B preemptions against loom at B. B = 2 for the cells expected to
//! find a violation (DFS stops at its first finding), B = 1 for the expected-safe cells, whose
//! DFS must visit every schedule: at B = 2 those took 18 s and 52 s on one core (up to 92,324
//! schedules a cell) and put the clean-checkout gate at 340 s. `ptcheck agree` compares them at
//! the scenario's own bound 3 (pte-free-defer-vs-retract: 288 cells, 0 disagreements, 805 s).

use ptcheck::agree::{agree_cell, AgreeConfig, Agreement};
use ptcheck::expected::Expect;
use ptcheck::gate;
use ptcheck_checks::Budget;
use ptcheck_scenarios::Scenario;
use std::time::Duration;

/// The preemption bound the gate compares bounded scenarios at: cells expected to find a
/// violation, and expected-safe cells.
const AGREE_BOUND_FOUND: usize = 2;
const AGREE_BOUND_SAFE: usize = 1;

fn limit(scenario: &Scenario, expected_safe: bool) -> usize {
    match scenario.name {
        "pmd-clear-vs-lockless-walk" => 100_000,
        _ if scenario.loom_bound.is_some() => 100_000,
        _ if expected_safe => 1_000,
        _ => 10_000,
    }
}

fn main() {
    let reg = ptcheck::registry::builtin();
    let mut trials = Vec::new();
    for cell in reg.cells(None, None) {
        trials.push(gate::trial(format!("agree::{}", cell.id()), move || {
            let exp = reg.expectations().map_err(|e| e.to_string())?;
            let safe = exp.get(&cell) == Some(&Expect::Safe);
            let cfg = AgreeConfig {
                dfs_limit: limit(cell.scenario, safe),
                bound: Some(if safe {
                    AGREE_BOUND_SAFE
                } else {
                    AGREE_BOUND_FOUND
                }),
                budget: Budget {
                    time: Duration::from_secs(120),
                    ..Budget::default()
                },
            };
            let row = agree_cell(cell, &cfg, &exp).map_err(|e| e.to_string())?;
            if row.agreement.fails() {
                return Err(row.explain());
            }
            // Bounded cells are compared to the end: a skip there is a gate failure.
            if cell.scenario.loom_bound.is_some() && row.agreement == Agreement::NotAffordable {
                return Err(row.explain());
            }
            Ok(())
        }));
    }
    libtest_mimic::run(&gate::args(), trials).exit();
}
