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
    /// `y[n] = Re((1/K)·Σ_k V(ω_k, x_j)·X_k·e^{+2πikn/K})`. `s` is reusable scratch.
    pub fn basilar(&self, j: usize, s: &mut Scratch, out: &mut [f64]) {
        s.buf.resize(self.len, C64::default());
        s.fft.resize(self.ifft.get_inplace_scratch_len(), C64::default());
        self.transfer.fill(j, &mut s.buf);
        for (b, x) in s.buf.iter_mut().zip(&self.spectrum) {
            *b *= x;
        }
        self.ifft.process_with_scratch(&mut s.buf, &mut s.fft);
        let inv = 1.0 / self.len as f64;
        for (o, b) in out.iter_mut().zip(s.buf.iter()) {
            *o = b.re * inv;
        }
    }

    /// Basilar-membrane output of two channels with one inverse FFT: with `A`, `B` the two channels'
    /// spectra `V·X`, `Re(IFFT(A)) = IFFT(H_A)` for the Hermitian part `H_A[k] = (A[k] +
    /// conj(A[−k]))/2`, whose transform is real; so `IFFT(H_A + i·H_B)` holds channel `j[0]` in its
    /// real and `j[1]` in its imaginary part. Equal to two [`Clip::basilar`] calls up to rounding.
    pub fn basilar_pair(&self, j: [usize; 2], s: &mut Scratch, out: [&mut [f64]; 2]) {
        let k = self.len;
        s.buf.resize(k, C64::default());
        s.buf2.resize(k, C64::default());
        s.fft.resize(self.ifft.get_inplace_scratch_len(), C64::default());
        self.transfer.fill(j[0], &mut s.buf);
        self.transfer.fill(j[1], &mut s.buf2);
        for ((a, b), x) in s.buf.iter_mut().zip(s.buf2.iter_mut()).zip(&self.spectrum) {
            *a *= x;
            *b *= x;
        }
        // z[n] = H_A[n] + i·H_B[n], built in place of buf from the old values of buf and buf2
        let (a, b) = (&mut s.buf, &s.buf2);
        // n and its mirror m = −n mod K are handled together; each index is written once, after
        // both old values were read
        for n in 0..=k / 2 {
            let m = (k - n) % k;
            let (an, am, bn, bm) = (a[n], a[m], b[n], b[m]);
            let ha_n = (an + am.conj()) * 0.5;
            let hb_n = (bn + bm.conj()) * 0.5;
            a[n] = ha_n + C64::i() * hb_n;
            if m != n {
                // H_A[m] = conj(H_A[n]), H_B[m] = conj(H_B[n])
                a[m] = ha_n.conj() + C64::i() * hb_n.conj();
            }
        }
        self.ifft.process_with_scratch(a, &mut s.fft);
        let inv = 1.0 / k as f64;
        let [o0, o1] = out;
        for ((y0, y1), z) in o0.iter_mut().zip(o1.iter_mut()).zip(a.iter()) {
            *y0 = z.re * inv;
            *y1 = z.im * inv;
        }
    }

    /// Hair-cell spike probability per sample of channel `j`.
    pub fn probability(&self, j: usize, s: &mut Scratch, out: &mut [f64]) {
        self.basilar(j, s, out);
        haircell::run(out, self.rate as f64);
    }

    /// Runs all channels (in parallel) with fibre randomness from `seed`.
    pub fn spikes(&self, seed: u64) -> Spikes {
        spikes_batch(std::slice::from_ref(self), &[seed]).pop().unwrap_or_default()
    }

    /// Hair-cell probabilities of all channels (700 × K), for running many seeds on one clip;
    /// computed as in [`spikes_batch`] (channel pairs), so both give identical spikes.
    pub fn probabilities(&self) -> Vec<Vec<f64>> {
        let pairs: Vec<[Vec<f64>; 2]> = (0..bm::CHANNELS / 2)
            .into_par_iter()
            .map_init(Scratch::default, |s, g| {
                let (mut a, mut b) = (vec![0.0; self.len], vec![0.0; self.len]);
                self.basilar_pair([2 * g, 2 * g + 1], s, [&mut a, &mut b]);
                haircell::run(&mut a, self.rate as f64);
                haircell::run(&mut b, self.rate as f64);
                [a, b]
            })
            .collect();
        pairs.into_iter().flatten().collect()
    }
}

/// Per-thread scratch of the per-channel stages (grown to the longest clip, then reused).
#[derive(Default)]
pub struct Scratch {
    buf: Vec<C64>,
    buf2: Vec<C64>,
    fft: Vec<C64>,
}

/// One channel's results over a batch of clips: (spike samples, fibre spike total) per clip.
type ChannelRun = Vec<(Vec<u32>, u64)>;

