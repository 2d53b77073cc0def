//! The Randman generator (spec §5.3): classes are random smooth manifolds embedded in spike-time
//! space; each input unit fires exactly `n_spikes` times per sample and only timing carries the class.
//!
//! For class k and spike index i, a random manifold maps x ∈ [0,1)^D to one time per unit e:
//!
//! ```text
//! y_e(x) = Π_d Σ_{j=0}^{F−1} θ[e,d,0,j]·s_j·sin(2π(j·x_d·θ[e,d,1,j] + θ[e,d,2,j])),   s_j = 1/((j+1)^α + 1)
//! ```
//!
//! with `θ ~ U[0,1)` (`θ[e,d,0,0] = 0`) and F = min(⌈1e-3^(−1/α)⌉, 1000); y is min–max normalized per unit
//! over the class's samples. Times become steps `int(T·(step_frac·(1−offset)·y + offset))`. Our own
//! seeded generator replaces NumPy's and torch's, so samples match the reference in distribution,
//! not bit for bit.

use rayon::prelude::*;

use crate::data::SpikeDataset;
use crate::error::{ensure, Result};
use crate::rng::{rng_for, shuffle, stream, uniform};

/// Randman parameters (names as in stork's `make_tempo_randman`) and the split of the generated set;
/// a config's `[data.randman]` (every field but `offset_frac` required there).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandmanParams {
    /// Number of classes.
    pub n_classes: usize,
    /// Embedding dimension = number of input channels.
    pub n_units: usize,
    /// Steps per sample.
    pub n_steps: usize,
    /// Fraction of the steps the spikes occupy.
    pub step_frac: f64,
    /// Offset of the first possible spike as a fraction of the steps.
    #[serde(default)]
    pub offset_frac: f64,
    /// Manifold dimension D.
    pub dim_manifold: usize,
    /// Spikes per unit per sample.
    pub n_spikes: usize,
    /// Samples per class.
    pub samples_per_class: usize,
    /// Smoothness α of the spectrum.
    pub alpha: f64,
    /// Seed.
    pub seed: u64,
    /// Fractions of the generated samples for training, validation and test (in this order; each
    /// class is split alike).
    pub split: [f64; 3],
}

impl Default for RandmanParams {
    /// The paper's shallow experiment (notebook 01).
    fn default() -> Self {
        RandmanParams {
            n_classes: 10,
            n_units: 20,
            n_steps: 100,
            step_frac: 0.5,
            offset_frac: 0.0,
            dim_manifold: 1,
            n_spikes: 1,
            samples_per_class: 1000,
            alpha: 1.0,
            seed: 1,
            split: [0.8, 0.1, 0.1],
        }
    }
}

impl RandmanParams {
    /// Checks every field; errors name it (`n_classes`, `split`, …).
    pub fn validate(&self) -> Result<()> {
        for (f, v) in [
            ("n_classes", self.n_classes),
            ("n_units", self.n_units),
            ("n_steps", self.n_steps),
            ("dim_manifold", self.dim_manifold),
            ("n_spikes", self.n_spikes),
            ("samples_per_class", self.samples_per_class),
        ] {
            ensure!(v > 0, f, "must be at least 1");
        }
        ensure!(self.n_classes >= 2, "n_classes", "need at least 2 classes", self.n_classes);
        for (f, v) in [("n_classes", self.n_classes), ("n_units", self.n_units), ("n_steps", self.n_steps)] {
            ensure!(v <= 1 << 16, f, "at most 65536 (the data layer's limit for classes, channels and steps)", v);
        }

        ensure!(self.step_frac > 0.0 && self.step_frac <= 1.0, "step_frac", "must be in (0, 1]", self.step_frac);
        ensure!(self.offset_frac >= 0.0 && self.offset_frac < 1.0, "offset_frac", "must be in [0, 1)", self.offset_frac);
        ensure!(self.alpha.is_finite() && self.alpha > 0.0, "alpha", "must be positive", self.alpha);
        let s = self.split;
        ensure!(
            s.iter().all(|&x| x >= 0.0) && s.iter().sum::<f64>() > 0.0 && s[0] > 0.0 && s[2] > 0.0,
            "split",
            "three non-negative fractions (train, valid, test) with train and test > 0"
        );
        Ok(())
    }

    /// What [`generate`] will allocate and compute, before it does: `(bytes, sine evaluations)`.
    /// The bytes count the spike list of every sample (8 bytes per spike while generated) and the
    /// per-class random draws; the sines are `n_classes · n_spikes · n_units · samples · D · F`.
    pub fn work(&self) -> (f64, f64) {
        let spikes = self.n_classes as f64 * self.samples_per_class as f64 * self.n_units as f64 * self.n_spikes as f64;
        // in f64: the counts are not yet known to be small (this is what decides whether they are)
        let d = self.dim_manifold as f64;
        let draws = self.samples_per_class as f64 * d + self.n_units as f64 * d * 3.0 * self.n_terms() as f64;
        let bytes = 12.0 * spikes + 8.0 * draws * self.n_classes.min(64) as f64;
        let sines = spikes * self.dim_manifold as f64 * self.n_terms() as f64;
        (bytes, sines)
    }

