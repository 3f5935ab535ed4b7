//! **pgd_alloc vs kernel-mapping sync** (`../shared/seeds/x86-lockless-pgd-alloc-2015.txt`):
//! a fork or an exit on CPU0 while CPU1 adds a kernel top-level entry and copies it into every
//! process pgd. x86 only (and x86-PAE, where the copy is a pmd entry in each mm's private
//! kernel pmd); other architectures share one kernel root and show `n/a`.
//!
//! Two scenarios, one per protocol, so that each guard is a step of the protocol it is
//! switched off in: `pgd-alloc-vs-sync` is mainline (`pgd_list` under `pgd_lock`);
//! `pgd-alloc-lockless-vs-sync` is Ingo Molnar's 2015 series (never merged), whose `correct` is
//! its v3 and whose variants are v1, v2 and the steps between.
//!
//! Initial state: `swapper_pg_dir` without the new entry; process B (task B, mm B) on the task
//! list and, in mainline, its pgd on `pgd_list`, its kernel slot empty like the reference's.
//!
//! CPU0 runs one of two paths, a data choice:
//! - default: `copy_process` of a child with a new mm A (`pgd_alloc`, `tsk->mm = mm`,
//!   `list_add_tail_rcu`, and in the series `arch_pgd_init_late`);
//! - task alternative 1: `do_exit` of B's last thread (`exit_mm`, then `__mmdrop` ->
//!   `pgd_free`).
//!
//! CPU1 populates the reference (`p4d_populate_kernel` into `swapper_pg_dir` on x86-64, a
//! vmalloc pte table into `swapper_pg_dir`'s kernel pmd on PAE) and syncs it into every pgd:
//! `sync_global_pgds` / `arch_sync_kernel_mappings`, over `pgd_list` (mainline) or the task list
//! (the 2015 series).
//!
//! What must hold: once both CPUs are done, every live pgd (mm A after a fork, mm B unless it
//! exited) holds the reference's kernel entry, since no later sync will add it (a `missed`
//! sync: that process runs without the kernel mapping for ever); no write to a freed pgd
//! (`uaf`); no leak.
//!
//! The series' v2 race is store buffering: the fork stores the task-list link then loads
//! `swapper_pg_dir`, the sync stores `swapper_pg_dir` then loads the link, and only a full
//! barrier on both sides forbids both loads missing the other store. `smp_wmb` (v2) orders
//! stores against stores only: its removal changes nothing (`init-late-wmb` in the necessity
//! report), and v3's `smp_mb` with x86's fully ordered `spin_lock` is what closes it. Only loom
//! finds these (`kind(weak)`): no sequentially consistent schedule has them.
//!
//! Two model threads: explored exhaustively by loom.

use crate::kernel::fork::{copy_process, do_exit, Process};
use crate::kernel::x86_pgd::{populate_and_sync, KernelPgds};
use crate::scenario::{Applies, GuardDoc, Scenario, Setup, Variant};
use ptcheck_arch::{ArchPolicy, KernelPgdSync};
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{
    run_cpus, Choice, Ctx, Entry, Guards, Level, Program, Violation, WorldBuilder,
};
use std::sync::Arc;

/// Data choice: what CPU0 runs.
pub const TASK: Choice = Choice {
    name: "task",
    options: &[
        "copy_process (fork of mm A)",
        "do_exit (B's last thread: exit_mm, __mmdrop)",
    ],
};

const MAINLINE_GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::PGD_CTOR_LOCK,
        step: "spin_lock(&pgd_lock) around pgd_ctor (clone_pgd_range, pgd_list_add) and \
               pgd_prepopulate_pmd in pgd_alloc",
        why: "the copy of the reference and the list_add are one section: a sync that runs \
              between an unlocked copy (which read the entry absent) and the list_add misses the \
              new pgd",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::PGD_DTOR_LOCK,
        step: "spin_lock(&pgd_lock) around pgd_list_del in pgd_dtor, before _pgd_free",
        why: "a sync holding pgd_lock found the pgd on the list; an unlocked list_del lets the \
              exit free the pgd while the sync still writes it",
        redundant: None,
    },
];

