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
    /// Highest best frequency of the channels (Hz): channel 0 moves to the basilar-membrane place
    /// that resonates there, the apex stays, so that recordings with less bandwidth than 22 kHz use
    /// all 700 channels (`auto`: half the first file's sample rate, e.g. 4000 for FSDD). Not SHD's
    /// layout of channels; without it the channels are SHD's.
    #[arg(long)]
    pub top_hz: Option<String>,
    /// Hann ramps of this many milliseconds at each end of a clip instead of SHD's window over the
    /// whole clip (which attenuates speech near the ends of tightly trimmed recordings).
    #[arg(long)]
    pub ramp_ms: Option<f64>,
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
    let Audio2spikesArgs { inputs, out, pattern, seed, bm, top_hz, ramp_ms, stats, plots, threads, strict } = args;
    if let Some(r) = ramp_ms {
        if !(0.0..=10_000.0).contains(&r) {
            return Err(spikeflux_core::Error::config_found("--ramp-ms", "from 0 to 10000 ms", r).into());
        }
    }
    set_threads(threads)?;
    let top_hz = match top_hz.as_deref() {
        None => None,
        Some("auto") => Some(audio::TopHz::Auto),
        Some(v) => match v.parse::<f64>() {
            Ok(f) if (100.0..=24_000.0).contains(&f) => Some(audio::TopHz::Hz(f)),
            _ => return Err(spikeflux_core::Error::config_found("--top-hz", "`auto` or a frequency from 100 to 24000 Hz", v).into()),
        },
    };
    audio::run(&audio::Options { inputs, out, pattern, seed, bm, top_hz, ramp_s: ramp_ms.map(|r| r * 1e-3), stats, plots, strict }).map(|_| ())
}
