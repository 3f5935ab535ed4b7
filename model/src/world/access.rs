//! Entry and field accesses: every load, store and exchange of a table entry or object field
//! checks the frame is live (the interleaving-order use-after-free oracle), records its epoch
//! in the frame's happens-before shadow (the unordered-free oracle, [`crate::rt::Epochs`]),
//! records the trace step and the hazards it sets up; and the detach / lost-update bookkeeping
//! of tables unlinked from the tree.

use super::*;

impl World {
    /// Record that CPU `who` read `v` from entry `slot` of `t` (for the hazard witnesses).
    fn note_read(&self, s: &mut Shadow, who: Actor, t: FrameId, slot: usize, v: Entry) {
        let Actor::Cpu(n) = who else { return };
        let r = &mut s.frames[t.0].readers;
        if !r.contains(&(n, slot)) {
            r.push((n, slot));
        }
        let p = v.pfn().0;
        if v.is_leaf() && p < self.frames.len() && self.frames[p].kind == FrameKind::Data {
            let by = &mut s.frames[p].reached_by;
            if !by.contains(&n) {
                by.push(n);
            }
        }
    }

    /// `who` changed or freed something that the CPUs satisfying `read` had read: an
    /// opportunity for hazard `h`, and the hazard itself if one of them is still walking.
    pub(super) fn note_hazard(
        s: &mut Shadow,
        who: Actor,
        h: Hazards,
        read: impl Fn(usize) -> bool,
    ) {
        let others = (0..s.finished.len()).filter(|&n| Actor::Cpu(n) != who && read(n));
        for n in others {
            s.opportunities |= h;
            if !s.finished[n] {
                s.hazards |= h;
            }
        }
    }

    /// `who` rewrote entry `slot` of `t`: an entry-changed hazard if a walker read it.
    fn note_write(s: &mut Shadow, who: Actor, t: FrameId, slot: usize) {
        let readers = std::mem::take(&mut s.frames[t.0].readers);
        Self::note_hazard(s, who, Hazards::ENTRY_CHANGED, |n| {
            readers.contains(&(n, slot))
        });
        s.frames[t.0].readers = readers;
    }

    /// The oracle at every access to a frame (called right after the access's trace step): it
    /// must not be freed (interleaving order), and, under loom, the access is recorded so that a
    /// later unordered free is caught.
    pub(crate) fn touch(&self, who: Actor, f: FrameId, access: &'static str, func: &'static str) {
        let step = trace::snapshot_len().saturating_sub(1);
        self.touch_in(&mut self.shadow(), who, f, step, access, func);
    }

    /// [`World::touch`] inside a borrow of the shadow, for the access made in trace step
    /// `step`: the entry accesses below keep one borrow for the whole of their bookkeeping.
    #[inline(always)]
    fn touch_in(
        &self,
        s: &mut Shadow,
        who: Actor,
        f: FrameId,
        step: usize,
        access: &'static str,
        func: &'static str,
    ) {
        let (frame, fs) = (&self.frames[f.0], &mut s.frames[f.0]);
        if let Some(freed) = &fs.freed {
            self.access_after_free(who, f, access, func, freed.clone());
        }
        fs.epochs.access(frame.contents, &frame.name);
        // The most recent access of each actor (a free blames the latest by step).
        let acc = &mut fs.accesses;
        match acc.iter_mut().find(|(a, _, _, _)| *a == who) {
            Some(last) => *last = (who, func, step, access),
            None => acc.push((who, func, step, access)),
        }
    }

    /// After a read of entry `slot` of `t` in trace step `step`: [`World::touch`], and the
    /// reader noted for the hazards.
    #[inline(always)]
    fn after_read(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        v: Entry,
        step: usize,
        func: &'static str,
    ) {
        let mut s = self.shadow();
        self.touch_in(&mut s, who, t, step, "read", func);
        self.note_read(&mut s, who, t, slot, v);
    }

