//! Basilar membrane: the hydrodynamic long-wave cochlea of Sieroka, Dosch & Rupp (2006, JASA
//! 120:297) as a transfer function `V(ω, x)`, applied on the half spectrum of the clip and brought
//! back to the time domain by one length-K inverse DFT per channel (`cochlea.md` §1.4).
//!
//! Units are the model's cgs-like ones (x in cm, ω in rad/s); only the numeric scale matters because
//! the hair cell sees V's absolute gain. Values are lauscher 1.0.1's defaults (c0 = 1e9).
//! The phase of V rises with ω; multiplied in as given with the e^{-} forward and e^{+} inverse DFT
//! this makes each channel's response *anti-causal*, a quirk of lauscher that SHD inherits and that
//! we keep for fidelity (spec §1.4).

use num_complex::Complex64 as C64;

/// Number of channels (places along the membrane).
pub const CHANNELS: usize = 700;
/// Cochlea length (cm).
pub const LENGTH: f64 = 3.5;
/// Stiffness offset `a`.
pub const STIFF_OFFSET: f64 = 3500.0;
/// Stiffness decay α (1/cm).
pub const ALPHA: f64 = 3.0;
/// Fluid density ρ.
pub const RHO: f64 = 1.0;
/// Basal stiffness c0 (lauscher ≥ 1.0.0; the first release had 1e8, see spec §4).
pub const C0: f64 = 1e9;
/// Damping factor d_e.
pub const DAMPING: f64 = 0.15;
/// Duct height h.
pub const HEIGHT: f64 = 0.1;
/// Membrane mass per area m.
pub const MASS: f64 = 0.05;

/// Entries where `Im G(ω,x) − Im G(ω,0)` exceeds this are deep in the cut-off region and set to 0:
/// the largest such |V| is 5.8e-14 of the channel's peak (spec §2.5), far below any tolerance.
pub const CUTOFF_IM_G: f64 = 30.0;

/// Place of channel `j` (cm from the base): `linspace(0, 3.5, 700)`.
pub fn place(j: usize) -> f64 {
    LENGTH * j as f64 / (CHANNELS - 1) as f64
}

fn basal_damping() -> f64 {
    DAMPING * (C0 * MASS).sqrt()
}

/// Everything about one angular frequency that does not depend on the place.
#[derive(Debug, Clone, Copy)]
struct Freq {
    omega: f64,
    /// `(2/α)·κ_loc(ω, 0)`, which is G(ω, 0).
    g0: C64,
    /// `E(ω, 0)`.
    e0: C64,
    /// `−2iω / (α·sqrt(h)·q(ω))`.
    log_factor: C64,
    /// `(2ω)·Z(ω) / Π(ω, 0)`: the place-independent factor of V.
    scale: C64,
}

fn xi(omega: f64, x: f64) -> C64 {
    let s = C0 * (-ALPHA * x).exp() - STIFF_OFFSET;
    let r = basal_damping() * (-ALPHA * x / 2.0).exp();
    C64::new(s - MASS * omega * omega, -omega * r)
}

fn kappa(omega: f64, xi: C64) -> C64 {
    omega * (RHO / (HEIGHT * xi)).sqrt()
}

fn e_term(omega: f64, x: f64, xi: C64, q: f64) -> C64 {
    let r = basal_damping() * (-ALPHA * x / 2.0).exp();
    let inner = C64::new(2.0 * STIFF_OFFSET + 2.0 * MASS * omega * omega, omega * r);
    (ALPHA / 2.0) * (ALPHA * x / 2.0).exp() * (-2.0 * xi.sqrt() + C64::i() * inner / q)
}

fn hankel0(z: C64) -> C64 {
    // The Amos algorithm only fails for |z| beyond ~1e9 or at 0; G stays within 4e-4..75 (spec §1.4).
    complex_bessel::hankel1(0.0, z).unwrap_or(C64::new(f64::NAN, f64::NAN))
}

/// Base impedance `Z(ω)` from Bessel functions of the real argument `β(ω) = (2ω/α)·sqrt(2/(h·c0))`.
pub fn base_impedance(omega: f64) -> C64 {
    let b = beta(omega);
    let (j0, y0, j1, y1) = (libm::j0(b), libm::y0(b), libm::j1(b), libm::y1(b));
    (2.0 * C0 / HEIGHT).sqrt() * C64::new(y0, j0) / C64::new(j1, -y1)
}

