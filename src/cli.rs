//! The `ptcheck` command line, over any [`Registry`]: the project's binary runs it on
//! [`Registry::builtin`]; a user's crate builds its own binary on its registry with
//! [`main_with`] and gets `list`, `check`, `explain`, `replay`, `necessity`, `agree`, `report`
//! and `--json` for its own cells.

use crate::matrix::{self, Cell, LookupError};
use crate::registry::{Registry, RegistryError};
use crate::report::{self, RunConfig};
use clap::{Parser, Subcommand};
use ptcheck_checks::{explore, validate_schedule, BadSchedule, Budget, Explorer, ExplorerError};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "ptcheck",
    version,
    about = "Model-check the kernel's lockless page-table protocols",
    after_help = EXPLORER_LIMITS
)]
struct Cli {
    /// No progress bar (it is drawn on stderr only when stderr is a terminal anyway).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Add an arch policy written as a TOML file (`name`, `base`, then knobs as `ptcheck
    /// list` spells them); may be given several times. Its column appears next to the
    /// registered ones.
    #[arg(long, global = true, value_name = "FILE")]
    policy_file: Vec<std::path::PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

/// What each explorer covers, printed under `--help` (ARCHITECTURE.md has the details).
const EXPLORER_LIMITS: &str = "\
Explorers and their limits:
  loom     every schedule (DPOR; loom 0.7.3 with its DPOR fixed, vendor/loom) plus the weak-memory
           outcomes of the C11 model, exhaustive or up to a preemption bound (every verdict says
           which). It does no load buffering: an outcome that needs a load to read from a later
           store (LKMM LB+poonceonces) is never seen. Its fence(SeqCst) is stronger than C11 for
           its causality check; verdicts do not rest on that check, since a free writes the
           freed table (an access both explorers see).
  pct, random, dfs, replay (shuttle)
           sequentially consistent only: a `safe` covers interleavings, not weak memory; where the
           expected finding needs weak memory they report `undecided (SC only)`. dfs with
           --iterations 0 visits every sequentially consistent schedule; pct and random never
           run one twice, and say `exhaustive under sequential consistency` when they ran them
           all within their iterations.
  `ptcheck agree` checks that loom finds every violation shuttle DFS finds.";

#[derive(clap::Args, Clone)]
struct ExploreArgs {
    /// Explorer: loom (the scenario's bound), loom-exhaustive, pct, random or dfs (see the
    /// limits under `ptcheck --help`).
    #[arg(long, short, default_value = "loom")]
    explorer: String,
    /// Iterations for pct/random/dfs (dfs: 0 = every schedule, exhaustive under sequential
    /// consistency).
    #[arg(long, default_value_t = 10_000)]
    iterations: usize,
    /// Preemption bound: loom's, instead of the scenario's; for dfs, every schedule with at
    /// most this many preemptions (default: every schedule). Ignored by pct and random; at
    /// most 255.
    #[arg(long, value_parser = clap::value_parser!(u8))]
    bound: Option<u8>,
    /// Seed for pct/random.
    #[arg(long, default_value_t = 1, conflicts_with = "seeds")]
    seed: u64,
    /// A range of seeds for pct/random, `FIRST-LAST` (e.g. `1-5` on one machine, `6-10` on
    /// another): each cell is run once per seed, one row each.
    #[arg(long, value_parser = parse_seed_range)]
    seeds: Option<(u64, u64)>,
    /// The nightly depth: loom at preemption bound 4 on the scenarios the gate bounds (three
    /// CPUs); two-CPU scenarios are exhaustive either way. `--bound` overrides it.
    #[arg(long)]
    deep: bool,
    /// Time budget per cell and choice combination, in seconds (a run it stops is reported as
    /// incomplete).
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    budget: u64,
    /// Cells explored at once, one thread each (default: the machine's cores). The rows,
    /// verdicts and counterexamples do not depend on it.
    #[arg(long, short, value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
}

impl ExploreArgs {
    fn config(&self) -> RunConfig {
        RunConfig {
            explorer: self.explorer.clone(),
            iterations: self.iterations,
            seed: self.seeds.map_or(self.seed, |(a, _)| a),
            last_seed: self.seeds.map(|(_, b)| b),
            bound: self.bound.map(usize::from),
            deep: self.deep,
            jobs: self
                .jobs
                .map_or_else(crate::parallel::cores, |j| j as usize),
            budget: Budget {
                time: Duration::from_secs(self.budget),
                ..Budget::default()
            },
        }
    }
}

/// Which cells a command runs: `[SCENARIO] [--arch POLICY] [--variant VARIANT]`.
#[derive(clap::Args, Clone)]
struct Selection {
    /// Only this scenario.
    scenario: Option<String>,
    /// Only this arch policy.
    #[arg(long)]
    arch: Option<String>,
    /// Only this variant (needs SCENARIO).
    #[arg(long)]
    variant: Option<String>,
}

/// How `explain` prints a counterexample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Mermaid,
}

