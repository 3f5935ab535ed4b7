//! # ptcheck-scenarios
//!
//! Each scenario is a value ([`Scenario`]): its CPU programs written with the kernel paths of
//! [`kernel`], its guards and variants, and its final-state oracle. [`ALL`] is the registry the
//! matrix, the CLI and the gate read.

pub mod gup_fast_munmap;
pub mod kernel;
pub mod pgd_alloc_sync;
pub mod pmd_clear_walk;
pub mod pte_free_defer_retract;
pub mod scenario;
pub mod speculative_fault;
pub mod thp_split_gup_fast;

pub use scenario::{Absent, Applies, FindingDoc, GuardDoc, OwnGuard, Scenario, Setup, Variant};

/// Every scenario, in matrix order.
pub const ALL: &[Scenario] = &[
    gup_fast_munmap::GUP_FAST_MUNMAP_2W,
    gup_fast_munmap::GUP_FAST_MUNMAP,
    pmd_clear_walk::PMD_CLEAR_WALK,
    thp_split_gup_fast::THP_SPLIT_GUP_FAST,
    pte_free_defer_retract::PTE_FREE_DEFER_RETRACT,
    pgd_alloc_sync::PGD_ALLOC_SYNC,
    pgd_alloc_sync::PGD_ALLOC_LOCKLESS,
    speculative_fault::SPECULATIVE_FAULT,
];

/// Look a scenario up by name.
pub fn by_name(name: &str) -> Option<&'static Scenario> {
    ALL.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptcheck_model::{Guards, Hazards, ViolationKind};

    #[test]
    fn every_project_scenario_is_a_valid_value() {
        for s in ALL {
            assert_eq!(s.validate(), Ok(()));
        }
    }

    #[test]
    fn a_user_guard_is_named_by_its_scenario_and_must_be_declared_whole() {
        const MINE: Guards = Guards::user(2);
        const DOCS: &[GuardDoc] = &[GuardDoc {
            guard: MINE,
            step: "my_step()",
            why: "",
            redundant: None,
        }];
        const OWN: &[OwnGuard] = &[OwnGuard {
            guard: MINE,
            name: "my-step",
            hazards: Hazards::TABLE_FREED,
        }];
        const VARIANTS: &[Variant] = &[
            Variant {
                name: "correct",
                about: "",
                off: Guards::empty(),
            },
            Variant {
                name: "no-my-step",
                about: "",
                off: MINE,
            },
        ];
        let s = Scenario {
            name: "mine",
            guards: DOCS,
            absent: &[],
            variants: VARIANTS,
            own_guards: OWN,
            findings: &[FindingDoc {
                name: "wrong-page",
                about: "",
            }],
            ..gup_fast_munmap::GUP_FAST_MUNMAP
        };
        assert_eq!(s.validate(), Ok(()));
        assert_eq!(s.guard_name(MINE), "my-step");
        assert_eq!(
            s.guard_names(MINE | Guards::IRQ_OFF),
            ["irq-off", "my-step"]
        );
        assert_eq!(s.guard_by_name("my-step"), Some(MINE));
        assert_eq!(s.guard_hazards(MINE), Hazards::TABLE_FREED);
        assert_eq!(s.hazards_for_off(MINE), Hazards::TABLE_FREED);
        assert_eq!(
            s.finding_kind("wrong-page"),
            Some(ViolationKind::Own("wrong-page"))
        );
        assert_eq!(s.finding_kind("uaf"), None);
        let unnamed = Scenario {
            own_guards: &[],
            ..s
        };
        assert!(unnamed
            .validate()
            .unwrap_err()
            .contains("no OwnGuard naming it"));
        let clash = Scenario {
            findings: &[FindingDoc {
                name: "torn",
                about: "",
            }],
            ..s
        };
        assert!(clash
            .validate()
            .unwrap_err()
            .contains("model's violation kinds"));
        const NO_HAZARD: &[OwnGuard] = &[OwnGuard {
            guard: MINE,
            name: "my-step",
            hazards: Hazards::empty(),
        }];
        let no_hazard = Scenario {
            own_guards: NO_HAZARD,
            ..s
        };
        assert!(no_hazard.validate().unwrap_err().contains("no hazard"));
        const TWICE: &[Variant] = &[
            Variant {
                name: "correct",
                about: "",
                off: Guards::empty(),
            },
            Variant {
                name: "correct",
                about: "",
                off: MINE,
            },
        ];
        let twice = Scenario {
            variants: TWICE,
            ..s
        };
        assert!(twice
            .validate()
            .unwrap_err()
            .contains("two variants are named `correct`"));
    }
}
