//! Litmus tests of the model's primitives, run through the same explorers as the scenarios.
//!
//! Each primitive is shown both ways: the outcome it must make impossible is never reached
//! (exhaustively, under loom's C11 model), and the same test without the primitive reaches it.
//! A scenario may rely on a primitive only once it passes here (the project's standards).

use ptcheck_checks::{explore, Body, Budget, Explorer};
use ptcheck_model::ordering::{smp_mb, DEP, ONCE};
use ptcheck_model::rt::{Atomic, Ordering};
use ptcheck_model::violation::{raise, Violation};
use ptcheck_model::{
    run_cpus, Ctx, Entry, Guards, Level, Program, RcuFlavour, ViolationKind, WorldBuilder,
};
use std::sync::Arc;

const EXHAUSTIVE: Explorer = Explorer::Loom { bound: None };

fn pct() -> Explorer {
    Explorer::Pct {
        seed: 7,
        depth: 3,
        iterations: 2_000,
    }
}

/// Run `body` and return the violation kind found, asserting full coverage when none is.
fn verdict(explorer: &Explorer, body: Body) -> Option<ViolationKind> {
    let o = explore(explorer, Budget::default(), body);
    assert!(o.executions > 0, "no execution ran");
    assert!(o.complete, "ran out of budget: {}", o.coverage());
    o.finding.map(|f| {
        f.kind()
            .unwrap_or_else(|| panic!("model error: {:?}", f.failure))
    })
}

fn forbidden(detail: &str) -> ! {
    raise(Violation::ForbiddenOutcome {
        detail: detail.into(),
    })
}

/// Store buffering: x = 1; [mb]; r1 = y  ||  y = 1; [mb]; r2 = x. Forbidden: r1 = r2 = 0.
fn store_buffering(mb: bool) -> Body {
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let x = Arc::new(Atomic::new(0));
        let y = Arc::new(Atomic::new(0));
        let r = Arc::new([Atomic::new(9), Atomic::new(9)]);
        let prog =
            |mine: Arc<Atomic>, theirs: Arc<Atomic>, slot: usize, r: Arc<[Atomic; 2]>| -> Program {
                Box::new(move |_: &Ctx| {
                    mine.store(1, ONCE);
                    if mb {
                        smp_mb();
                    }
                    r[slot].store(theirs.load(ONCE), Ordering::Relaxed);
                })
            };
        run_cpus(
            &w,
            vec![
                prog(x.clone(), y.clone(), 0, r.clone()),
                prog(y.clone(), x.clone(), 1, r.clone()),
            ],
        );
        if r[0].load(Ordering::Relaxed) == 0 && r[1].load(Ordering::Relaxed) == 0 {
            forbidden("store buffering: r1 = r2 = 0");
        }
    })
}

#[test]
fn store_buffering_with_smp_mb_never_reorders() {
    assert_eq!(verdict(&EXHAUSTIVE, store_buffering(true)), None);
}

#[test]
fn store_buffering_without_smp_mb_reorders() {
    assert_eq!(
        verdict(&EXHAUSTIVE, store_buffering(false)),
        Some(ViolationKind::ForbiddenOutcome)
    );
}

/// Message passing: data = 1; flag = 1 (release?)  ||  if flag (acquire?) then data must be 1.
fn message_passing(release_acquire: bool) -> Body {
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let data = Arc::new(Atomic::new(0));
        let flag = Arc::new(Atomic::new(0));
        let (st, ld) = if release_acquire {
            (Ordering::Release, Ordering::Acquire)
        } else {
            (Ordering::Relaxed, Ordering::Relaxed)
        };
        let (d0, f0) = (data.clone(), flag.clone());
        run_cpus(
            &w,
            vec![
                Box::new(move |_: &Ctx| {
                    d0.store(1, ONCE);
                    f0.store(1, st);
                }),
                Box::new(move |_: &Ctx| {
                    if flag.load(ld) == 1 && data.load(ONCE) == 0 {
                        forbidden("message passing: flag = 1 but data = 0");
                    }
                }),
            ],
        );
    })
}

#[test]
fn message_passing_with_release_acquire_never_sees_stale_data() {
    assert_eq!(verdict(&EXHAUSTIVE, message_passing(true)), None);
}

#[test]
fn message_passing_relaxed_sees_stale_data() {
    assert_eq!(
        verdict(&EXHAUSTIVE, message_passing(false)),
        Some(ViolationKind::ForbiddenOutcome)
    );
}

