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

/// Entries where `Im G(ω,x) − Im G(ω,0)` exceeds this are deep in the cut-off region and set to 0
/// by the exact path: the largest such |V| is 5.8e-14 of the channel's peak (spec §2.5).
pub const CUTOFF_IM_G: f64 = 30.0;

/// The same cut-off for the table path, whose interpolation error (~5e-4 of a channel's peak) is far
/// larger than what this drops (|V| ≲ e^-15 ≈ 3e-7 of the peak; the stage test measures the sum).
pub const TABLE_CUTOFF_IM_G: f64 = 15.0;

/// Place of channel `j` (cm from the base): `linspace(0, 3.5, 700)`, SHD's places.
pub fn place(j: usize) -> f64 {
    LENGTH * j as f64 / (CHANNELS - 1) as f64
}

/// Where along the membrane the 700 channels sit: channel 0 at `lo`, channel 699 at `hi` (cm from
/// the base), evenly spaced. [`Places::FULL`] is SHD's (the whole membrane, 0–3.5 cm: about 22 kHz
/// down to 110 Hz); [`Places::up_to`] moves channel 0 to where a lower top frequency resonates, so
/// that audio with less bandwidth (FSDD's 8 kHz recordings: 4 kHz) uses all channels instead of
/// leaving the basal third at spontaneous rates. Not part of lauscher or SHD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Places {
    /// Place of channel 0 (cm).
    pub lo: f64,
    /// Place of channel 699 (cm).
    pub hi: f64,
}

impl Places {
    /// SHD's places, `linspace(0, 3.5, 700)`.
    pub const FULL: Places = Places { lo: 0.0, hi: LENGTH };

    /// Channel 0 at the place whose local resonance (`s(x) = m ω²`) is `top_hz`, channel 699 at the
    /// apex. `top_hz` above the base's resonance (~22.5 kHz) gives [`Places::FULL`].
    pub fn up_to(top_hz: f64) -> Places {
        Places { lo: resonance_place(top_hz).min(0.9 * LENGTH), hi: LENGTH }
    }

    /// Place of channel `j` (cm).
    pub fn at(&self, j: usize) -> f64 {
        if *self == Self::FULL {
            return place(j);
        }
        self.lo + (self.hi - self.lo) * j as f64 / (CHANNELS - 1) as f64
    }
}

/// The place (cm from the base) whose local resonance, where the stiffness `c0·e^{−αx} − a` equals
/// `m ω²`, is `f_hz`; 0 for frequencies above the base's.
pub fn resonance_place(f_hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f_hz;
    let e = (MASS * w * w + STIFF_OFFSET) / C0;
    (-e.ln() / ALPHA).clamp(0.0, LENGTH)
}

/// The local resonance frequency (Hz) at place `x` (cm): `sqrt((c0·e^{−αx} − a)/m) / 2π`.
pub fn resonance_hz(x: f64) -> f64 {
    ((C0 * (-ALPHA * x).exp() - STIFF_OFFSET).max(0.0) / MASS).sqrt() / (2.0 * std::f64::consts::PI)
}

fn basal_damping() -> f64 {
    DAMPING * (C0 * MASS).sqrt()
}

/// Everything about one place that does not depend on the frequency (computed once per channel, not
/// per frequency).
#[derive(Debug, Clone, Copy)]
struct Place {
    /// Stiffness `s(x) = c0·e^{−αx} − a`.
    stiff: f64,
    /// Damping `r(x) = r0·e^{−αx/2}`.
    damp: f64,
    /// `(α/2)·e^{αx/2}`, the prefactor of E(ω, x).
    grow: f64,
}

impl Place {
    fn new(x: f64) -> Self {
        Self {
            stiff: C0 * (-ALPHA * x).exp() - STIFF_OFFSET,
            damp: basal_damping() * (-ALPHA * x / 2.0).exp(),
            grow: (ALPHA / 2.0) * (ALPHA * x / 2.0).exp(),
        }
    }
}

/// Everything about one angular frequency that does not depend on the place.
#[derive(Debug, Clone, Copy)]
struct Freq {
    omega: f64,
    /// `q(ω) = sqrt(a + mω²)`.
    q: f64,
    /// `(2/α)·κ_loc(ω, 0)`, which is G(ω, 0).
    g0: C64,
    /// `E(ω, 0)`.
    e0: C64,
    /// `−2iω / (α·sqrt(h)·q(ω))`.
    log_factor: C64,
    /// `(2ω)·Z(ω) / Π(ω, 0)`: the place-independent factor of V.
    scale: C64,
}

fn xi(omega: f64, p: &Place) -> C64 {
    C64::new(p.stiff - MASS * omega * omega, -omega * p.damp)
}

fn kappa(omega: f64, xi: C64) -> C64 {
    omega * (RHO / (HEIGHT * xi)).sqrt()
}

