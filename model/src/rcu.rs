//! RCU: `rcu_read_lock/unlock`, `synchronize_rcu`, `call_rcu`, and the flavour knob.
//!
//! A grace period must outlast every read-side section that was running when it started. In
//! the model each CPU holds a lock for the length of a section (its `rcu` lock for
//! `rcu_read_lock`, its `irq` lock for an irq-off section), and a grace period takes and
//! releases, on every other CPU, the locks its flavour honours: a section in progress delays
//! it; one that starts later started after the grace period did and needs no waiting. The
//! lock's release/acquire edges make each reader's accesses happen before whatever follows the
//! grace period (the free), which is the ordering the kernel's argument needs.
//!
//! `call_rcu` spawns a callback runner (a model thread, DESIGN.md §2: spawned at the call, not
//! up front) that waits for a grace period on *all* CPUs and then runs the callback, so the
//! callback interleaves with everything else.
//!
//! Flavours (DESIGN.md §3): since the RCU flavour consolidation (v4.20) an irq-off section is
//! also an RCU reader; before it, `call_rcu_sched`/`synchronize_sched` (what
//! `tlb_remove_table` used) were held off by irq-off sections, and plain `call_rcu` under
//! PREEMPT_RCU only by `rcu_read_lock` sections.

use crate::cpu::Section;
use crate::rt;
use crate::trace::{self, Actor, SyncStep};
use crate::world::Ctx;

/// Which read-side sections a grace period waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RcuFlavour {
    /// v4.20 and later: `rcu_read_lock` sections and irq-off sections.
    Consolidated,
    /// Before v4.20, `call_rcu_sched` / `synchronize_sched`: irq-off (and preempt-off) sections.
    Sched,
    /// Before v4.20, plain `call_rcu` with PREEMPT_RCU: `rcu_read_lock` sections only.
    Preemptible,
}

impl RcuFlavour {
    /// `call_rcu [name]`, as the trace prints a `call_rcu` of this flavour.
    pub fn call_rcu_text(self) -> &'static str {
        match self {
            RcuFlavour::Consolidated => "call_rcu [rcu (consolidated)]",
            RcuFlavour::Sched => "call_rcu [rcu-sched]",
            RcuFlavour::Preemptible => "call_rcu [rcu-preempt]",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RcuFlavour::Consolidated => "rcu (consolidated)",
            RcuFlavour::Sched => "rcu-sched",
            RcuFlavour::Preemptible => "rcu-preempt",
        }
    }

    fn waits_irq_off(self) -> bool {
        matches!(self, RcuFlavour::Consolidated | RcuFlavour::Sched)
    }

    fn waits_read_lock(self) -> bool {
        matches!(self, RcuFlavour::Consolidated | RcuFlavour::Preemptible)
    }
}

impl Ctx {
    /// `rcu_read_lock()` (nests).
    pub fn rcu_read_lock(&self, func: &'static str) {
        self.enter(Section::RcuRead, func, SyncStep::RcuReadLock);
    }

    /// `rcu_read_unlock()`.
    pub fn rcu_read_unlock(&self, func: &'static str) {
        self.exit(Section::RcuRead, func, SyncStep::RcuReadUnlock);
    }

    /// Wait for a grace period of `flavour` on every CPU but the caller's own.
    fn wait_grace_period(&self, flavour: RcuFlavour) {
        let me = match self.actor {
            Actor::Cpu(n) => Some(n),
            Actor::RcuCallback(_) => None,
        };
        for (i, cpu) in self.world.cpus.iter().enumerate() {
            if Some(i) == me {
                continue;
            }
            crate::trace::waiting(
                self.actor,
                Some(crate::trace::WaitFor::GracePeriod {
                    flavour: flavour.name(),
                    cpu: i,
                }),
            );
            if flavour.waits_irq_off() {
                cpu.irq().wait_unheld();
            }
            if flavour.waits_read_lock() {
                cpu.rcu().wait_unheld();
            }
        }
        crate::trace::waiting(self.actor, None);
    }

    /// `synchronize_rcu()` (or `synchronize_sched()` for the sched flavour). Called with
    /// interrupts off or inside `rcu_read_lock()` it would wait for itself: a deadlock.
    pub fn synchronize_rcu(&self, flavour: RcuFlavour, func: &'static str) {
        if let Actor::Cpu(n) = self.actor {
            let irq = self.world.depth(n, false) > 0;
            let rcu = self.world.depth(n, true) > 0;
            if (flavour.waits_irq_off() && irq) || (flavour.waits_read_lock() && rcu) {
                crate::violation::raise(crate::Violation::Deadlock {
                    detail: format!(
                        "CPU{n} calls synchronize_rcu in {func} inside a read-side section it \
                         would have to wait for ({})",
                        if irq {
                            "interrupts off"
                        } else {
                            "rcu_read_lock"
                        }
                    ),
                });
            }
        }
        self.note(
            func,
            SyncStep::SynchronizeRcu {
                flavour: flavour.name(),
            },
        );
        self.wait_grace_period(flavour);
        self.world.cost(|c| c.grace_periods += 1);
        self.note(func, SyncStep::GracePeriodOver);
    }

    /// `call_rcu(head, cb)`: run `cb` after a grace period of `flavour`, on a callback runner
    /// that interleaves with everything else. `cb_name` names the callback in the trace.
    pub fn call_rcu(
        &self,
        flavour: RcuFlavour,
        func: &'static str,
        cb_name: &'static str,
        cb: impl FnOnce(&Ctx) + Send + 'static,
    ) {
        self.defer_callback(
            func,
            std::borrow::Cow::Borrowed(flavour.call_rcu_text()),
            cb_name,
            move |runner| runner.wait_grace_period(flavour),
            cb,
        );
    }

    /// Queue `cb` on a new callback runner (`rcu-cbN`), which runs `wait` (a grace period of
    /// some domain) and then `cb`; `how` names the queueing call in the trace.
    pub(crate) fn defer_callback(
        &self,
        func: &'static str,
        how: std::borrow::Cow<'static, str>,
        cb_name: &'static str,
        wait: impl FnOnce(&Ctx) + Send + 'static,
        cb: impl FnOnce(&Ctx) + Send + 'static,
    ) {
        let n = self.world.next_rcu_batch();
        let runner = Ctx {
            actor: Actor::RcuCallback(n),
            world: self.world.clone(),
        };
        let step = trace::record(
            self.actor,
            func,
            SyncStep::Deferred {
                how,
                callback: cb_name,
                batch: n,
            },
        );
        self.world.rcu_queued(n, self.actor, step);
        self.world.cost(|c| c.grace_periods += 1);
        let h = rt::spawn(move || {
            wait(&runner);
            runner.note(cb_name, SyncStep::GracePeriodOver);
            cb(&runner);
        });
        self.world.adopt(h);
    }
}
