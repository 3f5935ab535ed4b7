//! Explorations are deterministic (loom's order is fixed, shuttle's follows its seed): within
//! one process the same scenario, policy, guards, explorer and budget give the same outcome, so
//! it is explored once. The gate relies on it: the README's necessity check reuses the loom
//! cells the gate has just explored, in the same process, instead of exploring them again
//! (under `cargo nextest`, where each test is its own process, it explores them itself).
//!
//! Guards that no execution asks about change nothing either: a kernel path learns a guard only
//! through `World::guard` (`Setup` hands the guards to the world builder and nowhere else), and
//! an execution that never asks about a guard runs the same steps whether it is on or off. So a
//! complete exploration that found nothing also answers any set of guards that differs from
//! its own only in guards none of its executions asked about ([`same_run`]): the explorers
//! would run the same executions, in the same order, to the same verdict. Most `vacuous`
//! cells (a guard whose step the policy does not have) are such a variant of `correct`.

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
    {
        let memo = memo().lock().unwrap_or_else(|e| e.into_inner());
        if let Some(o) = memo.get(&key) {
            return o.clone();
        }
        if let Some(o) = memo
            .iter()
            .filter(|(k, _)| (k.0, k.1, &k.3, k.4, k.5) == (key.0, key.1, &key.3, key.4, key.5))
            .find_map(|(k, o)| same_run(Guards::from_bits_retain(k.2), guards, o))
        {
            return o;
        }
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

/// `o`, explored with the guards `explored` on, shared with the guards `wanted` if it was
/// run to its end without a finding and no execution asked about a guard the two sets differ
/// in. (A finding is not shared: finding it cost little, and the search for the simplest
/// counterexample that follows runs executions whose guard reads `o` does not record.)
pub fn same_run(explored: Guards, wanted: Guards, o: &Outcome) -> Option<Outcome> {
    let differ = explored.symmetric_difference(wanted);
    (o.complete && o.finding.is_none() && !o.guards_read.intersects(differ)).then(|| Outcome {
        shared: true,
        ..o.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::Cell;

    #[test]
    fn a_variant_whose_switched_off_guards_no_execution_asks_about_shares_the_exploration() {
        // On x86-v6.14 tables are freed after the flush IPI: tlb_remove_table_one, the step
        // `no-remove-table-sync` switches off, does not exist there, so no execution asks.
        let loom = Explorer::Loom { bound: None };
        let correct = Cell::parse("gup-fast-vs-munmap/x86-v6.14/correct").expect("cell");
        let variant =
            Cell::parse("gup-fast-vs-munmap/x86-v6.14/no-remove-table-sync").expect("cell");
        let c = correct.check(&loom, Budget::default());
        assert!(!c.shared && c.complete && c.finding.is_none());
        assert!(!c.guards_read.intersects(variant.variant.off));
        let v = variant.check(&loom, Budget::default());
        assert!(v.shared, "{}", v.coverage());
        assert_eq!(
            (v.executions, &v.combo_executions),
            (c.executions, &c.combo_executions)
        );
        assert_eq!(v.verdict(), "vacuous");
        assert!(
            v.coverage().contains("explored once with the variants"),
            "{}",
            v.coverage()
        );
        // A variant whose guard is asked about is explored itself.
        let pin = Cell::parse("gup-fast-vs-munmap/x86-v6.14/plain-get-page").expect("cell");
        assert!(c.guards_read.intersects(pin.variant.off));
        assert!(!pin.check(&loom, Budget::default()).shared);
    }

    #[test]
    fn only_a_complete_exploration_without_a_finding_is_shared() {
        let cell = Cell::parse("thp-split-vs-gup-fast/arm64/correct").expect("cell");
        let o = cell.check(&Explorer::Loom { bound: None }, Budget::default());
        let all = cell.scenario.all_guards();
        let read = o.guards_read;
        assert!(!read.is_empty());
        let unread = all - read;
        // Differing only in unread guards: shared; in a read one: not.
        if !unread.is_empty() {
            assert!(same_run(all, all - unread, &o).is_some());
        }
        let one_read = Guards::from_bits_retain(1 << read.bits().trailing_zeros());
        assert!(same_run(all, all - one_read, &o).is_none());
        assert!(same_run(all, all, &o).is_some());
        let mut incomplete = o.clone();
        incomplete.complete = false;
        assert!(same_run(all, all, &incomplete).is_none());
        let found = Cell::parse("thp-split-vs-gup-fast/arm64/no-splitting-check")
            .expect("cell")
            .check(&Explorer::Loom { bound: None }, Budget::default());
        assert!(found.finding.is_some());
        assert!(same_run(all, all, &found).is_none());
    }
}