/// How the updater keeps the reader's table alive.
#[derive(Clone, Copy)]
enum Protect {
    /// `synchronize_rcu()` then free (the kernel's RCU+sync+free litmus test).
    SynchronizeRcu(RcuFlavour),
    /// `call_rcu()` with a callback that frees.
    CallRcu(RcuFlavour),
    /// `smp_call_function(.., wait=1)` then free (x86 TLB shootdown, `tlb_remove_table_one`).
    Ipi,
    /// An IPI to the given targets then free.
    IpiTo(ptcheck_model::IpiTargets),
    /// `synchronize_srcu(&vma_srcu)` then free.
    SynchronizeSrcu,
    /// `call_srcu(&vma_srcu)` with a callback that frees.
    CallSrcu,
    /// Free right after unlinking.
    Nothing,
}

/// How the reader protects its walk.
#[derive(Clone, Copy)]
enum Reader {
    RcuReadLock,
    /// `srcu_read_lock(&vma_srcu)`.
    SrcuReadLock,
    IrqOff,
    /// irq off, on a CPU outside the mm's `mm_cpumask`.
    IrqOffOutsideMask,
}

/// The updater unlinks table T from the root and frees it; the reader follows the root's
/// pointer (`rcu_dereference`) and reads T. Must never touch T after (or unordered with) its free.
fn unlink_then_free(reader: Reader, protect: Protect) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices);
        if matches!(reader, Reader::IrqOffOutsideMask) {
            b = b.outside_mm_cpumask(0);
        }
        let root = b.table(Level::Pmd, 1);
        let t = b.table(Level::Pte, 1);
        b.set(root, 0, Entry::table(t));
        let w = b.build();
        let s = Arc::new(ptcheck_model::srcu::Srcu::new("vma_srcu", 2));
        let s2 = s.clone();
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    match reader {
                        Reader::RcuReadLock => c.rcu_read_lock("reader"),
                        Reader::SrcuReadLock => c.srcu_read_lock(&s, "reader"),
                        Reader::IrqOff | Reader::IrqOffOutsideMask => c.local_irq_disable("reader"),
                    }
                    let p = c.load(root, 0, DEP, "reader");
                    if p.is_table() {
                        c.load(p.pfn(), 0, ONCE, "reader");
                    }
                    match reader {
                        Reader::RcuReadLock => c.rcu_read_unlock("reader"),
                        Reader::SrcuReadLock => c.srcu_read_unlock(&s, "reader"),
                        Reader::IrqOff | Reader::IrqOffOutsideMask => c.local_irq_enable("reader"),
                    }
                }),
                Box::new(move |c: &Ctx| {
                    c.store(root, 0, Entry::NONE, Ordering::Release, "updater");
                    c.world.mark_detached(t);
                    match protect {
                        Protect::SynchronizeRcu(f) => {
                            c.synchronize_rcu(f, "updater");
                            c.free(t, "updater");
                        }
                        Protect::CallRcu(f) => {
                            c.call_rcu(f, "updater", "free_cb", move |cb| cb.free(t, "free_cb"))
                        }
                        Protect::Ipi => {
                            c.ipi_all("updater");
                            c.free(t, "updater");
                        }
                        Protect::IpiTo(targets) => {
                            c.ipi(targets, "updater");
                            c.free(t, "updater");
                        }
                        Protect::SynchronizeSrcu => {
                            c.synchronize_srcu(&s2, "updater");
                            c.free(t, "updater");
                        }
                        Protect::CallSrcu => {
                            c.call_srcu(&s2, "updater", "free_cb", move |cb| cb.free(t, "free_cb"))
                        }
                        Protect::Nothing => c.free(t, "updater"),
                    }
                }),
            ],
        );
        w.check_no_leak(&[root]);
    })
}

const UAF: Option<ViolationKind> = Some(ViolationKind::UseAfterFree);

#[test]
fn rcu_sync_free_never_frees_under_a_reader() {
    let b = unlink_then_free(
        Reader::RcuReadLock,
        Protect::SynchronizeRcu(RcuFlavour::Consolidated),
    );
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), None);
    assert_eq!(verdict(&pct(), b), None);
}

#[test]
fn rcu_free_without_grace_period_is_found() {
    let b = unlink_then_free(Reader::RcuReadLock, Protect::Nothing);
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), UAF);
    assert_eq!(verdict(&pct(), b), UAF);
}

#[test]
fn call_rcu_callback_never_frees_under_a_reader() {
    let b = unlink_then_free(
        Reader::RcuReadLock,
        Protect::CallRcu(RcuFlavour::Consolidated),
    );
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), None);
    assert_eq!(verdict(&pct(), b), None);
}

#[test]
fn irq_off_walker_is_safe_against_ipi_then_free() {
    let b = unlink_then_free(Reader::IrqOff, Protect::Ipi);
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), None);
    assert_eq!(verdict(&pct(), b), None);
}

#[test]
fn irq_off_walker_is_not_safe_against_free_without_ipi() {
    let b = unlink_then_free(Reader::IrqOff, Protect::Nothing);
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), UAF);
    assert_eq!(verdict(&pct(), b), UAF);
}

