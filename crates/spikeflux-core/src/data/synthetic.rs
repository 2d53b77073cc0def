//! A synthetic spike data set with the size and statistics of SHD (700 channels, 20 classes,
//! ~8 000 spikes per sample over ~0.8 s), for tests, benchmarks and trying configs without the real
//! files. Not a substitute for SHD's accuracy numbers.
//!
//! Each class k has three "formant" tracks whose channel drifts linearly in time
//! (`c_j(t) = a_{kj} + b_{kj}·t`, class-specific); a sample jitters the tracks (±15 channels, ±30 ms,
//! duration 0.6–1.0 s), fires Poisson spikes at 50 Hz within ±20 channels of each track, and adds
//! background Poisson spikes at `background_hz`. Times are rounded to float16 precision as in SHD.

use crate::data::shd::ShdFile;
use crate::rng::{normal, rng_for, stream, uniform};

/// Parameters of the synthetic set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntheticShd {
    /// Samples.
    pub samples: usize,
    /// Classes.
    pub classes: usize,
    /// Channels.
    pub channels: usize,
    /// Background rate per channel in Hz.
    pub background_hz: f64,
    /// Seed.
    pub seed: u64,
}

impl Default for SyntheticShd {
    fn default() -> Self {
        SyntheticShd { samples: 256, classes: 20, channels: 700, background_hz: 5.0, seed: 0 }
    }
}

impl SyntheticShd {
    /// Generates the samples as an SHD-layout file's contents.
    pub fn generate(&self) -> ShdFile {
        let mut crng = rng_for(self.seed, stream::DATA + 7);
        let ch = self.channels as f64;
        let tracks: Vec<[(f64, f64); 3]> = (0..self.classes)
            .map(|_| std::array::from_fn(|_| (uniform(&mut crng) * ch, (uniform(&mut crng) - 0.5) * ch * 0.8)))
            .collect();
        let mut times = Vec::with_capacity(self.samples);
        let mut units = Vec::with_capacity(self.samples);
        let mut labels = Vec::with_capacity(self.samples);
        let mut speakers = Vec::with_capacity(self.samples);
        let mut rng = rng_for(self.seed, stream::DATA + 8);
        let dt = 1e-3;
        for i in 0..self.samples {
            let k = i % self.classes;
            let dur = 0.6 + 0.4 * uniform(&mut rng);
            let shift = 15.0 * normal(&mut rng);
            let lag = 0.03 * normal(&mut rng);
            let mut ev: Vec<(f32, u32)> = Vec::new();
            let steps = (dur / dt) as usize;
            for s in 0..steps {
                let t = s as f64 * dt;
                // background
                let nb = self.background_hz * dt * ch;
                let mut m = nb;
                while uniform(&mut rng) < m.min(1.0) {
                    ev.push((t as f32, (uniform(&mut rng) * ch) as u32));
                    m -= 1.0;
                }
                for &(a, b) in &tracks[k] {
                    let c = a + b * ((t - lag) / 0.8) + shift;
                    let lo = (c - 20.0).max(0.0) as u32;
                    let hi = ((c + 20.0).min(ch - 1.0)).max(0.0) as u32;
                    for u in lo..=hi {
                        if uniform(&mut rng) < 50.0 * dt {
                            ev.push((t as f32, u));
                        }
                    }
                }
            }
            ev.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            times.push(ev.iter().map(|e| half::f16::from_f32(e.0 + (dt as f32) * 0.5).to_f32()).collect());
            units.push(ev.iter().map(|e| e.1).collect());
            labels.push(k as u32);
            speakers.push((uniform(&mut rng) * 10.0) as u32);
        }
        let keys = (0..self.classes).map(|k| format!("class{k}")).collect();
        ShdFile { times, units, labels, speakers: Some(speakers), keys: Some(keys), ..Default::default() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shd_sized() {
        let f = SyntheticShd { samples: 20, ..Default::default() }.generate();
        let spikes: Vec<usize> = f.times.iter().map(|t| t.len()).collect();
        let mean = spikes.iter().sum::<usize>() as f64 / spikes.len() as f64;
        assert!((5000.0..12000.0).contains(&mean), "mean spikes per sample {mean}");
        assert!(f.units.iter().flatten().all(|&u| u < 700));
        assert!(f.times.iter().all(|t| t.windows(2).all(|w| w[0] <= w[1])));
        assert_eq!(f.labels[..20].to_vec(), (0..20).collect::<Vec<u32>>());
    }
}