/// `β(ω)` of the base impedance.
pub fn beta(omega: f64) -> f64 {
    (2.0 * omega / ALPHA) * (2.0 / (HEIGHT * C0)).sqrt()
}

impl Freq {
    fn new(omega: f64) -> Self {
        let q = (STIFF_OFFSET + MASS * omega * omega).sqrt();
        let xi0 = xi(omega, 0.0);
        let g0 = (2.0 / ALPHA) * kappa(omega, xi0);
        let e0 = e_term(omega, 0.0, xi0, q);
        let log_factor = C64::new(0.0, -2.0 * omega / (ALPHA * HEIGHT.sqrt() * q));
        let pi0 = (g0 / kappa(omega, xi0)).sqrt() * hankel0(g0);
        let scale = 2.0 * omega * base_impedance(omega) / pi0;
        Self { omega, g0, e0, log_factor, scale }
    }

    /// G(ω, x) and ξ(ω, x).
    fn g(&self, x: f64) -> (C64, C64) {
        let q = (STIFF_OFFSET + MASS * self.omega * self.omega).sqrt();
        let xi = xi(self.omega, x);
        let ex = e_term(self.omega, x, xi, q);
        (self.g0 + self.log_factor * (self.e0 / ex).ln(), xi)
    }

    /// V(ω, x), or `None` where it is negligible (see [`CUTOFF_IM_G`]).
    fn v(&self, x: f64) -> Option<C64> {
        let (g, xi) = self.g(x);
        if g.im - self.g0.im > CUTOFF_IM_G {
            return None;
        }
        let pi = (g / kappa(self.omega, xi)).sqrt() * hankel0(g);
        Some(self.scale * pi / xi)
    }
}

/// The transfer function `V(ω, x)` (ω in rad/s, x in cm), exactly as in spec §1.4.
pub fn transfer(omega: f64, x: f64) -> C64 {
    let f = Freq::new(omega);
    let (g, xi) = f.g(x);
    let pi = (g / kappa(omega, xi)).sqrt() * hankel0(g);
    f.scale * pi / xi
}

/// The frequency grid of the BM stage: `f_k = linspace(1, F, K)` Hz (not the DFT bins; spec §1.4).
pub fn grid(k_len: usize, f_max: usize) -> Vec<f64> {
    if k_len == 1 {
        return vec![1.0];
    }
    (0..k_len).map(|k| 1.0 + k as f64 * (f_max as f64 - 1.0) / (k_len - 1) as f64).collect()
}

/// How V is obtained for each clip.
#[derive(Debug, Clone)]
pub enum Transfer {
    /// Evaluated exactly on each clip's grid (one Hankel call per channel and frequency; about 17 CPU
    /// seconds per second of audio). Matches lauscher to ~1e-12.
    Exact,
    /// Interpolated from a 1-Hz table (spec §2.5 option 2); see [`Table`].
    Table(std::sync::Arc<Table>),
}

/// V tabulated at f = 1, 2, …, F Hz for every channel, as log-magnitude (f32) and unwrapped phase
/// (f64, because it reaches thousands of radians), up to the channel's cut-off frequency.
/// Built once per output rate F (~6 CPU seconds for F = 24 kHz); per clip, log|V| and the phase are
/// interpolated linearly at the grid frequencies. Complex-linear interpolation would not do: the group
/// delay reaches 40 ms, so the phase turns by 0.25 rad per Hz. Measured error on the reference clip:
/// see the crate tests (`table_matches_exact`).
#[derive(Debug)]
pub struct Table {
    /// Output rate F (Hz) the table covers (1..=F Hz).
    pub f_max: usize,
    log_mag: Vec<Vec<f32>>,
    phase: Vec<Vec<f64>>,
}

