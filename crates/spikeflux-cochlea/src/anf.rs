//! Auditory-nerve fibres (`cochlea.md` §1.6): `FIBRES` independent fibres per channel, each a
//! `Bernoulli(p[n])` draw per sample with a dead time of τ_ref = 1 ms (a candidate at n is kept iff
//! n − last ≥ R = τ_ref·F). Only the per-sample count reaches the bushy cell, so we use the spec's
//! equivalent sampler, exact in distribution: fibres are exchangeable and each holds at most one
//! kept spike in any D = ceil(R)-sample window, so `S[n] ~ Binomial(FIBRES − busy[n], p[n])` with
//! `busy[n]` the spikes of the previous D − 1 samples. One uniform per sample, inverse-CDF.
//!
//! This does not reproduce lauscher's random stream (numpy's legacy MT19937); it reproduces its
//! statistics (tested over seeds against the reference's 20-seed table).

/// Fibres converging on one bushy cell.
pub const FIBRES: u32 = 40;
/// Fibre dead time (s).
pub const TAU_REF: f64 = 1e-3;

/// Samples of dead time after a kept spike, plus one: D = ceil(τ_ref·F).
pub fn window(f_out: f64) -> usize {
    (TAU_REF * f_out).ceil() as usize
}

/// One Binomial(n, p) draw by inverse CDF from a single uniform (mean n·p ≈ 0.1 steps here).
#[inline]
pub fn binomial(n: u32, p: f64, u: f64) -> u32 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    // P(0) = (1−p)^n ≥ 1 − n·p (Bernoulli's inequality): most draws end here without a power.
    if u < 1.0 - f64::from(n) * p {
        return 0;
    }
    let ratio = p / (1.0 - p);
    let mut prob = (1.0 - p).powi(n as i32);
    let mut cdf = prob;
    let mut k = 0;
    while u >= cdf && k < n {
        prob *= f64::from(n - k) / f64::from(k + 1) * ratio;
        k += 1;
        cdf += prob;
    }
    k
}

/// The fibres of one channel, advanced one sample at a time.
#[derive(Debug, Clone)]
pub struct Fibres<R> {
    rng: R,
    /// Counts of the last D samples (ring buffer); `busy` is the sum of the last D − 1.
    ring: Vec<u32>,
    pos: usize,
    busy: u32,
}

impl<R: rand::Rng> Fibres<R> {
    /// Fibres with dead-time window `d` ([`window`]) drawing from `rng`.
    pub fn new(d: usize, rng: R) -> Self {
        Self { rng, ring: vec![0; d.max(1)], pos: 0, busy: 0 }
    }

    /// The spike count of the next sample for probability `p`.
    #[inline]
    pub fn step(&mut self, p: f64) -> u32 {
        // drop the count from D samples ago, so `busy` covers the previous D − 1 samples
        self.busy -= self.ring[self.pos];
        // one 32-bit word per draw (resolution 2^-32, far below p ≈ 3e-3)
        let u = f64::from(self.rng.next_u32()) * (1.0 / 4_294_967_296.0);
        let s = binomial(FIBRES - self.busy, p, u);
        self.ring[self.pos] = s;
        self.busy += s;
        self.pos += 1;
        if self.pos == self.ring.len() {
            self.pos = 0;
        }
        s
    }
}

/// Spike counts per sample of the channel's fibres for probabilities `p` (per sample), written to
/// `counts`. `d` is [`window`].
pub fn sample(p: &[f64], d: usize, rng: &mut impl rand::Rng, counts: &mut [u32]) {
    let mut f = Fibres::new(d, rng);
    for (c, &pn) in counts.iter_mut().zip(p) {
        *c = f.step(pn);
    }
}