    /// Number of Fourier terms F.
    pub fn n_terms(&self) -> usize {
        (1e-3f64.powf(-1.0 / self.alpha).ceil()).min(1000.0) as usize
    }
}

/// Generates the whole data set, shuffled, with `dt` recorded for rate computations.
pub fn generate(p: &RandmanParams, dt: f64) -> Result<SpikeDataset> {
    p.validate()?;
    let f = p.n_terms();
    let spectrum: Vec<f64> = (0..f).map(|j| 1.0 / ((j as f64 + 1.0).powf(p.alpha) + 1.0)).collect();
    let two_pi = 2.0 * std::f64::consts::PI;
    // per class: spike times [n_spikes][samples][units]
    let per_class: Vec<Vec<Vec<(u32, u32)>>> = (0..p.n_classes)
        .into_par_iter()
        .map(|k| {
            let mut rng = rng_for(p.seed, stream::DATA + k as u64);
            let xs: Vec<f64> = (0..p.samples_per_class * p.dim_manifold).map(|_| uniform(&mut rng)).collect();
            let mut samples = vec![Vec::with_capacity(p.n_units * p.n_spikes); p.samples_per_class];
            let mut y = vec![0.0f64; p.samples_per_class];
            for _ in 0..p.n_spikes {
                // θ[e][d][3][F]
                let theta: Vec<f64> = (0..p.n_units * p.dim_manifold * 3 * f).map(|_| uniform(&mut rng)).collect();
                for e in 0..p.n_units {
                    for (s, ys) in y.iter_mut().enumerate() {
                        let mut prod = 1.0;
                        for d in 0..p.dim_manifold {
                            let base = ((e * p.dim_manifold + d) * 3) * f;
                            let (amp, freq, phase) =
                                (&theta[base..base + f], &theta[base + f..base + 2 * f], &theta[base + 2 * f..base + 3 * f]);
                            let x = xs[s * p.dim_manifold + d];
                            let mut acc = 0.0;
                            for j in 1..f {
                                acc += amp[j] * spectrum[j] * (two_pi * (j as f64 * x * freq[j] + phase[j])).sin();
                            }
                            prod *= acc;
                        }
                        *ys = prod;
                    }
                    let lo = y.iter().cloned().fold(f64::INFINITY, f64::min);
                    let hi = y.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    for (s, &ys) in y.iter().enumerate() {
                        let t = (ys - lo) / (hi - lo + 1e-7);
                        let step = (p.n_steps as f64 * (p.step_frac * (1.0 - p.offset_frac) * t + p.offset_frac)) as u32;
                        samples[s].push((step.min(p.n_steps as u32 - 1), e as u32));
                    }
                }
            }
            samples
        })
        .collect();
    let mut all: Vec<(Vec<(u32, u32)>, usize)> = Vec::with_capacity(p.n_classes * p.samples_per_class);
    for (k, cls) in per_class.into_iter().enumerate() {
        all.extend(cls.into_iter().map(|s| (s, k)));
    }
    shuffle(&mut all, &mut rng_for(p.seed, stream::DATA - 1));
    let (samples, labels): (Vec<_>, Vec<_>) = all.into_iter().unzip();
    SpikeDataset::from_samples(p.n_units, p.n_classes, p.n_steps, dt, samples, labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_fires_once_in_the_first_half() {
        let p = RandmanParams { samples_per_class: 50, ..Default::default() };
        assert_eq!(p.n_terms(), 1000);
        assert_eq!(RandmanParams { alpha: 2.0, ..p }.n_terms(), 32);
        let ds = generate(&p, 2e-3).unwrap();
        assert_eq!(ds.len(), 500);
        for i in 0..ds.len() {
            let ev: Vec<(u32, u32)> = ds.events(i).collect();
            assert_eq!(ev.len(), 20);
            let mut units: Vec<u32> = ev.iter().map(|e| e.1).collect();
            units.sort();
            assert_eq!(units, (0..20).collect::<Vec<_>>());
            assert!(ev.iter().all(|e| e.0 < 50));
        }
        // min–max normalization puts each unit's earliest spike at step 0 and latest at step 49
        let zero = (0..ds.len()).flat_map(|i| ds.events(i)).filter(|e| e.0 == 0).count();
        assert!(zero >= 20);
        // ν = 1 spike per 0.2 s = 5 Hz
        assert!((ds.mean_rate_hz() - 5.0).abs() < 1e-9);
        // seeded: same seed, same data; other seed, other data
        assert_eq!(ds, generate(&p, 2e-3).unwrap());
        assert_ne!(ds, generate(&RandmanParams { seed: 2, ..p }, 2e-3).unwrap());
        // classes are balanced and shuffled
        let mut counts = [0; 10];
        for &l in &ds.labels {
            counts[l] += 1;
        }
        assert!(counts.iter().all(|&c| c == 50));
        assert!(ds.labels[..50].iter().any(|&l| l != ds.labels[0]));
    }
}