#[test]
fn rcu_reader_is_not_protected_by_an_ipi() {
    // An IPI waits for irq-off sections only: an rcu_read_lock section with interrupts on
    // answers it at once.
    assert_eq!(
        verdict(
            &EXHAUSTIVE,
            unlink_then_free(Reader::RcuReadLock, Protect::Ipi)
        ),
        UAF
    );
}

#[test]
fn rcu_flavours_decide_whether_irq_off_holds_off_a_grace_period() {
    // Since the flavour consolidation (and for call_rcu_sched before it) irq-off is a reader;
    // plain call_rcu under PREEMPT_RCU before v4.20 did not wait for irq-off sections.
    for (flavour, want) in [
        (RcuFlavour::Consolidated, None),
        (RcuFlavour::Sched, None),
        (RcuFlavour::Preemptible, UAF),
    ] {
        let b = unlink_then_free(Reader::IrqOff, Protect::CallRcu(flavour));
        assert_eq!(verdict(&EXHAUSTIVE, b), want, "{flavour:?}");
    }
}

/// CPU0 takes `ptl` with interrupts off (blocking, or by trylock that gives up), while CPU1
/// holds `ptl` and sends an IPI that waits for CPU0.
fn irq_off_lock_vs_ipi(trylock: bool) -> Body {
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let l = Arc::new(ptcheck_model::spinlock::SpinLock::trylockable("ptl"));
        let l2 = l.clone();
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    c.local_irq_disable("fault");
                    let taken = if trylock {
                        c.spin_trylock(&l, "fault")
                    } else {
                        c.spin_lock(&l, "fault");
                        true
                    };
                    if taken {
                        c.spin_unlock(&l, "fault");
                    }
                    c.local_irq_enable("fault");
                }),
                Box::new(move |c: &Ctx| {
                    c.spin_lock(&l2, "zap");
                    c.ipi_all("flush_tlb");
                    c.spin_unlock(&l2, "zap");
                }),
            ],
        );
    })
}

#[test]
fn spin_trylock_with_irqs_off_never_deadlocks_against_an_ipi_sender() {
    // Every schedule under loom (C11) and every sequentially consistent one (shuttle DFS).
    let dfs = Explorer::Dfs {
        max_iterations: None,
        bound: None,
    };
    assert_eq!(verdict(&EXHAUSTIVE, irq_off_lock_vs_ipi(true)), None);
    assert_eq!(verdict(&dfs, irq_off_lock_vs_ipi(true)), None);
    assert_eq!(verdict(&pct(), irq_off_lock_vs_ipi(true)), None);
}

#[test]
fn spin_lock_with_irqs_off_against_an_ipi_sender_is_a_deadlock() {
    let dfs = Explorer::Dfs {
        max_iterations: None,
        bound: None,
    };
    assert_eq!(
        verdict(&EXHAUSTIVE, irq_off_lock_vs_ipi(false)),
        Some(ViolationKind::Deadlock)
    );
    assert_eq!(
        verdict(&dfs, irq_off_lock_vs_ipi(false)),
        Some(ViolationKind::Deadlock)
    );
}

/// CPU1 holds the lock for a while; CPU0 tries it once and records whether it was taken.
/// Both outcomes must occur (the trylock fails while CPU1 holds it), and no execution has both
/// CPUs inside the lock.
fn trylock_vs_holder(seen: Arc<std::sync::Mutex<std::collections::BTreeSet<bool>>>) -> Body {
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let l = Arc::new(ptcheck_model::spinlock::SpinLock::trylockable("pmd_lock"));
        let inside = Arc::new(Atomic::new(0));
        let (l2, in2, seen) = (l.clone(), inside.clone(), seen.clone());
        let enter = |inside: &Atomic| {
            if inside.swap(1, Ordering::Relaxed) != 0 {
                forbidden("two CPUs inside one spinlock");
            }
        };
        let leave = |inside: &Atomic| inside.store(0, Ordering::Relaxed);
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    let taken = c.spin_trylock(&l, "zap_empty_pte_table");
                    if taken {
                        enter(&inside);
                        leave(&inside);
                        c.spin_unlock(&l, "zap_empty_pte_table");
                    }
                    seen.lock().unwrap().insert(taken);
                }),
                Box::new(move |c: &Ctx| {
                    c.spin_lock(&l2, "retract_page_tables");
                    enter(&in2);
                    leave(&in2);
                    c.spin_unlock(&l2, "retract_page_tables");
                }),
            ],
        );
    })
}

#[test]
fn spin_trylock_fails_while_another_cpu_holds_the_lock_and_excludes_it() {
    for e in [
        EXHAUSTIVE,
        Explorer::Dfs {
            max_iterations: None,
            bound: None,
        },
    ] {
        let seen = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
        assert_eq!(verdict(&e, trylock_vs_holder(seen.clone())), None, "{e:?}");
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen,
            [false, true].into_iter().collect(),
            "{e:?}: taken and busy both occur"
        );
    }
}

