//! The fluctuation-driven (FD) theory (spec §2.1–§2.3): PSP-kernel integrals, the moments a target
//! asks for, and the samplers.
//!
//! A linear LIF neuron driven by `N` independent Poisson inputs at rate ν through weights with mean
//! μ_w and variance σ_w² has, by Campbell's theorem,
//!
//! ```text
//! μ_U = N·ν·μ_w·ε̄          σ_U² = N·ν·(μ_w² + σ_w²)·ε̂
//! ```
//!
//! with ε̄ = ∫ε and ε̂ = ∫ε² of the PSP kernel ε. Targeting μ_U and ξ = (θ − μ_U)/σ_U gives
//! `μ_w = μ_U/(N ν ε̄)` and `σ_w² = ((θ − μ_U)/ξ)²/(N ν ε̂) − μ_w²` (θ = 1). The centered form sets
//! μ_U = 0, ξ = 1/σ_U. Layer-wise, all afferents of a group share `N_total` for μ_w and split the
//! variance: α/n_ff for each feed-forward afferent and (1−α)/n_rec for each recurrent one (§2.3).

use crate::error::{ensure, Error, Result};
use crate::rng::{normal, uniform, SfRng};

/// How ε̄ and ε̂ are computed (spec §2.2). In configs: `"numerical"`, `"analytical"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EpsilonMode {
    /// From the discrete kernel of the simulation at the run's dt (the reference default).
    #[default]
    Numerical,
    /// Continuous-time closed forms: ε̄ = τ_s, ε̂ = τ_s²/(2(τ_s+τ_m)).
    Analytical,
}

/// The PSP kernel integrals of a LIF group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epsilon {
    /// ε̄ = ∫ε(t)dt, in seconds.
    pub bar: f64,
    /// ε̂ = ∫ε(t)²dt, in seconds.
    pub hat: f64,
}

/// The discrete PSP kernel of spec §1.1: start with I = 1, U = 0; record U, then update.
/// Length `int(10·max(τ_m, τ_s)/dt)`.
pub fn lif_kernel(tau_mem: f64, tau_syn: f64, dt: f64) -> Vec<f64> {
    let n = (10.0 * tau_mem.max(tau_syn) / dt) as usize;
    let (bm, bs) = ((-dt / tau_mem).exp(), (-dt / tau_syn).exp());
    let (mut u, mut i) = (0.0f64, 1.0f64);
    let mut k = Vec::with_capacity(n);
    for _ in 0..n {
        k.push(u);
        u = bm * u + (1.0 - bm) * i;
        i *= bs;
    }
    k
}

/// ε̄ and ε̂ for a group with time constants `tau_mem`, `tau_syn` (seconds) at step `dt` (seconds).
pub fn epsilon(tau_mem: f64, tau_syn: f64, dt: f64, mode: EpsilonMode) -> Epsilon {
    match mode {
        EpsilonMode::Analytical => {
            Epsilon { bar: tau_syn, hat: tau_syn * tau_syn / (2.0 * (tau_syn + tau_mem)) }
        }
        EpsilonMode::Numerical => {
            let k = lif_kernel(tau_mem, tau_syn, dt);
            Epsilon { bar: dt * k.iter().sum::<f64>(), hat: dt * k.iter().map(|x| x * x).sum::<f64>() }
        }
    }
}

/// The FD target: membrane mean μ_U and distance to threshold ξ in standard deviations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FdTarget {
    /// Target mean membrane potential μ_U (θ = 1 units).
    pub mu_u: f64,
    /// ξ = (θ − μ_U)/σ_U.
    pub xi: f64,
    /// Presynaptic rate ν in Hz.
    pub nu: f64,
}

impl FdTarget {
    /// The centered form: μ_U = 0, ξ = 1/σ_U.
    pub fn centered(sigma_u: f64, nu: f64) -> Self {
        FdTarget { mu_u: 0.0, xi: 1.0 / sigma_u, nu }
    }
    /// The target membrane standard deviation σ_U = (θ − μ_U)/ξ.
    pub fn sigma_u(&self) -> f64 {
        (1.0 - self.mu_u) / self.xi
    }
}

