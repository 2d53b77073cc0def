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
/// Set on the ranks of a data-parallel run other than rank 0: their messages would repeat its own.
static QUIET: AtomicBool = AtomicBool::new(false);
static RANK: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// Declares this process rank `rank` of a data-parallel run: all but rank 0 stay silent on
/// standard output and error except for errors ([`error()`]), which name the rank.
pub fn set_rank(rank: usize) {
    let _ = RANK.set(rank);
    QUIET.store(rank > 0, Ordering::Relaxed);
}

/// The exit status of a program whose standard output was closed by its reader.
pub const CLOSED_PIPE_STATUS: i32 = 141;

/// Writes one line on standard output (see the module doc).
pub fn say(args: std::fmt::Arguments) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) || QUIET.load(Ordering::Relaxed) {
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
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let _ = std::io::stderr().lock().write_fmt(format_args!("{args}\n"));
}

/// Writes an error on standard error, ignoring failures; on every rank of a data-parallel run,
/// prefixed with the rank.
pub fn error(args: std::fmt::Arguments) {
    let prefix = RANK.get().map_or(String::new(), |r| format!("rank {r}: "));
    let _ = std::io::stderr().lock().write_fmt(format_args!("{prefix}error: {args}\n"));
}

/// Whether a line for standard output found the pipe closed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}
