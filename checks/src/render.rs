//! Counterexamples as people read them: one column per CPU (and per RCU callback batch), one
//! row per step, each step named by the kernel function it stands for, with the values read or
//! written and symbolic frame names (PT#2, page A). The violation closes the table.

use crate::capture::Failure;
use crate::outcome::Finding;
use ptcheck_model::{Actor, Event};

/// Cells longer than this are cut (at a word boundary where one is near) unless `wide`.
const MAX_COL: usize = 76;

/// Reads that return a value an earlier step (in interleaving order) had already overwritten:
/// step index of the read -> step index of the overwriting write. Only weak memory produces
/// them (loom); a sequentially consistent trace has none.
pub fn stale_reads(trace: &[Event]) -> Vec<(usize, usize)> {
    let mut last: std::collections::HashMap<(usize, usize), (usize, u64)> = Default::default();
    let mut out = Vec::new();
    for (n, e) in trace.iter().enumerate() {
        let Some(a) = e.access else { continue };
        // A read of a freed table returns the allocator's poison, which the free's own step
        // wrote (untraced): a use-after-free, not a stale read.
        if !a.write && a.value == ptcheck_model::Entry::POISON.0 {
            continue;
        }
        if a.write {
            last.insert(a.entry, (n, a.value));
        } else if let Some(&(w, v)) = last.get(&a.entry) {
            if v != a.value {
                out.push((n, w));
            }
        }
    }
    out
}

/// Cut `s` to `max` characters, at the last space in its final fifth if there is one.
fn cut(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        return (s.to_string(), false);
    }
    let head: String = s.chars().take(max - 1).collect();
    let at = head
        .rfind(' ')
        .filter(|&i| i >= head.len() * 4 / 5)
        .unwrap_or(head.len());
    (format!("{}…", head[..at].trim_end()), true)
}

/// Render a trace as a per-CPU table; cells are cut unless `wide` (see [`MAX_COL`]); a read of
/// an overwritten value is marked `[stale: step N wrote it over]`.
pub fn trace_table_opts(trace: &[Event], wide: bool) -> (String, bool) {
    let mut actors: Vec<Actor> = trace.iter().map(|e| e.actor).collect();
    actors.sort();
    actors.dedup();
    let stale: std::collections::HashMap<usize, usize> = stale_reads(trace).into_iter().collect();
    let mut any_cut = false;
    let cells: Vec<String> = trace
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let base = format!("{}: {}", e.func, e.what);
            let (mut c, was_cut) = if wide {
                (base, false)
            } else {
                cut(&base, MAX_COL)
            };
            any_cut |= was_cut;
            if let Some(w) = stale.get(&n) {
                c.push_str(&format!(" [stale: step {} wrote it over]", w + 1));
            }
            c
        })
        .collect();
    let mut width: Vec<usize> = actors.iter().map(|a| a.to_string().len()).collect();
    for (e, c) in trace.iter().zip(&cells) {
        let i = actors.iter().position(|a| *a == e.actor).unwrap_or(0);
        width[i] = width[i].max(c.chars().count());
    }
    let mut out = String::new();
    let line = |out: &mut String, step: &str, cols: &[String]| {
        let mut l = format!("{step:>4} |");
        for (i, c) in cols.iter().enumerate() {
            l.push_str(&format!(" {:<w$} |", c, w = width[i]));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    let head: Vec<String> = actors.iter().map(|a| a.to_string()).collect();
    line(&mut out, "step", &head);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, "----", &rule);
    for (n, (e, c)) in trace.iter().zip(&cells).enumerate() {
        let cols: Vec<String> = actors
            .iter()
            .map(|a| {
                if *a == e.actor {
                    c.clone()
                } else {
                    String::new()
                }
            })
            .collect();
        line(&mut out, &(n + 1).to_string(), &cols);
    }
    (out, any_cut)
}

/// Render a trace as a per-CPU table, cells cut at [`MAX_COL`].
pub fn trace_table(trace: &[Event]) -> String {
    trace_table_opts(trace, false).0
}

/// The whole counterexample: table, violation, and how to replay it.
pub fn counterexample(f: &Finding) -> String {
    counterexample_opts(f, false)
}

/// [`counterexample`], with cells whole when `wide`.
pub fn counterexample_opts(f: &Finding, wide: bool) -> String {
    let (mut out, any_cut) = trace_table_opts(&f.trace, wide);
    out.push('\n');
    match &f.failure {
        Failure::Violation(v) => out.push_str(&format!("VIOLATION {v}\n")),
        Failure::ModelError(m) => out.push_str(&format!("MODEL ERROR: {m}\n")),
    }
    if !f.choices.is_empty() {
        out.push_str(&format!(
            "data choices: {}\n",
            ptcheck_model::Choice::describe(&f.choices)
        ));
    }
    if let Some(p) = f.preemptions {
        out.push_str(&format!(
            "replay: loom, preemption bound {p} (loom's exploration order is deterministic)\n"
        ));
    }
    if let Some(s) = &f.schedule {
        out.push_str(&format!("replay: ptcheck replay <cell> --schedule {s}\n"));
    }
    if any_cut {
        out.push_str(
            "(cells cut at 76 characters: `ptcheck explain <cell> --wide` prints them whole)\n",
        );
    }
    if f.weak_memory() {
        out.push_str(
            "\nThis counterexample needs weak memory: an access comes first in the interleaving \
             but is not ordered before the step that conflicts with it, or a read returns a value \
             an earlier step overwrote.\n",
        );
        match (&f.interleaving, f.sc_schedules) {
            (Some(g), n) => {
                out.push_str(&format!(
                    "An interleaving-order counterexample (shuttle PCT, sequentially consistent, \
                     found after {n} schedules):\n\n"
                ));
                out.push_str(&counterexample_opts(g, wide));
            }
            (None, 0) => {}
            (None, n) if f.sc_exhaustive => out.push_str(&format!(
                "No interleaving-order counterexample: shuttle PCT ran every one of the {n} \
                 sequentially consistent schedules of these data choices, each once.\n"
            )),
            (None, n) => out.push_str(&format!(
                "No interleaving-order counterexample in {n} sequentially consistent schedules \
                 (shuttle PCT, seed 1; not all of them: `ptcheck agree` runs DFS to the end).\n"
            )),
        }
    }
    out
}
