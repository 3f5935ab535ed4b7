//! Running cells and presenting their verdicts: the matrix table, JSON, counterexamples.

use crate::expected::{Expect, Expectations, UNDECIDED_DEPTH, UNDECIDED_SC};
use crate::matrix::Cell;
use ptcheck_checks::render;
use ptcheck_checks::{Budget, Explorer, ExplorerError, Outcome};
use ptcheck_scenarios::Scenario;

/// One checked cell.
#[derive(Debug)]
pub struct Row {
    pub cell: Cell,
    pub expect: Option<Expect>,
    pub outcome: Outcome,
}

impl Row {
    /// The cell's verdict: the outcome's, except that a sequentially consistent explorer that
    /// found nothing on a cell whose expected finding needs weak memory says it cannot decide
    /// ([`UNDECIDED_SC`]), never `safe`; and a bounded shuttle search that found nothing on a
    /// cell whose finding is deeper than it reaches says so ([`UNDECIDED_DEPTH`]) (one that ran
    /// every schedule, [`ptcheck_checks::Outcome::every_schedule`], was not bounded).
    pub fn verdict(&self) -> String {
        let v = self.outcome.verdict();
        let e = &self.outcome.explorer;
        let sc = !e.models_weak_memory();
        let nothing = self.outcome.finding.is_none() && self.outcome.complete;
        let weak = self.expect.as_ref().is_some_and(|e| e.weak_only());
        let deep = self.expect.as_ref().is_some_and(|e| e.deep());
        if sc && weak && nothing {
            UNDECIDED_SC.into()
        } else if sc && deep && nothing && !e.is_exhaustive() && !self.outcome.every_schedule {
            UNDECIDED_DEPTH.into()
        } else {
            v
        }
    }

    /// The verdict agrees with the reviewed expectation (a cell without one never agrees).
    pub fn matches(&self) -> bool {
        self.expect
            .as_ref()
            .is_some_and(|e| e.accepts(&self.verdict()))
    }
}

/// How to explore each cell.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// `loom`, `loom-exhaustive`, `pct`, `random`, `dfs`.
    pub explorer: String,
    pub iterations: usize,
    /// The first seed of pct/random.
    pub seed: u64,
    /// The last seed (pct/random run the cell once per seed from `seed` to `last_seed`, one
    /// row each: seed ranges split a shuttle search across machines). `None`: `seed` alone.
    pub last_seed: Option<u64>,
    pub budget: Budget,
    /// loom's preemption bound instead of the scenario's (`--bound`).
    pub bound: Option<usize>,
    /// `--deep`: loom at [`DEEP_BOUND`] on the scenarios the gate bounds (three CPUs and more;
    /// two-CPU scenarios are exhaustive already). For nightly runs, not the gate.
    pub deep: bool,
    /// Cells explored at once, each on its own thread (`--jobs`; 1: one after the other on
    /// the calling thread). Each exploration is single-threaded and independent, so the rows,
    /// verdicts and counterexamples are the same for any value.
    pub jobs: usize,
}

/// The preemption bound of `check --deep` for scenarios whose gate bound is lower.
pub const DEEP_BOUND: usize = 4;

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            explorer: "loom".into(),
            iterations: 10_000,
            seed: 1,
            last_seed: None,
            budget: Budget::default(),
            bound: None,
            deep: false,
            jobs: 1,
        }
    }
}

impl RunConfig {
    /// The explorer for `scenario`: `loom` means loom at the scenario's preemption bound (or
    /// `bound` if set); the others as [`Explorer::parse`] says.
    pub fn explorer_for(&self, scenario: &Scenario) -> Result<Explorer, ExplorerError> {
        self.explorer_with_seed(scenario, self.seed)
    }

    /// The seeds the cells are run with: `seed..=last_seed` for pct/random, `seed` otherwise.
    pub fn seeds(&self) -> std::ops::RangeInclusive<u64> {
        match self.explorer.as_str() {
            "pct" | "random" => self.seed..=self.last_seed.unwrap_or(self.seed).max(self.seed),
            _ => self.seed..=self.seed,
        }
    }

