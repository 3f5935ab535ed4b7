//! loom's DPOR must try every reordering of dependent accesses (ARCHITECTURE.md, "vendored loom").
//!
//! loom 0.7.3 keeps only the *last* access of each atomic when it decides which reorderings to
//! try. When a thread reads a location and then writes it, its own read replaces another
//! thread's earlier read as "the last access"; the write is then never scheduled before that
//! other read (upstream tokio-rs/loom#392 and #166, open). ptcheck calls loom "exhaustive", so
//! it runs a patched loom (`vendor/loom`, `[patch.crates-io]`) that keeps the last access of
//! each location per thread. These tests use loom directly, as the upstream reports do, and
//! assert that every outcome is seen.

use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use loom::thread;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Every value `f` returns over all of loom's executions (unbounded), and how many ran.
fn outcomes<T: Ord + Clone + Send + 'static>(
    f: impl Fn() -> T + Send + Sync + 'static,
) -> (BTreeSet<T>, usize) {
    let seen = Arc::new(Mutex::new((BTreeSet::new(), 0usize)));
    let s = seen.clone();
    loom::model::Builder::new().check(move || {
        let v = f();
        let mut g = s.lock().unwrap();
        g.0.insert(v);
        g.1 += 1;
    });
    let g = seen.lock().unwrap();
    (g.0.clone(), g.1)
}

/// tokio-rs/loom#392: spawned `x.load(); x.store(1)` vs main `x.load()`. The store can come
/// before main's load, so main must see 1 in some execution (as it does without the spawned
/// thread's load). loom 0.7.3: 1 execution, main only ever sees 0.
fn read_then_write(with_load: bool) -> (BTreeSet<u64>, usize) {
    outcomes(move || {
        let x = Arc::new(AtomicU64::new(0));
        let x2 = x.clone();
        let t = thread::spawn(move || {
            if with_load {
                x2.load(Relaxed);
            }
            x2.store(1, Release);
        });
        let r = x.load(Acquire);
        t.join().unwrap();
        r
    })
}

#[test]
fn loom_392_a_write_after_the_writers_own_read_is_reordered_before_another_read() {
    let (with, n) = read_then_write(true);
    assert_eq!(with, BTreeSet::from([0, 1]), "{n} executions");
    let (without, _) = read_then_write(false);
    assert_eq!(with, without);
}

/// tokio-rs/loom#166: a redundant load in one thread must not change the outcomes.
fn loom_166(with_extra_load: bool) -> BTreeSet<(usize, usize)> {
    outcomes(move || {
        let key = Arc::new(AtomicUsize::new(0));
        let value = Arc::new(AtomicUsize::new(0));
        let (k1, v1) = (key.clone(), value.clone());
        let t1 = thread::spawn(move || {
            k1.store(1, SeqCst);
            v1.store(1, SeqCst);
            v1.store(0, SeqCst);
            if with_extra_load {
                k1.load(SeqCst);
            }
            k1.store(0, SeqCst);
        });
        let (k2, v2) = (key.clone(), value.clone());
        let t2 = thread::spawn(move || {
            let v = v2.load(SeqCst);
            let k = k2.load(SeqCst);
            (v, k)
        });
        t1.join().unwrap();
        t2.join().unwrap()
    })
    .0
}

#[test]
fn loom_166_a_redundant_load_does_not_hide_outcomes() {
    let without = loom_166(false);
    let with = loom_166(true);
    assert!(without.contains(&(1, 1)), "{without:?}");
    assert_eq!(with, without);
}

/// The same shape through three threads: two readers before a read-then-write.
#[test]
fn every_earlier_reader_is_remembered() {
    let (seen, _) = outcomes(|| {
        let x = Arc::new(AtomicU64::new(0));
        let (xa, xb) = (x.clone(), x.clone());
        let a = thread::spawn(move || xa.load(Acquire));
        let b = thread::spawn(move || {
            xb.load(Relaxed);
            xb.store(1, Release);
        });
        let ra = a.join().unwrap();
        b.join().unwrap();
        let rm = x.load(Relaxed);
        (ra, rm)
    });
    assert!(seen.contains(&(0, 1)) && seen.contains(&(1, 1)), "{seen:?}");
}

/// The ptcheck addition `loom::model::Exploration`: run a slice at a time, it runs the
/// executions `Builder::check` runs, in the same order (what lets ptcheck interleave a cell's
/// data-choice combinations without changing what each explores).
#[test]
fn exploration_in_slices_runs_what_check_runs() {
    fn model(log: Arc<Mutex<Vec<(u64, u64)>>>) -> impl Fn() + Send + Sync + 'static {
        move || {
            let x = Arc::new(AtomicU64::new(0));
            let y = Arc::new(AtomicU64::new(0));
            let (x2, y2) = (x.clone(), y.clone());
            let t = thread::spawn(move || {
                x2.store(1, Relaxed);
                y2.load(Relaxed)
            });
            y.store(1, Relaxed);
            let a = x.load(Relaxed);
            let b = t.join().unwrap();
            log.lock().unwrap().push((a, b));
        }
    }
    let whole = Arc::new(Mutex::new(Vec::new()));
    loom::model::Builder::new().check(model(whole.clone()));
    for slice in [1, 2, 7] {
        let sliced = Arc::new(Mutex::new(Vec::new()));
        let mut e = loom::model::Builder::new().exploration(model(sliced.clone()));
        let mut slices = 0;
        while !e.run(slice) {
            slices += 1;
        }
        assert!(e.finished());
        assert_eq!(
            *sliced.lock().unwrap(),
            *whole.lock().unwrap(),
            "slice {slice}"
        );
        assert!(slices >= whole.lock().unwrap().len() / slice - 1);
    }
    // Store buffering: all four outcomes, (0, 0) among them (weak memory).
    let seen: BTreeSet<_> = whole.lock().unwrap().iter().copied().collect();
    assert_eq!(seen.len(), 4, "{seen:?}");
}

/// The vendored loom parks the generators of a finished execution and runs the next
/// execution's threads on them (PTCHECK-PATCH.md, "generator pool"). A model that fails
/// part-way (a panic out of a thread, as every ptcheck finding is) drops its generators
/// instead: the models run after it must see every outcome and run as many executions as
/// before it, with threads of two stack sizes.
#[test]
fn parked_generators_run_later_models_exactly_as_fresh_ones() {
    let model = || {
        outcomes(|| {
            let x = Arc::new(AtomicUsize::new(0));
            let (a, b) = (x.clone(), x.clone());
            let t1 = thread::spawn(move || a.fetch_add(1, SeqCst));
            let t2 = thread::Builder::new()
                .stack_size(1 << 17)
                .spawn(move || b.swap(10, SeqCst))
                .unwrap();
            let first = (t1.join().unwrap(), t2.join().unwrap());
            (first, x.load(SeqCst))
        })
    };
    let before = model();
    assert_eq!(before.0.len(), 2, "{:?}", before.0);
    let failing = std::panic::catch_unwind(|| {
        loom::model::Builder::new().check(|| {
            let x = Arc::new(AtomicUsize::new(0));
            let a = x.clone();
            let t = thread::spawn(move || a.store(1, SeqCst));
            assert_eq!(
                x.load(SeqCst),
                0,
                "a finding, as a ptcheck oracle reports one"
            );
            t.join().unwrap();
        })
    });
    assert!(failing.is_err(), "the failing model must fail");
    for _ in 0..3 {
        assert_eq!(model(), before);
    }
}