#[test]
fn loom_0_7_3_try_lock_blocks_like_lock_when_another_thread_acquires_first() {
    // An explorer fact, measured (DESIGN.md §2 style): loom's `Mutex::post_acquire` blocks every
    // other thread whose pending operation is on the mutex, a pending `try_lock` included, so
    // a trylock on the explorer's mutex reports a deadlock under loom that no schedule has.
    // That is why `spin_trylock` takes a lock word by compare-and-swap (model/src/spinlock.rs).
    // If a loom upgrade fixes this, this test fails: drop the caveat (ARCHITECTURE.md) and
    // this test.
    let b: Body = Arc::new(|choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let l = Arc::new(ptcheck_model::rt::RawLock::new());
        let l2 = l.clone();
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    c.local_irq_disable("fault");
                    if l.try_lock() {
                        l.unlock();
                    }
                    c.local_irq_enable("fault");
                }),
                Box::new(move |c: &Ctx| {
                    l2.lock();
                    c.ipi_all("flush_tlb");
                    l2.unlock();
                }),
            ],
        );
    });
    assert_eq!(verdict(&EXHAUSTIVE, b), Some(ViolationKind::Deadlock));
}

#[test]
fn a_finished_cpu_answers_ipis() {
    // CPU0 finishes after a short irq-off section; CPU1's IPI must complete in every
    // execution, including those where CPU0 has already finished (no deadlock).
    let b: Body = Arc::new(|choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        run_cpus(
            &w,
            vec![
                Box::new(|c: &Ctx| {
                    c.local_irq_disable("cpu0");
                    c.local_irq_enable("cpu0");
                }),
                Box::new(|c: &Ctx| c.ipi_all("smp_call_function")),
            ],
        );
        assert_eq!(w.shadow().cost.ipis, 1);
    });
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), None);
    assert_eq!(verdict(&pct(), b), None);
}

#[test]
fn ipi_to_a_cpu_spinning_with_irqs_off_on_the_senders_lock_deadlocks() {
    // The deadlock spin_trylock exists for (speculative page faults seed).
    assert_eq!(
        verdict(&EXHAUSTIVE, irq_off_lock_vs_ipi(false)),
        Some(ViolationKind::Deadlock)
    );
}

#[test]
fn a_found_use_after_free_names_the_freer_and_renders() {
    let o = explore(
        &EXHAUSTIVE,
        Budget::default(),
        unlink_then_free(Reader::IrqOff, Protect::Nothing),
    );
    let f = o.finding.expect("found");
    let text = ptcheck_checks::render::counterexample(&f);
    assert!(text.contains("CPU0") && text.contains("CPU1"), "{text}");
    assert!(text.contains("freed by CPU1 in updater"), "{text}");
    println!("{text}");
    assert_eq!(f.preemptions, Some(0), "{text}");
}

#[test]
fn synchronize_rcu_inside_a_read_side_section_is_a_deadlock() {
    for (flavour, irq_off) in [
        (RcuFlavour::Consolidated, true),
        (RcuFlavour::Consolidated, false),
    ] {
        let b: Body = Arc::new(move |choices| {
            let w = WorldBuilder::new(2, Guards::empty(), choices).build();
            run_cpus(
                &w,
                vec![
                    Box::new(move |c: &Ctx| {
                        if irq_off {
                            c.local_irq_disable("caller");
                        } else {
                            c.rcu_read_lock("caller");
                        }
                        c.synchronize_rcu(flavour, "caller");
                    }),
                    Box::new(|_: &Ctx| {}),
                ],
            );
        });
        assert_eq!(
            verdict(&EXHAUSTIVE, b),
            Some(ViolationKind::Deadlock),
            "irq_off={irq_off}"
        );
    }
}

/// IPI targets: an IPI to `mm_cpumask` does not reach a CPU outside the mask, so its irq-off
/// section is not waited for (a table it walks can be freed under it); `smp_call_function`
/// (every online CPU) waits for it.
#[test]
fn an_ipi_to_mm_cpumask_does_not_wait_for_a_cpu_outside_the_mask() {
    use ptcheck_model::IpiTargets;
    let b = unlink_then_free(
        Reader::IrqOffOutsideMask,
        Protect::IpiTo(IpiTargets::MmCpumask),
    );
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), UAF);
    assert_eq!(verdict(&pct(), b), UAF);
    let b = unlink_then_free(
        Reader::IrqOffOutsideMask,
        Protect::IpiTo(IpiTargets::AllOnline),
    );
    assert_eq!(verdict(&EXHAUSTIVE, b.clone()), None);
    assert_eq!(verdict(&pct(), b), None);
}

