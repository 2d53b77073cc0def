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
    let mut cell = Cell::new(f_out);
    for &x in s {
        if let Some(n) = cell.step(x) {
            spikes.push(n);
        }
    }
}

/// One bushy cell advanced one sample at a time (see [`run`] for the order).
#[derive(Debug, Clone)]
pub struct Cell {
    bm: f64,
    bs: f64,
    wdt: f64,
    r: f64,
    v: f64,
    i: f64,
    cnt: f64,
    n: u32,
}

impl Cell {
    /// A cell at rest for output rate `f_out` (Hz).
    pub fn new(f_out: f64) -> Self {
        let dt = 1.0 / f_out;
        Self {
            bm: (-dt / TAU_MEM).exp(),
            bs: (-dt / TAU_SYN).exp(),
            wdt: WEIGHT * dt,
            r: TAU_REF * f_out,
            v: 0.0,
            i: 0.0,
            cnt: 0.0,
            n: 0,
        }
    }

    /// Processes the next sample's input count; returns the sample of a spike it emits (n − 1).
    #[inline]
    pub fn step(&mut self, x: u32) -> Option<u32> {
        let mut spike = None;
        if self.n > 0 {
            if self.cnt <= 0.0 {
                if self.v >= THRESHOLD {
                    spike = Some(self.n - 1);
                    self.cnt = self.r;
                    self.v = 0.0;
                } else {
                    self.v *= self.bm;
                }
            }
            if self.cnt > 0.0 {
                self.v = 0.0;
            }
            self.i *= self.bs;
        }
        self.i += f64::from(x);
        if self.cnt <= 0.0 {
            self.v += self.wdt * self.i;
        }
        self.v = self.v.min(THRESHOLD);
        self.cnt -= 1.0;
        self.n += 1;
        spike
    }
}
