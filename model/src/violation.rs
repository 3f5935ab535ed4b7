//! Typed violations: what the oracles report (DESIGN.md §6).
//!
//! A violation is raised at the model step that commits it ([`raise`]): the explorer catches
//! the unwinding execution, takes the violation and the trace, and renders a counterexample.

use crate::trace::Actor;
use std::cell::RefCell;
use std::fmt;

/// The class of a violation, used by the expectation matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ViolationKind {
    UseAfterFree,
    PinOfFreedPage,
    Torn,
    Stale,
    Misread,
    FreedWhileMapped,
    LostUpdate,
    MissedSync,
    Deadlock,
    Leak,
    DoubleFree,
    ForbiddenOutcome,
    BadPte,
    /// A finding of a scenario's own oracle, by the name the scenario declares
    /// (`ptcheck_scenarios::FindingDoc`): "gup on mm A returned a page mm A never mapped" is
    /// `wrong-page` in the user's expectation matrix and reports.
    Own(&'static str),
}

impl ViolationKind {
    pub const ALL: [ViolationKind; 13] = [
        ViolationKind::UseAfterFree,
        ViolationKind::PinOfFreedPage,
        ViolationKind::Torn,
        ViolationKind::Stale,
        ViolationKind::Misread,
        ViolationKind::FreedWhileMapped,
        ViolationKind::LostUpdate,
        ViolationKind::MissedSync,
        ViolationKind::Deadlock,
        ViolationKind::Leak,
        ViolationKind::DoubleFree,
        ViolationKind::ForbiddenOutcome,
        ViolationKind::BadPte,
    ];

    /// Short name used in tables and the expectation matrix.
    pub fn name(self) -> &'static str {
        match self {
            ViolationKind::UseAfterFree => "use-after-free",
            ViolationKind::PinOfFreedPage => "pin-of-freed-page",
            ViolationKind::Torn => "torn",
            ViolationKind::Stale => "stale",
            ViolationKind::Misread => "misread",
            ViolationKind::FreedWhileMapped => "freed-while-mapped",
            ViolationKind::LostUpdate => "lost-update",
            ViolationKind::MissedSync => "missed-sync",
            ViolationKind::Deadlock => "deadlock",
            ViolationKind::Leak => "leak",
            ViolationKind::DoubleFree => "double-free",
            ViolationKind::ForbiddenOutcome => "forbidden-outcome",
            ViolationKind::BadPte => "bad-pte",
            ViolationKind::Own(name) => name,
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a frame was freed: by whom, in which kernel function, at which trace step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreedAt {
    pub by: Actor,
    pub func: &'static str,
    pub step: usize,
}

impl fmt::Display for FreedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {} (step {})", self.by, self.func, self.step + 1)
    }
}

