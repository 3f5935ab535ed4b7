//! The registry: which scenarios, arch policies and reviewed expectations make up a matrix.
//!
//! The project's own matrix is [`Registry::builtin`]. A user's crate that checks its own patch
//! series builds on it: it adds its scenarios ([`Registry::with_scenario`]), its policies
//! ([`Registry::with_policy`], or a TOML file, [`crate::policy_file`]) and its expectation
//! matrix ([`Registry::with_expectations`]), then hands the value to
//! [`crate::cli::main_with`] for a `ptcheck`-style binary or to [`crate::gate`] for its own
//! `cargo test`. Everything that lists cells, resolves a name or reads an expectation takes the
//! registry, so a user's column or row is a cell like any other.

use crate::expected::{Expectations, ParseError, TEXT};
use crate::matrix::{Cell, LookupError};
use ptcheck_arch::ArchPolicy;
use ptcheck_scenarios::{Scenario, Variant};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Scenarios, policies and expectations: the rows, columns and reviewed verdicts of a matrix.
#[derive(Clone, Debug)]
pub struct Registry {
    scenarios: Vec<&'static Scenario>,
    policies: Vec<&'static ArchPolicy>,
    /// The expectation files, in the order added: (where it comes from, text).
    expectation_files: Vec<(String, String)>,
    /// Where the gate keeps the insta snapshots of found counterexamples.
    pub snapshots: Option<PathBuf>,
    /// The README whose necessity section the gate keeps current (`None`: no such check).
    pub readme: Option<PathBuf>,
}

/// A registry value that cannot be used: a name used twice, a scenario that fails
/// [`Scenario::validate`], an expectation file that does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RegistryError {
    #[error("a scenario named `{0}` is already registered")]
    DuplicateScenario(String),
    #[error("an arch policy named `{0}` is already registered")]
    DuplicatePolicy(String),
    #[error("{0}")]
    BadScenario(String),
    #[error("{origin}: {err}")]
    Expectations { origin: String, err: ParseError },
    #[error("{0}")]
    Overlap(String),
    #[error(transparent)]
    PolicyFile(#[from] crate::policy_file::PolicyFileError),
    #[error("{what} name `{name}`: {why}")]
    BadName {
        what: &'static str,
        name: String,
        why: &'static str,
    },
    #[error("{origin} names cells no registered scenario, policy and variant make up (add the scenario or policy first, or fix the name): {cells}")]
    UnknownCells { origin: String, cells: String },
}

/// A name users type in cell ids (`scenario/policy/variant`) and flags: not empty, no `/`, no
/// white space.
fn check_name(what: &'static str, name: &str) -> Result<(), RegistryError> {
    let why = if name.is_empty() {
        "empty"
    } else if name.contains('/') {
        "contains `/`, which separates the parts of a cell id"
    } else if name.chars().any(char::is_whitespace) {
        "contains white space"
    } else {
        return Ok(());
    };
    Err(RegistryError::BadName {
        what,
        name: name.into(),
        why,
    })
}

/// The project's registry (read-only, built once per process).
pub fn builtin() -> &'static Registry {
    static B: OnceLock<Registry> = OnceLock::new();
    B.get_or_init(Registry::builtin)
}

impl Registry {
    /// No scenario, no policy, no expectation.
    pub fn empty() -> Registry {
        Registry {
            scenarios: Vec::new(),
            policies: Vec::new(),
            expectation_files: Vec::new(),
            snapshots: None,
            readme: None,
        }
    }

    /// The project's scenarios ([`ptcheck_scenarios::ALL`]), policies ([`ptcheck_arch::ALL`])
    /// and `expected.matrix`, with the project's `snapshots/` and README (paths into the
    /// ptcheck checkout: a user's crate that starts from here sets its own with
    /// [`Registry::with_snapshots`] and [`Registry::with_readme`]).
    pub fn builtin() -> Registry {
        Registry {
            scenarios: ptcheck_scenarios::ALL.iter().collect(),
            policies: ptcheck_arch::ALL.iter().collect(),
            expectation_files: vec![("expected.matrix".into(), TEXT.into())],
            snapshots: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots").into()),
            readme: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md").into()),
        }
    }

    /// Add a scenario (a row block of the matrix), after checking it as a value.
    pub fn with_scenario(mut self, s: &'static Scenario) -> Result<Registry, RegistryError> {
        if self.scenarios.iter().any(|x| x.name == s.name) {
            return Err(RegistryError::DuplicateScenario(s.name.into()));
        }
        s.validate().map_err(RegistryError::BadScenario)?;
        check_name("scenario", s.name)?;
        for v in s.variants {
            check_name("variant", v.name)?;
        }
        for o in s.own_guards {
            check_name("guard", o.name)?;
        }
        for f in s.findings {
            check_name("finding", f.name)?;
            if crate::expected::reserved_verdict(f.name) {
                return Err(RegistryError::BadName {
                    what: "finding",
                    name: f.name.into(),
                    why: "the expectation file already spells a model verdict that way",
                });
            }
        }
        self.scenarios.push(s);
        Ok(self)
    }

