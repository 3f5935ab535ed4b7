//! The `random` explorer: a random walk over schedules that keeps the running thread at most
//! scheduling points, and at the others draws uniformly among the runnable threads.
//!
//! shuttle's `RandomScheduler` draws uniformly at every scheduling point, so with two CPUs
//! runnable one of them runs `k` steps in a row with probability about `2^-k`. The bugs this
//! tool looks for mostly need the opposite: one CPU stopped between two of its accesses (a pte
//! read and `get_page`) while another runs a whole kernel path (`unmap_region`: clear, flush,
//! free, a dozen steps and more). The walk draws at one point in [`DRAW_EVERY`] on average;
//! the draw is uniform among the runnable threads, the running one included, so with two CPUs
//! runnable it switches at about one point in 12 and a CPU's runs are geometric with a mean
//! of about 12 steps. A draw can switch at any point, so every schedule stays reachable. (PCT,
//! Burckhardt et al., ASPLOS 2010, answers the same shape with priorities and a bounded number
//! of change points; the two are complements.)
//!
//! Measured with `ptcheck bench --broken` (the 630 broken cells reachable under sequential
//! consistency; a cell counts when seeds 1-10 all find it within 1,000 executions): a uniform
//! draw at every point 406; a draw at one point in 4 on average (two CPUs: a switch in 8)
//! 544-546, in 6 (a switch in 12) 560-568, in 8 (a switch in 16) 559-563, in 16 547, over three
//! coins (the spread is the coin's noise; this one gives 568 at one in 6).
//! shuttle's uniform random walk over interleavings (`UrwRandomScheduler`, Zhao et al.,
//! ASPLOS 2025) found 324.
//!
//! A yielding thread (a spin loop) is always redrawn, so that the others get to run (shuttle's
//! `RandomScheduler` ignores yields; PCT lowers the yielder's priority). The uniform draw, the
//! data choices (`next_u64`) and the seed of each execution are shuttle's `RandomScheduler`'s
//! (which honours `SHUTTLE_RANDOM_SEED`); the coin is reseeded from that seed at every
//! execution, so an execution's schedule depends on its seed alone. shuttle records the threads
//! chosen, so a schedule string replays the same way whichever scheduler produced it.

use shuttle::scheduler::{RandomScheduler, Schedule, Scheduler, Task, TaskId};

/// On average, the walk draws a thread at one scheduling point in this many (the others keep
/// the running thread).
pub const DRAW_EVERY: u64 = 6;

/// A random walk that mostly stays on the running thread ([module docs](self)).
#[derive(Debug)]
pub struct RandomWalk {
    uniform: RandomScheduler,
    /// SplitMix64 state for the keep-or-draw coin (Steele, Lea and Flood, OOPSLA 2014),
    /// reseeded at every execution.
    coin: u64,
}

impl RandomWalk {
    /// At most `max_iterations` executions; the same `seed` gives the same schedules.
    pub fn new(seed: u64, max_iterations: usize) -> Self {
        RandomWalk {
            uniform: RandomScheduler::new_from_seed(seed, max_iterations),
            // Set from each execution's seed in `new_execution`, before any draw.
            coin: 0,
        }
    }

    /// `true` one time in [`DRAW_EVERY`].
    fn draw(&mut self) -> bool {
        crate::splitmix::next(&mut self.coin).is_multiple_of(DRAW_EVERY)
    }
}

impl Scheduler for RandomWalk {
    fn new_execution(&mut self) -> Option<Schedule> {
        let s = self.uniform.new_execution()?;
        // Not the uniform draw's own stream: the same seed, moved by a constant.
        self.coin = s.seed ^ 0x5EED_C014_0000_0000;
        Some(s)
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
