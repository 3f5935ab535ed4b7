//! x86's per-process copies of the kernel's top-level entries: `pgd_alloc` / `pgd_free`
//! (arch/x86/mm/pgtable.c), the sync of a new kernel entry into every pgd
//! (`sync_global_pgds`, arch/x86/mm/init_64.c; `arch_sync_kernel_mappings` ->
//! `vmalloc_sync_one`, arch/x86/mm/fault.c for 32-bit PAE), and the lockless alternative of
//! Ingo Molnar's 2015 series (`arch_pgd_init_late`, the sync walking the task list), never
//! merged (`../shared/seeds/x86-lockless-pgd-alloc-2015.txt`).
//!
//! Every process pgd must hold every kernel top-level entry of `swapper_pg_dir`: the kernel
//! runs on whatever pgd is loaded. Kernel entries are only ever added, never cleared; a new one
//! (memory hot-add of the direct map, `vmemmap_populate`, a vmalloc page table on 32-bit) is
//! written to the reference first, then copied into every pgd. Mainline finds the pgds on
//! `pgd_list`, and `pgd_alloc` copies the reference and adds the pgd to the list in one
//! `pgd_lock` section, so each sync either sees the new pgd or ran before its copy. The
//! series removed `pgd_list` (and `pgd_lock` from fork and exit): the sync walks the task list
//! and a new mm copies the reference only after its task is on that list.
//!
//! The model keeps one kernel slot: entry 0 of each pgd frame stands for the slot
//! `pgd_index(addr)` of the new mapping (on PAE, entry 0 of the pgd points to the mm's kernel
//! pmd and entry 0 of that pmd stands for `pmd_index(addr)`). `mm_struct` and its pgd are one
//! object: `mm->pgd` never changes, and `__mmdrop` frees both.

use super::fork::Process;
use ptcheck_arch::KernelPgdSync;
use ptcheck_model::ordering::{smp_mb, smp_wmb, Ordering, ONCE};
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{Ctx, Entry, FrameId, Guards, Violation};

/// The kernel's reference page tables and the global sync state.
pub struct KernelPgds {
    /// `swapper_pg_dir` (`init_mm.pgd`); on PAE its entry 0 points to `ref_kpmd`.
    pub swapper: FrameId,
    /// PAE: the kernel pmd of `swapper_pg_dir` whose entry the sync copies.
    pub ref_kpmd: Option<FrameId>,
    /// The new kernel table the mapping change installs (a p4d/pud of the hot-added direct
    /// map on x86-64, a vmalloc pte table on PAE).
    pub new_table: FrameId,
    /// `pgd_list`: one word per process, the pgd linked through its `ptdesc`.
    pub pgd_list: FrameId,
    /// Mainline (`pgd_list` under `pgd_lock`), or the 2015 series (no `pgd_list`; the sync
    /// walks the task list, `arch_pgd_init_late` copies the reference).
    pub mainline: bool,
    /// `init_task.tasks` (the series' walk): one word per process, its `task_struct`.
    pub tasks: FrameId,
    /// `pgd_lock`.
    pub pgd_lock: SpinLock,
    pub level: KernelPgdSync,
}

impl KernelPgds {
    /// Where the kernel slot of a pgd is: `(table, entry)` (x86-64: the pgd itself; PAE: the
    /// kernel pmd its entry 0 points to, read as `vmalloc_sync_one` does).
    fn slot(&self, c: &Ctx, pgd: FrameId, func: &'static str) -> Option<FrameId> {
        match self.level {
            KernelPgdSync::PrivateKernelPmd => {
                let e = c.load(pgd, 0, ONCE, func);
                e.is_table().then(|| e.pfn())
            }
            _ => Some(pgd),
        }
    }

    /// The reference entry a sync or a copy reads: `swapper_pg_dir[i]` (x86-64) or the
    /// kernel pmd's entry (PAE).
    fn reference(&self, c: &Ctx, func: &'static str) -> Entry {
        let t = self.ref_kpmd.unwrap_or(self.swapper);
        c.load(t, 0, ONCE, func)
    }

