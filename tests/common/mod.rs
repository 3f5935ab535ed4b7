//! Shared by the gate binaries: one trial per matrix cell (so that `cargo nextest run
//! --partition` can spread them), each asserting the reviewed expectation.

#![allow(dead_code)]

use libtest_mimic::{Arguments, Failed, Trial};
use ptcheck::expected::Expectations;
use ptcheck::matrix::{cells, Cell};
use ptcheck::report::{self, RunConfig};

pub fn args() -> Arguments {
    let mut a = Arguments::from_args();
    // One cell per core. DESIGN.md §2 measured two loom models in one process at 4x slower
    // each (mmap contention on coroutine stacks); the vendored loom's generator pool
    // (vendor/loom/PTCHECK-PATCH.md) removed those mmaps: the loom gate takes 19.5 s on one
    // thread and 10.0 s on two, the PCT gate of pte-free-defer-vs-retract 45.7 s and 26.1 s.
    if a.test_threads.is_none() {
        a.test_threads = std::thread::available_parallelism().ok().map(|n| n.get());
    }
    a
}

/// Run `f`, turning a panic into a failed trial with its message.
pub fn trial(name: String, f: impl FnOnce() -> Result<(), String> + Send + 'static) -> Trial {
    Trial::test(name, move || {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(m)) => Err(Failed::from(m)),
            Err(p) => Err(Failed::from(
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into()),
            )),
        }
    })
}

/// The expectation file covers the matrix exactly.
pub fn coverage_trial() -> Trial {
    trial("expectations::cover_every_cell".into(), || {
        let exp = Expectations::builtin().map_err(|e| e.to_string())?;
        let (missing, stale) = exp.coverage_gaps(&cells(None, None));
        if missing.is_empty() && stale.is_empty() {
            return Ok(());
        }
        Err(format!(
            "expected.matrix is out of date.\n  cells without an expectation: {}\n  expectations naming no cell: {}",
            if missing.is_empty() { "none".into() } else { missing.join(", ") },
            if stale.is_empty() { "none".into() } else { stale.join(", ") },
        ))
    })
}

/// Check one cell with `cfg`, assert its verdict, full coverage of its bound, and return the row.
pub fn check_cell(cell: Cell, cfg: &RunConfig) -> Result<report::Row, String> {
    let exp = Expectations::builtin().map_err(|e| e.to_string())?;
    let mut rows = report::run_cells(&[cell], cfg, &exp).map_err(|e| e.to_string())?;
    let row = rows.remove(0);
    let o = &row.outcome;
    if o.executions == 0 {
        return Err(format!("{}: no execution ran", cell.id()));
    }
    if o.finding.is_none() && !o.complete {
        return Err(format!(
            "{}: stopped by the time budget: {}",
            cell.id(),
            o.coverage()
        ));
    }
    let Some(expect) = &row.expect else {
        return Err(format!("{}: no expectation in expected.matrix", cell.id()));
    };
    if !row.matches() {
        return Err(format!(
            "{}: expected {expect}, got {} — {}\n{}",
            cell.id(),
            row.verdict(),
            o.coverage(),
            report::explain(&row)
        ));
    }
    Ok(row)
}
