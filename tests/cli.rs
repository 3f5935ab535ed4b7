//! The command line: clear errors (never a panic) for bad input, and the documented outputs.

use std::process::Command;

fn ptcheck(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ptcheck"))
        .args(args)
        .output()
        .expect("run ptcheck");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The schedule a shuttle counterexample prints on its replay line.
fn schedule_of(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("replay: ptcheck replay <cell> --schedule "))
        .expect("a schedule line")
        .trim()
        .to_string()
}

#[test]
fn unknown_scenario_is_a_clear_error() {
    let (code, _, err) = ptcheck(&["check", "no-such-scenario"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown scenario `no-such-scenario`"), "{err}");
    assert!(
        err.contains("gup-fast-vs-munmap"),
        "lists the known ones: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unknown_policy_and_variant_are_clear_errors() {
    let (code, _, err) = ptcheck(&["check", "--arch", "vax"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown arch policy `vax`"), "{err}");
    let (code, _, err) = ptcheck(&["check", "gup-fast-vs-munmap", "--variant", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown variant `nope`"), "{err}");
    let (code, _, err) = ptcheck(&["explain", "gup-fast-vs-munmap/x86"]);
    assert_eq!(code, 2);
    assert!(err.contains("expected SCENARIO/POLICY/VARIANT"), "{err}");
}

#[test]
fn unknown_explorer_and_bad_flag_are_clear_errors() {
    let (code, _, err) = ptcheck(&["check", "--explorer", "magic"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown explorer `magic`"), "{err}");
    let (code, _, err) = ptcheck(&["check", "-e", "pct", "--iterations", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs --iterations of at least 1"), "{err}");
    let (code, _, err) = ptcheck(&["check", "--budget", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("--budget"), "{err}");
    let (code, _, err) = ptcheck(&["check", "--frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.contains("--frobnicate"), "{err}");
}

#[test]
fn malformed_schedule_is_a_clear_error() {
    for bad in ["zz-not-hex", "00", "", "91", "9101ff"] {
        let (code, _, err) = ptcheck(&[
            "replay",
            "gup-fast-vs-munmap/arm64-rfc-v4/correct",
            "--schedule",
            bad,
        ]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("malformed schedule"), "{bad}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn a_schedule_from_another_cell_is_a_clear_error() {
    // Recorded on a cell whose second CPU takes other steps.
    let (_, out, _) = ptcheck(&[
        "explain",
        "gup-fast-vs-munmap/arm64-rfc-v4/correct",
        "--explorer",
        "pct",
    ]);
    let schedule = schedule_of(&out);
    let (code, _, err) = ptcheck(&[
        "replay",
        "gup-fast-vs-munmap/x86/correct",
        "--schedule",
        &schedule,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("does not fit gup-fast-vs-munmap/x86/correct"),
        "{err}"
    );
}

#[test]
fn explain_prints_the_arm64_rfc_v4_race_and_replay_reproduces_it() {
    let (code, out, err) = ptcheck(&[
        "explain",
        "gup-fast-vs-munmap/arm64-rfc-v4/correct",
        "--explorer",
        "pct",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("VIOLATION use-after-free"), "{out}");
    assert!(
        out.contains("free_pages_and_swap_cache: free PT#2"),
        "{out}"
    );
    let schedule = schedule_of(&out);
    let (code, again, err) = ptcheck(&[
        "replay",
        "gup-fast-vs-munmap/arm64-rfc-v4/correct",
        "--schedule",
        &schedule,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(again.contains("VIOLATION use-after-free"), "{again}");
}

#[test]
fn list_names_scenarios_policies_and_guards() {
    let (code, out, _) = ptcheck(&["list"]);
    assert_eq!(code, 0);
    for want in [
        "gup-fast-vs-munmap",
        "arm64-rfc-v4",
        "x86",
        "irq-off",
        "pte-recheck",
    ] {
        assert!(out.contains(want), "{want} missing from:\n{out}");
    }
    let (code, out, _) = ptcheck(&["list", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert!(v["scenarios"].as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn check_exits_zero_when_every_cell_is_as_expected_and_prints_coverage() {
    let (code, out, err) = ptcheck(&["check", "gup-fast-vs-munmap", "--arch", "arm64"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("loom (exhaustive"), "{out}");
    assert!(out.contains("as expected, 0 differ"), "{out}");
    let (code, out, _) = ptcheck(&["check", "gup-fast-vs-munmap", "--arch", "x86", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert!(v
        .as_array()
        .is_some_and(|a| a.iter().all(|r| r["matches"] == true)));
}

#[test]
fn bench_broken_measures_every_broken_cell_of_a_scenario() {
    let (code, out, err) = ptcheck(&[
        "bench",
        "--broken",
        "--scenario",
        "thp-split-vs-gup-fast",
        "--within",
        "1000",
    ]);
    assert_eq!(code, 0, "{err}");
    // thp-split-vs-gup-fast has broken cells on every policy; each is found by loom.
    let first = out.lines().next().expect("a summary");
    assert!(first.starts_with("broken cells: "), "{out}");
    let n: usize = first["broken cells: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    assert!(n > 0, "{out}");
    assert!(out.contains(&format!("found {n}/{n}")), "{out}");
    assert!(
        out.contains("pct (depth 2-3): every seed 1-10 within 1000"),
        "{out}"
    );
    assert!(out.contains("random: every seed 1-10 within 1000"), "{out}");
    // Bad input: a flag of --broken without it, both modes at once, an unknown scenario.
    let (code, _, err) = ptcheck(&["bench", "--within", "10"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--broken"), "{err}");
    let (code, _, err) = ptcheck(&["bench", "--broken", "--baseline"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = ptcheck(&["bench", "--broken", "--iterations", "5"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = ptcheck(&["bench", "--broken", "--scenario", "nope"]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("nope") && !err.contains("panicked"), "{err}");
    // Another seed range: the summary names it and counts its runs.
    let (code, out, err) = ptcheck(&[
        "bench",
        "--broken",
        "--scenario",
        "thp-split-vs-gup-fast",
        "--seeds",
        "11-12",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("every seed 11-12 within 1000"), "{out}");
    assert!(
        out.contains(&format!("runs found {}/{}", 2 * n, 2 * n)),
        "{out}"
    );
    for bad in ["12-11", "x", "3"] {
        let (code, _, err) = ptcheck(&["bench", "--broken", "--seeds", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains("seed range") || err.contains("FIRST"),
            "{bad}: {err}"
        );
    }
    let (code, _, err) = ptcheck(&["bench", "--seeds", "1-2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--broken"), "{err}");
    let (code, _, err) = ptcheck(&["bench", "--jobs", "2"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--broken"), "{err}");
    let (code, _, err) = ptcheck(&["bench", "--broken", "--jobs", "0"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn bench_profile_runs_one_side_of_the_baseline_alone() {
    for (side, says) in [
        (
            "ptcheck",
            "gup-fast-vs-munmap/x86-v6.14/correct: 2 runs, 354 executions",
        ),
        ("hand", "hand model: 2 runs, 354 executions"),
    ] {
        let (code, out, err) = ptcheck(&["bench", "--profile", side, "--runs", "2"]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(says), "{out}");
    }
    let (code, out, err) = ptcheck(&["bench", "--profile", "hand", "--runs", "1", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["side"], "hand");
    assert_eq!(v["executions"], 177);
    // Under PCT: every sequentially consistent schedule of the cell, each once (both sides
    // make the same scheduling points).
    for side in ["ptcheck", "hand"] {
        let args = [
            "bench",
            "--profile",
            side,
            "--under",
            "pct",
            "--runs",
            "1",
            "--json",
        ];
        let (code, out, err) = ptcheck(&args);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(
            (&v["under"], &v["executions"]),
            (&"pct".into(), &8402.into())
        );
    }
    // Bad input: an unknown side, --runs without --profile, with another mode, zero runs.
    for args in [
        &["bench", "--profile", "nope"][..],
        &["bench", "--runs", "3"],
        &["bench", "--profile", "hand", "--baseline"],
        &["bench", "--profile", "hand", "--broken"],
        &["bench", "--profile", "hand", "--runs", "0"],
        &["bench", "--profile", "hand", "--under", "dfs"],
        &["bench", "--under", "pct"],
    ] {
        let (code, _, err) = ptcheck(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bench_broken_counts_the_same_executions_on_any_number_of_jobs() {
    // Every count (loom's executions, PCT's and random's per seed) in cell order; loom's
    // milliseconds are left out, they are wall time.
    let rows = |jobs: &str| {
        let (code, out, err) = ptcheck(&[
            "bench",
            "--broken",
            "--scenario",
            "gup-fast-vs-munmap",
            "--within",
            "100",
            "--json",
            "--jobs",
            jobs,
        ]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        v.as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["cell"].to_string(),
                    r["loom_executions"].to_string(),
                    r["pct"].to_string(),
                    r["random"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let one = rows("1");
    assert!(one.len() > 10, "{one:?}");
    assert_eq!(one, rows("2"));
}

#[test]
fn bench_and_cost_print_their_tables() {
    let (code, out, err) = ptcheck(&["bench", "--iterations", "10"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("execs/s") && out.contains("loom (exhaustive)"),
        "{out}"
    );
    assert!(
        out.contains("first counterexample") && out.contains("shuttle-pct"),
        "{out}"
    );
    // Every header is as wide as its column: the first data line lines up under it.
    let head = out.lines().nth(1).expect("a header");
    let row = out.lines().nth(2).expect("a row");
    let verdict = head.find("verdict").expect("a verdict column");
    assert_eq!(
        row.find(" safe ").map(|i| i + 1),
        Some(verdict),
        "{head}\n{row}"
    );
    let execs_end = head.find(" execs").expect("an execs column") + " execs".len();
    let digits_end = row[verdict + "safe".len()..]
        .trim_start()
        .find(' ')
        .map(|n| row.len() - row[verdict + "safe".len()..].trim_start().len() + n);
    assert_eq!(digits_end, Some(execs_end), "{head}\n{row}");
    let (code, out, err) = ptcheck(&["cost", "--pmds", "4", "--cpus", "128"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("powerpc-radix-pre2020"), "{out}");
    assert!(out.contains("253952 IPIs"), "the seed projection: {out}");
    let (code, _, err) = ptcheck(&["cost", "--pmds", "1000000", "--cpus", "4"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--pmds x --cpus must be"), "{err}");
    let (code, _, err) = ptcheck(&["cost", "--cpus", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_bound_loom_cannot_take_is_rejected_not_reported_as_a_counterexample() {
    for cmd in ["check", "necessity"] {
        let (code, out, err) = ptcheck(&[cmd, "--bound", "999"]);
        assert_eq!(code, 2, "{cmd}: {out}");
        assert!(err.contains("999 is not in 0..=255"), "{cmd}: {err}");
        assert!(
            !out.contains("MODEL ERROR") && !out.contains("MISMATCH"),
            "{out}"
        );
    }
    // The library refuses it too, with its own error.
    let e = ptcheck_checks::Explorer::Loom { bound: Some(999) };
    assert_eq!(
        e.validate(),
        Err(ptcheck_checks::ExplorerError::BoundTooBig(999))
    );
}

#[test]
fn the_weaker_bound_note_names_the_gates_bound_correctly() {
    // pmd-clear is exhaustive in the gate: any bound is weaker, and the note says so.
    let (code, out, _) = ptcheck(&[
        "check",
        "pmd-clear-vs-lockless-walk",
        "--arch",
        "x86",
        "--variant",
        "correct",
        "--bound",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("ran at preemption bound 1; the gate explores it exhaustively"),
        "{out}"
    );
    // The two-walker scenario runs at bound 3 in the gate: 3 is not below it, 2 is.
    let two_w = |b: &str| {
        ptcheck(&[
            "check",
            "gup-fast-vs-munmap-2w",
            "--arch",
            "x86",
            "--variant",
            "correct",
            "--bound",
            b,
        ])
        .1
    };
    assert!(!two_w("3").contains("note:"), "bound 3 is not weaker");
    assert!(two_w("2").contains("below the gate's bound 3"));
}

#[test]
fn help_states_what_each_explorer_covers() {
    let (code, out, _) = ptcheck(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("no load buffering"), "{out}");
    assert!(out.contains("sequentially consistent only"), "{out}");
    assert!(out.contains("undecided (SC only)"), "{out}");
}

#[test]
fn agree_checks_one_cell_and_reports_the_agreement() {
    let (code, out, err) = ptcheck(&[
        "agree",
        "pmd-clear-vs-lockless-walk",
        "--arch",
        "arm64",
        "--variant",
        "no-irq-off",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("agree: both found"), "{out}");
    assert!(out.contains("0 disagreements"), "{out}");
}

#[test]
fn explain_wide_prints_cells_whole() {
    let cell = "pmd-clear-vs-lockless-walk/arm64/no-collapse-sync-ipi";
    let (code, out, _) = ptcheck(&["explain", cell]);
    assert_eq!(code, 0);
    assert!(out.contains("…") && out.contains("--wide"), "{out}");
    let (code, out, _) = ptcheck(&["explain", cell, "--wide"]);
    assert_eq!(code, 0);
    assert!(!out.contains("…"), "{out}");
    assert!(
        out.contains("ptep_clear): PT#2[0]: page A [W,_PAGE_PTE] -> none"),
        "{out}"
    );
}

#[test]
fn a_seed_range_runs_each_seed_and_a_bad_one_is_a_clear_error() {
    let cell = [
        "check",
        "gup-fast-vs-munmap",
        "--arch",
        "arm64-rfc-v4",
        "--variant",
        "correct",
    ];
    let (code, out, err) =
        ptcheck(&[&cell[..], &["-e", "pct", "--seeds", "3-5", "--json"]].concat());
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("json");
    let bounds: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["bound"].as_str().expect("bound"))
        .collect();
    assert_eq!(bounds.len(), 3, "{bounds:?}");
    for (b, seed) in bounds.iter().zip(3..) {
        assert!(b.contains(&format!("seed {seed},")), "{b}");
    }
    for bad in ["5-3", "x-2", "7"] {
        let (code, _, err) = ptcheck(&[&cell[..], &["-e", "pct", "--seeds", bad]].concat());
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("seed range"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn json_separates_finding_from_simplifying() {
    let (code, out, err) = ptcheck(&[
        "check",
        "gup-fast-vs-munmap",
        "--arch",
        "arm64-rfc-v4",
        "--variant",
        "correct",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("json");
    let r = &rows[0];
    let first = r["first_found_after_executions"]
        .as_u64()
        .expect("set for a finding");
    assert!(
        first >= 1 && first <= r["executions"].as_u64().unwrap(),
        "{r}"
    );
}

#[test]
fn replay_reproduces_a_counterexample_found_under_other_data_choices() {
    let cell = "pte-free-defer-vs-retract/x86/no-retract-recheck";
    let (code, out, err) = ptcheck(&["explain", cell, "--explorer", "pct"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("data choices: walker = a pte installer"),
        "{out}"
    );
    let schedule = schedule_of(&out);
    let (code, again, err) = ptcheck(&["replay", cell, "--schedule", &schedule]);
    assert_eq!(code, 0, "{err}");
    assert!(
        again.contains("VIOLATION lost update") && again.contains("walker = a pte installer"),
        "{again}"
    );
}

#[test]
fn quiet_is_accepted_before_and_after_the_subcommand() {
    for args in [
        &[
            "--quiet",
            "check",
            "thp-split-vs-gup-fast",
            "--arch",
            "x86",
            "--variant",
            "correct",
        ][..],
        &[
            "check",
            "thp-split-vs-gup-fast",
            "-q",
            "--arch",
            "x86",
            "--variant",
            "correct",
        ][..],
    ] {
        let (code, out, err) = ptcheck(args);
        assert_eq!(code, 0, "{args:?}: {out}{err}");
        assert!(out.contains("1 cells, 1 as expected"), "{out}");
        assert!(err.is_empty(), "{err}");
    }
}

#[test]
fn a_scenario_that_does_not_apply_to_a_policy_says_so() {
    let (code, _, err) = ptcheck(&["check", "pgd-alloc-vs-sync", "--arch", "arm64"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("does not apply to arch policy arm64"), "{err}");
    let (code, _, err) = ptcheck(&[
        "explain",
        "pgd-alloc-lockless-vs-sync/powerpc-radix/correct",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("n/a"), "{err}");
    let (code, out, err) = ptcheck(&["check", "pgd-alloc-vs-sync", "-q"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pgd_lock 1/1"), "{out}");
    assert!(!out.contains("/arm64/"), "{out}");
}

#[test]
fn cost_pgd_lock_compares_mainline_and_the_lockless_series() {
    let (code, out, err) = ptcheck(&["cost", "--pgd-lock"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("mainline (pgd_list)"), "{out}");
    assert!(out.contains("lockless series (2015)"), "{out}");
    assert!(!out.contains("arm64"), "{out}");
}

#[test]
fn dfs_takes_a_preemption_bound() {
    let (code, out, err) = ptcheck(&[
        "check",
        "gup-fast-vs-munmap",
        "--arch",
        "x86",
        "--variant",
        "correct",
        "-e",
        "dfs",
        "--iterations",
        "0",
        "--bound",
        "1",
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("shuttle-dfs (preemption bound 1"), "{out}");
}

#[test]
fn a_policy_file_adds_a_column_and_bad_ones_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("ptcheck-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let good = dir.join("my.toml");
    std::fs::write(
        &good,
        "name = \"my-arm64\"\nbase = \"arm64\"\nremove_table_one = \"ipi-sync\"\n",
    )
    .expect("write");
    let g = good.to_str().expect("utf-8 path");
    let (code, out, _) = ptcheck(&["--policy-file", g, "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("my-arm64"), "{out}");
    assert!(out.contains("remove_table_one = ipi-sync"), "{out}");
    // Its cells run; they have no reviewed expectation, which the table says.
    let (code, out, _) = ptcheck(&[
        "check",
        "gup-fast-vs-munmap",
        "--arch",
        "my-arm64",
        "--variant",
        "no-irq-off",
        "--policy-file",
        g,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("gup-fast-vs-munmap/my-arm64/no-irq-off") && out.contains("MISSING"),
        "{out}"
    );
    assert!(out.contains("uaf"), "{out}");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"x\"\nbase = \"arm64\"\ntlb_flush = \"ipi\"\n",
    )
    .expect("write");
    let (code, _, err) = ptcheck(&["--policy-file", bad.to_str().expect("utf-8"), "list"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not a value of tlb_flush (valid: ipi-shootdown, broadcast-tlbi)"),
        "{err}"
    );
    let (code, _, err) = ptcheck(&["--policy-file", "/no/such/file.toml", "list"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/file.toml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn list_json_spells_knobs_as_policy_files_do() {
    let (code, out, _) = ptcheck(&["list", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let x86 = v["policies"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "x86"))
        .expect("x86");
    assert_eq!(x86["tlb_flush"], "ipi-shootdown");
    assert_eq!(x86["remove_table_one"], "synchronize-rcu");
    assert_eq!(x86["pmd_halves"], "false");
    let knobs = v["knobs"].as_array().expect("knobs");
    assert!(knobs
        .iter()
        .any(|k| k["name"] == "deposit" && k["values"][0] == "struct-page"));
}

#[test]
fn report_writes_one_self_contained_page_and_explain_prints_mermaid() {
    let dir = std::env::temp_dir().join(format!("ptcheck-report-{}", std::process::id()));
    let d = dir.to_str().expect("utf-8 path");
    let (code, out, err) = ptcheck(&["report", "gup-fast-vs-munmap", "--arch", "x86", "--html", d]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("7 cells, 2 counterexamples drawn, 0 differ"),
        "{out}"
    );
    let page = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    assert!(page.contains("<svg") && page.contains("gup-fast-vs-munmap/x86/no-irq-off"));
    // No network: the only URL is the SVG namespace, which is a name, not a fetch.
    let urls = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !urls.contains("http://") && !urls.contains("https://"),
        "no network"
    );
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, _) = ptcheck(&[
        "explain",
        "gup-fast-vs-munmap/arm64-rfc-v4/correct",
        "--format",
        "mermaid",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("```mermaid\nsequenceDiagram\n"), "{out}");
    assert!(out.contains("VIOLATION"), "{out}");
    let (code, out, _) = ptcheck(&[
        "explain",
        "gup-fast-vs-munmap/x86/correct",
        "--format",
        "mermaid",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("no counterexample (safe"), "{out}");
    let (code, _, err) = ptcheck(&[
        "explain",
        "gup-fast-vs-munmap/x86/correct",
        "--format",
        "svg",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid value 'svg'") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn check_says_which_cells_share_an_exploration() {
    // tlb_remove_table_one does not exist where tables are freed after the flush IPI: the
    // variant that switches it off runs the correct protocol's executions, explored once.
    let (code, out, err) = ptcheck(&[
        "check",
        "gup-fast-vs-munmap",
        "--arch",
        "x86-v6.14",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: serde_json::Value = serde_json::from_str(&out).expect("json");
    let row = |v: &str| {
        rows.as_array()
            .and_then(|a| a.iter().find(|r| r["variant"] == v))
            .unwrap_or_else(|| panic!("no row {v}: {out}"))
            .clone()
    };
    let (correct, shared) = (row("correct"), row("no-remove-table-sync"));
    assert_eq!(correct["shared_exploration"], false);
    assert_eq!(shared["shared_exploration"], true, "{shared}");
    assert_eq!(shared["verdict"], "vacuous");
    assert_eq!(shared["executions"], correct["executions"]);
    assert_eq!(row("plain-get-page")["shared_exploration"], false);
}

#[test]
fn check_in_parallel_gives_the_same_rows() {
    let rows = |jobs: &str| {
        let (code, out, err) = ptcheck(&[
            "check",
            "pmd-clear-vs-lockless-walk",
            "--arch",
            "arm64",
            "--jobs",
            jobs,
            "--json",
        ]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v.as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                (
                    r["cell"].to_string(),
                    r["verdict"].to_string(),
                    r["executions"].to_string(),
                    r["counterexample"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let one = rows("1");
    assert!(one.len() > 5, "{one:?}");
    assert_eq!(one, rows("3"));
    let (code, _, err) = ptcheck(&["check", "--jobs", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--jobs") && !err.contains("panicked"), "{err}");
}

#[test]
fn agree_in_parallel_gives_the_same_rows() {
    let run = |jobs: &str| {
        let (code, out, err) = ptcheck(&[
            "agree",
            "pmd-clear-vs-lockless-walk",
            "--arch",
            "arm64",
            "--jobs",
            jobs,
        ]);
        assert_eq!(code, 0, "{out}{err}");
        // Rows without their times, in order.
        out.lines()
            .filter(|l| l.contains("pmd-clear-vs-lockless-walk/"))
            .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    let one = run("1");
    assert!(one.len() > 5, "{one:?}");
    assert_eq!(one, run("2"));
}
