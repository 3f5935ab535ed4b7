//! The reviewed expectation matrix (`expected.matrix` at the top of the repository), read by
//! the gate and by `ptcheck check`.

use crate::matrix::Cell;
use ptcheck_model::ViolationKind;
use std::collections::BTreeMap;

/// The file, compiled in so that the binary needs nothing beside it.
pub const TEXT: &str = include_str!("../expected.matrix");

/// What a cell must come out as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Safe,
    /// Safe, but no execution set up the hazard the variant is about: the scenario cannot
    /// test that guard (its `GuardDoc` says why), and the verdict must say so.
    Vacuous,
    /// One of these violation kinds must be found.
    Found(Vec<ViolationKind>),
    /// One of these must be found by an explorer of the C11 model (loom); no sequentially
    /// consistent schedule reaches it, so a shuttle explorer must say
    /// [`UNDECIDED_SC`] (written `kind(weak)` in the file).
    WeakOnly(Vec<ViolationKind>),
    /// One of these must be found by loom (every interleaving up to its preemption bound) and
    /// by an exhaustive DFS; its shortest sequentially consistent schedule needs more
    /// reversals than PCT's depth (3: two priority changes) can make and more than random
    /// scheduling reaches in a gate's budget, so a bounded shuttle search that finds nothing
    /// must say [`UNDECIDED_DEPTH`] (written `kind(deep)` in the file), never `safe`.
    Deep(Vec<ViolationKind>),
}

/// The verdict of a sequentially consistent explorer (shuttle) that found nothing on a cell
/// whose expected finding needs weak memory: it cannot decide the cell, so it never says safe.
pub const UNDECIDED_SC: &str = "undecided (SC only)";

/// The verdict of a bounded shuttle search (PCT, random, DFS with a limit) that found nothing
/// on a cell whose expected finding is deeper than it can reach ([`Expect::Deep`]).
pub const UNDECIDED_DEPTH: &str = "undecided (beyond a bounded shuttle search)";

impl Expect {
    /// Does an outcome's verdict (`safe` or a violation kind name) meet this expectation?
    pub fn accepts(&self, verdict: &str) -> bool {
        match self {
            Expect::Safe => verdict == "safe",
            Expect::Vacuous => verdict == "vacuous",
            Expect::Found(ks) => ks.iter().any(|k| k.name() == verdict),
            Expect::WeakOnly(ks) => {
                verdict == UNDECIDED_SC || ks.iter().any(|k| k.name() == verdict)
            }
            Expect::Deep(ks) => {
                verdict == UNDECIDED_DEPTH || ks.iter().any(|k| k.name() == verdict)
            }
        }
    }

    /// The expected finding is beyond a bounded shuttle search.
    pub fn deep(&self) -> bool {
        matches!(self, Expect::Deep(_))
    }

    /// The expected finding needs weak memory.
    pub fn weak_only(&self) -> bool {
        matches!(self, Expect::WeakOnly(_))
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Safe => f.write_str("safe"),
            Expect::Vacuous => f.write_str("vacuous"),
            Expect::Found(ks) => {
                let n: Vec<&str> = ks.iter().map(|k| k.name()).collect();
                f.write_str(&n.join("|"))
            }
            Expect::WeakOnly(ks) => {
                let n: Vec<&str> = ks.iter().map(|k| k.name()).collect();
                write!(f, "{} (weak memory only)", n.join("|"))
            }
            Expect::Deep(ks) => {
                let n: Vec<&str> = ks.iter().map(|k| k.name()).collect();
                write!(f, "{} (beyond bounded shuttle)", n.join("|"))
            }
        }
    }
}

/// A malformed expectation file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {msg}")]
pub struct ParseError {
    pub line: usize,
    pub msg: String,
}

/// Cell id (`scenario/policy/variant`) -> expectation.
#[derive(Clone, Debug, Default)]
pub struct Expectations(pub BTreeMap<String, Expect>);

/// Is `name` a verdict the expectation file already spells (a short name, a violation kind,
/// `safe`, `vacuous`)? A scenario's own finding may not take one of these names.
pub fn reserved_verdict(name: &str) -> bool {
    matches!(name, "safe" | "vacuous") || short(name, &|_| None).is_some()
}

/// A verdict name of the file: a short name, a kind's full name, or (with `own`) one of the
/// block's scenario's own findings.
fn short(s: &str, own: &dyn Fn(&str) -> Option<ViolationKind>) -> Option<ViolationKind> {
    use ViolationKind::*;
    Some(match s {
        "uaf" => UseAfterFree,
        "pin" => PinOfFreedPage,
        "torn" => Torn,
        "stale" => Stale,
        "lost" => LostUpdate,
        "missed" => MissedSync,
        "deadlock" => Deadlock,
        "leak" => Leak,
        "dfree" => DoubleFree,
        "badpte" => BadPte,
        other => return ViolationKind::from_name(other).or_else(|| own(other)),
    })
}

impl Expectations {
    /// Parse the matrix text (verdicts: the model's violation kinds only).
    pub fn parse(text: &str) -> Result<Expectations, ParseError> {
        Self::parse_with(text, &|_, _| None)
    }

