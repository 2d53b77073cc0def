//! Audio to SHD-like spikes: the inner-ear model behind the Spiking Heidelberg Digits, built from
//! the description in `cochlea.md` (lauscher 1.0.1's chain; its code is not used):
//!
//! ```text
//! mono audio ─► resample to 48 kHz ─► RMS 0.3 + full-clip Hann ─► basilar membrane (700 channels,
//!   transfer function on the half spectrum, inverse DFT per channel, output rate F = sr/2)
//!   ─► Meddis hair cell ─► 40 auditory-nerve fibres with 1 ms dead time ─► bushy-cell LIF ─► spikes
//! ```
//!
//! Channels run in parallel (rayon), each fused from the BM to its spikes with O(K) scratch, so memory
//! is bounded per channel. The only random stage (the fibres) draws from a ChaCha8 stream per
//! channel seeded from the caller's seed: results do not depend on the thread count.

pub mod anf;
pub mod audio;
pub mod bm;
pub mod bushy;
pub mod haircell;

use std::path::PathBuf;
use std::sync::Arc;

use num_complex::Complex64 as C64;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use rustfft::{Fft, FftPlanner};

pub use bm::Transfer;

/// Errors of the cochlea front-end.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An audio file that cannot be used, with the reason.
    #[error("{path}: {why}")]
    Audio {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// An all-zero clip: the RMS normalisation is undefined.
    #[error("the clip is silent (all samples 0); the model's RMS normalisation needs some signal")]
    Silent,
    /// The resampler refused the rates.
    #[error("resampling failed: {0}")]
    Resample(String),
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// The output of one clip: spikes as (sample index at rate `rate`, channel), sorted by sample then
/// channel, as `np.where` on lauscher's (time × channel) matrix gives them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spikes {
    /// Sample index n of each spike; its time is n / `rate` seconds.
    pub samples: Vec<u32>,
    /// Channel 0..699 of each spike (0 = base, highest frequency).
    pub units: Vec<u16>,
    /// Output sample rate F = floor(sr/2) (Hz).
    pub rate: f64,
    /// Clip length after the BM (samples at `rate`).
    pub len: usize,
    /// Total auditory-nerve-fibre spikes (all channels), for diagnostics.
    pub fibre_spikes: u64,
}

impl Spikes {
    /// Spike times in seconds.
    pub fn times(&self) -> impl Iterator<Item = f64> + '_ {
        self.samples.iter().map(move |&n| f64::from(n) / self.rate)
    }
}

/// One clip prepared for the per-channel stages: the normalised signal's half spectrum, the inverse
/// FFT of length K and V on the clip's grid.
pub struct Clip {
    spectrum: Vec<C64>,
    ifft: Arc<dyn Fft<f64>>,
    transfer: bm::ClipTransfer,
    /// Output rate F = floor(sr/2) (Hz).
    pub rate: usize,
    /// Samples after the BM: K = floor(N/2) + 1.
    pub len: usize,
}

impl Clip {
    /// Prepares an already normalised and windowed clip `x` sampled at `sr` Hz.
    pub fn new(x: &[f64], sr: u32, transfer: &Transfer) -> Self {
        let n = x.len();
        let len = n / 2 + 1;
        let rate = (sr / 2) as usize;
        let mut real = realfft::RealFftPlanner::<f64>::new();
        let fwd = real.plan_fft_forward(n);
        let mut input = x.to_vec();
        let mut spectrum = fwd.make_output_vec();
        // Lengths always match the plan, so this cannot fail.
        let _ = fwd.process(&mut input, &mut spectrum);
        let ifft = FftPlanner::<f64>::new().plan_fft_inverse(len);
        Self { spectrum, ifft, transfer: transfer.prepare(len, rate), rate, len }
    }

    /// Basilar-membrane output of channel `j`, `len` samples at `rate`:
    /// `y[n] = Re((1/K)·Σ_k V(ω_k, x_j)·X_k·e^{+2πikn/K})`. `buf` is scratch.
    pub fn basilar(&self, j: usize, buf: &mut Vec<C64>, out: &mut [f64]) {
        buf.resize(self.len, C64::default());
        self.transfer.fill(j, buf);
        for (b, x) in buf.iter_mut().zip(&self.spectrum) {
            *b *= x;
        }
        self.ifft.process(buf);
        let inv = 1.0 / self.len as f64;
        for (o, b) in out.iter_mut().zip(buf.iter()) {
            *o = b.re * inv;
        }
    }

