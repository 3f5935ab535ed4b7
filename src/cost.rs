//! The `cost` view: what a protocol costs as a function of the workload, per policy.
//!
//! The 2020 powerpc seed's point: munmap of a 496 GB guest on 128 CPUs took 82 s because
//! `radix__pmdp_huge_get_and_clear` sent a broadcast IPI (`serialize_against_pte_lookup`) per
//! huge pmd, and 39 ms without it. [`zap_cost`] measures that by *running the kernel path*:
//! `zap_huge_pmd` on N huge pmds then `tlb_finish_mmu`, on one CPU of a C-CPU machine whose
//! other CPUs are idle, under a single shuttle schedule, and reads the model's counters. No
//! formula is written down here: the numbers are whatever the policy's code paths do.

use ptcheck_arch::mmu_gather::MmuGather;
use ptcheck_arch::ArchPolicy;
use ptcheck_checks::{explore, Budget, Explorer};
use ptcheck_model::{run_cpus, Cost, Ctx, Entry, EntryFlags, Guards, Level, Program, WorldBuilder};
use ptcheck_scenarios::kernel::huge_memory::{zap_huge_pmd, HugePmd};
use std::sync::Arc;

/// Why a cost could not be measured.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CostError {
    #[error("--cpus must be at least 1")]
    NoCpus,
    #[error("--pmds x --cpus must be between 1 and {MAX_WORK} (one execution runs every zap and every IPI; the fit projects larger workloads)")]
    Pmds,
    #[error("the zap of {pmds} huge pmds on {cpus} CPUs did not run to the end: {why}")]
    Run {
        pmds: usize,
        cpus: usize,
        why: String,
    },
}

/// The largest N x C one measuring run takes (shuttle's step limit per execution: each IPI
/// takes two steps per CPU it interrupts).
pub const MAX_WORK: usize = 16_384;

/// IPIs, CPUs interrupted, grace periods and TLB flushes of zapping `pmds` huge pmds (one
/// munmap: `unmap_page_range` -> `zap_huge_pmd` each, then `tlb_finish_mmu`) on a machine of
/// `cpus` CPUs, all in `mm_cpumask`, with `policy`.
pub fn zap_cost(policy: &'static ArchPolicy, pmds: usize, cpus: usize) -> Result<Cost, CostError> {
    if cpus == 0 {
        return Err(CostError::NoCpus);
    }
    if pmds == 0 || pmds.saturating_mul(cpus) > MAX_WORK {
        return Err(CostError::Pmds);
    }
    let body = Arc::new(move |choices: &[ptcheck_model::Picked]| {
        let mut b = WorldBuilder::new(cpus, Guards::all(), choices);
        let pmd = b.table(Level::Pmd, pmds.max(1));
        let mut huge = Vec::new();
        for i in 0..pmds {
            let deposited = b.table(Level::Pte, 1);
            let page = b.data_page(1);
            b.set(
                pmd,
                i,
                Entry::leaf(page, 0, EntryFlags::WRITE | EntryFlags::PAGE_PTE),
            );
            huge.push(HugePmd {
                pmd,
                slot: i,
                deposited,
            });
        }
        let w = b.build();
        let progs: Vec<Program> = vec![Box::new(move |c: &Ctx| {
            let mut tlb = MmuGather::new(c, policy);
            for h in &huge {
                zap_huge_pmd(c, policy, &mut tlb, *h);
            }
            tlb.tlb_finish_mmu();
        })];
        run_cpus(&w, progs);
    });
    measure(pmds, cpus, body)
}

/// IPIs, CPUs interrupted, grace periods and TLB flushes of one `retract_page_tables` of one
/// empty pte table (khugepaged, the 2023 seed) on a machine of `cpus` CPUs, all in
/// `mm_cpumask`, with `policy`: its `pmdp_collapse_flush` (the policy's serialize IPI and TLB
/// flush), `pmdp_get_lockless_sync` (an IPI where pmds are read in halves), and the grace
/// period `pte_free_defer` queues (run to its end: the table is freed).
pub fn retract_cost(policy: &'static ArchPolicy, cpus: usize) -> Result<Cost, CostError> {
    use ptcheck_scenarios::kernel::khugepaged::{retract_page_tables, RangeLocks};
    use ptcheck_scenarios::kernel::pgtable_frag::FragPage;
    use ptcheck_scenarios::kernel::{Addr, Mm, Vma};
    if cpus == 0 {
        return Err(CostError::NoCpus);
    }
    if cpus > MAX_WORK {
        return Err(CostError::Pmds);
    }
    let body = Arc::new(move |choices: &[ptcheck_model::Picked]| {
        let mut b = WorldBuilder::new(cpus, Guards::all(), choices);
        let pgd = b.table(Level::Pgd, 1);
        let pmd = b.table(Level::Pmd, 1);
        let pt = b.table(Level::Pte, 1);
        b.set(pgd, 0, Entry::table(pmd));
        b.set(pmd, 0, Entry::table(pt));
        let w = b.build();
        let mm = Mm::new(pgd, policy);
        let progs: Vec<Program> = vec![Box::new(move |c: &Ctx| {
            let frag = policy
                .pte_fragments
                .shared()
                .then(|| FragPage::new(policy.pte_fragments, vec![pt]));
            retract_page_tables(
                c,
                policy,
                mm,
                Addr::FIRST,
                &Vma::new(),
                &RangeLocks::new(),
                frag.as_ref(),
            );
        })];
        run_cpus(&w, progs);
    });
    measure(1, cpus, body)
}

