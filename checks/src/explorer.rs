//! The explorers behind one interface, chosen at run time (DESIGN.md §2).
//!
//! - loom: exhaustive DPOR over schedules with the C11 memory model; either truly exhaustive
//!   (`bound: None`) or exhaustive up to a preemption bound. The search for a counterexample
//!   raises the bound from 0, so the first one found has the fewest preemptions.
//! - shuttle: sequentially consistent; random, PCT (probabilistic concurrency testing,
//!   Burckhardt et al., ASPLOS 2010), DFS, or the replay of a recorded schedule string.

use std::fmt;
use std::time::Duration;

/// An explorer and its bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Explorer {
    /// loom; `bound: None` explores every schedule (exhaustive).
    Loom { bound: Option<usize> },
    /// shuttle PCT for bugs of depth up to `depth`, each execution at a depth drawn from 2 to
    /// `depth` ([`crate::pct`]).
    Pct {
        seed: u64,
        depth: usize,
        iterations: usize,
    },
    /// shuttle, a random walk that mostly stays on the running thread
    /// ([`crate::random_walk`]).
    Random { seed: u64, iterations: usize },
    /// shuttle depth-first search, up to `max_iterations` schedules (None: all of them), of
    /// the schedules with at most `bound` preemptions (None: every schedule; see
    /// [`crate::bounded_dfs`]).
    Dfs {
        max_iterations: Option<usize>,
        bound: Option<usize>,
    },
    /// shuttle replay of one schedule (as printed in a counterexample).
    Replay { schedule: String },
}

/// A wrong explorer name or parameter.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExplorerError {
    #[error("unknown explorer `{0}` (expected one of: loom, loom-exhaustive, pct, random, dfs)")]
    Unknown(String),
    #[error("explorer `{0}` needs --iterations of at least 1")]
    NoIterations(String),
    #[error("loom preemption bound {0} is too big: loom takes at most {max}", max = Explorer::MAX_LOOM_BOUND)]
    BoundTooBig(usize),
}

impl Explorer {
    /// The largest preemption bound loom 0.7.3 takes (it stores the bound in a `u8` and
    /// panics above it).
    pub const MAX_LOOM_BOUND: usize = u8::MAX as usize;

    /// Check the parameters the explorer crates would otherwise panic on.
    pub fn validate(&self) -> Result<(), ExplorerError> {
        match self {
            Explorer::Loom { bound: Some(b) } if *b > Self::MAX_LOOM_BOUND => {
                Err(ExplorerError::BoundTooBig(*b))
            }
            _ => Ok(()),
        }
    }

    /// Parse a `--explorer` name with default parameters (`loom` = bound 3; `dfs` with
    /// `iterations` 0 = every schedule).
    pub fn parse(name: &str, iterations: usize, seed: u64) -> Result<Explorer, ExplorerError> {
        if iterations == 0 && matches!(name, "pct" | "random") {
            return Err(ExplorerError::NoIterations(name.into()));
        }
        Ok(match name {
            "loom" => Explorer::Loom { bound: Some(3) },
            "loom-exhaustive" => Explorer::Loom { bound: None },
            "pct" => Explorer::Pct {
                seed,
                depth: 3,
                iterations,
            },
            "random" => Explorer::Random { seed, iterations },
            "dfs" => Explorer::Dfs {
                max_iterations: (iterations > 0).then_some(iterations),
                bound: None,
            },
            other => return Err(ExplorerError::Unknown(other.to_string())),
        })
    }

    /// The short name (`loom`, `pct`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Explorer::Loom { .. } => "loom",
            Explorer::Pct { .. } => "shuttle-pct",
            Explorer::Random { .. } => "shuttle-random",
            Explorer::Dfs { .. } => "shuttle-dfs",
            Explorer::Replay { .. } => "shuttle-replay",
        }
    }

    /// Whether the explorer models weak memory (loom's C11 model); shuttle's explorers are
    /// sequentially consistent.
    pub fn models_weak_memory(&self) -> bool {
        matches!(self, Explorer::Loom { .. })
    }

    /// The memory model the explorer's executions follow, for verdicts and JSON.
    pub fn memory_model(&self) -> &'static str {
        if self.models_weak_memory() {
            "C11 (loom)"
        } else {
            "sequentially consistent"
        }
    }

    /// Whether a complete run of this explorer covers every schedule.
    pub fn is_exhaustive(&self) -> bool {
        matches!(
            self,
            Explorer::Loom { bound: None }
                | Explorer::Dfs {
                    max_iterations: None,
                    bound: None,
                }
        )
    }

    /// What a verdict says about coverage: `exhaustive`, `preemption bound 3`,
    /// `10000 iterations, depth 2-3 drawn per execution, seed 1, ..`.
    pub fn bound(&self) -> String {
        match self {
            Explorer::Loom { bound: None } => "exhaustive".into(),
            Explorer::Loom { bound: Some(b) } => format!("preemption bound {b}"),
            Explorer::Pct {
                seed,
                depth,
                iterations,
            } if *depth > 2 => format!(
                "{iterations} iterations, depth 2-{depth} drawn per execution, seed {seed}, \
                 sequentially consistent"
            ),
            Explorer::Pct {
                seed,
                depth,
                iterations,
            } => format!(
                "{iterations} iterations, depth {depth}, seed {seed}, sequentially consistent"
            ),
            Explorer::Random { seed, iterations } => {
                format!("{iterations} iterations, seed {seed}, sequentially consistent")
            }
            Explorer::Dfs {
                max_iterations,
                bound,
            } => {
                // A DFS stopped at `max_iterations` schedules is not exhaustive, even if it
                // ran them all: say what it ran, not "exhaustive".
                let mut parts = Vec::new();
                match (bound, max_iterations) {
                    (None, None) => parts.push("exhaustive".to_string()),
                    (None, Some(_)) => parts.push("depth-first".to_string()),
                    (Some(b), _) => parts.push(format!("preemption bound {b}")),
                }
                if let Some(n) = max_iterations {
                    parts.push(format!("at most {n} schedules"));
                }
                parts.push("sequentially consistent".into());
                parts.join(", ")
            }
            Explorer::Replay { .. } => "one schedule, sequentially consistent".into(),
        }
    }
}

impl fmt::Display for Explorer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.bound())
    }
}

/// Limits of one exploration.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Wall-clock budget for one run (one choice combination); a run stopped by it is
    /// reported as incomplete, never as exhaustive.
    pub time: Duration,
    /// loom's branch limit per execution.
    pub max_branches: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            time: Duration::from_secs(120),
            max_branches: 10_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Explorer;

    #[test]
    fn only_an_uncapped_unbounded_search_says_exhaustive() {
        let dfs = |max_iterations, bound| Explorer::Dfs {
            max_iterations,
            bound,
        };
        assert!(dfs(None, None).bound().starts_with("exhaustive"));
        for e in [
            dfs(Some(10_000), None),
            dfs(Some(10_000), Some(3)),
            dfs(None, Some(3)),
            Explorer::Loom { bound: Some(3) },
        ] {
            assert!(!e.bound().contains("exhaustive"), "{e}");
            assert!(!e.is_exhaustive(), "{e}");
        }
        assert_eq!(
            dfs(Some(10_000), None).bound(),
            "depth-first, at most 10000 schedules, sequentially consistent"
        );
        assert!(Explorer::Loom { bound: None }.bound() == "exhaustive");
    }
}
