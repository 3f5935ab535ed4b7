//! Speculative page faults (Laurent Dufour's v3 series, 2017, after Peter Zijlstra's 2010 RFC;
//! `../shared/seeds/speculative-page-faults-2017.txt`): a user fault handled without
//! `mmap_sem`, and the paths it races with.
//!
//! ```c
//! handle_speculative_fault(mm, address, flags):   // mm/memory.c in the series
//!     idx = srcu_read_lock(&vma_srcu);
//!     vma = find_vma_srcu(mm, address);
//!     dead = RB_EMPTY_NODE(&vma->vm_rb);
//!     seq = raw_read_seqcount(&vma->vm_sequence);  // rmb <-> seqlock, vma_rb_erase()
//!     if ((seq & 1) || dead) goto unlock;
//!     if (!vma->anon_vma) goto unlock;
//!     vmf.vma_flags = READ_ONCE(vma->vm_flags); ... if (!(vmf.vma_flags & VM_WRITE)) goto unlock;
//!     local_irq_disable(); walk pgd .. pmd; vmf.pte = pte_offset_map(pmd, address);
//!     vmf.orig_pte = READ_ONCE(*vmf.pte); local_irq_enable();
//!     if (read_seqcount_retry(&vma->vm_sequence, seq)) goto unlock;
//!     ret = handle_pte_fault(&vmf);                 // -> do_anonymous_page
//! unlock:
//!     srcu_read_unlock(&vma_srcu, idx);
//!
//! pte_map_lock(vmf):                               // do_anonymous_page, speculative
//!     local_irq_disable();
//!     if (vma_has_changed(vmf)) goto out;
//!     ptl = pte_lockptr(mm, vmf->pmd); pte = pte_offset_map(vmf->pmd, vmf->address);
//!     if (!spin_trylock(ptl)) { pte_unmap(pte); goto out; }   // not spin_lock: see below
//!     if (vma_has_changed(vmf)) { pte_unmap_unlock(pte, ptl); goto out; }
//!     ret = true;
//! out:
//!     local_irq_enable();
//! ```
//!
//! "this series introduces a spin_trylock when dealing with speculative page fault. This is
//! required to avoid dead lock when handling a page fault while a TLB invalidate is requested
//! by an other CPU holding the PTE" (the cover letter). Any detected change returns
//! `VM_FAULT_RETRY` and the arch fault handler runs the classic fault under `mmap_sem`.
//!
//! The model's VMA is a kernel object whose words are `vm_sequence`, `vm_flags`, `anon_vma`
//! (a pointer) and whether `vm_rb` is linked; `mm->mm_rb` is one word pointing to it. VMAs are
//! freed with `call_srcu(&vma_srcu, ...)` in `remove_vma`.

use super::munmap::zap_pte_range;
use super::{Addr, Mm};
use ptcheck_arch::mmu_gather::MmuGather;
use ptcheck_arch::tlb::flush_tlb_mm;
use ptcheck_arch::ArchPolicy;
use ptcheck_model::ordering::{smp_rmb, smp_wmb, DEP, ONCE};
use ptcheck_model::rwsem::RwSem;
use ptcheck_model::spinlock::SpinLock;
use ptcheck_model::srcu::Srcu;
use ptcheck_model::{Ctx, Entry, EntryFlags, FrameId, Guards};
use std::sync::Arc;

/// Words of the VMA object.
pub const VM_SEQUENCE: usize = 0;
pub const VM_FLAGS: usize = 1;
pub const ANON_VMA: usize = 2;
pub const VM_RB: usize = 3;
pub const VM_START: usize = 4;
pub const VM_END: usize = 5;
/// Words a VMA object has.
pub const VMA_WORDS: usize = 6;
/// The faulting address as a virtual page number (the VMA spans `[vm_start, vm_end)` in the
/// same unit; the address is entry 0 of the pte table).
pub const FAULT_PAGE: u64 = 16;

