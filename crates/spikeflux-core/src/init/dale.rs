//! Fluctuation-driven initializers for Dale's-law groups (spec §1.4, §2.3): all weights are
//! non-negative; inhibition arrives through a separate current that is subtracted. The afferents of a
//! group fall into three sets: feed-forward excitatory (total fan-in N_ff), recurrent excitatory
//! (N_rec) and inhibitory (N_I). Both initializers choose the three distributions so that
//!
//! 1. the mean excitatory and inhibitory inputs cancel: `ε̄_exc·(N_ff·E[w_ff] + N_rec·E[w_rec]) =
//!    ε̄_inh·N_I·E[w_inh]`, hence μ_U = 0 (ν cancels);
//! 2. the feed-forward share of the excitatory variance is α: `N_ff·E[w_ff²] = α·(N_ff·E[w_ff²] +
//!    N_rec·E[w_rec²])`;
//! 3. the total variance is the target: `ν·(ε̂_exc·(N_ff·E[w_ff²] + N_rec·E[w_rec²]) +
//!    ε̂_inh·N_I·E[w_inh²]) = (θ/ξ)² = σ_U²`.
//!
//! (Campbell's theorem with random weights: the membrane variance is `ν·ε̂·Σ E[w²]`, so second moments,
//! not variances, enter.) Without recurrent afferents condition 2 drops and all excitatory weights
//! share one distribution.
//!
//! **Exponential** (`FluctuationDrivenExponentialInitializer`): `w ~ Exp(λ)`, `E[w] = 1/λ`, `E[w²] = 2/λ²`;
//! identical to stork's closed forms (tested against the spec's notebook-04 λ values).
//!
//! **Log-normal** (`SpikeInitLogNormalInitializer`): `w = exp(N(μ, 1))`, `E[w] = e^{μ+½}`,
//! `E[w²] = e^{2μ+2}`. With μ_rec = μ_ff + δ_REC and μ_inh = μ_ff + δ_EI the three conditions give
//!
//! ```text
//! δ_REC = ½·ln((1−α)·N_ff / (α·N_rec))                       (condition 2)
//! δ_EI  = ln(ε̄_exc·(N_ff + N_rec·e^{δ_REC}) / (ε̄_inh·N_I))     (condition 1)
//! μ_ff  = ½·(ln(θ² / (ξ²·ν·(ε̂_exc·(N_ff + N_rec·e^{2δ_REC}) + ε̂_inh·N_I·e^{2δ_EI}))) − 2)   (3)
//! ```
//!
//! **Deviation:** these are the *corrected* formulas. stork's recurrent branch computes
//! `δ_REC = ½·ln((1−α)N_ff) − ln(α·N_rec)` (the second log lacks its ½) and `δ_EI = ½·ln(…)` (a ½ too
//! many), which breaks conditions 2 and 1 (spec §2.3 "probable bugs"). The non-recurrent branch and
//! μ_ff agree with stork. A Monte-Carlo test simulates the Dale neuron's free membrane and finds mean
//! 0 and variance σ_U².

use super::Epsilon;
use crate::error::{ensure, Result};
use crate::rng::{normal, uniform, SfRng};

/// Total fan-ins of a Dale group's three afferent sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaleFanIn {
    /// Feed-forward excitatory (e.g. input → E).
    pub ff: usize,
    /// Recurrent excitatory (E → E, E → I); 0 without recurrence.
    pub rec: usize,
    /// Inhibitory (I → E, I → I).
    pub inh: usize,
}

/// The PSP integrals of a Dale group: excitatory current (τ_mem, τ_exc) and inhibitory (τ_mem, τ_inh).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DaleEpsilon {
    /// ε̄, ε̂ of the excitatory current.
    pub exc: Epsilon,
    /// ε̄, ε̂ of the inhibitory current.
    pub inh: Epsilon,
}

/// One parameter per afferent set: λ (exponential rates) or μ (log-normal locations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DaleParams {
    /// Feed-forward excitatory.
    pub ff: f64,
    /// Recurrent excitatory (equal to `ff` without recurrence).
    pub rec: f64,
    /// Inhibitory.
    pub inh: f64,
}

