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

use ptcheck_model::{Choice, Picked};
use std::collections::HashSet;

/// One combination: the alternatives it forces (points not listed take their default, 0).
#[derive(Clone, Debug, Default)]
pub struct Node {
    pub picked: Vec<Picked>,
    /// Points its runs met so far (each adds children once).
    met: Vec<Choice>,
}

/// Every combination found so far, in the order they were found (the root first).
#[derive(Debug)]
pub struct ChoiceTree {
    pub nodes: Vec<Node>,
    keys: HashSet<Vec<(&'static str, usize)>>,
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
            keys: HashSet::from([Vec::new()]),
        }
    }

    fn key(picked: &[Picked]) -> Vec<(&'static str, usize)> {
        let mut k: Vec<_> = picked.iter().map(|(c, i)| (c.name, *i)).collect();
        k.sort_unstable();
        k
    }

    /// Runs of node `i` met the points `met`: add the children they open. Returns how many
    /// nodes were added.
    pub fn grow(&mut self, i: usize, met: &[Choice]) -> usize {
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
            for alt in 1..m.options.len() {
                let mut picked = base.clone();
                picked.push((m, alt));
                if self.keys.insert(Self::key(&picked)) {
                    self.nodes.push(Node {
                        picked,
                        met: Vec::new(),
                    });
                    added += 1;
                }
            }
        }
        added
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
        assert_eq!(t.grow(0, &[FIRST]), 1);
        // The root never meets `later`; its child does.
        assert_eq!(t.grow(1, &[FIRST, LATER]), 1);
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
        assert_eq!(t.grow(0, &[WRITER, FIRST]), 3);
        assert_eq!(t.grow(0, &[WRITER, FIRST]), 0, "met twice: no new node");
        // writer = b meets `first`, first = fails meets `writer`: the same combination.
        let wb = 1;
        let ff = 3;
        assert_eq!(t.grow(wb, &[WRITER, FIRST]), 1);
        assert_eq!(
            t.grow(ff, &[WRITER, FIRST]),
            1,
            "writer = c with first = fails"
        );
        let n = t.nodes.len();
        assert_eq!(
            n, 6,
            "the full product of 3 writers x 2 outcomes, each once"
        );
    }
}
