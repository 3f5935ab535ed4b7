//! `ptcheck bench`: speed and memory of the explorers on fixed cells (the project's
//! performance figures live here, not in timed tests).
//!
//! Three tables (and, with `--broken`, a fourth report instead: [`broken`]):
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
    /// ptcheck's wall time per execution divided by the hand model's: the median over the
    /// alternating rounds of each round's ratio.
    pub ratio: f64,
    /// The same for user CPU time.
    pub user_ratio: f64,
    /// The lower and upper quartile of the rounds' user-time ratios: how far one round's
    /// estimate strays on this machine (a wide range says the machine was busy).
    pub user_ratio_quartiles: (f64, f64),
    /// The alternating rounds the ratios are taken over (`--rounds`).
    pub rounds: u32,
    /// Scheduling decisions per execution of each model, counted under shuttle PCT (seed 1,
    /// the default data choices): how much more each of ptcheck's executions does. `None` for
    /// loom, which has no scheduler hook to count them.
    pub hand_steps_per_execution: Option<f64>,
    pub ptcheck_steps_per_execution: Option<f64>,
}

/// A shuttle scheduler that counts the scheduling decisions of the executions it runs.
struct Counting<S> {
    inner: S,
    steps: std::sync::Arc<std::sync::atomic::AtomicU64>,
    executions: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<S: shuttle::scheduler::Scheduler> shuttle::scheduler::Scheduler for Counting<S> {
    fn new_execution(&mut self) -> Option<shuttle::scheduler::Schedule> {
        let s = self.inner.new_execution()?;
        self.executions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(s)
    }

    fn next_task(
        &mut self,
        runnable: &[&shuttle::scheduler::Task],
        current: Option<shuttle::scheduler::TaskId>,
        is_yielding: bool,
    ) -> Option<shuttle::scheduler::TaskId> {
        self.steps
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.next_task(runnable, current, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }
}

/// Scheduling decisions per execution of `f` under shuttle's PCT (depth 3, seed 1).
fn steps_per_execution(iterations: usize, f: impl Fn() + Send + Sync + 'static) -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let (steps, executions) = (
        std::sync::Arc::new(AtomicU64::new(0)),
        std::sync::Arc::new(AtomicU64::new(0)),
    );
    let sched = Counting {
        inner: shuttle::scheduler::PctScheduler::new_from_seed(1, 3, iterations),
        steps: steps.clone(),
        executions: executions.clone(),
    };
    let mut cfg = shuttle::Config::new();
    cfg.silence_warnings = true;
    shuttle::Runner::new(sched, cfg).run(f);
    steps.load(Relaxed) as f64 / executions.load(Relaxed).max(1) as f64
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
const MEASURE: Duration = Duration::from_secs(3);

/// Rounds the baseline's measuring time is split into by default (`--rounds`): the two sides
/// alternate, each round gives a ratio of its own, and the ratio reported is their median (each
/// side's time per execution is its fastest round).
pub const ROUNDS: u32 = 9;

/// The cell the baseline is compared with (the hand model's protocol).
pub const BASELINE_CELL: &str = "gup-fast-vs-munmap/x86-v6.14/correct";

/// Explore `cell` afresh (not [`Cell::check`], which explores a cell once per process).
fn fresh(cell: &Cell, e: &Explorer, budget: Budget) -> ptcheck_checks::Outcome {
    let mut o = ptcheck_checks::explore_focused(e, budget, cell.body(), cell.variant.off);
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
pub fn run(
    iterations: usize,
    baseline: Option<u32>,
) -> Result<BenchReport, crate::matrix::LookupError> {
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
    if let Some(rounds) = baseline {
        report.baseline = compare_with_hand_model(iterations, rounds.max(1))?;
    }
    Ok(report)
}

/// Explore `cell` afresh with `e`: the executions until its first counterexample (`None`: none
/// found) and the time taken to it, or to the end of the run, in ms.
fn first_counterexample(cell: &Cell, e: &Explorer) -> (Option<u64>, f64) {
    let o = fresh(cell, e, budget());
    let (n, t) = o.first_found.unwrap_or((o.executions, o.elapsed));
    (o.finding.is_some().then_some(n), t.as_secs_f64() * 1e3)
}

fn first_found(cell: &Cell, explorers: &[Explorer], seeds: &[u64]) -> FirstFound {
    let (executions, elapsed_ms) = explorers
        .iter()
        .map(|e| first_counterexample(cell, e))
        .unzip();
    FirstFound {
        cell: cell.id(),
        explorer: explorers[0].name().to_string(),
        seeds: seeds.to_vec(),
        executions,
        elapsed_ms,
    }
}

/// A side of the baseline comparison ([`profile`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The hand-written model ([`crate::baseline`]).
    Hand,
    /// ptcheck's cell [`BASELINE_CELL`].
    Ptcheck,
}

/// The explorer [`profile`] runs a side under.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Under {
    /// loom, exhaustive.
    #[default]
    Loom,
    /// The `pct` explorer (seed 1, 20,000 iterations: every schedule of the cell, each once).
    Pct,
}

impl Under {
    fn explorer(self) -> Explorer {
        match self {
            Under::Loom => Explorer::Loom { bound: None },
            Under::Pct => Explorer::Pct {
                seed: 1,
                depth: 3,
                iterations: 20_000,
            },
        }
    }
}

/// What [`profile`] ran.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileRun {
    pub side: Side,
    pub under: Under,
    pub runs: u64,
    pub executions: u64,
    pub elapsed_ms: f64,
    pub us_per_execution: f64,
}

