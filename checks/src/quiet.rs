//! Silence stderr around a shuttle run: shuttle prints `test panicked in task ...` for every
//! failing execution from inside its runtime (not from the panic hook we replace), which would
//! interleave with our tables. `PTCHECK_DEBUG_PANICS=1` keeps it.

/// Run `f` with file descriptor 2 pointed at /dev/null.
pub fn without_stderr<R>(f: impl FnOnce() -> R) -> R {
    if std::env::var_os("PTCHECK_DEBUG_PANICS").is_some() {
        return f();
    }
    // SAFETY: plain POSIX calls on descriptors we own; every path restores fd 2.
    unsafe {
        let saved = libc::dup(2);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY);
        if saved < 0 || null < 0 {
            if saved >= 0 {
                libc::close(saved);
            }
            if null >= 0 {
                libc::close(null);
            }
            return f();
        }
        libc::dup2(null, 2);
        libc::close(null);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        libc::dup2(saved, 2);
        libc::close(saved);
        match r {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    }
}
