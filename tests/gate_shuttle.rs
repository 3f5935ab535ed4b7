//! The CI gate under shuttle PCT: every cell of the matrix from the same scenario code, with a
//! fixed seed (so the gate is deterministic), plus the replay of a found schedule.

mod common;

use ptcheck::expected::{Expect, Expectations};
use ptcheck::matrix::{cells, Cell};
use ptcheck::report::RunConfig;
use ptcheck_checks::{explore, Budget, Explorer};

/// PCT iterations per data-choice combination: 2,000 where the matrix expects a finding (it
/// stops at the first one, so a broken cell costs what finding its bug costs), 1,000 on
/// expected-safe cells, where every iteration runs and the safe verdict is loom's (this run
/// cross-checks it): 2,000 there took 53 of the gate's 321 s on the 2-core CI machine.
fn pct_for(cell: Cell) -> RunConfig {
    let safe = Expectations::builtin()
        .ok()
        .and_then(|e| e.get(&cell).cloned())
        .is_some_and(|e| matches!(e, Expect::Safe | Expect::Vacuous));
    RunConfig {
        iterations: if safe { 1_000 } else { 2_000 },
        ..pct()
    }
}

fn pct() -> RunConfig {
    RunConfig {
        explorer: "pct".into(),
        iterations: 2_000,
        seed: 1,
        last_seed: None,
        budget: Budget::default(),
        bound: None,
        deep: false,
    }
}

fn main() {
    let args = common::args();
    let mut trials = vec![common::coverage_trial()];
    for cell in cells(None, None) {
        trials.push(common::trial(format!("pct::{}", cell.id()), move || {
            common::check_cell(cell, &pct_for(cell)).map(|_| ())
        }));
    }
    trials.push(common::trial(
        "replay::arm64_rfc_v4_schedule_reproduces_the_race".into(),
        || {
            let cell = Cell::parse("gup-fast-vs-munmap/arm64-rfc-v4/correct")
                .map_err(|e| e.to_string())?;
            let row = common::check_cell(cell, &pct())?;
            let f = row.outcome.finding.ok_or("no finding")?;
            let schedule = f.schedule.clone().ok_or("no schedule recorded")?;
            let again = explore(
                &Explorer::Replay { schedule },
                Budget::default(),
                cell.body(),
            );
            let g = again.finding.ok_or("the replay found nothing")?;
            if g.failure != f.failure || g.trace != f.trace {
                return Err(format!(
                    "replay differs:\n{:?}\nvs\n{:?}",
                    f.failure, g.failure
                ));
            }
            Ok(())
        },
    ));
    libtest_mimic::run(&args, trials).exit();
}
