//! The policy type: one value per architecture and kernel version (DESIGN.md §4).
//!
//! A policy is data. Each knob is an enum whose variants are the behaviours real kernels have
//! had; the shared kernel paths ([`crate::tlb`], [`crate::mmu_gather`]) read the knobs. A new
//! policy, or a variant of an existing one, is a struct literal in the user's own crate:
//!
//! ```
//! use ptcheck_arch::{policy::*, arm64};
//! // arm64 as merged, but with the newer synchronize_rcu() fallback of tlb_remove_table_one:
//! const MY_ARM64: ArchPolicy = ArchPolicy {
//!     name: "my-arm64",
//!     about: "arm64 with the synchronize_rcu fallback",
//!     remove_table_one: RemoveTableOne::SynchronizeRcu,
//!     ..arm64::ARM64
//! };
//! assert_eq!(MY_ARM64.tlb_flush, TlbFlush::BroadcastTlbi);
//! ```

use ptcheck_model::RcuFlavour;

/// How `flush_tlb_mm_range` / `tlb_flush` reaches the other CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlbFlush {
    /// An IPI to every CPU in `mm_cpumask`, waiting for each (x86 `native_flush_tlb_multi`):
    /// it cannot complete while a CPU has interrupts off.
    IpiShootdown,
    /// A broadcast invalidation in hardware (arm64 `TLBI ..IS` + `DSB ISH`, powerpc radix
    /// `tlbie`, x86 AMD INVLPGB) or a paravirt hypercall (Xen, Hyper-V): no other CPU is
    /// interrupted, so irq-off walkers are not waited for.
    BroadcastTlbi,
}

/// How page-table pages are freed after they are unlinked (`__pte_free_tlb` & co).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableFree {
    /// `tlb_remove_page(tlb, table)`: batched with the data pages and freed in
    /// `tlb_flush_mmu` right after the TLB flush (classic x86; also what the arm64 RFC v4
    /// patches did although they selected HAVE_RCU_TABLE_FREE: the bug Catalin Marinas found).
    AfterFlush,
    /// `tlb_remove_table(tlb, table)` (HAVE_RCU_TABLE_FREE / MMU_GATHER_RCU_TABLE_FREE):
    /// batched in a page allocated on the fly and freed by `call_rcu` (`tlb_remove_table_rcu`)
    /// after a grace period; when the batch page cannot be allocated, `tlb_remove_table_one`.
    RcuBatched,
}

/// What `tlb_remove_table_one` does before freeing when there is no batch page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemoveTableOne {
    /// `tlb_remove_table_sync_one()`: an IPI to every CPU, waiting (the seeds' kernels).
    IpiSync,
    /// `synchronize_rcu()` then free (newer kernels; `call_rcu` on the table's own rcu_head
    /// where the arch has one, which the model treats the same: a grace period).
    SynchronizeRcu,
}

/// `ptep_get_and_clear(mm, addr, ptep)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PtepGetAndClear {
    /// `xchg`: a fully ordered read-modify-write (x86, powerpc `pte_update`).
    Xchg,
    /// `xchg_relaxed` (arm64 since v4.14, 3bbf7157ac66; an ldxr/stxr loop from v4.3).
    XchgRelaxed,
    /// The generic `pte = *ptep; pte_clear(mm, addr, ptep)`: a plain read, then a plain store
    /// (asm-generic, and arm64 before v4.3, the 2014 seed's kernel).
    ReadThenClear,
}

/// Whether a pmd update that converts or clears a huge pmd (`pmdp_huge_get_and_clear`,
/// `pmdp_invalidate`, `pmdp_collapse_flush`) waits for lockless walkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PmdSerialize {
    /// `serialize_against_pte_lookup(mm)`: `smp_mb()` then `smp_call_function_many(
    /// mm_cpumask(mm), do_nothing, NULL, 1)` after the update (powerpc book3s64 before the 2020
    /// series; `hash__pmdp_collapse_flush` still does it).
    SerializePteLookup,
    /// No IPI of its own: only whatever TLB flush the function issues (an IPI on x86 native,
    /// none with a broadcast TLBI), and the walker rules.
    FlushOnly,
}