    /// After a write of `e` to entry `slot` of `t` in trace step `step`: the value recorded for
    /// the entry-value oracles (`EntryValues`), [`World::touch`], the entry-changed hazard, and
    /// the lost-update check of a write into a detached table (`table`: an entry, not an
    /// object's field).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn after_write(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        e: Entry,
        step: usize,
        table: bool,
        func: &'static str,
    ) {
        let mut s = self.shadow();
        s.values.record(t, slot, e, Some(who));
        self.touch_in(&mut s, who, t, step, "wrote", func);
        Self::note_write(&mut s, who, t, slot);
        if table && !e.is_none() && s.frames[t.0].detached {
            drop(s);
            self.write_into_detached(who, t, e, func);
        }
    }

    /// The use-after-free [`World::touch`] reports (out of the hot path).
    #[cold]
    #[inline(never)]
    fn access_after_free(
        &self,
        who: Actor,
        f: FrameId,
        access: &'static str,
        func: &'static str,
        freed: FreedAt,
    ) -> ! {
        violation::raise(Violation::UseAfterFree {
            frame: self.frames[f.0].name.to_string(),
            by: who,
            access,
            func,
            freed,
            order: UafOrder::AfterFree,
        });
    }

    /// Load entry `slot` of table `t` (`READ_ONCE(*pXdp)` and friends): one scheduling point,
    /// then the use-after-free oracle in the same step (DESIGN.md §2: the check must follow the
    /// racy load with no scheduling point between).
    pub fn load(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        o: Ordering,
        func: &'static str,
    ) -> Entry {
        self.check_is_table(who, t, slot, func);
        let v = Entry(self.word(t, slot).load(o));
        let step = trace::record_with(who, func, || {
            (
                What::Read {
                    table: self.name(t),
                    slot,
                    value: self.show(v),
                },
                Some(EntryAccess {
                    entry: (t.0, slot),
                    write: false,
                    value: v.0,
                }),
            )
        });
        self.after_read(who, t, slot, v, step, func);
        if v == Entry::DEPOSIT_LINK {
            self.misread_deposit_link(who, t, slot, func);
        }
        v
    }

    /// A walker read the deposit's list link as an entry (out of the hot path).
    #[cold]
    #[inline(never)]
    fn misread_deposit_link(&self, who: Actor, t: FrameId, slot: usize, func: &'static str) -> ! {
        violation::raise(Violation::Misread {
            by: who,
            func,
            seen: format!(
                "{}[{slot}] = {}",
                self.name(t),
                self.show(Entry::DEPOSIT_LINK)
            ),
            detail: "not an entry: the list_head pgtable_trans_huge_deposit wrote over the first \
                     entries of the detached table, which reads as a present pte"
                .into(),
        });
    }

    /// Load word `slot` of kernel object `o` ([`WorldBuilder::object`]), a plain value named
    /// `field` in the trace (`vma->vm_sequence`, `vma->vm_flags`): one scheduling point, the
    /// use-after-free oracle in the same step, and the reader noted for the hazards (an object
    /// word holds no page-table entry, so it is never followed as one).
    pub fn load_field(
        &self,
        who: Actor,
        o: FrameId,
        slot: usize,
        field: &'static str,
        ord: Ordering,
        func: &'static str,
    ) -> u64 {
        self.check_is_table(who, o, slot, func);
        let v = self.word(o, slot).load(ord);
        let step = self.record_field(who, o, slot, field, v, false, func);
        self.after_read(who, o, slot, Entry::NONE, step, func);
        v
    }

    /// Store `v` to word `slot` of kernel object `o`, named `field` in the trace.
    #[allow(clippy::too_many_arguments)]
    pub fn store_field(
        &self,
        who: Actor,
        o: FrameId,
        slot: usize,
        field: &'static str,
        v: u64,
        ord: Ordering,
        func: &'static str,
    ) {
        self.check_is_table(who, o, slot, func);
        self.word(o, slot).store(v, ord);
        let step = self.record_field(who, o, slot, field, v, true, func);
        self.after_write(who, o, slot, Entry(v), step, false, func);
    }

    /// The trace step of a field access (with its entry access, for stale-read marking); returns
    /// its index.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn record_field(
        &self,
        who: Actor,
        o: FrameId,
        slot: usize,
        field: &'static str,
        value: u64,
        write: bool,
        func: &'static str,
    ) -> usize {
        trace::record_with(who, func, || {
            (
                What::Field {
                    object: self.name(o),
                    field,
                    value,
                    write,
                },
                Some(EntryAccess {
                    entry: (o.0, slot),
                    write,
                    value,
                }),
            )
        })
    }

    /// Store to entry `slot` of table `t` (`WRITE_ONCE`, `set_pte_at`, `pmd_populate`, ...).
    pub fn store(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        e: Entry,
        o: Ordering,
        func: &'static str,
    ) {
        self.check_is_table(who, t, slot, func);
        self.word(t, slot).store(e.0, o);
        let step = trace::record_with(who, func, || {
            (
                What::Write {
                    table: self.name(t),
                    slot,
                    value: self.show(e),
                },
                Some(EntryAccess {
                    entry: (t.0, slot),
                    write: true,
                    value: e.0,
                }),
            )
        });
        self.after_write(who, t, slot, e, step, true, func);
    }

    /// Exchange entry `slot` of table `t` (`xchg`: `ptep_get_and_clear`,
    /// `pmdp_huge_get_and_clear`); `full` adds `smp_mb()` on both sides (a fully ordered RMW).
    pub fn exchange(
        &self,
        who: Actor,
        t: FrameId,
        slot: usize,
        e: Entry,
        full: bool,
        func: &'static str,
    ) -> Entry {
        if full {
            rt::fence(Ordering::SeqCst);
        }
        self.check_is_table(who, t, slot, func);
        let old = Entry(self.word(t, slot).swap(e.0, Ordering::Relaxed));
        let step = trace::record_with(who, func, || {
            (
                What::Exchange {
                    table: self.name(t),
                    slot,
                    old: self.show(old),
                    new: self.show(e),
                },
                Some(EntryAccess {
                    entry: (t.0, slot),
                    write: true,
                    value: e.0,
                }),
            )
        });
        // The access's epoch is the swap's ([`crate::rt::Epochs::access`]): recorded before
        // the trailing `smp_mb()`, itself an event of this thread (neither is a scheduling
        // point, so nothing runs between them).
        self.after_write(who, t, slot, e, step, true, func);
        if full {
            rt::fence(Ordering::SeqCst);
        }
        old
    }

    /// The lost update [`World::after_write`] reports: `e` written into `t`, a table already
    /// detached from the tree (out of the hot path).
    #[cold]
    #[inline(never)]
    fn write_into_detached(&self, who: Actor, t: FrameId, e: Entry, func: &'static str) -> ! {
        violation::raise(Violation::LostUpdate {
            by: who,
            func,
            frame: self.name(t).to_string(),
            what: self.show(e).to_string(),
            why: "which was already detached from the tree".into(),
        })
    }

    /// Mark a table as unlinked from the tree (after `pmd_clear` & co): a later non-empty
    /// write into it is a lost update.
    pub fn mark_detached(&self, t: FrameId) {
        self.shadow().frames[t.0].detached = true;
    }

    /// A detached table handed out again without going through the page allocator (a
    /// page-table cache: the old `quicklist`s, an arch's pte-fragment cache): to its new owner
    /// it is a fresh table, so writes into it are not lost updates; a walker still inside it
    /// from its old place sees whatever the new owner writes (no poison: nothing was freed).
    pub fn reattach(&self, who: Actor, t: FrameId, func: &'static str) {
        self.shadow().frames[t.0].detached = false;
        trace::record(
            who,
            func,
            What::Suffixed {
                frame: self.name(t),
                text: "handed out again",
            },
        );
    }

    /// A remover that detaches a table it believes empty (`retract_page_tables`,
    /// `collapse_pte_mapped_thp` after clearing its ptes, empty-table reclaim): mark it
    /// detached, and report a live entry still in it (the value written last in interleaving
    /// order, which the lock the remover holds makes the one it would see) as an update lost
    /// with the table.
    pub fn detach(&self, who: Actor, t: FrameId, func: &'static str) {
        let live = {
            let mut s = self.shadow();
            s.frames[t.0].detached = true;
            (0..self.slots(t)).find_map(|i| {
                s.values
                    .current(t, i)
                    .filter(|(e, _)| !e.is_none() && *e != Entry::POISON)
                    .map(|(e, by)| (i, e, by))
            })
        };
        if let Some((i, e, by)) = live {
            violation::raise(Violation::EntryDiscarded {
                by: who,
                func,
                frame: format!("{}[{i}]", self.name(t)),
                what: self.show(e).to_string(),
                installed_by: by.map_or("the initial state".into(), |a| a.to_string()),
            });
        }
    }
}