#[test]
fn srcu_grace_periods_never_free_under_an_srcu_reader() {
    for p in [Protect::SynchronizeSrcu, Protect::CallSrcu] {
        let b = unlink_then_free(Reader::SrcuReadLock, p);
        assert_eq!(verdict(&EXHAUSTIVE, b.clone()), None);
        assert_eq!(verdict(&pct(), b), None);
    }
}

#[test]
fn srcu_and_rcu_are_separate_domains() {
    // An RCU grace period does not wait for an SRCU reader, nor an SRCU one for an RCU reader.
    for b in [
        unlink_then_free(
            Reader::SrcuReadLock,
            Protect::CallRcu(RcuFlavour::Consolidated),
        ),
        unlink_then_free(Reader::RcuReadLock, Protect::CallSrcu),
        unlink_then_free(Reader::RcuReadLock, Protect::SynchronizeSrcu),
    ] {
        assert_eq!(verdict(&EXHAUSTIVE, b.clone()), UAF);
        assert_eq!(verdict(&pct(), b), UAF);
    }
}

#[test]
fn synchronize_srcu_inside_its_own_read_section_is_a_deadlock() {
    let b: Body = Arc::new(|choices| {
        let w = WorldBuilder::new(1, Guards::empty(), choices).build();
        let s = Arc::new(ptcheck_model::srcu::Srcu::new("vma_srcu", 1));
        run_cpus(
            &w,
            vec![Box::new(move |c: &Ctx| {
                c.srcu_read_lock(&s, "handle_speculative_fault");
                c.synchronize_srcu(&s, "handle_speculative_fault");
                c.srcu_read_unlock(&s, "handle_speculative_fault");
            })],
        );
    });
    assert_eq!(verdict(&EXHAUSTIVE, b), Some(ViolationKind::Deadlock));
}

#[test]
fn a_deadlock_names_where_each_cpu_waits() {
    let o = explore(&EXHAUSTIVE, Budget::default(), irq_off_lock_vs_ipi(false));
    let f = o.finding.expect("the deadlock");
    let text = format!("{:?}", f.failure);
    assert!(
        text.contains("CPU0: spin_lock(ptl) in fault (interrupts off)"),
        "{text}"
    );
    assert!(
        text.contains("CPU1: flush_tlb waits for CPU0 to answer its IPI"),
        "{text}"
    );
}

/// Two CPUs take one `RwSem` (`mmap_sem`), for reading (`true`) or writing, and mark themselves
/// inside. Returns the body and whether some execution had both inside at once.
fn rwsem_pair(read0: bool, read1: bool, overlap: Arc<std::sync::atomic::AtomicBool>) -> Body {
    Arc::new(move |choices| {
        let w = WorldBuilder::new(2, Guards::empty(), choices).build();
        let sem = Arc::new(ptcheck_model::rwsem::RwSem::new("mmap_sem"));
        let inside = Arc::new(Atomic::new(0));
        let cpu = |read: bool| {
            let (sem, inside, overlap) = (sem.clone(), inside.clone(), overlap.clone());
            Box::new(move |c: &Ctx| {
                if read {
                    c.down_read(&sem, "do_page_fault");
                } else {
                    c.down_write(&sem, "do_munmap");
                }
                let me = if read { 1 } else { 100 };
                let before = inside.fetch_add(me, Ordering::Relaxed);
                if before != 0 {
                    if !read || before >= 100 {
                        forbidden("a writer shares mmap_sem");
                    }
                    overlap.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                inside.fetch_sub(me, Ordering::Relaxed);
                if read {
                    c.up_read(&sem, "do_page_fault");
                } else {
                    c.up_write(&sem, "do_munmap");
                }
            }) as Program
        };
        run_cpus(&w, vec![cpu(read0), cpu(read1)]);
    })
}

#[test]
fn rwsem_readers_share_and_a_writer_excludes_everyone() {
    for e in [
        EXHAUSTIVE,
        Explorer::Dfs {
            max_iterations: None,
            bound: None,
        },
    ] {
        for (r0, r1, share) in [
            (true, true, true),
            (true, false, false),
            (false, false, false),
        ] {
            let overlap = Arc::new(std::sync::atomic::AtomicBool::new(false));
            assert_eq!(
                verdict(&e, rwsem_pair(r0, r1, overlap.clone())),
                None,
                "{e:?} read {r0}/{r1}"
            );
            assert_eq!(
                overlap.load(std::sync::atomic::Ordering::Relaxed),
                share,
                "{e:?} read {r0}/{r1}: two readers are inside together in some execution, a writer never"
            );
        }
    }
}

#[test]
fn down_write_while_holding_it_for_reading_is_a_deadlock() {
    let body: Body = Arc::new(|choices| {
        let w = WorldBuilder::new(1, Guards::empty(), choices).build();
        let sem = ptcheck_model::rwsem::RwSem::new("mmap_sem");
        run_cpus(
            &w,
            vec![Box::new(move |c: &Ctx| {
                c.down_read(&sem, "do_page_fault");
                c.down_write(&sem, "do_page_fault");
            })],
        );
    });
    for e in [EXHAUSTIVE, pct()] {
        assert_eq!(
            verdict(&e, body.clone()),
            Some(ViolationKind::Deadlock),
            "{e:?}"
        );
    }
}

/// CPU0 reads a field of a kernel object (`vma->vm_sequence`) after finding the object through
/// a pointer word; CPU1 unlinks the object and frees it, with or without first waiting for
/// CPU0 under a semaphore both take.
fn object_field_vs_free(locked: bool) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices);
        let tree = b.object("mm->mm_rb", 1);
        let vma = b.object("VMA A", 1);
        b.set(tree, 0, Entry::table(vma));
        let w = b.build();
        let sem = Arc::new(ptcheck_model::rwsem::RwSem::new("mmap_sem"));
        let s1 = sem.clone();
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    if locked {
                        c.down_read(&sem, "find_vma");
                    }
                    let e = c.load(tree, 0, DEP, "find_vma");
                    if e.is_table() {
                        c.load_field(e.pfn(), 0, "vm_sequence", ONCE, "find_vma");
                    }
                    if locked {
                        c.up_read(&sem, "find_vma");
                    }
                }),
                Box::new(move |c: &Ctx| {
                    if locked {
                        c.down_write(&s1, "do_munmap");
                    }
                    c.store(tree, 0, Entry::NONE, ONCE, "vma_rb_erase");
                    c.free(vma, "vm_area_free");
                    if locked {
                        c.up_write(&s1, "do_munmap");
                    }
                }),
            ],
        );
        w.check_no_leak(&[tree]);
    })
}

