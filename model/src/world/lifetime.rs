//! Frame lifetime: the free (the allocator's write of every entry word), a freed data page
//! handed to another user, and the final-state leak oracle.

use super::*;

impl World {
    /// Return a frame to the allocator (`free_page`, `__free_page`, `pte_free`,
    /// `__tlb_remove_table`). Every earlier access must happen before this point.
    ///
    /// The free is an *access the explorers see* (DESIGN.md §2, "a free that is not an atomic
    /// access is invisible to DPOR"): the allocator writes the page it gets back (poisoning or
    /// zeroing with `init_on_free`, the free-list link, then the next owner's `clear_page`), so
    /// the free stores [`Entry::POISON`] into every entry word of a table frame. Each store is a
    /// scheduling point that conflicts with every load and store of that word, so loom's DPOR
    /// and shuttle both try "free, then the walker's access" wherever the two are not ordered,
    /// and the interleaving-order oracle in [`World::load`] reports it. The frame counts as freed
    /// from the first of those stores on (same step). A data page has no entry words: its free is
    /// the `put_page` that dropped the refcount to zero, itself an RMW that conflicts with every
    /// `get_page_unless_zero`, and a stale pin is caught by the pin oracle's generation check.
    pub fn free(&self, who: Actor, f: FrameId, func: &'static str) {
        {
            let s = self.shadow();
            if let Some(prev) = &s.frames[f.0].freed {
                let prev = prev.clone();
                drop(s);
                violation::raise(Violation::DoubleFree {
                    frame: self.name(f).to_string(),
                    by: who,
                    func,
                    freed: prev,
                });
            }
        }
        let words = &self.words[self.frames[f.0].words.range()];
        match words.first() {
            None => self.mark_freed(who, f, func),
            Some(first) => {
                first.store(Entry::POISON.0, Ordering::Relaxed);
                self.mark_freed(who, f, func);
                for s in &words[1..] {
                    s.store(Entry::POISON.0, Ordering::Relaxed);
                }
            }
        }
    }

    /// The bookkeeping of a free, in the step of the allocator's first write: the trace step,
    /// the causality check of earlier accesses (loom), the shadow state.
    pub(super) fn mark_freed(&self, who: Actor, f: FrameId, func: &'static str) {
        let step = trace::record_with(who, func, || (What::Free(self.name(f)), None));
        let here = FreedAt {
            by: who,
            func,
            step,
        };
        let ordered = self.shadow().frames[f.0]
            .epochs
            .free(self.frames[f.0].contents);
        if !ordered {
            self.raise_unordered_free(who, f, here.clone());
        }
        let mut s = self.shadow();
        let (readers, reached) = (
            std::mem::take(&mut s.frames[f.0].readers),
            std::mem::take(&mut s.frames[f.0].reached_by),
        );
        Self::note_hazard(&mut s, who, Hazards::TABLE_FREED, |n| {
            readers.iter().any(|&(r, _)| r == n)
        });
        Self::note_hazard(&mut s, who, Hazards::PAGE_FREED, |n| reached.contains(&n));
        let fs = &mut s.frames[f.0];
        (fs.readers, fs.reached_by) = (readers, reached);
        fs.freed = Some(here.clone());
        fs.last_freed = Some(here);
        fs.generation = fs.generation.wrapping_add(1);
    }

    /// The free `here` of `f` is not ordered after some earlier access to it (the epochs of
    /// the frame's shadow, [`crate::rt::Epochs`]): report the use-after-free it stands for, blaming the most recent
    /// access by another actor that is not known to be ordered before the free.
    fn raise_unordered_free(&self, who: Actor, f: FrameId, here: FreedAt) -> ! {
        let blamed = {
            let s = self.shadow();
            // An RCU callback's free is ordered after what its queuer did before `call_rcu`
            // (the runner is spawned there): blame another actor's access if there is one.
            let queued = match who {
                Actor::RcuCallback(n) => s.rcu_queued_by.get(n).copied(),
                Actor::Cpu(_) => None,
            };
            let ordered = |a: Actor, step: usize| queued.is_some_and(|(q, at)| q == a && step < at);
            let accesses = &s.frames[f.0].accesses;
            let latest = |unordered_only: bool| {
                accesses
                    .iter()
                    .filter(|(a, _, step, _)| *a != who && !(unordered_only && ordered(*a, *step)))
                    .max_by_key(|(_, _, step, _)| *step)
                    .copied()
            };
            latest(true).or_else(|| latest(false))
        };
        match blamed {
            Some((by, func, _, access)) => violation::raise(Violation::UseAfterFree {
                frame: self.name(f).to_string(),
                by,
                access,
                func,
                freed: here,
                order: UafOrder::NotOrderedBeforeFree,
            }),
            None => panic!(
                "model error: Causality violation: the free of {} by {who} is not ordered after \
                 an access no other actor made",
                self.name(f)
            ),
        }
    }

