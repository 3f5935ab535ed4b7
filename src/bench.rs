//! `ptcheck bench`: speed and memory of the explorers on fixed cells (the project's
//! performance figures live here, not in timed tests).
//!
//! Each benchmark explores one cell to completion with one explorer and reports executions,
//! wall time, executions per second, and the process's peak resident memory so far
//! (`VmHWM`, Linux).

use crate::matrix::Cell;
use ptcheck_checks::{explore, Budget, Explorer};
use std::time::Duration;

/// One measured run.
#[derive(Clone, Debug)]
pub struct BenchRow {
    pub cell: String,
    pub explorer: String,
    pub verdict: String,
    pub executions: u64,
    pub elapsed: Duration,
    pub peak_rss_kib: Option<u64>,
}

/// The cells measured: the largest safe cell of each scenario (the most executions to explore)
/// and one found race.
pub const CELLS: &[&str] = &[
    "gup-fast-vs-munmap/arm64/correct",
    "gup-fast-vs-munmap/x86/correct",
    "pmd-clear-vs-lockless-walk/arm64/correct",
    "thp-split-vs-gup-fast/arm64/correct",
    "gup-fast-vs-munmap/arm64-rfc-v4/correct",
];

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Run every benchmark cell under loom (exhaustive), shuttle PCT and shuttle random.
pub fn run(iterations: usize) -> Result<Vec<BenchRow>, crate::matrix::LookupError> {
    let mut rows = Vec::new();
    for id in CELLS {
        let cell = Cell::parse(id)?;
        let explorers = [
            Explorer::Loom { bound: None },
            Explorer::Pct {
                seed: 1,
                depth: 3,
                iterations,
            },
            Explorer::Random {
                seed: 1,
                iterations,
            },
        ];
        for e in explorers {
            let o = explore(&e, budget(), cell.body());
            rows.push(BenchRow {
                cell: cell.id(),
                explorer: e.to_string(),
                verdict: o.verdict(),
                executions: o.executions,
                elapsed: o.elapsed,
                peak_rss_kib: peak_rss_kib(),
            });
        }
    }
    Ok(rows)
}

/// A text table of the rows.
pub fn render(rows: &[BenchRow]) -> String {
    let mut out = format!(
        "{:<42} {:<48} {:<15} {:>10} {:>10} {:>12} {:>10}\n",
        "cell", "explorer", "verdict", "execs", "time", "execs/s", "peak RSS"
    );
    for r in rows {
        let secs = r.elapsed.as_secs_f64().max(1e-9);
        out.push_str(&format!(
            "{:<42} {:<44} {:<15} {:>10} {:>10} {:>12.0} {:>10}\n",
            r.cell,
            r.explorer,
            r.verdict,
            r.executions,
            format!("{:.1?}", r.elapsed),
            r.executions as f64 / secs,
            r.peak_rss_kib
                .map(|k| format!("{} MiB", k / 1024))
                .unwrap_or_else(|| "?".into())
        ));
    }
    out
}

/// The budget a benchmark run gets (generous: benchmarks measure, they do not gate).
pub fn budget() -> Budget {
    Budget {
        time: Duration::from_secs(600),
        ..Budget::default()
    }
}