#[derive(Subcommand)]
enum Cmd {
    /// List scenarios (with their CPUs, guards and variants), arch policies and guards.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Check the matrix (or part of it) against the reviewed expectations.
    Check {
        #[command(flatten)]
        select: Selection,
        #[command(flatten)]
        explore: ExploreArgs,
        /// Print the counterexample of every cell that found one (default: of the `correct`
        /// variants and of mismatches only).
        #[arg(long)]
        traces: bool,
        #[arg(long)]
        json: bool,
    },
    /// Check one cell (SCENARIO/POLICY/VARIANT) and print its counterexample.
    Explain {
        cell: String,
        #[command(flatten)]
        explore: ExploreArgs,
        /// Print every trace cell whole (by default cells are cut at 76 characters).
        #[arg(long)]
        wide: bool,
        /// `text` (the per-CPU table) or `mermaid` (a pull-request comment with a
        /// `sequenceDiagram` of the counterexample).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Write a self-contained HTML report (the matrix coloured by verdict with each cell's
    /// coverage, and a lane diagram of every counterexample) for the selected cells.
    Report {
        #[command(flatten)]
        select: Selection,
        #[command(flatten)]
        explore: ExploreArgs,
        /// The folder to write `index.html` into (created if missing).
        #[arg(long, value_name = "DIR")]
        html: std::path::PathBuf,
    },
    /// Switch each guard off (alone, then in pairs) and report whether the checker catches it.
    Necessity {
        /// Only this scenario.
        scenario: Option<String>,
        /// Only this arch policy.
        #[arg(long)]
        arch: Option<String>,
        #[command(flatten)]
        explore: ExploreArgs,
        /// Time budget for the pair analysis per scenario, in seconds.
        #[arg(long, default_value_t = 60)]
        pairs_budget: u64,
        /// Print the markdown report only (no timings, no traces).
        #[arg(long)]
        markdown: bool,
        /// Rewrite the necessity section of ./README.md with the markdown report.
        #[arg(long)]
        update_readme: bool,
    },
    /// The protocol cost of zapping N huge pmds on C CPUs, per policy (IPIs sent, CPUs
    /// interrupted, grace periods, TLB flushes), measured by running the kernel paths.
    Cost {
        /// Huge pmds zapped (default: a table of points).
        #[arg(long)]
        pmds: Option<usize>,
        /// CPUs in mm_cpumask (default: a table of points, including the seed's 128).
        #[arg(long)]
        cpus: Option<usize>,
        /// Instead: what one khugepaged retract_page_tables costs per policy (IPIs, grace
        /// periods), the 2023 seed's protocol.
        #[arg(long, conflicts_with = "pgd_lock")]
        retract: bool,
        /// Instead: pgd_lock acquisitions of one fork and one exit per x86 policy, mainline
        /// (pgd_list) vs the 2015 lockless pgd_alloc series.
        #[arg(long)]
        pgd_lock: bool,
    },
    /// Explorer agreement: a violation shuttle DFS (every sequentially consistent schedule)
    /// finds must be found by loom; exits 1 on any disagreement, printing both results.
    Agree {
        #[command(flatten)]
        select: Selection,
        /// DFS schedules per data-choice combination before a cell counts as not affordable.
        #[arg(long, default_value_t = crate::agree::AgreeConfig::FULL_DFS_LIMIT)]
        dfs_limit: usize,
        /// Time budget per exploration, in seconds.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
        budget: u64,
        /// Compare scenarios the gate bounds (three CPUs) at this preemption bound when it is
        /// below theirs (both explorers at the same bound; the CI gate uses 2).
        #[arg(long, value_parser = clap::value_parser!(u8))]
        bound: Option<u8>,
        /// Cells checked at once, one thread each (default: the machine's cores).
        #[arg(long, short, value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
    },
    /// Measure explorer speed and memory on fixed cells, and the executions to the first
    /// counterexample of broken cells.
    Bench {
        /// Iterations per choice combination for the shuttle explorers.
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..))]
        iterations: u64,
        /// Also compare time per execution with the hand-written raw loom/shuttle model.
        #[arg(long)]
        baseline: bool,
        /// The alternating rounds of `--baseline` (a third of a second per side each): more
        /// rounds, a steadier median on a busy machine.
        #[arg(long, default_value_t = crate::bench::ROUNDS, requires = "baseline", value_parser = clap::value_parser!(u32).range(1..=1000))]
        rounds: u32,
        /// Instead: every cell the reviewed expectations mark as broken, explored by loom and
        /// by PCT and random at seeds 1-10 (or `--seeds`) with `--within` iterations per choice
        /// combination; reports how many each explorer finds within that many executions at
        /// every seed.
        #[arg(long, conflicts_with_all = ["baseline", "iterations"])]
        broken: bool,
        /// The execution budget of `--broken`.
        #[arg(long, default_value_t = 1_000, requires = "broken", value_parser = clap::value_parser!(u64).range(1..))]
        within: u64,
        /// `--broken` on this scenario's cells only.
        #[arg(long, requires = "broken")]
        scenario: Option<String>,
        /// `--broken`: the seeds of PCT and random, `FIRST-LAST` (which cells some seed misses
        /// changes with the seeds: measure more than one range).
        #[arg(long, requires = "broken", value_parser = parse_seed_range, default_value = "1-10")]
        seeds: (u64, u64),
        /// `--broken`: cells explored at once, one thread each (default: the machine's cores).
        /// The execution counts do not depend on it.
        #[arg(long, short, requires = "broken", value_parser = clap::value_parser!(u64).range(1..=1024))]
        jobs: Option<u64>,
        /// Instead: run one side of `--baseline`'s comparison alone (`--under` loom or pct, `--runs`
        /// times) and print its time per execution, for a profiler to watch (e.g. `valgrind
        /// --tool=callgrind ptcheck bench --profile ptcheck`).
        #[arg(long, value_enum, conflicts_with_all = ["baseline", "broken", "iterations"])]
        profile: Option<crate::bench::Side>,
        /// The explorer of `--profile`: loom (exhaustive) or pct (every schedule, each once).
        #[arg(long, value_enum, default_value = "loom", requires = "profile")]
        under: crate::bench::Under,
        /// The runs of `--profile` (each one the cell's whole exploration).
        #[arg(long, default_value_t = 100, requires = "profile", value_parser = clap::value_parser!(u64).range(1..))]
        runs: u64,
        #[arg(long)]
        json: bool,
    },
    /// Replay a shuttle schedule string (printed under a counterexample) on a cell.
    Replay {
        cell: String,
        #[arg(long)]
        schedule: String,
    },
}

