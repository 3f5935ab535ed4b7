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
    #[error("the zap of {pmds} huge pmds on {cpus} CPUs did not run to the end: {why}")]
    Run {
        pmds: usize,
        cpus: usize,
        why: String,
    },
}

/// IPIs, CPUs interrupted, grace periods and TLB flushes of zapping `pmds` huge pmds (one
/// munmap: `unmap_page_range` -> `zap_huge_pmd` each, then `tlb_finish_mmu`) on a machine of
/// `cpus` CPUs, all in `mm_cpumask`, with `policy`.
pub fn zap_cost(policy: &'static ArchPolicy, pmds: usize, cpus: usize) -> Result<Cost, CostError> {
    if cpus == 0 {
        return Err(CostError::NoCpus);
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn zero_cpus_is_an_error() {
        let p = ptcheck_arch::by_name("x86").expect("policy");
        assert_eq!(zap_cost(p, 1, 0), Err(CostError::NoCpus));
    }
}