    /// Hair-cell spike probability per sample of channel `j`.
    pub fn probability(&self, j: usize, buf: &mut Vec<C64>, out: &mut [f64]) {
        self.basilar(j, buf, out);
        haircell::run(out, self.rate as f64);
    }

    /// Runs all channels (in parallel) with fibre randomness from `seed`.
    pub fn spikes(&self, seed: u64) -> Spikes {
        let f = self.rate as f64;
        let per_channel: Vec<(Vec<u32>, u64)> = (0..bm::CHANNELS)
            .into_par_iter()
            .map_init(
                || (Vec::new(), vec![0.0; self.len], vec![0u32; self.len]),
                |(buf, p, counts), j| {
                    self.probability(j, buf, p);
                    channel_spikes(p, f, seed, j, counts)
                },
            )
            .collect();
        merge(&per_channel, f, self.len)
    }

    /// Hair-cell probabilities of all channels (700 × K), for running many seeds on one clip.
    pub fn probabilities(&self) -> Vec<Vec<f64>> {
        (0..bm::CHANNELS)
            .into_par_iter()
            .map_init(Vec::new, |buf, j| {
                let mut p = vec![0.0; self.len];
                self.probability(j, buf, &mut p);
                p
            })
            .collect()
    }
}

/// Fibres and bushy cell of channel `j` for probabilities `p` (rate `f` Hz): the cell's spike
/// samples and the fibre spike total. `counts` is scratch of `p.len()`.
pub fn channel_spikes(p: &[f64], f: f64, seed: u64, j: usize, counts: &mut [u32]) -> (Vec<u32>, u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(j as u64);
    anf::sample(p, anf::window(f), &mut rng, counts);
    let total = counts.iter().map(|&c| u64::from(c)).sum();
    let mut out = Vec::new();
    bushy::run(counts, f, &mut out);
    (out, total)
}

/// The spikes of all channels from precomputed probabilities (see [`Clip::probabilities`]).
pub fn spikes_from_probabilities(p: &[Vec<f64>], f: f64, seed: u64) -> Spikes {
    let len = p.first().map_or(0, Vec::len);
    let per_channel: Vec<(Vec<u32>, u64)> = p
        .par_iter()
        .enumerate()
        .map_init(|| vec![0u32; len], |counts, (j, pj)| channel_spikes(pj, f, seed, j, counts))
        .collect();
    merge(&per_channel, f, len)
}

fn merge(per_channel: &[(Vec<u32>, u64)], rate: f64, len: usize) -> Spikes {
    let mut pairs: Vec<(u32, u16)> = Vec::with_capacity(per_channel.iter().map(|c| c.0.len()).sum());
    let mut fibre_spikes = 0;
    for (j, (s, t)) in per_channel.iter().enumerate() {
        fibre_spikes += t;
        pairs.extend(s.iter().map(|&n| (n, j as u16)));
    }
    pairs.sort_unstable();
    let (samples, units) = pairs.into_iter().unzip();
    Spikes { samples, units, rate, len, fibre_spikes }
}

/// The whole chain for one clip of raw samples at `sr` Hz: resampled to 48 kHz when `sr` differs,
/// normalised, windowed, and run through all stages.
///
/// # Errors
/// [`Error::Silent`] for an all-zero clip, [`Error::Resample`] if resampling fails.
pub fn audio_to_spikes(a: &audio::Audio, transfer: &Transfer, seed: u64) -> Result<Spikes> {
    let mut x = audio::resample(a, audio::MODEL_RATE)?;
    audio::normalize(&mut x)?;
    Ok(Clip::new(&x, audio::MODEL_RATE, transfer).spikes(seed))
}

/// Seed of file number `index` in a conversion seeded with `seed` (SplitMix64 of both), so each file
/// gets its own fibre noise and results do not depend on the order files are processed in.
pub fn file_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
