//! The entry-value oracles (DESIGN.md §6): a walker must act only on a value the entry actually
//! held as a whole (else `torn`), the value it tested (else, on a reload, `stale`), with the
//! meaning the walker gives it (else `misread`).
//!
//! The shadow records every value each entry has held ([`crate::world::Shadow`], written in
//! interleaving order by every store and exchange, no scheduling point). When a lockless walker
//! *acts on* a value it read — dereferences it as a table pointer ([`Meaning::Table`]), or pins /
//! returns the page it maps as a leaf ([`Meaning::Leaf`]) — [`Ctx::act_on`] checks that:
//! - the value was held by that entry at some point (a value combined from two reads never was);
//! - as a table pointer it was a table pointer (not a huge leaf, not empty, not an invalidated
//!   leaf);
//! - as a leaf it was a leaf, present or invalidated by `pmdp_invalidate` (which keeps the pfn
//!   and `_PAGE_PTE`), not a table pointer and not empty.
//!
//! A walker that dereferences a data page as a page table (it followed a leaf as if it were a
//! table pointer) is reported by the same violation at the access, instead of crashing the
//! model: [`crate::World::load`] and friends check the frame is a table first (`misread`).

use crate::entry::{Entry, FrameId};
use crate::trace::Actor;
use crate::violation::{self, Violation};
use crate::world::{Ctx, FrameKind, World};

/// What a walker takes an entry value to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meaning {
    /// A pointer to the next-level table, which the walker is about to dereference.
    Table,
    /// A leaf (a pte, or a huge pmd) whose page the walker pins or returns.
    Leaf,
}

impl World {
    /// The frame an access goes to must be a page table with that slot: a walker that follows
    /// a leaf or an empty entry as a table pointer lands on a data page (or the wrong table).
    pub(crate) fn check_is_table(&self, who: Actor, t: FrameId, slot: usize, func: &'static str) {
        match self.frames.get(t.0) {
            Some(f) if f.kind != FrameKind::Data && slot < self.slots(t) => {}
            _ => self.not_a_table(who, t, slot, func),
        }
    }

    /// The misread [`World::check_is_table`] reports (out of the hot path: it formats).
    #[cold]
    #[inline(never)]
    fn not_a_table(&self, who: Actor, t: FrameId, slot: usize, func: &'static str) -> ! {
        let detail = match self.frames.get(t.0) {
            None => format!("pfn {} is outside the frame pool", t.0),
            Some(f) if f.kind == FrameKind::Data => {
                format!("dereferenced {}, a data page, as a page table", f.name)
            }
            Some(f) => format!("{} has no entry {slot}", f.name),
        };
        violation::raise(Violation::Misread {
            by: who,
            func,
            seen: format!("{}[{slot}]", self.name_or_pfn(t)),
            detail,
        });
    }

    fn name_or_pfn(&self, t: FrameId) -> String {
        self.frames
            .get(t.0)
            .map(|f| f.name.to_string())
            .unwrap_or_else(|| format!("pfn {}", t.0))
    }

    /// The values entry `slot` of `t` has held so far.
    pub fn history(&self, t: FrameId, slot: usize) -> Vec<Entry> {
        self.shadow().values.held(t, slot)
    }

    /// Whether entry `slot` of `t` ever held `e` as a whole (without copying its history).
    fn ever_held(&self, t: FrameId, slot: usize, e: Entry) -> bool {
        self.shadow().values.ever_held(t, slot, e)
    }
}

impl Ctx {
    /// The oracle at the point a walker acts on `v`, read from entry `slot` of table `t`, as
    /// `meaning`, having tested that same value (see [`Ctx::act_on_tested`]).
    pub fn act_on(&self, t: FrameId, slot: usize, v: Entry, meaning: Meaning, func: &'static str) {
        self.act_on_tested(t, slot, v, v, meaning, func)
    }

    /// The oracle at the point a walker acts on `used`, read from entry `slot` of table `t`, as
    /// `meaning`, after testing `tested` (the same value when it reads once; an earlier read
    /// when it reloads). In order:
    /// - `torn`: `used` is no value the entry ever held as a whole (split halves of two values);
    /// - `stale`: `used` is a reload that differs from the value tested, and has not the meaning
    ///   the test established (a leaf tested, a table pointer used);
    /// - `misread`: the value tested and used has not the meaning the walker gives it.
    pub fn act_on_tested(
        &self,
        t: FrameId,
        slot: usize,
        tested: Entry,
        used: Entry,
        meaning: Meaning,
        func: &'static str,
    ) {
        let w = &self.world;
        // Formatted only when a violation is raised (this runs on every walker step).
        let seen = || format!("{}[{slot}] = {}", w.name(t), w.show(used));
        if !w.ever_held(t, slot, used) {
            let held = w.history(t, slot);
            violation::raise(Violation::Torn {
                by: self.actor,
                func,
                seen: seen(),
                detail: format!(
                    "{} held only {}",
                    w.name(t),
                    held.iter()
                        .map(|h| w.show(*h).to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let wrong = match meaning {
            Meaning::Table if used.is_none() => Some("an empty entry used as a table pointer"),
            Meaning::Table if !used.is_table() => Some("a huge leaf used as a table pointer"),
            Meaning::Leaf if used.is_none() => Some("an empty entry used as a leaf"),
            Meaning::Leaf if used.flags().contains(crate::EntryFlags::TABLE) => {
                Some("a table pointer used as a huge leaf")
            }
            _ => None,
        };
        let Some(wrong) = wrong else { return };
        if !used.same(tested) {
            violation::raise(Violation::Stale {
                by: self.actor,
                func,
                seen: seen(),
                tested: w.show(tested).to_string(),
                detail: wrong.into(),
            });
        }
        violation::raise(Violation::Misread {
            by: self.actor,
            func,
            seen: seen(),
            detail: wrong.into(),
        });
    }
}