/// `retract_cost` of every policy on each CPU count, as a text table.
pub fn render_retract(cpus: &[usize]) -> Result<String, CostError> {
    let mut out = format!(
        "{:<22} {:>5} {:>8} {:>12} {:>4} {:>7}\n",
        "policy", "cpus", "IPIs", "interrupted", "GPs", "flushes"
    );
    for p in ptcheck_arch::ALL {
        for &c in cpus {
            let k = retract_cost(p, c)?;
            out.push_str(&format!(
                "{:<22} {:>5} {:>8} {:>12} {:>4} {:>7}\n",
                p.name, c, k.ipis, k.cpus_interrupted, k.grace_periods, k.tlb_flushes
            ));
        }
    }
    out.push_str(
        "\nretract_page_tables of one empty pte table (khugepaged, no mmap lock): \
         pmdp_collapse_flush, pmdp_get_lockless_sync, pte_free_defer; every CPU in mm_cpumask; \
         counted by running the policy's kernel paths once (shuttle, one schedule).\n",
    );
    Ok(out)
}

/// `pgd_lock` acquisitions of one fork (`copy_process` of a new mm) and one exit (`do_exit`
/// of an mm's last user, `__mmdrop` at once) on `policy`, mainline (`pgd_list`) or the 2015
/// lockless series, measured by running those kernel paths (the pgd-alloc-vs-sync scenarios'
/// state, no sync running): `(fork, exit)`.
pub fn pgd_lock_cost(policy: &'static ArchPolicy, mainline: bool) -> Result<(u32, u32), CostError> {
    use ptcheck_scenarios::kernel::fork::{copy_process, do_exit};
    use ptcheck_scenarios::pgd_alloc_sync::PgdFrames;
    let run = |exit: bool| {
        let body = Arc::new(move |choices: &[ptcheck_model::Picked]| {
            let mut b = WorldBuilder::new(1, Guards::all(), choices);
            let frames = PgdFrames::new(&mut b, policy, mainline, !exit);
            let w = b.build();
            let (k, procs) = frames.start();
            let progs: Vec<Program> = vec![Box::new(move |c: &Ctx| {
                if exit {
                    do_exit(c, &k, &procs[0]);
                } else {
                    copy_process(c, &k, &procs[1]);
                }
            })];
            run_cpus(&w, progs);
        });
        measure(0, 1, body)
    };
    Ok((run(false)?.pgd_lock_fork, run(true)?.pgd_lock_exit))
}

/// [`pgd_lock_cost`] of every policy the pgd-alloc scenarios apply to, both protocols.
pub fn render_pgd_lock() -> Result<String, CostError> {
    let mut out = format!(
        "{:<22} {:<28} {:>10} {:>10}\n",
        "policy", "protocol", "fork", "exit"
    );
    for p in ptcheck_arch::ALL
        .iter()
        .filter(|p| ptcheck_scenarios::pgd_alloc_sync::PGD_ALLOC_SYNC.applies_to(p))
    {
        for (mainline, name) in [
            (true, "mainline (pgd_list)"),
            (false, "lockless series (2015)"),
        ] {
            let (f, e) = pgd_lock_cost(p, mainline)?;
            out.push_str(&format!("{:<22} {name:<28} {f:>10} {e:>10}\n", p.name));
        }
    }
    out.push_str(
        "\npgd_lock acquisitions of one fork (copy_process of a new mm: pgd_alloc) and one exit \
         (do_exit of an mm's last user: pgd_free), counted by running the kernel paths once; the \
         series was written to take them to 0 (pgd_lock contention on fork/exit, Waiman Long, \
         2015). A sync takes pgd_lock once, plus per process its page_table_lock (and, in the \
         series, task_lock).\n",
    );
    Ok(out)
}

