//! Inner hair cell: the Meddis (1986 JASA 79:702; 1988 JASA 83:1056) transmitter-pool model,
//! discretised with explicit Euler at the BM output rate F exactly as lauscher 1.0.1 does
//! (`cochlea.md` §1.5): all right-hand sides use the previous state, pools are clipped at 0, and the
//! output is the spike probability per sample `h·dt·c` from the *updated* cleft content.

/// Replenishment rate y (1/s).
pub const Y: f64 = 5.05;
/// Permeability scale g (1/s).
pub const G: f64 = 2000.0;
/// Cleft loss rate l (1/s).
pub const L: f64 = 2500.0;
/// Reuptake rate r (1/s).
pub const R: f64 = 6580.0;
/// Reprocessing rate x (1/s; the papers give 66.31, lauscher uses 66.3).
pub const X: f64 = 66.3;
/// Permeability offset A (BM output units).
pub const A: f64 = 5.0;
/// Permeability half-saturation B (BM output units).
pub const B: f64 = 300.0;
/// Firing-rate scale h (1/s per unit cleft content).
pub const H: f64 = 50000.0;
/// Free-pool capacity M.
pub const M: f64 = 1.0;

/// Membrane permeability k(s) for BM output `s` (1/s).
pub fn permeability(s: f64) -> f64 {
    if s + A > 0.0 {
        G * (s + A) / (s + A + B)
    } else {
        0.0
    }
}

/// Steady state (q, c, w) of the continuous model for constant input `s` (also the fixed point of
/// the Euler scheme while q < M): `c = M·y·k / (l·k + y·(l + r))`, `q = c·(l + r)/k`, `w = c·r/x`.
/// For s = 0 this is the initial state (no start transient).
pub fn steady_state(s: f64) -> (f64, f64, f64) {
    let k = permeability(s);
    let c = M * Y * k / (L * k + Y * (L + R));
    let q = if k > 0.0 { c * (L + R) / k } else { M };
    (q, c, c * R / X)
}

/// Replaces the BM output `y` (one channel, rate `f_out` Hz) by the spike probability per sample.
pub fn run(y: &mut [f64], f_out: f64) {
    run_lanes([y], f_out);
}

/// [`run`] on `N` channels at once: the same arithmetic per channel (bit-identical results),
/// interleaved so the N independent recurrences overlap in the CPU pipeline. The channels have the
/// same length (one clip); a longer one is processed up to the shortest length only.
pub fn run_lanes<const N: usize>(ys: [&mut [f64]; N], f_out: f64) {
    let len = ys.iter().map(|y| y.len()).min().unwrap_or(0);
    debug_assert!(ys.iter().all(|y| y.len() == len), "lanes of one clip have one length");
    let dt = 1.0 / f_out;
    let (q0, c0, w0) = steady_state(0.0);
    let (mut q, mut c, mut w) = ([q0; N], [c0; N], [w0; N]);
    let (gdt, ydt, lrdt, rdt, xdt, hdt) = (G * dt, Y * dt, (L + R) * dt, R * dt, X * dt, H * dt);
    for n in 0..len {
        for l in 0..N {
            let s = ys[l][n];
            let kdt = if s + A > 0.0 { gdt * (s + A) / (s + A + B) } else { 0.0 };
            let rep = if q[l] < M { ydt * (M - q[l]) } else { 0.0 };
            let ej = kdt * q[l];
            let loss = lrdt * c[l];
            let ru = rdt * c[l];
            let rp = xdt * w[l];
            q[l] = (q[l] + rep - ej + rp).max(0.0);
            c[l] = (c[l] + ej - loss).max(0.0);
            w[l] = (w[l] + ru - rp).max(0.0);
            ys[l][n] = hdt * c[l];
        }
    }
}
