//! The crate's own `ptcheck`: every command of the project's, on its registry.

fn main() -> std::process::ExitCode {
    match ptcheck_example::registry() {
        Ok(r) => ptcheck::cli::main_with(r),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
