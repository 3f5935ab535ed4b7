//! The protocol cost of one execution: IPIs, CPUs interrupted, grace periods, TLB flushes,
//! and the counters some scenarios keep (`ptcheck cost`, the verdict table's cost column).

/// Protocol costs counted per execution: the quantities the seeds were written to cut.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// `smp_call_function*` broadcasts (each one a wait for every target).
    pub ipis: u32,
    /// CPUs interrupted by those broadcasts.
    pub cpus_interrupted: u32,
    /// Grace periods waited for (`synchronize_rcu`, `call_rcu` batches).
    pub grace_periods: u32,
    /// TLB flushes issued (`flush_tlb_*`, `tlb_flush`).
    pub tlb_flushes: u32,
    /// `pgd_lock` acquisitions on the fork path (`pgd_alloc`) and on the exit path
    /// (`pgd_free` -> `pgd_dtor`): the contention the lockless pgd_alloc series (2015) was
    /// written to remove. Counted only by scenarios that model those paths (`pgd_lock_counted`).
    pub pgd_lock_fork: u32,
    pub pgd_lock_exit: u32,
    pub pgd_lock_counted: bool,
    /// Speculative page faults that fell back to the classic fault (`VM_FAULT_RETRY`), counted
    /// by scenarios that model them (`spf_counted`).
    pub spf_fallbacks: u32,
    pub spf_counted: bool,
}

impl Cost {
    /// Component-wise maximum.
    pub fn max(self, o: Cost) -> Cost {
        Cost {
            ipis: self.ipis.max(o.ipis),
            cpus_interrupted: self.cpus_interrupted.max(o.cpus_interrupted),
            grace_periods: self.grace_periods.max(o.grace_periods),
            tlb_flushes: self.tlb_flushes.max(o.tlb_flushes),
            pgd_lock_fork: self.pgd_lock_fork.max(o.pgd_lock_fork),
            pgd_lock_exit: self.pgd_lock_exit.max(o.pgd_lock_exit),
            pgd_lock_counted: self.pgd_lock_counted || o.pgd_lock_counted,
            spf_fallbacks: self.spf_fallbacks.max(o.spf_fallbacks),
            spf_counted: self.spf_counted || o.spf_counted,
        }
    }
}
