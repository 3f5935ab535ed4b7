//! The data-choice tree: which combinations of data choices a cell is explored under.
//!
//! loom and shuttle explore schedules, not data, so a data choice point (does
//! `__get_free_page(GFP_NOWAIT)` fail, which writer runs) is explored by running the cell once
//! per combination of alternatives (DESIGN.md §2, "data choices"). A combination exists only
//! if its points are met: the root forces nothing; a run of a node that meets a point the node
//! does not force adds one child per other alternative of that point. "Later batch allocation
//! fails" is met only where the first attempt failed, so it is only ever combined with that
//! (a combination forcing a point its runs never meet would rerun its parent exactly).
//! Children reached along two paths (`A` then `B`, `B` then `A`) are one node.
//!
//! A child can still force a point its runs never meet: `walker = installer` met with the
//! default writer, then combined with `writer = refill`, whose world picks its walker from
//! another point (pte-free-defer-vs-retract on x86-PAE). Such a combination runs exactly the
//! executions of the one without that pick, and is dropped when the tree holds that one.
//! Points the world builder meets do not depend on the schedule ([`ExecStats::built_met`]), so
//! one execution tells: [`ChoiceTree::repeats`] names the combinations to drop after their
//! first execution.
//!
//! [`ExecStats::built_met`]: ptcheck_model::exec::ExecStats::built_met

use ptcheck_model::{Choice, Picked};
use std::collections::hash_map::{Entry, HashMap};

/// One combination: the alternatives it forces (points not listed take their default, 0).
#[derive(Clone, Debug, Default)]
pub struct Node {
    pub picked: Vec<Picked>,
    /// Points its runs met so far (each adds children once).
    met: Vec<Choice>,
    /// The forced points met while the world was built in the run that added them: every run
    /// of this combination meets them unless one of its other picks turns them off.
    at_build: Vec<&'static str>,
}

/// Every combination found so far, in the order they were found (the root first).
#[derive(Debug)]
pub struct ChoiceTree {
    pub nodes: Vec<Node>,
    /// Each node's index, by its sorted picks.
    index: HashMap<Vec<(&'static str, usize)>, usize>,
}

impl Default for ChoiceTree {
    fn default() -> Self {
        Self::new()
    }
}

impl ChoiceTree {
    /// The root alone: every point at its default.
    pub fn new() -> Self {
        ChoiceTree {
            nodes: vec![Node::default()],
            index: HashMap::from([(Vec::new(), 0)]),
        }
    }

    fn key(picked: &[Picked]) -> Vec<(&'static str, usize)> {
        let mut k: Vec<_> = picked.iter().map(|(c, i)| (c.name, *i)).collect();
        k.sort_unstable();
        k
    }

    /// Runs of node `i` met the points `met`, of which `built` while the world was built: add
    /// the children they open. Returns how many nodes were added.
    pub fn grow(&mut self, i: usize, met: &[Choice], built: &[Choice]) -> usize {
        let mut added = 0;
        for &m in met {
            let node = &mut self.nodes[i];
            if node.met.contains(&m) {
                continue;
            }
            node.met.push(m);
            if node.picked.iter().any(|(c, _)| c.name == m.name) {
                continue;
            }
            let base = node.picked.clone();
            let mut at_build = node.at_build.clone();
            if built.contains(&m) {
                at_build.push(m.name);
            }
            for alt in 1..m.options.len() {
                let mut picked = base.clone();
                picked.push((m, alt));
                let next = self.nodes.len();
                if let Entry::Vacant(e) = self.index.entry(Self::key(&picked)) {
                    e.insert(next);
                    self.nodes.push(Node {
                        picked,
                        met: Vec::new(),
                        at_build: at_build.clone(),
                    });
                    added += 1;
                }
            }
        }
        added
    }

    /// Whether runs of node `i` met the point named `point`.
    pub fn met(&self, i: usize, point: &str) -> bool {
        self.nodes[i].met.iter().any(|m| m.name == point)
    }

    /// A run of node `i` met `met`: a point it forces that this run did not meet, met while
    /// the CPUs ran (so a later run may still meet it), with the node that forces everything
    /// else the same. If that node's exhaustive exploration never meets the point either,
    /// node `i` repeats it: under the same schedule the two runs agree up to that point, which
    /// is never reached.
    pub fn runtime_unmet(&self, i: usize, met: &[Choice]) -> Option<(Choice, usize)> {
        let node = &self.nodes[i];
        node.picked.iter().find_map(|&(c, _)| {
            if node.at_build.contains(&c.name) || Self::among(met, &c) {
                return None;
            }
            Some((c, self.without(i, |p| p.name == c.name)?))
        })
    }

