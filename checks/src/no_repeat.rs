//! Sampling without replacement: PCT and random never run the same schedule twice.
//!
//! A cell's executions are deterministic: under one data-choice combination, the threads chosen
//! at the scheduling points where more than one could run decide the whole execution (the model
//! draws no random data; a rerun that diverges is a model error, [`crate::search`]). PCT and
//! the random walk draw those choices afresh for every execution, and on the small programs a
//! kernel protocol makes most draws repeat one already run: measured on
//! `pmd-clear-vs-lockless-walk/x86/correct`'s default combination, 2,000 PCT executions are 39
//! distinct schedules and the walk's first 50 are 6. A repeat costs a whole execution and can
//! find nothing new.
//!
//! [`NoRepeat`] wraps either scheduler and keeps the tree of the schedules run so far, one node
//! per choice point (its runnable threads, and which of them lead only to schedules already
//! run). At a choice point it asks the wrapped scheduler first and keeps that thread unless
//! every schedule below it has run; then it takes another thread whose subtree has not been
//! run to its end (the other one with two runnable, a draw among them with more). So each
//! execution is a schedule not run before, chosen as the wrapped scheduler would have chosen
//! it wherever that leads somewhere new, and when the root's every branch has run, every
//! schedule of the combination has: the search ends there (sequentially consistent, every
//! interleaving; [`NoRepeat::exhausted_flag`]). Like shuttle's DFS, which never repeats a schedule
//! either, it keeps a record of what ran; unlike it, it lets PCT or the walk choose wherever
//! that choice leads somewhere new, so their bias towards the bugs' shapes is kept.
//!
//! The tree is exact (a node's children sit in consecutive slots, one per runnable thread, in
//! thread order); it holds at most [`MAX_NODES`] nodes (reaching that, the combination's search
//! goes on unsteered: schedules may repeat, and it is never called exhausted; so too with a
//! thread numbered 32 or up, or a data draw, `next_u64`, which no scenario makes today: the
//! tree knows only thread choices). The same path must
//! lead to the same choice points: the same runnable threads after as many scheduling
//! decisions, and an end where an execution ended before. A path that does not means the model
//! is not deterministic (state leaking from one execution to the next, say); the tree then
//! stops steering and never says exhausted (a test:
//! `a_model_that_is_not_deterministic_is_never_called_exhausted`), and the rerun of a failing
//! execution reports it as a model error. Nondeterminism that changes only a path no other
//! execution shares cannot be seen by a search that never repeats one: "every schedule ran",
//! like shuttle's DFS's "exhaustive", assumes the model is deterministic (each execution builds
//! its world afresh; the rerun of every failing execution checks it).

use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use std::cell::Cell;
use std::rc::Rc;

/// The most nodes the tree of one combination's schedules keeps (about 28 bytes each with its
/// child slots: 28 MB; measured, 100,000 executions of each of pte-free-defer-vs-retract's 24
/// combinations on x86 peak at 79 MB in all).
pub const MAX_NODES: usize = 1_000_000;

/// A choice point: the runnable threads (0 until first reached; a finished schedule's last
/// node stays 0), those below which every schedule has run (bit `i` is thread `i`; threads
/// numbered 32 and up stop the steering), where its child slots start in `kids`, whether an
/// execution ended there (a leaf: a finished schedule), and the scheduling decisions from the
/// choice before it (or the start) to it, every one counted: the same path must take as many.
#[derive(Clone, Copy, Debug)]
struct Node {
    runnable: u32,
    done: u32,
    kids: u32,
    leaf: bool,
    steps: u32,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            runnable: 0,
            done: 0,
            kids: 0,
            leaf: false,
            steps: NOT_YET,
        }
    }
}

/// [`Node::steps`] of a node not reached yet.
const NOT_YET: u32 = u32::MAX;

/// A child slot not yet taken.
const NO_CHILD: u32 = u32::MAX;

/// The root's index.
const ROOT: u32 = 0;

/// A scheduler (PCT, the random walk) that never runs the same schedule twice ([module
/// docs](self)).
#[derive(Debug)]
pub struct NoRepeat<S> {
    inner: S,
    nodes: Vec<Node>,
    /// The child slots: for a node, one per runnable thread, in thread order.
    kids: Vec<u32>,
    /// The current execution's choice points so far: (node, thread chosen).
    path: Vec<(u32, u32)>,
    /// The node the next choice point is (`nodes.len()` if not made yet).
    at: u32,
    /// Scheduling decisions since the last choice point (or the start).
    since: u32,
    /// An execution has started and its end is not yet recorded.
    running: bool,
    /// The tree stopped being trustworthy (a choice point changed; a task id too large).
    untrusted: bool,
    /// Every schedule has run (shared with whoever reports it, [`NoRepeat::exhausted_flag`]).
    exhausted: Rc<Cell<bool>>,
    /// SplitMix64 state for the rare draw among three or more unexplored threads.
    rng: u64,
}