#[test]
fn an_object_field_read_after_its_free_is_found_and_a_semaphore_prevents_it() {
    for e in [EXHAUSTIVE, pct()] {
        assert_eq!(verdict(&e, object_field_vs_free(false)), UAF, "{e:?}");
        assert_eq!(verdict(&e, object_field_vs_free(true)), None, "{e:?}");
    }
    let f = explore(&pct(), Budget::default(), object_field_vs_free(false))
        .finding
        .expect("found");
    let text = ptcheck_checks::render::counterexample(&f);
    assert!(text.contains("read VMA A->vm_sequence = "), "{text}");
}

/// CPU1 writes into table T, then frees it with `call_rcu`; CPU0 reads T with interrupts on and
/// no read-side section. The free is not ordered after CPU0's read (loom's causality report):
/// the counterexample must blame CPU0's read, not CPU1's own write, which the callback runner
/// (spawned at `call_rcu`) is ordered after.
fn write_then_call_rcu_free_vs_unprotected_reader() -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices);
        let root = b.table(Level::Pmd, 1);
        let t = b.table(Level::Pte, 1);
        b.set(root, 0, Entry::table(t));
        let w = b.build();
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    let p = c.load(root, 0, DEP, "reader");
                    if p.is_table() {
                        c.load(p.pfn(), 0, ONCE, "reader");
                    }
                }),
                Box::new(move |c: &Ctx| {
                    c.store(root, 0, Entry::NONE, Ordering::Release, "updater");
                    c.store(t, 0, Entry::NONE, ONCE, "updater (clear)");
                    c.world.mark_detached(t);
                    c.call_rcu(RcuFlavour::Consolidated, "updater", "free_cb", move |cb| {
                        cb.free(t, "free_cb")
                    })
                }),
            ],
        );
        w.check_no_leak(&[root]);
    })
}

#[test]
fn an_unordered_free_by_an_rcu_callback_blames_the_reader_not_the_queuer() {
    let o = explore(
        &EXHAUSTIVE,
        Budget::default(),
        write_then_call_rcu_free_vs_unprotected_reader(),
    );
    let f = o
        .finding
        .expect("the unprotected reader races with the free");
    let text = format!("{:?}", f.failure);
    assert!(text.contains("UseAfterFree"), "{text}");
    assert!(text.contains("by: Cpu(0)"), "{text}");
    assert!(!text.contains("by: Cpu(1)"), "{text}");
}

