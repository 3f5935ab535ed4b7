//! Data choices: the outcomes a scenario leaves to the explorer beside the schedule (does the
//! batch page allocation fail, which writer runs), explored as a tree (checks/src/choice_tree.rs).

/// A data choice point (e.g. "does the batch page allocation fail"): a name and its
/// alternatives, the first being the default. loom explores schedules only, so each
/// combination of alternatives is a separate run of the cell; the explorer learns the points
/// an execution meets and enumerates them (DESIGN.md §2, "data choices").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub name: &'static str,
    pub options: &'static [&'static str],
}

/// One alternative of a choice point, forced for a run.
pub type Picked = (Choice, usize);

impl Choice {
    /// The alternative `set` forces for this point (the default, 0, if none).
    pub fn picked(&self, set: &[Picked]) -> usize {
        set.iter()
            .find(|(c, _)| c.name == self.name)
            .map(|&(_, i)| i)
            .unwrap_or(0)
    }

    /// `name = option`, for verdicts and counterexamples.
    pub fn describe(set: &[Picked]) -> String {
        set.iter()
            .map(|(c, i)| format!("{} = {}", c.name, c.options.get(*i).unwrap_or(&"?")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The data choices of one execution.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Choices {
    /// The alternatives forced in this run (points not listed take their default).
    pub set: Vec<Picked>,
    /// Choice points the execution reached.
    pub met: Vec<Choice>,
}

impl Choices {
    pub(super) fn pick(&mut self, c: Choice) -> usize {
        if !self.met.contains(&c) {
            self.met.push(c);
            crate::exec::met(c);
        }
        c.picked(&self.set)
    }
}
