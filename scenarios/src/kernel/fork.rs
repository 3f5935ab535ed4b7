//! A process's address space being created and torn down: `copy_process` -> `copy_mm` ->
//! `dup_mm` -> `mm_init` -> `mm_alloc_pgd` -> `pgd_alloc` (kernel/fork.c), and `do_exit` ->
//! `exit_mm` -> `mmput` -> `__mmput` -> `mmdrop` -> `__mmdrop` -> `mm_free_pgd` -> `pgd_free`
//! (kernel/exit.c, kernel/fork.c).
//!
//! What the kernel-mapping sync depends on: a new task becomes visible on the task list by
//! `list_add_tail_rcu(&p->tasks, &init_task.tasks)` under `tasklist_lock` (a release store),
//! after `p->mm = mm` (plain store in `copy_mm`); `exit_mm` clears `current->mm` under
//! `task_lock(current)` before `mmput` can free the mm, so a walker that reads `p->mm` under
//! `task_lock(p)` (`find_lock_task_mm`, `get_task_mm`) never uses a freed mm.

use super::x86_pgd::{arch_pgd_init_late, pgd_alloc, pgd_free, KernelPgds};
use ptcheck_model::ordering::{ONCE, PUBLISH};
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::{Ctx, Entry, FrameId, Guards};

/// A process (one thread): its `task_struct` and its mm.
pub struct Process {
    /// The `task_struct`: word 0 is `->mm` (a pointer to the mm, i.e. its pgd).
    pub task: FrameId,
    /// `mm->pgd` (the model's stand-in for the whole `mm_struct`).
    pub pgd: FrameId,
    /// PAE: the mm's private kernel pmd (preallocated by `pgd_alloc`).
    pub kpmd: Option<FrameId>,
    /// Its word in `pgd_list` and in the task list.
    pub slot: usize,
    /// `task_lock(p)` (`p->alloc_lock`).
    pub task_lock: SpinLock,
    /// `mm->page_table_lock`.
    pub page_table_lock: SpinLock,
}

/// `copy_process` of a child with a new mm (fork without `CLONE_VM`): `pgd_alloc` in
/// `dup_mm`, `p->mm = mm` in `copy_mm`, the task published on the task list, then (the series)
/// `arch_pgd_init_late(p->mm)`. With `init-late-after-publish` off the series' copy runs
/// before the task is visible.
pub fn copy_process(c: &Ctx, k: &KernelPgds, p: &Process) {
    pgd_alloc(c, k, p);
    let lockless = !k.mainline;
    let late = lockless && c.guard(Guards::INIT_LATE_AFTER_PUBLISH);
    if lockless && !late {
        arch_pgd_init_late(c, k, p);
    }
    c.store(
        p.task,
        0,
        Entry::table(p.pgd),
        ONCE,
        "copy_mm (tsk->mm = mm)",
    );
    c.note("copy_process", "write_lock_irq(&tasklist_lock)");
    c.store(
        k.tasks,
        p.slot,
        Entry::table(p.task),
        PUBLISH,
        "copy_process (list_add_tail_rcu)",
    );
    c.note("copy_process", "write_unlock_irq(&tasklist_lock)");
    if late {
        arch_pgd_init_late(c, k, p);
    }
}

/// `do_exit` of the mm's last user: `exit_mm` (`current->mm = NULL` under `task_lock`), then
/// `mmput` -> `__mmput` -> `mmdrop` -> `__mmdrop` -> `pgd_free` (the lazy-TLB reference
/// dropped at once; the task stays on the task list until `release_task`).
pub fn do_exit(c: &Ctx, k: &KernelPgds, p: &Process) {
    c.spin_lock(&p.task_lock, "exit_mm (task_lock)");
    c.store(p.task, 0, Entry::NONE, ONCE, "exit_mm (current->mm = NULL)");
    c.spin_unlock(&p.task_lock, "exit_mm (task_unlock)");
    c.note("mmput", "mm_users 1 -> 0: __mmput, mmdrop -> __mmdrop");
    pgd_free(c, k, p);
}
