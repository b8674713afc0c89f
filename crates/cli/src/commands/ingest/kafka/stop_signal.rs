//! A clean stop on Ctrl-C (SIGINT) or SIGTERM: the consumer loop sees the request, stores
//! and commits what it holds, and leaves its group. A second signal ends the process at once
//! (the handler resets itself), which is still safe: nothing uncommitted was promised.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether a stop was asked for, once [`install`] has run.
#[derive(Clone, Copy)]
pub struct StopSignal(());

impl StopSignal {
    /// Whether SIGINT or SIGTERM has arrived.
    pub fn requested(self) -> bool {
        STOP_REQUESTED.load(Ordering::SeqCst)
    }
}

#[cfg(unix)]
extern "C" fn request_stop(_signal: libc::c_int) {
    // Only an atomic store: the one thing a signal handler may safely do here.
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// Routes SIGINT and SIGTERM to a stop request.
#[cfg(unix)]
pub fn install() -> std::io::Result<StopSignal> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: an all-zero `sigaction` is a valid value (empty mask, no flags), and every
        // field that matters is set below.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = request_stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // Restart interrupted reads; the second signal gets the default action (exit).
        action.sa_flags = libc::SA_RESTART | libc::SA_RESETHAND;
        // SAFETY: `action` is initialised and lives across the call; the handler only
        // stores to an atomic, which is async-signal-safe.
        if unsafe { libc::sigaction(signal, &action, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(StopSignal(()))
}

/// Without Unix signals, Ctrl-C ends the process; committed offsets still never run ahead
/// of the store.
#[cfg(not(unix))]
pub fn install() -> std::io::Result<StopSignal> {
    Ok(StopSignal(()))
}
