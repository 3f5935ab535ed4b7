//! The knobs of [`ArchPolicy`] by name: how `list` shows a policy and how a policy written as
//! data (`ptcheck check --policy-file my.toml`) sets one, with one spelling for both.
//!
//! A knob is named as its field (`remove_table_one`); its values are the enum variants in
//! kebab-case (`synchronize-rcu`), or `true` / `false`. [`KNOBS`] is the whole table: adding a
//! field to the policy type means adding one line here (a test checks every field is listed by
//! comparing against the `Debug` output).

use crate::policy::*;
use ptcheck_model::RcuFlavour;

/// A knob's value type: its variants and their names.
pub trait KnobValue: Copy + PartialEq + 'static {
    /// Every value with its kebab-case name, in declaration order.
    const VALUES: &'static [(&'static str, Self)];

    /// The value's name.
    fn knob_name(self) -> &'static str {
        Self::VALUES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("?", |(n, _)| n)
    }

    /// The value named `name`.
    fn from_knob_name(name: &str) -> Option<Self> {
        Self::VALUES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

macro_rules! values {
    ($t:ty { $($name:literal => $v:expr),* $(,)? }) => {
        impl KnobValue for $t {
            const VALUES: &'static [(&'static str, Self)] = &[$(($name, $v)),*];
        }
    };
}

values!(bool { "true" => true, "false" => false });
values!(TlbFlush { "ipi-shootdown" => TlbFlush::IpiShootdown, "broadcast-tlbi" => TlbFlush::BroadcastTlbi });
values!(TableFree { "after-flush" => TableFree::AfterFlush, "rcu-batched" => TableFree::RcuBatched });
values!(RemoveTableOne {
    "ipi-sync" => RemoveTableOne::IpiSync,
    "synchronize-rcu" => RemoveTableOne::SynchronizeRcu,
});
values!(RcuFlavour {
    "consolidated" => RcuFlavour::Consolidated,
    "sched" => RcuFlavour::Sched,
    "preemptible" => RcuFlavour::Preemptible,
});
values!(PtepGetAndClear {
    "xchg" => PtepGetAndClear::Xchg,
    "xchg-relaxed" => PtepGetAndClear::XchgRelaxed,
    "read-then-clear" => PtepGetAndClear::ReadThenClear,
});
values!(PmdSerialize {
    "serialize-pte-lookup" => PmdSerialize::SerializePteLookup,
    "flush-only" => PmdSerialize::FlushOnly,
});
values!(SplittingFlush {
    "generic" => SplittingFlush::Generic,
    "dummy-ipi" => SplittingFlush::DummyIpi,
    "serialize-pte-lookup" => SplittingFlush::SerializePteLookup,
});
values!(Deposit {
    "struct-page" => Deposit::StructPage,
    "pmd-page-slot" => Deposit::PmdPageSlot,
    "list-in-table" => Deposit::ListInTable,
    "list-in-table-big-endian" => Deposit::ListInTableBigEndian,
});
values!(PteFragments {
    "whole-page" => PteFragments::WholePage,
    "powerpc" => PteFragments::Powerpc,
    "s390-halves" => PteFragments::S390Halves,
});
values!(KernelPgdSync {
    "not-applicable" => KernelPgdSync::NotApplicable,
    "top-level" => KernelPgdSync::TopLevel,
    "private-kernel-pmd" => KernelPgdSync::PrivateKernelPmd,
});

/// One knob: its name, its values, and how to read and set it on a policy.
#[derive(Clone, Copy)]
pub struct Knob {
    /// The field's name (`remove_table_one`).
    pub name: &'static str,
    /// Every value's name.
    pub values: fn() -> Vec<&'static str>,
    /// The policy's value, by name.
    pub get: fn(&ArchPolicy) -> &'static str,
    /// Set the value named; `false` if no value has that name.
    pub set: fn(&mut ArchPolicy, &str) -> bool,
}

impl std::fmt::Debug for Knob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

macro_rules! knobs {
    ($($field:ident: $t:ty),* $(,)?) => {
        /// Every knob of [`ArchPolicy`], in field order.
        pub const KNOBS: &[Knob] = &[$(Knob {
            name: stringify!($field),
            values: || <$t as KnobValue>::VALUES.iter().map(|(n, _)| *n).collect(),
            get: |p| p.$field.knob_name(),
            set: |p, v| match <$t as KnobValue>::from_knob_name(v) {
                Some(x) => {
                    p.$field = x;
                    true
                }
                None => false,
            },
        }),*];
    };
}

knobs!(
    tlb_flush: TlbFlush,
    table_free: TableFree,
    remove_table_one: RemoveTableOne,
    table_rcu: RcuFlavour,
    table_invalidate: bool,
    ptep_get_and_clear: PtepGetAndClear,
    pmd_get_and_clear: PmdSerialize,
    pmd_invalidate: PmdSerialize,
    pmd_collapse_flush: PmdSerialize,
    splitting_flush: SplittingFlush,
    deposit: Deposit,
    rcu_table_free_config: bool,
    hash_mmu: bool,
    pte_fragments: PteFragments,
    pmd_halves: bool,
    kernel_pgd_sync: KernelPgdSync,
);

/// The knob named `name`.
pub fn knob(name: &str) -> Option<&'static Knob> {
    KNOBS.iter().find(|k| k.name == name)
}

/// Every knob of `p` with its value's name, in field order.
pub fn describe(p: &ArchPolicy) -> Vec<(&'static str, &'static str)> {
    KNOBS.iter().map(|k| (k.name, (k.get)(p))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field of the policy other than its name and about line is a knob here, so `list`
    /// and policy files can spell all of them.
    #[test]
    fn every_policy_field_is_a_knob() {
        let bare = ArchPolicy {
            name: "",
            about: "",
            ..crate::x86::X86
        };
        let debug = format!("{bare:?}");
        let fields: Vec<&str> = debug
            .split(['{', ',', '}'])
            .filter_map(|f| f.split(':').next())
            .map(str::trim)
            .filter(|f| !f.is_empty() && !f.starts_with("ArchPolicy") && !f.contains(' '))
            .filter(|f| *f != "name" && *f != "about")
            .collect();
        let names: Vec<&str> = KNOBS.iter().map(|k| k.name).collect();
        assert_eq!(fields, names);
    }

    #[test]
    fn each_value_round_trips_through_its_name_on_every_policy() {
        for p in crate::ALL {
            let mut q = *p;
            for k in KNOBS {
                for v in (k.values)() {
                    assert!((k.set)(&mut q, v), "{}: {v}", k.name);
                    assert_eq!((k.get)(&q), v);
                }
                assert!(!(k.set)(&mut q, "no-such-value"));
                assert!((k.set)(&mut q, (k.get)(p)));
            }
            assert_eq!(&q, p);
        }
        assert_eq!(
            knob("tlb_flush").map(|k| (k.get)(&crate::x86::X86)),
            Some("ipi-shootdown")
        );
    }
}
