//! Independent explorations on several threads: each exploration is single-threaded with its
//! state in thread-locals (the explorers run every model thread as a coroutine on the calling
//! OS thread), so cells can run side by side. Results come back in input order, whatever
//! order they finish in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The machine's cores (1 if unknown): the default `--jobs`.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f(0..n)` on up to `jobs` threads, items started in the order `first` gives them (a
/// permutation of `0..n`; `None`: `0..n`), results in index order. With `jobs <= 1` it runs
/// on the calling thread, one item after another.
pub fn map<T: Send>(
    n: usize,
    jobs: usize,
    first: Option<Vec<usize>>,
    f: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    if jobs <= 1 || n <= 1 {
        return (0..n).map(f).collect();
    }
    let order = first.unwrap_or_else(|| (0..n).collect());
    assert_eq!(
        order.len(),
        n,
        "the start order is a permutation of the items"
    );
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(n) {
            s.spawn(|| {
                while let Some(&k) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let r = f(k);
                    *slots[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every item was taken by a worker")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_input_order_on_any_number_of_threads() {
        for jobs in [1, 2, 5] {
            let out = super::map(9, jobs, Some((0..9).rev().collect()), |k| k * k);
            assert_eq!(out, (0..9).map(|k| k * k).collect::<Vec<_>>(), "{jobs}");
        }
        assert!(super::map(0, 3, None, |k| k).is_empty());
    }
}
