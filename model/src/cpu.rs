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

use crate::world::Ctx;

impl Ctx {
    /// `local_irq_disable` / `local_irq_save`.
    pub fn local_irq_disable(&self, func: &'static str) {
        let cpu = self.cpu_id();
        let d = self.world.depth(cpu, false);
        if d == 0 {
            self.world.cpus[cpu].irq.lock();
            self.note(func, "local_irq_save: interrupts off");
        }
        self.world.set_depth(cpu, false, d + 1);
    }

    /// `local_irq_enable` / `local_irq_restore`.
    pub fn local_irq_enable(&self, func: &'static str) {
        let cpu = self.cpu_id();
        let d = self.world.depth(cpu, false);
        assert!(
            d > 0,
            "local_irq_restore without local_irq_save on CPU{cpu}"
        );
        self.world.set_depth(cpu, false, d - 1);
        if d == 1 {
            self.note(func, "local_irq_restore: interrupts on");
            self.world.cpus[cpu].irq.unlock();
        }
    }

    /// Does this CPU run with interrupts off right now?
    pub fn irqs_disabled(&self) -> bool {
        self.world.depth(self.cpu_id(), false) > 0
    }
}
