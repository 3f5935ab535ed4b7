//! The `random` explorer: a random walk over schedules that stays on the running thread at
//! most scheduling points, and at the others draws uniformly among the runnable threads.
//!
//! shuttle's `RandomScheduler` draws uniformly at every scheduling point, so with two CPUs
//! runnable one of them runs `k` steps in a row with probability about `2^-k`. The bugs this
//! tool looks for mostly need the opposite: one CPU stopped between two of its accesses (a pte
//! read and `get_page`) while another runs a whole kernel path (`unmap_region`: clear, flush,
//! free, a dozen steps and more). Staying with probability `1 - 1/SWITCH_EVERY` makes a CPU's
//! runs geometric with a mean of [`SWITCH_EVERY`] steps, and still reaches every schedule: a
//! draw can switch at any point. (PCT, Burckhardt et al., ASPLOS 2010, answers the same shape
//! with priorities and a bounded number of change points; the two are complements.)
//!
//! Measured with `ptcheck bench --broken` (the 630 broken cells reachable under sequential
//! consistency; a cell counts when seeds 1-10 all find it within 1,000 executions): uniform
//! draws at every point 406; a draw every 4th point on average 546, every 6th 560, every 8th
//! 559 (with an earlier coin: 544, 568, 563, and every 16th 547). shuttle's uniform random
//! walk over interleavings (`UrwRandomScheduler`, Zhao et al., ASPLOS 2025) found 324.
//!
//! A yielding thread (a spin loop) is always redrawn, as shuttle's schedulers do. The uniform
//! draw, the data choices (`next_u64`) and the per-execution reseeding are shuttle's
//! `RandomScheduler`'s; shuttle records the chosen threads, so a schedule string replays the
//! same way whichever scheduler produced it.

use shuttle::scheduler::{RandomScheduler, Schedule, Scheduler, Task, TaskId};

/// On average, the walk draws a thread at one scheduling point in this many (the others keep
/// the running thread).
pub const SWITCH_EVERY: u64 = 6;

/// A random walk that mostly stays on the running thread ([module docs](self)).
#[derive(Debug)]
pub struct RandomWalk {
    uniform: RandomScheduler,
    /// SplitMix64 state for the stay-or-draw coin (Steele, Lea and Flood, OOPSLA 2014).
    coin: u64,
}

impl RandomWalk {
    /// At most `max_iterations` executions; the same `seed` gives the same schedules.
    pub fn new(seed: u64, max_iterations: usize) -> Self {
        RandomWalk {
            uniform: RandomScheduler::new_from_seed(seed, max_iterations),
            coin: seed,
        }
    }

    /// `true` one time in [`SWITCH_EVERY`].
    fn draw(&mut self) -> bool {
        self.coin = self.coin.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.coin;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)).is_multiple_of(SWITCH_EVERY)
    }
}

impl Scheduler for RandomWalk {
    fn new_execution(&mut self) -> Option<Schedule> {
        self.uniform.new_execution()
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let can_stay =
            !is_yielding && current.is_some_and(|c| runnable.iter().any(|t| t.id() == c));
        if can_stay && !self.draw() {
            return current;
        }
        self.uniform.next_task(runnable, current, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.uniform.next_u64()
    }
}
