//! The powerpc hash page table (HPT): translations the hash MMU caches outside the Linux page
//! table (arch/powerpc/mm/book3s64/hash_utils.c).
//!
//! On a hash MMU a user access that misses the HPT takes a fault into `hash_page`, which walks
//! the Linux page table locklessly with interrupts off (`find_linux_pte`) and inserts a hash
//! page table entry (HPTE) for the page it found; the access is then retried and goes through
//! that HPTE until a flush (`flush_hash_table_pmd_range`, `flush_hash_page`) removes it. Each
//! data page has one explorer-visible HPTE word here: inserting, flushing and translating
//! through it are ordinary atomic accesses, so the explorers order them against each other
//! (a flush that were only bookkeeping would be invisible to DPOR, as a free once was).

use crate::entry::FrameId;
use crate::rt::Ordering;
use crate::world::Ctx;

impl Ctx {
    /// `hash_page` inserts an HPTE for `page` (`__hash_page_4K` / `__hash_page_thp`).
    pub fn hpte_insert(&self, page: FrameId, func: &'static str) {
        let w = &self.world;
        // HPTE updates are read-modify-writes (the hash table slot is locked and updated):
        // each is ordered after the previous one, so a flush that happens after an insert
        // cannot be taken as older than it (two plain stores would leave their order open).
        w.frames[page.0].page().hpte().swap(1, Ordering::AcqRel);
        w.shadow().hptes.push(page);
        self.note(func, format!("insert HPTE for {}", w.name(page)));
    }

    /// Flush the HPTEs of the range (`flush_hash_table_pmd_range`): every HPTE inserted so
    /// far is invalidated (one explorer-visible store each; nothing when none was inserted),
    /// then the flush completes (`tlbie; eieio; tlbsync; ptesync`) only once every access
    /// already going through an old translation has been performed: the model waits for each
    /// other CPU's instruction in flight ([`Ctx::store_through_hpte`] runs as one), not for its
    /// irq-off sections (a `tlbie` interrupts no one).
    pub fn hpte_flush(&self, func: &'static str) {
        let w = &self.world;
        let pages = std::mem::take(&mut w.shadow().hptes);
        if pages.is_empty() {
            return;
        }
        for p in pages {
            w.frames[p.0].page().hpte().swap(0, Ordering::AcqRel);
            self.note(func, format!("invalidate HPTE of {}", w.name(p)));
        }
        let me = self.cpu_id();
        for (n, cpu) in w.cpus.iter().enumerate() {
            if n != me {
                cpu.insn().wait_unheld();
            }
        }
        self.note(func, "tlbsync: accesses through the old HPTEs performed");
    }

    /// The faulting user store, retried after `hash_page`: it goes through the HPTE if it is
    /// still there (a write to `page`, counted for the lost-update oracle), and faults again
    /// otherwise (the slow path then finds the new pmd). Returns whether it wrote.
    ///
    /// The store is one instruction: no `tlbsync` completes in its middle, so the translation
    /// and the write happen inside the CPU's instruction lock, which the HPTE flush waits for.
    /// It is not an irq-off section: an IPI does not wait for it, and software irq-off
    /// sections do not hold up the flush.
    pub fn store_through_hpte(&self, page: FrameId, func: &'static str) -> bool {
        let w = &self.world;
        let cpu = &w.cpus[self.cpu_id()];
        cpu.insn().lock();
        let wrote = w.frames[page.0].page().hpte().load(Ordering::Acquire) == 1;
        if wrote {
            self.write_through_pin(page, func);
        } else {
            self.note(func, format!("no HPTE for {}: fault again", w.name(page)));
        }
        cpu.insn().unlock();
        wrote
    }
}