/// `FIRST-LAST`, FIRST <= LAST.
fn parse_seed_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("`{s}` is not a seed range FIRST-LAST (e.g. 1-10)");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a > b {
        return Err(format!("seed range `{s}`: FIRST must not be above LAST"));
    }
    Ok((a, b))
}

/// What stops a command: bad input, named.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Lookup(#[from] LookupError),
    #[error(transparent)]
    Explorer(#[from] ExplorerError),
    #[error(transparent)]
    Schedule(#[from] BadSchedule),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    PolicyFile(#[from] crate::policy_file::PolicyFileError),
    #[error(transparent)]
    Cost(#[from] crate::cost::CostError),
    #[error("{0}")]
    Usage(String),
}

/// Run the command line of the process on `registry` (the project's binary passes
/// [`Registry::builtin`]; a user's crate passes the builtin one with its scenarios, policies and
/// expectations added). Exit status: 0 as expected, 1 some cell differs, 2 bad input.
pub fn main_with(registry: Registry) -> ExitCode {
    // `ptcheck check | head`: end quietly on a closed pipe, as command-line tools do.
    // SAFETY: setting a signal disposition before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    crate::report::set_quiet(cli.quiet);
    let registry = match cli
        .policy_file
        .iter()
        .try_fold(registry, |r, f| crate::policy_file::add(r, f))
    {
        Ok(r) => r.leak(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(cli, registry) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Ok(true): everything as expected; Ok(false): some cell differs.
fn run(cli: Cli, reg: &'static Registry) -> Result<bool, CliError> {
    match cli.cmd {
        Cmd::List { json } => {
            list(reg, json);
            Ok(true)
        }
        Cmd::Check {
            select,
            explore,
            traces,
            json,
        } => check(reg, select, &explore, traces, json),
        Cmd::Explain {
            cell,
            explore,
            wide,
            format,
        } => {
            let cell = reg.cell(&cell)?;
            let cfg = explore.config();
            let exp = reg.expectations()?;
            let rows = report::run_cells(&[cell], &cfg, &exp)?;
            match format {
                Format::Text => print!("{}", report::explain_opts(&rows[0], wide)),
                Format::Mermaid => match crate::mermaid::comment(&rows[0]) {
                    Some(c) => print!("{c}"),
                    None => println!(
                        "{}: no counterexample ({}: {})",
                        rows[0].cell.id(),
                        rows[0].verdict(),
                        rows[0].outcome.coverage()
                    ),
                },
            }
            Ok(rows[0].matches())
        }
        Cmd::Report {
            select,
            explore,
            html,
        } => {
            let cells = cells_of(reg, select)?;
            let exp = reg.expectations()?;
            let rows = report::run_cells(&cells, &explore.config(), &exp)?;
            std::fs::create_dir_all(&html)
                .map_err(|e| CliError::Usage(format!("cannot create {}: {e}", html.display())))?;
            let path = html.join("index.html");
            std::fs::write(&path, crate::html::page(&rows))
                .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", path.display())))?;
            let bad = rows.iter().filter(|r| !r.matches()).count();
            let found = rows.iter().filter(|r| r.outcome.finding.is_some()).count();
            println!(
                "{}: {} cells, {} counterexamples drawn, {} differ from the expectations",
                path.display(),
                rows.len(),
                found,
                bad
            );
            Ok(bad == 0)
        }
        Cmd::Necessity {
            scenario,
            arch,
            explore,
            pairs_budget,
            markdown,
            update_readme,
        } => necessity(
            reg,
            scenario,
            arch,
            &explore,
            pairs_budget,
            markdown,
            update_readme,
        ),
        Cmd::Cost { pgd_lock: true, .. } => {
            print!("{}", crate::cost::render_pgd_lock()?);
            Ok(true)
        }
        Cmd::Cost {
            cpus,
            retract: true,
            ..
        } => {
            let cs: Vec<usize> = cpus.map(|c| vec![c]).unwrap_or_else(|| vec![4, 128]);
            print!("{}", crate::cost::render_retract(&cs)?);
            Ok(true)
        }
        Cmd::Cost { pmds, cpus, .. } => {
            let ns: Vec<usize> = pmds.map(|n| vec![n]).unwrap_or_else(|| vec![1, 16, 64]);
            let cs: Vec<usize> = cpus.map(|c| vec![c]).unwrap_or_else(|| vec![4, 128]);
            let points: Vec<(usize, usize)> = ns
                .iter()
                .flat_map(|&n| cs.iter().map(move |&c| (n, c)))
                .collect();
            print!("{}", crate::cost::render(&crate::cost::table(&points)?));
            println!();
            print!("{}", crate::cost::render_fit(&crate::cost::fit()?));
            Ok(true)
        }
        Cmd::Agree {
            select,
            dfs_limit,
            budget,
            bound,
            jobs,
        } => {
            let cells = cells_of(reg, select)?;
            let cfg = crate::agree::AgreeConfig {
                bound: bound.map(usize::from),
                dfs_limit,
                budget: Budget {
                    time: Duration::from_secs(budget),
                    ..Budget::default()
                },
            };
            let exp = reg.expectations()?;
            let bar = crate::report::progress_bar(cells.len());
            let jobs = jobs.map_or_else(crate::parallel::cores, |j| j as usize);
            let r = crate::agree::agree(&cells, &cfg, &exp, jobs, |row| {
                bar.set_message(row.cell.id());
                bar.inc(1);
            })?;
            bar.finish_and_clear();
            print!("{}", r.render());
            Ok(r.failures().is_empty())
        }
        Cmd::Bench {
            profile: Some(side),
            under,
            runs,
            json,
            ..
        } => {
            let r = crate::bench::profile(side, under, runs)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r).map_err(|e| CliError::Usage(e.to_string()))?
                );
            } else {
                println!(
                    "{}: {} runs, {} executions, {:.2} us an execution",
                    match r.side {
                        crate::bench::Side::Hand => "hand model",
                        crate::bench::Side::Ptcheck => crate::bench::BASELINE_CELL,
                    },
                    r.runs,
                    r.executions,
                    r.us_per_execution
                );
            }
            Ok(true)
        }
        Cmd::Bench {
            broken: true,
            within,
            json,
            scenario,
            jobs,
            seeds,
            ..
        } => {
            let scenario = scenario.map(|s| reg.scenario(&s)).transpose()?;
            let cells = crate::bench::broken_cells(reg, scenario)?;
            let bar = crate::report::progress_bar(cells.len());
            let jobs = jobs.map_or_else(crate::parallel::cores, |j| j as usize);
            let rows = crate::bench::broken(&cells, within as usize, seeds, jobs, |r| {
                bar.set_message(r.cell.clone());
                bar.inc(1);
            });
            bar.finish_and_clear();
            // A broken cell loom does not find is a failure of the checker, as in `check`.
            let all_found = rows.iter().all(|r| r.loom_executions.is_some());
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows)
                        .map_err(|e| CliError::Usage(e.to_string()))?
                );
            } else {
                print!(
                    "{}",
                    crate::bench::render_broken(&rows, within as usize, seeds)
                );
            }
            Ok(all_found)
        }
        Cmd::Bench {
            iterations,
            baseline,
            rounds,
            json,
            ..
        } => {
            let r = crate::bench::run(iterations as usize, baseline.then_some(rounds))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r).map_err(|e| CliError::Usage(e.to_string()))?
                );
            } else {
                print!("{}", crate::bench::render(&r));
            }
            Ok(true)
        }
        Cmd::Replay { cell, schedule } => {
            let cell = reg.cell(&cell)?;
            validate_schedule(&schedule)?;
            let o = explore(
                &Explorer::Replay { schedule },
                Budget::default(),
                cell.body(),
            );
            match &o.finding {
                Some(f) => {
                    if let ptcheck_checks::Failure::ModelError(m) = &f.failure {
                        let why: String = m.chars().take(80).collect();
                        return Err(CliError::Usage(format!(
                            "the schedule does not fit {} (recorded on another cell or version?): {why}",
                            cell.id()
                        )));
                    }
                    print!("{}", ptcheck_checks::render::counterexample(f))
                }
                None => println!(
                    "{}: the schedule ran to the end with no violation",
                    cell.id()
                ),
            }
            Ok(true)
        }
    }
}

