//! The CI gate's explorer agreement (`ptcheck agree` on what the gate can afford): for every
//! cell, shuttle DFS with a schedule limit; where it finds a violation, loom must find one too,
//! and where it covers every schedule and finds nothing, a loom finding must be marked
//! `kind(weak)` in expected.matrix. Cells whose DFS is not affordable under the limit are
//! skipped (the trial says so); `ptcheck agree` runs the whole matrix with a far higher limit.
//!
//! Limits (schedules per data-choice combination), measured on the 2-core CI machine:
//! pmd-clear-vs-lockless-walk needs at most 61,760 for its largest safe cell, so all of its
//! cells run exhaustively (about 30 s); the other scenarios' safe cells need 0.2 M - 2.6 M
//! schedules each and are covered by the full run only. The gate gives their found cells
//! 10,000, which is enough for DFS to find every violation the matrix expects there, and
//! their safe cells 1,000: a smoke test that DFS finds nothing there either (the PCT gate
//! runs every cell too); at 10,000 those skipped cells took 18 of the 18 s the
//! gup-fast-vs-munmap-2w cells took.

mod common;

use ptcheck::agree::{agree_cell, AgreeConfig};
use ptcheck::expected::{Expect, Expectations};
use ptcheck::matrix::cells;
use ptcheck_checks::Budget;
use std::time::Duration;

fn limit(scenario: &str, expected_safe: bool) -> usize {
    match scenario {
        "pmd-clear-vs-lockless-walk" => 100_000,
        // Up to 24 choice combinations per cell: 500 schedules each checks 76 of its found cells
        // (both explorers find them), a 200-schedule smoke test on its safe cells, 19 s on two
        // cores (1,000 and 1,000: 31 s); `ptcheck agree pte-free-defer-vs-retract` runs it all.
        "pte-free-defer-vs-retract" if expected_safe => 200,
        "pte-free-defer-vs-retract" => 500,
        _ if expected_safe => 1_000,
        _ => 10_000,
    }
}

fn main() {
    let args = common::args();
    let mut trials = Vec::new();
    for cell in cells(None, None) {
        trials.push(common::trial(format!("agree::{}", cell.id()), move || {
            let exp = Expectations::builtin().map_err(|e| e.to_string())?;
            let safe = exp.get(&cell) == Some(&Expect::Safe);
            let cfg = AgreeConfig {
                dfs_limit: limit(cell.scenario.name, safe),
                budget: Budget {
                    time: Duration::from_secs(120),
                    ..Budget::default()
                },
            };
            let row = agree_cell(cell, &cfg, &exp).map_err(|e| e.to_string())?;
            if row.agreement.fails() {
                return Err(row.explain());
            }
            Ok(())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