fn check(n: DaleFanIn, sigma_u: f64, nu: f64, alpha: f64) -> Result<()> {
    ensure!(n.inh > 0 && n.ff + n.rec > 0, "", "a Dale group needs at least one excitatory and one inhibitory afferent");
    ensure!(n.ff > 0, "", "a Dale group needs a feed-forward excitatory afferent");
    ensure!(nu.is_finite() && nu > 0.0, "nu", "must be a positive rate in Hz", nu);
    ensure!(sigma_u.is_finite() && sigma_u > 0.0, "sigma_u", "must be positive", sigma_u);
    ensure!(n.rec == 0 || (alpha > 0.0 && alpha < 1.0), "alpha", "must be in (0, 1) for a recurrent Dale layer", alpha);
    Ok(())
}

/// The PSP integrals of both populations must be positive (they are not for a layer without
/// synaptic filter under the analytical ε).
fn check_eps(eps: DaleEpsilon) -> Result<()> {
    ensure!(
        [eps.exc.bar, eps.exc.hat, eps.inh.bar, eps.inh.hat].iter().all(|&x| x > 0.0),
        "epsilon",
        "the analytical PSP integrals are 0 for a group without synaptic filter (tau_syn = 0); use epsilon = \"numerical\""
    );
    Ok(())
}

/// Rates λ of the exponential FD initializer (θ = 1, ξ = 1/σ_U, μ_U = 0), stork's closed forms.
///
/// # Errors
/// [`Error::Config`](crate::Error::Config) for a group without excitatory or inhibitory afferents, a non-positive rate or
/// σ_U, or α outside (0, 1) with recurrence.
pub fn exponential_rates(n: DaleFanIn, eps: DaleEpsilon, sigma_u: f64, nu: f64, alpha: f64) -> Result<DaleParams> {
    check(n, sigma_u, nu, alpha)?;
    check_eps(eps)?;
    let (xi, theta) = (1.0 / sigma_u, 1.0);
    let (nff, nrec, ni) = (n.ff as f64, n.rec as f64, n.inh as f64);
    let (e, i) = (eps.exc, eps.inh);
    if n.rec > 0 {
        let d_rec = (alpha * nrec / ((1.0 - alpha) * nff)).sqrt();
        let d_ei = d_rec * i.bar * ni / (d_rec * e.bar * nff + e.bar * nrec);
        let lff = xi * 2f64.sqrt() * nu.sqrt() * (d_ei * d_ei * e.hat * nrec + d_rec * d_rec * (nff * d_ei * d_ei * e.hat + i.hat * ni)).sqrt()
            / (theta * d_ei * d_rec);
        Ok(DaleParams { ff: lff, rec: lff * d_rec, inh: lff * d_ei })
    } else {
        let d_ei = ni * i.bar / (nff * e.bar);
        let lff = xi * 2f64.sqrt() * (d_ei * d_ei * nff * nu * e.hat + ni * nu * i.hat).sqrt() / (d_ei * theta);
        Ok(DaleParams { ff: lff, rec: lff, inh: lff * d_ei })
    }
}

/// Locations μ of the log-normal FD initializer, w = exp(N(μ, 1)), with the corrected formulas
/// (module docs).
///
/// # Errors
/// As [`exponential_rates`].
pub fn lognormal_locations(n: DaleFanIn, eps: DaleEpsilon, sigma_u: f64, nu: f64, alpha: f64) -> Result<DaleParams> {
    check(n, sigma_u, nu, alpha)?;
    check_eps(eps)?;
    let (xi, theta) = (1.0 / sigma_u, 1.0);
    let (nff, nrec, ni) = (n.ff as f64, n.rec as f64, n.inh as f64);
    let (e, i) = (eps.exc, eps.inh);
    let d_rec = if n.rec > 0 { 0.5 * ((1.0 - alpha) * nff / (alpha * nrec)).ln() } else { 0.0 };
    let d_ei = (e.bar * (nff + nrec * d_rec.exp()) / (i.bar * ni)).ln();
    let denom = xi * xi * nu * (e.hat * (nff + nrec * (2.0 * d_rec).exp()) + i.hat * ni * (2.0 * d_ei).exp());
    let mu_ff = 0.5 * ((theta * theta / denom).ln() - 2.0);
    Ok(DaleParams { ff: mu_ff, rec: mu_ff + d_rec, inh: mu_ff + d_ei })
}