/// `vm_flags` bits the fault checks.
pub const VM_READ: u64 = 1;
pub const VM_WRITE: u64 = 2;

/// The address space the speculative fault and its racers share.
pub struct SpfMm {
    pub mm: Mm,
    /// The pmd table and the pte table of the faulting address.
    pub pmd: FrameId,
    pub pt: FrameId,
    /// `mm->mm_rb`: one word, the VMA covering the address (none once unmapped).
    pub mm_rb: FrameId,
    pub vma: FrameId,
    pub anon_vma: FrameId,
    pub mmap_sem: RwSem,
    /// The split pte lock of `pt` (a lock word: the speculative fault trylocks it).
    pub ptl: SpinLock,
    pub vma_srcu: Arc<Srcu>,
    /// The last value the (single, `mmap_sem`-holding) writer stored to `vm_sequence`.
    pub seq_written: std::sync::atomic::AtomicU64,
}

/// Why the speculative path gave up (`VM_FAULT_RETRY`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry;

/// `vma_has_changed(vmf)`: `RB_EMPTY_NODE(&vma->vm_rb)`, then the sequence count, `smp_rmb`.
fn vma_has_changed(c: &Ctx, m: &SpfMm, seq: u64) -> bool {
    const F: &str = "vma_has_changed";
    let linked = c.load_field(m.vma, VM_RB, "vm_rb linked", ONCE, F);
    let now = c.load_field(m.vma, VM_SEQUENCE, "vm_sequence", ONCE, F);
    smp_rmb();
    linked == 0 || now != seq
}

/// `handle_speculative_fault` of a write fault at `a`, then `do_anonymous_page` with
/// `pte_map_lock`, installing `page`; `Err(Retry)` when any check fails (`page` is then the
/// classic fault's).
pub fn handle_speculative_fault(c: &Ctx, m: &SpfMm, a: Addr, page: FrameId) -> Result<(), Retry> {
    const F: &str = "handle_speculative_fault";
    c.srcu_read_lock(&m.vma_srcu, F);
    let r = speculative(c, m, a, page);
    c.srcu_read_unlock(&m.vma_srcu, F);
    if r.is_err() {
        c.note(F, "VM_FAULT_RETRY: fall back to the classic fault");
    }
    r
}

fn speculative(c: &Ctx, m: &SpfMm, a: Addr, page: FrameId) -> Result<(), Retry> {
    const F: &str = "handle_speculative_fault";
    let vma = c.load(m.mm_rb, 0, DEP, "find_vma_srcu");
    if !vma.is_table() {
        return Err(Retry);
    }
    let vma = vma.pfn();
    let linked = c.load_field(vma, VM_RB, "vm_rb linked", ONCE, F);
    let seq = c.load_field(vma, VM_SEQUENCE, "vm_sequence", ONCE, "raw_read_seqcount");
    smp_rmb();
    if seq & 1 == 1 || linked == 0 {
        return Err(Retry);
    }
    if !c
        .load(
            vma,
            ANON_VMA,
            ONCE,
            "handle_speculative_fault (vma->anon_vma)",
        )
        .is_table()
    {
        return Err(Retry);
    }
    let flags = c.load_field(vma, VM_FLAGS, "vm_flags", ONCE, F);
    if flags & VM_WRITE == 0 {
        return Err(Retry);
    }
    let start = c.load_field(vma, VM_START, "vm_start", ONCE, F);
    let end = c.load_field(vma, VM_END, "vm_end", ONCE, F);
    if FAULT_PAGE < start || end <= FAULT_PAGE {
        return Err(Retry);
    }
    c.local_irq_disable(F);
    let pgd = c.load(m.mm.pgd, a.pgd, DEP, "pgd_offset");
    let pmd = pgd
        .is_table()
        .then(|| c.load(pgd.pfn(), a.pmd, DEP, "pmd_offset"));
    let orig = match pmd {
        Some(pmd) if pmd.is_table() => Some(c.load(pmd.pfn(), a.pte, ONCE, "pte_offset_map")),
        _ => None,
    };
    c.local_irq_enable(F);
    let (Some(orig), Some(pmd)) = (orig, pmd) else {
        return Err(Retry);
    };
    let seq_now = c.load_field(vma, VM_SEQUENCE, "vm_sequence", ONCE, "read_seqcount_retry");
    smp_rmb();
    if seq_now != seq {
        return Err(Retry);
    }
    if !orig.is_none() {
        // A pte is there already: handle_pte_fault's other paths, not this model's.
        return Err(Retry);
    }
    do_anonymous_page_speculative(c, m, a, pmd.pfn(), page, seq, flags)
}

