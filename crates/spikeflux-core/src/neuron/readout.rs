//! The non-spiking leaky readout (spec §1.5): the LIF's two filters without spike or reset, started
//! at `V_{−1} = initial_state`; class scores are taken from its membrane over time (`crate::train::loss`).

/// Parameters of the non-spiking leaky readout (spec §1.5). Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadoutParams {
    /// Membrane time constant in seconds (the examples use the sample duration).
    pub tau_mem: f64,
    /// Synaptic time constant in seconds; 0: no synaptic filter.
    pub tau_syn: f64,
    /// Membrane value at t = −1 ([`ReadoutParams::DEFAULT_INITIAL_STATE`] unless set; notebooks
    /// 01/02 use −1e-2).
    pub initial_state: f32,
}

impl ReadoutParams {
    /// Validates the time constants; errors name the field.
    pub fn validate(&self) -> crate::error::Result<()> {
        super::check_positive("tau_mem", self.tau_mem)?;
        super::check_tau_syn("tau_syn", self.tau_syn)?;
        crate::error::ensure!(
            self.initial_state.is_finite() && self.initial_state.abs() <= Self::MAX_INITIAL_STATE,
            "initial_state",
            format!("must be within ±{} (the threshold is 1)", Self::MAX_INITIAL_STATE),
            self.initial_state
        );
        Ok(())
    }

    /// The reference's default initial readout membrane (stork's readout group), −1e-3. The one
    /// place this default is written: configs that omit `initial_state` get it from here.
    pub const DEFAULT_INITIAL_STATE: f32 = -1e-3;

    /// The largest initial membrane magnitude accepted, in units of the threshold.
    pub const MAX_INITIAL_STATE: f32 = 1e3;

    /// Decay factors at step `dt` (seconds).
    pub fn decays(&self, dt: f64) -> ReadoutDecays {
        ReadoutDecays { mem: (-dt / self.tau_mem).exp() as f32, syn: (-dt / self.tau_syn).exp() as f32 }
    }
}

impl Default for ReadoutParams {
    /// τ_mem = 0.2 s, τ_syn = 10 ms, the reference's initial state.
    fn default() -> Self {
        ReadoutParams { tau_mem: 0.2, tau_syn: 10e-3, initial_state: Self::DEFAULT_INITIAL_STATE }
    }
}

/// Decay factors of the readout, computed once per network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadoutDecays {
    /// β_m = exp(−dt/τ_mem).
    pub mem: f32,
    /// β_s = exp(−dt/τ_syn).
    pub syn: f32,
}

/// The readout over all steps: from the accumulated input `a: [T, bc]` writes the membrane
/// `v: [T, bc]`, `V_t = β_m V_{t−1} + (1−β_m) I_{t−1}`, `I_t = β_s I_{t−1} + A_{t−1}` (the reference
/// order), or with `same_step` ([`StepOrder::Nir`](super::StepOrder::Nir), `Snntorch`)
/// `I_t = β_s I_{t−1} + A_t`, `V_t = β_m V_{t−1} + (1−β_m) I_t`; `V_{−1} = v0`, `I_{−1} = 0`;
/// `i: [bc]` is the current's scratch.
pub fn forward(a: &[f32], v: &mut [f32], i: &mut [f32], d: ReadoutDecays, v0: f32, same_step: bool) {
    let bc = i.len();
    let (bm, bs) = (d.mem, d.syn);
    i.fill(0.0);
    for t in 0..v.len() / bc.max(1) {
        let off = t * bc;
        for j in 0..bc {
            let v_prev = if t > 0 { v[off - bc + j] } else { v0 };
            if same_step {
                i[j] = bs * i[j] + a[off + j];
                v[off + j] = bm * v_prev + (1.0 - bm) * i[j];
            } else {
                let a_prev = if t > 0 { a[off - bc + j] } else { 0.0 };
                v[off + j] = bm * v_prev + (1.0 - bm) * i[j];
                i[j] = bs * i[j] + a_prev;
            }
        }
    }
}

/// The readout's adjoint over all steps, `t = T−1` down to 0: from the loss gradient on the membrane
/// `gv: [T, bc]` writes `∂A_t` into `ga: [T, bc]`, with `∂V_t = ∂V_t(ext) + β_m ∂V_{t+1}` and in the
/// reference order `∂I_t = (1−β_m) ∂V_{t+1} + β_s ∂I_{t+1}`, `∂A_t = ∂I_{t+1}`; with `same_step`
/// `∂I_t = (1−β_m) ∂V_t + β_s ∂I_{t+1}`, `∂A_t = ∂I_t`. `cgv`, `cgi: [bc]` are the carries' scratch.
pub fn adjoint(gv: &[f32], ga: &mut [f32], cgv: &mut [f32], cgi: &mut [f32], d: ReadoutDecays, same_step: bool) {
    let bc = cgv.len();
    let (bm, bs) = (d.mem, d.syn);
    cgv.fill(0.0);
    cgi.fill(0.0);
    for t in (0..gv.len() / bc.max(1)).rev() {
        let off = t * bc;
        if !same_step {
            ga[off..off + bc].copy_from_slice(cgi);
        }
        for j in 0..bc {
            let gvn = gv[off + j] + bm * cgv[j];
            let gin = (1.0 - bm) * if same_step { gvn } else { cgv[j] } + bs * cgi[j];
            cgv[j] = gvn;
            cgi[j] = gin;
        }
        if same_step {
            ga[off..off + bc].copy_from_slice(cgi);
        }
    }
}
