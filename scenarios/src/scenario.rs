//! The scenario type: a value naming its CPU programs, guards, variants and how to run one
//! execution (DESIGN.md §5).

use ptcheck_arch::ArchPolicy;
use ptcheck_model::{Guards, Hazards};

/// A guard of a scenario's protocol: the kernel step it stands for, and why it is there.
#[derive(Clone, Copy, Debug)]
pub struct GuardDoc {
    pub guard: Guards,
    /// The kernel code of the step (`local_irq_save` in `__get_user_pages_fast`).
    pub step: &'static str,
    /// What it protects against.
    pub why: &'static str,
    /// `Some(reason)` if no policy of the matrix needs it in this scenario: why the kernel
    /// still has it, or what in this model covers it. The necessity gate requires every guard
    /// to be caught on at least one policy or to say here why not.
    pub redundant: Option<&'static str>,
}

/// A step of a shared kernel path that this scenario's protocol does not have: the kernel
/// era it models predates it, or the state that makes it matter never arises here. The step is
/// off in every variant; saying so is what lets the path read the guard (an undeclared guard
/// is a model error, see [`Setup::declared`]).
#[derive(Clone, Copy, Debug)]
pub struct Absent {
    pub guard: Guards,
    /// Why the step is off in this scenario.
    pub why: &'static str,
}

/// The protocol with some guards switched off.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub name: &'static str,
    pub about: &'static str,
    /// The guards this variant switches off (empty: the protocol as it is correct).
    pub off: Guards,
}

/// What one execution of a cell is given.
#[derive(Clone, Copy, Debug)]
pub struct Setup<'a> {
    pub policy: &'a ArchPolicy,
    /// The guards switched on.
    pub guards: Guards,
    /// The guards the scenario declares (its `GuardDoc`s): a kernel path that asks about any
    /// other guard is a model error, so no path silently runs with a step switched off.
    pub declared: Guards,
    /// The data choices forced for this run (see `ptcheck_model::Choice`).
    pub choices: &'a [ptcheck_model::Picked],
}

/// Which arch policies a scenario's protocol exists on. On the others the matrix shows `n/a`
/// and nothing runs: x86's `pgd_list` has no counterpart where the kernel is mapped through a
/// root every process shares.
#[derive(Clone, Copy, Debug)]
pub struct Applies {
    pub to: fn(&ArchPolicy) -> bool,
    /// Why the protocol does not exist elsewhere (shown for `n/a`).
    pub why_not: &'static str,
}

impl Applies {
    /// Every policy.
    pub const EVERY_POLICY: Applies = Applies {
        to: |_| true,
        why_not: "",
    };
}

/// A scenario: concurrent kernel paths over one initial state, and what must hold.
#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    /// The seed series it comes from (`../shared/seeds/...`).
    pub source: &'static str,
    /// What each CPU runs, in CPU order.
    pub cpus: &'static [&'static str],
    pub guards: &'static [GuardDoc],
    /// Steps of the kernel paths it uses that its protocol does not have (off everywhere).
    pub absent: &'static [Absent],
    pub variants: &'static [Variant],
    /// loom's preemption bound for this scenario's cells (`None`: exhaustive); chosen from
    /// the scenario's thread count (DESIGN.md §2 calibration) and stated in every verdict.
    pub loom_bound: Option<usize>,
    /// One execution: build the world, run every CPU, check the final state.
    pub run: fn(&Setup),
    /// The policies it applies to.
    pub applies: Applies,
}

impl Setup<'_> {
    /// A world for `ncpus` CPUs with this run's guards, declared guards and data choices.
    pub fn world(&self, ncpus: usize) -> ptcheck_model::WorldBuilder {
        ptcheck_model::WorldBuilder::new(ncpus, self.guards, self.choices).declared(self.declared)
    }
}

impl Scenario {
    /// Does the protocol exist on `policy`?
    pub fn applies_to(&self, policy: &ArchPolicy) -> bool {
        (self.applies.to)(policy)
    }

    /// The policies of the matrix it does not apply to (`n/a`), in registry order.
    pub fn not_applicable(&self) -> Vec<&'static str> {
        ptcheck_arch::ALL
            .iter()
            .filter(|p| !self.applies_to(p))
            .map(|p| p.name)
            .collect()
    }

    /// Every guard the protocol has.
    pub fn all_guards(&self) -> Guards {
        self.guards.iter().fold(Guards::empty(), |g, d| g | d.guard)
    }

    /// Every guard a kernel path of this scenario may ask about: its own and the absent ones.
    pub fn declared(&self) -> Guards {
        self.absent
            .iter()
            .fold(self.all_guards(), |g, a| g | a.guard)
    }

    /// The guards on in `variant`.
    pub fn guards_for(&self, variant: &Variant) -> Guards {
        self.all_guards() - variant.off
    }

    /// The hazards a run with the guards `off` switched off is about (`ptcheck_model::hazard`):
    /// those the switched-off guards protect from, or, for the protocol as it is correct,
    /// those of every guard it has. A safe run that reached none of them is `vacuous`.
    pub fn hazards_for_off(&self, off: Guards) -> Hazards {
        if off.is_empty() {
            self.all_guards().hazards()
        } else {
            off.hazards()
        }
    }

    pub fn variant(&self, name: &str) -> Option<&'static Variant> {
        self.variants.iter().find(|v| v.name == name)
    }
}