/// Mean and standard deviation of a normal weight distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalMoments {
    /// μ_w.
    pub mean: f64,
    /// σ_w.
    pub std: f64,
}

/// One afferent connection of a neuron group, as the layer-wise initializer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Afferent {
    /// Fan-in of the connection (in_features; in_channels × kernel for convolutions).
    pub fan_in: usize,
    /// Whether the connection is recurrent (source group = destination group).
    pub recurrent: bool,
}

/// FD normal moments for each afferent of one group (spec §2.3, layer-wise with the α split).
/// With a single afferent this is the per-connection initializer.
///
/// # Errors
/// [`Error::Config`] when the target asks for a negative variance (μ_U too large for ξ) or a
/// non-positive rate or fan-in.
pub fn fd_normal_layerwise(
    target: FdTarget,
    eps: Epsilon,
    afferents: &[Afferent],
    alpha: f64,
) -> Result<Vec<NormalMoments>> {
    ensure!(target.nu.is_finite() && target.nu > 0.0, "nu", "must be a positive rate in Hz", target.nu);
    ensure!(target.xi.is_finite() && target.xi > 0.0, "xi", "must be positive (σ_U = 1/ξ must be positive)", target.xi);
    ensure!(
        eps.bar > 0.0 && eps.hat > 0.0,
        "epsilon",
        "the analytical PSP integrals are 0 for a group without synaptic filter (tau_syn = 0); use epsilon = \"numerical\""
    );
    let n_total: usize = afferents.iter().map(|a| a.fan_in).sum();
    ensure!(n_total > 0 && afferents.iter().all(|a| a.fan_in > 0), "", "every connection needs a fan-in of at least 1");
    let n_rec = afferents.iter().filter(|a| a.recurrent).count();
    let n_ff = afferents.len() - n_rec;
    let alpha = if n_rec > 0 { alpha } else { 1.0 };
    let mu_w = target.mu_u / (n_total as f64 * target.nu * eps.bar);
    let var_u = target.sigma_u().powi(2);
    afferents
        .iter()
        .map(|a| {
            let scale = if a.recurrent { (1.0 - alpha) / n_rec as f64 } else { alpha / n_ff as f64 };
            let var = scale / (a.fan_in as f64 * target.nu * eps.hat) * var_u - mu_w * mu_w;
            if var < 0.0 {
                return Err(Error::config_found(
                    "mu_u",
                    format!(
                        "with ξ = {} this needs a negative weight variance (the mean alone already exceeds the target fluctuations for this fan-in); move μ_U towards 0 or lower ξ",
                        target.xi
                    ),
                    target.mu_u,
                ));
            }
            Ok(NormalMoments { mean: mu_w, std: var.sqrt() })
        })
        .collect()
}

/// Fills `w` with draws from N(mean, std²).
pub fn fill_normal(w: &mut [f32], m: NormalMoments, rng: &mut SfRng) {
    for x in w.iter_mut() {
        *x = (m.mean + m.std * normal(rng)) as f32;
    }
}