    /// The value every live pgd's kernel slot must hold at the end, and the table holding it.
    pub fn final_reference(&self, w: &ptcheck_model::World) -> Entry {
        w.final_entry(self.ref_kpmd.unwrap_or(self.swapper), 0)
    }

    /// A live pgd's kernel slot at the end: the table that holds it (`None`: PAE, no kernel
    /// pmd linked) and its value.
    pub fn final_slot(&self, w: &ptcheck_model::World, pgd: FrameId) -> (Option<FrameId>, Entry) {
        match self.level {
            KernelPgdSync::PrivateKernelPmd => {
                let e = w.final_entry(pgd, 0);
                if e.is_table() {
                    (Some(e.pfn()), w.final_entry(e.pfn(), 0))
                } else {
                    (None, Entry::NONE)
                }
            }
            _ => (Some(pgd), w.final_entry(pgd, 0)),
        }
    }
}

/// `pgd_alloc(mm)` on the fork path: the new pgd (a zeroed page) gets its kernel part. Mainline:
/// under `pgd_lock`, `pgd_ctor` (`clone_pgd_range` from `swapper_pg_dir`, `pgd_list_add`) and on
/// PAE `pgd_prepopulate_pmd` (copy `swapper_pg_dir`'s kernel pmd into the mm's own). The series:
/// no lock, no list; the kernel part stays zero (x86-64) for `arch_pgd_init_late`, while PAE's
/// private kernel pmds are still filled here (its `arch_pgd_init_late` skips
/// `CONFIG_PGTABLE_LEVELS == 3 && !SHARED_KERNEL_PMD`).
pub fn pgd_alloc(c: &Ctx, k: &KernelPgds, p: &Process) {
    const F: &str = "pgd_alloc";
    if !k.mainline {
        c.note(
            F,
            "kernel part zeroed, no pgd_lock, no pgd_list (the series)",
        );
        if k.level == KernelPgdSync::PrivateKernelPmd {
            pgd_prepopulate_pmd(c, k, p);
        }
        return;
    }
    let locked = c.guard(Guards::PGD_CTOR_LOCK);
    if locked {
        c.world.cost(|k| k.pgd_lock_fork += 1);
        c.spin_lock(&k.pgd_lock, F);
    }
    pgd_ctor(c, k, p);
    if k.level == KernelPgdSync::PrivateKernelPmd {
        pgd_prepopulate_pmd(c, k, p);
    }
    if locked {
        c.spin_unlock(&k.pgd_lock, F);
    }
}

/// `pgd_ctor`: `clone_pgd_range` of the kernel slots (not on PAE: "PAE preallocates all its
/// PMDs. No cloning needed."), `pgd_set_mm`, `pgd_list_add`.
fn pgd_ctor(c: &Ctx, k: &KernelPgds, p: &Process) {
    if k.level != KernelPgdSync::PrivateKernelPmd {
        copy_reference(c, k, p.pgd, "pgd_ctor (clone_pgd_range)");
    }
    c.store(
        k.pgd_list,
        p.slot,
        Entry::table(p.pgd),
        ONCE,
        "pgd_list_add",
    );
}

/// `pgd_prepopulate_pmd` (PAE): the mm's preallocated kernel pmd gets the contents of
/// `swapper_pg_dir`'s (`memcpy`), then is linked into the pgd (`pud_populate`).
fn pgd_prepopulate_pmd(c: &Ctx, k: &KernelPgds, p: &Process) {
    let kpmd = p.kpmd.expect("PAE process has a kernel pmd");
    copy_reference(c, k, kpmd, "pgd_prepopulate_pmd (memcpy)");
    c.store(
        p.pgd,
        0,
        Entry::table(kpmd),
        ONCE,
        "pgd_prepopulate_pmd (pud_populate)",
    );
}

