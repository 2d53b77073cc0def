//! Printing that never stops the program: a closed standard output or error (`spikeflux data info
//! F.h5 | head -1`, a terminal that went away) must not panic or cost a run its files.
//!
//! Lines for standard output go through [`say()`]: on a closed pipe the rest of the output is
//! dropped, the command carries on (it may still have files to write), and the program then ends
//! with status 141, what a shell reports for a program whose output pipe was closed (128 + SIGPIPE).
//! Messages for standard error go through [`note()`], which ignores write failures.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// The exit status of a program whose standard output was closed by its reader.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Writes one line on standard output (see the module doc).
pub fn say(args: std::fmt::Arguments) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(format_args!("{args}\n")).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
        }
    }
}

/// Writes one line on standard error, ignoring failures.
pub fn note(args: std::fmt::Arguments) {
    let _ = std::io::stderr().lock().write_fmt(format_args!("{args}\n"));
}

/// Whether a line for standard output found the pipe closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}
