//! Seeded random numbers. Every generator in spikeflux derives from the run's seed and a fixed
//! stream tag, so results never depend on thread scheduling.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// The generator used throughout: ChaCha8, seeded per (run seed, purpose).
pub type SfRng = ChaCha8Rng;

/// Stream tags that keep the purposes of randomness apart.
pub mod stream {
    /// Weight initialization (add the connection index).
    pub const INIT: u64 = 0x1000;
    /// Mini-batch shuffling (add the epoch).
    pub const SHUFFLE: u64 = 0x2000_0000;
    /// Data generation (Randman).
    pub const DATA: u64 = 0x3000_0000_0000;
    /// Validation split.
    pub const SPLIT: u64 = 0x4000_0000_0000;
    /// Event transforms (add the split's number << 32 and the sample's index).
    pub const TRANSFORM: u64 = 0x5000_0000_0000;
    /// A simulated sensor's noise and jitter (add the split's number << 32 and the image's index).
    pub const SENSOR: u64 = 0x6000_0000_0000;
}

/// A generator for `(seed, tag)`: SplitMix64 mixes the pair into a 64-bit ChaCha seed.
pub fn rng_for(seed: u64, tag: u64) -> SfRng {
    let mut z = seed ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ChaCha8Rng::seed_from_u64(z)
}

/// A uniform draw in `[0, 1)`.
#[inline]
pub fn uniform(rng: &mut SfRng) -> f64 {
    rng.random::<f64>()
}

/// A standard normal draw.
#[inline]
pub fn normal(rng: &mut SfRng) -> f64 {
    StandardNormal.sample(rng)
}

/// Fisher–Yates shuffle of `v` with `rng`.
pub fn shuffle<T>(v: &mut [T], rng: &mut SfRng) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}