/// Run one side of the baseline comparison alone, under loom (exhaustive) or PCT, `runs` times
/// (the whole exploration each time): what a profiler (`valgrind --tool=callgrind`, `perf
/// record`) should watch to see where that side's time per execution goes, without the other
/// side or the rest of the bench.
pub fn profile(
    side: Side,
    under: Under,
    runs: u64,
) -> Result<ProfileRun, crate::matrix::LookupError> {
    let cell = Cell::parse(BASELINE_CELL)?;
    let e = under.explorer();
    let start = Instant::now();
    let mut executions = 0;
    for _ in 0..runs {
        executions += match side {
            Side::Hand => time_hand_model(&e).0,
            Side::Ptcheck => fresh(&cell, &e, budget()).executions,
        };
    }
    let elapsed = start.elapsed();
    Ok(ProfileRun {
        side,
        under,
        runs,
        executions,
        elapsed_ms: elapsed.as_secs_f64() * 1e3,
        us_per_execution: elapsed.as_secs_f64() * 1e6 / executions.max(1) as f64,
    })
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
        Explorer::Pct { .. } => {
            // The scheduler the `pct` explorer runs a cell with (PCT at a depth drawn per
            // execution, no schedule run twice).
            let s = ptcheck_checks::search::scheduler(explorer);
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
    rounds: u32,
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
        // Warm both up once (the first shuttle run installs its panic hook). Each side then
        // runs MEASURE / ROUNDS (a third of a second) in each of the `rounds`: long enough for
        // user time, which the kernel splits from wall time at its tick, to be within a percent
        // or two in a round; the median over the rounds absorbs most of what is left.
        let _ = fresh(&cell, &e, budget());
        let _ = time_hand_model(&e);
        // The machine is noisy (other jobs come and go): alternate the two sides in `rounds`
        // short rounds (which goes first alternates too), take each round's ratio, and report
        // their median, so that a slow spell moves one round's pair, not one side only. Each
        // side's time per execution is its fastest round.
        let (mut hand, mut ours) = (None::<(u64, Duration, Duration)>, None);
        let faster = |best: &mut Option<(u64, Duration, Duration)>,
                      r: (u64, Duration, Duration)| {
            let per = |(n, w, _): (u64, Duration, Duration)| w.as_secs_f64() / n.max(1) as f64;
            if best.is_none_or(|b| per(r) < per(b)) {
                *best = Some(r);
            }
        };
        let measure_hand = || {
            let (mut hn, mut hw, mut hu) = (0, Duration::ZERO, Duration::ZERO);
            while hw < MEASURE / ROUNDS {
                let (n, w, u) = time_hand_model(&e);
                (hn, hw, hu) = (hn + n, hw + w, hu + u);
            }
            (hn, hw, hu)
        };
        let measure_ours = || {
            let (mut pn, mut pw, mut pu) = (0, Duration::ZERO, Duration::ZERO);
            while pw < MEASURE / ROUNDS {
                let u0 = user_time();
                let o = fresh(&cell, &e, budget());
                (pn, pw, pu) = (pn + o.executions, pw + o.elapsed, pu + (user_time() - u0));
            }
            (pn, pw, pu)
        };
        let (mut wall_ratios, mut user_ratios) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let (h, o) = if round % 2 == 0 {
                let h = measure_hand();
                (h, measure_ours())
            } else {
                let o = measure_ours();
                (measure_hand(), o)
            };
            let per = |d: Duration, n: u64| d.as_secs_f64() / n.max(1) as f64;
            wall_ratios.push(per(o.1, o.0) / per(h.1, h.0).max(1e-12));
            user_ratios.push(per(o.2, o.0) / per(h.2, h.0).max(1e-12));
            faster(&mut hand, h);
            faster(&mut ours, o);
        }
        let ((hn, hw, hu), (pn, pw, pu)) = (hand.expect("rounds > 0"), ours.expect("rounds > 0"));
        let per = |d: Duration, n: u64| d.as_secs_f64() * 1e6 / n.max(1) as f64;
        let (hand_steps, ptcheck_steps) = match e {
            Explorer::Pct { iterations, .. } => {
                let body = cell.body();
                ptcheck_model::rt::set_backend(ptcheck_model::rt::Backend::Shuttle);
                (
                    Some(steps_per_execution(iterations, || {
                        crate::baseline::shuttle_model::execution()
                    })),
                    Some(steps_per_execution(iterations, move || body(&[]))),
                )
            }
            _ => (None, None),
        };
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
            ratio: median_f64(&mut wall_ratios),
            user_ratio: median_f64(&mut user_ratios),
            user_ratio_quartiles: quartiles(&user_ratios),
            rounds,
            hand_steps_per_execution: hand_steps,
            ptcheck_steps_per_execution: ptcheck_steps,
        });
    }
    Ok(rows)
}

