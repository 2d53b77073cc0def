//! `spikeflux audio2spikes`: recordings to one spike file in the SHD layout through the cochlea.

use std::path::PathBuf;

use anyhow::Result;

use super::set_threads;
use crate::audio;

/// Arguments of `spikeflux audio2spikes` (as given; validated by the command).
#[derive(clap::Args)]
pub struct Audio2spikesArgs {
    /// Audio files or directories (searched recursively for .wav and .flac).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output HDF5 file.
    #[arg(long)]
    pub out: PathBuf,
    /// File-name pattern (stem): fields {label} (alias {digit}), {speaker}, {index}, {any}.
    #[arg(long, default_value = audio::DEFAULT_PATTERN)]
    pub pattern: String,
    /// Seed of the auditory-nerve-fibre noise (file i uses a seed derived from this and i).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Basilar-membrane transfer function: `exact` (evaluated per clip, matches lauscher to
    /// ~1e-12, ~3 CPU s per second of audio), `table` (interpolated from a 1-Hz table built once,
    /// ~2 s on 2 cores; error < 1e-3 of a channel's peak) or `auto` (exact for a single file).
    #[arg(long, default_value = "auto", value_parser = ["auto", "exact", "table"])]
    pub bm: String,
    /// Also write the statistics and throughput as JSON.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// Also write `spikes.png` (rasters of the first six files) into this directory.
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Stop with an error (exit 3) at the first file that cannot be read, instead of skipping it
    /// with a warning and converting the rest.
    #[arg(long)]
    pub strict: bool,
}

/// Runs `spikeflux audio2spikes`.
pub fn run(args: Audio2spikesArgs) -> Result<()> {
    let Audio2spikesArgs { inputs, out, pattern, seed, bm, stats, plots, threads, strict } = args;
    set_threads(threads)?;
    audio::run(&audio::Options { inputs, out, pattern, seed, bm, stats, plots, strict }).map(|_| ())
}