/// Fills `w` with Exp(λ) draws (inverse CDF).
pub fn fill_exponential(w: &mut [f32], lambda: f64, rng: &mut SfRng) {
    for x in w.iter_mut() {
        *x = (-(1.0 - uniform(rng)).ln() / lambda) as f32;
    }
}

/// Fills `w` with exp(N(μ, 1)) draws.
pub fn fill_lognormal(w: &mut [f32], mu: f64, rng: &mut SfRng) {
    for x in w.iter_mut() {
        *x = (mu + normal(rng)).exp() as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init::{epsilon, lif_kernel, EpsilonMode};
    use crate::rng::rng_for;

    fn nb04() -> (DaleFanIn, DaleEpsilon) {
        let dt = 2e-3;
        let eps = DaleEpsilon {
            exc: epsilon(20e-3, 10e-3, dt, EpsilonMode::Numerical),
            inh: epsilon(20e-3, 20e-3, dt, EpsilonMode::Numerical),
        };
        (DaleFanIn { ff: 700, rec: 128, inh: 32 }, eps)
    }

    /// Spec §2.3: notebook 04's λ_ff = 31.8373, λ_rec = 40.8426, λ_inh = 2.42543 (to 1e-5 relative).
    #[test]
    fn exponential_rates_match_notebook_04() {
        let (n, eps) = nb04();
        let l = exponential_rates(n, eps, 1.0, 15.8, 0.9).unwrap();
        for (got, want) in [(l.ff, 31.8373), (l.rec, 40.8426), (l.inh, 2.42543)] {
            assert!((got / want - 1.0).abs() < 1e-5, "{got} vs {want}");
        }
        // mean weights of the spec: 0.03141 (ff), 0.02448 (rec), 0.4123 (inh)
        for (got, want) in [(1.0 / l.ff, 0.03141), (1.0 / l.rec, 0.02448), (1.0 / l.inh, 0.4123)] {
            assert!((got / want - 1.0).abs() < 2e-4, "{got} vs {want}");
        }
    }

    /// The three design conditions hold exactly for both initializers, with and without recurrence.
    #[test]
    fn both_initializers_balance_the_mean_and_hit_the_variance() {
        let (n, eps) = nb04();
        let nu = 15.8;
        for fan in [n, DaleFanIn { rec: 0, ..n }] {
            let l = exponential_rates(fan, eps, 0.7, nu, 0.9).unwrap();
            let m = lognormal_locations(fan, eps, 0.7, nu, 0.9).unwrap();
            let moments = [
                (1.0 / l.ff, 2.0 / (l.ff * l.ff), 1.0 / l.rec, 2.0 / (l.rec * l.rec), 1.0 / l.inh, 2.0 / (l.inh * l.inh)),
                ((m.ff + 0.5).exp(), (2.0 * m.ff + 2.0).exp(), (m.rec + 0.5).exp(), (2.0 * m.rec + 2.0).exp(), (m.inh + 0.5).exp(), (2.0 * m.inh + 2.0).exp()),
            ];
            for (m1ff, m2ff, m1rec, m2rec, m1i, m2i) in moments {
                let (nff, nrec, ni) = (fan.ff as f64, fan.rec as f64, fan.inh as f64);
                let mean = nu * (eps.exc.bar * (nff * m1ff + nrec * m1rec) - eps.inh.bar * ni * m1i);
                let var = nu * (eps.exc.hat * (nff * m2ff + nrec * m2rec) + eps.inh.hat * ni * m2i);
                assert!(mean.abs() < 1e-9, "mean input {mean}");
                assert!((var / 0.49 - 1.0).abs() < 1e-9, "variance {var}");
                if fan.rec > 0 {
                    let share = nff * m2ff / (nff * m2ff + nrec * m2rec);
                    assert!((share - 0.9).abs() < 1e-9, "ff share {share}");
                }
            }
        }
    }

    /// Monte Carlo, in two parts. (a) Over 20 000 weight draws of the corrected log-normal
    /// initializer, the Campbell mean input averages 0 and the variance σ_U². (b) Simulated Dale
    /// neurons (exc and inh currents with their own time constants, no threshold) driven by independent
    /// Bernoulli(ν·dt) inputs have the membrane mean and temporal variance Campbell's theorem predicts
    /// from their drawn weights, so (a) is a statement about the actual membrane.
    #[test]
    fn lognormal_monte_carlo_mean_zero_variance_sigma_u() {
        let (n, eps) = nb04();
        let (nu, sigma_u, dt) = (15.8, 1.0, 2e-3);
        let m = lognormal_locations(n, eps, sigma_u, nu, 0.9).unwrap();
        let mut rng = rng_for(11, 0);
        let draw = |rng: &mut SfRng| {
            let mut w_exc = vec![0f32; n.ff + n.rec];
            fill_lognormal(&mut w_exc[..n.ff], m.ff, rng);
            fill_lognormal(&mut w_exc[n.ff..], m.rec, rng);
            let mut w_inh = vec![0f32; n.inh];
            fill_lognormal(&mut w_inh, m.inh, rng);
            (w_exc, w_inh)
        };
        let sum = |w: &[f32], f: fn(f64) -> f64| w.iter().map(|&x| f(f64::from(x))).sum::<f64>();
        let campbell = |we: &[f32], wi: &[f32]| {
            let mean = nu * (eps.exc.bar * sum(we, |x| x) - eps.inh.bar * sum(wi, |x| x));
            let var = nu * (eps.exc.hat * sum(we, |x| x * x) + eps.inh.hat * sum(wi, |x| x * x));
            (mean, var)
        };
        // (a) expectation over the weight distribution
        let k = 20_000;
        let (mut mean_a, mut var_a, mut mean_sq) = (0.0, 0.0, 0.0);
        for _ in 0..k {
            let (we, wi) = draw(&mut rng);
            let (mu, var) = campbell(&we, &wi);
            mean_a += mu / k as f64;
            mean_sq += mu * mu / k as f64;
            var_a += var / k as f64;
        }
        let se = (mean_sq - mean_a * mean_a).sqrt() / (k as f64).sqrt();
        eprintln!("over {k} weight draws: mean input {mean_a:.4} (s.e. {se:.4}), variance {var_a:.4}; target 0 and 1");
        assert!(mean_a.abs() < 4.0 * se, "mean input {mean_a} (s.e. {se})");
        assert!((var_a - sigma_u * sigma_u).abs() < 0.03, "variance {var_a}");
        // (b) the simulated membrane follows Campbell's theorem
        let (bm, be, bi) = ((-dt / 20e-3f64).exp(), (-dt / 10e-3f64).exp(), (-dt / 20e-3f64).exp());
        let (neurons, steps, burn) = (24, 4000, 200);
        let p = nu * dt;
        let (mut ratio, mut mean_err) = (0.0, 0.0f64);
        for _ in 0..neurons {
            let (we, wi) = draw(&mut rng);
            let (mu, var) = campbell(&we, &wi);
            let (mut u, mut e, mut j) = (0.0f64, 0.0f64, 0.0f64);
            let (mut s1, mut s2, mut c) = (0.0, 0.0, 0.0);
            for t in 0..steps {
                let xe: f64 = we.iter().filter(|_| uniform(&mut rng) < p).map(|&w| f64::from(w)).sum();
                let xi: f64 = wi.iter().filter(|_| uniform(&mut rng) < p).map(|&w| f64::from(w)).sum();
                // spec §1.4 without threshold: U uses the old currents, currents add the input
                u = bm * u + (1.0 - bm) * (e - j);
                e = be * e + xe;
                j = bi * j + xi;
                if t >= burn {
                    s1 += u;
                    s2 += u * u;
                    c += 1.0;
                }
            }
            let (m1, v1) = (s1 / c, s2 / c - (s1 / c).powi(2));
            // Bernoulli inputs: count variance p(1 − p) instead of Poisson's p
            ratio += v1 / (var * (1.0 - p)) / neurons as f64;
            mean_err += (m1 - mu).abs() / var.sqrt() / neurons as f64;
        }
        eprintln!("simulated/Campbell variance {ratio:.4}; mean |error| of the membrane mean {mean_err:.3} σ");
        assert!((ratio - 1.0).abs() < 0.05, "variance ratio {ratio}");
        assert!(mean_err < 0.15, "mean error {mean_err} σ");
        // the kernel the theory integrates is the simulated one
        assert_eq!(lif_kernel(20e-3, 10e-3, dt)[1], 1.0 - bm);
    }
}
