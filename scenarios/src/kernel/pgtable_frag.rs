//! arch/powerpc/mm/pgtable-frag.c: pte tables as fragments of one page (64K pages:
//! `PTE_FRAG_NR` tables a page) sharing its `struct page`: one `pt_frag_refcount`, one
//! `pt_rcu_head`, and `PG_active` as the "a fragment was deferred" mark.
//!
//! `pte_free_defer` as merged (v6.6, 32cc0b7c9d50 "powerpc: add pte_free_defer() for pgtables
//! sharing page", the seed's v3): `folio_set_active`, then `pte_fragment_free`, whose put of the
//! last fragment makes the page's one `call_rcu` (`pte_free_now`) if the page is active. The
//! seed's v1 (2023-05) did `call_rcu(&page->rcu_head, pte_free_now)` for every deferred
//! fragment: Matthew Wilcox, "if you have two page tables from the same page being defer-freed
//! simultaneously, you'll reuse the rcu_head". The model's page is one whose other fragments
//! were handed out and freed earlier: its count is the fragments in play.
//!
//! s390 from v6.6 to v6.8 (arch/s390/mm/pgalloc.c, the seed's 07/12 as merged) had the same
//! shape with 2 KiB tables, two to a 4 KiB page: the halves' state in the top byte of
//! `page->_refcount` (AA allocated, PP pending), the page's `rcu_head` over its `lru`,
//! `pte_free_defer` = `SetPageActive` + `page_table_free`, whose free of the last half makes the
//! one `call_rcu` if the page is active (Hugh Dickins: "for simplicity, delay calling RCU until
//! both halves are freed"). The steps are the same; [`FragPage`] names them after the policy's
//! kernel ([`PteFragments`]).
//!
//! Guards read: frag-defer-once.

use ptcheck_arch::policy::PteFragments;
use ptcheck_model::ordering::ONCE;
use ptcheck_model::rt::{Atomic, Ordering};
use ptcheck_model::violation::{self, Violation};
use ptcheck_model::{Actor, Ctx, FrameId, Guards, RcuFlavour};
use std::sync::{Arc, Mutex};

/// The page the fragments live in.
pub struct FragPage {
    scheme: PteFragments,
    tables: Vec<FrameId>,
    /// `ptdesc->pt_frag_refcount`.
    refcount: Atomic,
    /// `PG_active` on the page (`folio_set_active` / `folio_test_clear_active`).
    active: Atomic,
    /// Who queued the page's `rcu_head`, while it is queued (bookkeeping: the callback list
    /// itself is RCU's).
    queued: Mutex<Option<Actor>>,
}

impl FragPage {
    /// A page holding `tables` (each a fragment in use), laid out as `scheme` does.
    pub fn new(scheme: PteFragments, tables: Vec<FrameId>) -> Arc<Self> {
        Arc::new(FragPage {
            scheme,
            refcount: Atomic::new(tables.len() as u64),
            active: Atomic::new(0),
            queued: Mutex::new(None),
            tables,
        })
    }

    /// At the end of an execution: the page is still allocated (a fragment is in use), so all
    /// its fragments' memory is, detached or not (for the leak oracle's roots).
    pub fn tables_if_live(&self) -> Vec<FrameId> {
        if self.refcount.load(Ordering::Acquire) > 0 {
            self.tables.clone()
        } else {
            Vec::new()
        }
    }

    fn s390(&self) -> bool {
        self.scheme == PteFragments::S390Halves
    }

    /// The function that drops a fragment: `pte_fragment_free` or `page_table_free`.
    fn free_fn(&self) -> &'static str {
        if self.s390() {
            "page_table_free"
        } else {
            "pte_fragment_free"
        }
    }

    fn name(&self, c: &Ctx) -> String {
        let names: Vec<String> = self
            .tables
            .iter()
            .map(|t| c.world.name(*t).to_string())
            .collect();
        format!("the page of {}", names.join(" and "))
    }
}

/// `pte_free_defer(mm, pgtable)` on a fragment policy.
pub fn pte_free_defer(c: &Ctx, page: &Arc<FragPage>) {
    if c.guard(Guards::FRAG_DEFER_ONCE) {
        page.active.store(1, ONCE);
        let mark = if page.s390() {
            "SetPageActive"
        } else {
            "folio_set_active"
        };
        c.note("pte_free_defer", mark);
        pte_fragment_free(c, page);
    } else {
        // v1: one call_rcu per deferred fragment, on the page's one rcu_head.
        let p = page.clone();
        queue_rcu_head(c, page, "pte_free_defer", move |cb| {
            pte_fragment_free(cb, &p)
        });
    }
}

/// `pte_fragment_free(table, kernel = 0)` (s390: `page_table_free(mm, table)`): drop the
/// fragment's count; the last one frees the page, after a grace period if a fragment was
/// deferred (the page is active).
pub fn pte_fragment_free(c: &Ctx, page: &Arc<FragPage>) {
    let f = page.free_fn();
    let old = page.refcount.fetch_sub(1, Ordering::AcqRel);
    let count = if page.s390() {
        "atomic_xor_bits(&page->_refcount, AA|PP of the half), then PP: halves in use"
    } else {
        "atomic_dec_and_test(pt_frag_refcount)"
    };
    c.note(f, format!("{count}: {old} -> {}", old - 1));
    if old != 1 {
        return;
    }
    if page.active.swap(0, Ordering::AcqRel) == 1 {
        let test = if page.s390() {
            "TestClearPageActive: deferred"
        } else {
            "folio_test_clear_active: deferred"
        };
        c.note(f, test);
        let p = page.clone();
        queue_rcu_head(c, page, f, move |cb| pte_free_now(cb, &p));
    } else {
        pte_free_now(c, page);
    }
}

/// `pte_free_now`: `pagetable_dtor`, `pagetable_free` of the whole page.
fn pte_free_now(c: &Ctx, page: &FragPage) {
    for t in &page.tables {
        c.free(*t, "pte_free_now");
    }
}

/// `call_rcu(&ptdesc->pt_rcu_head, ..)`: queueing the head while it is queued is the
/// violation.
fn queue_rcu_head(
    c: &Ctx,
    page: &Arc<FragPage>,
    func: &'static str,
    cb: impl FnOnce(&Ctx) + Send + 'static,
) {
    let prev = page
        .queued
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .replace(c.actor);
    if let Some(queued_by) = prev {
        violation::raise(Violation::RcuHeadReused {
            by: c.actor,
            func,
            page: page.name(c),
            queued_by,
        });
    }
    let p = page.clone();
    c.call_rcu(
        RcuFlavour::Consolidated,
        func,
        "pte_free_now",
        move |runner| {
            *p.queued.lock().unwrap_or_else(|e| e.into_inner()) = None;
            cb(runner)
        },
    );
}
