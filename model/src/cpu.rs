//! Interrupt state of a CPU: `local_irq_disable/enable`, `local_irq_save/restore`.
//!
//! A CPU runs with interrupts off while it holds its `irq` lock (see [`crate::world::CpuState`]).
//! An IPI to the CPU ([`crate::ipi`]) takes and releases that lock: it is "answered" at a moment
//! the CPU has interrupts on, and never inside an irq-off section, exactly the delay the kernel's
//! lockless walkers rely on. A CPU that finished its program holds nothing, so it answers at
//! once (idle with interrupts on). Nesting is counted; only the outermost section takes the lock.
//!
//! Ordering: the lock is acquire on `local_irq_disable` and release on `local_irq_enable`; with
//! the sender's take-and-release this gives the two edges DESIGN.md §3 asks of an IPI: the
//! sender's earlier writes happen before the target's next irq-off section, and the target's
//! reads inside its last section happen before the sender returns.

use crate::trace::SyncStep;
use crate::world::Ctx;

/// A per-CPU section that others wait for: interrupts off, or an RCU read-side section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Section {
    IrqOff,
    RcuRead,
}

impl Ctx {
    /// Enter a section (nesting counted; only the outermost takes the CPU's lock).
    pub(crate) fn enter(&self, s: Section, func: &'static str, what: SyncStep) {
        let cpu = self.cpu_id();
        let rcu = s == Section::RcuRead;
        let d = self.world.depth(cpu, rcu);
        if d == 0 {
            let c = &self.world.cpus[cpu];
            if rcu { c.rcu() } else { c.irq() }.lock();
            self.note(func, what);
        }
        self.world.set_depth(cpu, rcu, d + 1);
    }

    /// Leave a section entered with [`Ctx::enter`].
    pub(crate) fn exit(&self, s: Section, func: &'static str, what: SyncStep) {
        let cpu = self.cpu_id();
        let rcu = s == Section::RcuRead;
        let d = self.world.depth(cpu, rcu);
        assert!(d > 0, "{what} on CPU{cpu} outside the section");
        self.world.set_depth(cpu, rcu, d - 1);
        if d == 1 {
            self.note(func, what);
            let c = &self.world.cpus[cpu];
            if rcu { c.rcu() } else { c.irq() }.unlock();
        }
    }

    /// `local_irq_disable` / `local_irq_save`.
    pub fn local_irq_disable(&self, func: &'static str) {
        self.enter(Section::IrqOff, func, SyncStep::IrqOff);
    }

    /// `local_irq_enable` / `local_irq_restore`.
    pub fn local_irq_enable(&self, func: &'static str) {
        self.exit(Section::IrqOff, func, SyncStep::IrqOn);
    }
}
