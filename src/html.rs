//! The HTML report: one self-contained page (inline CSS, inline SVG, a few lines of inline
//! JavaScript, no external URL, so it opens from a file or a CI artifact without a network).
//!
//! The page has the matrix first (per scenario: rows = variants, columns = arch policies; one
//! colour per verdict, a cell whose verdict differs from `expected.matrix` outlined and marked,
//! each cell's coverage on a short line and whole in its tooltip), then every counterexample as
//! a *lane diagram*: one lane per CPU and per RCU callback batch, the steps in interleaving
//! order from top to bottom, each named by its kernel function and what it did. Irq-off and
//! read-side sections are shaded spans on their lane, grace periods are bands across the lanes,
//! IPIs and their answers and `call_rcu` hand-offs are arrows between lanes, and the offending
//! step is marked and linked (an arrow and an `href`) to the free it races with; stale reads
//! point at the write that overwrote them. The text counterexample
//! ([`ptcheck_checks::render::counterexample`]) follows each diagram.
//!
//! The drawing reads the trace's typed synchronisation steps ([`ptcheck_model::SyncStep`]),
//! never its text; [`Structure`] is the analysis both this page and [`crate::mermaid`] draw.

use crate::report::Row;
use ptcheck_checks::{render, Failure, Finding, Outcome};
use ptcheck_model::violation::FreedAt;
use ptcheck_model::{Actor, Event, SyncStep, Violation, What};
use std::fmt::Write as _;

// ---------------------------------------------------------------------------------------------
// The structure of a trace: sections, IPIs, grace periods, the offending step.

/// A section of one actor that others wait for (or do not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    /// `local_irq_save` .. `local_irq_restore`.
    IrqOff,
    /// `rcu_read_lock` .. `rcu_read_unlock`.
    Rcu,
    /// `srcu_read_lock(domain)` .. `srcu_read_unlock(domain)`.
    Srcu(&'static str),
}

impl SectionKind {
    /// How a legend or a tooltip names it.
    pub fn label(self) -> String {
        match self {
            SectionKind::IrqOff => "interrupts off".into(),
            SectionKind::Rcu => "rcu_read_lock section".into(),
            SectionKind::Srcu(d) => format!("srcu_read_lock({d}) section"),
        }
    }
}

/// A section of `actor` from step `from` to step `to` (`None`: still open when the trace ends).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub actor: Actor,
    pub kind: SectionKind,
    pub from: usize,
    pub to: Option<usize>,
}

/// When a target of an IPI answered it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Interrupts were on when the IPI was sent: it answered at once.
    AtOnce,
    /// It was inside an irq-off section and answered when that section ended (this step).
    AfterIrqOn(usize),
    /// It had not answered when the trace ends.
    Pending,
}

/// One target of an IPI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpiTarget {
    pub cpu: usize,
    pub answer: Answer,
}

/// An IPI broadcast with wait: sent at step `sent`, complete at step `answered`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipi {
    pub sender: Actor,
    /// The kernel function that sent it.
    pub func: &'static str,
    pub sent: usize,
    pub answered: Option<usize>,
    pub targets: Vec<IpiTarget>,
}

/// A grace period: from the step that starts waiting for it (`synchronize_*`, or the
/// `call_rcu` that queues a callback) to the step that sees it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grace {
    pub by: Actor,
    pub func: &'static str,
    pub from: usize,
    /// `None`: not over when the trace ends.
    pub to: Option<usize>,
    /// `synchronize_rcu [rcu (consolidated)]`, `call_rcu [...] -> tlb_remove_table_rcu`.
    pub what: String,
    /// For a deferred callback: the callback runner and the callback.
    pub callback: Option<(Actor, &'static str)>,
}

/// What a report draws of one counterexample, read from the trace's typed steps and the
/// violation.
#[derive(Clone, Debug, Default)]
pub struct Structure {
    /// The lanes, in the text table's order (CPUs, then RCU callback batches).
    pub actors: Vec<Actor>,
    pub sections: Vec<Section>,
    pub ipis: Vec<Ipi>,
    pub graces: Vec<Grace>,
    /// The step that committed the violation (the access, for a use-after-free): the violating
    /// actor's last step in the violation's function on its frame.
    pub offending: Option<usize>,
    /// The step that freed what the violation used (`FreedAt::step`).
    pub freed: Option<usize>,
    /// Reads of overwritten values: (read step, overwriting write step).
    pub stale: Vec<(usize, usize)>,
}

/// What a violation says about its offending step: the actor, the kernel function, the frame
/// it used (if it names them), and the free it involves.
struct Culprit<'a> {
    by: Option<Actor>,
    func: Option<&'static str>,
    frame: Option<&'a str>,
    freed: Option<&'a FreedAt>,
}

fn culprit(v: &Violation) -> Culprit<'_> {
    let none = Culprit {
        by: None,
        func: None,
        frame: None,
        freed: None,
    };
    match v {
        Violation::UseAfterFree {
            by,
            func,
            frame,
            freed,
            ..
        }
        | Violation::DoubleFree {
            by,
            func,
            frame,
            freed,
        } => Culprit {
            by: Some(*by),
            func: Some(func),
            frame: Some(frame),
            freed: Some(freed),
        },
        Violation::PinOfFreedPage {
            by,
            func,
            page,
            freed,
        }
        | Violation::GetPageOfFreedPage {
            by,
            func,
            page,
            freed,
        } => Culprit {
            by: Some(*by),
            func: Some(func),
            frame: Some(page),
            freed: Some(freed),
        },
        Violation::FreedWhileMapped { freed, .. } => Culprit {
            freed: Some(freed),
            ..none
        },
        Violation::LostUpdate {
            by, func, frame, ..
        }
        | Violation::EntryDiscarded {
            by, func, frame, ..
        } => Culprit {
            by: Some(*by),
            func: Some(func),
            frame: Some(frame),
            freed: None,
        },
        Violation::Torn { by, func, .. }
        | Violation::Stale { by, func, .. }
        | Violation::Misread { by, func, .. }
        | Violation::RcuHeadReused { by, func, .. } => Culprit {
            by: Some(*by),
            func: Some(func),
            ..none
        },
        _ => none,
    }
}

/// The frame a step touched, if it names one.
fn frame_of(w: &What) -> Option<String> {
    match w {
        What::Read { table, .. } | What::Write { table, .. } | What::Exchange { table, .. } => {
            Some(table.to_string())
        }
        What::Free(f) | What::Call { frame: f, .. } | What::Labelled { frame: f, .. } => {
            Some(f.to_string())
        }
        What::Count { page, .. } => Some(page.to_string()),
        What::Field { object, .. } => Some(object.to_string()),
        _ => None,
    }
}

/// The step that committed the violation: the culprit's last step in the violation's function
/// on the violation's frame, else its last step in that function, else its last step.
fn offending_step(trace: &[Event], c: &Culprit) -> Option<usize> {
    let by = c.by?;
    let mine = || {
        trace
            .iter()
            .enumerate()
            .rev()
            .filter(move |(_, e)| e.actor == by)
    };
    let func_matches = |e: &Event| c.func.is_some_and(|f| e.func == f);
    mine()
        .find(|(_, e)| {
            func_matches(e) && c.frame.is_some() && frame_of(&e.what).as_deref() == c.frame
        })
        .or_else(|| mine().find(|(_, e)| func_matches(e)))
        .or_else(|| mine().next())
        .map(|(n, _)| n)
}

