//! The explorer holes of DESIGN.md §2, each as a test that fails while the hole is open.
//!
//! - A free must be an access the explorers see: "free, then the walker's next read" has to be
//!   explored even when the freeing CPU writes nothing else the walker reads.
//! - Two `smp_mb()`s in execution order must not stand in for the ordering a free needs: loom's
//!   `fence(SeqCst)` joins a global clock both ways, which gives its causality check
//!   happens-before edges that C11 and the LKMM do not have. The verdict must not depend on it.
//! - loom's `smp_mb()` / `smp_wmb()` / `smp_rmb()` must agree with the LKMM (herd7's verdicts
//!   for the kernel's `tools/memory-model/litmus-tests`), and its known weakness (no load
//!   buffering) is pinned down so that a change shows up.
//!
//! loom's DPOR hole (an earlier read forgotten) has its own tests in `loom_dpor.rs`.

use ptcheck_checks::{explore, Body, Budget, Explorer};
use ptcheck_model::ordering::{smp_mb, smp_rmb, smp_wmb, DEP, ONCE};
use ptcheck_model::rt::{Atomic, Ordering};
use ptcheck_model::violation::{raise, Violation};
use ptcheck_model::{run_cpus, Ctx, Entry, Guards, Level, Program, ViolationKind, WorldBuilder};
use std::sync::Arc;

const LOOM: Explorer = Explorer::Loom { bound: None };
const DFS: Explorer = Explorer::Dfs {
    max_iterations: None,
    bound: None,
};

/// The violation `explorer` finds in `body`, asserting that an exploration without one covered
/// everything it set out to cover.
fn verdict(explorer: &Explorer, body: &Body) -> Option<ViolationKind> {
    let o = explore(explorer, Budget::default(), body.clone());
    assert!(o.executions > 0, "no execution ran");
    assert!(o.complete, "ran out of budget: {}", o.coverage());
    o.finding.map(|f| {
        f.kind()
            .unwrap_or_else(|| panic!("model error: {:?}", f.failure))
    })
}

/// Both explorers, exhaustively: loom (C11) and shuttle DFS (sequentially consistent).
fn both(body: Body) -> [Option<ViolationKind>; 2] {
    [verdict(&LOOM, &body), verdict(&DFS, &body)]
}

const UAF: Option<ViolationKind> = Some(ViolationKind::UseAfterFree);
const FORBIDDEN: Option<ViolationKind> = Some(ViolationKind::ForbiddenOutcome);

fn forbidden(detail: &str) -> ! {
    raise(Violation::ForbiddenOutcome {
        detail: detail.into(),
    })
}

/// The case a new user wrote (the soundness issue): a `__find_linux_pte`-style walker, with or
/// without interrupts off, against a writer that clears the pmd with a fully ordered
/// `pmdp_huge_get_and_clear`, sends `serialize_against_pte_lookup` and frees the table with
/// `pte_free`. Without irq-off the walker answers the IPI at once and can read the table after
/// its free: a plain interleaving. The walker runs between two fully ordered operations of its
/// caller (an `smp_mb()` on each side), so no stale read reaches the table: only the
/// interleaving "read the pmd, the writer clears, IPIs and frees, read the table" does. loom
/// reported it `safe (exhaustive)` (the free was no access DPOR saw, and the `smp_mb()`s hid the
/// causality report); shuttle DFS found it.
fn walker_vs_serialize_then_pte_free(irq_off: bool) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices);
        let pmd = b.table(Level::Pmd, 1);
        let pt = b.table(Level::Pte, 1);
        let page = b.data_page(1);
        b.set(pmd, 0, Entry::table(pt));
        b.set(
            pt,
            0,
            Entry::leaf(page, 0, ptcheck_model::EntryFlags::empty()),
        );
        let w = b.build();
        let progs: Vec<Program> = vec![
            Box::new(move |c: &Ctx| {
                if irq_off {
                    c.local_irq_disable("find_current_mm_pte");
                }
                // The caller's fully ordered atomics before and after the walk.
                smp_mb();
                let e = c.load(pmd, 0, DEP, "__find_linux_pte");
                if e.is_table() {
                    c.load(e.pfn(), 0, ONCE, "__find_linux_pte");
                }
                smp_mb();
                if irq_off {
                    c.local_irq_enable("find_current_mm_pte");
                }
            }),
            Box::new(move |c: &Ctx| {
                c.exchange(pmd, 0, Entry::NONE, true, "pmdp_huge_get_and_clear");
                c.ipi_all("serialize_against_pte_lookup");
                c.free(pt, "pte_free");
            }),
        ];
        run_cpus(&w, progs);
    })
}

