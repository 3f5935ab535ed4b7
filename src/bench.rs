//! `ptcheck bench`: speed and memory of the explorers on fixed cells (the project's
//! performance figures live here, not in timed tests).
//!
//! Three tables:
//! - **explore**: each benchmark cell explored to its end by loom (exhaustive, or the cell's
//!   bound on three CPUs), shuttle PCT and shuttle random: executions, wall time, executions
//!   per second, and the peak resident memory *of that run* (`VmHWM` after resetting it through
//!   `/proc/self/clear_refs`, Linux).
//! - **first counterexample**: for broken cells, executions and time until the first
//!   counterexample, for loom (deterministic: one run) and for PCT and random at seeds 1..=10
//!   (median and max).
//! - **baseline** (`--baseline`): time per execution of ptcheck against the hand-written raw
//!   loom / raw shuttle model of the same protocol ([`crate::baseline`]), as a ratio.

use crate::matrix::Cell;
use ptcheck_checks::{Budget, Explorer};
use serde::Serialize;
use std::time::{Duration, Instant};

/// One explored cell.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub cell: String,
    pub explorer: String,
    pub verdict: String,
    pub executions: u64,
    pub elapsed_ms: f64,
    pub executions_per_s: f64,
    /// Peak resident memory of this run alone, KiB (`None` where Linux's counters are missing).
    pub peak_rss_kib: Option<u64>,
}

/// Executions and time to the first counterexample of a broken cell, over seeds.
#[derive(Clone, Debug, Serialize)]
pub struct FirstFound {
    pub cell: String,
    pub explorer: String,
    pub seeds: Vec<u64>,
    /// Per seed: executions until the first counterexample (`None`: not found in the budget).
    pub executions: Vec<Option<u64>>,
    pub elapsed_ms: Vec<f64>,
}

/// ptcheck's time per execution against the hand-written model's.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineRow {
    pub explorer: String,
    pub hand_executions: u64,
    pub hand_us_per_execution: f64,
    pub hand_user_us_per_execution: f64,
    pub ptcheck_cell: String,
    pub ptcheck_executions: u64,
    pub ptcheck_us_per_execution: f64,
    pub ptcheck_user_us_per_execution: f64,
    /// ptcheck's wall time per execution divided by the hand model's.
    pub ratio: f64,
    /// The same for user CPU time.
    pub user_ratio: f64,
}

/// Everything `ptcheck bench` measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BenchReport {
    pub explore: Vec<BenchRow>,
    pub first_found: Vec<FirstFound>,
    pub baseline: Vec<BaselineRow>,
}

/// Safe cells explored to their end: the largest of each scenario (the most executions), and
/// a three-CPU cell at its gate bound.
pub const CELLS: &[&str] = &[
    "gup-fast-vs-munmap/arm64/correct",
    "gup-fast-vs-munmap/x86-v6.14/correct",
    "gup-fast-vs-munmap-2w/x86/correct",
    "pmd-clear-vs-lockless-walk/arm64/correct",
    "thp-split-vs-gup-fast/arm64/correct",
];

/// Broken cells timed to their first counterexample: one per scenario and kind of finding,
/// among them the slowest to find under PCT before the combinations were interleaved and a
/// three-CPU cell.
pub const BROKEN: &[&str] = &[
    "gup-fast-vs-munmap/arm64/plain-get-page",
    "gup-fast-vs-munmap/arm64-rfc-v4/correct",
    "gup-fast-vs-munmap/x86/tables-freed-at-once",
    "gup-fast-vs-munmap-2w/x86-pv/plain-get-page",
    "pmd-clear-vs-lockless-walk/powerpc-hash/no-irq-off",
    "pmd-clear-vs-lockless-walk/x86-pv-no-rcu-free/no-pmd-recheck",
    "thp-split-vs-gup-fast/arm64/no-splitting-check",
];

/// How long each side of the baseline comparison is repeated for.
const MEASURE: Duration = Duration::from_secs(2);

/// The cell the baseline is compared with (the hand model's protocol).
pub const BASELINE_CELL: &str = "gup-fast-vs-munmap/x86-v6.14/correct";

/// Explore `cell` afresh (not [`Cell::check`], which explores a cell once per process).
fn fresh(cell: &Cell, e: &Explorer, budget: Budget) -> ptcheck_checks::Outcome {
    let mut o = ptcheck_checks::explore(e, budget, cell.body());
    o.relevant = cell.scenario.hazards_for_off(cell.variant.off);
    o
}

/// Reset the kernel's peak-RSS counter of this process (`echo 5 > /proc/self/clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User CPU time of this process so far.
fn user_time() -> Duration {
    // SAFETY: getrusage writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    Duration::from_secs(ru.ru_utime.tv_sec as u64)
        + Duration::from_micros(ru.ru_utime.tv_usec as u64)
}

