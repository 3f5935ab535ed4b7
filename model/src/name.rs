//! How frames and entry values are named in traces and violations, formatted only when read.
//!
//! A trace records every step of every execution, and all but the failing ones are thrown
//! away: names and entry values are kept as small `Copy` values ([`FrameName`], [`Shown`])
//! and turned into text by their `Display` only when a counterexample is printed.

use crate::entry::{Entry, EntryFlags};
use crate::world::Level;
use std::fmt;

/// A frame's name: `PT#2`, `PMD#1` for a table (level and pool index), `page A` for a data
/// page (its order among the data pages), or a name the scenario gives that says whose it is
/// (`mm A: pgd`, `swapper_pg_dir`, `task B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameName {
    Table(Level, u16),
    Data(u8),
    Named(&'static str),
}

impl fmt::Display for FrameName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameName::Table(level, n) => write!(f, "{}#{n}", level.prefix()),
            FrameName::Data(i) => write!(f, "page {}", (b'A' + i) as char),
            FrameName::Named(n) => f.write_str(n),
        }
    }
}

/// An entry value as a reader sees it: `none`, `->PT#2`, `page A [W]`, `poison (freed)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    pub entry: Entry,
    /// The frame the entry points to, if it is in the pool.
    pub target: Option<FrameName>,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use EntryFlags as F;
        let e = self.entry;
        if e.is_none() {
            return f.write_str("none");
        }
        if e == Entry::POISON {
            return f.write_str("poison (freed)");
        }
        if e == Entry::DEPOSIT_LINK || e == Entry::DEPOSIT_LINK_LE {
            return f.write_str("list link (deposit)");
        }
        if e.is_table() {
            f.write_str("->")?;
        }
        match self.target {
            Some(t) => write!(f, "{t}")?,
            None => write!(f, "pfn {}", e.pfn().0)?,
        }
        let mut first = true;
        for (n, flag) in [
            ("W", F::WRITE),
            ("special", F::SPECIAL),
            ("splitting", F::SPLITTING),
            ("_PAGE_PTE", F::PAGE_PTE),
        ] {
            if e.flags().contains(flag) {
                f.write_str(if first { " [" } else { "," })?;
                f.write_str(n)?;
                first = false;
            }
        }
        if !e.is_present() {
            f.write_str(if first { " [" } else { "," })?;
            f.write_str("!present")?;
            first = false;
        }
        if !first {
            f.write_str("]")?;
        }
        Ok(())
    }
}