/// Run `body` once (shuttle, one schedule) and read the model's counters.
fn measure(pmds: usize, cpus: usize, body: ptcheck_checks::Body) -> Result<Cost, CostError> {
    let o = explore(
        &Explorer::Random {
            seed: 1,
            iterations: 1,
        },
        Budget::default(),
        body,
    );
    if let Some(f) = o.finding {
        return Err(CostError::Run {
            pmds,
            cpus,
            why: format!("{:?}", f.failure),
        });
    }
    Ok(o.cost)
}

/// One row of the cost table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CostRow {
    pub policy: &'static str,
    pub pmds: usize,
    pub cpus: usize,
    pub cost: Cost,
}

/// The cost of every policy at each (pmds, cpus) point.
pub fn table(points: &[(usize, usize)]) -> Result<Vec<CostRow>, CostError> {
    let mut rows = Vec::new();
    for p in ptcheck_arch::ALL {
        for &(pmds, cpus) in points {
            rows.push(CostRow {
                policy: p.name,
                pmds,
                cpus,
                cost: zap_cost(p, pmds, cpus)?,
            });
        }
    }
    Ok(rows)
}

/// Render rows as a text table.
pub fn render(rows: &[CostRow]) -> String {
    let mut out = format!(
        "{:<22} {:>6} {:>5} {:>8} {:>12} {:>4} {:>7}\n",
        "policy", "pmds", "cpus", "IPIs", "interrupted", "GPs", "flushes"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<22} {:>6} {:>5} {:>8} {:>12} {:>4} {:>7}\n",
            r.policy,
            r.pmds,
            r.cpus,
            r.cost.ipis,
            r.cost.cpus_interrupted,
            r.cost.grace_periods,
            r.cost.tlb_flushes
        ));
    }
    out.push_str(
        "\nzap_huge_pmd x pmds then tlb_finish_mmu, one munmap on one CPU, every CPU in \
         mm_cpumask; counted by running the policy's kernel paths once (shuttle, one schedule).\n",
    );
    out
}

/// The seed's workload: a 496 GB guest backed by 2 MB huge pmds, unmapped on 128 CPUs.
pub const SEED_PMDS: u64 = 496 * 1024 / 2;
pub const SEED_CPUS: u64 = 128;

/// A policy's IPI count as a function of N (huge pmds zapped) and C (CPUs), fitted from
/// measured points and checked against a third.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    pub policy: &'static str,
    /// IPIs = per_pmd * N + fixed.
    pub per_pmd: u64,
    pub fixed: u64,
    /// Every IPI interrupted every other CPU (C - 1), at every point measured.
    pub all_others: bool,
    /// The fit also predicts the check point.
    pub linear: bool,
}

impl Fit {
    pub fn ipis(&self, n: u64) -> u64 {
        self.per_pmd * n + self.fixed
    }

    /// `IPIs = 1·N`, `IPIs = 1`, `IPIs = 0`.
    pub fn formula(&self) -> String {
        match (self.per_pmd, self.fixed) {
            (0, f) => format!("{f}"),
            (a, 0) => format!("{a}·N"),
            (a, f) => format!("{a}·N + {f}"),
        }
    }
}

/// Fit every policy from runs at N = 4, 8 (fit) and 32 (check), on C = 4 and 16 CPUs.
pub fn fit() -> Result<Vec<Fit>, CostError> {
    let mut out = Vec::new();
    for p in ptcheck_arch::ALL {
        let mut all_others = true;
        let mut linear = true;
        let (mut per_pmd, mut fixed) = (0, 0);
        for c in [4u64, 16] {
            let at = |n: u64| zap_cost(p, n as usize, c as usize);
            let (k1, k2, k3) = (at(4)?, at(8)?, at(32)?);
            let (i1, i2, i3) = (k1.ipis as u64, k2.ipis as u64, k3.ipis as u64);
            per_pmd = i2.saturating_sub(i1) / 4;
            fixed = i1.saturating_sub(per_pmd * 4);
            linear &= i2 >= i1 && per_pmd * 8 + fixed == i2 && per_pmd * 32 + fixed == i3;
            for k in [k1, k2, k3] {
                all_others &= k.cpus_interrupted as u64 == k.ipis as u64 * (c - 1);
            }
        }
        out.push(Fit {
            policy: p.name,
            per_pmd,
            fixed,
            all_others,
            linear,
        });
    }
    Ok(out)
}

