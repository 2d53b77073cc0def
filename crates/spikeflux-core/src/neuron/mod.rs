//! Neuron models, one file each, with the forward step and its adjoint side by side as pure functions
//! over typed parameters, decay factors and state:
//!
//! - [`lif`]: current-based LIF (spec §1.1) and its spike-triggered adaptation (§1.3);
//! - [`dale`]: the Dale E/I neuron with separate excitatory and inhibitory currents (§1.4);
//! - [`readout`]: the non-spiking leaky readout (§1.5);
//! - [`surrogate`]: the SuperSpike surrogate derivative (§1.2).
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
//! spike and no reset, and starts at `V_{−1} = initial_state`. The decay factors are computed once
//! per network by [`crate::engine::NetworkPlan`]; no kernel here evaluates an exponential.

use crate::error::{ensure, Result};

pub mod dale;
pub mod lif;
pub mod readout;
pub mod surrogate;

pub use lif::{Adaptation, Decays, LifParams};
pub use readout::{ReadoutDecays, ReadoutParams};
pub use surrogate::Surrogate;

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

/// The order of the operations within one simulation step, for the whole network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepOrder {
    /// The reference's (stork's, spec §1.1): the spike from the previous step's membrane, the
    /// membrane from the previous step's current, the reset discarding that step's input; an input
    /// spike first moves a hidden layer's spikes 3 steps later, a recurrent spike its own layer's
    /// current 1 step later, its spikes 3 steps later. The module doc's equations.
    #[default]
    Reference,
    /// The order of Norse and snnTorch reading a NIR graph (NIR's CubaLIF stepped by forward Euler):
    /// with `A_t = W·x_t + V·S_{t−1}`,
    /// `I_t = β_s·I_{t−1} + A_t`, `Ũ_t = β_m·U_{t−1} + (1−β_m)·I_t`, `S_t = H(Ũ_t − 1)`,
    /// `U_t = Ũ_t·(1 − S_t)` (reset to zero in the same step, detached); the readout
    /// `V_t = β_m·V_{t−1} + (1−β_m)·I_t`. An input spike moves the hidden spikes and the readout in
    /// the same step. Spiking LIF layers without adaptation and without Dale's law only.
    Nir,
    /// [`StepOrder::Nir`] with snnTorch's default reset (`reset_delay = True`, also what its NIR
    /// importer runs for recurrent layers): the step after a spike is zeroed whole, discarding that
    /// step's input, `U_t = (β_m·U_{t−1} + (1−β_m)·I_t)·(1 − S_{t−1})`, `S_t = H(U_t − 1)`.
    Snntorch,
}

impl StepOrder {
    /// The name used in configs and NIR metadata.
    pub fn name(self) -> &'static str {
        match self {
            StepOrder::Reference => "reference",
            StepOrder::Nir => "nir",
            StepOrder::Snntorch => "snntorch",
        }
    }

    /// The order named `s` ([`StepOrder::name`]).
    pub fn parse(s: &str) -> Option<Self> {
        [StepOrder::Reference, StepOrder::Nir, StepOrder::Snntorch].into_iter().find(|o| o.name() == s)
    }

    /// Whether a layer's current, membrane and spike come from the same step's input
    /// ([`StepOrder::Nir`], [`StepOrder::Snntorch`]).
    pub fn same_step(self) -> bool {
        self != StepOrder::Reference
    }
}

/// Checks that a time constant or step (seconds) is finite and positive; errors name `field`.
pub fn check_positive(field: &str, value: f64) -> Result<()> {
    ensure!(value.is_finite() && value > 0.0, field, "must be a positive number of seconds", value);
    Ok(())
}

/// Checks a synaptic time constant (seconds): positive, or 0 for no synaptic filter (β_syn = 0, so
/// the current is the previous step's input: NIR's `LIF` and `LI`, which have no synaptic current).
pub fn check_tau_syn(field: &str, value: f64) -> Result<()> {
    ensure!(value.is_finite() && value >= 0.0, field, "must be a positive number of seconds, or 0 for no synaptic filter", value);
    Ok(())
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
        let e = p.validate().unwrap_err().within("lif").to_string();
        assert!(e.contains("`lif.tau_mem`") && e.ends_with("got 0"), "{e}");
    }
}
