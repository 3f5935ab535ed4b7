//! The per-execution event trace: who did what, in interleaving order.
//!
//! Both explorers run every model thread of an execution as a coroutine on the calling OS
//! thread, one at a time, so a plain `thread_local!` log records the interleaving exactly and
//! costs no scheduling point (DESIGN.md §2: bookkeeping must stay outside tracked state). It is
//! cleared when an execution starts ([`crate::World::new`]) and read by the explorer when an
//! execution fails.

use crate::name::{FrameName, Shown};
use std::cell::{Cell, RefCell};
use std::fmt;

/// Who performed a step: a CPU running its program, or an RCU callback (softirq) batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Actor {
    Cpu(usize),
    /// The `n`th `call_rcu` batch of the execution, running after its grace period.
    RcuCallback(usize),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Cpu(n) => write!(f, "CPU{n}"),
            Actor::RcuCallback(n) => write!(f, "rcu-cb{n}"),
        }
    }
}

/// One step: the kernel function it belongs to and what it did (values read or written).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub actor: Actor,
    pub func: &'static str,
    pub what: What,
    /// The entry the step read or wrote, if it is an entry access (for marking stale reads).
    pub access: Option<EntryAccess>,
}

/// What a step did, kept as data and formatted only when a counterexample is printed (most
/// executions' traces are never read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// Fixed text (`local_irq_save: interrupts off`).
    Static(&'static str),
    /// Text formatted at the step (rare steps that carry values).
    Text(String),
    /// `read PT#2[0] = page A [W]`
    Read {
        table: FrameName,
        slot: usize,
        value: Shown,
    },
    /// `PT#2[0] := none`
    Write {
        table: FrameName,
        slot: usize,
        value: Shown,
    },
    /// `PMD#1[0]: ->PT#2 -> none`
    Exchange {
        table: FrameName,
        slot: usize,
        old: Shown,
        new: Shown,
    },
    /// `free PT#2`
    Free(FrameName),
    /// A refcount change: `put_page(page A): 1 -> 0`.
    Count {
        op: &'static str,
        page: FrameName,
        from: u64,
        to: u64,
    },
    /// A call on a frame: `tlb_remove_page(PT#2)`.
    Call { op: &'static str, frame: FrameName },
    /// A frame and what happened to it: `page A reallocated to another user (refcount 1)`.
    Suffixed {
        frame: FrameName,
        text: &'static str,
    },
    /// A label and a frame: `batch PT#2`.
    Labelled {
        label: &'static str,
        frame: FrameName,
    },
    /// A named word of a kernel object: `read VMA A->vm_sequence = 2`, `VMA A->vm_flags := 1`.
    Field {
        object: FrameName,
        field: &'static str,
        value: u64,
        write: bool,
    },
    /// A step of the synchronisation machinery (interrupts, IPIs, RCU, SRCU), typed so that
    /// reports can draw it (sections, arrows, grace periods) without parsing its text.
    Sync(SyncStep),
}

/// The synchronisation steps a report draws: irq-off and read-side sections, IPIs and their
/// answers, grace periods, deferred callbacks. Each prints exactly the text the step had
/// before it was typed (counterexamples and their snapshots do not change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStep {
    /// `local_irq_save: interrupts off` (the outermost section only).
    IrqOff,
    /// `local_irq_restore: interrupts on` (the outermost section only).
    IrqOn,
    /// `rcu_read_lock` (the outermost section only).
    RcuReadLock,
    /// `rcu_read_unlock` (the outermost section only).
    RcuReadUnlock,
    /// `srcu_read_lock(domain)`.
    SrcuReadLock(&'static str),
    /// `srcu_read_unlock(domain)`.
    SrcuReadUnlock(&'static str),
    /// `IPI -> CPU1,CPU2 (wait)`: the sender interrupts these CPUs and waits for each.
    IpiSent { targets: Vec<usize> },
    /// `IPI answered by all`: the sender's last [`SyncStep::IpiSent`] is complete.
    IpiAnswered,
    /// `synchronize_rcu [flavour]: wait`: a grace period starts; the same actor's next
    /// [`SyncStep::GracePeriodOver`] ends it.
    SynchronizeRcu { flavour: &'static str },
    /// `synchronize_srcu(domain): wait`, as [`SyncStep::SynchronizeRcu`].
    SynchronizeSrcu { domain: &'static str },
    /// `grace period over`: on a CPU, the end of its `synchronize_*`; as the first step of an
    /// RCU callback runner, the end of the grace period its [`SyncStep::Deferred`] waited for.
    GracePeriodOver,
    /// `call_rcu [flavour] -> cb (rcu-cbN)` / `call_srcu(domain) -> cb (rcu-cbN)`: `callback`
    /// runs on the actor `RcuCallback(batch)` after a grace period.
    Deferred {
        /// The queueing call as printed (`call_rcu [rcu (consolidated)]`).
        how: std::borrow::Cow<'static, str>,
        callback: &'static str,
        batch: usize,
    },
}

impl fmt::Display for SyncStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncStep::IrqOff => f.write_str("local_irq_save: interrupts off"),
            SyncStep::IrqOn => f.write_str("local_irq_restore: interrupts on"),
            SyncStep::RcuReadLock => f.write_str("rcu_read_lock"),
            SyncStep::RcuReadUnlock => f.write_str("rcu_read_unlock"),
            SyncStep::SrcuReadLock(d) => write!(f, "srcu_read_lock({d})"),
            SyncStep::SrcuReadUnlock(d) => write!(f, "srcu_read_unlock({d})"),
            SyncStep::IpiSent { targets } => {
                f.write_str("IPI -> ")?;
                for (i, t) in targets.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "CPU{t}")?;
                }
                f.write_str(" (wait)")
            }
            SyncStep::IpiAnswered => f.write_str("IPI answered by all"),
            SyncStep::SynchronizeRcu { flavour } => write!(f, "synchronize_rcu [{flavour}]: wait"),
            SyncStep::SynchronizeSrcu { domain } => write!(f, "synchronize_srcu({domain}): wait"),
            SyncStep::GracePeriodOver => f.write_str("grace period over"),
            SyncStep::Deferred {
                how,
                callback,
                batch,
            } => write!(f, "{how} -> {callback} (rcu-cb{batch})"),
        }
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Static(s) => f.write_str(s),
            What::Text(s) => f.write_str(s),
            What::Read { table, slot, value } => write!(f, "read {table}[{slot}] = {value}"),
            What::Write { table, slot, value } => write!(f, "{table}[{slot}] := {value}"),
            What::Exchange {
                table,
                slot,
                old,
                new,
            } => write!(f, "{table}[{slot}]: {old} -> {new}"),
            What::Free(frame) => write!(f, "free {frame}"),
            What::Count { op, page, from, to } => write!(f, "{op}({page}): {from} -> {to}"),
            What::Call { op, frame } => write!(f, "{op}({frame})"),
            What::Suffixed { frame, text } => write!(f, "{frame} {text}"),
            What::Labelled { label, frame } => write!(f, "{label} {frame}"),
            What::Field {
                object,
                field,
                value,
                write: false,
            } => write!(f, "read {object}->{field} = {value}"),
            What::Field {
                object,
                field,
                value,
                write: true,
            } => write!(f, "{object}->{field} := {value}"),
            What::Sync(s) => s.fmt(f),
        }
    }
}