/// The fitted formulas, and what they predict for the seed's workload.
pub fn render_fit(fits: &[Fit]) -> String {
    let mut out = format!(
        "{:<22} {:>12} {:>18}   seed workload: N = {SEED_PMDS} huge pmds, C = {SEED_CPUS}\n",
        "policy", "IPIs(N)", "interrupted(N, C)"
    );
    for f in fits {
        let interrupted = if f.per_pmd == 0 && f.fixed == 0 {
            "0".to_string()
        } else if f.all_others {
            "IPIs·(C-1)".to_string()
        } else {
            "(varies)".to_string()
        };
        let seed = if f.linear && f.all_others {
            format!(
                "{} IPIs, {} CPU interruptions",
                f.ipis(SEED_PMDS),
                f.ipis(SEED_PMDS) * (SEED_CPUS - 1)
            )
        } else {
            "not linear in N: no projection".to_string()
        };
        out.push_str(&format!(
            "{:<22} {:>12} {:>18}   {seed}\n",
            f.policy,
            f.formula(),
            interrupted
        ));
    }
    out.push_str(
        "\nFitted from runs at N = 4 and 8, checked at N = 32, on C = 4 and 16 CPUs. The seed \
         measured 82 s of munmap for this workload with the per-pmd IPI, 39 ms without it.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fit_shows_the_seeds_per_pmd_broadcast_and_none_after_2020() {
        let fits = fit().expect("runs");
        let get = |n: &str| fits.iter().find(|f| f.policy == n).expect("policy").clone();
        let pre = get("powerpc-radix-pre2020");
        assert_eq!(
            (pre.per_pmd, pre.fixed, pre.linear, pre.all_others),
            (1, 0, true, true)
        );
        assert_eq!(pre.ipis(SEED_PMDS), SEED_PMDS);
        let post = get("powerpc-radix");
        assert_eq!((post.per_pmd, post.fixed), (0, 0));
        let x86 = get("x86");
        assert_eq!((x86.per_pmd, x86.fixed), (0, 1), "one flush IPI per munmap");
    }

    #[test]
    fn pre2020_radix_sends_one_ipi_per_pmd_post2020_none() {
        let pre = ptcheck_arch::by_name("powerpc-radix-pre2020").expect("policy");
        let post = ptcheck_arch::by_name("powerpc-radix").expect("policy");
        for (n, c) in [(1, 2), (8, 4), (16, 128)] {
            let k = zap_cost(pre, n, c).expect("runs");
            assert_eq!(k.ipis as usize, n, "pre-2020 IPIs for {n} pmds on {c} CPUs");
            assert_eq!(k.cpus_interrupted as usize, n * (c - 1));
            let k = zap_cost(post, n, c).expect("runs");
            assert_eq!(k.ipis, 0);
            assert_eq!(k.cpus_interrupted, 0);
        }
    }

    #[test]
    fn x86_sends_one_flush_ipi_per_munmap() {
        let x86 = ptcheck_arch::by_name("x86").expect("policy");
        let k = zap_cost(x86, 16, 8).expect("runs");
        assert_eq!((k.ipis, k.cpus_interrupted, k.tlb_flushes), (1, 7, 1));
    }

    #[test]
    fn the_lockless_series_takes_no_pgd_lock_on_fork_and_exit() {
        for name in ["x86", "x86-pae"] {
            let p = ptcheck_arch::by_name(name).expect("policy");
            assert_eq!(pgd_lock_cost(p, true), Ok((1, 1)), "{name} mainline");
            assert_eq!(pgd_lock_cost(p, false), Ok((0, 0)), "{name} lockless");
        }
        let table = render_pgd_lock().expect("runs");
        assert!(table.contains("x86-pae"), "{table}");
        assert!(!table.contains("arm64"), "{table}");
    }

    #[test]
    fn a_retract_costs_one_grace_period_and_the_ipis_its_policy_sends() {
        let at =
            |n: &str| retract_cost(ptcheck_arch::by_name(n).expect("policy"), 4).expect("runs");
        // x86: the flush IPI of pmdp_collapse_flush; PAE adds pmdp_get_lockless_sync's.
        assert_eq!((at("x86").ipis, at("x86").grace_periods), (1, 1));
        assert_eq!((at("x86-pae").ipis, at("x86-pae").cpus_interrupted), (2, 6));
        // Broadcast TLBI: no IPI; powerpc hash keeps serialize_against_pte_lookup.
        assert_eq!(at("arm64").ipis, 0);
        assert_eq!(at("powerpc-hash").ipis, 1);
        for p in ptcheck_arch::ALL {
            assert_eq!(
                retract_cost(p, 4).expect("runs").grace_periods,
                1,
                "{}",
                p.name
            );
        }
    }

    #[test]
    fn zero_cpus_is_an_error() {
        let p = ptcheck_arch::by_name("x86").expect("policy");
        assert_eq!(zap_cost(p, 1, 0), Err(CostError::NoCpus));
    }
}
