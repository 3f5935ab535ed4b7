//! Coverage witnesses: did an execution reach the hazard a guard protects against?
//!
//! A `safe` verdict is evidence only if the explored executions put a walker in danger: a
//! table it walks freed, an entry it read rewritten, a page it found freed. The model notices
//! each of these in the shadow (plain bookkeeping, no scheduling point) and counts, per
//! exploration and per [`Hazards`] kind, two things:
//! - *opportunities*: executions in which a CPU changed or freed what another CPU had read;
//! - *hazards reached*: those in which the reader had not finished its walk at that moment.
//!
//! A cell that comes out safe although no execution even set up a hazard its variant is about
//! is reported `vacuous`: the scenario never creates the danger the guard protects from, so the
//! checker never tested it. Opportunities without a reached hazard are real evidence: the
//! protocol (say an x86 IPI flush that waits for the walker) kept the two apart in every
//! explored order. Coverage lines print both counts.
//!
//! "Still walking" is "has read it and has not finished its program": a CPU that finished is
//! idle and holds no pointer. Only CPUs read; RCU callback runners only free.

use bitflags::bitflags;

bitflags! {
    /// The hazards a lockless walker is protected from.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Hazards: u8 {
        /// A page-table frame a CPU read an entry from was freed while that CPU was still
        /// walking (what irq-off / RCU and the deferred table free protect).
        const TABLE_FREED   = 1 << 0;
        /// An entry a CPU read was rewritten by another CPU while the reader was still walking
        /// (what the read-once rules, rechecks and the serializing IPIs are about).
        const ENTRY_CHANGED = 1 << 1;
        /// A data page a CPU found through an entry it read was freed while the reader was still
        /// walking (what `get_page_unless_zero`, the pte recheck and the flush order protect).
        const PAGE_FREED    = 1 << 2;
    }
}

impl Hazards {
    /// Each kind with its name, in bit order.
    pub const NAMED: [(Hazards, &'static str); 3] = [
        (Hazards::TABLE_FREED, "table-freed"),
        (Hazards::ENTRY_CHANGED, "entry-changed"),
        (Hazards::PAGE_FREED, "page-freed"),
    ];

    /// The names of the kinds in this set.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMED
            .iter()
            .filter(|(h, _)| self.contains(*h))
            .map(|&(_, n)| n)
            .collect()
    }
}

/// Per hazard kind, the number of executions that reached it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Witnesses(pub [u64; 3]);

impl Witnesses {
    /// Count one execution that reached `h`.
    pub fn add(&mut self, h: Hazards) {
        for (i, (k, _)) in Hazards::NAMED.iter().enumerate() {
            if h.contains(*k) {
                self.0[i] += 1;
            }
        }
    }

    /// Sum two counts.
    pub fn merge(&mut self, o: Witnesses) {
        for i in 0..3 {
            self.0[i] += o.0[i];
        }
    }

    /// Executions that reached `h` (for a set: the largest count of its kinds, a lower bound
    /// on the executions that reached any of them).
    pub fn of(&self, h: Hazards) -> u64 {
        Hazards::NAMED
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| h.contains(*k))
            .map(|(i, _)| self.0[i])
            .max()
            .unwrap_or(0)
    }

    /// `table-freed 12, entry-changed 40, page-freed 0`.
    pub fn describe(&self) -> String {
        Hazards::NAMED
            .iter()
            .enumerate()
            .map(|(i, (_, n))| format!("{n} {}", self.0[i]))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
