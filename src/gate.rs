//! The regression gate over a registry, for `cargo test`: one libtest-mimic trial per cell (so
//! that `cargo nextest run --partition` spreads them), each asserting the reviewed expectation;
//! loom's counterexamples compared with their insta snapshots.
//!
//! The project's gate binaries (`tests/gate_loom.rs`, `tests/gate_shuttle.rs`) are these
//! functions on [`crate::registry::builtin`]; a user's crate gets the same gate for its own
//! cells with a test file (`harness = false` in its Cargo.toml) whose `main` is
//!
//! ```no_run
//! // The project's scenarios and policies (plus the user's, `with_scenario`...), but not its
//! // README, and the user's own snapshot folder.
//! let registry = ptcheck::registry::Registry::builtin()
//!     .with_readme(None)
//!     .with_snapshots(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
//! ptcheck::gate::main(registry.leak(), &[ptcheck::gate::Gate::Loom, ptcheck::gate::Gate::Pct]);
//! ```

use crate::expected::{Expect, Expectations};
use crate::matrix::Cell;
use crate::necessity;
use crate::registry::Registry;
use crate::report::{self, RunConfig};
use libtest_mimic::{Arguments, Failed, Trial};
use ptcheck_checks::{render, Budget};
use ptcheck_scenarios::Scenario;

/// Which explorer's trials a gate binary runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Every cell under loom at its scenario's bound, snapshots of found races, the necessity
    /// consistency of each scenario and (if the registry has a README) its necessity section.
    Loom,
    /// Every cell under shuttle PCT with a fixed seed.
    Pct,
}

/// The test binary's arguments, with one test thread per core by default.
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

/// Run the trials of `gates` over `registry` and exit with libtest's status.
pub fn main(registry: &'static Registry, gates: &[Gate]) -> ! {
    let mut trials = vec![coverage_trial(registry)];
    for g in gates {
        trials.extend(match g {
            Gate::Loom => loom_trials(registry),
            Gate::Pct => pct_trials(registry),
        });
    }
    libtest_mimic::run(&args(), trials).exit()
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

fn expectations(registry: &Registry) -> Result<Expectations, String> {
    registry.expectations().map_err(|e| e.to_string())
}

/// The expectation files cover the registry's matrix exactly.
pub fn coverage_trial(registry: &'static Registry) -> Trial {
    trial("expectations::cover_every_cell".into(), move || {
        let exp = expectations(registry)?;
        let (missing, stale) = exp.coverage_gaps(&registry.cells(None, None));
        if missing.is_empty() && stale.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the expectation matrix is out of date.\n  cells without an expectation: {}\n  expectations naming no cell: {}",
            if missing.is_empty() { "none".into() } else { missing.join(", ") },
            if stale.is_empty() { "none".into() } else { stale.join(", ") },
        ))
    })
}

/// Check one cell with `cfg`, assert its verdict, full coverage of its bound, and return the row.
pub fn check_cell(registry: &Registry, cell: Cell, cfg: &RunConfig) -> Result<report::Row, String> {
    let exp = expectations(registry)?;
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
        return Err(format!("{}: no reviewed expectation", cell.id()));
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

/// Compare `text` with the reviewed snapshot `name` in the registry's snapshot folder.
pub fn snapshot(registry: &Registry, name: &str, text: &str) -> Result<(), String> {
    let dir = registry
        .snapshots
        .clone()
        .ok_or("the registry has no snapshot folder (Registry::with_snapshots)")?;
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(dir);
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name.to_string(), text));
    Ok(())
}

/// What the loom gate stores for a found race: the cell, the explorer, and the counterexample.
pub fn snapshot_text(row: &report::Row) -> Option<String> {
    let f = row.outcome.finding.as_ref()?;
    Some(format!(
        "cell: {}\nfound by: {}, after {} executions\n\n{}",
        row.cell.id(),
        row.outcome.explorer.name(),
        row.outcome.executions,
        render::counterexample(f)
    ))
}