/// The explorers of the explore table: loom at the cell's own bound (exhaustive on two CPUs),
/// PCT and random at `iterations` per choice combination.
fn explorers(cell: &Cell, iterations: usize, seed: u64) -> [Explorer; 3] {
    [
        Explorer::Loom {
            bound: cell.scenario.loom_bound,
        },
        Explorer::Pct {
            seed,
            depth: 3,
            iterations,
        },
        Explorer::Random { seed, iterations },
    ]
}

/// Run the benchmarks; `baseline` adds the hand-model comparison.
pub fn run(iterations: usize, baseline: bool) -> Result<BenchReport, crate::matrix::LookupError> {
    let mut report = BenchReport::default();
    for id in CELLS {
        let cell = Cell::parse(id)?;
        for e in explorers(&cell, iterations, 1) {
            reset_peak_rss();
            let o = fresh(&cell, &e, budget());
            let secs = o.elapsed.as_secs_f64().max(1e-9);
            report.explore.push(BenchRow {
                cell: cell.id(),
                explorer: e.to_string(),
                verdict: o.verdict(),
                executions: o.executions,
                elapsed_ms: o.elapsed.as_secs_f64() * 1e3,
                executions_per_s: o.executions as f64 / secs,
                peak_rss_kib: peak_rss_kib(),
            });
        }
    }
    let seeds: Vec<u64> = (1..=10).collect();
    for id in BROKEN {
        let cell = Cell::parse(id)?;
        let [loom, ..] = explorers(&cell, iterations, 1);
        report.first_found.push(first_found(&cell, &[loom], &[0]));
        let pct: Vec<Explorer> = seeds
            .iter()
            .map(|&s| explorers(&cell, iterations, s)[1].clone())
            .collect();
        let random: Vec<Explorer> = seeds
            .iter()
            .map(|&s| explorers(&cell, iterations, s)[2].clone())
            .collect();
        report.first_found.push(first_found(&cell, &pct, &seeds));
        report.first_found.push(first_found(&cell, &random, &seeds));
    }
    if baseline {
        report.baseline = compare_with_hand_model(iterations)?;
    }
    Ok(report)
}

fn first_found(cell: &Cell, explorers: &[Explorer], seeds: &[u64]) -> FirstFound {
    let mut executions = Vec::new();
    let mut elapsed_ms = Vec::new();
    for e in explorers {
        let o = fresh(cell, e, budget());
        let (n, t) = o.first_found.unwrap_or((o.executions, o.elapsed));
        executions.push(o.finding.is_some().then_some(n));
        elapsed_ms.push(t.as_secs_f64() * 1e3);
    }
    FirstFound {
        cell: cell.id(),
        explorer: explorers[0].name().to_string(),
        seeds: seeds.to_vec(),
        executions,
        elapsed_ms,
    }
}

/// Time `executions` of the hand model under `explorer`, returning (executions, wall, user).
fn time_hand_model(explorer: &Explorer) -> (u64, Duration, Duration) {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (u0, t0) = (user_time(), Instant::now());
    match explorer {
        Explorer::Loom { bound } => {
            let mut b = loom::model::Builder::new();
            b.preemption_bound = *bound;
            let c = count.clone();
            b.check(move || {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                crate::baseline::loom_model::execution()
            });
        }
        Explorer::Pct {
            seed,
            depth,
            iterations,
        } => {
            let s = shuttle::scheduler::PctScheduler::new_from_seed(*seed, *depth, *iterations);
            let mut cfg = shuttle::Config::new();
            cfg.silence_warnings = true;
            let c = count.clone();
            shuttle::Runner::new(s, cfg).run(move || {
                c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                crate::baseline::shuttle_model::execution()
            });
        }
        other => unreachable!("no baseline for {other}"),
    }
    let n = count.load(std::sync::atomic::Ordering::Relaxed);
    (n, t0.elapsed(), user_time() - u0)
}