/// The cells a `SCENARIO --arch --variant` selection names.
fn cells_of(reg: &Registry, select: Selection) -> Result<Vec<Cell>, CliError> {
    let Selection {
        scenario,
        arch,
        variant,
    } = select;
    let s = scenario.as_deref().map(|n| reg.scenario(n)).transpose()?;
    let p = arch.as_deref().map(|n| reg.policy(n)).transpose()?;
    if let (Some(s), Some(p)) = (s, p) {
        matrix::applicable(s, p)?;
    }
    let mut cells = reg.cells(s, p);
    if let Some(v) = &variant {
        let Some(s) = s else {
            return Err(CliError::Usage("--variant needs a SCENARIO".into()));
        };
        reg.variant(s, v)?;
        cells.retain(|c| c.variant.name == v);
    }
    Ok(cells)
}

fn check(
    reg: &Registry,
    select: Selection,
    args: &ExploreArgs,
    traces: bool,
    json: bool,
) -> Result<bool, CliError> {
    let cells = cells_of(reg, select)?;
    let exp = reg.expectations()?;
    let rows = report::run_cells(&cells, &args.config(), &exp)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&rows)).unwrap_or_default()
        );
    } else {
        print!("{}", report::table(&rows));
        println!();
        print!("{}", report::matrix_view(&rows, reg.policies()));
        for r in &rows {
            if r.outcome.finding.is_some()
                && (traces || !r.matches() || r.cell.variant.off.is_empty())
            {
                println!();
                print!("{}", report::explain(r));
            }
        }
    }
    let bad = rows.iter().filter(|r| !r.matches()).count();
    if !json && args.explorer == "loom" {
        if let Some(b) = args.bound {
            for note in weaker_bound_notes(&rows, usize::from(b)) {
                println!("\n{note}");
            }
        }
    }
    if !json {
        println!(
            "\n{} cells, {} as expected, {} differ{}",
            rows.len(),
            rows.len() - bad,
            bad,
            if bad > 0 {
                " (see MISMATCH / MISSING above)"
            } else {
                ""
            }
        );
    }
    Ok(bad == 0)
}