/// Every guard has a single-guard variant in the matrix, and the reviewed expectations say it is
/// caught on at least one policy where the protocol is otherwise safe, or its docs say why it is
/// redundant (and then it is caught nowhere). The variant cells themselves are asserted by the
/// loom trials: a guard that used to be caught and no longer is fails its cell.
pub fn necessity_consistency(registry: &Registry, s: &'static Scenario) -> Result<(), String> {
    let exp = expectations(registry)?;
    let correct = s.variant("correct").ok_or("no `correct` variant")?;
    let mut errors = Vec::new();
    for g in s.guards {
        let name = s.guard_name(g.guard);
        let Some(v) = s.variants.iter().find(|v| v.off == g.guard) else {
            errors.push(format!(
                "guard {name} has no variant switching it off alone"
            ));
            continue;
        };
        let mut caught_on = Vec::new();
        for p in registry.policies() {
            let base = exp
                .0
                .get(&format!("{}/{}/{}", s.name, p.name, correct.name));
            let cell = exp.0.get(&format!("{}/{}/{}", s.name, p.name, v.name));
            // A weak-memory-only finding counts: loom, the gate's explorer, finds it.
            if base == Some(&Expect::Safe)
                && matches!(
                    cell,
                    Some(Expect::Found(_) | Expect::Deep(_) | Expect::WeakOnly(_))
                )
            {
                caught_on.push(p.name);
            }
        }
        match (g.redundant, caught_on.is_empty()) {
            (None, true) => errors.push(format!(
                "guard {name} is caught on no policy and not documented as redundant: a gap in the model or the oracles"
            )),
            (Some(_), false) => errors.push(format!(
                "guard {name} is documented as redundant but is caught on {}",
                caught_on.join(", ")
            )),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

/// The README's necessity section, cut at its `### scenario` headings: (scenario, chunk).
fn readme_chunks(registry: &Registry) -> Result<Vec<(String, String)>, String> {
    let path = registry
        .readme
        .as_ref()
        .ok_or("the registry has no README")?;
    let readme = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let have = necessity::readme_section(&readme).ok_or("the README has no necessity markers")?;
    let mut chunks: Vec<(String, String)> = Vec::new();
    for line in have.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("### ") {
            chunks.push((name.trim().to_string(), String::new()));
        }
        match chunks.last_mut() {
            Some((_, text)) => text.push_str(line),
            None => return Err(format!("text before the first scenario heading: {line}")),
        }
    }
    Ok(chunks)
}

/// The README's necessity section has one chunk per scenario, in the registry's order.
fn readme_lists_every_scenario(registry: &Registry) -> Result<(), String> {
    let have: Vec<String> = readme_chunks(registry)?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let want: Vec<String> = registry
        .scenarios()
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    if have != want {
        return Err(format!(
            "the README's necessity section lists {have:?}, the scenarios are {want:?}: run \
             `necessity --update-readme`"
        ));
    }
    Ok(())
}

/// The README's necessity chunk of `s` is what the tool generates now (one trial per scenario,
/// so that the gate's threads share them).
fn readme_current(registry: &Registry, s: &'static Scenario) -> Result<(), String> {
    let have = readme_chunks(registry)?
        .into_iter()
        .find(|(n, _)| n == s.name)
        .map(|(_, t)| t)
        .ok_or_else(|| format!("the README's necessity section has no `### {}`", s.name))?;
    let r = necessity::analyse(
        s,
        registry.policies(),
        &RunConfig::default(),
        std::time::Duration::from_secs(120),
    )
    .map_err(|e| e.to_string())?;
    if !r.gaps().is_empty() {
        return Err(format!("{}: guards caught nowhere: {:?}", s.name, r.gaps()));
    }
    let want = format!("{}\n", r.markdown());
    if have != want {
        return Err(format!(
            "the README's necessity section for {} is out of date: run `necessity \
             --update-readme`.\n--- README ---\n{have}\n--- now ---\n{want}",
            s.name
        ));
    }
    Ok(())
}

/// The loom gate: necessity consistency per scenario, every cell (with its snapshot), and the
/// README's necessity section if the registry has a README.
pub fn loom_trials(registry: &'static Registry) -> Vec<Trial> {
    let mut trials = Vec::new();
    for &s in registry.scenarios() {
        trials.push(trial(format!("necessity::{}", s.name), move || {
            necessity_consistency(registry, s)
        }));
    }
    for cell in registry.cells(None, None) {
        trials.push(trial(format!("loom::{}", cell.id()), move || {
            let row = check_cell(registry, cell, &RunConfig::default())?;
            if let Some(text) = snapshot_text(&row) {
                snapshot(registry, &cell.id().replace('/', "__"), &text)?;
            }
            Ok(())
        }));
    }
    if registry.readme.is_some() {
        // After the cells: in one process it reuses their explorations (crate::memo). The
        // guard pairs it explores besides are spread over the test threads first, one trial
        // per scenario and policy (the README trial then finds them explored): run in one
        // trial, gup-fast-vs-munmap-2w's 15 pairs at bound 3 were a serial tail of the gate.
        for &s in registry.scenarios() {
            for &p in registry.policies().iter().filter(|p| s.applies_to(p)) {
                trials.push(trial(
                    format!("necessity::pairs::{}/{}", s.name, p.name),
                    move || {
                        // Under nextest each test is its own process: there is no memo to
                        // warm, and the README trial explores everything itself.
                        if std::env::var_os("NEXTEST").is_some() {
                            return Ok(());
                        }
                        necessity::analyse(
                            s,
                            &[p],
                            &RunConfig::default(),
                            std::time::Duration::from_secs(120),
                        )
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                    },
                ));
            }
        }
        trials.push(trial(
            "necessity::readme_lists_every_scenario".into(),
            move || readme_lists_every_scenario(registry),
        ));
        for &s in registry.scenarios() {
            trials.push(trial(
                format!("necessity::readme_is_current::{}", s.name),
                move || readme_current(registry, s),
            ));
        }
    }
    trials
}

/// The PCT configuration of the gate for a cell of `scenario` expected to come out as
/// `expect`: seed 1, 2,000 iterations per data-choice combination where the matrix expects a
/// finding (it stops at the first one, so a broken cell costs what finding its bug costs), 1,000
/// on expected-safe cells, where every iteration runs and the safe verdict is loom's (this run
/// cross-checks it): 2,000 there took 53 of the gate's 321 s on the 2-core CI machine. On the
/// expected-safe cells of scenarios the gate bounds (`loom_bound`), 250: their sequentially
/// consistent reference is the agreement gate's DFS over every schedule within a preemption
/// bound (tests/gate_agree.rs), and pte-free-defer-vs-retract's up to 24 combinations a cell
/// made 1,000 each 66 of the PCT gate's 97 CPU seconds.
pub fn pct_config(scenario: &Scenario, expect: Option<&Expect>) -> RunConfig {
    let safe = expect.is_some_and(|e| matches!(e, Expect::Safe | Expect::Vacuous));
    RunConfig {
        explorer: "pct".into(),
        iterations: match (safe, scenario.loom_bound) {
            (false, _) => 2_000,
            (true, None) => 1_000,
            (true, Some(_)) => 250,
        },
        seed: 1,
        last_seed: None,
        budget: Budget::default(),
        bound: None,
        deep: false,
        jobs: 1,
    }
}

/// The PCT gate: every cell from the same scenario code, with a fixed seed.
pub fn pct_trials(registry: &'static Registry) -> Vec<Trial> {
    registry
        .cells(None, None)
        .into_iter()
        .map(|cell| {
            trial(format!("pct::{}", cell.id()), move || {
                let exp = expectations(registry)?;
                check_cell(registry, cell, &pct_config(cell.scenario, exp.get(&cell))).map(|_| ())
            })
        })
        .collect()
}
