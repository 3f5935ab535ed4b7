//! Counterexamples as mermaid `sequenceDiagram`s, for a GitHub pull-request comment (GitHub
//! renders a ```` ```mermaid ```` block as a diagram).
//!
//! Participants are the CPUs and the RCU callback batches; every step is a note over its actor
//! (numbered as in the text table, cut at the table's width); an IPI is a message from the
//! sender to each target, its answer a dashed message back (after the target's irq-off section
//! ends, if it was in one); `call_rcu` is an asynchronous message to the callback batch; irq-off
//! and read-side sections are activations of the actor's lifeline; grace periods are shaded
//! `rect` blocks (those that nest: blocks cannot cross); the violation is a final note across
//! all participants. The drawing reads the same [`crate::html::Structure`] as the HTML
//! report.
//!
//! Text is escaped with mermaid's entity codes (`#59;` for `;`, `#35;` for `#`, `#lt;`, `#gt;`,
//! `#quot;`, `#amp;`): a `;` ends a statement and a `#` starts an entity code, and `<`/`>`
//! would be read as HTML.

use crate::html::{structure, Answer};
use crate::report::Row;
use ptcheck_checks::{Failure, Finding};
use ptcheck_model::{Actor, SyncStep};
use std::fmt::Write as _;

/// How long a step's note may be (the text table's column width).
const NOTE_MAX: usize = 76;

/// Escape `s` for the text of a mermaid message or note.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '"' => out.push_str("#quot;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The participant id of an actor (`C0`, `R0`; the alias shows `CPU0`, `rcu-cb0`).
fn pid(a: Actor) -> String {
    match a {
        Actor::Cpu(n) => format!("C{n}"),
        Actor::RcuCallback(n) => format!("R{n}"),
    }
}

/// The counterexample `f` as a mermaid `sequenceDiagram` (the diagram text alone, without a
/// code fence).
pub fn sequence_diagram(f: &Finding) -> String {
    let st = structure(f);
    let trace = &f.trace;
    let mut actors = st.actors.clone();
    for g in &st.graces {
        if let Some((runner, _)) = g.callback {
            actors.push(runner);
        }
    }
    actors.sort();
    actors.dedup();

    let mut out = String::from("sequenceDiagram\n");
    for a in &actors {
        let _ = writeln!(out, "    participant {} as {a}", pid(*a));
    }
    let stale: std::collections::HashMap<usize, usize> = st.stale.iter().copied().collect();
    // Grace periods as shaded `rect` blocks, those that nest (blocks cannot cross).
    let mut bands: Vec<(usize, usize)> = Vec::new();
    let mut graces: Vec<(usize, usize)> = st
        .graces
        .iter()
        .filter_map(|g| g.to.map(|t| (g.from, t)))
        .collect();
    graces.sort_by_key(|&(f, t)| (f, std::cmp::Reverse(t)));
    for (f, t) in graces {
        let crosses = bands
            .iter()
            .any(|&(bf, bt)| (bf < f && f <= bt && bt < t) || (f < bf && bf <= t && t < bt));
        if !crosses && !bands.contains(&(f, t)) {
            bands.push((f, t));
        }
    }
    let mut open: Vec<usize> = Vec::new();
    for (n, e) in trace.iter().enumerate() {
        let me = pid(e.actor);
        for &(f, t) in &bands {
            if f == n {
                out.push_str("    rect rgba(21, 101, 192, 0.10)\n");
                open.push(t);
            }
        }
        let mut text = format!("{}. {}: {}", n + 1, e.func, e.what);
        text = crate::html::truncate(&text, NOTE_MAX);
        if st.offending == Some(n) {
            text = format!("VIOLATION at {text}");
        } else if st.freed == Some(n) {
            text = format!("THE FREE: {text}");
        }
        if let Some(w) = stale.get(&n) {
            text.push_str(&format!(" [stale: step {} wrote it over]", w + 1));
        }
        // The offending step and the free stand out in red.
        let marked = st.offending == Some(n) || st.freed == Some(n);
        if marked {
            out.push_str("    rect rgba(211, 47, 47, 0.25)\n");
        }
        let _ = writeln!(out, "    Note over {me}: {}", escape(&text));
        if marked {
            out.push_str("    end\n");
        }
        // Sections: the lifeline is active while interrupts are off or a read lock is held.
        for s in &st.sections {
            if s.from == n {
                let _ = writeln!(out, "    activate {me}");
            }
            if s.to == Some(n) {
                let _ = writeln!(out, "    deactivate {me}");
            }
        }
        match e.sync() {
            Some(SyncStep::IpiSent { .. }) => {
                if let Some(ipi) = st.ipis.iter().find(|i| i.sent == n) {
                    for t in &ipi.targets {
                        let _ = writeln!(out, "    {me}->>C{}: IPI ({})", t.cpu, escape(ipi.func));
                    }
                    for t in &ipi.targets {
                        if t.answer == Answer::AtOnce && ipi.answered.is_some() {
                            let _ = writeln!(
                                out,
                                "    C{}-->>{me}: answers at once (interrupts on)",
                                t.cpu
                            );
                        }
                    }
                }
            }
            Some(SyncStep::Deferred {
                callback, batch, ..
            }) => {
                let _ = writeln!(
                    out,
                    "    {me}-){}: queue {} (runs after a grace period)",
                    pid(Actor::RcuCallback(*batch)),
                    escape(callback)
                );
            }
            _ => {}
        }
        // Answers of targets whose irq-off section ends at this step.
        // (Emitted before a band that ends here closes: the answer is part of the step.)
        for ipi in &st.ipis {
            if ipi.answered.is_none() {
                continue;
            }
            for t in &ipi.targets {
                if t.answer == Answer::AfterIrqOn(n) {
                    let _ = writeln!(
                        out,
                        "    C{}-->>{}: answers the IPI of step {} (interrupts on again)",
                        t.cpu,
                        pid(ipi.sender),
                        ipi.sent + 1
                    );
                }
            }
        }
        while open.last() == Some(&n) {
            open.pop();
            out.push_str("    end\n");
        }
    }
    for _ in open {
        out.push_str("    end\n");
    }
    for ipi in &st.ipis {
        for t in &ipi.targets {
            if t.answer == Answer::Pending || ipi.answered.is_none() {
                let _ = writeln!(
                    out,
                    "    Note over C{}: has not answered the IPI of step {} ({})",
                    t.cpu,
                    ipi.sent + 1,
                    escape(&ipi.sender.to_string())
                );
            }
        }
    }
    let note = match &f.failure {
        Failure::Violation(v) => format!("VIOLATION {v}"),
        Failure::ModelError(m) => format!("MODEL ERROR: {m}"),
    };
    let over = match (actors.first(), actors.last()) {
        (Some(a), Some(b)) if a != b => format!("{},{}", pid(*a), pid(*b)),
        (Some(a), _) => pid(*a),
        _ => {
            // No step at all: a participant to hang the note on.
            out.push_str("    participant C0 as CPU0\n");
            "C0".into()
        }
    };
    let _ = writeln!(out, "    Note over {over}: {}", escape(&note));
    out
}