    /// A run of node `i` met `met`: if it forces points met at build time that this run did
    /// not meet, the node repeats, execution for execution, the combination without those
    /// picks (see the module doc). Returns one such point and that combination's node, if the
    /// tree holds it (only then is node `i` a repeat to drop).
    pub fn repeats(&self, i: usize, met: &[Choice]) -> Option<(Choice, usize)> {
        let node = &self.nodes[i];
        let unmet = |c: &Choice| node.at_build.contains(&c.name) && !Self::among(met, c);
        let point = node.picked.iter().map(|&(c, _)| c).find(unmet)?;
        Some((point, self.without(i, unmet)?))
    }

    fn among(met: &[Choice], c: &Choice) -> bool {
        met.iter().any(|m| m.name == c.name)
    }

    /// The node forcing node `i`'s picks but those whose point `drop` names, if the tree
    /// holds one.
    fn without(&self, i: usize, drop: impl Fn(&Choice) -> bool) -> Option<usize> {
        let rest: Vec<Picked> = self.nodes[i]
            .picked
            .iter()
            .filter(|(c, _)| !drop(c))
            .copied()
            .collect();
        self.index.get(&Self::key(&rest)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: Choice = Choice {
        name: "first",
        options: &["ok", "fails"],
    };
    const LATER: Choice = Choice {
        name: "later",
        options: &["ok", "fails"],
    };
    const WRITER: Choice = Choice {
        name: "writer",
        options: &["a", "b", "c"],
    };

    #[test]
    fn a_point_met_only_under_another_is_combined_only_with_it() {
        let mut t = ChoiceTree::new();
        assert_eq!(t.grow(0, &[FIRST], &[]), 1);
        // The root never meets `later`; its child does.
        assert_eq!(t.grow(1, &[FIRST, LATER], &[]), 1);
        let combos: Vec<String> = t
            .nodes
            .iter()
            .map(|n| Choice::describe(&n.picked))
            .collect();
        assert_eq!(
            combos,
            ["", "first = fails", "first = fails, later = fails"],
            "no `later = fails` with the first attempt allocated"
        );
    }

    #[test]
    fn a_combination_reached_two_ways_is_one_node_and_growth_is_idempotent() {
        let mut t = ChoiceTree::new();
        assert_eq!(t.grow(0, &[WRITER, FIRST], &[]), 3);
        assert_eq!(
            t.grow(0, &[WRITER, FIRST], &[]),
            0,
            "met twice: no new node"
        );
        // writer = b meets `first`, first = fails meets `writer`: the same combination.
        let wb = 1;
        let ff = 3;
        assert_eq!(t.grow(wb, &[WRITER, FIRST], &[]), 1);
        assert_eq!(
            t.grow(ff, &[WRITER, FIRST], &[]),
            1,
            "writer = c with first = fails"
        );
        let n = t.nodes.len();
        assert_eq!(
            n, 6,
            "the full product of 3 writers x 2 outcomes, each once"
        );
    }

    const WALKER: Choice = Choice {
        name: "walker",
        options: &["reader", "installer"],
    };
    const REFILL_WALKER: Choice = Choice {
        name: "walker against the refill",
        options: &["reader", "gup"],
    };

    #[test]
    fn a_combination_whose_other_pick_turns_off_a_build_time_point_repeats_and_is_named() {
        // The world picks the writer, then its walker: from WALKER unless the writer is the
        // refill (`c`), which picks from REFILL_WALKER.
        let mut t = ChoiceTree::new();
        assert_eq!(t.grow(0, &[WRITER, WALKER], &[WRITER, WALKER]), 3);
        let (refill, installer) = (2, 3);
        assert_eq!(t.nodes[refill].picked, [(WRITER, 2)]);
        assert_eq!(t.nodes[installer].picked, [(WALKER, 1)]);
        assert_eq!(t.repeats(refill, &[WRITER, REFILL_WALKER]), None);
        assert_eq!(t.grow(installer, &[WRITER, WALKER], &[WRITER, WALKER]), 2);
        let n = t.nodes.len();
        let both = n - 1;
        assert_eq!(t.nodes[both].picked, [(WALKER, 1), (WRITER, 2)]);
        // Its run picks the walker from the other point: `walker = installer` is never met.
        assert_eq!(
            t.repeats(both, &[WRITER, REFILL_WALKER]),
            Some((WALKER, refill)),
            "walker = installer, writer = refill runs what writer = refill runs"
        );
        // A point met only while the CPUs run may be met by a later execution: never named.
        let mut t = ChoiceTree::new();
        t.grow(0, &[WRITER, FIRST], &[WRITER]);
        let first_fails = t
            .nodes
            .iter()
            .position(|n| n.picked == [(FIRST, 1)])
            .expect("node");
        assert_eq!(t.repeats(first_fails, &[WRITER]), None);
    }
}