#[test]
fn free_after_an_ipi_the_walker_answered_at_once_is_found_by_both_explorers() {
    assert_eq!(both(walker_vs_serialize_then_pte_free(false)), [UAF, UAF]);
}

#[test]
fn free_after_an_ipi_an_irq_off_walker_delays_is_safe_for_both_explorers() {
    assert_eq!(both(walker_vs_serialize_then_pte_free(true)), [None, None]);
}

/// Fence order alone: the walker reads the table and runs `smp_mb()`; the writer runs
/// `smp_mb()` and frees the table. Nothing else passes between them, so nothing orders the free
/// after the read (C11, LKMM): it is a use-after-free. Before the free was an access, loom ran
/// one execution (walker first), its global SeqCst clock made the read "happen before" the
/// free, and it said safe.
fn fence_only(walker_mb: bool, writer_mb: bool) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices);
        let pt = b.table(Level::Pte, 1);
        let w = b.build();
        let progs: Vec<Program> = vec![
            Box::new(move |c: &Ctx| {
                c.load(pt, 0, ONCE, "walker");
                if walker_mb {
                    smp_mb();
                }
            }),
            Box::new(move |c: &Ctx| {
                if writer_mb {
                    smp_mb();
                }
                c.free(pt, "pte_free");
            }),
        ];
        run_cpus(&w, progs);
    })
}

#[test]
fn two_smp_mb_in_execution_order_do_not_order_a_free_after_a_read() {
    for (a, b) in [(true, true), (true, false), (false, true), (false, false)] {
        assert_eq!(
            both(fence_only(a, b)),
            [UAF, UAF],
            "walker mb {a}, writer mb {b}"
        );
    }
}

/// Store buffering with a free (`SB+fencembonceonces` with a table behind it): the walker
/// announces itself (`WRITE_ONCE(flag, 1); smp_mb()`) and then follows the pmd; the writer clears
/// the pmd, `smp_mb()`, and frees the table only if it saw no walker. The LKMM forbids both
/// reads seeing the old values, so the free never meets the walker's read: safe. Without either
/// `smp_mb()` the walker can still follow the old pointer after the free.
fn sb_guarded_free(mb: bool) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices);
        let pmd = b.table(Level::Pmd, 1);
        let pt = b.table(Level::Pte, 1);
        b.set(pmd, 0, Entry::table(pt));
        let w = b.build();
        let flag = Arc::new(Atomic::new(0));
        let f2 = flag.clone();
        let progs: Vec<Program> = vec![
            Box::new(move |c: &Ctx| {
                flag.store(1, ONCE);
                if mb {
                    smp_mb();
                }
                let e = c.load(pmd, 0, DEP, "walker");
                if e.is_table() {
                    c.load(e.pfn(), 0, ONCE, "walker");
                }
            }),
            Box::new(move |c: &Ctx| {
                c.store(pmd, 0, Entry::NONE, ONCE, "pmd_clear");
                if mb {
                    smp_mb();
                }
                if f2.load(ONCE) == 0 {
                    c.free(pt, "pte_free");
                }
            }),
        ];
        run_cpus(&w, progs);
    })
}

#[test]
fn store_buffering_with_smp_mb_orders_a_free_after_the_walkers_read() {
    assert_eq!(both(sb_guarded_free(true)), [None, None]);
}

#[test]
fn store_buffering_without_smp_mb_lets_the_walker_read_a_freed_table() {
    // Sequential consistency cannot reorder the stores and loads: only loom finds it.
    assert_eq!(both(sb_guarded_free(false)), [UAF, None]);
}

// ----- The LKMM's litmus tests (tools/memory-model/litmus-tests), herd7's verdicts -----

/// A litmus CPU over x and y, returning its register.
type LitmusCpu = Arc<dyn Fn(&Atomic, &Atomic) -> u64 + Send + Sync>;

