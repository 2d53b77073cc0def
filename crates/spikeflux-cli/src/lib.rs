//! The modules behind the `spikeflux` command-line tool, built as a library so that the fuzz
//! targets (`fuzz/`) and tests reach the same config parser and readers the tool runs. Not a stable
//! API: the supported interfaces are the command line and `spikeflux-core`.
//!
//! [`commands`] holds one module per subcommand; [`config`] turns TOML into validated core types;
//! [`plots`] draws the figures; [`audio`], [`fetch`] and [`grid`] do the work behind audio2spikes,
//! data fetch and sweep; [`run_dir`], [`interrupt`] and [`io`] keep run directories intact through
//! kills, Ctrl-C and closed pipes.

/// A line on standard output that survives a closed pipe ([`io::say`]).
macro_rules! say {
    ($($t:tt)*) => { $crate::io::say(format_args!($($t)*)) };
}

/// A line on standard error that never fails ([`io::note`]).
macro_rules! note {
    ($($t:tt)*) => { $crate::io::note(format_args!($($t)*)) };
}

pub mod audio;
pub mod commands;
pub mod config;
pub mod fetch;
pub mod grid;
pub mod interrupt;
pub mod io;
pub mod parallel;
pub mod plots;
pub mod run_dir;