/// Read the structure of `f`'s trace.
pub fn structure(f: &Finding) -> Structure {
    let trace = &f.trace;
    let mut actors: Vec<Actor> = trace.iter().map(|e| e.actor).collect();
    actors.sort();
    actors.dedup();

    // Sections: irq-off and rcu sections are traced at their outermost level only,
    // srcu_read_lock at every level: count the depth, draw the outermost span.
    let mut sections: Vec<Section> = Vec::new();
    let mut depth: Vec<(Actor, SectionKind, usize)> = Vec::new();
    for (n, e) in trace.iter().enumerate() {
        let (kind, enter) = match e.sync() {
            Some(SyncStep::IrqOff) => (SectionKind::IrqOff, true),
            Some(SyncStep::IrqOn) => (SectionKind::IrqOff, false),
            Some(SyncStep::RcuReadLock) => (SectionKind::Rcu, true),
            Some(SyncStep::RcuReadUnlock) => (SectionKind::Rcu, false),
            Some(SyncStep::SrcuReadLock(d)) => (SectionKind::Srcu(d), true),
            Some(SyncStep::SrcuReadUnlock(d)) => (SectionKind::Srcu(d), false),
            _ => continue,
        };
        let d = match depth
            .iter_mut()
            .find(|(a, k, _)| *a == e.actor && *k == kind)
        {
            Some((_, _, d)) => d,
            None => {
                depth.push((e.actor, kind, 0));
                &mut depth.last_mut().expect("just pushed").2
            }
        };
        if enter {
            *d += 1;
            if *d == 1 {
                sections.push(Section {
                    actor: e.actor,
                    kind,
                    from: n,
                    to: None,
                });
            }
        } else if *d > 0 {
            *d -= 1;
            if *d == 0 {
                if let Some(s) = sections
                    .iter_mut()
                    .rev()
                    .find(|s| s.actor == e.actor && s.kind == kind && s.to.is_none())
                {
                    s.to = Some(n);
                }
            }
        }
    }
    let irq_off_at = |cpu: usize, n: usize| -> Option<&Section> {
        sections.iter().find(|s| {
            s.actor == Actor::Cpu(cpu)
                && s.kind == SectionKind::IrqOff
                && s.from < n
                && s.to.is_none_or(|t| t > n)
        })
    };

    let mut ipis = Vec::new();
    let mut graces = Vec::new();
    for (n, e) in trace.iter().enumerate() {
        match e.sync() {
            Some(SyncStep::IpiSent { targets }) => {
                let answered = trace
                    .iter()
                    .enumerate()
                    .skip(n + 1)
                    .filter(|(_, x)| x.actor == e.actor)
                    .find_map(|(k, x)| match x.sync() {
                        Some(SyncStep::IpiAnswered) => Some(Some(k)),
                        Some(SyncStep::IpiSent { .. }) => Some(None),
                        _ => None,
                    })
                    .flatten();
                let targets = targets
                    .iter()
                    .map(|&cpu| {
                        let answer = match irq_off_at(cpu, n) {
                            None if answered.is_some() || n + 1 < trace.len() => Answer::AtOnce,
                            None => Answer::Pending,
                            Some(s) => match s.to {
                                Some(t) if answered.is_none_or(|a| t < a) => Answer::AfterIrqOn(t),
                                _ => Answer::Pending,
                            },
                        };
                        IpiTarget { cpu, answer }
                    })
                    .collect();
                ipis.push(Ipi {
                    sender: e.actor,
                    func: e.func,
                    sent: n,
                    answered,
                    targets,
                });
            }
            Some(s @ (SyncStep::SynchronizeRcu { .. } | SyncStep::SynchronizeSrcu { .. })) => {
                let to = trace
                    .iter()
                    .enumerate()
                    .skip(n + 1)
                    .find(|(_, x)| {
                        x.actor == e.actor && matches!(x.sync(), Some(SyncStep::GracePeriodOver))
                    })
                    .map(|(k, _)| k);
                let what = s.to_string();
                graces.push(Grace {
                    by: e.actor,
                    func: e.func,
                    from: n,
                    to,
                    what: what.trim_end_matches(": wait").to_string(),
                    callback: None,
                });
            }
            Some(SyncStep::Deferred {
                how,
                callback,
                batch,
            }) => {
                let runner = Actor::RcuCallback(*batch);
                let to = trace
                    .iter()
                    .enumerate()
                    .skip(n + 1)
                    .find(|(_, x)| {
                        x.actor == runner && matches!(x.sync(), Some(SyncStep::GracePeriodOver))
                    })
                    .map(|(k, _)| k);
                graces.push(Grace {
                    by: e.actor,
                    func: e.func,
                    from: n,
                    to,
                    what: format!("{how} -> {callback}"),
                    callback: Some((runner, callback)),
                });
            }
            _ => {}
        }
    }

    let (offending, freed) = match &f.failure {
        Failure::Violation(v) => {
            let c = culprit(v);
            (
                offending_step(trace, &c),
                c.freed.map(|fr| fr.step).filter(|&s| s < trace.len()),
            )
        }
        Failure::ModelError(_) => (None, None),
    };
    Structure {
        actors,
        sections,
        ipis,
        graces,
        offending,
        freed,
        stale: render::stale_reads(trace),
    }
}

// ---------------------------------------------------------------------------------------------
// Text helpers.