/// Two CPUs over two locations x, y, then a check of the final state.
fn two_cpus(
    p0: impl Fn(&Atomic, &Atomic) -> u64 + Send + Sync + 'static,
    p1: impl Fn(&Atomic, &Atomic) -> u64 + Send + Sync + 'static,
    exists: impl Fn(u64, u64, u64, u64) -> bool + Send + Sync + 'static,
    name: &'static str,
) -> Body {
    let (p0, p1, exists) = (Arc::new(p0), Arc::new(p1), Arc::new(exists));
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let x = Arc::new(Atomic::new(0));
        let y = Arc::new(Atomic::new(0));
        let r = Arc::new([Atomic::new(9), Atomic::new(9)]);
        let prog = |n: usize, p: LitmusCpu| -> Program {
            let (x, y, r) = (x.clone(), y.clone(), r.clone());
            Box::new(move |_: &Ctx| r[n].store(p(&x, &y), Ordering::Relaxed))
        };
        run_cpus(&w, vec![prog(0, p0.clone()), prog(1, p1.clone())]);
        let (r0, r1) = (r[0].load(Ordering::Relaxed), r[1].load(Ordering::Relaxed));
        if exists(r0, r1, x.load(Ordering::Acquire), y.load(Ordering::Acquire)) {
            forbidden(name);
        }
    })
}

/// `SB+fencembonceonces` (Never) and `SB+poonceonces` (Sometimes).
fn sb(mb: bool) -> Body {
    let p = move |mine: &Atomic, theirs: &Atomic| {
        mine.store(1, ONCE);
        if mb {
            smp_mb();
        }
        theirs.load(ONCE)
    };
    two_cpus(
        p,
        move |x, y| p(y, x),
        |r0, r1, _, _| r0 == 0 && r1 == 0,
        "SB: 0:r0=0 /\\ 1:r0=0",
    )
}

/// `MP+fencewmbonceonce+fencermbonceonce` (Never) and `MP+poonceonces` (Sometimes).
fn mp(barriers: bool) -> Body {
    two_cpus(
        move |x, y| {
            x.store(1, ONCE);
            if barriers {
                smp_wmb();
            }
            y.store(1, ONCE);
            0
        },
        move |x, y| {
            let r0 = y.load(ONCE);
            if barriers {
                smp_rmb();
            }
            let r1 = x.load(ONCE);
            r0 * 10 + r1
        },
        |_, r1, _, _| r1 == 10,
        "MP: 1:r0=1 /\\ 1:r1=0",
    )
}

/// `R+fencembonceonces` (Never) and `R+poonceonces` (Sometimes).
fn r(mb: bool) -> Body {
    two_cpus(
        move |x, y| {
            x.store(1, ONCE);
            if mb {
                smp_mb();
            }
            y.store(1, ONCE);
            0
        },
        move |x, y| {
            y.store(2, ONCE);
            if mb {
                smp_mb();
            }
            x.load(ONCE)
        },
        |_, r0, _, y| y == 2 && r0 == 0,
        "R: y=2 /\\ 1:r0=0",
    )
}

/// `LB+fencembonceonce+ctrlonceonce` (Never) and `LB+poonceonces` (Sometimes).
fn lb(ordered: bool) -> Body {
    two_cpus(
        move |x, y| {
            let r0 = x.load(ONCE);
            if r0 != 0 || !ordered {
                y.store(1, ONCE);
            }
            r0
        },
        move |x, y| {
            let r0 = y.load(ONCE);
            if ordered {
                smp_mb();
            }
            x.store(1, ONCE);
            r0
        },
        |r0, r1, _, _| r0 == 1 && r1 == 1,
        "LB: 0:r0=1 /\\ 1:r0=1",
    )
}

#[test]
fn lkmm_never_outcomes_are_never_seen() {
    for (name, body) in [
        ("SB+fencembonceonces", sb(true)),
        ("MP+fencewmbonceonce+fencermbonceonce", mp(true)),
        ("R+fencembonceonces", r(true)),
        ("LB+fencembonceonce+ctrlonceonce", lb(true)),
    ] {
        assert_eq!(both(body), [None, None], "{name}");
    }
}

#[test]
fn lkmm_sometimes_outcomes_are_seen_by_loom() {
    for (name, body) in [
        ("SB+poonceonces", sb(false)),
        ("MP+poonceonces", mp(false)),
        ("R+poonceonces", r(false)),
    ] {
        assert_eq!(verdict(&LOOM, &body), FORBIDDEN, "{name}");
        // None of them is reachable under sequential consistency.
        assert_eq!(verdict(&DFS, &body), None, "{name}");
    }
}

/// A stated limitation (ARCHITECTURE.md): loom does no load buffering, so `LB+poonceonces`,
/// which the LKMM allows ("Sometimes"), is never seen. A walker bug that needs a load to read
/// from a store the other CPU makes *after* its own later store is out of reach of every
/// explorer here. If this test fails, loom learned load buffering: update the docs.
#[test]
fn loom_does_no_load_buffering() {
    assert_eq!(both(lb(false)), [None, None]);
}