/// One note per scenario whose cells ran at a bound the gate would not accept as equal:
/// `--bound B` below the scenario's own bound, or any bound where the gate explores exhaustively.
fn weaker_bound_notes(rows: &[report::Row], b: usize) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for r in rows {
        let s = r.cell.scenario;
        if !seen.insert(s.name) {
            continue;
        }
        match s.loom_bound {
            None => out.push(format!(
                "note: {} ran at preemption bound {b}; the gate explores it exhaustively, so a \
                 `safe` here is weaker evidence than the gate's",
                s.name
            )),
            Some(g) if b < g => out.push(format!(
                "note: {} ran at preemption bound {b}, below the gate's bound {g}: a `safe` here \
                 is weaker evidence than the gate's",
                s.name
            )),
            Some(_) => {}
        }
    }
    out
}

fn necessity(
    reg: &Registry,
    scenario: Option<String>,
    arch: Option<String>,
    args: &ExploreArgs,
    pairs_budget: u64,
    markdown: bool,
    update_readme: bool,
) -> Result<bool, CliError> {
    let scenarios: Vec<&'static ptcheck_scenarios::Scenario> = match &scenario {
        Some(n) => vec![reg.scenario(n)?],
        None => reg.scenarios().to_vec(),
    };
    let policies: Vec<&'static ptcheck_arch::ArchPolicy> = match &arch {
        Some(n) => vec![reg.policy(n)?],
        None => reg.policies().to_vec(),
    };
    let mut md = String::new();
    let mut ok = true;
    for s in scenarios {
        let r = crate::necessity::analyse(
            s,
            &policies,
            &args.config(),
            Duration::from_secs(pairs_budget),
        )?;
        ok &= r.gaps().is_empty();
        if markdown || update_readme {
            md.push_str(&r.markdown());
            md.push('\n');
        } else {
            println!("{}", r.text());
        }
    }
    if update_readme {
        let path = reg.readme.clone().ok_or_else(|| {
            CliError::Usage("this registry has no README to update (Registry::with_readme)".into())
        })?;
        let shown = path.display();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| CliError::Usage(format!("cannot read {shown}: {e}")))?;
        let new = crate::necessity::replace_readme_section(&text, &md)
            .ok_or_else(|| CliError::Usage(format!("{shown} has no necessity markers")))?;
        std::fs::write(&path, new)
            .map_err(|e| CliError::Usage(format!("cannot write {shown}: {e}")))?;
        println!("{shown}: necessity section updated");
    } else if markdown {
        print!("{md}");
    }
    Ok(ok)
}