/// Runs several clips at once, parallel over channels: each task takes one channel through all the
/// clips, so the channel's row of the BM table is read from cache rather than memory. `seeds[i]` is
/// the fibre seed of clip i. Results do not depend on the thread count or on how clips are batched.
pub fn spikes_batch(clips: &[Clip], seeds: &[u64]) -> Vec<Spikes> {
    assert_eq!(clips.len(), seeds.len(), "one seed per clip");
    const LANES: usize = 4;
    const _: () = assert!(bm::CHANNELS.is_multiple_of(LANES));
    let groups: Vec<Vec<ChannelRun>> = (0..bm::CHANNELS / LANES)
        .into_par_iter()
        .map_init(
            || (Scratch::default(), std::array::from_fn::<Vec<f64>, LANES, _>(|_| Vec::new())),
            |(s, p), g| {
                let j0 = g * LANES;
                let mut out: Vec<ChannelRun> = (0..LANES).map(|_| Vec::with_capacity(clips.len())).collect();
                for (c, &seed) in clips.iter().zip(seeds) {
                    p.iter_mut().for_each(|pl| pl.resize(c.len, 0.0));
                    let [p0, p1, p2, p3] = p.each_mut();
                    c.basilar_pair([j0, j0 + 1], s, [p0, p1]);
                    c.basilar_pair([j0 + 2, j0 + 3], s, [p2, p3]);
                    let f = c.rate as f64;
                    haircell::run_lanes(p.each_mut().map(|v| &mut v[..]), f);
                    for (o, r) in out.iter_mut().zip(channel_spikes_lanes(p.each_ref().map(|v| &v[..]), f, seed, j0)) {
                        o.push(r);
                    }
                }
                out
            },
        )
        .collect();
    let per_channel: Vec<ChannelRun> = groups.into_iter().flatten().collect();
    clips.iter().enumerate().map(|(i, c)| merge(per_channel.iter().map(|ch| &ch[i]), c.rate as f64, c.len)).collect()
}

fn channel_rng(seed: u64, j: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(j as u64);
    rng
}

/// Fibres and bushy cell of channel `j` for probabilities `p` (rate `f` Hz): the cell's spike
/// samples and the fibre spike total.
pub fn channel_spikes(p: &[f64], f: f64, seed: u64, j: usize) -> (Vec<u32>, u64) {
    let [r] = channel_spikes_lanes([p], f, seed, j);
    r
}

/// [`channel_spikes`] for `N` consecutive channels `j0..j0+N` of one clip at once (identical
/// results), interleaved so the independent per-sample recurrences overlap in the CPU pipeline.
fn channel_spikes_lanes<const N: usize>(p: [&[f64]; N], f: f64, seed: u64, j0: usize) -> [(Vec<u32>, u64); N] {
    let d = anf::window(f);
    let mut fib: [anf::Fibres<ChaCha8Rng>; N] = std::array::from_fn(|l| anf::Fibres::new(d, channel_rng(seed, j0 + l)));
    let mut cell: [bushy::Cell; N] = std::array::from_fn(|_| bushy::Cell::new(f));
    let mut out: [(Vec<u32>, u64); N] = std::array::from_fn(|_| (Vec::new(), 0));
    let len = p.iter().map(|x| x.len()).min().unwrap_or(0);
    for n in 0..len {
        for l in 0..N {
            let s = fib[l].step(p[l][n]);
            out[l].1 += u64::from(s);
            if let Some(k) = cell[l].step(s) {
                out[l].0.push(k);
            }
        }
    }
    out
}

/// The spikes of all channels from precomputed probabilities (see [`Clip::probabilities`]).
pub fn spikes_from_probabilities(p: &[Vec<f64>], f: f64, seed: u64) -> Spikes {
    let len = p.first().map_or(0, Vec::len);
    let per_channel: Vec<(Vec<u32>, u64)> = p
        .par_iter()
        .enumerate()
        .map(|(j, pj)| channel_spikes(pj, f, seed, j))
        .collect();
    merge(per_channel.iter(), f, len)
}

/// One clip's spikes from its per-channel results (in channel order), sorted by sample then channel.
fn merge<'a>(per_channel: impl Iterator<Item = &'a (Vec<u32>, u64)>, rate: f64, len: usize) -> Spikes {
    let mut pairs: Vec<(u32, u16)> = Vec::new();
    let mut fibre_spikes = 0;
    for (j, (s, t)) in per_channel.enumerate() {
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
    Ok(prepare(a, transfer)?.spikes(seed))
}

/// Resamples to 48 kHz, normalises, windows and prepares a clip for [`spikes_batch`].
///
/// # Errors
/// [`Error::Silent`] for an all-zero clip, [`Error::Resample`] if resampling fails.
pub fn prepare(a: &audio::Audio, transfer: &Transfer) -> Result<Clip> {
    prepare_with_ramp(a, transfer, None)
}

/// [`prepare`] with Hann ramps of `ramp_s` seconds at each end instead of the whole-clip window
/// (`None`: SHD's whole-clip window; see [`audio::normalize_with_ramp`]).
///
/// # Errors
/// As [`prepare`].
pub fn prepare_with_ramp(a: &audio::Audio, transfer: &Transfer, ramp_s: Option<f64>) -> Result<Clip> {
    let mut x = audio::resample(a, audio::MODEL_RATE)?;
    audio::normalize_with_ramp(&mut x, ramp_s.map(|r| (r * f64::from(audio::MODEL_RATE)).round() as usize))?;
    Ok(Clip::new(&x, audio::MODEL_RATE, transfer))
}

/// Seed of file number `index` in a conversion seeded with `seed` (SplitMix64 of both), so each file
/// gets its own fibre noise and results do not depend on the order files are processed in.
pub fn file_seed(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
