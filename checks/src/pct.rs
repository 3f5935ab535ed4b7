//! The `pct` explorer's scheduler: PCT (Burckhardt et al., ASPLOS 2010) whose depth is drawn
//! per execution, 2 up to the explorer's depth.
//!
//! PCT at depth `d` gives the threads random priorities and lowers the running thread's at
//! `d - 1` random steps; it finds any bug of depth at most `d` (a bug that needs `d - 1`
//! ordering constraints between threads after the first) with probability at least
//! `1 / (n k^(d-1))` per execution, `n` threads and `k` steps. A depth-2 bug (one preemption:
//! a walker stopped between two reads while the other CPU runs its whole path) under depth 3
//! has the same bound as a depth-3 one, `1 / (n k^2)`: the second change point, drawn
//! anywhere, must stay out of the other CPU's run, which is most of the steps. Drawing the
//! depth per execution, uniformly from 2 to `d`, keeps at least `1 / (d - 1)` of each bound: a
//! depth-2 bug is then found with probability at least `1 / (2 n k)` at `d = 3`, a depth-3 one
//! with at least half its bound. Each depth is shuttle's own [`PctScheduler`], seeded from the
//! explorer's seed, so one seed gives the same schedules (unless `SHUTTLE_RANDOM_SEED` is set:
//! shuttle then seeds every depth's scheduler with it).
//!
//! Measured with `ptcheck bench --broken --within 5000` (the 628 broken cells not marked
//! `kind(deep)`, seeds 1-10, schedules never repeated, [`crate::no_repeat`]): the sum over
//! cells of the mean executions to the first counterexample is 38,986 at depth 3 alone and
//! 33,889 with the depth drawn (a second depth-3 scheduler under another seed, a control for
//! the draw, gave 37,823); the cells some seed needed over 1,000 executions for, 1 and 0; over
//! 250 on average, 19 and 1. Before schedules stopped repeating, the same draw lowered the sum
//! by 13% but missed more cells at some seed: which cells miss at 10 seeds is mostly chance.

use shuttle::scheduler::{PctScheduler, Schedule, Scheduler, Task, TaskId};

/// PCT at a depth drawn per execution ([module docs](self)).
#[derive(Debug)]
pub struct Pct {
    /// One scheduler per depth, 2 (or 1) up to the explorer's.
    by_depth: Vec<PctScheduler>,
    /// The one running the current execution.
    current: usize,
    /// Executions left.
    left: usize,
    /// SplitMix64 state for the draw.
    coin: u64,
}

impl Pct {
    /// At most `max_iterations` executions, each at a depth from 2 to `depth` (a depth of 1
    /// or 2 is that depth alone); the same `seed` gives the same schedules.
    pub fn new(seed: u64, depth: usize, max_iterations: usize) -> Self {
        let lowest = depth.clamp(1, 2);
        Pct {
            by_depth: (lowest..=depth.max(1))
                .enumerate()
                .map(|(i, d)| {
                    let s = seed.wrapping_add((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                    PctScheduler::new_from_seed(s, d, usize::MAX)
                })
                .collect(),
            current: 0,
            left: max_iterations,
            coin: seed ^ 0x5EED_0C70_0000_0000,
        }
    }

    fn draw(&mut self) -> usize {
        (crate::splitmix::next(&mut self.coin) % self.by_depth.len() as u64) as usize
    }
}

impl Scheduler for Pct {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        self.current = self.draw();
        self.by_depth[self.current].new_execution()
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        self.by_depth[self.current].next_task(runnable, current, is_yielding)
    }

    fn next_u64(&mut self) -> u64 {
        self.by_depth[self.current].next_u64()
    }
}