/// Copy the reference entry into `dst[0]` if it is present (the copy of a none entry is a no-op
/// on a zeroed page).
fn copy_reference(c: &Ctx, k: &KernelPgds, dst: FrameId, func: &'static str) {
    let e = k.reference(c, func);
    if e.is_none() {
        c.note(func, "reference entry none: nothing to copy");
    } else {
        c.store(dst, 0, e, ONCE, func);
    }
}

/// The series' `arch_pgd_init_late(mm)`, called by `copy_process` after the task is on the
/// task list: a barrier (`smp_mb` in v3, `smp_wmb` in v2), then copy every present kernel
/// slot of `swapper_pg_dir` (`set_pgd`). Does nothing on PAE with private kernel pmds.
pub fn arch_pgd_init_late(c: &Ctx, k: &KernelPgds, p: &Process) {
    const F: &str = "arch_pgd_init_late";
    if c.guard(Guards::INIT_LATE_MB) {
        smp_mb();
        c.note(F, "smp_mb()");
    } else if c.guard(Guards::INIT_LATE_WMB) {
        smp_wmb();
        c.note(F, "smp_wmb()");
    }
    if k.level == KernelPgdSync::PrivateKernelPmd {
        c.note(
            F,
            "CONFIG_PGTABLE_LEVELS == 3 && !SHARED_KERNEL_PMD: nothing to do (copied at pgd_alloc)",
        );
        return;
    }
    copy_reference(c, k, p.pgd, "arch_pgd_init_late (set_pgd)");
}

/// `pgd_free(mm, pgd)` from `__mmdrop`: mainline `pgd_dtor` (`pgd_list_del` under `pgd_lock`),
/// then on PAE `pgd_mop_up_pmds` frees the kernel pmd, then `_pgd_free`. The series has no
/// `pgd_dtor`.
pub fn pgd_free(c: &Ctx, k: &KernelPgds, p: &Process) {
    if k.mainline {
        let locked = c.guard(Guards::PGD_DTOR_LOCK);
        if locked {
            c.world.cost(|k| k.pgd_lock_exit += 1);
            c.spin_lock(&k.pgd_lock, "pgd_dtor");
        }
        c.store(k.pgd_list, p.slot, Entry::NONE, ONCE, "pgd_list_del");
        if locked {
            c.spin_unlock(&k.pgd_lock, "pgd_dtor");
        }
    }
    if let Some(kpmd) = p.kpmd {
        c.free(kpmd, "pgd_mop_up_pmds (pmd_free)");
    }
    c.free(p.pgd, "_pgd_free");
}

/// The kernel-mapping change on the syncing CPU: the new table goes into the reference
/// (`p4d_populate_kernel` / `pgd_populate(&init_mm, ...)` under `init_mm.page_table_lock` on
/// x86-64; `pmd_populate_kernel` into `swapper_pg_dir`'s kernel pmd on PAE), then the sync.
pub fn populate_and_sync(c: &Ctx, k: &KernelPgds, procs: &[Process]) {
    let (t, func) = match k.ref_kpmd {
        Some(kpmd) => (kpmd, "pmd_populate_kernel (init_mm)"),
        None => (k.swapper, "p4d_populate_kernel (init_mm)"),
    };
    c.store(t, 0, Entry::table(k.new_table), ONCE, func);
    if k.level == KernelPgdSync::PrivateKernelPmd {
        arch_sync_kernel_mappings(c, k, procs);
    } else {
        sync_global_pgds(c, k, procs);
    }
}

/// `sync_global_pgds` (x86-64, `sync_global_pgds_l4`): if the reference slot is present, copy
/// it into every pgd that lacks it.
pub fn sync_global_pgds(c: &Ctx, k: &KernelPgds, procs: &[Process]) {
    const F: &str = "sync_global_pgds";
    let r = k.reference(c, F);
    if r.is_none() {
        return;
    }
    for_each_pgd(c, k, procs, F, |pgd, slot| {
        let v = c.load(slot, 0, ONCE, F);
        if !v.is_none() && v != r {
            bug_on(c, F, pgd, v, r);
        }
        if v.is_none() {
            c.store(slot, 0, r, ONCE, "sync_global_pgds (set_p4d)");
        }
    });
}