impl<S: Scheduler> NoRepeat<S> {
    /// Wrap `inner`; `seed` seeds the draw among unexplored threads.
    pub fn new(inner: S, seed: u64) -> Self {
        NoRepeat {
            inner,
            nodes: Vec::new(),
            kids: Vec::new(),
            path: Vec::new(),
            at: ROOT,
            since: 0,
            running: false,
            untrusted: false,
            exhausted: Rc::new(Cell::new(false)),
            rng: seed ^ 0x6E6F_7265_7065_6174,
        }
    }

    /// Set once every schedule has run (the root's every branch): the search was exhaustive
    /// under sequential consistency. Shared, to be read after the scheduler has been handed to
    /// a runner.
    pub fn exhausted_flag(&self) -> Rc<Cell<bool>> {
        self.exhausted.clone()
    }

    /// Record that the running execution ended: the last choice led to a finished schedule;
    /// each node above whose every branch is now done is done in its parent.
    fn finish(&mut self) {
        // The end of the schedule: a node no execution has left by a choice. One that did, or
        // a leaf that a later execution goes on from (`next_task`), means the model is not
        // deterministic.
        if let Some(end) = self.nodes.get_mut(self.at as usize) {
            if end.runnable != 0 || (end.steps != NOT_YET && end.steps != self.since) {
                self.untrusted = true;
            }
            end.leaf = true;
            end.steps = self.since;
        }
        let mut child_done = true;
        for &(node, t) in self.path.iter().rev() {
            if !child_done {
                break;
            }
            let n = &mut self.nodes[node as usize];
            n.done |= 1 << t;
            child_done = n.done == n.runnable;
        }
        if child_done && !self.untrusted {
            self.exhausted.set(true);
        }
        self.path.clear();
        self.at = ROOT;
        self.since = 0;
    }

    fn draw(&mut self, n: u32) -> u32 {
        (crate::splitmix::next(&mut self.rng) % u64::from(n)) as u32
    }
}

impl<S: Scheduler> Scheduler for NoRepeat<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.running {
            self.running = false;
            self.finish();
        }
        if self.exhausted.get() {
            return None;
        }
        let s = self.inner.new_execution()?;
        self.running = true;
        Some(s)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        is_yielding: bool,
    ) -> Option<TaskId> {
        let proposed = self.inner.next_task(runnable, current, is_yielding)?;
        self.since += 1;
        if runnable.len() < 2 || self.untrusted {
            return Some(proposed);
        }
        let mut mask = 0u32;
        for t in runnable {
            let id = usize::from(t.id());
            if id >= 32 {
                self.untrusted = true;
                return Some(proposed);
            }
            mask |= 1 << id;
        }
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        let at = self.at as usize;
        let steps = std::mem::take(&mut self.since);
        if self.nodes[at].leaf || (self.nodes[at].steps != NOT_YET && self.nodes[at].steps != steps)
        {
            self.untrusted = true;
            return Some(proposed);
        }
        self.nodes[at].steps = steps;
        if self.nodes[at].runnable == 0 {
            // First reached: the runnable threads of this choice point, and its child slots.
            self.nodes[at].runnable = mask;
            self.nodes[at].kids = self.kids.len() as u32;
            self.kids
                .extend(std::iter::repeat_n(NO_CHILD, mask.count_ones() as usize));
        } else if self.nodes[at].runnable != mask {
            self.untrusted = true;
            return Some(proposed);
        }
        let node = self.nodes[at];
        let mut chosen = usize::from(proposed) as u32;
        let open = node.runnable & !node.done;
        if node.done & (1 << chosen) != 0 && open != 0 {
            let k = self.draw(open.count_ones());
            chosen = (0..32)
                .filter(|i| open & (1 << i) != 0)
                .nth(k as usize)
                .expect("k is below the count of open threads");
        }
        self.path.push((self.at, chosen));
        // The slot of `chosen`: its rank among the runnable threads.
        let slot = (node.kids + (node.runnable & ((1 << chosen) - 1)).count_ones()) as usize;
        self.at = match self.kids[slot] {
            NO_CHILD if self.nodes.len() >= MAX_NODES => {
                // The tree is full: from here on the search goes unsteered and is never
                // called exhausted (what `finish` then records no longer matters).
                self.untrusted = true;
                return Some(TaskId::from(chosen as usize));
            }
            NO_CHILD => {
                let child = self.nodes.len() as u32;
                self.nodes.push(Node::default());
                self.kids[slot] = child;
                child
            }
            child => child,
        };
        Some(TaskId::from(chosen as usize))
    }

    fn next_u64(&mut self) -> u64 {
        // A data draw the tree does not record: its schedules are no longer told apart by
        // their thread choices alone.
        self.untrusted = true;
        self.inner.next_u64()
    }
}
