//! struct page reference counts (`page->_refcount`, `folio_ref_*`).
//!
//! A data page is live while its count is above zero; the put that drops it to zero frees the
//! page (`__put_page` -> `free_unref_page`), which bumps its generation. Speculative references
//! (`get_page_unless_zero`, `page_cache_get_speculative`, `folio_try_get`) refuse a zero count;
//! a plain `get_page` on a freed page resurrects it, which the pin oracle reports, and so does
//! a walker's plain `get_page` on a page freed since it read the entry mapping it, even if the
//! page was reallocated in between ([`Ctx::get_page_via`]).

use crate::entry::{Entry, FrameId};
use crate::rt::{fence, Ordering};
use crate::trace::What;
use crate::violation::{self, Violation};
use crate::world::Ctx;

impl Ctx {
    /// `get_page_unless_zero` (`atomic_inc_not_zero` / `atomic_add_unless`): fully ordered
    /// when it succeeds, unordered when it fails (the count was zero: nothing is written).
    ///
    /// The model cannot put an `smp_mb()` before the RMW only when it will succeed: a
    /// successful one is an acquire-release RMW followed by `smp_mb()`; a failed one a relaxed
    /// load. Against the kernel's full barrier before a successful RMW this lets a later
    /// reader of the new count order less of what came before it, never more.
    pub fn get_page_unless_zero(&self, p: FrameId, func: &'static str) -> bool {
        let w = &self.world;
        let r =
            w.frames[p.0]
                .page()
                .refcount
                .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| {
                    if c == 0 {
                        None
                    } else {
                        Some(c + 1)
                    }
                });
        if r.is_ok() {
            fence(Ordering::SeqCst);
        }
        match r {
            Ok(c) => self.note(
                func,
                What::Count {
                    op: "get_page_unless_zero",
                    page: w.name(p),
                    from: c,
                    to: c + 1,
                },
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
        let c = w.frames[p.0]
            .page()
            .refcount
            .fetch_add(1, Ordering::Relaxed);
        self.note(
            func,
            What::Count {
                op: "get_page",
                page: w.name(p),
                from: c,
                to: c + 1,
            },
        );
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

    /// `get_page` by a lockless walker on `p`, found through entry `via` it read: the walker
    /// holds no reference of its own, only the mapping's, which is what makes the plain
    /// increment correct (x86's gup_fast before v4.13: the IPI of the TLB flush cannot reach a
    /// CPU with interrupts off, so the unmapper cannot free the page under it). A page freed
    /// since `via` was written (its generation moved, [`Entry::ghost_gen`]) is a pin of a
    /// freed page even though it was reallocated first and the count was not zero
    /// ([`Violation::GetPageOfFreedPage`]); a count of zero is caught as by [`Ctx::get_page`].
    pub fn get_page_via(&self, p: FrameId, via: Entry, func: &'static str) {
        self.get_page(p, func);
        if let Some(freed) = self.freed_since(p, via) {
            violation::raise(Violation::GetPageOfFreedPage {
                page: self.world.name(p).to_string(),
                by: self.actor,
                func,
                freed,
            });
        }
    }

    /// The last free of `p` if it came after entry `via`, which maps `p`, was written: the
    /// page's generation has moved past the entry's ghost tag ([`Entry::ghost_gen`]).
    fn freed_since(&self, p: FrameId, via: Entry) -> Option<crate::violation::FreedAt> {
        let w = &self.world;
        (via.ghost_gen() != w.generation(p))
            .then(|| w.last_freed_at(p).expect("generation moved without a free"))
    }

    /// `page_add_new_anon_rmap` -> `__page_set_anon_rmap`: `page->mapping = vma->anon_vma` for a
    /// new anonymous page (exclusive: the anon_vma itself is not dereferenced). A write to the
    /// `struct page`: the use-after-free oracle applies to a page already freed.
    pub fn page_set_anon_rmap(&self, p: FrameId, anon_vma: FrameId, func: &'static str) {
        let w = &self.world;
        w.frames[p.0]
            .page()
            .mapping()
            .store(anon_vma.0 as u64 + 1, Ordering::Relaxed);
        self.note(
            func,
            What::Text(format!("{}->mapping := {}", w.name(p), w.name(anon_vma))),
        );
        w.touch(self.actor, p, "wrote page->mapping of", func);
    }

    /// `put_page`: drop a reference; the last one frees the page (`__put_page`).
    pub fn put_page(&self, p: FrameId, func: &'static str) {
        let w = &self.world;
        fence(Ordering::SeqCst);
        let c = w.frames[p.0]
            .page()
            .refcount
            .fetch_sub(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.note(
            func,
            What::Count {
                op: "put_page",
                page: w.name(p),
                from: c,
                to: c.wrapping_sub(1),
            },
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
        if let Some(freed) = self.freed_since(p, via) {
            violation::raise(Violation::PinOfFreedPage {
                page: self.world.name(p).to_string(),
                by: self.actor,
                func,
                freed,
            });
        }
        self.world.shadow().pins.push((self.actor, p));
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
        let c = w.frames[p.0]
            .page()
            .refcount
            .fetch_add(n, Ordering::Relaxed);
        self.note(
            func,
            format!("page_ref_add({}, {n}): {c} -> {}", w.name(p), c + n),
        );
    }

    /// `page_ref_sub(p, n)` (`atomic_sub`, the caller holds another reference).
    pub fn page_ref_sub(&self, p: FrameId, n: u64, func: &'static str) {
        let w = &self.world;
        let c = w.frames[p.0]
            .page()
            .refcount
            .fetch_sub(n, Ordering::Relaxed);
        self.note(
            func,
            format!(
                "page_ref_sub({}, {n}): {c} -> {}",
                w.name(p),
                c.wrapping_sub(n)
            ),
        );
    }

    /// `page_count(page)` read by a writer deciding whether only the mapping holds the page
    /// (`is_refcount_suitable` in `__collapse_huge_page_isolate`). Acquire: the copy that
    /// follows must see the data of every reference already dropped.
    pub fn page_count(&self, p: FrameId, func: &'static str) -> u64 {
        let w = &self.world;
        let c = w.frames[p.0].page().refcount.load(Ordering::Acquire);
        self.note(func, format!("page_count({}) = {c}", w.name(p)));
        c
    }

    /// The gup caller writes the page through its pin (`FOLL_WRITE`: DMA, `O_DIRECT` read).
    pub fn write_through_pin(&self, p: FrameId, func: &'static str) {
        let w = &self.world;
        let v = w.frames[p.0]
            .page()
            .content()
            .fetch_add(1, Ordering::Relaxed);
        self.note(
            func,
            format!("write {} through the pin: data {v} -> {}", w.name(p), v + 1),
        );
        w.shadow().writes.push((self.actor, p));
    }

    /// Copy the data of `from` into `to` (`copy_mc_user_highpage` in
    /// `__collapse_huge_page_copy`).
    pub fn copy_page(&self, from: FrameId, to: FrameId, func: &'static str) {
        let w = &self.world;
        let v = w.frames[from.0].page().content().load(Ordering::Relaxed);
        w.frames[to.0].page().content().store(v, Ordering::Relaxed);
        self.note(
            func,
            format!("copy {} -> {}: data {v}", w.name(from), w.name(to)),
        );
    }
}

impl crate::World {
    /// The lost-update oracle, on the final state: if the address now maps `mapped`, every write
    /// made through a gup pin of another page must have reached it (the page it was copied
    /// from must have been copied after the write). A write to a page that was copied away
    /// before it is lost: the task reads `mapped` and never sees it.
    pub fn check_no_lost_write(&self, mapped: Option<FrameId>) {
        let Some(x) = mapped else { return };
        let writes = self.shadow().writes.clone();
        for (who, y) in writes {
            if y == x {
                continue;
            }
            let written = self.shadow().writes.iter().filter(|(_, p)| *p == y).count() as u64;
            let have = self.frames[x.0].page().content().load(Ordering::Acquire);
            if have < written {
                violation::raise(Violation::LostUpdate {
                    by: who,
                    func: "__get_user_pages_fast (write through the pin)",
                    frame: self.name(y).to_string(),
                    what: "data".into(),
                    why: format!(
                        "but the address now maps {}, copied from {} before the write (data {have})",
                        self.name(x),
                        self.name(y)
                    ),
                });
            }
        }
    }
}
