//! Guard necessity (DESIGN.md §7): switch each guard of a scenario off, alone and in pairs, and
//! see whether the checker then finds a violation.
//!
//! A guard whose removal is caught on some policy is *necessary* there, and the catch shows the
//! checker is not blind to it. A guard caught nowhere is either redundant in the real kernel (its
//! [`GuardDoc::redundant`] says why) or a gap in the model. Pairs find guards that cover for each
//! other: each is redundant alone on a policy, but removing both is caught.

use crate::report::RunConfig;
use ptcheck_arch::ArchPolicy;
use ptcheck_checks::{render, ExplorerError, Outcome};
use ptcheck_model::Guards;
use ptcheck_scenarios::{GuardDoc, Scenario};
use std::time::{Duration, Instant};

/// One run with some guards switched off.
pub struct Probe {
    pub policy: &'static ArchPolicy,
    pub off: Guards,
    pub outcome: Outcome,
}

/// The analysis of one scenario.
pub struct Report {
    pub scenario: &'static Scenario,
    /// The policies on which the protocol with every guard on is safe: necessity is judged there.
    pub policies: Vec<&'static ArchPolicy>,
    /// The policies on which it already fails with every guard on (their baseline run).
    pub broken: Vec<Probe>,
    /// Every guard alone, on every policy.
    pub single: Vec<Probe>,
    /// Pairs of guards, each not caught alone on that policy, whose joint removal is caught.
    pub pairs: Vec<Probe>,
    pub pairs_tried: usize,
    pub pairs_total: usize,
    pub elapsed: Duration,
}

fn probe(
    s: &'static Scenario,
    p: &'static ArchPolicy,
    off: Guards,
    cfg: &RunConfig,
) -> Result<Probe, ExplorerError> {
    let e = cfg.explorer_for(s)?;
    let mut outcome = crate::memo::explore_once(s, p, s.all_guards() - off, &e, cfg.budget);
    outcome.relevant = s.hazards_for_off(off);
    outcome.off = off;
    Ok(Probe {
        policy: p,
        off,
        outcome,
    })
}

