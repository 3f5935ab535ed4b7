//! The HTML report (`ptcheck::html`) and the mermaid diagrams (`ptcheck::mermaid`), checked
//! where people look at them: in a browser.
//!
//! * The page for a handful of real cells (safe ones, a vacuous one, counterexamples with an IPI,
//!   with RCU grace periods, with SRCU and a deadlock) is written under
//!   `$CARGO_TARGET_TMPDIR/html_report/` and loaded in headless Chromium: its inline script
//!   measures every lane diagram after load and writes the counts onto the DOM (`data-drawn`,
//!   `data-arrows-drawn`, `data-overflow`), which `--dump-dom` returns; screenshots of the
//!   matrix and of a diagram are decoded and must not be blank (the verdict colours are there).
//! * The mermaid text of real counterexamples is parsed and rendered by the pinned mermaid
//!   package (`tests/mermaid/`, installed by `npm ci --prefix tests/mermaid`) in the same
//!   browser; a deliberately broken diagram must be reported as failing.
//!
//! Chromium (`/usr/bin/chromium`, or `$PTCHECK_CHROMIUM`) and the npm package are required: a
//! missing one fails the test with how to install it, never a silent pass.

use ptcheck::expected::{Expect, Expectations};
use ptcheck::matrix::Cell;
use ptcheck::report::{run_cells, Row, RunConfig};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A small matrix (3 policies x 4 variants of one scenario) and single cells of the others.
const CELLS: &[&str] = &[
    "gup-fast-vs-munmap/x86/correct",
    "gup-fast-vs-munmap/x86/no-irq-off",
    "gup-fast-vs-munmap/x86/no-remove-table-sync",
    "gup-fast-vs-munmap/x86/no-pte-recheck",
    "gup-fast-vs-munmap/x86-v6.14/correct",
    "gup-fast-vs-munmap/x86-v6.14/no-irq-off",
    "gup-fast-vs-munmap/x86-v6.14/no-remove-table-sync",
    "gup-fast-vs-munmap/x86-v6.14/no-pte-recheck",
    "gup-fast-vs-munmap/generic-rcu/correct",
    "gup-fast-vs-munmap/generic-rcu/no-irq-off",
    "gup-fast-vs-munmap/generic-rcu/no-remove-table-sync",
    "gup-fast-vs-munmap/generic-rcu/no-pte-recheck",
    "pte-free-defer-vs-retract/x86/correct",
    "pte-free-defer-vs-retract/x86/no-pte-map-rcu",
    "pte-free-defer-vs-retract/x86/pte-free-now",
    "pte-free-defer-vs-retract/x86/no-pmd-same",
    "pmd-clear-vs-lockless-walk/powerpc-hash/no-irq-off",
    "speculative-fault-vs-munmap/x86/vma-freed-at-once",
    "speculative-fault-vs-munmap/x86/spin-lock",
];

/// The cell whose counterexample has an IPI (x86's shootdown).
const IPI_CELL: &str = "gup-fast-vs-munmap/x86/no-irq-off";
/// A cell whose counterexample has a grace period (RCU table free).
const RCU_CELL: &str = "gup-fast-vs-munmap/generic-rcu/no-irq-off";
/// A cell given a wrong expectation here, to show (and check) the mismatch marking.
const MISMATCH_CELL: &str = "gup-fast-vs-munmap/generic-rcu/no-pte-recheck";

fn rows() -> &'static [Row] {
    static ROWS: OnceLock<Vec<Row>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let exp = Expectations::builtin().expect("the builtin expected.matrix parses");
        let cells: Vec<Cell> = CELLS
            .iter()
            .map(|id| Cell::parse(id).unwrap_or_else(|e| panic!("cell {id}: {e}")))
            .collect();
        let mut rows = run_cells(&cells, &RunConfig::default(), &exp).expect("the cells run");
        for r in &mut rows {
            if r.cell.id() == MISMATCH_CELL {
                r.expect = Some(Expect::Safe);
            }
        }
        rows
    })
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&d).expect("create the output directory");
    d
}

