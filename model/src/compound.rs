//! Compound (transparent huge) pages with the 2014 THP refcounting (mm/huge_memory.c and
//! mm/swap.c before the 2016 THP refcount rework):
//!
//! - a reference to a subpage of a compound page is taken on the *head*'s `_count`, and the
//!   tail records it in its own `_mapcount` (`get_huge_page_tail`, used by gup_fast's
//!   `gup_huge_pmd` for each tail page it returns);
//! - `__split_huge_page_refcount` (under `compound_lock`) hands each tail its share: the
//!   tail's `_count` becomes its gup pins plus one for the pte mapping `__split_huge_page_map`
//!   installs, the pins are taken off the head, and `PG_tail` is cleared;
//! - `put_page` on a tail (`put_compound_page`) takes `compound_lock`, and drops the head's
//!   count and the tail's `_mapcount` if the page is still a tail, the tail's own count if the
//!   split has happened.
//!
//! `get_huge_page_tail` takes no lock: "__split_huge_page_refcount() cannot run from under us",
//! because gup_fast runs with interrupts off and `pmdp_splitting_flush` sent an IPI (or a TLB
//! shootdown) before the split, and gup_fast bails on `pmd_trans_splitting`. A tail pin taken
//! after the split read the tail's `_mapcount`, or skipped because `PG_tail` is already clear
//! while the reference went to the head, unbalances both counts: the final refcount oracle
//! ([`crate::World::check_no_leak`]) reports it, or the tail is freed while still mapped.
//!
//! `PG_tail` and `_mapcount` are explorer-tracked atomics (they are what the race is about);
//! `compound_lock` is a model lock.

use crate::entry::FrameId;
use crate::rt::{Atomic, Ordering, RawLock};
use crate::world::Ctx;

/// The compound state of one data page.
pub struct CompoundState {
    /// `PageTail(page)`: 1 while the page is a tail of a compound page.
    tail: Atomic,
    /// The tail's `_mapcount`, used for tail pins (starts at 0 here; the kernel's starts at -1).
    tail_pins: Atomic,
    /// The head's `compound_lock` (a bit spinlock in the head's flags).
    lock: Option<RawLock>,
}

impl CompoundState {
    pub(crate) fn head() -> Self {
        CompoundState {
            tail: Atomic::new(0),
            tail_pins: Atomic::new(0),
            lock: Some(RawLock::new()),
        }
    }

    pub(crate) fn tail() -> Self {
        CompoundState {
            tail: Atomic::new(1),
            tail_pins: Atomic::new(0),
            lock: None,
        }
    }
}

impl Ctx {
    fn compound(&self, p: FrameId) -> &CompoundState {
        self.world.frames[p.0]
            .compound
            .as_ref()
            .expect("not a compound page")
    }

    /// `compound_head(p)`: the nearest head at or before `p` (tails follow their head).
    pub fn compound_head(&self, p: FrameId) -> FrameId {
        let mut h = p.0;
        while h > 0 {
            match &self.world.frames[h].compound {
                Some(c) if c.lock.is_some() => break,
                Some(_) => h -= 1,
                None => return p,
            }
        }
        FrameId(h)
    }

    /// `PageTail(p)`.
    pub fn page_tail(&self, p: FrameId, func: &'static str) -> bool {
        let Some(c) = &self.world.frames[p.0].compound else {
            return false;
        };
        let t = c.tail.load(Ordering::Acquire) == 1;
        self.note(func, format!("PageTail({}) = {t}", self.world.name(p)));
        t
    }

    /// `get_huge_page_tail(p)`: `atomic_inc(&page->_mapcount)` on a tail gup returns.
    pub fn get_huge_page_tail(&self, p: FrameId, func: &'static str) {
        let n = self.compound(p).tail_pins.fetch_add(1, Ordering::Relaxed);
        self.note(
            func,
            format!(
                "get_huge_page_tail({}): _mapcount {n} -> {}",
                self.world.name(p),
                n + 1
            ),
        );
    }

    /// `compound_lock(head)`.
    fn compound_lock(&self, head: FrameId, func: &'static str) {
        if let Some(l) = &self.compound(head).lock {
            l.lock();
        }
        self.note(func, format!("compound_lock({})", self.world.name(head)));
    }

    fn compound_unlock(&self, head: FrameId, func: &'static str) {
        self.note(func, format!("compound_unlock({})", self.world.name(head)));
        if let Some(l) = &self.compound(head).lock {
            l.unlock();
        }
    }

    /// `__split_huge_page_refcount(head)` for its `tails` tail pages.
    pub fn split_huge_page_refcount(&self, head: FrameId, tails: usize) {
        const F: &str = "__split_huge_page_refcount";
        self.compound_lock(head, F);
        let mut tail_count = 0;
        for i in 1..=tails {
            let t = FrameId(head.0 + i);
            let c = self.compound(t);
            let pins = c.tail_pins.swap(0, Ordering::Relaxed);
            tail_count += pins;
            self.page_ref_add(t, pins + 1, F);
            c.tail.store(0, Ordering::Release);
            self.note(F, format!("ClearPageTail({})", self.world.name(t)));
        }
        if tail_count > 0 {
            self.page_ref_sub(head, tail_count, F);
        }
        self.compound_unlock(head, F);
    }

    /// `put_page(p)` for a page gup returned: `put_compound_page` for a (former) tail.
    pub fn put_user_page(&self, p: FrameId, func: &'static str) {
        if self.world.frames[p.0].compound.is_none() || self.compound_head(p) == p {
            self.put_page(p, func);
            return;
        }
        let head = self.compound_head(p);
        self.compound_lock(head, "put_compound_page");
        if self.page_tail(p, "put_compound_page") {
            let c = self.compound(p);
            c.tail_pins.fetch_sub(1, Ordering::Relaxed);
            self.compound_unlock(head, "put_compound_page");
            self.put_page(head, "put_compound_page");
        } else {
            self.compound_unlock(head, "put_compound_page");
            self.put_page(p, "put_compound_page");
        }
    }
}