fn list(reg: &Registry, json: bool) {
    let policy_json = |p: &ptcheck_arch::ArchPolicy| {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), p.name.into());
        m.insert("about".into(), p.about.into());
        for (k, v) in ptcheck_arch::knobs::describe(p) {
            m.insert(k.into(), v.into());
        }
        serde_json::Value::Object(m)
    };
    if json {
        let v = serde_json::json!({
            "scenarios": reg.scenarios().iter().map(|s| serde_json::json!({
                "name": s.name, "about": s.about, "source": s.source, "cpus": s.cpus,
                "guards": s.guards.iter().map(|g| serde_json::json!({
                    "name": s.guard_name(g.guard), "step": g.step, "why": g.why,
                    "redundant": g.redundant})).collect::<Vec<_>>(),
                "absent": s.absent.iter().map(|a| serde_json::json!({
                    "name": s.guard_name(a.guard), "why": a.why})).collect::<Vec<_>>(),
                "variants": s.variants.iter().map(|v| serde_json::json!({
                    "name": v.name, "about": v.about, "off": s.guard_names(v.off)})).collect::<Vec<_>>(),
                "findings": s.findings.iter().map(|f| serde_json::json!({
                    "name": f.name, "about": f.about})).collect::<Vec<_>>(),
                "loom_bound": s.loom_bound,
                "policies": reg.policies().iter().filter(|p| s.applies_to(p)).map(|p| p.name).collect::<Vec<_>>(),
                "not_applicable": reg.not_applicable(s),
            })).collect::<Vec<_>>(),
            "policies": reg.policies().iter().map(|p| policy_json(p)).collect::<Vec<_>>(),
            "knobs": ptcheck_arch::knobs::KNOBS.iter().map(|k| serde_json::json!({
                "name": k.name, "values": (k.values)()})).collect::<Vec<_>>(),
            "guards": ptcheck_model::Guards::all().iter().map(|g| g.guard_name()).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return;
    }
    println!("SCENARIOS");
    for s in reg.scenarios() {
        println!("  {}  — {}", s.name, s.about);
        println!("    source: {}", s.source);
        let na = reg.not_applicable(s);
        if !na.is_empty() {
            println!("    n/a on: {} ({})", na.join(", "), s.applies.why_not);
        }
        for c in s.cpus {
            println!("    {c}");
        }
        println!("    guards:");
        for g in s.guards {
            println!("      {:<18} {}", s.guard_name(g.guard), g.step);
        }
        if !s.absent.is_empty() {
            println!("    steps off in every variant:");
            for a in s.absent {
                println!("      {:<18} {}", s.guard_name(a.guard), a.why);
            }
        }
        if !s.findings.is_empty() {
            println!("    its own findings:");
            for f in s.findings {
                println!("      {:<18} {}", f.name, f.about);
            }
        }
        println!("    variants:");
        for v in s.variants {
            println!("      {:<22} {}", v.name, v.about);
        }
    }
    println!("\nARCH POLICIES");
    for p in reg.policies() {
        println!("  {:<20} {}", p.name, p.about);
        let knobs: Vec<String> = ptcheck_arch::knobs::describe(p)
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        for l in crate::report::wrap_words(&knobs.join(", "), 96) {
            println!("      {l}");
        }
    }
    println!("\nKNOBS (policy files: `knob = \"value\"`)");
    for k in ptcheck_arch::knobs::KNOBS {
        println!("  {:<22} {}", k.name, (k.values)().join(" | "));
    }
    println!("\nGUARDS");
    for g in ptcheck_model::Guards::all().iter() {
        println!("  {}", g.guard_name());
    }
}
