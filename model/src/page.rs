//! struct page reference counts (`page->_refcount`, `folio_ref_*`).
//!
//! A data page is live while its count is above zero; the put that drops it to zero frees the
//! page (`__put_page` -> `free_unref_page`), which bumps its generation. Speculative references
//! (`get_page_unless_zero`, `page_cache_get_speculative`, `folio_try_get`) refuse a zero count;
//! a plain `get_page` on a freed page resurrects it, which the pin oracle reports.

use crate::entry::{Entry, FrameId};
use crate::rt::{fence, Ordering};
use crate::violation::{self, Violation};
use crate::world::Ctx;

impl Ctx {
    /// `get_page_unless_zero` (`atomic_inc_not_zero`: fully ordered when it succeeds).
    pub fn get_page_unless_zero(&self, p: FrameId, func: &'static str) -> bool {
        let w = &self.world;
        fence(Ordering::SeqCst);
        let r = w.frames[p.0]
            .refcount
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                if c == 0 {
                    None
                } else {
                    Some(c + 1)
                }
            });
        fence(Ordering::SeqCst);
        match r {
            Ok(c) => self.note(
                func,
                format!("get_page_unless_zero({}): {c} -> {}", w.name(p), c + 1),
            ),
            Err(_) => self.note(
                func,
                format!("get_page_unless_zero({}): count is 0, fail", w.name(p)),
            ),
        }
        r.is_ok()
    }

    /// `get_page` (`atomic_inc`): the caller must already hold a reference.
    pub fn get_page(&self, p: FrameId, func: &'static str) {
        let w = &self.world;
        let c = w.frames[p.0].refcount.fetch_add(1, Ordering::Relaxed);
        self.note(func, format!("get_page({}): {c} -> {}", w.name(p), c + 1));
        if c == 0 {
            // The count was zero: the page had been freed and this reference resurrects it.
            let freed = w.last_freed_at(p).expect("refcount 0 without a free");
            violation::raise(Violation::PinOfFreedPage {
                page: w.name(p).to_string(),
                by: self.actor,
                func,
                freed,
            });
        }
    }

    /// `put_page`: drop a reference; the last one frees the page (`__put_page`).
    pub fn put_page(&self, p: FrameId, func: &'static str) {
        let w = &self.world;
        fence(Ordering::SeqCst);
        let c = w.frames[p.0].refcount.fetch_sub(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.note(
            func,
            format!("put_page({}): {c} -> {}", w.name(p), c.wrapping_sub(1)),
        );
        if c == 1 {
            self.free(p, func);
            if self.world.reuses_freed_pages() {
                // The next allocation on a busy machine takes it from the per-cpu free list.
                self.world.reuse(self.actor, p, "alloc_pages");
            }
        }
    }

    /// The pin oracle, at the point a walker hands `p` to its caller pinned, having found it
    /// through entry `via`: the page must not have been freed since `via` was written.
    pub fn check_pin(&self, p: FrameId, via: Entry, func: &'static str) {
        let w = &self.world;
        if via.ghost_gen() != w.generation(p) {
            let freed = w.last_freed_at(p).expect("generation moved without a free");
            violation::raise(Violation::PinOfFreedPage {
                page: w.name(p).to_string(),
                by: self.actor,
                func,
                freed,
            });
        }
        w.shadow().pins.push((self.actor, p));
    }

    /// The caller of gup is done with the page (`put_page` / `unpin_user_page`).
    pub fn unpin(&self, p: FrameId, func: &'static str) {
        {
            let mut s = self.world.shadow();
            if let Some(i) = s.pins.iter().position(|&(a, q)| a == self.actor && q == p) {
                s.pins.remove(i);
            }
        }
        self.put_user_page(p, func);
    }
}

impl Ctx {
    /// `page_ref_add(p, n)` (`atomic_add`): used by `__split_huge_page_refcount`.
    pub fn page_ref_add(&self, p: FrameId, n: u64, func: &'static str) {
        let w = &self.world;
        let c = w.frames[p.0].refcount.fetch_add(n, Ordering::Relaxed);
        self.note(
            func,
            format!("page_ref_add({}, {n}): {c} -> {}", w.name(p), c + n),
        );
    }

    /// `page_ref_sub(p, n)` (`atomic_sub`, the caller holds another reference).
    pub fn page_ref_sub(&self, p: FrameId, n: u64, func: &'static str) {
        let w = &self.world;
        let c = w.frames[p.0].refcount.fetch_sub(n, Ordering::Relaxed);
        self.note(
            func,
            format!(
                "page_ref_sub({}, {n}): {c} -> {}",
                w.name(p),
                c.wrapping_sub(n)
            ),
        );
    }
}