    /// The page allocator hands a freed data page to someone outside the scenario (the
    /// common case on a busy machine: the per-CPU free list is reused at once).
    ///
    /// The allocator orders the allocation after the free (zone lock, per-cpu lists); the model
    /// gets that edge from the refcount itself: `set_page_count(page, 1)` is done as a
    /// compare-exchange from 0 with acquire, reading the releasing put that freed the page.
    /// No epoch recorded: walkers never read a data page's contents, only its refcount.
    pub fn reuse(&self, who: Actor, f: FrameId, func: &'static str) {
        assert!(self.is_freed(f), "reuse of a live frame");
        let r = self.frames[f.0].page().refcount.compare_exchange(
            0,
            1,
            Ordering::Acquire,
            Ordering::Relaxed,
        );
        if let Err(c) = r {
            trace::record(
                who,
                func,
                format!("{} not reallocated: refcount {c}", self.name(f)),
            );
            return;
        }
        {
            let mut s = self.shadow();
            let fs = &mut s.frames[f.0];
            fs.freed = None;
            fs.reused = true;
            fs.accesses.clear();
            fs.reached_by.clear();
        }
        trace::record(
            who,
            func,
            What::Suffixed {
                frame: self.name(f),
                text: "reallocated to another user (refcount 1)",
            },
        );
    }

    /// Entries of table `t` as now seen by the finishing thread (final-state oracles only).
    pub fn final_entry(&self, t: FrameId, slot: usize) -> Entry {
        Entry(self.word(t, slot).load(Ordering::Acquire))
    }

    /// Entry word `slot` of frame `t` (the explorer's atomic).
    #[inline]
    pub(crate) fn word(&self, t: FrameId, slot: usize) -> &Atomic {
        &self.words[self.frames[t.0].words.at(slot)]
    }

    pub fn slots(&self, t: FrameId) -> usize {
        self.frames[t.0].words.len as usize
    }

    /// The end-of-execution oracle: every table frame is either freed or reachable from a
    /// root; every data page's refcount equals its mappings plus the pins still held plus one
    /// for a reuse by another user; a page whose count is zero has been freed.
    ///
    /// An execution can break several of these at once (a tail page freed while still mapped
    /// *and* a head reference leaked); the most severe is reported, naming its frame: a table
    /// freed but still linked, then a page freed while still mapped, then a leak.
    pub fn check_no_leak(&self, roots: &[FrameId]) {
        // Scratch vectors from the pool (the oracle runs once per execution).
        let (mut reachable, mut mapcount, mut stack) = {
            let mut s = self.shadow();
            (
                std::mem::take(&mut s.scratch_reachable),
                std::mem::take(&mut s.scratch_mapcount),
                std::mem::take(&mut s.scratch_stack),
            )
        };
        reachable.resize(self.frames.len(), false);
        mapcount.resize(self.frames.len(), 0);
        stack.extend_from_slice(roots);
        while let Some(t) = stack.pop() {
            if reachable[t.0] {
                continue;
            }
            reachable[t.0] = true;
            for i in 0..self.slots(t) {
                if self.frames[t.0].fields & (1 << i) != 0 {
                    continue;
                }
                let e = self.final_entry(t, i);
                if e.is_table() {
                    stack.push(e.pfn());
                } else if e.is_leaf() && e.pfn().0 < self.frames.len() {
                    mapcount[e.pfn().0] += 1;
                }
            }
        }
        // The most severe finding, the first frame's among equals (lower rank is worse).
        let mut worst: Option<(u8, usize, Finding)> = None;
        let s = self.shadow();
        for (i, f) in self.frames.iter().enumerate() {
            let fs = &s.frames[i];
            let found = match f.kind {
                FrameKind::Table(_) | FrameKind::Object => match (&fs.freed, reachable[i]) {
                    (None, false) => Some((2, Finding::Unreachable)),
                    (Some(_), true) => Some((0, Finding::TableStillLinked)),
                    _ => None,
                },
                FrameKind::Data => {
                    let pins = s.pins.iter().filter(|(_, p)| p.0 == i).count() as u64;
                    let mapped = mapcount[i];
                    let want = mapped + pins + u64::from(fs.reused);
                    let have = f.page().refcount.load(Ordering::Acquire);
                    match (&fs.freed, mapped) {
                        (Some(_), m) if m > 0 => Some((1, Finding::PageStillMapped { mapped })),
                        // Freed, given to another user, and still mapped: the mapping took
                        // no reference of its own (the count is short of it) and now shows
                        // someone else's page. The free is what the report names.
                        (None, m)
                            if m > 0 && have < want && fs.reused && fs.last_freed.is_some() =>
                        {
                            Some((1, Finding::MappedAfterReuse { mapped }))
                        }
                        _ if have != want => Some((
                            2,
                            Finding::Refcount {
                                have,
                                want,
                                mapped,
                                pins,
                            },
                        )),
                        (None, _) if have == 0 => Some((2, Finding::ZeroNeverFreed)),
                        _ => None,
                    }
                }
            };
            if let Some((rank, finding)) = found {
                if worst.as_ref().is_none_or(|(r, _, _)| rank < *r) {
                    worst = Some((rank, i, finding));
                }
            }
        }
        drop(s);
        reachable.clear();
        mapcount.clear();
        {
            let mut s = self.shadow();
            (s.scratch_reachable, s.scratch_mapcount, s.scratch_stack) =
                (reachable, mapcount, stack);
        }
        if let Some((_, i, finding)) = worst {
            self.report_leak(FrameId(i), finding);
        }
    }