/// `do_anonymous_page` on the speculative path: the new page, `pte_map_lock`, the pte still
/// none, `page_add_new_anon_rmap`, `set_pte_at` with the saved `vmf.vma_flags`, unlock.
fn do_anonymous_page_speculative(
    c: &Ctx,
    m: &SpfMm,
    a: Addr,
    pt: FrameId,
    page: FrameId,
    seq: u64,
    flags: u64,
) -> Result<(), Retry> {
    const F: &str = "do_anonymous_page";
    if !pte_map_lock(c, m, seq) {
        // The kernel frees the page and the classic fault allocates another; the model hands
        // the same frame to the classic fault.
        return Err(Retry);
    }
    if !c.load(pt, a.pte, ONCE, F).is_none() {
        c.spin_unlock(&m.ptl, "pte_unmap_unlock");
        c.put_page(page, F);
        return Ok(());
    }
    let in_window = c.guard(Guards::SPF_RMAP_LOCKED);
    if in_window {
        page_add_new_anon_rmap(c, m, page);
    }
    c.store(pt, a.pte, anon_pte(page, flags), ONCE, "set_pte_at");
    c.spin_unlock(&m.ptl, "pte_unmap_unlock");
    if !in_window {
        page_add_new_anon_rmap(c, m, page);
    }
    Ok(())
}

/// `page_add_new_anon_rmap(page, vma, address)`: `page->mapping = vma->anon_vma`.
fn page_add_new_anon_rmap(c: &Ctx, m: &SpfMm, page: FrameId) {
    const F: &str = "page_add_new_anon_rmap";
    let av = c.load(
        m.vma,
        ANON_VMA,
        ONCE,
        "page_add_new_anon_rmap (vma->anon_vma)",
    );
    if av.is_table() {
        c.page_set_anon_rmap(page, av.pfn(), F);
    }
}

/// The pte for a new anonymous page under `vm_flags` (`mk_pte(page, vma->vm_page_prot)`,
/// writable when the VMA is).
fn anon_pte(page: FrameId, flags: u64) -> Entry {
    let f = if flags & VM_WRITE != 0 {
        EntryFlags::WRITE
    } else {
        EntryFlags::empty()
    };
    Entry::leaf(page, 0, f)
}

/// `pte_map_lock(vmf)` on the speculative path (see the module doc).
fn pte_map_lock(c: &Ctx, m: &SpfMm, seq: u64) -> bool {
    const F: &str = "pte_map_lock";
    c.local_irq_disable(F);
    // pte_offset_map(vmf->pmd, address) reads the pmd again: the first vma_has_changed()
    // guarantees the table is still linked (free_pgtables bumps the count before pmd_clear).
    let ok = !vma_has_changed(c, m, seq)
        && c.load(m.pmd, 0, DEP, "pte_map_lock (pte_offset_map)")
            .is_table()
        && {
            let taken = if c.guard(Guards::SPF_TRYLOCK) {
                c.spin_trylock(&m.ptl, F)
            } else {
                c.spin_lock(&m.ptl, F);
                true
            };
            taken && {
                let changed = c.guard(Guards::SPF_SEQ_RECHECK) && vma_has_changed(c, m, seq);
                if changed {
                    c.spin_unlock(&m.ptl, "pte_unmap_unlock");
                }
                !changed
            }
        };
    c.local_irq_enable(F);
    ok
}

