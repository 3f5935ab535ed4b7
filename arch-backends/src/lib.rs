//! # ptcheck-arch: arch policies
//!
//! What each architecture (and kernel version) does differently, as values:
//!
//! | file | what |
//! |---|---|
//! | [`policy`] | the policy type and its knobs |
//! | [`tlb`] | TLB flush: IPI shootdown vs broadcast invalidation |
//! | [`pmd`] | huge pmd updates: `pmdp_invalidate`, `pmdp_huge_get_and_clear`, `pmdp_collapse_flush`, `pmdp_splitting_flush`, `serialize_against_pte_lookup` |
//! | [`mmu_gather`] | freeing pages and tables after an unmap: after the flush vs `tlb_remove_table` |
//! | [`x86`], [`arm64`], [`generic`], [`powerpc`] | the policies |
//!
//! [`ALL`] lists every policy the matrix runs; a user's own policy is a struct literal (see
//! [`policy`]) passed to the same scenario code.

pub mod arm64;
pub mod generic;
pub mod mmu_gather;
pub mod pmd;
pub mod policy;
pub mod powerpc;
pub mod tlb;
pub mod x86;

pub use policy::ArchPolicy;

/// Every built-in policy, in matrix order.
pub const ALL: &[ArchPolicy] = &[
    x86::X86,
    x86::X86_PV,
    x86::X86_PV_NO_RCU,
    generic::GENERIC_RCU,
    arm64::ARM64,
    arm64::ARM64_RFC_V4,
    arm64::ARM,
    powerpc::POWERPC_RADIX_PRE2020,
    powerpc::POWERPC_RADIX,
    powerpc::POWERPC_HASH,
];

/// Look a policy up by name.
pub fn by_name(name: &str) -> Option<&'static ArchPolicy> {
    ALL.iter().find(|p| p.name == name)
}