impl From<SyncStep> for What {
    fn from(s: SyncStep) -> Self {
        What::Sync(s)
    }
}

impl Event {
    /// The step's synchronisation meaning, if it is one ([`SyncStep`]).
    pub fn sync(&self) -> Option<&SyncStep> {
        match &self.what {
            What::Sync(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&'static str> for What {
    fn from(s: &'static str) -> Self {
        What::Static(s)
    }
}

impl From<String> for What {
    fn from(s: String) -> Self {
        What::Text(s)
    }
}

/// An entry access of a step: which entry, read or written, and the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryAccess {
    /// (frame index, slot).
    pub entry: (usize, usize),
    pub write: bool,
    pub value: u64,
}

thread_local! {
    static LOG: RefCell<Vec<Event>> = const { RefCell::new(Vec::new()) };
    /// Steps of the current execution so far (recorded or not), and whether they are kept
    /// (one thread-local for both: every step reads them).
    static STEPS: Cell<Steps> = const { Cell::new(Steps { count: 0, recording: true }) };
    /// What each actor is blocked on right now, if anything (for a deadlock's report).
    static WAITING: RefCell<Vec<(Actor, WaitFor)>> = const { RefCell::new(Vec::new()) };
}

/// The step counter and the recording switch ([`set_recording`]).
#[derive(Clone, Copy)]
struct Steps {
    count: usize,
    recording: bool,
}

/// Forget the previous execution's steps.
pub fn clear() {
    LOG.with(|l| l.borrow_mut().clear());
    STEPS.with(|n| {
        n.set(Steps {
            count: 0,
            ..n.get()
        })
    });
    WAITING.with(|w| w.borrow_mut().clear());
}

/// Keep the steps of the executions from now on in this OS thread (`true`, the default), or
/// only count them (`false`); returns the previous setting.
pub fn set_recording(on: bool) -> bool {
    STEPS.with(|s| {
        let was = s.get();
        s.set(Steps {
            recording: on,
            ..was
        });
        was.recording
    })
}

/// What an actor is blocked on, kept as data and formatted only for a deadlock's report (the
/// common case, an execution without one, never pays for the text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitFor {
    /// `smp_call_function_many` (called from `why`) waiting for `cpu` to answer its IPI.
    IpiAnswer {
        why: &'static str,
        cpu: usize,
        irqs_off: bool,
    },
    /// A grace period of `flavour` waiting for `cpu`'s read-side section.
    GracePeriod { flavour: &'static str, cpu: usize },
    /// `synchronize_srcu(domain)` waiting for `cpu`'s `srcu_read_lock` section.
    SrcuReader { domain: &'static str, cpu: usize },
    /// A sleeping or spinning lock: `op(lock)` in `func`.
    Lock {
        op: &'static str,
        lock: &'static str,
        func: &'static str,
        irqs_off: bool,
    },
    /// A blocking step of a user crate's own primitive, as it should read in a deadlock report.
    Other(&'static str),
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let off = |b: bool| if b { " (interrupts off)" } else { "" };
        match *self {
            WaitFor::IpiAnswer { why, cpu, irqs_off } => {
                write!(
                    f,
                    "{why} waits for CPU{cpu} to answer its IPI{}",
                    off(irqs_off)
                )
            }
            WaitFor::GracePeriod { flavour, cpu } => write!(
                f,
                "a grace period [{flavour}] waits for CPU{cpu}'s read-side section"
            ),
            WaitFor::SrcuReader { domain, cpu } => write!(
                f,
                "a grace period of {domain} waits for CPU{cpu}'s srcu_read_lock section"
            ),
            WaitFor::Lock {
                op,
                lock,
                func,
                irqs_off,
            } => write!(f, "{op}({lock}) in {func}{}", off(irqs_off)),
            WaitFor::Other(what) => f.write_str(what),
        }
    }
}

/// `actor` is about to block on `what` (a lock, an IPI answer, a grace period); `None` once it
/// got past it.
pub fn waiting(actor: Actor, what: Option<WaitFor>) {
    WAITING.with(|w| {
        let mut w = w.borrow_mut();
        w.retain(|(a, _)| *a != actor);
        if let Some(what) = what {
            w.push((actor, what));
            w.sort_by_key(|(a, _)| *a);
        }
    });
}

/// Where every blocked actor waits, as `CPU0: spin_lock(ptl) in fault; CPU1: ...` (empty if
/// none is).
pub fn waiting_positions() -> String {
    WAITING.with(|w| {
        w.borrow()
            .iter()
            .map(|(a, what)| format!("{a}: {what}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Append a step; returns its index (used to say "freed at step 7").
pub fn record(actor: Actor, func: &'static str, what: impl Into<What>) -> usize {
    record_access(actor, func, what, None)
}

/// Append a step that read or wrote an entry.
pub fn record_access(
    actor: Actor,
    func: &'static str,
    what: impl Into<What>,
    access: Option<EntryAccess>,
) -> usize {
    record_with(actor, func, || (what.into(), access))
}

/// Append a step whose content `step` builds only if recording is on ([`set_recording`]);
/// returns its index either way.
pub fn record_with(
    actor: Actor,
    func: &'static str,
    step: impl FnOnce() -> (What, Option<EntryAccess>),
) -> usize {
    let Steps { count, recording } = STEPS.with(|s| {
        let now = s.get();
        s.set(Steps {
            count: now.count + 1,
            ..now
        });
        now
    });
    if recording {
        record_now(actor, func, step);
    }
    count
}

/// The recording half of [`record_with`], out of line: while exploring, steps are only
/// counted, so the code that builds a step's content stays out of the callers' hot paths.
#[cold]
#[inline(never)]
fn record_now(
    actor: Actor,
    func: &'static str,
    step: impl FnOnce() -> (What, Option<EntryAccess>),
) {
    let (what, access) = step();
    LOG.with(|l| {
        l.borrow_mut().push(Event {
            actor,
            func,
            what,
            access,
        })
    });
}

/// A copy of the steps so far.
pub fn snapshot() -> Vec<Event> {
    LOG.with(|l| l.borrow().clone())
}

/// Number of steps so far (the index the next step will get), recorded or not.
pub fn snapshot_len() -> usize {
    STEPS.with(|s| s.get().count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed steps print exactly the text they had as strings (counterexamples and their
    /// snapshots must not change).
    #[test]
    fn sync_steps_print_as_before() {
        let cases = [
            (SyncStep::IrqOff, "local_irq_save: interrupts off"),
            (SyncStep::IrqOn, "local_irq_restore: interrupts on"),
            (SyncStep::RcuReadLock, "rcu_read_lock"),
            (SyncStep::RcuReadUnlock, "rcu_read_unlock"),
            (
                SyncStep::SrcuReadLock("vma_srcu"),
                "srcu_read_lock(vma_srcu)",
            ),
            (
                SyncStep::SrcuReadUnlock("vma_srcu"),
                "srcu_read_unlock(vma_srcu)",
            ),
            (
                SyncStep::IpiSent {
                    targets: vec![0, 2],
                },
                "IPI -> CPU0,CPU2 (wait)",
            ),
            (SyncStep::IpiSent { targets: vec![] }, "IPI ->  (wait)"),
            (SyncStep::IpiAnswered, "IPI answered by all"),
            (
                SyncStep::SynchronizeRcu {
                    flavour: "rcu-sched",
                },
                "synchronize_rcu [rcu-sched]: wait",
            ),
            (
                SyncStep::SynchronizeSrcu { domain: "vma_srcu" },
                "synchronize_srcu(vma_srcu): wait",
            ),
            (SyncStep::GracePeriodOver, "grace period over"),
            (
                SyncStep::Deferred {
                    how: "call_rcu [rcu (consolidated)]".into(),
                    callback: "pte_free_now",
                    batch: 1,
                },
                "call_rcu [rcu (consolidated)] -> pte_free_now (rcu-cb1)",
            ),
        ];
        for (step, text) in cases {
            assert_eq!(What::from(step).to_string(), text);
        }
    }
}
