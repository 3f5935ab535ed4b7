//! The crate's own `ptcheck` (built with `ptcheck::cli::main_with`): its scenario, guard,
//! finding and policy appear under their own names in every output.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ptcheck-example"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ptcheck-example");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_shows_the_users_scenario_guard_finding_and_policy() {
    let (code, out, _) = run(&["list"]);
    assert_eq!(code, 0);
    for s in [
        "gup-fast-vs-quicklist",
        "quicklist-sync",
        "wrong-page",
        "my-arch",
        "no-quicklist-sync",
    ] {
        assert!(out.contains(s), "{s} missing:\n{out}");
    }
    assert!(!out.contains("user-guard-0"), "{out}");
}

#[test]
fn check_finds_the_users_bug_under_its_own_names() {
    let (code, out, _) = run(&[
        "check",
        "gup-fast-vs-quicklist",
        "--arch",
        "arm64",
        "--variant",
        "no-quicklist-sync",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v[0]["verdict"], "wrong-page");
    assert_eq!(v[0]["matches"], true);
    assert_eq!(v[0]["guards_off"][0], "quicklist-sync");
    let ce = v[0]["counterexample"].as_str().expect("a counterexample");
    assert!(
        ce.contains(
            "VIOLATION wrong-page: CPU0 in __get_user_pages_fast on mm A returned mm B: page"
        ),
        "{ce}"
    );
    assert!(ce.contains("my_pte_alloc_one (quicklist_alloc)"), "{ce}");
}

#[test]
fn the_policy_file_column_finds_the_quicklist_race_where_my_arch_cannot() {
    let (code, out, err) = run(&[
        "--policy-file",
        "my-arch-rcu.toml",
        "check",
        "gup-fast-vs-quicklist",
        "--arch",
        "my-arch-rcu",
        "--json",
    ]);
    // No reviewed expectation for the file's column: exit 1, every verdict printed.
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let verdict = |variant: &str| {
        v.as_array()
            .and_then(|rows| rows.iter().find(|r| r["variant"] == variant))
            .map(|r| r["verdict"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(verdict("correct").as_deref(), Some("safe"));
    assert_eq!(verdict("no-quicklist-sync").as_deref(), Some("wrong-page"));
}

#[test]
fn necessity_names_the_users_guard() {
    let (code, out, _) = run(&["necessity", "gup-fast-vs-quicklist", "--markdown"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("| quicklist-sync | my_quicklist_sync()"),
        "{out}"
    );
}