/// A pull-request comment for `row`: a header (cell, verdict, expectation, coverage) and its
/// counterexample as a ```` ```mermaid ```` block; `None` if the row has no finding.
pub fn comment(row: &Row) -> Option<String> {
    let f = row.outcome.finding.as_ref()?;
    let expect = row
        .expect
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "MISSING".into());
    Some(format!(
        "**`{}`**: {} (expected {expect}{})  \ncoverage: {}\n\n```mermaid\n{}```\n",
        row.cell.id(),
        row.verdict(),
        if row.matches() { "" } else { ": DIFFERS" },
        row.outcome.coverage(),
        sequence_diagram(f)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_ipis_sections_and_callbacks() {
        let d = sequence_diagram(&crate::html::tests::finding());
        for part in [
            "participant C0 as CPU0",
            "participant R0 as rcu-cb0",
            "activate C0",
            "deactivate C0",
            "C1->>C0: IPI (flush)",
            "C0-->>C1: answers the IPI of step 2",
            "C1-)R0: queue cb",
            "Note over R0: 7. cb: grace period over",
            "walk #lt;a#gt; #amp; #quot;b#quot;",
            "Note over C0,R0: MODEL ERROR: a test#59; #35;1 #lt;x#gt;",
        ] {
            assert!(d.contains(part), "{part} in\n{d}");
        }
        // The answer comes after interrupts are on again, and blocks are balanced.
        assert!(d.find("4. gup: local_irq_restore") < d.find("C0-->>C1"));
        assert_eq!(
            d.lines()
                .filter(|l| l.trim_start().starts_with("rect "))
                .count(),
            d.lines().filter(|l| l.trim() == "end").count()
        );
    }

    #[test]
    fn escapes_what_mermaid_chokes_on() {
        assert_eq!(
            escape(r#"PT#2[0]: a; b <x> "q" & z"#),
            "PT#35;2[0]: a#59; b #lt;x#gt; #quot;q#quot; #amp; z"
        );
    }
}