/// The classic fault after `VM_FAULT_RETRY`: `down_read(mmap_sem)`, `find_vma`, the access
/// check (`bad_area`: SIGSEGV, nothing installed), `handle_mm_fault` -> `do_anonymous_page`
/// (`pte_offset_map_lock`, the pte still none, rmap, `set_pte_at`). A pmd with no table is
/// left to `__pte_alloc` in the kernel; here the range has one whenever its VMA exists.
pub fn do_page_fault_classic(c: &Ctx, m: &SpfMm, a: Addr, page: FrameId) {
    const F: &str = "__do_page_fault";
    c.down_read(&m.mmap_sem, F);
    let vma = c.load(m.mm_rb, 0, DEP, "find_vma");
    let covers =
        vma.is_table() && c.load_field(vma.pfn(), VM_START, "vm_start", ONCE, F) <= FAULT_PAGE;
    let flags = covers.then(|| c.load_field(vma.pfn(), VM_FLAGS, "vm_flags", ONCE, "access_error"));
    match flags {
        Some(f) if f & VM_WRITE != 0 => {
            let pgd = c.load(m.mm.pgd, a.pgd, DEP, "__handle_mm_fault (pgd_offset)");
            let pmd = c.load(pgd.pfn(), a.pmd, DEP, "__handle_mm_fault (pmd_offset)");
            let pt = pmd.pfn();
            c.spin_lock(&m.ptl, "pte_offset_map_lock");
            if c.load(pt, a.pte, ONCE, "do_anonymous_page").is_none() {
                page_add_new_anon_rmap(c, m, page);
                c.store(pt, a.pte, anon_pte(page, f), ONCE, "set_pte_at");
            } else {
                c.put_page(page, "do_anonymous_page");
            }
            c.spin_unlock(&m.ptl, "pte_unmap_unlock");
        }
        _ => {
            c.note(F, "bad_area: SIGSEGV (no VMA, or no write access)");
            c.put_page(page, F);
        }
    }
    c.up_read(&m.mmap_sem, F);
}

/// `vm_write_begin(vma)` / `vm_write_end(vma)`: `raw_write_seqcount_begin/end` of
/// `vma->vm_sequence`. The writer holds `mmap_sem` for writing, so it is the only one that
/// changes the count: its `sequence++` reads its own last store, kept here (`written`) instead
/// of as a load the explorers would schedule; the store is the access readers race with.
fn vm_write(c: &Ctx, m: &SpfMm, func: &'static str, begin: bool) {
    if !begin {
        smp_wmb();
    }
    let s = m
        .seq_written
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    c.store_field(m.vma, VM_SEQUENCE, "vm_sequence", s, ONCE, func);
    if begin {
        smp_wmb();
    }
}

