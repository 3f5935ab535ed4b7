//! # ptcheck-checks: explorers, oracles' verdicts, counterexamples
//!
//! | concept | module |
//! |---|---|
//! | explorer choice and bounds | [`explorer`] |
//! | preemption-bounded DFS (shuttle) | [`bounded_dfs`] |
//! | the `random` explorer's random walk (shuttle) | [`random_walk`] |
//! | the `pct` explorer's PCT, its depth drawn per execution (shuttle) | [`pct`] |
//! | PCT and random without repeated schedules | [`no_repeat`] |
//! | the explorers' own small draws | [`splitmix`] |
//! | running a body under loom / shuttle, data choices | [`run`] |
//! | classifying a failed execution | [`capture`] |
//! | verdicts with coverage | [`outcome`] |
//! | per-CPU counterexample tables | [`render`] |
//!
//! The oracles themselves run inside the model, at the step that commits a violation
//! ([`ptcheck_model::world`], [`ptcheck_model::page`]); this crate turns what they raise into
//! verdicts and traces.

pub mod bounded_dfs;
pub mod capture;
pub mod choice_tree;
pub mod explorer;
pub mod no_repeat;
pub mod outcome;
pub mod pct;
mod quiet;
pub mod random_walk;
pub mod render;
pub mod run;
pub mod search;
pub mod splitmix;

pub use capture::Failure;
pub use explorer::{Budget, Explorer, ExplorerError};
pub use outcome::{Finding, Outcome};
pub use run::{explore, explore_focused, validate_schedule, BadSchedule, Body};