/// Escape text for HTML and XML (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to `max` characters with an ellipsis (also mermaid's notes).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// `s` in at most `lines` lines of at most `width` characters, broken after spaces (or inside
/// a word that is longer than a line); the last line is cut with an ellipsis if text is left.
fn wrap(s: &str, width: usize, lines: usize) -> Vec<String> {
    let width = width.max(4);
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < chars.len() && out.len() < lines {
        let rest = chars.len() - at;
        if rest <= width {
            out.push(chars[at..].iter().collect::<String>());
            break;
        }
        if out.len() + 1 == lines {
            let line: String = chars[at..].iter().collect();
            out.push(truncate(&line, width));
            break;
        }
        // Break after the last space within the width, if it is not too far back.
        let window = &chars[at..at + width];
        let cut = window
            .iter()
            .rposition(|&c| c == ' ')
            .filter(|&p| p >= width / 2)
            .map(|p| p + 1)
            .unwrap_or(width);
        out.push(
            chars[at..at + cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        at += cut;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Verdicts.

use crate::report::short;

/// Verdicts with a colour of their own: (verdict, CSS class, background, text colour).
const VERDICTS: &[(&str, &str, &str, &str)] = &[
    ("safe", "safe", "#c8e6c9", "#1b5e20"),
    ("vacuous", "vacuous", "#fff3c4", "#6d5200"),
    ("undecided", "undecided", "#cfd8dc", "#263238"),
    ("incomplete", "incomplete", "#eceff1", "#37474f"),
    ("unexplored", "unexplored", "#f5f5f5", "#616161"),
    ("use-after-free", "uaf", "#d32f2f", "#ffffff"),
    ("pin-of-freed-page", "pin", "#ad1457", "#ffffff"),
    ("freed-while-mapped", "fwm", "#b71c1c", "#ffffff"),
    ("double-free", "dfree", "#880e4f", "#ffffff"),
    ("torn", "torn", "#7b1fa2", "#ffffff"),
    ("stale", "stale", "#512da8", "#ffffff"),
    ("misread", "misread", "#303f9f", "#ffffff"),
    ("lost-update", "lost", "#e65100", "#ffffff"),
    ("missed-sync", "missed", "#f57c00", "#ffffff"),
    ("bad-pte", "badpte", "#bf360c", "#ffffff"),
    ("deadlock", "deadlock", "#5d4037", "#ffffff"),
    ("leak", "leak", "#00796b", "#ffffff"),
    ("forbidden-outcome", "forbidden", "#455a64", "#ffffff"),
    ("model-error", "modelerror", "#212121", "#ffffff"),
];

/// The CSS class of a verdict (`other` for a scenario's own findings).
fn verdict_class(verdict: &str) -> &'static str {
    let v = if verdict.starts_with("undecided") {
        "undecided"
    } else {
        verdict
    };
    VERDICTS
        .iter()
        .find(|(name, ..)| *name == v)
        .map(|(_, class, ..)| *class)
        .unwrap_or("other")
}

/// The short coverage line of a matrix cell: explorer, bound or "exhaustive", executions, time.
fn coverage_short(o: &Outcome) -> String {
    let bound = match (&o.finding, o.explorer.models_weak_memory()) {
        (Some(f), true) => match f.preemptions {
            Some(p) => format!("found at pb {p}"),
            None => "found".into(),
        },
        _ => {
            let b = o.explorer.bound();
            let b = b.split(',').next().unwrap_or("").to_string();
            b.replace("preemption bound ", "pb ")
        }
    };
    let stopped = if o.complete { "" } else { " · STOPPED" };
    format!(
        "{} · {bound} · {} ex · {:.1?}{stopped}",
        o.explorer.name(),
        o.executions,
        o.elapsed
    )
}

// ---------------------------------------------------------------------------------------------
// The lane diagram.

const LEFT: f64 = 46.0; // the step-number gutter
const TOP: f64 = 62.0; // lane headers
const LANE_W: f64 = 336.0;
const LANE_GAP: f64 = 36.0;
const BOX_OFF: f64 = 26.0; // the section bars left of the step boxes
const BOX_W: f64 = LANE_W - BOX_OFF - 4.0;
const RIGHT: f64 = 160.0; // grace-period labels
const FUNC_PX: f64 = 12.0;
const WHAT_PX: f64 = 11.5;
/// Width of a monospace character per pixel of font size (DejaVu Sans Mono / Liberation
/// Mono: 0.60; a little slack).
const CHAR_EM: f64 = 0.62;
const PAD: f64 = 7.0;

fn chars_for(width: f64, px: f64) -> usize {
    (width / (px * CHAR_EM)).floor() as usize
}

/// Colours of the drawing.
const C_IPI: &str = "#0d47a1";
const C_CALL: &str = "#6a1b9a";
const C_FREE: &str = "#c62828";
const C_STALE: &str = "#ef6c00";
const C_GRACE: &str = "#1565c0";

fn section_colour(k: SectionKind) -> (&'static str, &'static str, usize) {
    // (bar, tint, column)
    match k {
        SectionKind::IrqOff => ("#fb8c00", "#fff3e0", 0),
        SectionKind::Rcu => ("#43a047", "#e8f5e9", 1),
        SectionKind::Srcu(_) => ("#00897b", "#e0f2f1", 2),
    }
}

struct Geometry {
    lanes: Vec<Actor>,
    /// Per step: top of its box, height of its box.
    rows: Vec<(f64, f64)>,
    /// Per step: the lines of its text (function, then what it did).
    text: Vec<(Vec<String>, Vec<String>)>,
    bottom: f64,
}

impl Geometry {
    fn lane(&self, a: Actor) -> usize {
        self.lanes.iter().position(|x| *x == a).unwrap_or(0)
    }
    fn lane_x(&self, i: usize) -> f64 {
        LEFT + i as f64 * (LANE_W + LANE_GAP)
    }
    fn box_x(&self, i: usize) -> f64 {
        self.lane_x(i) + BOX_OFF
    }
    fn mid(&self, n: usize) -> f64 {
        let (y, h) = self.rows[n];
        y + h / 2.0
    }
    fn lanes_right(&self) -> f64 {
        self.lane_x(self.lanes.len().saturating_sub(1)) + LANE_W
    }
    /// The x where an arrow leaves (or reaches) lane `from`'s boxes towards lane `to`.
    fn edge(&self, from: usize, to: usize) -> f64 {
        if to >= from {
            self.box_x(from) + BOX_W
        } else {
            self.box_x(from)
        }
    }
}

fn arrowhead(out: &mut String, id: &str, name: &str, colour: &str) {
    let _ = write!(
        out,
        r#"<marker id="{id}-{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>"#
    );
}

/// A label with a white halo, readable over lines and bands.
fn label(out: &mut String, x: f64, y: f64, anchor: &str, colour: &str, text: &str) {
    let _ = write!(
        out,
        r#"<text class="lbl" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{colour}">{}</text>"#,
        esc(text)
    );
}

/// The lane diagram of one counterexample as an inline `<svg>`. `id` prefixes every element
/// id (step `n`, counted from 0, is `{id}-s{n}`); `captions[n]` describes CPU `n`'s program
/// in its lane header (the scenario's `cpus`), if given.
pub fn lane_diagram(f: &Finding, id: &str, captions: &[&str]) -> String {
    let st = structure(f);
    let trace: &[Event] = &f.trace;
    let func_chars = chars_for(BOX_W - 2.0 * PAD, FUNC_PX);
    let what_chars = chars_for(BOX_W - 2.0 * PAD, WHAT_PX);
    let tagged = |n: usize| {
        st.offending == Some(n) || st.freed == Some(n) || st.stale.iter().any(|(r, _)| *r == n)
    };

    // Rows: one per step, as tall as its text.
    let mut rows = Vec::with_capacity(trace.len());
    let mut text = Vec::with_capacity(trace.len());
    let mut y = TOP + 10.0;
    for (n, e) in trace.iter().enumerate() {
        let func = wrap(e.func, func_chars, 2);
        let what = wrap(&e.what.to_string(), what_chars, 2);
        if tagged(n) {
            y += 8.0;
        }
        let h = 8.0 + 14.0 * (func.len() + what.len()) as f64;
        rows.push((y, h));
        text.push((func, what));
        y += h + 8.0;
    }
    let g = Geometry {
        lanes: st.actors.clone(),
        rows,
        text,
        bottom: y,
    };
    let lanes_right = g.lanes_right();
    let note = match &f.failure {
        Failure::Violation(v) => format!("VIOLATION {v}"),
        Failure::ModelError(m) => format!("MODEL ERROR: {m}"),
    };
    let note_chars = chars_for(lanes_right - LEFT - 2.0 * PAD, FUNC_PX);
    let note_lines = wrap(&note, note_chars, 6);
    let note_y = g.bottom + 8.0;
    let note_h = 12.0 + 16.0 * note_lines.len() as f64;
    let width = lanes_right + RIGHT;
    let height = note_y + note_h + 12.0;

    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="lanes" id="{id}-svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img" aria-labelledby="{id}-title"><title id="{id}-title">{}</title><defs>"#,
        esc(&note)
    );
    for (name, colour) in [
        ("ipi", C_IPI),
        ("call", C_CALL),
        ("free", C_FREE),
        ("stale", C_STALE),
    ] {
        arrowhead(&mut out, id, name, colour);
    }
    out.push_str("</defs>");

    // Lane backgrounds and headers.
    for (i, a) in g.lanes.iter().enumerate() {
        let x = g.lane_x(i);
        let (head, caption) = match a {
            Actor::Cpu(n) => {
                let c = captions.get(*n).copied().unwrap_or("");
                let c = c.strip_prefix(&format!("{a}: ")).unwrap_or(c);
                ("#37474f", c.to_string())
            }
            Actor::RcuCallback(_) => (
                "#6a1b9a",
                "RCU callback batch (softirq, after its grace period)".to_string(),
            ),
        };
        let _ = write!(
            out,
            r##"<rect class="lane" x="{x:.1}" y="{TOP:.1}" width="{LANE_W:.1}" height="{:.1}" fill="#fafafa" stroke="#e0e0e0"/>"##,
            g.bottom - TOP
        );
        let _ = write!(
            out,
            r##"<g class="lanehead"><title>{} {}</title><rect x="{x:.1}" y="8" width="{LANE_W:.1}" height="{:.1}" rx="5" fill="{head}"/><text class="lanename" x="{:.1}" y="27" fill="#ffffff">{a}</text><text class="lanecap" x="{:.1}" y="44" fill="#eceff1">{}</text></g>"##,
            esc(&a.to_string()),
            esc(&caption),
            TOP - 12.0,
            x + 10.0,
            x + 10.0,
            esc(&truncate(&caption, chars_for(LANE_W - 20.0, 11.0)))
        );
        let cx = g.box_x(i) + BOX_W / 2.0;
        let _ = write!(
            out,
            r##"<line x1="{cx:.1}" y1="{TOP:.1}" x2="{cx:.1}" y2="{:.1}" stroke="#cfd8dc" stroke-dasharray="3 4"/>"##,
            g.bottom
        );
    }

    // Step numbers and faint row rules.
    for (n, &(y, h)) in g.rows.iter().enumerate() {
        let _ = write!(
            out,
            r##"<text class="stepno" x="{:.1}" y="{:.1}" text-anchor="end">{}</text><line x1="{LEFT:.1}" y1="{:.1}" x2="{lanes_right:.1}" y2="{:.1}" stroke="#eeeeee"/>"##,
            LEFT - 8.0,
            y + h / 2.0 + 4.0,
            n + 1,
            y - 4.0,
            y - 4.0,
        );
    }

    // Grace periods: bands across every lane, labelled in the right margin.
    let mut label_slots: Vec<f64> = Vec::new();
    for gp in &st.graces {
        let y1 = g.mid(gp.from);
        let (y2, open) = match gp.to {
            Some(t) => (g.mid(t), false),
            None => (g.bottom, true),
        };
        let who = match gp.callback {
            Some((runner, _)) => format!("{} queues, {runner} runs", gp.by),
            None => format!("{} waits", gp.by),
        };
        let tip = format!(
            "grace period: {} in {} ({who}), steps {}..{}",
            gp.what,
            gp.func,
            gp.from + 1,
            gp.to
                .map(|t| (t + 1).to_string())
                .unwrap_or_else(|| "(not over)".into())
        );
        let _ = write!(
            out,
            r##"<g class="band"><title>{}</title><rect x="{LEFT:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="{C_GRACE}" fill-opacity="0.07"/><line x1="{LEFT:.1}" y1="{y1:.1}" x2="{:.1}" y2="{y1:.1}" stroke="{C_GRACE}" stroke-width="1.2" stroke-dasharray="6 3"/>"##,
            esc(&tip),
            lanes_right + 8.0 - LEFT,
            (y2 - y1).max(2.0),
            lanes_right + 8.0
        );
        if !open {
            let _ = write!(
                out,
                r##"<line x1="{LEFT:.1}" y1="{y2:.1}" x2="{:.1}" y2="{y2:.1}" stroke="{C_GRACE}" stroke-width="1.2" stroke-dasharray="6 3"/>"##,
                lanes_right + 8.0
            );
        }
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{y1:.1}" width="4" height="{:.1}" fill="{C_GRACE}" fill-opacity="0.5"/>"##,
            lanes_right + 8.0,
            (y2 - y1).max(2.0)
        );
        // The label, below any earlier label it would overlap.
        let mut ly = y1 + 12.0;
        while label_slots.iter().any(|s| (s - ly).abs() < 42.0) {
            ly += 42.0;
        }
        label_slots.push(ly);
        let lx = lanes_right + 18.0;
        let cols = chars_for(RIGHT - 24.0, 10.5);
        let (l2, l3) = match gp.callback {
            Some((runner, cb)) => (cb.to_string(), format!("runs on {runner}")),
            None => (
                gp.what.split(' ').next().unwrap_or("").to_string(),
                format!("waits on {}", gp.by),
            ),
        };
        let _ = write!(
            out,
            r##"<text class="gplabel" x="{lx:.1}" y="{ly:.1}" fill="{C_GRACE}"><tspan font-weight="bold">{}</tspan><tspan x="{lx:.1}" dy="13">{}</tspan><tspan x="{lx:.1}" dy="13">{}</tspan></text></g>"##,
            if open {
                "grace period (open)"
            } else {
                "grace period"
            },
            esc(&truncate(&l2, cols)),
            esc(&truncate(&l3, cols))
        );
    }

    // Sections: a tint behind the lane's boxes, then (above every tint) a bar in its gutter.
    for bars in [false, true] {
        for s in &st.sections {
            let lane = g.lane(s.actor);
            let (bar, tint, col) = section_colour(s.kind);
            let y1 = g.rows[s.from].0 - 2.0;
            let y2 = match s.to {
                Some(t) => g.rows[t].0 + g.rows[t].1 + 2.0,
                None => g.bottom,
            };
            let x = g.lane_x(lane);
            if !bars {
                let _ = write!(
                    out,
                    r#"<rect class="tint" x="{:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="{tint}" fill-opacity="0.75"/>"#,
                    x + 1.0,
                    LANE_W - 2.0,
                    y2 - y1,
                );
                continue;
            }
            let tip = format!(
                "{} {}: steps {}..{}",
                s.actor,
                s.kind.label(),
                s.from + 1,
                s.to.map(|t| (t + 1).to_string())
                    .unwrap_or_else(|| "(the end)".into())
            );
            let _ = write!(
                out,
                r#"<g class="section"><title>{}</title><rect x="{:.1}" y="{y1:.1}" width="6" height="{:.1}" rx="2" fill="{bar}"/></g>"#,
                esc(&tip),
                x + 3.0 + 7.5 * col as f64,
                y2 - y1
            );
        }
    }

    // Steps.
    for (n, e) in trace.iter().enumerate() {
        let lane = g.lane(e.actor);
        let (y, h) = g.rows[n];
        let x = g.box_x(lane);
        let (func, what) = &g.text[n];
        let full = format!("step {}, {}: {}: {}", n + 1, e.actor, e.func, e.what);
        let (fill, stroke, sw) = if st.offending == Some(n) {
            ("#ffebee", C_FREE, 2.5)
        } else if st.freed == Some(n) {
            ("#fce4ec", "#880e4f", 2.0)
        } else if st.stale.iter().any(|(r, _)| *r == n) {
            ("#fff3e0", C_STALE, 2.0)
        } else if e.sync().is_some() {
            ("#f3f6fb", "#90a4ae", 1.0)
        } else {
            ("#ffffff", "#90a4ae", 1.0)
        };
        let link = match (st.offending == Some(n), st.freed) {
            (true, Some(fr)) => Some(format!("#{id}-s{fr}")),
            _ => None,
        };
        if let Some(l) = &link {
            let _ = write!(out, r#"<a href="{l}">"#);
        }
        let _ = write!(
            out,
            r#"<g class="step" id="{id}-s{n}"><title>{}</title><rect class="box" x="{x:.1}" y="{y:.1}" width="{BOX_W:.1}" height="{h:.1}" rx="4" fill="{fill}" stroke="{stroke}" stroke-width="{sw}"/>"#,
            esc(&full),
        );
        let lines = func
            .iter()
            .map(|l| ("func", l))
            .chain(what.iter().map(|l| ("what", l)));
        for (k, (class, l)) in lines.enumerate() {
            let _ = write!(
                out,
                r#"<text class="line {class}" x="{:.1}" y="{:.1}">{}</text>"#,
                x + PAD,
                y + 16.0 + 14.0 * k as f64,
                esc(l)
            );
        }
        out.push_str("</g>");
        if link.is_some() {
            out.push_str("</a>");
        }
        // Tags above the box's top right corner.
        let tag = if st.offending == Some(n) {
            Some(("VIOLATION", C_FREE))
        } else if st.freed == Some(n) {
            Some(("THE FREE", "#880e4f"))
        } else if st.stale.iter().any(|(r, _)| *r == n) {
            Some(("STALE READ", C_STALE))
        } else {
            None
        };
        if let Some((t, c)) = tag {
            let w = 7.0 * t.len() as f64 + 12.0;
            let _ = write!(
                out,
                r##"<g class="tag"><rect x="{:.1}" y="{:.1}" width="{w:.1}" height="14" rx="7" fill="{c}"/><text x="{:.1}" y="{:.1}" fill="#ffffff" text-anchor="middle">{t}</text></g>"##,
                x + BOX_W - w - 6.0,
                y - 8.0,
                x + BOX_W - w / 2.0 - 6.0,
                y + 2.5
            );
        }
    }

    // IPIs: the send, and each target's answer.
    for ipi in &st.ipis {
        let from = g.lane(ipi.sender);
        let y_send = g.mid(ipi.sent);
        for t in &ipi.targets {
            let Some(to) = g.lanes.iter().position(|a| *a == Actor::Cpu(t.cpu)) else {
                continue;
            };
            let x1 = g.edge(from, to);
            let x2 = g.edge(to, from) + if to > from { -2.0 } else { 2.0 };
            let tip = format!(
                "IPI from {} ({}) to CPU{}, step {}",
                ipi.sender,
                ipi.func,
                t.cpu,
                ipi.sent + 1
            );
            let _ = write!(
                out,
                r##"<g class="ipi"><title>{}</title><line class="arrow" x1="{x1:.1}" y1="{y_send:.1}" x2="{x2:.1}" y2="{y_send:.1}" stroke="{C_IPI}" stroke-width="2" marker-end="url(#{id}-ipi)"/><circle cx="{x2:.1}" cy="{y_send:.1}" r="3" fill="{C_IPI}"/>"##,
                esc(&tip)
            );
            let lx = if to > from { x2 - 6.0 } else { x2 + 6.0 };
            label(
                &mut out,
                lx,
                y_send - 5.0,
                if to > from { "end" } else { "start" },
                C_IPI,
                "IPI",
            );
            out.push_str("</g>");
            if let Answer::AfterIrqOn(_) = t.answer {
                // Inside the target's lane, where its row is empty.
                let (lx, anchor) = if to > from {
                    (x2 + 8.0, "start")
                } else {
                    (x2 - 8.0, "end")
                };
                label(
                    &mut out,
                    lx,
                    y_send + 4.0,
                    anchor,
                    C_IPI,
                    "held off: interrupts off",
                );
            }
            match (t.answer, ipi.answered) {
                (Answer::Pending, _) | (_, None) => {
                    // Inside the target's lane, where its row is empty.
                    let (lx, anchor) = if to > from {
                        (x2 + 8.0, "start")
                    } else {
                        (x2 - 8.0, "end")
                    };
                    label(&mut out, lx, y_send + 4.0, anchor, C_FREE, "no answer");
                }
                (a, Some(done)) => {
                    let y_from = match a {
                        Answer::AfterIrqOn(k) => g.mid(k),
                        _ => y_send + 9.0,
                    };
                    let y_to = g.mid(done);
                    let xa = g.edge(to, from);
                    let xb = g.edge(from, to) + if to > from { 2.0 } else { -2.0 };
                    let tip = format!(
                        "CPU{} answers the IPI{}; {} goes on at step {}",
                        t.cpu,
                        match a {
                            Answer::AfterIrqOn(k) =>
                                format!(" when its interrupts come on (step {})", k + 1),
                            _ => " at once (interrupts on)".into(),
                        },
                        ipi.sender,
                        done + 1
                    );
                    let _ = write!(
                        out,
                        r##"<g class="ipi-answer"><title>{}</title><line class="arrow" x1="{xa:.1}" y1="{y_from:.1}" x2="{xb:.1}" y2="{y_to:.1}" stroke="{C_IPI}" stroke-width="1.5" stroke-dasharray="5 3" marker-end="url(#{id}-ipi)"/>"##,
                        esc(&tip)
                    );
                    let (lx, anchor) = if to > from {
                        (xa - 6.0, "end")
                    } else {
                        (xa + 6.0, "start")
                    };
                    label(&mut out, lx, y_from + 13.0, anchor, C_IPI, "answer");
                    out.push_str("</g>");
                }
            }
        }
    }

    // call_rcu / call_srcu: from the queueing step to the callback's first step.
    for gp in &st.graces {
        let (Some((runner, cb)), Some(to_step)) = (gp.callback, gp.to) else {
            continue;
        };
        let from = g.lane(gp.by);
        let to = g.lane(runner);
        if from == to {
            continue;
        }
        let x1 = g.edge(from, to);
        let y1 = g.mid(gp.from);
        let xc = g.box_x(to) + BOX_W / 2.0;
        let y2 = g.rows[to_step].0 - 2.0;
        let tip = format!(
            "{} queues {cb} at step {}; {runner} runs it after a grace period (step {})",
            gp.by,
            gp.from + 1,
            to_step + 1
        );
        let _ = write!(
            out,
            r##"<g class="defer"><title>{}</title><path class="arrow" d="M{x1:.1},{y1:.1} H{xc:.1} V{y2:.1}" fill="none" stroke="{C_CALL}" stroke-width="1.8" stroke-dasharray="7 4" marker-end="url(#{id}-call)"/>"##,
            esc(&tip)
        );
        label(
            &mut out,
            xc - 6.0,
            y1 - 5.0,
            if to > from { "end" } else { "start" },
            C_CALL,
            "queued callback",
        );
        out.push_str("</g>");
    }

    // Stale reads: to the write that overwrote the value.
    for &(r, w) in &st.stale {
        link_arrow(
            &mut out,
            &g,
            trace,
            (r, w),
            C_STALE,
            &format!("{id}-stale"),
            "2 3",
            &format!("stale: step {} wrote it over", w + 1),
            true,
        );
    }
    // The offending step: to the free it races with.
    if let (Some(o), Some(fr)) = (st.offending, st.freed) {
        if o != fr {
            link_arrow(
                &mut out,
                &g,
                trace,
                (o, fr),
                C_FREE,
                &format!("{id}-free"),
                "7 3",
                &format!("races with the free at step {}", fr + 1),
                false,
            );
        }
    }

    // The violation closes the diagram.
    let _ = write!(
        out,
        r##"<g class="violation"><rect x="{LEFT:.1}" y="{note_y:.1}" width="{:.1}" height="{note_h:.1}" rx="5" fill="#ffebee" stroke="{C_FREE}" stroke-width="1.5"/>"##,
        lanes_right - LEFT
    );
    for (k, l) in note_lines.iter().enumerate() {
        let _ = write!(
            out,
            r##"<text class="note" x="{:.1}" y="{:.1}" fill="#b71c1c">{}</text>"##,
            LEFT + PAD,
            note_y + 20.0 + 16.0 * k as f64,
            esc(l)
        );
    }
    out.push_str("</g></svg>");
    out
}

/// An arrow from step `a` to step `b` (another lane, or a bulge beside the same lane), with a
/// label by its start: above it if `above`, else below.
#[allow(clippy::too_many_arguments)]
fn link_arrow(
    out: &mut String,
    g: &Geometry,
    trace: &[Event],
    (a, b): (usize, usize),
    colour: &str,
    marker: &str,
    dash: &str,
    text: &str,
    above: bool,
) {
    let la = g.lane(trace[a].actor);
    let lb = g.lane(trace[b].actor);
    let (ya, yb) = (g.mid(a), g.mid(b));
    let dy = if above { -6.0 } else { 15.0 };
    let (d, lx, ly, anchor) = if la == lb {
        let x = g.box_x(la) + BOX_W;
        let bulge = x + 30.0;
        (
            format!(
                "M{x:.1},{ya:.1} C{bulge:.1},{ya:.1} {bulge:.1},{yb:.1} {:.1},{yb:.1}",
                x + 2.0
            ),
            bulge + 2.0,
            (ya + yb) / 2.0,
            "start",
        )
    } else {
        let xa = g.edge(la, lb);
        let xb = g.edge(lb, la) + if lb > la { -2.0 } else { 2.0 };
        let dx = if lb > la { 40.0 } else { -40.0 };
        let (lx, anchor) = if lb > la {
            (xa + 6.0, "start")
        } else {
            (xa - 6.0, "end")
        };
        (
            format!(
                "M{xa:.1},{ya:.1} C{:.1},{ya:.1} {:.1},{yb:.1} {xb:.1},{yb:.1}",
                xa + dx,
                xb - dx
            ),
            lx,
            ya + dy,
            anchor,
        )
    };
    let _ = write!(
        out,
        r#"<g class="link"><title>{}</title><path class="arrow" d="{d}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" marker-end="url(#{marker})"/>"#,
        esc(&format!("step {} {text}", a + 1))
    );
    label(out, lx, ly, anchor, colour, text);
    out.push_str("</g>");
}

// ---------------------------------------------------------------------------------------------
// The page.

const CSS: &str = r#"
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #212121; margin: 16px; background: #ffffff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #eceff1; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 26px 0 4px; }
code, pre, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; }
.summary span { margin-right: 14px; }
table.matrix { border-collapse: separate; border-spacing: 3px; margin: 6px 0 18px; }
table.matrix th { font-weight: 600; font-size: 12px; text-align: left; padding: 2px 6px; color: #37474f; white-space: nowrap; }
table.matrix th.variant { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-weight: normal; }
table.matrix td { padding: 3px 6px; border-radius: 4px; min-width: 90px; vertical-align: top; }
table.matrix td.none { background: #fafafa; color: #9e9e9e; }
td .verdict { font-weight: 700; font-size: 13px; }
td .verdict a { color: inherit; }
td .cov { font-size: 10.5px; opacity: 0.85; white-space: nowrap; }
td .exp { font-size: 10.5px; font-weight: 700; }
td.mismatch { outline: 3px dashed #111111; outline-offset: 1px; }
td.mismatch .verdict::after { content: " \2260"; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin: 6px 0 12px; font-size: 12px; }
.legend span { padding: 2px 8px; border-radius: 4px; }
.legend .mm { outline: 3px dashed #111111; outline-offset: -2px; background: #ffffff; }
.cx { margin-bottom: 36px; }
.cx .meta { font-size: 13px; color: #455a64; }
.cx .meta b { color: #212121; }
.cx .vio { background: #ffebee; border-left: 4px solid #c62828; padding: 6px 10px; margin: 8px 0; font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; }
.diagram { overflow-x: auto; border: 1px solid #eceff1; border-radius: 6px; padding: 6px; margin: 8px 0; background: #ffffff; }
pre { background: #f5f5f5; border: 1px solid #e0e0e0; border-radius: 6px; padding: 10px; overflow-x: auto; font-size: 12px; line-height: 1.35; }
svg.lanes text { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; }
svg.lanes .func { font-size: 12px; font-weight: bold; fill: #263238; }
svg.lanes .what { font-size: 11.5px; fill: #37474f; }
svg.lanes .stepno { font-size: 11px; fill: #90a4ae; }
svg.lanes .lanename { font-size: 15px; font-weight: bold; }
svg.lanes .lanecap { font-size: 11px; }
svg.lanes .lbl { font-size: 11px; font-weight: bold; paint-order: stroke; stroke: #ffffff; stroke-width: 4px; stroke-linejoin: round; }
svg.lanes .gplabel { font-size: 10.5px; }
svg.lanes .tag text { font-size: 9.5px; font-weight: bold; }
svg.lanes .note { font-size: 12px; font-weight: bold; }
svg.lanes a .box:hover { stroke-width: 3.5; }
.keys { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; color: #37474f; margin: 6px 0; align-items: center; }
.keys svg { vertical-align: middle; }
"#;

/// Runs after load: checks that every diagram was laid out (non-zero size, its steps and arrows
/// drawn, no step text wider than its box) and writes the counts onto `<body>` and each `<svg>`
/// (`data-drawn`, `data-arrows`, `data-overflow`), for a person's devtools and the test.
const JS: &str = r#"
window.addEventListener('load', function () {
  var drawn = 0, arrows = 0, overflow = 0;
  document.querySelectorAll('svg.lanes').forEach(function (svg) {
    var r = svg.getBoundingClientRect(), b = svg.getBBox();
    var steps = 0, a = 0, o = 0;
    svg.querySelectorAll('g.step').forEach(function (g) {
      var box = g.querySelector('rect.box').getBBox();
      if (box.width > 0 && box.height > 0) steps++;
      g.querySelectorAll('text.line').forEach(function (t) {
        var tb = t.getBBox();
        if (tb.x + tb.width > box.x + box.width + 0.5) o++;
      });
    });
    svg.querySelectorAll('.arrow').forEach(function (p) {
      var bb = p.getBBox();
      if (bb.width + bb.height > 0) a++;
    });
    svg.setAttribute('data-steps-drawn', steps);
    svg.setAttribute('data-arrows-drawn', a);
    svg.setAttribute('data-overflow', o);
    if (r.width > 0 && r.height > 0 && b.width > 0 && b.height > 0 && steps > 0) drawn++;
    arrows += a; overflow += o;
  });
  document.body.setAttribute('data-drawn', drawn);
  document.body.setAttribute('data-arrows', arrows);
  document.body.setAttribute('data-overflow', overflow);
});
"#;

/// The key to the diagrams' marks.
fn keys() -> String {
    let mut s = String::from(r#"<div class="keys">"#);
    let item = |svg: &str, text: &str| {
        format!(
            r#"<span><svg width="34" height="16" viewBox="0 0 34 16">{svg}</svg> {}</span>"#,
            esc(text)
        )
    };
    for k in [
        SectionKind::IrqOff,
        SectionKind::Rcu,
        SectionKind::Srcu("srcu"),
    ] {
        let (bar, tint, _) = section_colour(k);
        s.push_str(&item(
            &format!(
                r#"<rect x="0" y="0" width="34" height="16" fill="{tint}"/><rect x="2" y="0" width="6" height="16" rx="2" fill="{bar}"/>"#
            ),
            &k.label().replace("srcu_read_lock(srcu)", "srcu_read_lock"),
        ));
    }
    s.push_str(&item(
        &format!(
            r#"<rect x="0" y="2" width="34" height="12" fill="{C_GRACE}" fill-opacity="0.12"/><line x1="0" y1="2" x2="34" y2="2" stroke="{C_GRACE}" stroke-dasharray="6 3"/><line x1="0" y1="14" x2="34" y2="14" stroke="{C_GRACE}" stroke-dasharray="6 3"/>"#
        ),
        "grace period",
    ));
    let line = |c: &str, dash: &str| {
        format!(
            r#"<line x1="1" y1="8" x2="27" y2="8" stroke="{c}" stroke-width="2" stroke-dasharray="{dash}"/><path d="M26,3 L33,8 L26,13 z" fill="{c}"/>"#
        )
    };
    s.push_str(&item(&line(C_IPI, "none"), "IPI"));
    s.push_str(&item(&line(C_IPI, "5 3"), "IPI answered"));
    s.push_str(&item(&line(C_CALL, "7 4"), "call_rcu: callback queued"));
    s.push_str(&item(&line(C_FREE, "7 3"), "offending access -> the free"));
    s.push_str(&item(&line(C_STALE, "2 3"), "stale read -> the write"));
    s.push_str("</div>");
    s
}

/// The id of row `i`'s counterexample section.
fn anchor(i: usize) -> String {
    format!("cx{i}")
}

/// The whole report page for `rows`: a summary, the matrix, and a lane diagram plus the text
/// counterexample for every row with a finding (and, for a weak-memory counterexample, for its
/// interleaving-order counterpart too).
pub fn page(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>ptcheck report</title><style>",
    );
    out.push_str(CSS);
    for (_, class, bg, fg) in VERDICTS {
        let _ = writeln!(out, ".v-{class} {{ background: {bg}; color: {fg}; }}");
    }
    out.push_str(".v-other { background: #6a1b9a; color: #ffffff; }\n");
    out.push_str("</style><script>");
    out.push_str(JS);
    out.push_str("</script></head><body>\n<h1>ptcheck report</h1>\n");

    // Summary.
    let findings = rows.iter().filter(|r| r.outcome.finding.is_some()).count();
    let mismatches: Vec<(usize, &Row)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.matches())
        .collect();
    let _ = write!(
        out,
        r#"<p class="summary"><span><b>{}</b> {}</span><span><b>{findings}</b> {}</span><span><b>{}</b> {} from expected.matrix</span></p>"#,
        rows.len(),
        if rows.len() == 1 { "cell" } else { "cells" },
        if findings == 1 {
            "counterexample"
        } else {
            "counterexamples"
        },
        mismatches.len(),
        if mismatches.len() == 1 {
            "differs"
        } else {
            "differ"
        }
    );
    if !mismatches.is_empty() {
        out.push_str(r#"<p class="summary">Differ: "#);
        for (k, (i, r)) in mismatches.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            let target = if r.outcome.finding.is_some() {
                anchor(*i)
            } else {
                format!("m{i}")
            };
            let _ = write!(
                out,
                r##"<a href="#{target}"><code>{}</code></a>"##,
                esc(&r.cell.id())
            );
        }
        out.push_str("</p>");
    }

    // The matrix.
    out.push_str("<h2 id=\"matrix\">Matrix</h2>\n<div class=\"legend\">");
    let mut present: Vec<&'static str> = rows.iter().map(|r| verdict_class(&r.verdict())).collect();
    present.sort();
    present.dedup();
    for (name, class, ..) in VERDICTS {
        if present.contains(class) {
            let text = match short(name) {
                s if s == *name => esc(name),
                s => format!("{} = {}", esc(s), esc(name)),
            };
            let _ = write!(out, r#"<span class="v-{class}">{text}</span>"#);
        }
    }
    if present.contains(&"other") {
        out.push_str(r#"<span class="v-other">a scenario's own finding</span>"#);
    }
    out.push_str(r#"<span class="mm">differs from expected.matrix</span></div>"#);

    let mut scenarios: Vec<&str> = rows.iter().map(|r| r.cell.scenario.name).collect();
    scenarios.dedup();
    let mut seen = Vec::new();
    for s in scenarios {
        if seen.contains(&s) {
            continue;
        }
        seen.push(s);
        let rs: Vec<(usize, &Row)> = rows
            .iter()
            .enumerate()
            .filter(|(_, r)| r.cell.scenario.name == s)
            .collect();
        let mut policies: Vec<&str> = Vec::new();
        let mut variants: Vec<&str> = Vec::new();
        for (_, r) in &rs {
            if !policies.contains(&r.cell.policy.name) {
                policies.push(r.cell.policy.name);
            }
            if !variants.contains(&r.cell.variant.name) {
                variants.push(r.cell.variant.name);
            }
        }
        let about = rs
            .first()
            .map(|(_, r)| r.cell.scenario.about)
            .unwrap_or_default();
        let _ = write!(
            out,
            r#"<h3><code>{}</code></h3><div class="meta">{}</div><table class="matrix"><tr><th>variant</th>"#,
            esc(s),
            esc(about)
        );
        for p in &policies {
            let _ = write!(out, "<th>{}</th>", esc(p));
        }
        out.push_str("</tr>\n");
        for v in &variants {
            let _ = write!(out, r#"<tr><th class="variant">{}</th>"#, esc(v));
            for p in &policies {
                let here: Vec<&(usize, &Row)> = rs
                    .iter()
                    .filter(|(_, r)| r.cell.variant.name == *v && r.cell.policy.name == *p)
                    .collect();
                if here.is_empty() {
                    out.push_str(r#"<td class="none">—</td>"#);
                    continue;
                }
                for (i, r) in here {
                    matrix_cell(&mut out, *i, r);
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }

    // Counterexamples.
    if findings > 0 {
        out.push_str("<h2 id=\"counterexamples\">Counterexamples</h2>\n");
        out.push_str(&keys());
    }
    for (i, r) in rows.iter().enumerate() {
        let Some(f) = &r.outcome.finding else {
            continue;
        };
        let id = anchor(i);
        let verdict = r.verdict();
        let expect = r
            .expect
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "MISSING".into());
        let _ = write!(
            out,
            r#"<section class="cx" id="{id}"><h3><code>{}</code> — <span class="v-{}" style="padding:1px 6px;border-radius:4px">{}</span></h3><div class="meta">expected <b>{}</b> · {} · coverage: {}</div>"#,
            esc(&r.cell.id()),
            verdict_class(&verdict),
            esc(&verdict),
            esc(&expect),
            if r.matches() {
                "as expected"
            } else {
                "<b style=\"color:#d50000\">DIFFERS FROM expected.matrix</b>"
            },
            esc(&r.outcome.coverage())
        );
        let vio = match &f.failure {
            Failure::Violation(v) => format!("VIOLATION {v}"),
            Failure::ModelError(m) => format!("MODEL ERROR: {m}"),
        };
        let _ = write!(out, r#"<div class="vio">{}</div>"#, esc(&vio));
        let captions = r.cell.scenario.cpus;
        let _ = write!(
            out,
            r#"<div class="diagram">{}</div>"#,
            lane_diagram(f, &id, captions)
        );
        if let Some(g) = &f.interleaving {
            let _ = write!(
                out,
                r#"<p class="meta">This counterexample needs weak memory. An interleaving-order counterpart (shuttle PCT, sequentially consistent, after {} schedules):</p><div class="diagram">{}</div>"#,
                f.sc_schedules,
                lane_diagram(g, &format!("{id}i"), captions)
            );
        }
        let _ = writeln!(
            out,
            "<div class=\"meta\">The text counterexample (<code>ptcheck explain {}</code>):</div><pre>{}</pre></section>",
            esc(&r.cell.id()),
            esc(&render::counterexample(f))
        );
    }
    out.push_str("</body></html>\n");
    out
}

/// One `<td>` of the matrix.
fn matrix_cell(out: &mut String, i: usize, r: &Row) {
    let verdict = r.verdict();
    let class = verdict_class(&verdict);
    let mismatch = if r.matches() { "" } else { " mismatch" };
    let expect = r
        .expect
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_else(|| "MISSING".into());
    let tip = format!(
        "{}\nverdict: {verdict}\nexpected: {expect}\ncoverage: {}",
        r.cell.id(),
        r.outcome.coverage()
    );
    let name = esc(short(&verdict));
    let shown = if r.outcome.finding.is_some() {
        format!(r##"<a href="#{}">{name}</a>"##, anchor(i))
    } else {
        name
    };
    let _ = write!(
        out,
        r#"<td id="m{i}" class="v-{class}{mismatch}" title="{}"><div class="verdict">{shown}</div><div class="cov">{}</div>"#,
        esc(&tip),
        esc(&coverage_short(&r.outcome))
    );
    if !r.matches() {
        let _ = write!(out, r#"<div class="exp">expected {}</div>"#, esc(&expect));
    }
    out.push_str("</td>");
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ptcheck_model::Actor::{Cpu, RcuCallback};

    fn ev(actor: Actor, func: &'static str, what: impl Into<What>) -> Event {
        Event {
            actor,
            func,
            what: what.into(),
            access: None,
        }
    }

    /// CPU1 sends an IPI while CPU0 has interrupts off (answered when they come on), then
    /// queues a callback; CPU0 then enters an RCU read section it never leaves.
    pub(crate) fn finding() -> Finding {
        let trace = vec![
            ev(Cpu(0), "gup", SyncStep::IrqOff),
            ev(Cpu(1), "flush", SyncStep::IpiSent { targets: vec![0] }),
            ev(Cpu(0), "gup", "walk <a> & \"b\""),
            ev(Cpu(0), "gup", SyncStep::IrqOn),
            ev(Cpu(1), "flush", SyncStep::IpiAnswered),
            ev(
                Cpu(1),
                "tlb",
                SyncStep::Deferred {
                    how: "call_rcu [x]".into(),
                    callback: "cb",
                    batch: 0,
                },
            ),
            ev(RcuCallback(0), "cb", SyncStep::GracePeriodOver),
            ev(Cpu(0), "walk", SyncStep::RcuReadLock),
        ];
        Finding {
            failure: Failure::ModelError("a test; #1 <x>".into()),
            trace,
            choices: Vec::new(),
            schedule: None,
            preemptions: None,
            interleaving: None,
            sc_schedules: 0,
            sc_exhaustive: false,
        }
    }

    #[test]
    fn reads_sections_ipis_and_grace_periods() {
        let st = structure(&finding());
        assert_eq!(st.actors, vec![Cpu(0), Cpu(1), RcuCallback(0)]);
        assert_eq!(
            st.sections,
            vec![
                Section {
                    actor: Cpu(0),
                    kind: SectionKind::IrqOff,
                    from: 0,
                    to: Some(3)
                },
                Section {
                    actor: Cpu(0),
                    kind: SectionKind::Rcu,
                    from: 7,
                    to: None
                },
            ]
        );
        assert_eq!(st.ipis.len(), 1);
        assert_eq!(st.ipis[0].answered, Some(4));
        assert_eq!(
            st.ipis[0].targets,
            vec![IpiTarget {
                cpu: 0,
                answer: Answer::AfterIrqOn(3)
            }]
        );
        assert_eq!(st.graces.len(), 1);
        assert_eq!((st.graces[0].from, st.graces[0].to), (5, Some(6)));
        assert_eq!(st.graces[0].callback, Some((RcuCallback(0), "cb")));
    }

    #[test]
    fn diagram_draws_every_part_escaped() {
        let svg = lane_diagram(&finding(), "t", &["CPU0: the walker"]);
        assert_eq!(svg.matches(r#"<g class="step""#).count(), 8);
        for part in [
            r#"class="ipi""#,
            r#"class="ipi-answer""#,
            r#"class="defer""#,
            r#"class="band""#,
            r#"class="section""#,
            "held off: interrupts off",
        ] {
            assert!(svg.contains(part), "{part}");
        }
        assert!(svg.contains("walk &lt;a&gt; &amp; &quot;b&quot;"));
        assert!(!svg.contains("<a>"));
        assert!(
            svg.contains(">the walker<"),
            "the caption without its `CPU0: `"
        );
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn wraps_and_cuts() {
        assert_eq!(wrap("short", 10, 2), vec!["short"]);
        assert_eq!(
            wrap("read PT#2[0] = page A [W] more words here", 16, 2),
            vec!["read PT#2[0] =", "page A [W] more…"]
        );
        assert_eq!(wrap("abcdefghij", 4, 3), vec!["abcd", "efgh", "ij"]);
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn every_verdict_has_a_class() {
        assert_eq!(verdict_class("use-after-free"), "uaf");
        assert_eq!(verdict_class("undecided (SC only)"), "undecided");
        assert_eq!(verdict_class("wrong-page"), "other");
    }
}
