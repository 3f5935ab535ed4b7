//! The CI gate under loom: every cell of the matrix at its scenario's bound (exhaustive where
//! the scenario says so), each found race's counterexample compared with its reviewed insta
//! snapshot in `snapshots/`, the necessity consistency of every scenario and the README's
//! necessity section ([`ptcheck::gate::loom_trials`]).

fn main() {
    ptcheck::gate::main(ptcheck::registry::builtin(), &[ptcheck::gate::Gate::Loom]);
}
