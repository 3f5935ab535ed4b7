//! The CI gate under shuttle PCT: every cell of the matrix from the same scenario code, with a
//! fixed seed (so the gate is deterministic), plus the replay of a found schedule.

use ptcheck::gate::{self, check_cell, trial};
use ptcheck::matrix::Cell;
use ptcheck::registry;
use ptcheck_checks::{explore, Budget, Explorer};

fn main() {
    let reg = registry::builtin();
    let mut trials = vec![gate::coverage_trial(reg)];
    trials.extend(gate::pct_trials(reg));
    trials.push(trial(
        "replay::arm64_rfc_v4_schedule_reproduces_the_race".into(),
        move || {
            let cell = Cell::parse("gup-fast-vs-munmap/arm64-rfc-v4/correct")
                .map_err(|e| e.to_string())?;
            let row = check_cell(reg, cell, &gate::pct_config(cell.scenario, None))?;
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
    libtest_mimic::run(&gate::args(), trials).exit();
}