/// `arch_sync_kernel_mappings` (32-bit): `vmalloc_sync_one(pgd, addr)` for every pgd:
/// `if (pmd_present(*pmd) != pmd_present(*pmd_k)) set_pmd(pmd, *pmd_k)`.
pub fn arch_sync_kernel_mappings(c: &Ctx, k: &KernelPgds, procs: &[Process]) {
    const F: &str = "vmalloc_sync_one";
    for_each_pgd(c, k, procs, "arch_sync_kernel_mappings", |pgd, slot| {
        let r = k.reference(c, F);
        let v = c.load(slot, 0, ONCE, F);
        if v.is_present() != r.is_present() {
            c.store(slot, 0, r, ONCE, "vmalloc_sync_one (set_pmd)");
        } else if r.is_present() && v != r {
            bug_on(c, F, pgd, v, r);
        }
    });
}

/// `BUG_ON(p4d_pgtable(*p4d) != p4d_pgtable(*p4d_ref))`: a pgd whose kernel slot holds another
/// table than the reference's.
fn bug_on(c: &Ctx, func: &'static str, pgd: FrameId, v: Entry, r: Entry) {
    let w = &c.world;
    ptcheck_model::violation::raise(Violation::MissedSync {
        detail: format!(
            "BUG_ON in {func}: the kernel slot of {} holds {}, the reference {}",
            w.name(pgd),
            w.show(v),
            w.show(r)
        ),
    });
}

/// Run `f(pgd, table holding its kernel slot)` for every pgd the sync finds, under `pgd_lock`:
/// mainline walks `pgd_list` and takes `pgd_page_get_mm(page)->page_table_lock` per pgd; the
/// series walks the task list (`for_each_process` under `rcu_read_lock`, v3) and, with
/// `task_lock(p)` held (v2, v3), reads `p->mm`, then takes its `page_table_lock`.
fn for_each_pgd(
    c: &Ctx,
    k: &KernelPgds,
    procs: &[Process],
    func: &'static str,
    mut f: impl FnMut(FrameId, FrameId),
) {
    c.spin_lock(&k.pgd_lock, func);
    let list = k.mainline;
    if !list && c.guard(Guards::SYNC_FULL_BARRIER) {
        // x86's spin_lock is a LOCK-prefixed RMW: a full barrier (v3's comment).
        smp_mb();
        c.note(func, "spin_lock(pgd_lock) is a full barrier (x86 LOCK)");
    }
    // Under the mm's page_table_lock (`pgd_page_get_mm(page)->page_table_lock`, "only for Xen").
    let mut sync_one = |p: &Process, pgd: FrameId| {
        c.spin_lock(&p.page_table_lock, func);
        if let Some(slot) = k.slot(c, pgd, func) {
            f(pgd, slot);
        }
        c.spin_unlock(&p.page_table_lock, func);
    };
    for p in procs {
        if list {
            let e = c.load(k.pgd_list, p.slot, ONCE, "list_for_each_entry(pgd_list)");
            if e.is_table() {
                sync_one(p, e.pfn());
            }
            continue;
        }
        let t = c.load(
            k.tasks,
            p.slot,
            Ordering::Acquire,
            "for_each_process (rcu_dereference)",
        );
        if !t.is_table() {
            continue;
        }
        let locked = c.guard(Guards::TASK_LOCK_MM);
        if locked {
            c.spin_lock(&p.task_lock, "find_lock_task_mm (task_lock)");
        }
        let mm = c.load(p.task, 0, ONCE, "find_lock_task_mm (p->mm)");
        if mm.is_table() {
            sync_one(p, mm.pfn());
        }
        if locked {
            c.spin_unlock(&p.task_lock, "task_unlock");
        }
    }
    c.spin_unlock(&k.pgd_lock, func);
}