    /// The violation a [`Finding`] of the leak oracle stands for (out of the hot path: it
    /// formats).
    #[cold]
    #[inline(never)]
    fn report_leak(&self, f: FrameId, finding: Finding) -> ! {
        let name = self.name(f);
        let (freed, last_freed, reused) = {
            let s = self.shadow();
            let fs = &s.frames[f.0];
            (fs.freed.clone(), fs.last_freed.clone(), fs.reused)
        };
        let entries = |m: u64| format!("{m} entr{}", if m == 1 { "y" } else { "ies" });
        violation::raise(match finding {
            Finding::Unreachable => Violation::Leak {
                detail: format!("{name} is neither freed nor reachable"),
            },
            Finding::TableStillLinked => Violation::FreedWhileMapped {
                frame: name.to_string(),
                what: "still linked in the tree".into(),
                freed: freed.expect("a finding of a freed frame"),
            },
            Finding::PageStillMapped { mapped } => Violation::FreedWhileMapped {
                frame: name.to_string(),
                what: format!("still mapped by {}", entries(mapped)),
                freed: freed.expect("a finding of a freed frame"),
            },
            Finding::MappedAfterReuse { mapped } => Violation::FreedWhileMapped {
                frame: name.to_string(),
                what: format!(
                    "still mapped by {} after it was reallocated to another user",
                    entries(mapped)
                ),
                freed: last_freed.expect("a finding of a reused frame"),
            },
            Finding::Refcount {
                have,
                want,
                mapped,
                pins,
            } => Violation::Leak {
                detail: format!(
                    "{name} has refcount {have}, expected {want} ({mapped} mappings, {pins} pins, \
                     {} other user)",
                    u64::from(reused)
                ),
            },
            Finding::ZeroNeverFreed => Violation::Leak {
                detail: format!("{name} has refcount 0 but was never freed"),
            },
        })
    }
}

/// What the leak oracle ([`World::check_no_leak`]) found wrong with one frame, formatted into
/// a [`Violation`] only when it is reported.
enum Finding {
    /// A table or object neither freed nor reachable from a root.
    Unreachable,
    /// A table freed but still linked in the tree.
    TableStillLinked,
    /// A data page freed while `mapped` entries still map it.
    PageStillMapped { mapped: u64 },
    /// A data page freed, reallocated, and still mapped by entries that took no reference.
    MappedAfterReuse { mapped: u64 },
    /// A data page whose refcount is not its mappings, pins and other user.
    Refcount {
        have: u64,
        want: u64,
        mapped: u64,
        pins: u64,
    },
    /// A data page with refcount 0 that was never freed.
    ZeroNeverFreed,
}
