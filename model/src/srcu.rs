//! SRCU (sleepable RCU): a grace-period domain of its own, one `struct srcu_struct` (the 2017
//! speculative page fault series frees VMAs through `DEFINE_SRCU(vma_srcu)`):
//! `srcu_read_lock(&s)` / `srcu_read_unlock(&s, idx)`, `synchronize_srcu(&s)`,
//! `call_srcu(&s, head, cb)`.
//!
//! A grace period of a domain waits for that domain's readers only: SRCU readers may sleep,
//! and their grace periods are tracked per domain, so neither `rcu_read_lock` sections nor
//! irq-off sections hold one off, and an SRCU reader does not hold off a grace period of RCU.
//! In the model each CPU holds the domain's reader lock for its outermost section, and a grace
//! period takes and releases the other CPUs' locks, as [`crate::rcu`] does for RCU (same
//! release/acquire argument). Only scenarios that make a domain pay for its model objects.

use crate::rt::RawLock;
use crate::trace::{Actor, SyncStep};
use crate::world::Ctx;
use std::sync::Mutex;

/// One SRCU domain (`struct srcu_struct`).
pub struct Srcu {
    pub name: &'static str,
    /// Per CPU: held for the CPU's outermost read-side section.
    readers: Vec<RawLock>,
    /// Per CPU: read-side nesting (bookkeeping, not explorer state).
    depth: Mutex<Vec<u32>>,
}

impl Srcu {
    /// `DEFINE_SRCU(name)` on a machine of `ncpus` CPUs.
    pub fn new(name: &'static str, ncpus: usize) -> Self {
        Srcu {
            name,
            readers: (0..ncpus).map(|_| RawLock::new()).collect(),
            depth: Mutex::new(vec![0; ncpus]),
        }
    }

    fn depth(&self) -> std::sync::MutexGuard<'_, Vec<u32>> {
        self.depth.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ctx {
    fn srcu_cpu(&self, what: &str) -> usize {
        match self.actor {
            Actor::Cpu(n) => n,
            Actor::RcuCallback(_) => panic!("model error: {what} from an RCU callback"),
        }
    }

    /// `srcu_read_lock(&s)` (nests).
    pub fn srcu_read_lock(&self, s: &Srcu, func: &'static str) {
        let n = self.srcu_cpu("srcu_read_lock");
        let outer = {
            let mut d = s.depth();
            d[n] += 1;
            d[n] == 1
        };
        if outer {
            s.readers[n].lock();
        }
        self.note(func, SyncStep::SrcuReadLock(s.name));
    }

    /// `srcu_read_unlock(&s, idx)`.
    pub fn srcu_read_unlock(&self, s: &Srcu, func: &'static str) {
        let n = self.srcu_cpu("srcu_read_unlock");
        self.note(func, SyncStep::SrcuReadUnlock(s.name));
        let outer = {
            let mut d = s.depth();
            assert!(d[n] > 0, "srcu_read_unlock without srcu_read_lock");
            d[n] -= 1;
            d[n] == 0
        };
        if outer {
            s.readers[n].unlock();
        }
    }

    fn wait_srcu_grace_period(&self, s: &Srcu) {
        let me = match self.actor {
            Actor::Cpu(n) => Some(n),
            Actor::RcuCallback(_) => None,
        };
        for (i, r) in s.readers.iter().enumerate() {
            if Some(i) != me {
                crate::trace::waiting(
                    self.actor,
                    Some(crate::trace::WaitFor::SrcuReader {
                        domain: s.name,
                        cpu: i,
                    }),
                );
                r.wait_unheld();
            }
        }
        crate::trace::waiting(self.actor, None);
    }

    /// `synchronize_srcu(&s)`. Inside the caller's own read-side section of the same domain
    /// it would wait for itself: a deadlock.
    pub fn synchronize_srcu(&self, s: &Srcu, func: &'static str) {
        if let Actor::Cpu(n) = self.actor {
            if s.depth()[n] > 0 {
                crate::violation::raise(crate::Violation::Deadlock {
                    detail: format!(
                        "CPU{n} calls synchronize_srcu({}) in {func} inside its own \
                         srcu_read_lock section",
                        s.name
                    ),
                });
            }
        }
        self.note(func, SyncStep::SynchronizeSrcu { domain: s.name });
        self.wait_srcu_grace_period(s);
        self.world.cost(|c| c.grace_periods += 1);
        self.note(func, SyncStep::GracePeriodOver);
    }

    /// `call_srcu(&s, head, cb)`: run `cb` after a grace period of `s`, on a callback runner
    /// that interleaves with everything else.
    pub fn call_srcu(
        &self,
        s: &std::sync::Arc<Srcu>,
        func: &'static str,
        cb_name: &'static str,
        cb: impl FnOnce(&Ctx) + Send + 'static,
    ) {
        let s = s.clone();
        self.defer_callback(
            func,
            format!("call_srcu({})", s.name).into(),
            cb_name,
            move |runner| runner.wait_srcu_grace_period(&s),
            cb,
        );
    }
}