fn chromium() -> PathBuf {
    let p = std::env::var_os("PTCHECK_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.exists(),
        "{} not found: this test renders the report in headless Chromium. Install it with \
         `apt-get install -y --no-install-recommends chromium` (Debian; .ci/run does), or point \
         PTCHECK_CHROMIUM at a Chromium binary",
        p.display()
    );
    p
}

/// Run headless Chromium on `url` with `args`; its stdout. Fails the test after 90 s.
fn run_chromium(url: &str, args: &[&str], name: &str) -> String {
    let dir = out_dir();
    let profile = dir.join(format!("profile-{name}"));
    let _ = std::fs::remove_dir_all(&profile);
    let stdout_path = dir.join(format!("{name}.stdout"));
    let stderr_path = dir.join(format!("{name}.stderr"));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for chromium") {
            break s;
        }
        if start.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "chromium ({name}) did not finish in 90 s; its stderr: {}",
                stderr_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = std::fs::remove_dir_all(&profile);
    let out = std::fs::read_to_string(&stdout_path).expect("read chromium's stdout");
    assert!(
        status.success(),
        "chromium ({name}) failed: {status}; stderr: {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    out
}

fn file_url(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// The value of attribute `name` in the start tag that begins at `tag` (the text from `<`).
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let end = tag.find('>')?;
    let head = &tag[..end];
    let key = format!(" {name}=\"");
    let at = head.find(&key)? + key.len();
    let len = head[at..].find('"')?;
    Some(&head[at..at + len])
}

fn num(tag: &str, name: &str) -> usize {
    attr(tag, name)
        .unwrap_or_else(|| panic!("no {name}= on {}", &tag[..tag.len().min(200)]))
        .parse()
        .unwrap_or_else(|e| panic!("{name}= is not a number: {e}"))
}

/// Every start tag `<svg ...>` of a lane diagram in `dom`.
fn lane_svgs(dom: &str) -> Vec<&str> {
    dom.match_indices("<svg ")
        .map(|(i, _)| &dom[i..])
        .filter(|t| attr(t, "class") == Some("lanes"))
        .collect()
}

/// Decode a PNG to 8-bit RGB pixels: (width, height, pixels).
fn decode_png(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let file = std::fs::File::open(path).expect("open the screenshot");
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = dec.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a PNG buffer size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Grayscale => 1,
        png::ColorType::Indexed => panic!("indexed PNG after EXPAND"),
    };
    let px = buf[..info.buffer_size()]
        .chunks(step)
        .map(|c| {
            if step >= 3 {
                [c[0], c[1], c[2]]
            } else {
                [c[0], c[0], c[0]]
            }
        })
        .collect();
    (info.width, info.height, px)
}

fn hex(c: &str) -> [u8; 3] {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).expect("a hex colour");
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// Pixels within `tol` of colour `c` in every channel.
fn count_near(px: &[[u8; 3]], c: [u8; 3], tol: u8) -> usize {
    px.iter()
        .filter(|p| (0..3).all(|i| p[i].abs_diff(c[i]) <= tol))
        .count()
}

fn distinct(px: &[[u8; 3]]) -> usize {
    let mut s: Vec<[u8; 3]> = px.to_vec();
    s.sort_unstable();
    s.dedup();
    s.len()
}