    /// Add an arch policy (a column).
    pub fn with_policy(mut self, p: &'static ArchPolicy) -> Result<Registry, RegistryError> {
        if self.policies.iter().any(|x| x.name == p.name) {
            return Err(RegistryError::DuplicatePolicy(p.name.into()));
        }
        check_name("arch policy", p.name)?;
        self.policies.push(p);
        Ok(self)
    }

    /// Add a policy written as data ([`crate::policy_file`]): `text` is the TOML, `origin`
    /// names it in errors; its `base` must be registered already.
    pub fn with_policy_file(self, origin: &str, text: &str) -> Result<Registry, RegistryError> {
        let p = crate::policy_file::parse(origin, text, &self)?;
        self.with_policy(Box::leak(Box::new(p)))
    }

    /// Add an expectation file (same format as `expected.matrix`; blocks may name any
    /// registered scenario and any policies, e.g. only the user's new column). `origin` names it
    /// in errors.
    pub fn with_expectations(
        mut self,
        origin: &str,
        text: &str,
    ) -> Result<Registry, RegistryError> {
        self.expectation_files.push((origin.into(), text.into()));
        // The files added before were checked when they were added (the project's is its
        // matrix): a cell no registered scenario, policy and variant make up is this one's.
        let mine = self.expectations()?;
        let unknown: Vec<&String> = mine.0.keys().filter(|id| self.cell(id).is_err()).collect();
        if !unknown.is_empty() {
            return Err(RegistryError::UnknownCells {
                origin: origin.into(),
                cells: unknown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        Ok(self)
    }

    /// Where the gate keeps this registry's snapshots.
    pub fn with_snapshots(mut self, dir: impl Into<PathBuf>) -> Registry {
        self.snapshots = Some(dir.into());
        self
    }

    /// The README whose necessity section the gate checks (`None`: no check).
    pub fn with_readme(mut self, readme: Option<PathBuf>) -> Registry {
        self.readme = readme;
        self
    }

    /// Keep the registry for the rest of the process (cells borrow it for `'static`).
    pub fn leak(self) -> &'static Registry {
        Box::leak(Box::new(self))
    }

    pub fn scenarios(&self) -> &[&'static Scenario] {
        &self.scenarios
    }

    pub fn policies(&self) -> &[&'static ArchPolicy] {
        &self.policies
    }

    /// Every expectation file merged; verdict names resolve through each block's scenario
    /// (its own findings).
    pub fn expectations(&self) -> Result<Expectations, RegistryError> {
        let mut all = Expectations::default();
        for (origin, text) in &self.expectation_files {
            let own = |scenario: &str, name: &str| {
                self.scenarios
                    .iter()
                    .find(|s| s.name == scenario)
                    .and_then(|s| s.finding_kind(name))
            };
            let e = Expectations::parse_with(text, &own).map_err(|err| {
                RegistryError::Expectations {
                    origin: origin.clone(),
                    err,
                }
            })?;
            all.merge(e).map_err(RegistryError::Overlap)?;
        }
        Ok(all)
    }

    fn names<T>(xs: &[&T], f: impl Fn(&T) -> &str) -> String {
        xs.iter().map(|x| f(x)).collect::<Vec<_>>().join(", ")
    }

    pub fn scenario(&self, name: &str) -> Result<&'static Scenario, LookupError> {
        self.scenarios
            .iter()
            .find(|s| s.name == name)
            .copied()
            .ok_or_else(|| {
                LookupError::Scenario(name.into(), Self::names(&self.scenarios, |s| s.name))
            })
    }

    pub fn policy(&self, name: &str) -> Result<&'static ArchPolicy, LookupError> {
        self.policies
            .iter()
            .find(|p| p.name == name)
            .copied()
            .ok_or_else(|| {
                LookupError::Policy(name.into(), Self::names(&self.policies, |p| p.name))
            })
    }