/// The median of `v` (the upper one of an even count; 0 for none).
fn median_f64(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// The lower and upper quartile of `v` (nearest rank; (0, 0) for none).
fn quartiles(v: &[f64]) -> (f64, f64) {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: usize| {
        let i = (q * sorted.len()).div_ceil(4).saturating_sub(1);
        sorted.get(i).copied().unwrap_or(0.0)
    };
    (at(1), at(3))
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
            "{:<e$} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11} {:>7} {:>11} {:>11} {:>10}\n",
            "explorer",
            "hand execs",
            "hand us/ex",
            "ours execs",
            "ours us/ex",
            "user ratio",
            "user IQR",
            "ratio",
            "hand st/ex",
            "ours st/ex",
            "per step",
        ));
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        for b in &r.baseline {
            let per_step = match (b.hand_steps_per_execution, b.ptcheck_steps_per_execution) {
                (Some(h), Some(o)) if h > 0.0 && o > 0.0 => {
                    format!("{:.2}", b.ratio * h / o)
                }
                _ => "-".into(),
            };
            out.push_str(&format!(
                "{:<e$} {:>11} {:>11.2} {:>11} {:>11.2} {:>11.2} {:>11} {:>7.2} {:>11} {:>11} {:>10}\n",
                b.explorer,
                b.hand_executions,
                b.hand_us_per_execution,
                b.ptcheck_executions,
                b.ptcheck_us_per_execution,
                b.user_ratio,
                format!("{:.2}-{:.2}", b.user_ratio_quartiles.0, b.user_ratio_quartiles.1),
                b.ratio,
                opt(b.hand_steps_per_execution),
                opt(b.ptcheck_steps_per_execution),
                per_step,
            ));
        }
        let rounds = r.baseline.first().map_or(ROUNDS, |b| b.rounds);
        out.push_str(&format!(
            "(us/ex: each side's fastest of {rounds} alternating rounds; ratio, user ratio: the \
             median of the rounds' own ratios, wall and user time; user IQR: their lower and \
             upper quartile; st/ex: scheduling decisions per execution under shuttle PCT; per \
             step: the time ratio per scheduling decision)\n",
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

/// How fast the explorers reach one broken cell: loom's first counterexample, and PCT's and
/// random's at each of seeds 1..=10 (`None`: not within the budget).
#[derive(Clone, Debug, Serialize)]
pub struct Reach {
    pub cell: String,
    /// The reviewed expectation as `check` prints it (`use-after-free`, `pin-of-freed-page
    /// (beyond bounded shuttle)`, `a|b`).
    pub expect: String,
    /// Whether a sequentially consistent explorer can reach it at all (not `kind(weak)`).
    pub sc_reachable: bool,
    /// Whether the expectation says it is beyond a bounded shuttle search (`kind(deep)`).
    pub deep: bool,
    pub loom_executions: Option<u64>,
    pub loom_ms: f64,
    /// Per seed (1..=10 unless `--seeds`), the executions (over all data-choice combinations) to the first
    /// counterexample, when the run with `within` iterations per combination found one.
    pub pct: Vec<Option<u64>>,
    pub random: Vec<Option<u64>>,
}

/// The cells the reviewed expectations mark as broken (a finding, `kind(deep)` or
/// `kind(weak)` included), with their expectation.
pub fn broken_cells(
    reg: &crate::registry::Registry,
    scenario: Option<&'static ptcheck_scenarios::Scenario>,
) -> Result<Vec<(Cell, crate::expected::Expect)>, crate::registry::RegistryError> {
    use crate::expected::Expect;
    let exp = reg.expectations()?;
    Ok(reg
        .cells(scenario, None)
        .into_iter()
        .filter_map(|c| exp.get(&c).cloned().map(|e| (c, e)))
        .filter(|(_, e)| !matches!(e, Expect::Safe | Expect::Vacuous))
        .collect())
}

/// `ptcheck bench --broken`: the broken `cells` ([`broken_cells`]), each explored by
/// loom (the cell's bound) and by PCT and random at seeds 1..=10, recording the executions to
/// the first counterexample. `within` is both the iterations each data-choice combination may
/// run and the threshold of the first count of [`render_broken`]: there a seed counts as found
/// only if the cell's *total* executions, over all its combinations (explored round-robin),
/// stayed within `within`, so a cell with many combinations whose failing one needs `within`
/// on its own counts as missed; the second count takes any seed that found it. `jobs` cells
/// run at once ([`crate::parallel::map`]); the rows come back in cell order, and the execution
/// counts do not depend on `jobs` (loom's milliseconds can, a little, on a busy machine).
pub fn broken(
    cells: &[(Cell, crate::expected::Expect)],
    within: usize,
    seeds: (u64, u64),
    jobs: usize,
    progress: impl Fn(&Reach) + Sync,
) -> Vec<Reach> {
    crate::parallel::map(cells.len(), jobs, None, |k| {
        let (cell, e) = &cells[k];
        let r = reach(cell, e, within, seeds);
        progress(&r);
        r
    })
}

/// One broken cell's [`Reach`]: loom at the cell's bound, PCT and random at each seed of
/// `seeds` (first and last).
fn reach(cell: &Cell, e: &crate::expected::Expect, within: usize, seeds: (u64, u64)) -> Reach {
    use crate::expected::Expect;
    let (sc_reachable, deep) = match e {
        Expect::Deep(_) => (true, true),
        Expect::WeakOnly(_) => (false, false),
        Expect::Found(_) | Expect::Safe | Expect::Vacuous => (true, false),
    };
    let first = |e: &Explorer| first_counterexample(cell, e);
    let (loom_executions, loom_ms) = first(&Explorer::Loom {
        bound: cell.scenario.loom_bound,
    });
    let per_seed = |random: bool| -> Vec<Option<u64>> {
        if !sc_reachable {
            return Vec::new();
        }
        (seeds.0..=seeds.1)
            .map(|seed| {
                let e = if random {
                    Explorer::Random {
                        seed,
                        iterations: within,
                    }
                } else {
                    Explorer::Pct {
                        seed,
                        depth: 3,
                        iterations: within,
                    }
                };
                first(&e).0
            })
            .collect()
    };
    Reach {
        cell: cell.id(),
        expect: e.to_string(),
        sc_reachable,
        deep,
        loom_executions,
        loom_ms,
        pct: per_seed(false),
        random: per_seed(true),
    }
}

/// The `--broken` report for `seeds` (first and last): per explorer, how many cells every seed found within `within`
/// executions in all (over every data-choice combination, what a user waits for), how many
/// every seed found at all with `within` iterations per combination (what `check --iterations
/// within` reports), the worst and median executions, and the cells some seed missed by the
/// first count.
pub fn render_broken(rows: &[Reach], within: usize, seeds: (u64, u64)) -> String {
    let (first, last) = seeds;
    let n = (last - first + 1) as usize;
    let mut out = String::new();
    let loom_found = rows.iter().filter(|r| r.loom_executions.is_some()).count();
    let loom_max = rows.iter().map(|r| r.loom_ms).fold(0.0, f64::max);
    let slowest = rows
        .iter()
        .max_by(|a, b| a.loom_ms.total_cmp(&b.loom_ms))
        .map(|r| r.cell.as_str())
        .unwrap_or("-");
    out.push_str(&format!(
        "broken cells: {} ({} reachable under sequential consistency, of which {} marked \
         kind(deep); {} kind(weak), loom only)\n",
        rows.len(),
        rows.iter().filter(|r| r.sc_reachable).count(),
        rows.iter().filter(|r| r.deep).count(),
        rows.iter().filter(|r| !r.sc_reachable).count(),
    ));
    out.push_str(&format!(
        "loom (each cell's bound): found {loom_found}/{}; slowest first counterexample \
         {loom_max:.1} ms ({slowest})\n",
        rows.len()
    ));
    for r in rows
        .iter()
        .filter(|r| r.loom_ms > 1000.0 || r.loom_executions.is_none())
    {
        out.push_str(&format!(
            "    loom over 1 s or not found: {:<60} {:<28} {:.1} ms, {}\n",
            r.cell,
            r.expect,
            r.loom_ms,
            r.loom_executions
                .map_or("not found".into(), |n| format!("{n} executions")),
        ));
    }
    for (name, pick) in [
        (
            "pct (depth 2-3)",
            (|r: &Reach| &r.pct) as fn(&Reach) -> &Vec<Option<u64>>,
        ),
        ("random", |r: &Reach| &r.random),
    ] {
        let sc: Vec<&Reach> = rows.iter().filter(|r| r.sc_reachable).collect();
        let within_total = |n: &&u64| **n <= within as u64;
        let in_budget = |n: &u64| *n <= within as u64;
        let all = |r: &Reach| pick(r).iter().all(|n| n.as_ref().is_some_and(in_budget));
        let every_seed = |r: &Reach| pick(r).iter().all(Option::is_some);
        let found: Vec<u64> = sc
            .iter()
            .flat_map(|r| pick(r).iter().flatten())
            .copied()
            .collect();
        let shallow = sc.iter().filter(|r| !r.deep).count();
        out.push_str(&format!(
            "{name}: every seed {first}-{last} within {within} executions in all on {}/{} cells ({}/{} \
             not marked kind(deep)); found with {within} iterations per choice combination at \
             every seed on {}/{} ({}/{}); runs found {}/{}; median {} and worst {} executions \
             (in all) to the first counterexample\n",
            sc.iter().filter(|r| all(r)).count(),
            sc.len(),
            sc.iter().filter(|r| !r.deep && all(r)).count(),
            shallow,
            sc.iter().filter(|r| every_seed(r)).count(),
            sc.len(),
            sc.iter().filter(|r| !r.deep && every_seed(r)).count(),
            shallow,
            found.len(),
            sc.len() * n,
            median(&found).map_or("-".into(), |n| n.to_string()),
            found.iter().max().map_or("-".into(), |n| n.to_string()),
        ));
        for r in sc.iter().filter(|r| !all(r)) {
            out.push_str(&format!(
                "    missed: {:<60} {:<28} seeds within {within} in all {}/{n}, found {}/{n}\n",
                r.cell,
                r.expect,
                pick(r).iter().flatten().filter(within_total).count(),
                pick(r).iter().flatten().count(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The yardstick is only fair if it is the same protocol: loom explores exactly as many
    /// executions of the hand model as of the cell (the same scheduling points and conflicts),
    /// and the same PCT seed takes as many scheduling decisions per execution on each.
    #[test]
    fn the_hand_model_makes_the_cells_scheduling_points() {
        let cell = Cell::parse(BASELINE_CELL).expect("the baseline cell exists");
        let loom = Explorer::Loom { bound: None };
        let ours = fresh(&cell, &loom, budget());
        assert_eq!(ours.verdict(), "safe");
        assert_eq!(time_hand_model(&loom).0, ours.executions);
        let body = cell.body();
        ptcheck_model::rt::set_backend(ptcheck_model::rt::Backend::Shuttle);
        let hand = steps_per_execution(200, crate::baseline::shuttle_model::execution);
        let ours = steps_per_execution(200, move || body(&[]));
        assert_eq!(hand, ours);
    }

    #[test]
    fn quartiles_are_nearest_rank_of_the_sorted_rounds() {
        assert_eq!(quartiles(&[]), (0.0, 0.0));
        assert_eq!(quartiles(&[1.2]), (1.2, 1.2));
        // Unsorted on purpose: nine rounds, quartiles at the 3rd and 7th.
        let r = [1.9, 1.1, 1.5, 1.3, 1.7, 1.2, 1.8, 1.4, 1.6];
        assert_eq!(quartiles(&r), (1.3, 1.7));
    }

    fn reach(
        cell: &str,
        sc: bool,
        deep: bool,
        pct: &[Option<u64>],
        random: &[Option<u64>],
    ) -> Reach {
        Reach {
            cell: cell.into(),
            expect: "use-after-free".into(),
            sc_reachable: sc,
            deep,
            loom_executions: Some(5),
            loom_ms: 1.0,
            pct: pct.to_vec(),
            random: random.to_vec(),
        }
    }

    #[test]
    fn the_broken_summary_counts_cells_every_seed_found_and_lists_the_others() {
        let all = [Some(3); 10];
        let mut some = [Some(7); 10];
        some[4] = None;
        // Found at every seed, but one seed needed more than 1,000 executions in all.
        let mut late = [Some(900); 10];
        late[2] = Some(1_001);
        let rows = [
            reach("s/a/v", true, false, &all, &some),
            reach("s/b/v", true, true, &some, &all),
            reach("s/c/v", false, false, &[], &[]),
            reach("s/d/v", true, false, &late, &all),
        ];
        let out = render_broken(&rows, 1000, (1, 10));
        assert!(out.starts_with("broken cells: 4 (3 reachable under sequential consistency, of which 1 marked kind(deep); 1 kind(weak), loom only)"), "{out}");
        assert!(out.contains("loom (each cell's bound): found 4/4"), "{out}");
        assert!(out.contains("pct (depth 2-3): every seed 1-10 within 1000 executions in all on 1/3 cells (1/2 not marked kind(deep)); found with 1000 iterations per choice combination at every seed on 2/3 (2/2); runs found 29/30"), "{out}");
        assert!(out.contains("random: every seed 1-10 within 1000 executions in all on 2/3 cells (1/2 not marked kind(deep)); found with 1000 iterations per choice combination at every seed on 2/3 (1/2)"), "{out}");
        let missed: Vec<&str> = out.lines().filter(|l| l.contains("missed:")).collect();
        assert_eq!(missed.len(), 3, "{out}");
        assert!(
            missed[0].contains("s/b/v") && missed[0].contains("in all 9/10, found 9/10"),
            "{out}"
        );
        assert!(
            missed[1].contains("s/d/v") && missed[1].contains("in all 9/10, found 10/10"),
            "{out}"
        );
        assert!(missed[2].contains("s/a/v"), "{out}");
        assert!(!out.contains("over 1 s"), "{out}");
    }
}
