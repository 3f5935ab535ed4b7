//! IPI broadcast with wait: `smp_call_function(func, info, wait=1)` and
//! `smp_call_function_many(mask, ...)` (kernel/smp.c).
//!
//! The sender interrupts every other targeted CPU and returns only when each has run the
//! handler. A target runs the handler only with interrupts on, so a target inside an irq-off
//! section delays the sender until it re-enables; a finished CPU answers at once. In the model
//! the handshake is the sender taking and releasing each target's irq lock (see
//! [`crate::cpu`]): one scheduling point per target, and a full barrier in both directions
//! between the sender and that target (DESIGN.md §3). The handlers the seeds use
//! (`tlb_remove_table_smp_sync`, `thp_splitting_flush_sync`, `do_nothing`) are empty, and a TLB
//! shootdown handler's flush has no state in this model, so the handler body is not modelled.
//!
//! Calling it with interrupts off is a kernel bug (it can deadlock against another sender), and
//! the model reports the deadlock when two CPUs do so.

use crate::trace::SyncStep;
use crate::world::Ctx;

/// Which CPUs an IPI interrupts (and waits for).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IpiTargets {
    /// `smp_call_function`: every other online CPU (`tlb_remove_table_sync_one`, arm's
    /// `thp_splitting_flush_sync`).
    AllOnline,
    /// `smp_call_function_many(mm_cpumask(mm), ...)` / `flush_tlb_multi(mm_cpumask(mm), ...)`:
    /// only the CPUs the mm has run on (`serialize_against_pte_lookup`, an x86 shootdown). A CPU
    /// outside the mask (another mm, or trimmed from it by powerpc radix's
    /// `exit_lazy_flush_tlb`) is not interrupted, so its irq-off sections are not waited for. A
    /// CPU walking this mm locklessly is always in the mask (gup_fast walks `current->mm`).
    MmCpumask,
}

impl Ctx {
    /// Send an IPI to `targets` (see [`IpiTargets`]) and wait for each to answer.
    pub fn ipi(&self, targets: IpiTargets, why: &'static str) {
        match targets {
            IpiTargets::AllOnline => self.ipi_all(why),
            IpiTargets::MmCpumask => self.ipi_where(|c| self.world.in_mm_cpumask(c), why),
        }
    }

    /// `smp_call_function_many(mask, handler, NULL, wait=1)`: interrupt every CPU in `targets`
    /// except this one and wait for each to answer, in CPU order (the kernel's loop over the
    /// mask). `why` names the kernel call site.
    pub fn ipi_many(&self, targets: &[usize], why: &'static str) {
        self.ipi_where(|c| targets.contains(&c), why)
    }

    /// The IPI to every other CPU `c` with `target(c)`, in CPU order.
    fn ipi_where(&self, target: impl Fn(usize) -> bool, why: &'static str) {
        let me = self.cpu_id();
        let cpus = (0..self.world.cpus.len()).filter(|&c| c != me && target(c));
        self.note_with(why, || {
            SyncStep::IpiSent {
                targets: cpus.clone().collect(),
            }
            .into()
        });
        let mut interrupted = 0;
        for t in cpus {
            interrupted += 1;
            crate::trace::waiting(
                self.actor,
                Some(crate::trace::WaitFor::IpiAnswer {
                    why,
                    cpu: t,
                    irqs_off: self.irqs_off(),
                }),
            );
            self.world.cpus[t].irq().wait_unheld();
        }
        crate::trace::waiting(self.actor, None);
        self.world.cost(|c| {
            c.ipis += 1;
            c.cpus_interrupted += interrupted;
        });
        self.note(why, SyncStep::IpiAnswered);
    }

    /// `smp_call_function(handler, NULL, wait=1)`: every other online CPU.
    pub fn ipi_all(&self, why: &'static str) {
        self.ipi_where(|_| true, why);
    }
}