/// CPU1 drops the last reference to page A, which the allocator gives to another user at
/// once (`reuse_freed_pages`), with or without first clearing the pte that maps A; CPU0 reads
/// the pte. Left mapped, the pte now shows someone else's page: the end-of-run oracle must call
/// that a page freed while mapped (naming the free), not a leak, although the reuse brought the
/// count back to 1.
fn put_last_reference(clear_first: bool) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices).reuse_freed_pages();
        let root = b.table(Level::Pte, 1);
        let page = b.data_page(1);
        b.set(
            root,
            0,
            Entry::leaf(page, 0, ptcheck_model::EntryFlags::WRITE),
        );
        let w = b.build();
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    c.load(root, 0, ONCE, "reader");
                }),
                Box::new(move |c: &Ctx| {
                    if clear_first {
                        c.store(root, 0, Entry::NONE, ONCE, "zap_pte_range");
                    }
                    c.put_page(page, "free_pages_and_swap_cache");
                }),
            ],
        );
        w.check_no_leak(&[root]);
    })
}

#[test]
fn a_page_freed_and_reallocated_while_still_mapped_is_freed_while_mapped_not_a_leak() {
    for e in [EXHAUSTIVE, pct()] {
        assert_eq!(
            verdict(&e, put_last_reference(false)),
            Some(ViolationKind::FreedWhileMapped),
            "{e:?}"
        );
        assert_eq!(verdict(&e, put_last_reference(true)), None, "{e:?}");
    }
    let f = explore(&EXHAUSTIVE, Budget::default(), put_last_reference(false))
        .finding
        .expect("found");
    let text = format!("{:?}", f.failure);
    assert!(
        text.contains("after it was reallocated to another user"),
        "{text}"
    );
    assert!(text.contains("free_pages_and_swap_cache"), "{text}");
}

/// How CPU1 takes page A away from the pte CPU0's plain `get_page` finds it through.
#[derive(Clone, Copy, Debug)]
enum TakeAway {
    /// Zap the pte, `put_page` the last reference (the page is freed and reallocated at once).
    Free,
    /// The same after an IPI to every CPU (x86's `flush_tlb_mm` before the free).
    IpiThenFree,
    /// Free it, then map it again read-only (a new fault got the reallocated page back); CPU0
    /// waits for the read-only pte, so its `get_page` is always through the new mapping.
    FreeThenMapAgain,
}

/// CPU0, with interrupts off, reads the pte that maps page A and takes a plain `get_page`
/// (x86's gup_fast before v4.13); CPU1 takes A away. `get_page` needs a reference the caller
/// holds: CPU0's is the mapping's, and it is gone once A is freed, even if the allocator has
/// handed A to someone else by the time of the increment (the count is then 1, not 0).
fn plain_get_page_vs(take: TakeAway) -> Body {
    use ptcheck_model::EntryFlags;
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(2, Guards::empty(), choices).reuse_freed_pages();
        let pt = b.table(Level::Pte, 1);
        let page = b.data_page(1);
        b.set(pt, 0, Entry::leaf(page, 0, EntryFlags::WRITE));
        let w = b.build();
        let wait_for_remap = matches!(take, TakeAway::FreeThenMapAgain);
        run_cpus(
            &w,
            vec![
                Box::new(move |c: &Ctx| {
                    let pte = loop {
                        c.local_irq_disable("gup_fast");
                        let pte = c.load(pt, 0, ONCE, "gup_pte_range");
                        if !wait_for_remap
                            || (pte.is_present() && !pte.flags().contains(EntryFlags::WRITE))
                        {
                            break pte;
                        }
                        c.local_irq_enable("gup_fast");
                        ptcheck_model::rt::yield_now();
                    };
                    let got = pte.is_present();
                    if got {
                        c.get_page_via(pte.pfn(), pte, "gup_pte_range");
                    }
                    c.local_irq_enable("gup_fast");
                    if got {
                        c.put_page(pte.pfn(), "put_page");
                    }
                }),
                Box::new(move |c: &Ctx| {
                    c.store(pt, 0, Entry::NONE, ONCE, "zap_pte_range");
                    if let TakeAway::IpiThenFree = take {
                        c.ipi_all("flush_tlb_mm");
                    }
                    c.put_page(page, "free_pages_and_swap_cache");
                    if wait_for_remap {
                        let again =
                            Entry::leaf(page, c.world.generation(page), EntryFlags::empty());
                        c.store(pt, 0, again, ptcheck_model::ordering::PUBLISH, "set_pte_at");
                    }
                }),
            ],
        );
    })
}