    pub fn variant(
        &self,
        s: &'static Scenario,
        name: &str,
    ) -> Result<&'static Variant, LookupError> {
        s.variant(name).ok_or_else(|| {
            LookupError::Variant(
                name.into(),
                s.name.into(),
                s.variants
                    .iter()
                    .map(|v| v.name)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
    }

    /// The registered policies `s` does not apply to (`n/a`).
    pub fn not_applicable(&self, s: &Scenario) -> Vec<&'static str> {
        s.not_applicable(&self.policies)
    }

    /// Parse `scenario/policy/variant`.
    pub fn cell(&self, id: &str) -> Result<Cell, LookupError> {
        let parts: Vec<&str> = id.split('/').collect();
        let [s, p, v] = parts[..] else {
            return Err(LookupError::Cell(id.into()));
        };
        let scenario = self.scenario(s)?;
        let policy = self.policy(p)?;
        crate::matrix::applicable(scenario, policy)?;
        Ok(Cell {
            scenario,
            policy,
            variant: self.variant(scenario, v)?,
        })
    }

    /// Every cell, optionally restricted to one scenario and one policy; a policy the scenario
    /// does not apply to has no cells (`n/a`).
    pub fn cells(
        &self,
        scenario: Option<&'static Scenario>,
        policy: Option<&'static ArchPolicy>,
    ) -> Vec<Cell> {
        let mut out = Vec::new();
        for s in &self.scenarios {
            if scenario.is_some_and(|x| x.name != s.name) {
                continue;
            }
            for p in &self.policies {
                if policy.is_some_and(|x| x.name != p.name) || !s.applies_to(p) {
                    continue;
                }
                for v in s.variants {
                    out.push(Cell {
                        scenario: s,
                        policy: p,
                        variant: v,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_registry_is_the_projects_matrix() {
        let r = builtin();
        assert_eq!(r.scenarios().len(), ptcheck_scenarios::ALL.len());
        assert_eq!(r.policies().len(), ptcheck_arch::ALL.len());
        let (missing, stale) = r
            .expectations()
            .expect("parses")
            .coverage_gaps(&r.cells(None, None));
        assert!(missing.is_empty() && stale.is_empty());
    }

    #[test]
    fn names_are_unique_and_errors_list_the_known_ones() {
        let r = Registry::builtin();
        let x86 = r.policy("x86").expect("x86");
        assert_eq!(
            r.clone().with_policy(x86).unwrap_err(),
            RegistryError::DuplicatePolicy("x86".into())
        );
        let s = r.scenario("gup-fast-vs-munmap").expect("scenario");
        assert!(matches!(
            r.clone().with_scenario(s),
            Err(RegistryError::DuplicateScenario(_))
        ));
        let e = r.policy("nope").unwrap_err().to_string();
        assert!(
            e.contains("unknown arch policy `nope`") && e.contains("arm64"),
            "{e}"
        );
    }

    #[test]
    fn names_users_type_must_fit_a_cell_id_and_findings_must_not_shadow_a_verdict() {
        use ptcheck_scenarios::FindingDoc;
        let bad = |name: &'static str| {
            let p: &'static ArchPolicy = Box::leak(Box::new(ArchPolicy {
                name,
                ..ptcheck_arch::x86::X86
            }));
            Registry::empty().with_policy(p).unwrap_err().to_string()
        };
        assert!(bad("a/b").contains("contains `/`"), "{}", bad("a/b"));
        assert!(bad("").contains("empty"));
        assert!(bad("my arch").contains("white space"));
        let shadowing: &'static Scenario = Box::leak(Box::new(Scenario {
            name: "mine",
            findings: &[FindingDoc {
                name: "uaf",
                about: "",
            }],
            ..ptcheck_scenarios::gup_fast_munmap::GUP_FAST_MUNMAP
        }));
        let e = Registry::empty()
            .with_scenario(shadowing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("finding name `uaf`"), "{e}");
    }

    #[test]
    fn an_expectation_file_may_only_name_registered_cells_and_a_policy_file_adds_a_column() {
        let r = Registry::builtin();
        let typo = "[gup-fast-vs-munmap]\nvariant x68\ncorrect safe\n";
        let e = r
            .clone()
            .with_expectations("mine", typo)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mine names cells") && e.contains("gup-fast-vs-munmap/x68/correct"),
            "{e}"
        );
        let r = r
            .with_policy_file("my.toml", "name = \"my-x86\"\nbase = \"x86\"\n")
            .expect("a policy file");
        let ok = "[gup-fast-vs-munmap]\nvariant my-x86\ncorrect safe\n";
        let r = r
            .with_expectations("mine", ok)
            .expect("names a registered cell");
        assert!(r.cell("gup-fast-vs-munmap/my-x86/correct").is_ok());
    }

    #[test]
    fn a_second_expectation_file_adds_cells_and_may_not_repeat_one() {
        let r = Registry::builtin();
        let dup = "[gup-fast-vs-munmap]\nvariant x86\ncorrect safe\n";
        assert!(matches!(
            r.clone().with_expectations("mine", dup),
            Err(RegistryError::Overlap(_))
        ));
        let bad = "[gup-fast-vs-munmap]\nvariant x86\ncorrect bogus\n";
        let e = r.with_expectations("mine", bad).unwrap_err().to_string();
        assert!(
            e.starts_with("mine: line 3: unknown verdict `bogus`"),
            "{e}"
        );
    }
}
