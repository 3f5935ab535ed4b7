//! A user's crate, written only against ptcheck's public API, that checks a (hypothetical)
//! patch: "my-arch: recycle pte tables through a per-CPU quicklist". munmap keeps the pte
//! table it unlinks in a cache instead of freeing it, and the next `pte_alloc_one` of any mm
//! takes it from there. A lockless walker still inside the old table then reads the new
//! owner's entries: nothing was freed, so no use-after-free is reported; the scenario's own
//! oracle sees it as gup on mm A returning a page mm A never mapped.
//!
//! What the crate adds (see the README's "Check your own patch"):
//! - a policy, [`MY_ARCH`] (and `my-arch-rcu.toml`, the same as data);
//! - a scenario, [`gup_fast_vs_quicklist`], with its own guard [`QUICKLIST_SYNC`] and its own
//!   finding `wrong-page`, built from the project's `get_user_pages_fast` and
//!   `unmap_region_with` (munmap with another table-free step);
//! - its registry, [`registry`], used by `src/main.rs` (its `ptcheck`) and `tests/gate.rs`
//!   (its `cargo test`, with `expected.matrix` and `snapshots/` next to this file).

use ptcheck::arch::mmu_gather::{tlb_remove_table_sync_one, MmuGather};
use ptcheck::arch::{arm64, policy::TableFree, ArchPolicy};
use ptcheck::model::ordering::ONCE;
use ptcheck::model::violation::raise_own;
use ptcheck::model::{run_cpus, Ctx, Entry, EntryFlags, FrameId, Guards, Hazards, Level, Program};
use ptcheck::registry::{self, Registry, RegistryError};
use ptcheck::scenarios::gup_fast_munmap::{GUARDS, VARIANTS};
use ptcheck::scenarios::kernel::gup_fast::{get_user_pages_fast, use_and_release};
use ptcheck::scenarios::kernel::munmap::{gather_table, unmap_region_with};
use ptcheck::scenarios::kernel::{Addr, Mm};
use ptcheck::scenarios::{Applies, FindingDoc, GuardDoc, OwnGuard, Scenario, Setup, Variant};
use std::sync::{Arc, Mutex, OnceLock};

/// The arch of the patch: arm64's broadcast TLB invalidation, page tables freed right after
/// the flush, and no `CONFIG_MMU_GATHER_RCU_TABLE_FREE` (so `tlb_remove_table_sync_one()` is
/// an empty stub there).
pub const MY_ARCH: ArchPolicy = ArchPolicy {
    name: "my-arch",
    about: "hypothetical: broadcast TLBI, tables freed after the flush, no RCU table free",
    table_free: TableFree::AfterFlush,
    rcu_table_free_config: false,
    ..arm64::ARM64
};

/// The patch's step: `my_quicklist_sync()` before `pte_alloc_one` hands a cached table out.
pub const QUICKLIST_SYNC: Guards = Guards::user(0);

/// The oracle's finding.
pub const WRONG_PAGE: &str = "wrong-page";

fn mm_a_only(page: FrameId, mm_a_page: FrameId, c: &Ctx) {
    if page != mm_a_page {
        raise_own(
            WRONG_PAGE,
            format!(
                "{} in __get_user_pages_fast on mm A returned {}, a page mm A never mapped",
                c.actor,
                c.world.name(page)
            ),
        );
    }
}