fn e_term(omega: f64, p: &Place, xi: C64, q: f64) -> C64 {
    let inner = C64::new(2.0 * STIFF_OFFSET + 2.0 * MASS * omega * omega, omega * p.damp);
    p.grow * (-2.0 * xi.sqrt() + C64::i() * inner / q)
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
        let base = Place::new(0.0);
        let xi0 = xi(omega, &base);
        let g0 = (2.0 / ALPHA) * kappa(omega, xi0);
        let e0 = e_term(omega, &base, xi0, q);
        let log_factor = C64::new(0.0, -2.0 * omega / (ALPHA * HEIGHT.sqrt() * q));
        let pi0 = (g0 / kappa(omega, xi0)).sqrt() * hankel0(g0);
        let scale = 2.0 * omega * base_impedance(omega) / pi0;
        Self { omega, q, g0, e0, log_factor, scale }
    }

    /// G(ω, x) and ξ(ω, x).
    fn g(&self, p: &Place) -> (C64, C64) {
        let xi = xi(self.omega, p);
        let ex = e_term(self.omega, p, xi, self.q);
        (self.g0 + self.log_factor * (self.e0 / ex).ln(), xi)
    }

    /// V(ω, x) from G(ω, x) and ξ(ω, x): `(2ω/ξ)·(Π(ω,x)/Π(ω,0))·Z(ω)`.
    fn value(&self, g: C64, xi: C64) -> C64 {
        let pi = (g / kappa(self.omega, xi)).sqrt() * hankel0(g);
        self.scale * pi / xi
    }

    /// V(ω, x), or `None` where it is negligible (see [`CUTOFF_IM_G`]).
    fn v(&self, p: &Place) -> Option<C64> {
        let (g, xi) = self.g(p);
        (g.im - self.g0.im <= CUTOFF_IM_G).then(|| self.value(g, xi))
    }
}

/// The transfer function `V(ω, x)` (ω in rad/s, x in cm), exactly as in spec §1.4.
pub fn transfer(omega: f64, x: f64) -> C64 {
    let f = Freq::new(omega);
    let (g, xi) = f.g(&Place::new(x));
    f.value(g, xi)
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
    /// As [`Transfer::Exact`], with the channels at other places (see [`Places`]).
    ExactAt(Places),
    /// Interpolated from a 1-Hz table (spec §2.5 option 2); see [`Table`].
    Table(std::sync::Arc<Table>),
}

/// V tabulated at f = 1, 2, …, F Hz for every channel, up to the channel's cut-off frequency, for
/// fast per-clip evaluation (spec §2.5 option 2). Built once per output rate F (~6 CPU seconds for
/// F = 24 kHz).
///
/// Between two table points the magnitude is interpolated linearly and the *unwrapped* phase
/// linearly, as `cis(φ_i)·cis(w·Δφ_i)` with the small rotation `cis(w·Δφ_i)` from its Taylor series
/// (|Δφ_i| ≤ 0.3 rad per Hz: the group delay peaks at ~40 ms; asserted when the table is built), so a
/// grid point costs a few multiplications instead of an `exp` and a `sincos`. Complex-linear
/// interpolation would not do: the phase turns by up to 0.25 rad per Hz. Entries are f32 (16 bytes
/// per point). Measured error on the reference clip: see the crate test
/// `stages_match_lauscher_on_the_fsdd_clip` (about 5e-4 of a channel's peak BM output).
#[derive(Debug)]
pub struct Table {
    /// Output rate F (Hz) the table covers (1..=F Hz).
    pub f_max: usize,
    /// The channels' places.
    pub places: Places,
    rows: Vec<Vec<Entry>>,
}

/// One table point: |V|, cis(φ) and the phase step to the next point.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    mag: f32,
    re: f32,
    im: f32,
    dphi: f32,
}

/// V at `pos` Hz above 1 Hz (`0 ≤ pos < row.len()`), between two table points: magnitude linear,
/// phase rotated by the Taylor series (the last point is held).
#[inline]
fn interp(row: &[Entry], pos: f64) -> C64 {
    let i = pos as usize;
    let w = pos - i as f64;
    let (a, b) = (row[i], row[(i + 1).min(row.len() - 1)]);
    let mag = f64::from(a.mag) + w * f64::from(b.mag - a.mag);
    C64::new(f64::from(a.re), f64::from(a.im)) * small_cis(w * f64::from(a.dphi)) * mag
}

/// Largest phase step between 1-Hz table points the Taylor rotation is accurate for (error of the
/// degree-7 series at 0.5 rad: 5e-10).
const MAX_DPHI: f64 = 0.5;

#[inline]
fn small_cis(t: f64) -> C64 {
    let t2 = t * t;
    let c = 1.0 - t2 * (0.5 - t2 * (1.0 / 24.0 - t2 * (1.0 / 720.0)));
    let s = t * (1.0 - t2 * (1.0 / 6.0 - t2 * (1.0 / 120.0 - t2 * (1.0 / 5040.0))));
    C64::new(c, s)
}

impl Table {
    /// Builds the table for output rate `f_max` (Hz), channels in parallel.
    ///
    /// # Panics
    /// If the phase turns by more than 0.5 rad between 1-Hz points (it does not for these parameters,
    /// max ≈ 0.25 rad), since the interpolation would then be inaccurate.
    pub fn new(f_max: usize) -> Self {
        Self::with_places(f_max, Places::FULL)
    }

