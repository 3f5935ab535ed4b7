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

/// A guard a scenario outside this project declares on a user bit ([`Guards::user`]): its
/// name (in variants, reports, necessity and JSON) and the hazards it protects a walker from
/// (a `safe` verdict about it means something only if an execution reached one of them). Its
/// kernel step, why and redundancy are its [`GuardDoc`], as for every guard.
#[derive(Clone, Copy, Debug)]
pub struct OwnGuard {
    pub guard: Guards,
    /// Kebab-case, e.g. `flush-ipi-wait`.
    pub name: &'static str,
    pub hazards: Hazards,
}

/// A violation a scenario's own oracle can report (`ptcheck_model::violation::raise_own`): its
/// name in the expectation matrix and reports (`wrong-page`), and what it means.
#[derive(Clone, Copy, Debug)]
pub struct FindingDoc {
    pub name: &'static str,
    /// One line: "gup on mm A returned a page mm A never mapped".
    pub about: &'static str,
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
    /// The guards switched on. Private: a kernel path learns a guard only by asking the world
    /// (`World::guard`, through [`Setup::world`]), which records the question. Explorations
    /// rely on that record: one that never asked about a guard is shared with the variants
    /// that switch only such guards off (src/memo.rs).
    guards: Guards,
    /// The guards the scenario declares (its `GuardDoc`s): a kernel path that asks about any
    /// other guard is a model error, so no path silently runs with a step switched off.
    pub declared: Guards,
    /// The data choices forced for this run (see `ptcheck_model::Choice`). Private for the
    /// same reason as `guards`: a kernel path learns a choice only by picking it from the
    /// world builder or the world, which records that the point was met (and when: the
    /// explorer drops a combination whose build-time pick its world never met,
    /// checks/src/choice_tree.rs).
    choices: &'a [ptcheck_model::Picked],
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
    /// Guards on user bits this scenario declares (empty in this project's scenarios, whose
    /// guards are the shared vocabulary of [`Guards`]).
    pub own_guards: &'static [OwnGuard],
    /// Violations its own oracles report, beyond the model's ([`ptcheck_model::ViolationKind`]).
    pub findings: &'static [FindingDoc],
}

impl<'a> Setup<'a> {
    /// What one execution of a cell on `policy` with the guards `guards` on is given.
    pub fn new(
        policy: &'a ArchPolicy,
        guards: Guards,
        declared: Guards,
        choices: &'a [ptcheck_model::Picked],
    ) -> Self {
        Setup {
            policy,
            guards,
            declared,
            choices,
        }
    }

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

    /// The policies of `policies` it does not apply to (`n/a`), in their order.
    pub fn not_applicable(&self, policies: &[&'static ArchPolicy]) -> Vec<&'static str> {
        policies
            .iter()
            .filter(|p| !self.applies_to(p))
            .map(|p| p.name)
            .collect()
    }

    /// The name of one guard: the scenario's own name for a user bit ([`OwnGuard`]), the
    /// shared vocabulary's otherwise.
    pub fn guard_name(&self, g: Guards) -> &'static str {
        self.own_guards
            .iter()
            .find(|o| o.guard == g)
            .map_or_else(|| g.guard_name(), |o| o.name)
    }

    /// The names of the guards in `set`, in bit order.
    pub fn guard_names(&self, set: Guards) -> Vec<&'static str> {
        set.each().map(|g| self.guard_name(g)).collect()
    }

    /// The guard named `name` among the scenario's guards.
    pub fn guard_by_name(&self, name: &str) -> Option<Guards> {
        self.declared().each().find(|g| self.guard_name(*g) == name)
    }

    /// The hazards the guards of `set` protect from: the shared vocabulary's, and what the
    /// scenario's own guards declare.
    pub fn guard_hazards(&self, set: Guards) -> Hazards {
        self.own_guards
            .iter()
            .filter(|o| set.contains(o.guard))
            .fold(set.hazards(), |h, o| h | o.hazards)
    }

    /// The violation kind a verdict name stands for: the model's, or one of the scenario's own
    /// findings.
    pub fn finding_kind(&self, name: &str) -> Option<ptcheck_model::ViolationKind> {
        ptcheck_model::ViolationKind::from_name(name).or_else(|| {
            self.findings
                .iter()
                .find(|f| f.name == name)
                .map(|f| ptcheck_model::ViolationKind::Own(f.name))
        })
    }

    /// What is wrong with the scenario as a value, if anything: user guards without a name or
    /// a hazard, project guards renamed, a variant switching off a guard it does not have,
    /// duplicate names. A registry refuses a scenario this finds fault with.
    pub fn validate(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        for o in self.own_guards {
            if o.guard.bits().count_ones() != 1 || !Guards::USER.contains(o.guard) {
                errors.push(format!(
                    "own guard `{}` is not one user bit (use Guards::user(n))",
                    o.name
                ));
            }
            if o.hazards.is_empty() {
                errors.push(format!("own guard `{}` protects from no hazard", o.name));
            }
            if !self.guards.iter().any(|d| d.guard == o.guard) {
                errors.push(format!("own guard `{}` has no GuardDoc", o.name));
            }
        }
        for d in self.guards {
            if Guards::USER.intersects(d.guard)
                && !self.own_guards.iter().any(|o| o.guard == d.guard)
            {
                errors.push(format!(
                    "guard `{}` (step `{}`) is a user bit with no OwnGuard naming it",
                    d.guard.guard_name(),
                    d.step
                ));
            }
        }
        let mut names: Vec<&str> = self.guard_names(self.declared());
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            errors.push(format!("two guards are named `{}`", w[0]));
        }
        for v in self.variants {
            if !self.all_guards().contains(v.off) {
                errors.push(format!(
                    "variant `{}` switches off a guard the scenario does not have",
                    v.name
                ));
            }
        }
        let mut vnames: Vec<&str> = self.variants.iter().map(|v| v.name).collect();
        vnames.sort_unstable();
        if let Some(w) = vnames.windows(2).find(|w| w[0] == w[1]) {
            errors.push(format!("two variants are named `{}`", w[0]));
        }
        if self.variant("correct").is_none() {
            errors.push("no `correct` variant".into());
        }
        for f in self.findings {
            if ptcheck_model::ViolationKind::from_name(f.name).is_some() {
                errors.push(format!(
                    "finding `{}` has the name of one of the model's violation kinds",
                    f.name
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("scenario {}: {}", self.name, errors.join("; ")))
        }
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
            self.guard_hazards(self.all_guards())
        } else {
            self.guard_hazards(off)
        }
    }

    pub fn variant(&self, name: &str) -> Option<&'static Variant> {
        self.variants.iter().find(|v| v.name == name)
    }
}