/// One execution: CPU0 pins mm A's page with gup_fast; CPU1 munmaps it, keeping the pte table
/// in the quicklist, then faults a page into mm B, whose new pte table comes from the quicklist.
fn run(s: &Setup) {
    let mut b = s.world(2).reuse_freed_pages();
    let pgd_a = b.named_table(Level::Pgd, 1, "mm A: PGD");
    let pmd_a = b.named_table(Level::Pmd, 1, "mm A: PMD");
    let pt = b.named_table(Level::Pte, 1, "mm A: PT");
    let page_a = b.named_data_page(1, "mm A: page");
    let pgd_b = b.named_table(Level::Pgd, 1, "mm B: PGD");
    let pmd_b = b.named_table(Level::Pmd, 1, "mm B: PMD");
    let page_b = b.named_data_page(1, "mm B: page");
    b.set(pgd_a, 0, Entry::table(pmd_a));
    b.set(pmd_a, 0, Entry::table(pt));
    b.set(pt, 0, Entry::leaf(page_a, 0, EntryFlags::WRITE));
    b.set(pgd_b, 0, Entry::table(pmd_b));
    let w = b.build();
    let policy = *s.policy;
    let (mm_a, a) = (Mm::new(pgd_a, &policy), Addr::FIRST);
    let walker: Program = Box::new(move |c: &Ctx| {
        let r = get_user_pages_fast(c, mm_a, a);
        if let Some(p) = r {
            mm_a_only(p.page, page_a, c);
        }
        use_and_release(c, r);
    });
    let quicklist: Arc<Mutex<Vec<FrameId>>> = Arc::default();
    let unmap_then_fault: Program = Box::new(move |c: &Ctx| {
        // munmap of mm A: the pte table goes to the quicklist, the pmd table as the kernel frees it.
        let ql = quicklist.clone();
        let mut free = |c: &Ctx, tlb: &mut MmuGather, t: FrameId, func: &'static str| {
            if t == pt {
                c.note("my_pte_free (quicklist_free)", "pte table kept for reuse");
                ql.lock().expect("quicklist").push(t);
            } else {
                gather_table(c, tlb, t, func);
            }
        };
        unmap_region_with(c, &policy, mm_a, a, &mut free);
        // A fault in mm B: __pte_alloc -> my_pte_alloc_one takes the cached table.
        let t = quicklist
            .lock()
            .expect("quicklist")
            .pop()
            .expect("cached table");
        if c.guard(QUICKLIST_SYNC) {
            tlb_remove_table_sync_one(c, &policy);
        }
        c.world
            .reattach(c.actor, t, "my_pte_alloc_one (quicklist_alloc)");
        let pte = Entry::leaf(page_b, 0, EntryFlags::WRITE);
        c.store(t, 0, pte, ONCE, "do_anonymous_page (set_pte_at)");
        c.store(pmd_b, 0, Entry::table(t), ONCE, "pmd_populate");
    });
    run_cpus(&w, vec![walker, unmap_then_fault]);
    w.check_no_leak(&[pgd_a, pgd_b]);
}

/// The scenario: the project's gup_fast vs munmap guards and variants, plus the patch's own.
pub fn gup_fast_vs_quicklist() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| {
        let base = ptcheck::scenarios::gup_fast_munmap::GUP_FAST_MUNMAP;
        let own = GuardDoc {
            guard: QUICKLIST_SYNC,
            step: "my_quicklist_sync() (tlb_remove_table_sync_one) in my_pte_alloc_one",
            why: "a table from the quicklist may still be under an irq-off walker of its old mm",
            redundant: None,
        };
        let variant = Variant {
            name: "no-quicklist-sync",
            about: "my_pte_alloc_one hands a cached table out at once",
            off: QUICKLIST_SYNC,
        };
        Scenario {
            name: "gup-fast-vs-quicklist",
            about:
                "gup_fast on mm A while munmap caches mm A's pte table and mm B's fault reuses it",
            source: "examples/src/lib.rs (a hypothetical my-arch patch)",
            cpus: &[
                "CPU0: __get_user_pages_fast on mm A",
                "CPU1: unmap_region on mm A (pte table to the quicklist), then a fault in mm B",
            ],
            guards: Vec::leak([GUARDS, &[own]].concat()),
            variants: Vec::leak([VARIANTS, &[variant]].concat()),
            own_guards: &[OwnGuard {
                guard: QUICKLIST_SYNC,
                name: "quicklist-sync",
                hazards: Hazards::TABLE_FREED,
            }],
            findings: &[FindingDoc {
                name: WRONG_PAGE,
                about: "gup on mm A returned a page mm A never mapped",
            }],
            run,
            applies: Applies::EVERY_POLICY,
            ..base
        }
    })
}

/// The crate's registry: its scenario and the project's gup-fast-vs-munmap, on x86, arm64 and
/// its own policy; its expectations and snapshots next to this crate.
pub fn registry() -> Result<Registry, RegistryError> {
    let project = registry::builtin();
    let mut r = Registry::empty();
    for name in ["x86", "arm64"] {
        r = r.with_policy(project.policy(name).expect("a project policy"))?;
    }
    r.with_policy(&MY_ARCH)?
        .with_scenario(
            project
                .scenario("gup-fast-vs-munmap")
                .expect("a project scenario"),
        )?
        .with_scenario(gup_fast_vs_quicklist())?
        .with_expectations(
            "examples/expected.matrix",
            include_str!("../expected.matrix"),
        )
        .map(|r| r.with_snapshots(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots")))
}