#[test]
fn a_plain_get_page_on_a_page_freed_since_its_pte_was_read_is_a_pin_of_a_freed_page() {
    for e in [EXHAUSTIVE, pct()] {
        assert_eq!(
            verdict(&e, plain_get_page_vs(TakeAway::Free)),
            Some(ViolationKind::PinOfFreedPage),
            "{e:?}"
        );
        // The IPI cannot reach CPU0 while its interrupts are off: A is freed after the pin.
        assert_eq!(
            verdict(&e, plain_get_page_vs(TakeAway::IpiThenFree)),
            None,
            "{e:?}"
        );
        // Found through a pte written after the free: the reference is the new mapping's.
        assert_eq!(
            verdict(&e, plain_get_page_vs(TakeAway::FreeThenMapAgain)),
            None,
            "{e:?}"
        );
    }
    // The free is followed at once by the reallocation (count 1): the finding is the pin of
    // a reallocated page, which only the generation of the pte can tell.
    let f = explore(
        &EXHAUSTIVE,
        Budget::default(),
        plain_get_page_vs(TakeAway::Free),
    )
    .finding
    .expect("found");
    let text = format!("{:?}", f.failure);
    assert!(text.contains("GetPageOfFreedPage"), "{text}");
    assert!(text.contains("free_pages_and_swap_cache"), "{text}");
}

/// What the end-of-run state of [`leak_oracle_case`] leaves wrong.
#[derive(Clone, Copy, Debug)]
enum EndState {
    /// A table neither linked nor freed.
    TableUnreachable,
    /// A table freed while the root still points at it, after an unreachable one (the worse
    /// finding is reported, not the first frame's).
    TableFreedButLinkedAfterAnUnreachableOne,
    /// A page whose last reference was dropped while a pte still maps it (no reuse).
    PageFreedButMapped,
    /// A page with one reference too many for its one mapping.
    PageRefcountHigh,
    /// A page built with refcount 0, never mapped nor freed.
    PageZeroNeverFreed,
    /// Nothing wrong: the page unmapped, then its last reference dropped.
    Clean,
}

/// One CPU sets up `end` (deterministic: a single program), then the end-of-run oracle runs.
fn leak_oracle_case(end: EndState) -> Body {
    Arc::new(move |choices| {
        let mut b = WorldBuilder::new(1, Guards::empty(), choices);
        let root = b.table(Level::Pmd, 2);
        let unreachable = b.table(Level::Pte, 1);
        let linked = b.table(Level::Pte, 1);
        let refs = match end {
            EndState::PageRefcountHigh => 2,
            EndState::PageZeroNeverFreed => 0,
            _ => 1,
        };
        let page = b.data_page(refs);
        b.set(root, 1, Entry::table(linked));
        if !matches!(end, EndState::PageZeroNeverFreed) {
            let leaf = Entry::leaf(page, 0, ptcheck_model::EntryFlags::WRITE);
            b.set(linked, 0, leaf);
        }
        let w = b.build();
        run_cpus(
            &w,
            vec![Box::new(move |c: &Ctx| {
                if !matches!(
                    end,
                    EndState::TableUnreachable | EndState::TableFreedButLinkedAfterAnUnreachableOne
                ) {
                    c.free(unreachable, "pte_free");
                }
                match end {
                    EndState::TableFreedButLinkedAfterAnUnreachableOne => {
                        c.free(linked, "pte_free")
                    }
                    EndState::PageFreedButMapped => c.put_page(page, "put_page"),
                    EndState::Clean => {
                        c.store(linked, 0, Entry::NONE, ONCE, "zap_pte_range");
                        c.put_page(page, "put_page");
                    }
                    _ => {}
                }
            })],
        );
        w.check_no_leak(&[root]);
    })
}

#[test]
fn the_leak_oracle_names_each_end_state_and_reports_the_worst() {
    let cases = [
        (
            EndState::TableUnreachable,
            Some(ViolationKind::Leak),
            "PT#1 is neither freed nor reachable",
        ),
        (
            EndState::TableFreedButLinkedAfterAnUnreachableOne,
            Some(ViolationKind::FreedWhileMapped),
            "still linked in the tree",
        ),
        (
            EndState::PageFreedButMapped,
            Some(ViolationKind::FreedWhileMapped),
            "still mapped by 1 entry",
        ),
        (
            EndState::PageRefcountHigh,
            Some(ViolationKind::Leak),
            "page A has refcount 2, expected 1 (1 mappings, 0 pins, 0 other user)",
        ),
        (
            EndState::PageZeroNeverFreed,
            Some(ViolationKind::Leak),
            "page A has refcount 0 but was never freed",
        ),
        (EndState::Clean, None, ""),
    ];
    for (end, kind, text) in cases {
        let o = explore(&EXHAUSTIVE, Budget::default(), leak_oracle_case(end));
        assert!(
            o.complete || o.finding.is_some(),
            "{end:?}: {}",
            o.coverage()
        );
        let found = o.finding.map(|f| {
            let kind = f
                .kind()
                .unwrap_or_else(|| panic!("model error: {:?}", f.failure));
            (kind, format!("{:?}", f.failure))
        });
        assert_eq!(found.as_ref().map(|f| f.0), kind, "{end:?}: {found:?}");
        if let Some((_, failure)) = found {
            assert!(failure.contains(text), "{end:?}: {failure}");
        }
    }
}
