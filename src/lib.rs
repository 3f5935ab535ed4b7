//! # ptcheck
//!
//! The public facade: the matrix of cells ([`matrix`]), the reviewed expectations
//! ([`expected`]), and re-exports of the layers below (model, arch policies, scenarios,
//! checks). The `ptcheck` binary and the gate tests are built on these.

pub mod agree;
pub mod baseline;
pub mod bench;
pub mod cli;
pub mod cost;
pub mod expected;
pub mod gate;
pub mod html;
pub mod matrix;
pub mod memo;
pub mod mermaid;
pub mod necessity;
pub mod parallel;
pub mod policy_file;
pub mod registry;
pub mod report;

pub use ptcheck_arch as arch;
pub use ptcheck_checks as checks;
pub use ptcheck_model as model;
pub use ptcheck_scenarios as scenarios;
