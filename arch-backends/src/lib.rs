//! # ptcheck-arch: arch policies
//!
//! What each architecture (and kernel version) does differently, as values:
//!
//! | file | what |
//! |---|---|
//! | [`policy`] | the policy type and its knobs |
//! | [`knobs`] | the knobs by name and value name (`list`, policy files) |
//! | [`tlb`] | TLB flush: IPI shootdown vs broadcast invalidation |
//! | [`pmd`] | huge pmd updates: `pmdp_invalidate`, `pmdp_huge_get_and_clear`, `pmdp_collapse_flush`, `pmdp_splitting_flush`, `serialize_against_pte_lookup` |
//! | [`mmu_gather`] | freeing pages and tables after an unmap: after the flush vs `tlb_remove_table` |
//! | [`x86`], [`arm64`], [`generic`], [`powerpc`], [`s390`], [`sparc64`] | the policies |
//!
//! [`ALL`] lists every policy the matrix runs; a user's own policy is a struct literal (see
//! [`policy`]) passed to the same scenario code.

pub mod arm64;
pub mod generic;
pub mod knobs;
pub mod mmu_gather;
pub mod pmd;
pub mod policy;
pub mod powerpc;
pub mod s390;
pub mod sparc64;
pub mod tlb;
pub mod x86;

pub use policy::{ArchPolicy, KernelPgdSync};

/// Every built-in policy, in matrix order.
pub const ALL: &[ArchPolicy] = &[
    x86::X86_V6_14,
    x86::X86,
    x86::X86_PAE,
    x86::X86_INVLPGB,
    x86::X86_PV,
    x86::X86_PV_NO_RCU,
    generic::GENERIC_RCU,
    arm64::ARM64,
    arm64::ARM64_RFC_V4,
    arm64::ARM,
    powerpc::POWERPC_RADIX_PRE2020,
    powerpc::POWERPC_RADIX,
    powerpc::POWERPC_HASH,
    s390::S390,
    s390::S390_V6_6,
    sparc64::SPARC64,
];

/// Look a policy up by name.
pub fn by_name(name: &str) -> Option<&'static ArchPolicy> {
    ALL.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every policy says which kernels it stands for (a version, a year, or "hypothetical").
    #[test]
    fn every_policy_names_its_kernel_versions() {
        for p in ALL {
            let a = p.about;
            let versioned = a.contains("hypothetical")
                || a.split(|c: char| !c.is_ascii_alphanumeric() && c != '.')
                    .any(|w| {
                        (w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
                            || (w.len() == 4 && w.starts_with("20"))
                    });
            assert!(versioned, "{}: `{a}` names no kernel version", p.name);
        }
    }

    /// x86 by era: today's x86 frees tables through RCU (a37259732a7d, v6.15), the v6.14 column
    /// after the flush; INVLPGB flushes without an IPI.
    #[test]
    fn x86_eras_differ_where_the_kernel_changed() {
        use policy::{TableFree, TlbFlush};
        let (old, now, invlpgb) = (
            by_name("x86-v6.14").expect("x86-v6.14"),
            by_name("x86").expect("x86"),
            by_name("x86-invlpgb").expect("x86-invlpgb"),
        );
        assert_eq!(old.table_free, TableFree::AfterFlush);
        assert_eq!(now.table_free, TableFree::RcuBatched);
        assert!(now.table_invalidate && !old.table_invalidate);
        assert_eq!(now.tlb_flush, TlbFlush::IpiShootdown);
        assert_eq!(invlpgb.tlb_flush, TlbFlush::BroadcastTlbi);
        assert_eq!(invlpgb.table_free, TableFree::RcuBatched);
    }

    /// The small knobs of the fidelity review: 2014 arm64 had no xchg_relaxed (read, then
    /// clear); radix's tlb_needs_table_invalidate() is radix_enabled(); hash keeps the deposit
    /// out of the table.
    #[test]
    fn small_knobs_match_the_kernels_they_name() {
        use policy::{Deposit, PtepGetAndClear};
        let p = |n: &str| by_name(n).expect("policy");
        assert_eq!(
            p("arm64").ptep_get_and_clear,
            PtepGetAndClear::ReadThenClear
        );
        assert_eq!(p("x86").ptep_get_and_clear, PtepGetAndClear::Xchg);
        assert!(p("powerpc-radix").table_invalidate && p("powerpc-radix-pre2020").table_invalidate);
        assert!(!p("powerpc-hash").table_invalidate);
        assert_eq!(p("powerpc-hash").deposit, Deposit::PmdPageSlot);
        assert_eq!(p("powerpc-radix").deposit, Deposit::ListInTable);
        assert!(p("powerpc-hash").hash_mmu && !p("powerpc-radix").hash_mmu);
        assert!(
            !p("x86-pv-no-rcu-free").rcu_table_free_config
                && p("arm64-rfc-v4").rcu_table_free_config
        );
    }

    /// s390 and sparc64 (v6.17 sources): no IPI (IPTE/IDTE; an empty flush_tlb_range), RCU
    /// table free, a list_head deposit over the table that reads as non-present; sparc64 reads
    /// then clears a pte and does not invalidate for freed tables.
    #[test]
    fn s390_and_sparc64_knobs() {
        use policy::{Deposit, PtepGetAndClear, TableFree, TlbFlush};
        for n in ["s390", "sparc64"] {
            let p = by_name(n).expect("policy");
            assert_eq!(p.tlb_flush, TlbFlush::BroadcastTlbi, "{n}");
            assert_eq!(p.table_free, TableFree::RcuBatched, "{n}");
            assert_eq!(p.deposit, Deposit::ListInTable, "{n}");
            assert!(
                !p.pte_fragments.shared(),
                "{n}: whole-page pte tables today"
            );
        }
        assert_eq!(
            by_name("s390").map(|p| p.ptep_get_and_clear),
            Some(PtepGetAndClear::Xchg)
        );
        let sparc = by_name("sparc64").expect("sparc64");
        assert_eq!(sparc.ptep_get_and_clear, PtepGetAndClear::ReadThenClear);
        assert!(!sparc.table_invalidate && by_name("s390").is_some_and(|p| p.table_invalidate));
    }

    /// powerpc's pte tables are fragments of a 64K page (pgtable-frag.c), s390's were 2 KiB
    /// halves of a page from v6.6 to v6.8; everyone else's are whole pages.
    #[test]
    fn only_powerpc_and_old_s390_share_pages_between_pte_tables() {
        use policy::PteFragments;
        for p in ALL {
            let want = match p.name {
                "s390-v6.6" => PteFragments::S390Halves,
                n if n.starts_with("powerpc") => PteFragments::Powerpc,
                _ => PteFragments::WholePage,
            };
            assert_eq!(p.pte_fragments, want, "{}", p.name);
        }
    }
}
