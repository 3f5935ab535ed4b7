//! The CI gate under loom: every cell of the matrix at its scenario's bound (exhaustive where
//! the scenario says so), each found race's counterexample compared with its reviewed insta
//! snapshot in `snapshots/`.

mod common;

use ptcheck::expected::{Expect, Expectations};
use ptcheck::matrix::cells;
use ptcheck::necessity;
use ptcheck::report::RunConfig;
use ptcheck_checks::render;

fn snapshot(name: &str, text: &str) {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.bind(|| insta::assert_snapshot!(name.to_string(), text));
}

/// Every guard has a single-guard variant in the matrix, and the reviewed expectations say it is
/// caught on at least one policy where the protocol is otherwise safe, or its docs say why it is
/// redundant (and then it is caught nowhere). The variant cells themselves are asserted by the
/// loom trials: a guard that used to be caught and no longer is fails its cell.
fn necessity_consistency(s: &'static ptcheck_scenarios::Scenario) -> Result<(), String> {
    let exp = Expectations::builtin().map_err(|e| e.to_string())?;
    let correct = s.variant("correct").ok_or("no `correct` variant")?;
    let mut errors = Vec::new();
    for g in s.guards {
        let name = g.guard.guard_name();
        let Some(v) = s.variants.iter().find(|v| v.off == g.guard) else {
            errors.push(format!(
                "guard {name} has no variant switching it off alone"
            ));
            continue;
        };
        let mut caught_on = Vec::new();
        for p in ptcheck_arch::ALL {
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
fn readme_chunks() -> Result<Vec<(String, String)>, String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .map_err(|e| e.to_string())?;
    let have = necessity::readme_section(&readme).ok_or("README.md has no necessity markers")?;
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
fn readme_lists_every_scenario() -> Result<(), String> {
    let have: Vec<String> = readme_chunks()?.into_iter().map(|(n, _)| n).collect();
    let want: Vec<String> = ptcheck_scenarios::ALL
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    if have != want {
        return Err(format!(
            "README.md's necessity section lists {have:?}, the scenarios are {want:?}: run \
             `cargo run --release -- necessity --update-readme`"
        ));
    }
    Ok(())
}

/// The README's necessity chunk of `s` is what the tool generates now (one trial per scenario,
/// so that the gate's threads share them).
fn readme_current(s: &'static ptcheck_scenarios::Scenario) -> Result<(), String> {
    let have = readme_chunks()?
        .into_iter()
        .find(|(n, _)| n == s.name)
        .map(|(_, t)| t)
        .ok_or_else(|| format!("README.md's necessity section has no `### {}`", s.name))?;
    let r = necessity::analyse(
        s,
        &ptcheck_arch::ALL.iter().collect::<Vec<_>>(),
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
            "README.md's necessity section for {} is out of date: run `cargo run --release -- \
             necessity --update-readme`.\n--- README ---\n{have}\n--- now ---\n{want}",
            s.name
        ));
    }
    Ok(())
}

fn main() {
    let args = common::args();
    let mut trials = vec![common::coverage_trial()];
    for s in ptcheck_scenarios::ALL {
        trials.push(common::trial(format!("necessity::{}", s.name), move || {
            necessity_consistency(s)
        }));
    }
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
    // After the cells: in one process it reuses their explorations (ptcheck::memo).
    trials.push(common::trial(
        "necessity::readme_lists_every_scenario".into(),
        readme_lists_every_scenario,
    ));
    for s in ptcheck_scenarios::ALL {
        trials.push(common::trial(
            format!("necessity::readme_is_current::{}", s.name),
            move || readme_current(s),
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
