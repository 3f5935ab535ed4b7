//! The crate's gate: every cell of its registry under loom (with snapshots) and PCT, against
//! its own `expected.matrix`.

use ptcheck::gate::{self, Gate};

fn main() {
    let r = ptcheck_example::registry().expect("the registry builds");
    gate::main(r.leak(), &[Gate::Loom, Gate::Pct]);
}
