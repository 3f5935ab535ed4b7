//! The preemption-bounded DFS (checks/src/bounded_dfs.rs) against the DFS it bounds: it finds a
//! bug exactly from the number of preemptions the bug needs, it never explores more than
//! shuttle's DFS, and with a bound no schedule can exceed it visits exactly as many schedules.
//! loom at the same bound finds the same bugs (the agreement check compares the two there).

use ptcheck_checks::{explore, Budget, Explorer};
use ptcheck_model::rt::{self, Atomic, Ordering};
use ptcheck_model::{Guards, Picked, WorldBuilder};
use std::sync::Arc;

fn dfs(bound: Option<usize>) -> Explorer {
    Explorer::Dfs {
        max_iterations: None,
        bound,
    }
}

/// CPU0 stores 1 then 2 into `x`; CPU1 reads `x` twice and fails on seeing 1 then 2: CPU0 must
/// be preempted after its first store (1), CPU1 after its first read (2).
fn needs_two_preemptions() {
    let x = Arc::new(Atomic::new(0));
    let y = x.clone();
    let h = rt::spawn(move || {
        let r1 = y.load(Ordering::SeqCst);
        let r2 = y.load(Ordering::SeqCst);
        assert!(!(r1 == 1 && r2 == 2), "saw 1 then 2");
    });
    x.store(1, Ordering::SeqCst);
    x.store(2, Ordering::SeqCst);
    h.join();
}

/// Two threads, `n` independent stores each: many schedules (the world counts executions).
fn stores(n: usize, choices: &[Picked]) {
    let _w = WorldBuilder::new(1, Guards::all(), choices).build();
    let xs: Arc<Vec<Atomic>> = Arc::new((0..n).map(|_| Atomic::new(0)).collect());
    let ys = xs.clone();
    let h = rt::spawn(move || {
        for x in ys.iter() {
            x.store(1, Ordering::Relaxed);
        }
    });
    for x in xs.iter() {
        x.store(2, Ordering::Relaxed);
    }
    h.join();
}

#[test]
fn a_bug_is_found_from_the_preemptions_it_needs() {
    for (bound, found) in [(0, false), (1, false), (2, true), (3, true)] {
        let o = explore(
            &dfs(Some(bound)),
            Budget::default(),
            Arc::new(|_| needs_two_preemptions()),
        );
        assert_eq!(o.finding.is_some(), found, "bound {bound}");
        assert!(o.complete, "bound {bound}");
    }
    assert!(explore(
        &dfs(None),
        Budget::default(),
        Arc::new(|_| needs_two_preemptions())
    )
    .finding
    .is_some());
}

#[test]
fn loom_at_the_same_bound_finds_the_same_bug() {
    for (bound, found) in [(0, false), (1, false), (2, true)] {
        let o = explore(
            &Explorer::Loom { bound: Some(bound) },
            Budget::default(),
            Arc::new(|_| needs_two_preemptions()),
        );
        assert_eq!(o.finding.is_some(), found, "loom bound {bound}");
    }
}

#[test]
fn schedules_grow_with_the_bound_up_to_the_unbounded_dfs() {
    let count = |e: Explorer| {
        let o = explore(&e, Budget::default(), Arc::new(|c| stores(4, c)));
        assert!(o.complete && o.finding.is_none(), "{e}");
        o.executions
    };
    let all = count(dfs(None));
    let by_bound: Vec<u64> = (0..=8).map(|b| count(dfs(Some(b)))).collect();
    assert_eq!(by_bound[0], 1, "no preemption: one schedule");
    assert!(by_bound.windows(2).all(|w| w[0] <= w[1]), "{by_bound:?}");
    assert!(
        by_bound[1] > 1 && by_bound[1] < all,
        "{by_bound:?} vs {all}"
    );
    // Eight stores and a join between them: no schedule has more than 8 preemptions.
    assert_eq!(by_bound[8], all, "{by_bound:?}");
}
