//! Scale-out and CI reports with cargo-nextest (the README's commands): every gate cell is its
//! own test, so `--partition count:K/N` and `hash:K/N` split the gate into disjoint parts that
//! together run every cell once, and the `ci` profile (`.config/nextest.toml`) writes one JUnit
//! `<testcase>` per cell. Run on the example crate's gate (93 cells, about a second a run), built
//! with the profile `cargo test` already built.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Run the example gate's partition under nextest's `ci` profile; the names of the JUnit
/// testcases it wrote, each with whether it passed.
fn partition(part: &str) -> Vec<(String, bool)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "nextest",
            "run",
            "--cargo-profile",
            // The profile this test was built in, so nextest reuses what cargo built.
            if cfg!(debug_assertions) {
                "test"
            } else {
                "release"
            },
            "--profile",
            "ci",
            "-p",
            "ptcheck-example",
            "--test",
            "gate",
            "--partition",
            part,
        ])
        .output()
        .expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("no such command"),
        "cargo-nextest is not installed: `cargo install cargo-nextest --locked` (the CI machine has it)"
    );
    assert!(out.status.success(), "nextest {part} failed:\n{stderr}");
    let junit = root.join("target/nextest/ci/junit.xml");
    let xml = std::fs::read_to_string(&junit).expect("nextest wrote junit.xml");
    xml.split("<testcase ")
        .skip(1)
        .map(|t| {
            let name = t
                .split("name=\"")
                .nth(1)
                .and_then(|n| n.split('"').next())
                .expect("a testcase name")
                .to_string();
            let body_end = t.find("</testcase>").unwrap_or(t.len());
            let failed = t[..body_end].contains("<failure");
            (name, !failed)
        })
        .collect()
}

#[test]
fn partitions_split_the_gate_into_disjoint_parts_and_junit_lists_each_cell() {
    for scheme in ["count", "hash"] {
        let one = partition(&format!("{scheme}:1/2"));
        let two = partition(&format!("{scheme}:2/2"));
        assert!(
            !one.is_empty() && !two.is_empty(),
            "{scheme}: an empty part"
        );
        assert!(
            one.iter().chain(&two).all(|(_, ok)| *ok),
            "{scheme}: a failed cell"
        );
        let a: BTreeSet<&str> = one.iter().map(|(n, _)| n.as_str()).collect();
        let b: BTreeSet<&str> = two.iter().map(|(n, _)| n.as_str()).collect();
        assert!(a.is_disjoint(&b), "{scheme}: a cell ran in both parts");
        let all: BTreeSet<&str> = a.union(&b).copied().collect();
        // The gate: one coverage check, one necessity check per scenario, and each of the 45
        // cells under loom and under PCT.
        assert_eq!(all.len(), 1 + 2 + 45 + 45, "{scheme}: {all:?}");
        assert!(all.contains("loom::gup-fast-vs-quicklist/arm64/no-quicklist-sync"));
        assert!(all.contains("pct::gup-fast-vs-munmap/my-arch/correct"));
    }
}