#[test]
fn page_is_self_contained_and_escaped() {
    let page = ptcheck::html::page(rows());
    assert!(page.starts_with("<!DOCTYPE html>"));
    // No network: the only URL is the SVG namespace name, which is never fetched.
    let without_ns = page.replace("http://www.w3.org/2000/svg", "");
    for bad in [
        "http://", "https://", "src=", "@import", "url(http", "<link",
    ] {
        assert!(!without_ns.contains(bad), "the page contains `{bad}`");
    }
    // Step text is escaped: `->` of the trace appears as `-&gt;`, never as a raw `>` tag start.
    assert!(page.contains("-&gt;PMD#1"), "trace text is HTML-escaped");
    // Every counterexample has its diagram and its text counterexample, and the matrix marks
    // the cell given a wrong expectation.
    for r in rows() {
        if let Some(f) = &r.outcome.finding {
            let text = ptcheck::checks::render::counterexample(f);
            let escaped = ptcheck::html::esc(&text);
            assert!(
                page.contains(&escaped),
                "{}: text counterexample",
                r.cell.id()
            );
        }
    }
    assert_eq!(page.matches("class=\"v-pin mismatch\"").count(), 1);
    // Ids are unique.
    let mut ids: Vec<&str> = page
        .match_indices(" id=\"")
        .map(|(i, _)| {
            let s = &page[i + 5..];
            &s[..s.find('"').expect("closing quote")]
        })
        .collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "duplicate element ids");
}

#[test]
fn diagrams_are_drawn_in_chromium() {
    let rows = rows();
    let dir = out_dir();
    let page_path = dir.join("report.html");
    std::fs::write(&page_path, ptcheck::html::page(rows)).expect("write the page");
    let url = file_url(&page_path);
    println!("page: {}", page_path.display());

    // After load, the page's script has measured every diagram.
    let dom = run_chromium(
        &url,
        &["--dump-dom", "--virtual-time-budget=5000"],
        "report-dom",
    );
    std::fs::write(dir.join("report.dom.html"), &dom).expect("write the dump");
    let body = &dom[dom.find("<body").expect("a <body> in the dumped DOM")..];
    let expected_diagrams: usize = rows
        .iter()
        .filter_map(|r| r.outcome.finding.as_ref())
        .map(|f| 1 + usize::from(f.interleaving.is_some()))
        .sum();
    assert!(expected_diagrams >= 8, "the cells give counterexamples");
    assert_eq!(
        num(body, "data-drawn"),
        expected_diagrams,
        "every counterexample's diagram is laid out with a non-zero size"
    );
    assert_eq!(
        num(body, "data-overflow"),
        0,
        "a step's text is wider than its box"
    );
    let svgs = lane_svgs(&dom);
    assert_eq!(svgs.len(), expected_diagrams);
    // The IPI cell's diagram has its arrows (IPI, answer, call_rcu, the free) drawn.
    let ipi_row = rows
        .iter()
        .position(|r| r.cell.id() == IPI_CELL)
        .expect("the IPI cell ran");
    let ipi_svg = svgs
        .iter()
        .find(|t| attr(t, "id") == Some(&format!("cx{ipi_row}-svg")))
        .expect("the IPI cell's diagram");
    assert!(
        num(ipi_svg, "data-arrows-drawn") >= 3,
        "IPI, its answer and the link to the free are drawn"
    );
    for t in &svgs {
        assert_eq!(
            num(t, "data-steps-drawn"),
            dom[dom.find(*t).expect("in dom")..]
                .split("</svg>")
                .next()
                .expect("an svg")
                .matches("class=\"step\"")
                .count(),
            "every step box of {:?} has a size",
            attr(t, "id")
        );
    }

    // Screenshots: the matrix at the top of the page, and pages of one row each for the
    // diagrams of the IPI and the RCU cells (every row with a finding gets such a page, to look
    // at by hand).
    let rcu_row = rows
        .iter()
        .position(|r| r.cell.id() == RCU_CELL)
        .expect("the RCU cell ran");
    for (i, r) in rows.iter().enumerate() {
        if r.outcome.finding.is_some() {
            let p = dir.join(format!("row-{i}.html"));
            std::fs::write(&p, ptcheck::html::page(&rows[i..=i])).expect("write a row page");
        }
    }
    let shots = [
        ("matrix", url.clone()),
        (
            "ipi-diagram",
            file_url(&dir.join(format!("row-{ipi_row}.html"))),
        ),
        (
            "rcu-diagram",
            file_url(&dir.join(format!("row-{rcu_row}.html"))),
        ),
    ];
    for (name, u) in &shots {
        let png = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        run_chromium(
            u,
            &[
                &format!("--screenshot={}", png.display()),
                "--window-size=1400,3000",
                "--virtual-time-budget=5000",
            ],
            name,
        );
        let (w, h, px) = decode_png(&png);
        println!("screenshot: {} ({w}x{h})", png.display());
        assert_eq!((w, h), (1400, 3000));
        let d = distinct(&px);
        assert!(d > 50, "{name}: {d} distinct colours: blank?");
        let white = count_near(&px, [255, 255, 255], 0);
        assert!(white < px.len() * 97 / 100, "{name}: almost all white");
        if *name == "matrix" {
            for (verdict, colour) in [("safe", "#c8e6c9"), ("uaf", "#d32f2f"), ("pin", "#ad1457")] {
                assert!(
                    count_near(&px, hex(colour), 2) > 500,
                    "matrix: the `{verdict}` colour {colour} is not on screen"
                );
            }
        } else {
            assert!(
                count_near(&px, hex("#0d47a1"), 24) > 40,
                "{name}: no arrow colour on screen"
            );
            assert!(
                count_near(&px, hex("#c62828"), 24) > 200,
                "{name}: the violation is not marked"
            );
        }
    }
}