    /// [`Table::new`] with the channels at `places`.
    ///
    /// # Panics
    /// As [`Table::new`].
    pub fn with_places(f_max: usize, places: Places) -> Self {
        use rayon::prelude::*;
        let freqs: Vec<Freq> = (1..=f_max).map(|f| Freq::new(2.0 * std::f64::consts::PI * f as f64)).collect();
        let rows: Vec<Vec<Entry>> = (0..CHANNELS)
            .into_par_iter()
            .map(|j| {
                let x = Place::new(places.at(j));
                // Highest frequency whose entry is not negligible; everything above is 0.
                let last = freqs.iter().rposition(|fr| fr.g(&x).0.im - fr.g0.im <= TABLE_CUTOFF_IM_G);
                let n = last.map_or(0, |i| (i + 2).min(f_max));
                let vs: Vec<C64> = freqs[..n]
                    .iter()
                    .map(|fr| {
                        let (g, xi) = fr.g(&x);
                        fr.value(g, xi)
                    })
                    .collect();
                let mut row = Vec::with_capacity(n);
                for (i, v) in vs.iter().enumerate() {
                    let dphi = vs.get(i + 1).map_or(0.0, |next| (next / v).arg());
                    assert!(dphi.abs() <= MAX_DPHI, "BM table: phase step {dphi} rad at channel {j}, {} Hz", i + 1);
                    let c = v / v.norm();
                    row.push(Entry { mag: v.norm() as f32, re: c.re as f32, im: c.im as f32, dphi: dphi as f32 });
                }
                row
            })
            .collect();
        Self { f_max, places, rows }
    }

    /// Interpolated V at frequency `f` Hz (1 ≤ f ≤ F) for channel `j`; 0 beyond the cut-off.
    pub fn v(&self, j: usize, f: f64) -> C64 {
        let row = &self.rows[j];
        let pos = f - 1.0;
        if pos < 0.0 || pos as usize >= row.len() {
            return C64::new(0.0, 0.0);
        }
        interp(row, pos)
    }

    /// Number of table points of channel `j` (its cut-off in Hz).
    pub fn cutoff(&self, j: usize) -> usize {
        self.rows[j].len()
    }

    /// Bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.rows.iter().map(|r| r.len() * std::mem::size_of::<Entry>()).sum()
    }
}

/// V prepared for one clip's grid (K points up to F Hz).
#[derive(Debug)]
pub struct ClipTransfer {
    k_len: usize,
    f_max: usize,
    /// Exact path: the place-independent terms at every grid frequency, and the places.
    freqs: Option<Vec<Freq>>,
    places: Places,
    table: Option<std::sync::Arc<Table>>,
}

impl Transfer {
    /// The channels' places.
    pub fn places(&self) -> Places {
        match self {
            Transfer::Exact => Places::FULL,
            Transfer::ExactAt(p) => *p,
            Transfer::Table(t) => t.places,
        }
    }

    /// Prepares V for a clip with `k_len` samples after the BM at output rate `f_max` (Hz).
    ///
    /// # Panics
    /// If a table built for another output rate is used (a programming error; the pipeline builds
    /// tables per rate).
    pub fn prepare(&self, k_len: usize, f_max: usize) -> ClipTransfer {
        match self {
            Transfer::Exact | Transfer::ExactAt(_) => {
                use rayon::prelude::*;
                let freqs = grid(k_len, f_max).par_iter().map(|&f| Freq::new(2.0 * std::f64::consts::PI * f)).collect();
                ClipTransfer { k_len, f_max, freqs: Some(freqs), places: self.places(), table: None }
            }
            Transfer::Table(t) => {
                assert_eq!(t.f_max, f_max, "BM table built for another output rate");
                ClipTransfer { k_len, f_max, freqs: None, places: t.places, table: Some(t.clone()) }
            }
        }
    }
}

impl ClipTransfer {
    /// Fills `out[k] = V(2π f_k, x_j)` for channel `j` (`out.len()` = K).
    pub fn fill(&self, j: usize, out: &mut [C64]) {
        debug_assert_eq!(out.len(), self.k_len);
        if let Some(freqs) = &self.freqs {
            let x = Place::new(self.places.at(j));
            for (o, fr) in out.iter_mut().zip(freqs) {
                *o = fr.v(&x).unwrap_or_default();
            }
        } else if let Some(tab) = &self.table {
            let step = if self.k_len > 1 { (self.f_max as f64 - 1.0) / (self.k_len - 1) as f64 } else { 0.0 };
            // grid points below the channel's cut-off; the rest are 0
            let row = &tab.rows[j];
            let n = if step > 0.0 { ((row.len().saturating_sub(1) as f64 / step).floor() as usize + 1).min(out.len()) } else { 0 };
            for (k, o) in out[..n].iter_mut().enumerate() {
                *o = interp(row, k as f64 * step);
            }
            out[n..].fill(C64::new(0.0, 0.0));
        }
    }
}