const MAINLINE_VARIANTS: &[Variant] = &[
    Variant {
        name: "correct",
        about: "mainline: pgd_list under pgd_lock in pgd_alloc, pgd_free and the sync",
        off: Guards::empty(),
    },
    Variant {
        name: "pgd-ctor-unlocked",
        about: "pgd_alloc copies the reference and adds the pgd to pgd_list without pgd_lock",
        off: Guards::PGD_CTOR_LOCK,
    },
    Variant {
        name: "pgd-dtor-unlocked",
        about: "pgd_dtor removes the pgd from pgd_list without pgd_lock",
        off: Guards::PGD_DTOR_LOCK,
    },
];

const LOCKLESS_GUARDS: &[GuardDoc] = &[
    GuardDoc {
        guard: Guards::TASK_LOCK_MM,
        step: "task_lock(p) around the read of p->mm and the use of mm->pgd in the series' \
               sync (v2; v3's find_lock_task_mm)",
        why: "exit_mm clears p->mm under task_lock before mmput can free the mm: without it (v1) \
              the sync reads p->mm, the exit frees the pgd, and the sync writes the freed pgd",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::INIT_LATE_AFTER_PUBLISH,
        step: "arch_pgd_init_late(p->mm) after write_unlock_irq(&tasklist_lock) in copy_process",
        why: "copied before the task is on the task list, the reference can gain an entry that \
              the sync then copies into every task it finds, and the new mm is not among them",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::INIT_LATE_MB,
        step: "smp_mb() at the top of arch_pgd_init_late (v3; v2 had smp_wmb)",
        why: "orders the task-list store before the load of swapper_pg_dir: with the sync's full \
              barrier, one of the two sides sees the other's store (store buffering)",
        redundant: None,
    },
    GuardDoc {
        guard: Guards::INIT_LATE_WMB,
        step: "smp_wmb() at the top of v2's arch_pgd_init_late",
        why: "v2's barrier: it orders the publication before later stores, not before the load \
              of swapper_pg_dir that races with the sync",
        redundant: Some(
            "v3 has no smp_wmb (its smp_mb covers it: no-wmb is v3, vacuous), and in v2 it orders \
             store against store while the race is a store then a load on each side (store \
             buffering): v2 and v2-no-wmb miss the sync alike under weak memory, and under \
             sequential consistency neither does",
        ),
    },
    GuardDoc {
        guard: Guards::SYNC_FULL_BARRIER,
        step: "spin_lock(&pgd_lock) in the series' sync is a full barrier on x86 (a LOCK-prefixed \
               RMW; v3: \"make sure this is an smp_mb()\")",
        why: "the other half of the store-buffering pair: the sync's store to swapper_pg_dir \
              must be ordered before its loads of the task list, or a fork that published its \
              task and read the reference as absent is missed by a sync that does not see it",
        redundant: None,
    },
];

const LOCKLESS_VARIANTS: &[Variant] = &[
    Variant {
        name: "correct",
        about: "the series' v3 (2015-09-22): no pgd_list; the sync walks the task list with \
                find_lock_task_mm under pgd_lock (a full barrier on x86); arch_pgd_init_late \
                after the task is published, smp_mb()",
        off: Guards::empty(),
    },
    Variant {
        name: "no-task-lock",
        about: "v3 reading p->mm without task_lock",
        off: Guards::TASK_LOCK_MM,
    },
    Variant {
        name: "init-early",
        about: "v3 with arch_pgd_init_late before the task is on the task list",
        off: Guards::INIT_LATE_AFTER_PUBLISH,
    },
    Variant {
        name: "no-sync-barrier",
        about: "v3 where the sync's spin_lock is not a full barrier (v3's warning for a port \
                away from x86)",
        off: Guards::SYNC_FULL_BARRIER,
    },
    Variant {
        name: "no-wmb",
        about: "v3 without an smp_wmb it does not have (the switch v2-no-wmb makes, on v3)",
        off: Guards::INIT_LATE_WMB,
    },
    Variant {
        name: "v2",
        about: "the series' v2 (the seed, 2015-06-13): task_lock around p->mm, \
                arch_pgd_init_late after the task is published, smp_wmb()",
        off: Guards::INIT_LATE_MB,
    },
    Variant {
        name: "v2-no-wmb",
        about: "v2 without the smp_wmb() in arch_pgd_init_late",
        off: Guards::INIT_LATE_MB.union(Guards::INIT_LATE_WMB),
    },
    Variant {
        name: "v2-init-early",
        about: "v2 with arch_pgd_init_late before the task is on the task list",
        off: Guards::INIT_LATE_MB.union(Guards::INIT_LATE_AFTER_PUBLISH),
    },
    Variant {
        name: "v1",
        about: "the series' v1 (June 2015): p->mm read without task_lock, smp_wmb()",
        off: Guards::INIT_LATE_MB.union(Guards::TASK_LOCK_MM),
    },
];