/// What the rendered diagram of `f` must show, in full: every step's note (numbered, cut as
/// the text table cuts it) and the violation.
fn mermaid_fragments(f: &ptcheck::checks::Finding) -> Vec<String> {
    let mut out: Vec<String> = f
        .trace
        .iter()
        .enumerate()
        .map(|(n, e)| {
            let t = format!("{}. {}: {}", n + 1, e.func, e.what);
            if t.chars().count() > 76 {
                let mut c: String = t.chars().take(75).collect();
                c.push('…');
                c
            } else {
                t
            }
        })
        .collect();
    out.push(match &f.failure {
        ptcheck::checks::Failure::Violation(v) => format!("VIOLATION {v}"),
        ptcheck::checks::Failure::ModelError(m) => format!("MODEL ERROR: {m}"),
    });
    out
}

#[test]
fn mermaid_diagrams_render() {
    let node = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mermaid/node_modules");
    let js = node.join("mermaid/dist/mermaid.min.js");
    assert!(
        js.exists(),
        "{} is missing: install the pinned mermaid with `npm ci --prefix tests/mermaid`",
        js.display()
    );
    let rows = rows();
    // (name, diagram text, what it must show, must it pass)
    let mut diagrams: Vec<(String, String, Vec<String>, bool)> = Vec::new();
    for id in [
        IPI_CELL,
        RCU_CELL,
        "speculative-fault-vs-munmap/x86/spin-lock",
    ] {
        let r = rows
            .iter()
            .find(|r| r.cell.id() == id)
            .expect("the cell ran");
        let f = r.outcome.finding.as_ref().expect("a counterexample");
        let text = ptcheck::mermaid::sequence_diagram(f);
        diagrams.push((id.to_string(), text, mermaid_fragments(f), true));
        if let Some(g) = &f.interleaving {
            diagrams.push((
                format!("{id} (interleaving)"),
                ptcheck::mermaid::sequence_diagram(g),
                mermaid_fragments(g),
                true,
            ));
        }
    }
    // Two deliberately broken diagrams, so that the check can fail: the first one unescaped
    // (mermaid renders it, but drops the text after each `#`: the notes are not shown in full),
    // and one with a syntax error (mermaid rejects it).
    let (_, good, fragments, _) = diagrams[0].clone();
    assert!(
        good.contains("#35;") && good.contains("#59;"),
        "escapes are used"
    );
    diagrams.push((
        "unescaped".into(),
        good.replace("#59;", ";").replace("#35;", "#"),
        fragments.clone(),
        false,
    ));
    diagrams.push((
        "syntax error".into(),
        good.replacen("    Note over", "    Note ovr C0 ->>: x\n    Note over", 1),
        fragments,
        false,
    ));
    let dir = out_dir();
    for (i, (_, text, ..)) in diagrams.iter().enumerate() {
        std::fs::write(dir.join(format!("mermaid-{i}.mmd")), text).expect("write .mmd");
    }

    let data = serde_json::to_string(
        &diagrams
            .iter()
            .map(|(name, text, must, _)| {
                serde_json::json!({ "name": name, "text": text, "must": must })
            })
            .collect::<Vec<_>>(),
    )
    .expect("json")
    .replace("</", "<\\/");
    let html = format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><script src="{}"></script></head>
<body><script>
mermaid.initialize({{ startOnLoad: false, securityLevel: 'strict' }});
(async function () {{
  const ds = {data};
  for (let i = 0; i < ds.length; i++) {{
    const el = document.createElement('section');
    el.id = 'result' + i;
    el.setAttribute('data-name', ds[i].name);
    document.body.appendChild(el);
    try {{
      await mermaid.parse(ds[i].text);
      const r = await mermaid.render('mm' + i, ds[i].text);
      el.innerHTML = r.svg;
      const svg = el.querySelector('svg');
      const shown = Array.from(el.querySelectorAll('text')).map(function (t) {{
        return t.textContent;
      }}).join('\n');
      const missing = ds[i].must.filter(function (m) {{ return shown.indexOf(m) < 0; }});
      const box = svg ? svg.getBoundingClientRect() : {{ width: 0, height: 0 }};
      el.setAttribute('data-missing', String(missing.length));
      if (missing.length) el.setAttribute('data-first-missing', missing[0]);
      el.setAttribute('data-ok', svg && box.width > 0 && box.height > 0 ? 'yes' : 'no-svg');
    }} catch (e) {{
      el.setAttribute('data-ok', 'no');
      el.setAttribute('data-error', String((e && e.message) || e).slice(0, 300));
    }}
  }}
  document.body.setAttribute('data-done', String(ds.length));
}})();
</script></body></html>"#,
        file_url(&js)
    );
    let page = dir.join("mermaid.html");
    std::fs::write(&page, html).expect("write the mermaid page");
    let dom = run_chromium(
        &file_url(&page),
        &[
            "--dump-dom",
            "--allow-file-access-from-files",
            "--virtual-time-budget=15000",
        ],
        "mermaid-dom",
    );
    std::fs::write(dir.join("mermaid.dom.html"), &dom).expect("write the dump");
    let body = &dom[dom.find("<body").expect("a <body>")..];
    assert_eq!(
        attr(body, "data-done"),
        Some(diagrams.len().to_string().as_str()),
        "the mermaid script ran to the end (mermaid.min.js loaded?)"
    );
    for (i, (name, text, _, good)) in diagrams.iter().enumerate() {
        let at = dom
            .find(&format!("<section id=\"result{i}\""))
            .unwrap_or_else(|| panic!("no result for {name}"));
        let tag = &dom[at..];
        let rendered = attr(tag, "data-ok") == Some("yes");
        let complete = attr(tag, "data-missing") == Some("0");
        if *good {
            assert!(
                rendered,
                "mermaid rejects the diagram of {name}: {:?}\n{text}",
                attr(tag, "data-error")
            );
            assert!(
                complete,
                "mermaid's drawing of {name} does not show {:?}\n{text}",
                attr(tag, "data-first-missing")
            );
        } else {
            assert!(
                !(rendered && complete),
                "the broken diagram `{name}` passed the check"
            );
            println!(
                "broken diagram `{name}` fails as it should: rendered {rendered}, error {:?}, \
                 first text not shown {:?}",
                attr(tag, "data-error"),
                attr(tag, "data-first-missing")
            );
        }
    }
    let png = dir.join("mermaid.png");
    run_chromium(
        &file_url(&page),
        &[
            &format!("--screenshot={}", png.display()),
            "--allow-file-access-from-files",
            "--window-size=1400,3000",
            "--virtual-time-budget=15000",
        ],
        "mermaid-shot",
    );
    println!("screenshot: {}", png.display());
}
