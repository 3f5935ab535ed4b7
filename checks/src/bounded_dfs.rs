//! Depth-first search of every sequentially consistent schedule with at most `bound`
//! preemptions: shuttle's `DfsScheduler` with a preemption bound (iterative context bounding,
//! Musuvathi and Qadeer, PLDI 2007).
//!
//! A *preemption* is a switch away from the running task while it could go on (runnable and not
//! yielding); a switch at a point where the running task blocks, finishes or yields is free.
//! Within the bound every such schedule is visited exactly once: no partial-order reduction, so
//! unlike loom's bounded DPOR nothing is pruned by a dependency analysis that could be wrong.
//! This is what makes it the reference for the explorer-agreement check on cells whose
//! unbounded DFS does not finish: loom at bound `b` and this search at bound `b` cover the same
//! schedules (loom also the weak-memory outcomes), so a violation found here that loom at `b`
//! misses is a disagreement to explain.

use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};

/// One scheduling point of the current path: the task chosen, and whether it was the last
/// option at that point.
#[derive(Clone, Copy, Debug)]
struct Level {
    choice: TaskId,
    last: bool,
}

/// Preemption-bounded depth-first search over schedules.
#[derive(Debug)]
pub struct BoundedDfs {
    bound: usize,
    max_iterations: Option<usize>,
    iterations: usize,
    levels: Vec<Level>,
    steps: usize,
    /// Preemptions taken so far in the current execution.
    used: usize,
}

impl BoundedDfs {
    /// Every schedule with at most `bound` preemptions, at most `max_iterations` of them.
    pub fn new(bound: usize, max_iterations: Option<usize>) -> Self {
        BoundedDfs {
            bound,
            max_iterations,
            iterations: 0,
            levels: Vec::new(),
            steps: 0,
            used: 0,
        }
    }

    /// Whether a level at or below `index` has an option left.
    fn has_more_choices(&self, index: usize) -> bool {
        self.levels[index..].iter().any(|l| !l.last)
    }

    /// The tasks this point may run, the running one first (so that the first schedule is the
    /// one without preemptions), and whether switching away from it costs a preemption.
    fn options(&self, runnable: &[&Task], current: Option<TaskId>, yielding: bool) -> Options {
        let ids = runnable.iter().map(|t| t.id());
        match current.filter(|c| runnable.iter().any(|t| t.id() == *c)) {
            Some(c) if !yielding => {
                let mut v = vec![c];
                if self.used < self.bound {
                    v.extend(ids.filter(|t| *t != c));
                }
                Options {
                    ids: v,
                    preempts: true,
                }
            }
            _ => Options {
                ids: ids.collect(),
                preempts: false,
            },
        }
    }
}

struct Options {
    ids: Vec<TaskId>,
    /// Choosing any but the first is a preemption.
    preempts: bool,
}

impl Scheduler for BoundedDfs {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.max_iterations.is_some_and(|m| self.iterations >= m) {
            return None;
        }
        if self.iterations > 0 && !self.has_more_choices(0) {
            return None;
        }
        self.iterations += 1;
        self.steps = 0;
        self.used = 0;
        Some(Schedule::new(0))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let opts = self.options(runnable, current, is_yielding);
        let idx = if self.steps >= self.levels.len() {
            0
        } else {
            let level = self.levels[self.steps];
            let at = opts.ids.iter().position(|t| *t == level.choice)?;
            if self.has_more_choices(self.steps + 1) {
                at
            } else {
                self.levels.truncate(self.steps);
                at + 1
            }
        };
        let next = *opts.ids.get(idx)?;
        if self.steps == self.levels.len() {
            self.levels.push(Level {
                choice: next,
                last: idx + 1 == opts.ids.len(),
            });
        }
        if opts.preempts && idx > 0 {
            self.used += 1;
        }
        self.steps += 1;
        Some(next)
    }

    fn next_u64(&mut self) -> u64 {
        0
    }
}
