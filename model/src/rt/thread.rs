//! Model threads: one per CPU beyond the first, one per pending RCU callback batch.

use super::{backend, Backend};

pub enum JoinHandle {
    Loom(loom::thread::JoinHandle<()>),
    Shuttle(shuttle::thread::JoinHandle<()>),
}

/// Spawn a model thread running `f`.
pub fn spawn(f: impl FnOnce() + Send + 'static) -> JoinHandle {
    match backend() {
        Backend::Loom => JoinHandle::Loom(loom::thread::spawn(f)),
        Backend::Shuttle => JoinHandle::Shuttle(shuttle::thread::spawn(f)),
    }
}

impl JoinHandle {
    /// Wait for the thread. A panic in it (a finding) has already ended the execution.
    pub fn join(self) {
        let r = match self {
            JoinHandle::Loom(h) => h.join(),
            JoinHandle::Shuttle(h) => h.join(),
        };
        if let Err(e) = r {
            std::panic::resume_unwind(e);
        }
    }
}