/// `pmdp_splitting_flush` (2014 THP split: `__split_huge_page_splitting`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SplittingFlush {
    /// The generic one (mm/pgtable-generic.c; x86's is the same): set the splitting bit, then
    /// `flush_pmd_tlb_range`, which serializes against gup_fast only if the flush is an IPI.
    Generic,
    /// arm and arm64 (seed patches 4/7, 7/7): set the splitting bit, then the dummy IPI
    /// `smp_call_function(thp_splitting_flush_sync, NULL, 1)`.
    DummyIpi,
    /// powerpc book3s64 (2013 – 2016): set the splitting bit, then `kick_all_cpus_sync()`
    /// (an IPI to every online CPU; `serialize_against_pte_lookup` replaced it later).
    SerializePteLookup,
}

/// Where `pgtable_trans_huge_deposit` keeps the pte table it deposits for a huge pmd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Deposit {
    /// In the table's `struct page` (mm/pgtable-generic.c: a `list_head` in `page->lru`):
    /// the table's entries are left as they are.
    StructPage,
    /// powerpc hash (`hash__pgtable_trans_huge_deposit`): the table pointer is stored in the
    /// second half of the pmd page (`pmdp + PTRS_PER_PMD`); nothing is written into the table
    /// at deposit (`__hash_page_thp` later keeps small hash-slot bytes there, which never read
    /// as a present pte).
    PmdPageSlot,
    /// A `list_head` over the table's first entries that reads as a non-present, non-empty
    /// pte. powerpc radix, little-endian (ppc64le, today's distributions): the `list_head` goes
    /// over the table's first entries (`radix__pgtable_trans_huge_deposit`; withdraw zeroes
    /// them); s390 and sparc64 do the same (their `_PAGE_PRESENT` bits are clear in an aligned
    /// pointer; withdraw writes `_PAGE_INVALID` / zero).
    /// `pte_val` is big-endian, so the pointer's low (aligned, zero) byte lands in the top
    /// byte: the words read as non-present, non-empty ptes, and a walker bails.
    ListInTable,
    /// powerpc radix, big-endian: the same `list_head`, but the kernel pointer's top bits read
    /// as `_PAGE_PRESENT | _PAGE_PTE`: a walker still inside the detached table takes it for a
    /// present pte (`misread`).
    ListInTableBigEndian,
}

/// How pte tables sit in pages (`pte_free_defer`'s problem when several share one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PteFragments {
    /// A pte table is a whole page with its own `rcu_head`.
    WholePage,
    /// powerpc with 64K pages (arch/powerpc/mm/pgtable-frag.c): `PTE_FRAG_NR` tables a page,
    /// one `pt_frag_refcount`, one `pt_rcu_head`, `PG_active` as the deferral mark.
    Powerpc,
    /// s390 v6.6 - v6.8 (arch/s390/mm/pgalloc.c): 2 KiB tables, two per 4 KiB page, their
    /// state in the top byte of `page->_refcount` (AA: half allocated, PP: half pending), the
    /// page's `rcu_head` over its `lru` (which lists pages with a free half), `PageActive` as
    /// the deferral mark; whole pages again since v6.9.
    S390Halves,
}

impl PteFragments {
    /// Several pte tables share one page.
    pub fn shared(self) -> bool {
        self != PteFragments::WholePage
    }
}

