//! Ctrl-C, SIGTERM and SIGHUP during a run: the first asks the run to stop at the next safe point
//! (`spikeflux train`: after the current batch, then it writes a checkpoint), the second ends
//! the program at once (status 130).

use std::sync::atomic::{AtomicUsize, Ordering};

static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// The exit status after an interruption (128 + SIGINT).
pub const STATUS: i32 = 130;

/// Installs the handler; `what` tells the user what the first signal will do.
pub fn install(what: &'static str) {
    let r = ctrlc::set_handler(move || {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
            note!("interrupted: {what} (interrupt again to quit at once)");
        } else {
            std::process::exit(STATUS);
        }
    });
    if let Err(e) = r {
        note!("warning: no interrupt handler ({e}); an interrupt ends the run at once");
    }
}

/// Whether an interrupt has been received.
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}