    /// Parse the matrix text of a registry whose scenarios have their own findings: `own(scenario,
    /// name)` resolves a verdict name the model does not know (`Scenario::finding_kind`).
    pub fn parse_with(
        text: &str,
        own: &dyn Fn(&str, &str) -> Option<ViolationKind>,
    ) -> Result<Expectations, ParseError> {
        let mut out = BTreeMap::new();
        let mut scenario: Option<String> = None;
        let mut columns: Option<Vec<String>> = None;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let err = |msg: String| ParseError { line: i + 1, msg };
            if line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                scenario = Some(name.trim().to_string());
                columns = None;
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(sc) = &scenario else {
                return Err(err("a row before any [scenario] header".into()));
            };
            let Some(cols) = &columns else {
                if words[0] != "variant" {
                    return Err(err("expected the header row `variant POLICY...`".into()));
                }
                columns = Some(words[1..].iter().map(|s| s.to_string()).collect());
                continue;
            };
            if words.len() != cols.len() + 1 {
                return Err(err(format!(
                    "row `{}` has {} cells, the header names {} policies",
                    words[0],
                    words.len() - 1,
                    cols.len()
                )));
            }
            for (policy, cell) in cols.iter().zip(&words[1..]) {
                let expect = if *cell == "safe" {
                    Expect::Safe
                } else if *cell == "vacuous" {
                    Expect::Vacuous
                } else {
                    let (body, kind) =
                        match (cell.strip_suffix("(weak)"), cell.strip_suffix("(deep)")) {
                            (Some(b), _) => (b, "weak"),
                            (_, Some(b)) => (b, "deep"),
                            _ => (*cell, ""),
                        };
                    let kinds: Option<Vec<ViolationKind>> = body
                        .split('|')
                        .map(|k| short(k, &|name| own(sc, name)))
                        .collect();
                    let kinds = kinds.ok_or_else(|| err(format!("unknown verdict `{cell}`")))?;
                    match kind {
                        "weak" => Expect::WeakOnly(kinds),
                        "deep" => Expect::Deep(kinds),
                        _ => Expect::Found(kinds),
                    }
                };
                let id = format!("{sc}/{policy}/{}", words[0]);
                if out.insert(id.clone(), expect).is_some() {
                    return Err(err(format!("cell {id} appears twice")));
                }
            }
        }
        Ok(Expectations(out))
    }

    /// The built-in matrix.
    pub fn builtin() -> Result<Expectations, ParseError> {
        Self::parse(TEXT)
    }

    /// Add `other`'s cells (a user's file next to the project's); a cell both name is an error.
    pub fn merge(&mut self, other: Expectations) -> Result<(), String> {
        for (id, e) in other.0 {
            if self.0.contains_key(&id) {
                return Err(format!("cell {id} has an expectation in two files"));
            }
            self.0.insert(id, e);
        }
        Ok(())
    }

    pub fn get(&self, cell: &Cell) -> Option<&Expect> {
        self.0.get(&cell.id())
    }

    /// Cells of the matrix without an expectation, and expectations naming no cell.
    pub fn coverage_gaps(&self, cells: &[Cell]) -> (Vec<String>, Vec<String>) {
        let ids: Vec<String> = cells.iter().map(|c| c.id()).collect();
        let missing = ids
            .iter()
            .filter(|i| !self.0.contains_key(*i))
            .cloned()
            .collect();
        let stale = self
            .0
            .keys()
            .filter(|k| !ids.contains(k))
            .cloned()
            .collect();
        (missing, stale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_matrix_parses() {
        let e = Expectations::builtin().expect("parses");
        assert_eq!(
            e.0.get("gup-fast-vs-munmap/arm64-rfc-v4/correct"),
            Some(&Expect::Found(vec![ViolationKind::UseAfterFree]))
        );
    }

    #[test]
    fn malformed_rows_say_where() {
        let e = Expectations::parse("[s]\nvariant a b\ncorrect safe\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.msg.contains("has 1 cells"), "{e}");
        let e = Expectations::parse("[s]\nvariant a\ncorrect bogus\n").unwrap_err();
        assert!(e.msg.contains("unknown verdict `bogus`"), "{e}");
        let e = Expectations::parse("correct safe\n").unwrap_err();
        assert!(e.msg.contains("before any [scenario]"), "{e}");
    }

    #[test]
    fn missing_cells_are_listed() {
        let e = Expectations::parse("[gup-fast-vs-munmap]\nvariant x86\ncorrect safe\n").unwrap();
        let (missing, stale) = e.coverage_gaps(&crate::registry::builtin().cells(None, None));
        assert!(missing.contains(&"gup-fast-vs-munmap/arm64/correct".to_string()));
        assert!(stale.is_empty());
    }

    #[test]
    fn a_deep_finding_accepts_a_bounded_shuttle_undecided_but_not_safe() {
        let e = Expectations::parse("[s]\nvariant a\ncorrect torn(deep)\n").unwrap();
        let x = &e.0["s/a/correct"];
        assert!(x.deep() && !x.weak_only());
        assert!(x.accepts("torn") && x.accepts(UNDECIDED_DEPTH));
        assert!(!x.accepts("safe") && !x.accepts(UNDECIDED_SC));
        assert_eq!(x.to_string(), "torn (beyond bounded shuttle)");
    }

    #[test]
    fn a_weak_only_finding_accepts_an_sc_explorers_undecided_but_not_safe() {
        let e = Expectations::parse("[s]\nvariant a\ncorrect lost(weak)\n").unwrap();
        let x = e.0.get("s/a/correct").unwrap();
        assert_eq!(x, &Expect::WeakOnly(vec![ViolationKind::LostUpdate]));
        assert!(x.accepts("lost-update") && x.accepts(UNDECIDED_SC));
        assert!(!x.accepts("safe"));
        assert_eq!(x.to_string(), "lost-update (weak memory only)");
    }

    #[test]
    fn alternatives_accept_either_kind() {
        let e = Expect::Found(vec![
            ViolationKind::UseAfterFree,
            ViolationKind::PinOfFreedPage,
        ]);
        assert!(e.accepts("use-after-free") && e.accepts("pin-of-freed-page"));
        assert!(!e.accepts("safe"));
    }
}