/// Whether and how every process pgd carries a copy of the kernel's top-level entries, which
/// a kernel-mapping change must then copy into every pgd (`sync_global_pgds`,
/// `arch_sync_kernel_mappings`): x86's `pgd_list` under `pgd_lock` (arch/x86/mm/pgtable.c).
/// Other architectures map the kernel through a root every process shares (arm64 TTBR1,
/// powerpc's kernel PGD, s390's kernel ASCE): the pgd_alloc-vs-sync scenario does not apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelPgdSync {
    /// No per-process copies of kernel entries to keep in sync.
    NotApplicable,
    /// x86-64: `pgd_ctor` clones the kernel slots of `swapper_pg_dir` into the new pgd;
    /// `sync_global_pgds_l4/l5` sets a new top-level (p4d or pgd) entry in every pgd.
    TopLevel,
    /// x86-32 PAE today: each pgd has private kernel pmds (`PREALLOCATED_PMDS`), filled by
    /// `pgd_prepopulate_pmd` in `pgd_alloc`; `arch_sync_kernel_mappings` -> `vmalloc_sync_one`
    /// copies a new kernel pmd entry into each pgd's kernel pmd (`set_pmd`).
    PrivateKernelPmd,
}

/// One architecture at one kernel version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArchPolicy {
    /// The name users type (`--arch x86`).
    pub name: &'static str,
    /// One line: which kernel this is and where its behaviour comes from.
    pub about: &'static str,
    pub tlb_flush: TlbFlush,
    pub table_free: TableFree,
    pub remove_table_one: RemoveTableOne,
    /// The flavour `tlb_table_flush` uses for its `call_rcu` (`call_rcu_sched` before v4.20).
    pub table_rcu: RcuFlavour,
    /// `tlb_needs_table_invalidate()`: flush the TLB before freeing tables even without an
    /// unmap (arm64 walk caches); counted in the cost, no effect on walkers.
    pub table_invalidate: bool,
    /// How `ptep_get_and_clear` clears a pte (`zap_pte_range`).
    pub ptep_get_and_clear: PtepGetAndClear,
    /// `pmdp_huge_get_and_clear` (`zap_huge_pmd`).
    pub pmd_get_and_clear: PmdSerialize,
    /// `pmdp_invalidate` (THP split, `__split_huge_pmd_locked`).
    pub pmd_invalidate: PmdSerialize,
    /// `pmdp_collapse_flush` (khugepaged `collapse_huge_page`).
    pub pmd_collapse_flush: PmdSerialize,
    /// `pmdp_splitting_flush` (2014 THP split).
    pub splitting_flush: SplittingFlush,
    /// `pgtable_trans_huge_deposit` (khugepaged's collapse, THP faults).
    pub deposit: Deposit,
    /// `CONFIG_MMU_GATHER_RCU_TABLE_FREE` is built in (`HAVE_RCU_TABLE_FREE` before v5.7): then
    /// `tlb_remove_table_sync_one()` is a real IPI to every CPU, otherwise an empty stub. Not
    /// the same as `table_free`: x86 v4.19 – v6.14 builds it in with PARAVIRT yet frees tables
    /// with `tlb_remove_page` on bare metal; the arm64 RFC v4 selected it and did the same.
    pub rcu_table_free_config: bool,
    /// The MMU is powerpc hash: user faults go through `hash_page`, a lockless irq-off walker
    /// that inserts HPTEs, and flushes invalidate them (`flush_hash_table_pmd_range`).
    pub hash_mmu: bool,
    /// Whether pte tables are fragments of one page that share its `struct page` (one count,
    /// one `rcu_head`), so that `pte_free_defer` of two of them must not queue the one
    /// `rcu_head` twice.
    pub pte_fragments: PteFragments,
    /// A pmd is two 32-bit words (`CONFIG_GUP_GET_PXX_LOW_HIGH`: x86-32 PAE): lockless
    /// walkers read it with `pmdp_get_lockless` (low, `smp_rmb`, high, `smp_rmb`, retry while
    /// the low word changed) inside `pmdp_get_lockless_start/end` (irq-off), and removers call
    /// `pmdp_get_lockless_sync()` (an IPI) after clearing it ([`crate::pmd::pmdp_get_lockless`]).
    pub pmd_halves: bool,
    /// Per-process copies of kernel top-level entries, and at which level ([`KernelPgdSync`]).
    pub kernel_pgd_sync: KernelPgdSync,
}
