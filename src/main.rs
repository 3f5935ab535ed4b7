//! `ptcheck`: check lockless page-table protocols under each architecture's way of flushing
//! TLBs and freeing page tables. The command line is [`ptcheck::cli`], on the project's
//! registry; a user's crate builds the same binary on its own ([`ptcheck::cli::main_with`]).

fn main() -> std::process::ExitCode {
    ptcheck::cli::main_with(ptcheck::registry::Registry::builtin())
}
