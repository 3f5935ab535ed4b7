//! Explorations are deterministic (loom's order is fixed, shuttle's follows its seed): within
//! one process the same scenario, policy, guards, explorer and budget give the same outcome, so
//! it is explored once. The gate relies on it: the README's necessity check reuses the loom
//! cells the gate has just explored, in the same process, instead of exploring them again
//! (under `cargo nextest`, where each test is its own process, it explores them itself).

use ptcheck_arch::ArchPolicy;
use ptcheck_checks::{explore_focused, Budget, Explorer, Outcome};
use ptcheck_model::Guards;
use ptcheck_scenarios::Scenario;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

type Key = (&'static str, &'static str, u64, String, u64, usize);

fn memo() -> &'static Mutex<HashMap<Key, Outcome>> {
    static MEMO: OnceLock<Mutex<HashMap<Key, Outcome>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Explore `scenario` on `policy` with exactly `guards` on (once per process).
pub fn explore_once(
    scenario: &'static Scenario,
    policy: &'static ArchPolicy,
    guards: Guards,
    explorer: &Explorer,
    budget: Budget,
) -> Outcome {
    let key = (
        scenario.name,
        policy.name,
        guards.bits(),
        format!("{explorer:?}"),
        budget.time.as_millis() as u64,
        budget.max_branches,
    );
    if let Some(o) = memo().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return o.clone();
    }
    let o = explore_focused(
        explorer,
        budget,
        crate::matrix::body_for(scenario, policy, guards),
        scenario.all_guards() - guards,
    );
    memo()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, o.clone());
    o
}
