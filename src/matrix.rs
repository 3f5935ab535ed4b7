//! The matrix: scenario x arch policy x variant, each cell checked by one explorer.

use ptcheck_arch::ArchPolicy;
use ptcheck_checks::{Body, Budget, Explorer, Outcome};
use ptcheck_model::Guards;
use ptcheck_scenarios::{Scenario, Setup, Variant};
use std::sync::Arc;

/// One cell of the matrix.
#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub scenario: &'static Scenario,
    pub policy: &'static ArchPolicy,
    pub variant: &'static Variant,
}

/// A name that does not resolve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LookupError {
    #[error("unknown scenario `{0}` (known: {1})")]
    Scenario(String, String),
    #[error("unknown arch policy `{0}` (known: {1})")]
    Policy(String, String),
    #[error("unknown variant `{0}` of scenario {1} (known: {2})")]
    Variant(String, String, String),
    #[error("malformed cell `{0}`: expected SCENARIO/POLICY/VARIANT")]
    Cell(String),
    #[error("scenario {0} does not apply to arch policy {1} (n/a): {2}")]
    NotApplicable(String, String, String),
}

/// `Ok` if `scenario` runs on `policy`, else why not.
pub fn applicable(s: &Scenario, p: &ArchPolicy) -> Result<(), LookupError> {
    if s.applies_to(p) {
        Ok(())
    } else {
        Err(LookupError::NotApplicable(
            s.name.into(),
            p.name.into(),
            s.applies.why_not.into(),
        ))
    }
}

impl Cell {
    /// `scenario/policy/variant`.
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}",
            self.scenario.name, self.policy.name, self.variant.name
        )
    }

    /// Parse `scenario/policy/variant` against the project's registry
    /// ([`crate::registry::builtin`]; a user's registry has [`crate::registry::Registry::cell`]).
    pub fn parse(id: &str) -> Result<Cell, LookupError> {
        crate::registry::builtin().cell(id)
    }

    /// One execution of this cell, for an explorer.
    pub fn body(&self) -> Body {
        body_for(
            self.scenario,
            self.policy,
            self.scenario.guards_for(self.variant),
        )
    }

    /// Explore the cell; its verdict is `vacuous` if no execution reached a hazard its
    /// variant is about.
    pub fn check(&self, explorer: &Explorer, budget: Budget) -> Outcome {
        let mut o = crate::memo::explore_once(
            self.scenario,
            self.policy,
            self.scenario.guards_for(self.variant),
            explorer,
            budget,
        );
        o.relevant = self.scenario.hazards_for_off(self.variant.off);
        o.off = self.variant.off;
        undeclared_finding_is_a_model_error(self.scenario, &mut o);
        o
    }
}

/// An oracle that raised a finding its scenario does not declare (`raise_own` with a name no
/// `FindingDoc` has, a typo) has not found what the matrix can name: a model error, not a new
/// verdict.
fn undeclared_finding_is_a_model_error(s: &Scenario, o: &mut Outcome) {
    use ptcheck_checks::Failure;
    use ptcheck_model::Violation;
    if let Some(f) = &mut o.finding {
        if let Failure::Violation(Violation::Own { name, .. }) = &f.failure {
            if !s.findings.iter().any(|d| d.name == *name) {
                f.failure = Failure::ModelError(format!(
                    "an oracle of {} raised `{name}`, which is none of its findings (known: {})",
                    s.name,
                    s.findings
                        .iter()
                        .map(|d| d.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
}

/// One execution of `scenario` on `policy` with exactly the guards `guards` on (cells use
/// their variant's guards; the necessity analysis uses any set).
pub fn body_for(scenario: &'static Scenario, policy: &'static ArchPolicy, guards: Guards) -> Body {
    // Computed once, not in every execution.
    let declared = scenario.declared();
    Arc::new(move |choices| (scenario.run)(&Setup::new(policy, guards, declared, choices)))
}

#[cfg(test)]
mod tests {
    /// Each gate cell is a test named after its cell id (`loom::<id>`, `pct::<id>`,
    /// `agree::<id>`): `cargo nextest run --partition count:K/N` or `hash:K/N` puts each in
    /// exactly one partition only if the ids are unique and stable.
    /// A scenario whose oracle raises a finding it never declared (a typo) gets a model error,
    /// not a verdict the expectation matrix cannot name.
    #[test]
    fn an_undeclared_own_finding_is_a_model_error() {
        use ptcheck_scenarios::{FindingDoc, Scenario};
        let typo: &'static Scenario = Box::leak(Box::new(Scenario {
            name: "typo",
            findings: &[FindingDoc {
                name: "wrong-page",
                about: "",
            }],
            run: |s| {
                let _w = s.world(1).build();
                ptcheck_model::violation::raise_own("wrong-pgae", "gup returned the wrong page")
            },
            ..ptcheck_scenarios::gup_fast_munmap::GUP_FAST_MUNMAP
        }));
        let cell = super::Cell {
            scenario: typo,
            policy: &ptcheck_arch::x86::X86,
            variant: &typo.variants[0],
        };
        let o = cell.check(
            &ptcheck_checks::Explorer::Loom { bound: None },
            ptcheck_checks::Budget::default(),
        );
        let f = o.finding.expect("the oracle fires");
        assert!(
            matches!(&f.failure, ptcheck_checks::Failure::ModelError(m) if m.contains("`wrong-pgae`") && m.contains("known: wrong-page")),
            "{:?}",
            f.failure
        );
    }

    #[test]
    fn cell_ids_are_unique_and_round_trip() {
        let mut ids: Vec<String> = crate::registry::builtin()
            .cells(None, None)
            .iter()
            .map(|c| c.id())
            .collect();
        for id in &ids {
            assert_eq!(super::Cell::parse(id).map(|p| p.id()).as_ref(), Ok(id));
            assert!(
                !id.contains(' '),
                "{id}: a test-name filter must match it exactly"
            );
        }
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate cell ids");
    }
}