/// How a use-after-free was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UafOrder {
    /// The access came after the free in the interleaving.
    AfterFree,
    /// The access came first, but the free is not ordered after it (no happens-before edge):
    /// on a weakly ordered machine the access can observe the freed, reused frame.
    NotOrderedBeforeFree,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    #[error("use-after-free: {by} {access} {frame} in {func} {}; freed by {freed}", match .order { UafOrder::AfterFree => "after it was freed", UafOrder::NotOrderedBeforeFree => "and the free is not ordered after that access" })]
    UseAfterFree {
        frame: String,
        by: Actor,
        access: &'static str,
        func: &'static str,
        freed: FreedAt,
        order: UafOrder,
    },
    #[error("pin of a freed page: {by} returned {page} pinned from {func}, but {page} was freed by {freed} after the pte it came from was written (it now belongs to someone else)")]
    PinOfFreedPage {
        page: String,
        by: Actor,
        func: &'static str,
        freed: FreedAt,
    },
    /// `get_page` (a plain `atomic_inc`, no zero test) on a page found through an entry written
    /// before the page's last free. `get_page` is only correct for a caller that already holds a
    /// reference; a walker that relies on the mapping's reference loses it when the page is
    /// freed. The page has since been reallocated (so the increment met a nonzero count), but
    /// when the allocation comes is up to the allocator: had it come after the `get_page`, the
    /// increment would have resurrected a page on the free lists. That allocation is not a step
    /// of any scenario CPU, so the model does not need a schedule in which it comes late to know
    /// that one exists.
    #[error("pin of a freed page: {by} took a reference on {page} with get_page in {func}, but {page} was freed by {freed} after the pte it came from was written: get_page needs a reference the caller already holds, and that one was gone ({page} has since been reallocated; had that allocation come after this get_page, it would have raised a count of 0)")]
    GetPageOfFreedPage {
        page: String,
        by: Actor,
        func: &'static str,
        freed: FreedAt,
    },
    #[error(
        "torn: {by} in {func} acted on {seen}, a value the entry never held as a whole ({detail})"
    )]
    Torn {
        by: Actor,
        func: &'static str,
        seen: String,
        detail: String,
    },
    #[error("stale: {by} in {func} tested {tested} but acted on a reload, {seen}: {detail}")]
    Stale {
        by: Actor,
        func: &'static str,
        seen: String,
        tested: String,
        detail: String,
    },
    #[error("misread: {by} in {func} acted on {seen}: {detail}")]
    Misread {
        by: Actor,
        func: &'static str,
        seen: String,
        detail: String,
    },
    #[error("freed while mapped: {frame} was freed by {freed} but is {what} at the end")]
    FreedWhileMapped {
        frame: String,
        what: String,
        freed: FreedAt,
    },
    #[error("lost update: {by} in {func} wrote {what} into {frame}, {why}")]
    LostUpdate {
        by: Actor,
        func: &'static str,
        frame: String,
        what: String,
        why: String,
    },
    /// A remover detached (and will free) a table that still held a live entry: whoever
    /// installed it believes it is mapped; the update is thrown away with the table.
    #[error(
        "lost update: {by} in {func} detached {frame} while it still held {what} (installed \
         by {installed_by}): the entry is thrown away with the table"
    )]
    EntryDiscarded {
        by: Actor,
        func: &'static str,
        frame: String,
        what: String,
        /// The CPU whose write it was (`the initial state` if none).
        installed_by: String,
    },
    /// `call_rcu` on an `rcu_head` that is still queued: the callback list is corrupted, so one
    /// deferral is lost (a leak) or its callback runs twice (a double free); reported as the
    /// double free at the second queueing.
    #[error(
        "double free: {by} in {func} queued the rcu_head of {page} again while the deferral \
         {queued_by} queued is still pending: the callback list is corrupted (one deferral is \
         lost, or pte_free_now runs twice and frees the page twice)"
    )]
    RcuHeadReused {
        by: Actor,
        func: &'static str,
        page: String,
        queued_by: Actor,
    },
    #[error("missed sync: {detail}")]
    MissedSync { detail: String },
    /// Once every CPU is done, a present pte that no live VMA covers, or that grants an access
    /// its VMA does not (a fault that installed it after munmap or mprotect had changed the
    /// VMA).
    #[error("bad pte: {detail}")]
    BadPte { detail: String },
    #[error("deadlock: {detail}")]
    Deadlock { detail: String },
    #[error("leak at the end: {detail}")]
    Leak { detail: String },
    /// What a scenario's own oracle found ([`ViolationKind::Own`]): raised with [`raise_own`].
    #[error("{name}: {detail}")]
    Own { name: &'static str, detail: String },
    /// A litmus test observed the outcome its memory model forbids.
    #[error("forbidden outcome: {detail}")]
    ForbiddenOutcome { detail: String },
    #[error("double free: {by} freed {frame} in {func}; already freed by {freed}")]
    DoubleFree {
        frame: String,
        by: Actor,
        func: &'static str,
        freed: FreedAt,
    },
}

impl Violation {
    pub fn kind(&self) -> ViolationKind {
        match self {
            Violation::UseAfterFree { .. } => ViolationKind::UseAfterFree,
            Violation::PinOfFreedPage { .. } | Violation::GetPageOfFreedPage { .. } => {
                ViolationKind::PinOfFreedPage
            }
            Violation::Torn { .. } => ViolationKind::Torn,
            Violation::Stale { .. } => ViolationKind::Stale,
            Violation::Misread { .. } => ViolationKind::Misread,
            Violation::FreedWhileMapped { .. } => ViolationKind::FreedWhileMapped,
            Violation::LostUpdate { .. } | Violation::EntryDiscarded { .. } => {
                ViolationKind::LostUpdate
            }
            Violation::MissedSync { .. } => ViolationKind::MissedSync,
            Violation::BadPte { .. } => ViolationKind::BadPte,
            Violation::Deadlock { .. } => ViolationKind::Deadlock,
            Violation::Leak { .. } => ViolationKind::Leak,
            Violation::DoubleFree { .. } | Violation::RcuHeadReused { .. } => {
                ViolationKind::DoubleFree
            }
            Violation::ForbiddenOutcome { .. } => ViolationKind::ForbiddenOutcome,
            Violation::Own { name, .. } => ViolationKind::Own(name),
        }
    }
}

/// The payload of the panic that ends an execution on a violation.
#[derive(Debug)]
pub struct ViolationRaised;

thread_local! {
    static RAISED: RefCell<Option<Violation>> = const { RefCell::new(None) };
}

/// Report `v` and end the execution (unwinds to the explorer).
pub fn raise(v: Violation) -> ! {
    RAISED.with(|r| {
        let mut r = r.borrow_mut();
        if r.is_none() {
            *r = Some(v);
        }
    });
    std::panic::panic_any(ViolationRaised)
}

/// Report a finding of the scenario's own oracle, `name` as its `FindingDoc` declares it, and
/// end the execution: `raise_own("wrong-page", format!("gup on mm A returned {page}, which mm A
/// never mapped"))`.
pub fn raise_own(name: &'static str, detail: impl Into<String>) -> ! {
    raise(Violation::Own {
        name,
        detail: detail.into(),
    })
}

/// Take the violation raised in this OS thread, if any.
pub fn take_raised() -> Option<Violation> {
    RAISED.with(|r| r.borrow_mut().take())
}

/// Drop any stale violation (start of an exploration).
pub fn clear_raised() {
    RAISED.with(|r| *r.borrow_mut() = None);
}