impl Table {
    /// Builds the table for output rate `f_max` (Hz), channels in parallel.
    pub fn new(f_max: usize) -> Self {
        use rayon::prelude::*;
        let freqs: Vec<Freq> = (1..=f_max).map(|f| Freq::new(2.0 * std::f64::consts::PI * f as f64)).collect();
        let rows: Vec<(Vec<f32>, Vec<f64>)> = (0..CHANNELS)
            .into_par_iter()
            .map(|j| {
                let x = place(j);
                // Highest frequency whose entry is not negligible; everything above is 0.
                let last = freqs.iter().rposition(|fr| fr.g(x).0.im - fr.g0.im <= CUTOFF_IM_G);
                let n = last.map_or(0, |i| (i + 2).min(f_max));
                let mut mag = Vec::with_capacity(n);
                let mut ph = Vec::with_capacity(n);
                let mut prev = 0.0f64;
                for (i, fr) in freqs[..n].iter().enumerate() {
                    let (g, xi) = fr.g(x);
                    let v = fr.scale * (g / kappa(fr.omega, xi)).sqrt() * hankel0(g) / xi;
                    let mut a = v.arg();
                    if i > 0 {
                        let tau = 2.0 * std::f64::consts::PI;
                        a += tau * ((prev - a) / tau).round();
                    }
                    prev = a;
                    mag.push(v.norm().ln() as f32);
                    ph.push(a);
                }
                (mag, ph)
            })
            .collect();
        let (log_mag, phase) = rows.into_iter().unzip();
        Self { f_max, log_mag, phase }
    }

    /// Interpolated V at frequency `f` Hz (1 ≤ f ≤ F) for channel `j`; 0 beyond the cut-off.
    pub fn v(&self, j: usize, f: f64) -> C64 {
        let m = &self.log_mag[j];
        let p = &self.phase[j];
        let pos = f - 1.0;
        let i = pos.floor() as usize;
        if i + 1 >= m.len() {
            return if i < m.len() && pos == i as f64 { C64::from_polar(f64::from(m[i]).exp(), p[i]) } else { C64::new(0.0, 0.0) };
        }
        let w = pos - i as f64;
        let lm = (1.0 - w) * f64::from(m[i]) + w * f64::from(m[i + 1]);
        let ph = (1.0 - w) * p[i] + w * p[i + 1];
        C64::from_polar(lm.exp(), ph)
    }

    /// Bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.log_mag.iter().map(|m| m.len() * 12).sum()
    }
}

/// V prepared for one clip's grid (K points up to F Hz).
#[derive(Debug)]
pub struct ClipTransfer {
    k_len: usize,
    f_max: usize,
    /// Exact path: the place-independent terms at every grid frequency.
    freqs: Option<Vec<Freq>>,
    table: Option<std::sync::Arc<Table>>,
}

impl Transfer {
    /// Prepares V for a clip with `k_len` samples after the BM at output rate `f_max` (Hz).
    ///
    /// # Panics
    /// If a table built for another output rate is used (a programming error; the pipeline builds
    /// tables per rate).
    pub fn prepare(&self, k_len: usize, f_max: usize) -> ClipTransfer {
        match self {
            Transfer::Exact => {
                use rayon::prelude::*;
                let freqs = grid(k_len, f_max).par_iter().map(|&f| Freq::new(2.0 * std::f64::consts::PI * f)).collect();
                ClipTransfer { k_len, f_max, freqs: Some(freqs), table: None }
            }
            Transfer::Table(t) => {
                assert_eq!(t.f_max, f_max, "BM table built for another output rate");
                ClipTransfer { k_len, f_max, freqs: None, table: Some(t.clone()) }
            }
        }
    }
}

impl ClipTransfer {
    /// Fills `out[k] = V(2π f_k, x_j)` for channel `j` (`out.len()` = K).
    pub fn fill(&self, j: usize, out: &mut [C64]) {
        debug_assert_eq!(out.len(), self.k_len);
        if let Some(freqs) = &self.freqs {
            let x = place(j);
            for (o, fr) in out.iter_mut().zip(freqs) {
                *o = fr.v(x).unwrap_or_default();
            }
        } else if let Some(tab) = &self.table {
            let step = if self.k_len > 1 { (self.f_max as f64 - 1.0) / (self.k_len - 1) as f64 } else { 0.0 };
            for (k, o) in out.iter_mut().enumerate() {
                *o = tab.v(j, 1.0 + k as f64 * step);
            }
        }
    }
}
