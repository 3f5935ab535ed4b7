//! Counterexamples as people read them: one column per CPU (and per RCU callback batch), one
//! row per step, each step named by the kernel function it stands for, with the values read or
//! written and symbolic frame names (PT#2, page A). The violation closes the table.

use crate::capture::Failure;
use crate::outcome::Finding;
use ptcheck_model::{Actor, Event};

const MAX_COL: usize = 76;

/// Render a trace as a per-CPU table.
pub fn trace_table(trace: &[Event]) -> String {
    let mut actors: Vec<Actor> = trace.iter().map(|e| e.actor).collect();
    actors.sort();
    actors.dedup();
    let cell = |e: &Event| {
        let s = format!("{}: {}", e.func, e.what);
        if s.chars().count() > MAX_COL {
            let mut t: String = s.chars().take(MAX_COL - 1).collect();
            t.push('…');
            t
        } else {
            s
        }
    };
    let mut width: Vec<usize> = actors.iter().map(|a| a.to_string().len()).collect();
    for e in trace {
        let i = actors.iter().position(|a| *a == e.actor).unwrap_or(0);
        width[i] = width[i].max(cell(e).chars().count());
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
    for (n, e) in trace.iter().enumerate() {
        let cols: Vec<String> = actors
            .iter()
            .map(|a| {
                if *a == e.actor {
                    cell(e)
                } else {
                    String::new()
                }
            })
            .collect();
        line(&mut out, &(n + 1).to_string(), &cols);
    }
    out
}

/// The whole counterexample: table, violation, and how to replay it.
pub fn counterexample(f: &Finding) -> String {
    let mut out = trace_table(&f.trace);
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
    out
}
