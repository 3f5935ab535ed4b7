//! The CI gate under loom: every cell of the matrix at its scenario's bound (exhaustive where
//! the scenario says so), each found race's counterexample compared with its reviewed insta
//! snapshot in `snapshots/`.

mod common;

use ptcheck::matrix::cells;
use ptcheck::report::RunConfig;
use ptcheck_checks::render;

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name.to_string(), text));
}

fn main() {
    let args = common::args();
    let mut trials = vec![common::coverage_trial()];
    for cell in cells(None, None) {
        trials.push(common::trial(format!("loom::{}", cell.id()), move || {
            let row = common::check_cell(cell, &RunConfig::default())?;
            if let Some(f) = &row.outcome.finding {
                let text = format!(
                    "cell: {}\nfound by: {}, after {} executions\n\n{}",
                    cell.id(),
                    row.outcome.explorer.name(),
                    row.outcome.executions,
                    render::counterexample(f)
                );
                snapshot(&cell.id().replace('/', "__"), &text);
            }
            Ok(())
        }));
    }
    libtest_mimic::run(&args, trials).exit();
}
