//! Bushy cell (`cochlea.md` §1.7): one current-based LIF neuron per channel with exponential
//! synapses, fed by the channel's fibre counts, in lauscher's exact update order (bit-identical there).

/// Membrane time constant (s).
pub const TAU_MEM: f64 = 1e-3;
/// Synaptic time constant (s).
pub const TAU_SYN: f64 = 5e-4;
/// Refractory time (s).
pub const TAU_REF: f64 = 1e-3;
/// Weight per fibre input (total 13000 over 40 fibres).
pub const WEIGHT: f64 = 325.0;
/// Threshold (reset to 0).
pub const THRESHOLD: f64 = 1.0;

/// Runs the cell over the counts `s` (rate `f_out` Hz) and appends the samples at which it spikes.
///
/// Order per sample n: (1) if not refractory: a membrane at threshold emits a spike *at n − 1*,
/// starts the refractory count R = τ_ref·F and resets, otherwise it decays; (2) held at 0 while
/// refractory; (3) the current decays and adds the counts (never reset); (4) if not refractory the
/// membrane integrates `w·dt·I`; (5) clipped at threshold, and the refractory count decremented.
/// So a crossing on the very last sample is never emitted and the minimum ISI is ceil(R) + 1 samples.
pub fn run(s: &[u32], f_out: f64, spikes: &mut Vec<u32>) {
    let dt = 1.0 / f_out;
    let bm = (-dt / TAU_MEM).exp();
    let bs = (-dt / TAU_SYN).exp();
    let wdt = WEIGHT * dt;
    let r = TAU_REF * f_out;
    let (mut v, mut i, mut cnt) = (0.0f64, 0.0f64, 0.0f64);
    for (n, &x) in s.iter().enumerate() {
        if n > 0 {
            if cnt <= 0.0 {
                if v >= THRESHOLD {
                    spikes.push((n - 1) as u32);
                    cnt = r;
                    v = 0.0;
                } else {
                    v *= bm;
                }
            }
            if cnt > 0.0 {
                v = 0.0;
            }
            i *= bs;
        }
        i += f64::from(x);
        if cnt <= 0.0 {
            v += wdt * i;
        }
        v = v.min(THRESHOLD);
        cnt -= 1.0;
    }
}