    fn explorer_with_seed(
        &self,
        scenario: &Scenario,
        seed: u64,
    ) -> Result<Explorer, ExplorerError> {
        let e = match Explorer::parse(&self.explorer, self.iterations, seed)? {
            Explorer::Loom { bound: Some(_) } => Explorer::Loom {
                bound: self.bound.or(if self.deep {
                    scenario.loom_bound.map(|b| b.max(DEEP_BOUND))
                } else {
                    scenario.loom_bound
                }),
            },
            Explorer::Dfs {
                max_iterations,
                bound: None,
            } => Explorer::Dfs {
                max_iterations,
                bound: self.bound,
            },
            e => e,
        };
        e.validate()?;
        Ok(e)
    }
}

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--quiet`: no progress bar, even on a terminal.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
}

/// A progress bar over `n` steps on stderr when it is a terminal, hidden otherwise or under
/// `--quiet`.
pub fn progress_bar(n: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(n as u64);
    if QUIET.load(std::sync::atomic::Ordering::Relaxed)
        || !std::io::IsTerminal::is_terminal(&std::io::stderr())
    {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// Check every cell (with a progress bar on a terminal).
pub fn run_cells(
    cells: &[Cell],
    cfg: &RunConfig,
    exp: &Expectations,
) -> Result<Vec<Row>, ExplorerError> {
    // Every (cell, seed) run, in output order; a bad explorer is an error before any work.
    let mut work = Vec::new();
    for cell in cells {
        for seed in cfg.seeds() {
            work.push((*cell, cfg.explorer_with_seed(cell.scenario, seed)?));
        }
    }
    let bar = progress_bar(work.len());
    let run = |k: usize| {
        let (cell, e) = &work[k];
        bar.set_message(cell.id());
        let outcome = cell.check(e, cfg.budget);
        bar.inc(1);
        outcome
    };
    // The protocol as it is correct first, so that the variants that differ from it only in
    // guards no execution asks about find its exploration done and share it (crate::memo).
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by_key(|&k| !work[k].0.variant.off.is_empty());
    let outcomes = crate::parallel::map(work.len(), cfg.jobs, Some(order), run);
    bar.finish_and_clear();
    Ok(work
        .iter()
        .zip(outcomes)
        .map(|((cell, _), outcome)| Row {
            cell: *cell,
            expect: exp.get(cell).cloned(),
            outcome,
        })
        .collect())
}

fn cost(o: &Outcome) -> String {
    if o.cost.spf_counted {
        return format!(
            "{}/{}/{}/{} fb {}",
            o.cost.ipis,
            o.cost.cpus_interrupted,
            o.cost.grace_periods,
            o.cost.tlb_flushes,
            o.cost.spf_fallbacks
        );
    }
    if o.cost.pgd_lock_counted {
        return format!("pgd_lock {}/{}", o.cost.pgd_lock_fork, o.cost.pgd_lock_exit);
    }
    format!(
        "{}/{}/{}/{}",
        o.cost.ipis, o.cost.cpus_interrupted, o.cost.grace_periods, o.cost.tlb_flushes
    )
}

/// How wide the verdict table may be (a terminal of 120 columns).
pub const TABLE_WIDTH: usize = 120;

/// An expectation as `expected.matrix` spells it (`uaf`, `lost(weak)`, `torn(deep)`).
fn expect_short(e: &Expect) -> String {
    let kinds = |ks: &[ptcheck_model::ViolationKind]| {
        ks.iter()
            .map(|k| short(k.name()).to_string())
            .collect::<Vec<_>>()
            .join("|")
    };
    match e {
        Expect::Safe => "safe".into(),
        Expect::Vacuous => "vacuous".into(),
        Expect::Found(ks) => kinds(ks),
        Expect::WeakOnly(ks) => format!("{}(weak)", kinds(ks)),
        Expect::Deep(ks) => format!("{}(deep)", kinds(ks)),
    }
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a
/// line stays whole).
/// `text` broken between words into lines of at most `width` columns (a longer word gets its own
/// line, never cut).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The verdict table: one line per cell, verdicts spelled as in `expected.matrix`; where a
/// line would pass [`TABLE_WIDTH`] columns, the coverage goes on the lines below it, indented
/// and broken between words (never cut).
pub fn table(rows: &[Row]) -> String {
    let head = [
        "cell".to_string(),
        "expected".into(),
        "verdict".into(),
        "ok".into(),
        "IPI/int/GP/flush".into(),
    ];
    let body: Vec<([String; 5], String)> = rows
        .iter()
        .map(|r| {
            (
                [
                    r.cell.id(),
                    r.expect
                        .as_ref()
                        .map(expect_short)
                        .unwrap_or_else(|| "MISSING".into()),
                    short(&r.verdict()).to_string(),
                    if r.matches() { "ok" } else { "MISMATCH" }.into(),
                    cost(&r.outcome),
                ],
                r.outcome.coverage(),
            )
        })
        .collect();
    let mut w = head.clone().map(|h| h.len());
    for (b, _) in &body {
        for (i, c) in b.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    // A cell id longer than this gets a line of its own, the columns under it.
    const ID: usize = 50;
    w[0] = w[0].min(ID);
    let fixed: usize = w.iter().sum::<usize>() + 2 * w.len();
    let line = |r: &[String; 5]| {
        let cols = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = if i == 0 && c.len() > w[0] { "" } else { c };
                format!("{:<w$}", c, w = w[i])
            })
            .collect::<Vec<_>>()
            .join("  ");
        if r[0].len() > w[0] {
            format!("{}\n{cols}", r[0])
        } else {
            cols
        }
    };
    const COVERAGE: &str = "coverage (explorer, bound, executions, time)";
    let mut out = if fixed + COVERAGE.len() <= TABLE_WIDTH {
        format!("{}  {COVERAGE}\n", line(&head))
    } else {
        format!("{}\n    {COVERAGE}\n", line(&head).trim_end())
    };
    for (b, coverage) in &body {
        let first = line(b);
        if fixed + coverage.len() <= TABLE_WIDTH {
            out.push_str(format!("{first}  {coverage}").trim_end());
            out.push('\n');
        } else {
            out.push_str(first.trim_end());
            out.push('\n');
            for l in wrap_words(coverage, TABLE_WIDTH - 4) {
                out.push_str(&format!("    {l}\n"));
            }
        }
    }
    out.push_str(
        "\nIPI/int/GP/flush: per execution (largest seen): IPI broadcasts, CPUs interrupted, grace \
         periods waited, TLB flushes.\n",
    );
    if rows.iter().any(|r| r.outcome.cost.spf_counted) {
        out.push_str(
            "fb N: speculative faults that fell back to the classic fault under mmap_sem (largest \
             per execution); GP counts call_srcu's grace period for the VMA.\n",
        );
    }
    if rows.iter().any(|r| r.outcome.cost.pgd_lock_counted) {
        out.push_str(
            "pgd_lock F/E: per execution (largest seen): pgd_lock acquisitions on the fork path \
             (pgd_alloc) and on the exit path (pgd_free).\n",
        );
    }
    out
}

/// Short verdict names, as in `expected.matrix` (`uaf`, `pin`, ...; both undecided verdicts
/// are `undecided`).
pub fn short(verdict: &str) -> &str {
    match verdict {
        "use-after-free" => "uaf",
        "pin-of-freed-page" => "pin",
        "lost-update" => "lost",
        "missed-sync" => "missed",
        "double-free" => "dfree",
        "bad-pte" => "badpte",
        UNDECIDED_SC | UNDECIDED_DEPTH => "undecided",
        "freed-while-mapped" => "freed-while-mapped",
        v => v,
    }
}

/// The matrix at a glance: per scenario, one row per variant, one column per policy; a cell
/// that differs from its expectation is marked `!`; the policies of `policies` a scenario does
/// not apply to are listed as `n/a`.
pub fn matrix_view(rows: &[Row], registered: &[&'static ptcheck_arch::ArchPolicy]) -> String {
    let mut out = String::new();
    let mut scenarios: Vec<&str> = rows.iter().map(|r| r.cell.scenario.name).collect();
    scenarios.dedup();
    for s in scenarios {
        let rs: Vec<&Row> = rows.iter().filter(|r| r.cell.scenario.name == s).collect();
        let mut policies: Vec<&str> = Vec::new();
        let mut variants: Vec<&str> = Vec::new();
        for r in &rs {
            if !policies.contains(&r.cell.policy.name) {
                policies.push(r.cell.policy.name);
            }
            if !variants.contains(&r.cell.variant.name) {
                variants.push(r.cell.variant.name);
            }
        }
        let vw = variants.iter().map(|v| v.len()).max().unwrap_or(7).max(7);
        let cell = |v: &str, p: &str| {
            rs.iter()
                .find(|r| r.cell.variant.name == v && r.cell.policy.name == p)
                .map(|r| {
                    let mark = if r.matches() { "" } else { "!" };
                    format!("{}{mark}", short(&r.verdict()))
                })
                .unwrap_or_default()
        };
        let width = |p: &str| {
            variants
                .iter()
                .map(|v| cell(v, p).len())
                .chain([p.len()])
                .max()
                .unwrap_or(0)
        };
        // Policies in blocks that fit TABLE_WIDTH columns, each with the variant column.
        let mut blocks: Vec<Vec<(&str, usize)>> = vec![Vec::new()];
        let mut used = vw;
        for p in &policies {
            let w = width(p);
            let last = blocks.last_mut().expect("one block");
            if !last.is_empty() && used + 2 + w > TABLE_WIDTH {
                blocks.push(Vec::new());
                used = vw;
            }
            blocks.last_mut().expect("one block").push((p, w));
            used += 2 + w;
        }
        out.push_str(&format!("[{s}]\n"));
        for (i, block) in blocks.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let mut line = format!("{:<vw$}", "variant");
            for (p, w) in block {
                line.push_str(&format!("  {p:<w$}"));
            }
            out.push_str(line.trim_end());
            out.push('\n');
            for v in &variants {
                let mut line = format!("{v:<vw$}");
                for (p, w) in block {
                    line.push_str(&format!("  {:<w$}", cell(v, p)));
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        }
        let scenario = rs[0].cell.scenario;
        let na = scenario.not_applicable(registered);
        if !na.is_empty() {
            let text = format!(
                "n/a (not run): {}: {}",
                na.join(", "),
                scenario.applies.why_not
            );
            for l in wrap_words(&text, TABLE_WIDTH) {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out.push('\n');
    }
    out
}

/// The counterexample of a row, headed by its cell and coverage.
pub fn explain(r: &Row) -> String {
    explain_opts(r, false)
}

/// [`explain`], with every trace cell whole when `wide`.
pub fn explain_opts(r: &Row, wide: bool) -> String {
    match &r.outcome.finding {
        None => format!(
            "{}: safe — no violation in {}\n",
            r.cell.id(),
            r.outcome.coverage()
        ),
        Some(f) => format!(
            "== {} ({}) ==\n{}",
            r.cell.id(),
            r.outcome.coverage(),
            render::counterexample_opts(f, wide)
        ),
    }
}

/// Machine-readable rows.
pub fn json(rows: &[Row]) -> serde_json::Value {
    let v: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let o = &r.outcome;
            serde_json::json!({
                "cell": r.cell.id(),
                "scenario": r.cell.scenario.name,
                "policy": r.cell.policy.name,
                "variant": r.cell.variant.name,
                "guards_off": r.cell.scenario.guard_names(r.cell.variant.off),
                "expected": r.expect.as_ref().map(|e| e.to_string()),
                "verdict": r.verdict(),
                "matches": r.matches(),
                "explorer": o.explorer.name(),
                "memory_model": o.explorer.memory_model(),
                "bound": o.explorer.bound(),
                "exhaustive": (o.explorer.is_exhaustive() || o.every_schedule) && o.complete && o.finding.is_none(),
                "complete": o.complete,
                "executions": o.executions,
                "elapsed_ms": o.elapsed.as_secs_f64() * 1000.0,
                "shared_exploration": o.shared,
                "choice_combinations": o.combos.iter().map(|c| ptcheck_model::Choice::describe(c)).collect::<Vec<_>>(),
                "executions_per_combination": o.combo_executions,
                "first_found_after_executions": o.first_found.map(|(n, _)| n),
                "first_found_after_ms": o.first_found.map(|(_, t)| t.as_secs_f64() * 1000.0),
                "hazard_reached": ptcheck_model::Hazards::NAMED.iter().zip(o.witnesses.0).map(|((_, n), c)| (n.to_string(), c)).collect::<std::collections::BTreeMap<_, _>>(),
                "hazard_set_up": ptcheck_model::Hazards::NAMED.iter().zip(o.opportunities.0).map(|((_, n), c)| (n.to_string(), c)).collect::<std::collections::BTreeMap<_, _>>(),
                "relevant_hazards": o.relevant.names(),
                "cost": {
                    "ipis": o.cost.ipis,
                    "cpus_interrupted": o.cost.cpus_interrupted,
                    "grace_periods": o.cost.grace_periods,
                    "tlb_flushes": o.cost.tlb_flushes,
                    "pgd_lock_fork": o.cost.pgd_lock_counted.then_some(o.cost.pgd_lock_fork),
                    "pgd_lock_exit": o.cost.pgd_lock_counted.then_some(o.cost.pgd_lock_exit),
                    "spf_fallbacks": o.cost.spf_counted.then_some(o.cost.spf_fallbacks),
                },
                "counterexample": o.finding.as_ref().map(render::counterexample),
                "preemptions": o.finding.as_ref().and_then(|f| f.preemptions),
                "schedule": o.finding.as_ref().and_then(|f| f.schedule.clone()),
            })
        })
        .collect();
    serde_json::Value::Array(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptcheck_model::ViolationKind;

    #[test]
    fn deep_raises_the_bound_of_bounded_scenarios_only() {
        let deep = RunConfig {
            deep: true,
            ..RunConfig::default()
        };
        let two_walkers = crate::registry::builtin()
            .scenario("gup-fast-vs-munmap-2w")
            .expect("scenario");
        let one_walker = crate::registry::builtin()
            .scenario("gup-fast-vs-munmap")
            .expect("scenario");
        assert_eq!(
            deep.explorer_for(two_walkers),
            Ok(Explorer::Loom {
                bound: Some(DEEP_BOUND)
            })
        );
        assert_eq!(
            RunConfig::default().explorer_for(two_walkers),
            Ok(Explorer::Loom {
                bound: two_walkers.loom_bound
            })
        );
        assert_eq!(
            deep.explorer_for(one_walker),
            Ok(Explorer::Loom { bound: None }),
            "two CPUs: exhaustive either way"
        );
        let explicit = RunConfig {
            bound: Some(1),
            ..deep
        };
        assert_eq!(
            explicit.explorer_for(two_walkers),
            Ok(Explorer::Loom { bound: Some(1) })
        );
    }

    fn row(explorer: Explorer, expect: Expect) -> Row {
        Row {
            cell: Cell::parse("gup-fast-vs-munmap/x86/correct").expect("cell"),
            expect: Some(expect),
            outcome: Outcome {
                explorer,
                executions: 10,
                elapsed: std::time::Duration::from_millis(1),
                complete: true,
                cost: Default::default(),
                combos: vec![Vec::new()],
                combo_executions: vec![10],
                finding: None,
                witnesses: ptcheck_model::Witnesses([1, 1, 1]),
                opportunities: ptcheck_model::Witnesses([1, 1, 1]),
                relevant: ptcheck_model::Hazards::all(),
                guards_read: Default::default(),
                first_found: None,
                off: Default::default(),
                shared: false,
                every_schedule: false,
            },
        }
    }

    #[test]
    fn the_verdict_table_fits_120_columns_and_never_cuts_a_word() {
        let mut long = row(Explorer::Loom { bound: Some(3) }, Expect::Safe);
        long.cell = Cell::parse(
            "pmd-clear-vs-lockless-walk/powerpc-radix-pre2020/no-serializing-check-no-page-pte-check",
        )
        .expect("cell");
        long.outcome.combos = vec![Vec::new(); 16];
        let rows = vec![row(Explorer::Loom { bound: None }, Expect::Safe), long];
        let t = table(&rows);
        for l in t.lines().filter(|l| !l.starts_with("IPI/int")) {
            assert!(l.len() <= TABLE_WIDTH, "{} columns: {l}", l.len());
        }
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let all = words(&t);
        for r in &rows {
            let cov = words(&r.outcome.coverage());
            assert!(
                all.windows(cov.len()).any(|w| w == cov.as_slice()),
                "coverage kept whole, in order: {cov:?}\n{t}"
            );
        }
        assert!(t.contains(&format!("{}\n", rows[1].cell.id())), "{t}");
    }

    #[test]
    fn an_sc_explorer_never_calls_a_weak_memory_cell_safe() {
        let weak = Expect::WeakOnly(vec![ViolationKind::LostUpdate]);
        let pct = Explorer::Pct {
            seed: 1,
            depth: 3,
            iterations: 10,
        };
        let r = row(pct.clone(), weak.clone());
        assert_eq!(r.verdict(), UNDECIDED_SC);
        assert!(r.matches());
        assert!(r.outcome.coverage().contains("sequentially consistent"));
        // loom models weak memory: its `safe` there is a real mismatch.
        let r = row(Explorer::Loom { bound: None }, weak);
        assert_eq!(r.verdict(), "safe");
        assert!(!r.matches());
        // On an ordinary cell an SC explorer's safe stays safe.
        assert_eq!(row(pct, Expect::Safe).verdict(), "safe");
    }
}