/// `do_munmap` of the VMA (the series' order): under `mmap_sem` for writing,
/// `detach_vmas_to_be_unmapped` (`vma_rb_erase`: out of `mm_rb`, `RB_CLEAR_NODE` after an
/// `smp_wmb`), `unmap_region` (`unmap_page_range` inside `vm_write_begin/end`: the pte lock,
/// `zap_pte_range` of each pte; `free_pgtables`, also inside `vm_write_begin/end`:
/// `unlink_anon_vmas`, then the pte table unlinked and freed per policy; `tlb_finish_mmu`),
/// then `remove_vma`: the VMA freed through
/// `call_srcu` (or at once, without the guard).
pub fn do_munmap(c: &Ctx, policy: &ArchPolicy, m: &SpfMm, ptes: usize) {
    const F: &str = "do_munmap";
    c.down_write(&m.mmap_sem, F);
    c.store(m.mm_rb, 0, Entry::NONE, ONCE, "vma_rb_erase");
    smp_wmb();
    c.store_field(
        m.vma,
        VM_RB,
        "vm_rb linked",
        0,
        ONCE,
        "vma_rb_erase (RB_CLEAR_NODE)",
    );
    let mut tlb = MmuGather::new(c, policy);
    vm_write(c, m, "unmap_page_range (vm_write_begin)", true);
    c.spin_lock(&m.ptl, "zap_pte_range");
    for pte in 0..ptes {
        zap_pte_range(c, policy, &mut tlb, m.pt, Addr { pte, ..Addr::FIRST });
    }
    c.spin_unlock(&m.ptl, "zap_pte_range");
    vm_write(c, m, "unmap_page_range (vm_write_end)", false);
    vm_write(c, m, "free_pgtables (vm_write_begin)", true);
    c.free(
        m.anon_vma,
        "free_pgtables (unlink_anon_vmas: anon_vma_free)",
    );
    c.store(m.pmd, 0, Entry::NONE, ONCE, "free_pte_range (pmd_clear)");
    // free_pgtables believes the zapped table empty: a pte still in it goes with the table.
    c.world.detach(c.actor, m.pt, "free_pte_range");
    tlb.free_table(m.pt, "pte_free_tlb");
    vm_write(c, m, "free_pgtables (vm_write_end)", false);
    tlb.tlb_finish_mmu();
    if c.guard(Guards::VMA_SRCU_FREE) {
        let vma = m.vma;
        c.call_srcu(
            &m.vma_srcu,
            "remove_vma",
            "vm_area_free",
            move |cb: &Ctx| cb.free(vma, "vm_area_free"),
        );
    } else {
        c.free(m.vma, "remove_vma (vm_area_free)");
    }
    c.up_write(&m.mmap_sem, F);
}

/// `mprotect(PROT_READ)` of the VMA: `mprotect_fixup` under `mmap_sem` for writing, inside
/// `vm_write_begin/end`: `vma->vm_flags` without `VM_WRITE`, `change_protection` (the pte
/// lock, each present pte write-protected), then `flush_tlb_range`.
pub fn mprotect_read_only(c: &Ctx, policy: &ArchPolicy, m: &SpfMm, ptes: usize) {
    const F: &str = "mprotect_fixup";
    c.down_write(&m.mmap_sem, F);
    vm_write(c, m, "mprotect_fixup (vm_write_begin)", true);
    let flags = c.load_field(m.vma, VM_FLAGS, "vm_flags", ONCE, F);
    c.store_field(m.vma, VM_FLAGS, "vm_flags", flags & !VM_WRITE, ONCE, F);
    c.spin_lock(&m.ptl, "change_pte_range");
    for pte in 0..ptes {
        let e = c.load(m.pt, pte, ONCE, "change_pte_range");
        if e.is_present() && e.flags().contains(EntryFlags::WRITE) {
            let ro = Entry::leaf(e.pfn(), 0, e.flags() - EntryFlags::WRITE);
            c.store(
                m.pt,
                pte,
                ro,
                ONCE,
                "change_pte_range (ptep_modify_prot_commit)",
            );
        }
    }
    c.spin_unlock(&m.ptl, "change_pte_range");
    vm_write(c, m, "mprotect_fixup (vm_write_end)", false);
    flush_tlb_mm(c, policy);
    c.up_write(&m.mmap_sem, F);
}

/// Reclaim unmapping another page of the same pte table (`try_to_unmap_one`): the pte lock
/// held across `ptep_clear_flush`, whose TLB flush is, on IPI policies, an IPI it waits for;
/// then the page's mapping reference is dropped.
pub fn try_to_unmap_one(c: &Ctx, policy: &ArchPolicy, m: &SpfMm, pte: usize) {
    c.spin_lock(&m.ptl, "page_vma_mapped_walk");
    let old = c.load(m.pt, pte, ONCE, "ptep_clear_flush");
    c.store(m.pt, pte, Entry::NONE, ONCE, "ptep_clear_flush");
    flush_tlb_mm(c, policy);
    c.spin_unlock(&m.ptl, "try_to_unmap_one");
    if old.is_present() {
        c.put_page(old.pfn(), "try_to_unmap_one");
    }
}