fn compare_with_hand_model(
    iterations: usize,
) -> Result<Vec<BaselineRow>, crate::matrix::LookupError> {
    let cell = Cell::parse(BASELINE_CELL)?;
    let mut rows = Vec::new();
    let explorers = [
        Explorer::Loom { bound: None },
        Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations,
        },
    ];
    for e in explorers {
        // Warm both up once (the first shuttle run installs its panic hook), then repeat each
        // until it has run for a second, so that user time (counted in ticks) is measurable.
        let _ = fresh(&cell, &e, budget());
        let _ = time_hand_model(&e);
        let (mut hn, mut hw, mut hu) = (0, Duration::ZERO, Duration::ZERO);
        while hw < MEASURE {
            let (n, w, u) = time_hand_model(&e);
            (hn, hw, hu) = (hn + n, hw + w, hu + u);
        }
        let (mut pn, mut pw, mut pu) = (0, Duration::ZERO, Duration::ZERO);
        while pw < MEASURE {
            let u0 = user_time();
            let o = fresh(&cell, &e, budget());
            (pn, pw, pu) = (pn + o.executions, pw + o.elapsed, pu + (user_time() - u0));
        }
        let per = |d: Duration, n: u64| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        let (hand, hand_user) = (per(hw, hn), per(hu, hn));
        let (ours, ours_user) = (per(pw, pn), per(pu, pn));
        rows.push(BaselineRow {
            explorer: e.to_string(),
            hand_executions: hn,
            hand_us_per_execution: hand,
            hand_user_us_per_execution: hand_user,
            ptcheck_cell: cell.id(),
            ptcheck_executions: pn,
            ptcheck_us_per_execution: ours,
            ptcheck_user_us_per_execution: ours_user,
            ratio: ours / hand.max(1e-9),
            user_ratio: ours_user / hand_user.max(1e-9),
        });
    }
    Ok(rows)
}

fn median(v: &[u64]) -> Option<u64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// The report as text tables.
pub fn render(r: &BenchReport) -> String {
    let mut out = String::from("explore (each cell to the end of its bound)\n");
    let w = r
        .explore
        .iter()
        .map(|x| x.explorer.len())
        .max()
        .unwrap_or(8);
    let c = r.explore.iter().map(|x| x.cell.len()).max().unwrap_or(4);
    out.push_str(&format!(
        "{:<c$} {:<w$} {:<10} {:>10} {:>10} {:>10} {:>10}\n",
        "cell", "explorer", "verdict", "execs", "time", "execs/s", "peak RSS"
    ));
    for x in &r.explore {
        out.push_str(&format!(
            "{:<c$} {:<w$} {:<10} {:>10} {:>10} {:>10.0} {:>10}\n",
            x.cell,
            x.explorer,
            x.verdict,
            x.executions,
            format!("{:.1}ms", x.elapsed_ms),
            x.executions_per_s,
            x.peak_rss_kib
                .map(|k| format!("{:.1} MiB", k as f64 / 1024.0))
                .unwrap_or_else(|| "?".into())
        ));
    }
    out.push_str("\nfirst counterexample (loom: deterministic; shuttle: seeds 1..=10)\n");
    let c = r
        .first_found
        .iter()
        .map(|x| x.cell.len())
        .max()
        .unwrap_or(4);
    out.push_str(&format!(
        "{:<c$} {:<15} {:>6} {:>10} {:>10} {:>12} {:>12}\n",
        "cell", "explorer", "found", "med execs", "max execs", "med time", "max time"
    ));
    for x in &r.first_found {
        let found: Vec<u64> = x.executions.iter().flatten().copied().collect();
        let mut times: Vec<f64> = x.elapsed_ms.clone();
        times.sort_by(f64::total_cmp);
        let med_t = times.get(times.len() / 2).copied().unwrap_or(0.0);
        let max_t = times.last().copied().unwrap_or(0.0);
        out.push_str(&format!(
            "{:<c$} {:<15} {:>6} {:>10} {:>10} {:>12} {:>12}\n",
            x.cell,
            x.explorer,
            format!("{}/{}", found.len(), x.executions.len()),
            median(&found).map(|n| n.to_string()).unwrap_or("-".into()),
            found
                .iter()
                .max()
                .map(|n| n.to_string())
                .unwrap_or("-".into()),
            format!("{med_t:.1}ms"),
            format!("{max_t:.1}ms"),
        ));
    }
    if !r.baseline.is_empty() {
        out.push_str(&format!(
            "\nbaseline: time per execution against the hand-written model ({})\n",
            BASELINE_CELL
        ));
        let e = r
            .baseline
            .iter()
            .map(|b| b.explorer.len())
            .max()
            .unwrap_or(8);
        out.push_str(&format!(
            "{:<e$} {:>11} {:>11} {:>11} {:>11} {:>11} {:>7}\n",
            "explorer",
            "hand execs",
            "hand us/ex",
            "ours execs",
            "ours us/ex",
            "user ratio",
            "ratio",
        ));
        for b in &r.baseline {
            out.push_str(&format!(
                "{:<e$} {:>11} {:>11.2} {:>11} {:>11.2} {:>11.2} {:>7.2}\n",
                b.explorer,
                b.hand_executions,
                b.hand_us_per_execution,
                b.ptcheck_executions,
                b.ptcheck_us_per_execution,
                b.user_ratio,
                b.ratio,
            ));
        }
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