/// Fills `w` with PyTorch's default Linear/Conv init (Kaiming-uniform with a = √5):
/// U(−1/√fan_in, 1/√fan_in).
pub fn fill_torch_default_uniform(w: &mut [f32], fan_in: usize, rng: &mut SfRng) {
    let b = 1.0 / (fan_in as f64).sqrt();
    for x in w.iter_mut() {
        *x = (b * (2.0 * uniform(rng) - 1.0)) as f32;
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    /// Spec §2.2 table, to the 10 significant digits it prints.
    #[test]
    fn epsilon_table() {
        let rows = [
            (20e-3, 10e-3, 1e-3, 0.0105073534, 0.0018419481, 0.01, 0.0016667),
            (20e-3, 10e-3, 2e-3, 0.0110322567, 0.0020356106, 0.01, 0.0016667),
            (20e-3, 20e-3, 2e-3, 0.0210056748, 0.0055304215, 0.02, 0.005),
            (0.2, 10e-3, 2e-3, 0.0110327811, 0.0002899389, 0.01, 0.0002381),
            (0.7, 10e-3, 2e-3, 0.0110328022, 0.0000857363, 0.01, 0.0000704),
        ];
        for (tm, ts, dt, nb, nh, ab, ah) in rows {
            let n = epsilon(tm, ts, dt, EpsilonMode::Numerical);
            assert!((n.bar - nb).abs() < 1e-10, "{tm} {ts} {dt}: {} vs {nb}", n.bar);
            assert!((n.hat - nh).abs() < 1e-10, "{tm} {ts} {dt}: {} vs {nh}", n.hat);
            assert!(rel(n.bar, nb) < 1e-6 && rel(n.hat, nh) < 1e-6);
            let a = epsilon(tm, ts, dt, EpsilonMode::Analytical);
            assert!(rel(a.bar, ab) < 1e-9);
            // the analytical ε̂ column is printed to 7 decimals
            assert!((a.hat - ah).abs() <= 5e-8, "{} vs {ah}", a.hat);
        }
        // notebook 00 printed these full-precision values
        let n = epsilon(20e-3, 10e-3, 1e-3, EpsilonMode::Numerical);
        assert!(rel(n.bar, 0.010507353352192265) < 1e-12);
        assert!(rel(n.hat, 0.001841948059032449) < 1e-12);
    }

    fn sigma(n: usize, nu: f64, tm: f64, sigma_u: f64, dt: f64) -> f64 {
        let eps = epsilon(tm, 10e-3, dt, EpsilonMode::Numerical);
        let t = FdTarget::centered(sigma_u, nu);
        fd_normal_layerwise(t, eps, &[Afferent { fan_in: n, recurrent: false }], 0.9).unwrap()[0].std
    }

    /// Spec §2.6: every σ_w the table lists, to its printed precision (half a unit in the last digit).
    #[test]
    fn sigma_w_table() {
        let check = |got: f64, want: f64, half_ulp: f64| {
            assert!((got - want).abs() <= half_ulp, "got {got}, want {want}");
        };
        // notebook 00: N = 5000, ν = 3 Hz, dt = 1 ms, ξ = 2
        check(sigma(5000, 3.0, 20e-3, 0.5, 1e-3), 0.09512, 5e-6);
        // notebook 01: Randman
        check(sigma(20, 5.0, 20e-3, 1.0, 2e-3), 2.2164, 5e-5);
        check(sigma(128, 5.0, 0.2, 1.0, 2e-3), 2.3214, 5e-5);
        // notebook 02: SHD deep feed-forward
        check(sigma(700, 15.8, 20e-3, 1.0, 2e-3), 0.21075, 5e-6);
        check(sigma(128, 15.8, 20e-3, 1.0, 2e-3), 0.49285, 5e-6);
        check(sigma(128, 15.8, 0.7, 1.0, 2e-3), 2.4015, 5e-5);
        // notebook 03: layer-wise with α = 0.9 (ff, rec)
        let eps = epsilon(20e-3, 10e-3, 2e-3, EpsilonMode::Numerical);
        let t = FdTarget::centered(1.0, 15.8);
        for (nff, nrec, sff, srec) in
            [(21, 80, 1.15435, 0.19714), (112, 160, 0.49985, 0.13940), (224, 320, 0.35344, 0.09857)]
        {
            let m = fd_normal_layerwise(
                t,
                eps,
                &[Afferent { fan_in: nff, recurrent: false }, Afferent { fan_in: nrec, recurrent: true }],
                0.9,
            )
            .unwrap();
            check(m[0].std, sff, 5e-6);
            check(m[1].std, srec, 5e-6);
            assert_eq!(m[0].mean, 0.0);
        }
        // notebook 05: no recurrence, α is effectively 1
        let t = FdTarget::centered(1.0, 9.2);
        for (n, s) in [(18, 1.7224), (144, 0.6089), (288, 0.4306)] {
            let m = fd_normal_layerwise(t, eps, &[Afferent { fan_in: n, recurrent: false }], 0.9).unwrap();
            check(m[0].std, s, 5e-5);
        }
    }

    /// The §2.6 σ_w to 1e-6 relative against the FD formula evaluated with the spec's own
    /// 10-digit ε̂ values (§2.2), independently of our kernel code.
    #[test]
    fn sigma_w_to_1e6_relative_with_the_spec_epsilons() {
        // (fan-in, ν, τ_mem, dt, share of the variance, spec ε̂)
        let rows = [
            (5000, 3.0, 20e-3, 1e-3, 1.0, 0.001841948059032449, 0.5),
            (20, 5.0, 20e-3, 2e-3, 1.0, 0.0020356106, 1.0),
            (128, 5.0, 0.2, 2e-3, 1.0, 0.0002899389, 1.0),
            (700, 15.8, 20e-3, 2e-3, 1.0, 0.0020356106, 1.0),
            (128, 15.8, 20e-3, 2e-3, 1.0, 0.0020356106, 1.0),
            (128, 15.8, 0.7, 2e-3, 1.0, 0.0000857363, 1.0),
            (21, 15.8, 20e-3, 2e-3, 0.9, 0.0020356106, 1.0),
            (80, 15.8, 20e-3, 2e-3, 0.1, 0.0020356106, 1.0),
            (224, 15.8, 20e-3, 2e-3, 0.9, 0.0020356106, 1.0),
            (320, 15.8, 20e-3, 2e-3, 0.1, 0.0020356106, 1.0),
        ];
        for (n, nu, tm, dt, share, eps_hat, sigma_u) in rows {
            let want = (share * sigma_u * sigma_u / (n as f64 * nu * eps_hat)).sqrt();
            let eps = epsilon(tm, 10e-3, dt, EpsilonMode::Numerical);
            let t = FdTarget::centered(sigma_u, nu);
            let got = if share < 1.0 {
                let (ff, rec) = if share > 0.5 { (n, 1) } else { (1, n) };
                let m = fd_normal_layerwise(
                    t,
                    eps,
                    &[Afferent { fan_in: ff, recurrent: false }, Afferent { fan_in: rec, recurrent: true }],
                    0.9,
                )
                .unwrap();
                if share > 0.5 { m[0].std } else { m[1].std }
            } else {
                fd_normal_layerwise(t, eps, &[Afferent { fan_in: n, recurrent: false }], 0.9).unwrap()[0].std
            };
            assert!(rel(got, want) < 1e-6, "N = {n}, ν = {nu}: {got} vs {want}");
        }
    }

    #[test]
    fn variance_shares_sum_to_target() {
        let eps = epsilon(20e-3, 10e-3, 2e-3, EpsilonMode::Numerical);
        let t = FdTarget { mu_u: 0.3, xi: 2.0, nu: 10.0 };
        let aff = [Afferent { fan_in: 50, recurrent: false }, Afferent { fan_in: 30, recurrent: true }];
        let m = fd_normal_layerwise(t, eps, &aff, 0.8).unwrap();
        let mean_u: f64 = aff.iter().zip(&m).map(|(a, m)| a.fan_in as f64 * t.nu * m.mean * eps.bar).sum();
        let var_u: f64 = aff
            .iter()
            .zip(&m)
            .map(|(a, m)| a.fan_in as f64 * t.nu * (m.mean * m.mean + m.std * m.std) * eps.hat)
            .sum();
        assert!((mean_u - 0.3).abs() < 1e-12);
        assert!((var_u.sqrt() - 0.35).abs() < 1e-12);
    }

    #[test]
    fn impossible_target_is_a_config_error() {
        let eps = epsilon(20e-3, 10e-3, 2e-3, EpsilonMode::Numerical);
        let t = FdTarget { mu_u: 0.99, xi: 0.01, nu: 10.0 };
        assert!(fd_normal_layerwise(t, eps, &[Afferent { fan_in: 1000, recurrent: false }], 0.9).is_ok());
        let t = FdTarget { mu_u: 0.9, xi: 100.0, nu: 10.0 };
        let e = fd_normal_layerwise(t, eps, &[Afferent { fan_in: 10, recurrent: false }], 0.9);
        assert!(matches!(e, Err(Error::Config { .. })));
    }
}