/// Where the protocol exists.
const X86_ONLY: Applies = Applies {
    to: |p| p.kernel_pgd_sync != KernelPgdSync::NotApplicable,
    why_not: "only x86 keeps a copy of the kernel's top-level entries in every process pgd \
              (pgd_list); the others map the kernel through a root every process shares",
};

/// Mainline.
pub const PGD_ALLOC_SYNC: Scenario = Scenario {
    name: "pgd-alloc-vs-sync",
    about: "fork's pgd_alloc or exit's pgd_free while a new kernel top-level entry is synced \
            into every pgd on pgd_list (mainline)",
    source: "x86-lockless-pgd-alloc-2015.txt",
    cpus: &[
        "CPU0: copy_process (pgd_alloc: pgd_ctor, pgd_list_add under pgd_lock) or do_exit \
         (exit_mm, __mmdrop -> pgd_free: pgd_dtor)",
        "CPU1: p4d_populate_kernel into swapper_pg_dir, then sync_global_pgds over pgd_list \
         (PAE: pmd_populate_kernel, then arch_sync_kernel_mappings -> vmalloc_sync_one)",
    ],
    guards: MAINLINE_GUARDS,
    absent: &[],
    variants: MAINLINE_VARIANTS,
    loom_bound: None,
    run: |s| run(s, true),
    applies: X86_ONLY,
    own_guards: &[],
    findings: &[],
};

/// The 2015 lockless series.
pub const PGD_ALLOC_LOCKLESS: Scenario = Scenario {
    name: "pgd-alloc-lockless-vs-sync",
    about: "the 2015 lockless pgd_alloc series (never merged): fork publishes the task, then \
            arch_pgd_init_late copies the kernel entries; the sync walks the task list",
    source: "x86-lockless-pgd-alloc-2015.txt",
    cpus: &[
        "CPU0: copy_process (pgd_alloc without pgd_lock, tsk->mm, list_add_tail_rcu, \
         arch_pgd_init_late) or do_exit (exit_mm, __mmdrop -> pgd_free)",
        "CPU1: p4d_populate_kernel into swapper_pg_dir, then sync_global_pgds over the task \
         list under pgd_lock (PAE: arch_sync_kernel_mappings)",
    ],
    guards: LOCKLESS_GUARDS,
    absent: &[],
    variants: LOCKLESS_VARIANTS,
    loom_bound: None,
    run: |s| run(s, false),
    applies: X86_ONLY,
    own_guards: &[],
    findings: &[],
};

/// The frames of the scenario's initial state, before the execution's locks exist: process B
/// (on the task list and, in mainline, on `pgd_list`) and, when CPU0 forks, process A's
/// not yet allocated task and pgd. Public so that other views (`ptcheck cost --pgd`) run the
/// same kernel paths on the same state.
pub struct PgdFrames {
    swapper: ptcheck_model::FrameId,
    ref_kpmd: Option<ptcheck_model::FrameId>,
    new_table: ptcheck_model::FrameId,
    pgd_list: ptcheck_model::FrameId,
    tasks: ptcheck_model::FrameId,
    b: (
        ptcheck_model::FrameId,
        ptcheck_model::FrameId,
        Option<ptcheck_model::FrameId>,
    ),
    a: Option<(
        ptcheck_model::FrameId,
        ptcheck_model::FrameId,
        Option<ptcheck_model::FrameId>,
    )>,
    mainline: bool,
    level: KernelPgdSync,
}

