//! Arch policies written as data: a TOML file that names a built-in policy as its base and
//! sets any knob, with the spellings `ptcheck list` shows (`ptcheck_arch::knobs`).
//!
//! ```toml
//! name = "my-arm64"
//! about = "arm64 with the synchronize_rcu fallback of tlb_remove_table_one"
//! base = "arm64"
//! remove_table_one = "synchronize-rcu"
//! ```
//!
//! `ptcheck check --policy-file my.toml` (also `explain`, `necessity`, `report`, `agree`)
//! adds its column next to the built-in ones.

use crate::registry::Registry;
use ptcheck_arch::knobs::{knob, KNOBS};
use ptcheck_arch::ArchPolicy;
use std::path::Path;

/// A policy file that cannot be used, saying what would be.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PolicyFileError {
    #[error("{file}: {msg}")]
    Read { file: String, msg: String },
    #[error("{file}: not TOML: {msg}")]
    Toml { file: String, msg: String },
    #[error("{file}: `{key}` is missing")]
    Missing { file: String, key: &'static str },
    #[error("{file}: unknown key `{key}` (valid: name, about, base, {knobs})")]
    UnknownKey {
        file: String,
        key: String,
        knobs: String,
    },
    #[error("{file}: `{key} = {value}` is not a value of {key} (valid: {valid})")]
    BadValue {
        file: String,
        key: String,
        value: String,
        valid: String,
    },
    #[error("{file}: base `{base}` is not a registered policy (known: {known})")]
    UnknownBase {
        file: String,
        base: String,
        known: String,
    },
}

/// Parse a policy file's text against the policies of `registry` (its `base`).
pub fn parse(file: &str, text: &str, registry: &Registry) -> Result<ArchPolicy, PolicyFileError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| PolicyFileError::Toml {
            file: file.into(),
            msg: e.to_string().trim_end().to_string(),
        })?;
    let string = |key: &'static str| -> Result<Option<String>, PolicyFileError> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(PolicyFileError::BadValue {
                file: file.into(),
                key: key.into(),
                value: v.to_string(),
                valid: "a string".into(),
            }),
        }
    };
    let name = string("name")?.ok_or(PolicyFileError::Missing {
        file: file.into(),
        key: "name",
    })?;
    let base_name = string("base")?.ok_or(PolicyFileError::Missing {
        file: file.into(),
        key: "base",
    })?;
    let base = registry
        .policy(&base_name)
        .map_err(|_| PolicyFileError::UnknownBase {
            file: file.into(),
            base: base_name.clone(),
            known: registry
                .policies()
                .iter()
                .map(|p| p.name)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let mut p = *base;
    for (key, value) in &table {
        if matches!(key.as_str(), "name" | "about" | "base") {
            continue;
        }
        let Some(k) = knob(key) else {
            return Err(PolicyFileError::UnknownKey {
                file: file.into(),
                key: key.clone(),
                knobs: KNOBS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
            });
        };
        let v = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Boolean(b) => b.to_string(),
            other => other.to_string(),
        };
        if !(k.set)(&mut p, &v) {
            return Err(PolicyFileError::BadValue {
                file: file.into(),
                key: key.clone(),
                value: value.to_string(),
                valid: (k.values)().join(", "),
            });
        }
    }
    let about = string("about")?.unwrap_or_else(|| format!("{base_name} with knobs from {file}"));
    p.name = Box::leak(name.into_boxed_str());
    p.about = Box::leak(about.into_boxed_str());
    Ok(p)
}

/// Read `path` and add its policy to `registry` (the policy lives for the rest of the process).
pub fn add(registry: Registry, path: &Path) -> Result<Registry, crate::cli::CliError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyFileError::Read {
        file: file.clone(),
        msg: e.to_string(),
    })?;
    Ok(registry.with_policy_file(&file, &text)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptcheck_arch::policy::RemoveTableOne;

    #[test]
    fn a_file_sets_knobs_over_its_base() {
        let r = Registry::builtin();
        let p = parse(
            "my.toml",
            "name = \"my-arm64\"\nbase = \"arm64\"\nremove_table_one = \"synchronize-rcu\"\nhash_mmu = false\n",
            &r,
        )
        .expect("parses");
        let arm64 = r.policy("arm64").expect("arm64");
        assert_eq!(p.name, "my-arm64");
        assert_eq!(p.remove_table_one, RemoveTableOne::SynchronizeRcu);
        assert_eq!(
            ArchPolicy {
                name: arm64.name,
                about: arm64.about,
                remove_table_one: arm64.remove_table_one,
                ..p
            },
            *arm64
        );
    }

    #[test]
    fn bad_files_say_what_is_valid() {
        let r = Registry::builtin();
        let err = |t: &str| parse("f.toml", t, &r).unwrap_err().to_string();
        let e = err("name = \"a\"\nbase = \"arm64\"\ntlb_flsh = \"x\"\n");
        assert!(
            e.contains("unknown key `tlb_flsh`") && e.contains("tlb_flush"),
            "{e}"
        );
        let e = err("name = \"a\"\nbase = \"arm64\"\ntlb_flush = \"ipi\"\n");
        assert!(
            e.contains("not a value of tlb_flush") && e.contains("ipi-shootdown, broadcast-tlbi"),
            "{e}"
        );
        let e = err("name = \"a\"\nbase = \"arm65\"\n");
        assert!(e.contains("base `arm65`") && e.contains("arm64"), "{e}");
        assert!(err("base = \"arm64\"\n").contains("`name` is missing"));
        assert!(err("name = \n").contains("not TOML"));
        let e = err("name = \"a\"\nbase = \"arm64\"\nhash_mmu = 3\n");
        assert!(e.contains("true, false"), "{e}");
    }
}
