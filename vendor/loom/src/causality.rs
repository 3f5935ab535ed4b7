//! ptcheck addition: the running thread's vector clock, for a caller that keeps its own
//! happens-before shadow of an object (FastTrack's epochs, Flanagan and Freund, PLDI 2009)
//! instead of a [`crate::cell::UnsafeCell`] per object.
//!
//! loom's vector clocks have the usual property: a thread whose clock holds thread `t`'s
//! component `c` is ordered after `t`'s event at `c` and everything before it. So an object's
//! accesses are ordered before a later event exactly when, for each thread, that event's clock
//! holds the clock of the thread's latest access to the object: one number per thread to keep,
//! and no object in the execution's store.

use crate::rt::{self, MAX_THREADS};
use std::cell::Cell;

/// An event of the running thread ([`tick`]): the thread's index and its vector clock at the
/// event (its own component is the event's epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The running thread's index (`0..MAX_THREADS`).
    pub thread: usize,
    /// Component `i`: the latest event of thread `i` ordered before this one.
    pub clock: [u16; MAX_THREADS],
}

impl Clock {
    /// This event's own epoch (the running thread's component).
    pub fn epoch(&self) -> u16 {
        self.clock[self.thread]
    }

    /// Whether thread `thread`'s event at `epoch` happens before this event.
    pub fn knows(&self, thread: usize, epoch: u16) -> bool {
        self.clock[thread] >= epoch
    }
}

thread_local! {
    /// The thread and epoch of the latest synchronizing event (every atomic load, store, RMW
    /// and fence is one), kept on the OS thread the model runs on: [`last`] reads it without
    /// going through the execution.
    static LAST: Cell<(u8, u16)> = const { Cell::new((0, 0)) };
}

#[inline]
pub(crate) fn note_last(thread: usize, epoch: u16) {
    LAST.with(|l| l.set((thread as u8, epoch)));
}

/// The running thread's index and epoch at its latest atomic operation (load, store, RMW or
/// fence), if it has made no scheduling point since (model threads run one at a time on one OS
/// thread, and a scheduling point may run another): the epoch of an access the caller makes
/// together with that operation, in the same step, at no cost beyond a thread-local read.
#[inline]
pub fn last() -> (usize, u16) {
    let (t, e) = LAST.with(Cell::get);
    (t as usize, e)
}

/// A new event of the running thread, as a cell access is one: its clock is incremented (so
/// that a later release does not carry this event's epoch to a thread that acquires an
/// earlier one), and the event's clock returned. Not a scheduling point.
pub fn tick() -> Clock {
    rt::execution(|execution| {
        execution.threads.active_causality_inc();
        let id = execution.threads.active_id();
        Clock {
            thread: id.as_usize(),
            clock: execution.threads.active().causality.as_array(),
        }
    })
}