impl PgdFrames {
    /// Lay out the initial state in `b` for `policy`, mainline or the series, with process A
    /// when `fork`.
    pub fn new(b: &mut WorldBuilder, policy: &ArchPolicy, mainline: bool, fork: bool) -> Self {
        let pae = policy.kernel_pgd_sync == KernelPgdSync::PrivateKernelPmd;
        let swapper = b.named_table(Level::Pgd, 1, "swapper_pg_dir");
        let ref_kpmd = pae.then(|| b.named_table(Level::Pmd, 1, "swapper_pg_dir: kernel PMD"));
        let new_table = if pae {
            b.named_table(Level::Pte, 1, "vmalloc PT")
        } else {
            b.named_table(Level::Pud, 1, "hot-added PUD")
        };
        let pgd_list = b.object("pgd_list", 2);
        let tasks = b.object("task list", 2);
        let task_b = b.object("task B", 1);
        let pgd_b = b.named_table(Level::Pgd, 1, "mm B: pgd");
        let kpmd_b = pae.then(|| b.named_table(Level::Pmd, 1, "mm B: kernel PMD"));
        let a = fork.then(|| {
            (
                b.object("task A", 1),
                b.named_table(Level::Pgd, 1, "mm A: pgd"),
                pae.then(|| b.named_table(Level::Pmd, 1, "mm A: kernel PMD")),
            )
        });
        if let (Some(r), Some(k)) = (ref_kpmd, kpmd_b) {
            b.set(swapper, 0, Entry::table(r));
            b.set(pgd_b, 0, Entry::table(k));
        }
        if mainline {
            b.set(pgd_list, 0, Entry::table(pgd_b));
        }
        b.set(tasks, 0, Entry::table(task_b));
        b.set(task_b, 0, Entry::table(pgd_b));
        PgdFrames {
            swapper,
            ref_kpmd,
            new_table,
            pgd_list,
            tasks,
            b: (task_b, pgd_b, kpmd_b),
            a,
            mainline,
            level: policy.kernel_pgd_sync,
        }
    }

    /// The kernel state and the processes (B, then A if forking), with their locks: call inside
    /// the execution, after the world is built.
    pub fn start(&self) -> (Arc<KernelPgds>, Arc<Vec<Process>>) {
        let k = KernelPgds {
            swapper: self.swapper,
            ref_kpmd: self.ref_kpmd,
            new_table: self.new_table,
            pgd_list: self.pgd_list,
            mainline: self.mainline,
            tasks: self.tasks,
            pgd_lock: SpinLock::new("pgd_lock"),
            level: self.level,
        };
        let process = |(task, pgd, kpmd), slot, names: [&'static str; 2]| Process {
            task,
            pgd,
            kpmd,
            slot,
            task_lock: SpinLock::new(names[0]),
            page_table_lock: SpinLock::new(names[1]),
        };
        let mut procs = vec![process(
            self.b,
            0,
            ["task_lock(B)", "mm B->page_table_lock"],
        )];
        if let Some(a) = self.a {
            procs.push(process(a, 1, ["task_lock(A)", "mm A->page_table_lock"]));
        }
        (Arc::new(k), Arc::new(procs))
    }

    /// The roots of the leak check.
    pub fn roots(&self) -> [ptcheck_model::FrameId; 3] {
        [self.swapper, self.tasks, self.pgd_list]
    }
}

fn run(s: &Setup, mainline: bool) {
    let mut b = s.world(2);
    let exit = b.pick(TASK) == 1;
    let frames = PgdFrames::new(&mut b, s.policy, mainline, !exit);
    let w = b.build();
    let (k, procs) = frames.start();
    w.cost(|c| c.pgd_lock_counted = true);
    let (k0, p0) = (k.clone(), procs.clone());
    let (k1, p1) = (k.clone(), procs.clone());
    let progs: Vec<Program> = vec![
        Box::new(move |c: &Ctx| {
            if exit {
                do_exit(c, &k0, &p0[0]);
            } else {
                copy_process(c, &k0, &p0[1]);
            }
        }),
        Box::new(move |c: &Ctx| populate_and_sync(c, &k1, &p1)),
    ];
    run_cpus(&w, progs);
    let r = k.final_reference(&w);
    for p in procs.iter().filter(|p| !(exit && p.slot == 0)) {
        let (t, v) = k.final_slot(&w, p.pgd);
        if v != r {
            let slot = t.map_or(format!("{} (no kernel pmd linked)", w.name(p.pgd)), |t| {
                format!("{}[0]", w.name(t))
            });
            ptcheck_model::violation::raise(Violation::MissedSync {
                detail: format!(
                    "both CPUs are done and the kernel slot {slot} is {}, while the reference \
                     holds {}: the process runs without the new kernel mapping, and no later \
                     sync will add it (kernel entries are added once, never again)",
                    w.show(v),
                    w.show(r)
                ),
            });
        }
    }
    w.check_no_leak(&frames.roots());
}
