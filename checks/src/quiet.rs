//! Silence stderr around a shuttle run: shuttle prints `test panicked in task ...` for every
//! failing execution from inside its runtime (not from the panic hook we replace), which would
//! interleave with our tables. `PTCHECK_DEBUG_PANICS=1` keeps it.
//!
//! File descriptor 2 belongs to the process, and the gate runs cells on several threads: the
//! first run to start points it at /dev/null and the last one to finish restores it (a count
//! under a lock), so two overlapping runs never restore each other's /dev/null.

use std::sync::Mutex;

/// How many runs are silenced now, and the saved descriptor of the real stderr.
static SILENCED: Mutex<(usize, i32)> = Mutex::new((0, -1));

fn enter() -> bool {
    let mut g = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
    if g.0 == 0 {
        // SAFETY: plain POSIX calls on descriptors we own; `leave` restores fd 2.
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
                return false;
            }
            libc::dup2(null, 2);
            libc::close(null);
            g.1 = saved;
        }
    }
    g.0 += 1;
    true
}

fn leave() {
    let mut g = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
    g.0 -= 1;
    if g.0 == 0 {
        // SAFETY: `g.1` is the descriptor `enter` saved.
        unsafe {
            libc::dup2(g.1, 2);
            libc::close(g.1);
        }
        g.1 = -1;
    }
}

/// Run `f` with file descriptor 2 pointed at /dev/null.
pub fn without_stderr<R>(f: impl FnOnce() -> R) -> R {
    if std::env::var_os("PTCHECK_DEBUG_PANICS").is_some() || !enter() {
        return f();
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    leave();
    match r {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}