/// Run the analysis; pairs stop when `pair_budget` is spent (the report says how far they got).
pub fn analyse(
    s: &'static Scenario,
    policies: &[&'static ArchPolicy],
    cfg: &RunConfig,
    pair_budget: Duration,
) -> Result<Report, ExplorerError> {
    let start = Instant::now();
    // Necessity is judged where the protocol with every guard on is correct.
    let mut safe: Vec<&'static ArchPolicy> = Vec::new();
    let mut broken = Vec::new();
    // Policies the protocol does not exist on (n/a) are not run.
    for p in policies.iter().filter(|p| s.applies_to(p)) {
        let x = probe(s, p, Guards::empty(), cfg)?;
        if x.outcome.finding.is_none() {
            safe.push(p);
        } else {
            broken.push(x);
        }
    }
    let mut single = Vec::new();
    for g in s.guards {
        for p in &safe {
            single.push(probe(s, p, g.guard, cfg)?);
        }
    }
    let caught = |single: &[Probe], p: &ArchPolicy, g: Guards| {
        single
            .iter()
            .any(|x| x.policy.name == p.name && x.off == g && x.outcome.finding.is_some())
    };
    // A pair whose one guard no execution read while the other was off alone is that other
    // guard's run: the same executions, with a guard that is never asked about (e.g. a step
    // the policy does not have). It was probed already.
    let read_with_only = |single: &[Probe], p: &ArchPolicy, off: Guards, asked: Guards| {
        single.iter().any(|x| {
            x.policy.name == p.name && x.off == off && x.outcome.guards_read.intersects(asked)
        })
    };
    let baseline_safe = &safe;
    let mut todo = Vec::new();
    for p in baseline_safe {
        for (i, a) in s.guards.iter().enumerate() {
            for b in &s.guards[i + 1..] {
                if !read_with_only(&single, p, b.guard, a.guard)
                    || !read_with_only(&single, p, a.guard, b.guard)
                {
                    continue;
                }
                if !caught(&single, p, a.guard) && !caught(&single, p, b.guard) {
                    todo.push((*p, a.guard | b.guard));
                }
            }
        }
    }
    let pairs_total = todo.len();
    let pair_start = Instant::now();
    let mut pairs = Vec::new();
    let mut pairs_tried = 0;
    for (p, off) in todo {
        if pair_start.elapsed() > pair_budget {
            break;
        }
        pairs_tried += 1;
        let x = probe(s, p, off, cfg)?;
        if x.outcome.finding.is_some() {
            pairs.push(x);
        }
    }
    Ok(Report {
        scenario: s,
        policies: safe,
        broken,
        single,
        pairs,
        pairs_tried,
        pairs_total,
        elapsed: start.elapsed(),
    })
}

/// Short verdict of an outcome: `—` (not caught), `vacuous` (not caught, and the hazard the
/// guard protects from never arose), or the violation kind.
fn short(o: &Outcome) -> String {
    match &o.finding {
        None if o.verdict() == "vacuous" => "vacuous".into(),
        None => "—".into(),
        Some(_) => o.verdict(),
    }
}

impl Report {
    fn probe(&self, g: Guards, p: &ArchPolicy) -> Option<&Probe> {
        self.single
            .iter()
            .find(|x| x.off == g && x.policy.name == p.name)
    }

    /// Policies on which removing `g` alone is caught.
    pub fn necessary_on(&self, g: Guards) -> Vec<&'static str> {
        self.single
            .iter()
            .filter(|x| x.off == g && x.outcome.finding.is_some())
            .map(|x| x.policy.name)
            .collect()
    }

    /// The guard's verdict line: necessary (where), documented redundant, or a GAP.
    pub fn verdict(&self, d: &GuardDoc) -> String {
        let on = self.necessary_on(d.guard);
        match (on.is_empty(), d.redundant) {
            (false, _) => format!("necessary on {}/{}", on.len(), self.policies.len()),
            (true, Some(_)) => "redundant here (documented)".into(),
            (true, None) => "GAP: caught nowhere and not documented as redundant".into(),
        }
    }

    /// Guards that are neither caught anywhere nor documented redundant.
    pub fn gaps(&self) -> Vec<&'static str> {
        self.scenario
            .guards
            .iter()
            .filter(|d| d.redundant.is_none() && self.necessary_on(d.guard).is_empty())
            .map(|d| self.scenario.guard_name(d.guard))
            .collect()
    }

    /// The shortest counterexample (fewest steps) for removing `g`, over the policies.
    pub fn shortest(&self, g: Guards) -> Option<&Probe> {
        self.single
            .iter()
            .filter(|x| x.off == g && x.outcome.finding.is_some())
            .min_by_key(|x| x.outcome.finding.as_ref().map(|f| f.trace.len()))
    }

    /// A markdown report with no timings (stable across runs; the README embeds it).
    pub fn markdown(&self) -> String {
        let s = self.scenario;
        let mut out = format!("### {}\n\n", s.name);
        out.push_str(&format!(
            "Each guard switched off alone ({} on every policy):\n\n",
            self.single
                .first()
                .map(|x| x.outcome.explorer.to_string())
                .unwrap_or_default()
        ));
        out.push_str("| guard | kernel step |");
        for p in &self.policies {
            out.push_str(&format!(" {} |", p.name));
        }
        out.push_str(" verdict |\n|---|---|");
        for _ in &self.policies {
            out.push_str("---|");
        }
        out.push_str("---|\n");
        for d in s.guards {
            out.push_str(&format!("| {} | {} |", s.guard_name(d.guard), d.step));
            for p in &self.policies {
                out.push_str(&format!(
                    " {} |",
                    self.probe(d.guard, p)
                        .map(|x| short(&x.outcome))
                        .unwrap_or_default()
                ));
            }
            out.push_str(&format!(" {} |\n", self.verdict(d)));
        }
        if !self.broken.is_empty() {
            out.push_str("\nNot analysed, the protocol already fails there with every guard on: ");
            let b: Vec<String> = self
                .broken
                .iter()
                .map(|x| format!("{} ({})", x.policy.name, x.outcome.verdict()))
                .collect();
            out.push_str(&b.join(", "));
            out.push('\n');
        }
        let redundant: Vec<&GuardDoc> = s.guards.iter().filter(|d| d.redundant.is_some()).collect();
        if !redundant.is_empty() {
            out.push_str("\nRedundant in this model:\n");
            for d in redundant {
                out.push_str(&format!(
                    "- `{}`: {}\n",
                    s.guard_name(d.guard),
                    d.redundant.unwrap_or_default()
                ));
            }
        }
        out.push_str(&format!(
            "\nPairs (each guard alone not caught on the policy, both together caught; {} of {} pairs tried):\n",
            self.pairs_tried, self.pairs_total
        ));
        if self.pairs.is_empty() {
            out.push_str("- none\n");
        }
        for x in &self.pairs {
            out.push_str(&format!(
                "- {}: `{}` + `{}` -> {}\n",
                x.policy.name,
                s.guard_names(x.off)[0],
                s.guard_names(x.off).get(1).copied().unwrap_or_default(),
                x.outcome.verdict()
            ));
        }
        out
    }

    /// The full text report: the table with coverage, then the shortest counterexample per guard.
    pub fn text(&self) -> String {
        let mut out = self.markdown();
        out.push_str(&format!("\n(analysis took {:.2?})\n", self.elapsed));
        for d in self.scenario.guards {
            if let Some(x) = self.shortest(d.guard) {
                if let Some(f) = &x.outcome.finding {
                    out.push_str(&format!(
                        "\n== without {} on {} ({}) ==\n{}",
                        self.scenario.guard_name(d.guard),
                        x.policy.name,
                        x.outcome.coverage(),
                        render::counterexample(f)
                    ));
                }
            }
        }
        for x in &self.pairs {
            if let Some(f) = &x.outcome.finding {
                out.push_str(&format!(
                    "\n== without {} on {} ({}) ==\n{}",
                    self.scenario.guard_names(x.off).join(" + "),
                    x.policy.name,
                    x.outcome.coverage(),
                    render::counterexample(f)
                ));
            }
        }
        out
    }
}

/// Markers around the generated section of the README.
pub const README_BEGIN: &str =
    "<!-- necessity:begin (generated by `ptcheck necessity --update-readme`) -->";
pub const README_END: &str = "<!-- necessity:end -->";

/// Replace the text between the README markers; `None` if they are missing.
pub fn replace_readme_section(readme: &str, section: &str) -> Option<String> {
    let b = readme.find(README_BEGIN)? + README_BEGIN.len();
    let e = readme[b..].find(README_END)? + b;
    Some(format!("{}\n{}{}", &readme[..b], section, &readme[e..]))
}

/// The section currently in the README, if any.
pub fn readme_section(readme: &str) -> Option<&str> {
    let b = readme.find(README_BEGIN)? + README_BEGIN.len();
    let e = readme[b..].find(README_END)? + b;
    Some(readme[b..e].trim_start_matches('\n'))
}
