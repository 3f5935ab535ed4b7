//! Turning a failed execution into a typed [`Failure`].
//!
//! An execution ends on the first panic: a [`Violation`] raised by a model oracle (an unordered
//! use-after-free included: the world checks with loom's vector clocks that a free is ordered
//! after every access to the frame, and raises it), loom's deadlock report, shuttle's deadlock report, or a limit of the explorer (branch or step limit),
//! which is not a finding about the kernel and is reported as a model error.
//!
//! Both crates install a process-global panic hook; ours replaces them (after shuttle has been
//! initialised once, DESIGN.md §2) so that failing executions print nothing and the message of
//! the panic is kept for classification.

use ptcheck_model::violation::{self, Violation, ViolationRaised};
use std::any::Any;
use std::cell::RefCell;
use std::sync::Once;

/// Why an execution failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Violation(Violation),
    /// Not a finding about the kernel: an explorer limit, a schedule that does not fit the
    /// cell, or a bug in the model itself.
    #[error("model error: {0}")]
    ModelError(String),
}

thread_local! {
    static EXPLORING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Install the quiet panic hook (idempotent).
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Keep the default hook for panics outside explorations (test failures, bugs), let
        // shuttle install its hook, then replace that with ours.
        let default = std::panic::take_hook();
        let mut cfg = shuttle::Config::new();
        cfg.silence_warnings = true;
        shuttle::Runner::new(shuttle::scheduler::RoundRobinScheduler::new(1), cfg).run(|| {});
        let debug = std::env::var_os("PTCHECK_DEBUG_PANICS").is_some();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPLORING.with(|e| e.get()) {
                return default(info);
            }
            let msg = if info.payload().is::<ViolationRaised>() {
                "violation raised".to_string()
            } else if let Some(s) = info.payload().downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "panic".to_string()
            };
            if debug {
                eprintln!("[ptcheck] panic: {msg} at {:?}", info.location());
            }
            LAST_PANIC.with(|l| {
                let mut l = l.borrow_mut();
                if l.is_none() {
                    *l = Some(msg);
                }
            });
        }));
    });
}

/// Mark the span of an exploration: panics inside it are findings, kept quiet.
pub fn set_exploring(on: bool) {
    EXPLORING.with(|e| e.set(on));
}

/// Forget earlier panics (start of a run).
pub fn reset() {
    LAST_PANIC.with(|l| *l.borrow_mut() = None);
    violation::clear_raised();
}

/// Classify the panic that ended a run.
pub fn classify(payload: Box<dyn Any + Send>) -> Failure {
    if let Some(v) = violation::take_raised() {
        return Failure::Violation(v);
    }
    let msg = LAST_PANIC
        .with(|l| l.borrow_mut().take())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    if msg.starts_with("deadlock") {
        let at = ptcheck_model::trace::waiting_positions();
        let detail = if at.is_empty() {
            "every unfinished CPU is blocked (a lock or an IPI wait that cannot complete)".into()
        } else {
            format!("every unfinished CPU is blocked: {at}")
        };
        return Failure::Violation(Violation::Deadlock { detail });
    }
    Failure::ModelError(msg.lines().next().unwrap_or_default().to_string())
}
