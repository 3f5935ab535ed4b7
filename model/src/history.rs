//! The never-existed oracle (DESIGN.md §6): a walker must act only on an entry value the entry
//! actually held, with the meaning the walker gives it.
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
//! model: [`crate::World::load`] and friends check the frame is a table first.

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
    /// Record that entry `slot` of `t` now holds `e` (shadow only).
    pub(crate) fn record_value(&self, t: FrameId, slot: usize, e: Entry) {
        let mut s = self.shadow();
        let h = s.history.entry((t.0, slot)).or_default();
        if !h.iter().any(|v| v.same(e)) {
            h.push(e);
        }
    }

    /// The frame an access goes to must be a page table with that slot: a walker that follows
    /// a leaf or an empty entry as a table pointer lands on a data page (or the wrong table).
    pub(crate) fn check_is_table(&self, who: Actor, t: FrameId, slot: usize, func: &'static str) {
        let bad = match self.frames.get(t.0) {
            None => Some(format!("pfn {} is outside the frame pool", t.0)),
            Some(f) if f.kind == FrameKind::Data => Some(format!(
                "dereferenced {}, a data page, as a page table",
                f.name
            )),
            Some(f) if slot >= self.slots(t) => Some(format!("{} has no entry {slot}", f.name)),
            _ => None,
        };
        if let Some(detail) = bad {
            violation::raise(Violation::NeverExisted {
                by: who,
                func,
                seen: format!("{}[{slot}]", self.name_or_pfn(t)),
                detail,
            });
        }
    }

    fn name_or_pfn(&self, t: FrameId) -> String {
        self.frames
            .get(t.0)
            .map(|f| f.name.clone())
            .unwrap_or_else(|| format!("pfn {}", t.0))
    }

    /// The values entry `slot` of `t` has held so far.
    pub fn history(&self, t: FrameId, slot: usize) -> Vec<Entry> {
        self.shadow()
            .history
            .get(&(t.0, slot))
            .cloned()
            .unwrap_or_else(|| vec![Entry::NONE])
    }
}

impl Ctx {
    /// The never-existed oracle at the point a walker acts on `v`, read from entry `slot` of
    /// table `t`, as `meaning` (see the module docs).
    pub fn act_on(&self, t: FrameId, slot: usize, v: Entry, meaning: Meaning, func: &'static str) {
        let w = &self.world;
        let held = w.history(t, slot);
        let what = format!("{}[{slot}] = {}", w.name(t), w.show(v));
        let detail = if !held.iter().any(|h| h.same(v)) {
            Some(format!(
                "{} held only {}: the value is combined from two reads",
                w.name(t),
                held.iter()
                    .map(|h| w.show(*h))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        } else {
            match meaning {
                Meaning::Table if v.is_none() => {
                    Some("an empty entry used as a table pointer".into())
                }
                Meaning::Table if !v.is_table() => {
                    Some("a huge leaf used as a table pointer".into())
                }
                Meaning::Leaf if v.is_none() => Some("an empty entry used as a leaf".into()),
                Meaning::Leaf if v.flags().contains(crate::EntryFlags::TABLE) => {
                    Some("a table pointer used as a huge leaf".into())
                }
                _ => None,
            }
        };
        if let Some(detail) = detail {
            violation::raise(Violation::NeverExisted {
                by: self.actor,
                func,
                seen: what,
                detail,
            });
        }
    }
}
