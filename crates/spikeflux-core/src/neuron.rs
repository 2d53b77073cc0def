//! Neuron models: current-based LIF (spec §1.1), adaptive LIF (§1.3), the readout (§1.5) and the
//! SuperSpike surrogate (§1.2).
//!
//! One step of a LIF group, with `X_{t−1}` the input accumulated during step `t−1`:
//!
//! ```text
//! S_t = H(U_{t−1} − 1)                                   (strict threshold at θ = 1)
//! I_t = β_s·I_{t−1} + X_{t−1}                            (unit gain, no (1−β_s) factor)
//! U_t = (β_m·U_{t−1} + (1−β_m)·(I_{t−1} − a·q_{t−1}))·(1 − S_t)   (reset factor detached)
//! q_t = β_a·q_{t−1} + S_{t−1}                            (adaptive only; a = 0 otherwise)
//! ```
//!
//! with `β = exp(−dt/τ)` and all state zero at `t = −1`. The readout has the same two filters, no
//! spike and no reset, and starts at `V_{−1} = initial_state`.

use crate::error::{Error, Result};

/// The surrogate derivative used for `∂S/∂U` in the backward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Surrogate {
    /// SuperSpike (fast-sigmoid derivative): `1 / (β·|U − 1| + 1)²`, peak 1 (spec §1.2).
    SuperSpike {
        /// Steepness β (dimensionless); the reference uses 20.
        beta: f32,
    },
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate::SuperSpike { beta: 20.0 }
    }
}

impl Surrogate {
    /// The surrogate derivative at `x = U − 1`.
    #[inline(always)]
    pub fn grad(&self, x: f32) -> f32 {
        match *self {
            Surrogate::SuperSpike { beta } => {
                let d = beta * x.abs() + 1.0;
                1.0 / (d * d)
            }
        }
    }
    /// The primitive of the surrogate (`x / (β|x| + 1)`), used by the smooth forward mode so that the
    /// surrogate gradient is the exact gradient of the smooth network.
    #[inline(always)]
    pub fn primitive(&self, x: f32) -> f32 {
        match *self {
            Surrogate::SuperSpike { beta } => x / (beta * x.abs() + 1.0),
        }
    }
}

/// Forward mode of the spiking nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SpikeMode {
    /// The reference: Heaviside spike, multiplicative reset to zero (detached).
    #[default]
    Spiking,
    /// For gradient checks: the spike is replaced by the surrogate's primitive and the reset is off,
    /// so the backward pass computes the exact gradient of this smooth forward.
    Smooth,
    /// Heaviside spikes as in `Spiking`, but no reset: the membrane is the free (linear) membrane of
    /// the FD theory while the spikes still drive the next layer (for initialization reports).
    NoReset,
}

/// Parameters of a LIF group (spec §1.1, §1.3). Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifParams {
    /// Membrane time constant τ_mem in seconds.
    pub tau_mem: f64,
    /// Synaptic time constant τ_syn in seconds.
    pub tau_syn: f64,
    /// Optional spike-triggered adaptation current (spec §1.3, `AdaptiveLIFGroup`).
    pub adaptation: Option<Adaptation>,
}

/// Adaptation of `AdaptiveLIFGroup` (spec §1.3): `q_t = β_a q_{t−1} + S_{t−1}`, subtracted as `a·q`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adaptation {
    /// Adaptation time constant τ_ada in seconds (reference default 0.1 s).
    pub tau_ada: f64,
    /// Strength a (in units of the membrane threshold; reference default 0.1).
    pub a: f64,
}

impl Default for Adaptation {
    fn default() -> Self {
        Adaptation { tau_ada: 0.1, a: 0.1 }
    }
}

impl Default for LifParams {
    /// The values every paper example uses: τ_mem = 20 ms, τ_syn = 10 ms.
    fn default() -> Self {
        LifParams { tau_mem: 20e-3, tau_syn: 10e-3, adaptation: None }
    }
}

/// Decay factors `exp(−dt/τ)` of a LIF group at a given dt, computed once per network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decays {
    /// β_m = exp(−dt/τ_mem).
    pub mem: f32,
    /// β_s = exp(−dt/τ_syn).
    pub syn: f32,
    /// β_a = exp(−dt/τ_ada) (1 if no adaptation).
    pub ada: f32,
    /// Adaptation strength a (0 if no adaptation).
    pub a: f32,
}

/// Checks that a time constant or step is finite and positive.
pub fn check_positive(field: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        return Err(Error::config(field, format!("must be a positive number of seconds, got {value}")));
    }
    Ok(())
}

impl LifParams {
    /// Validates the parameters; `field` names the config section in errors.
    pub fn validate(&self, field: &str) -> Result<()> {
        check_positive(&format!("{field}.tau_mem"), self.tau_mem)?;
        check_positive(&format!("{field}.tau_syn"), self.tau_syn)?;
        if let Some(ad) = self.adaptation {
            check_positive(&format!("{field}.tau_ada"), ad.tau_ada)?;
            if !ad.a.is_finite() {
                return Err(Error::config(format!("{field}.adaptation"), "must be finite"));
            }
        }
        Ok(())
    }
    /// Decay factors at step `dt` (seconds).
    pub fn decays(&self, dt: f64) -> Decays {
        let (ada, a) = match self.adaptation {
            Some(ad) => ((-dt / ad.tau_ada).exp() as f32, ad.a as f32),
            None => (1.0, 0.0),
        };
        Decays {
            mem: (-dt / self.tau_mem).exp() as f32,
            syn: (-dt / self.tau_syn).exp() as f32,
            ada,
            a,
        }
    }
}

/// Parameters of the non-spiking leaky readout (spec §1.5). Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadoutParams {
    /// Membrane time constant in seconds (the examples use the sample duration).
    pub tau_mem: f64,
    /// Synaptic time constant in seconds.
    pub tau_syn: f64,
    /// Membrane value at t = −1 (reference default −1e-3; notebooks 01/02 use −1e-2).
    pub initial_state: f32,
}

impl Default for ReadoutParams {
    fn default() -> Self {
        ReadoutParams { tau_mem: 0.2, tau_syn: 10e-3, initial_state: -1e-2 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superspike_peak_and_primitive_derivative() {
        let s = Surrogate::SuperSpike { beta: 20.0 };
        assert_eq!(s.grad(0.0), 1.0);
        assert!((s.grad(0.05) - 0.25).abs() < 1e-7);
        for &x in &[-0.3f32, -0.01, 0.02, 0.4] {
            let h = 1e-6f64;
            let p = |x: f64| x / (20.0 * x.abs() + 1.0);
            let fd = (p(x as f64 + h) - p(x as f64 - h)) / (2.0 * h);
            assert!((fd - s.grad(x) as f64).abs() < 1e-4, "x={x}: {fd} vs {}", s.grad(x));
        }
    }

    #[test]
    fn nonpositive_tau_rejected_with_field() {
        let p = LifParams { tau_mem: 0.0, ..Default::default() };
        let e = p.validate("model.hidden[0]").unwrap_err().to_string();
        assert!(e.contains("model.hidden[0].tau_mem"), "{e}");
    }
}
