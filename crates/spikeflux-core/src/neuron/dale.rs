//! The Dale E/I neuron (spec §1.4, stork's `DalianLayer` groups): a LIF membrane driven by an
//! excitatory current E (τ_exc) minus an inhibitory current J (τ_inh), each fed by its own input:
//!
//! ```text
//! U_t = (β_m U_{t−1} + (1−β_m)(E_{t−1} − J_{t−1}))(1 − S_t)
//! E_t = β_exc E_{t−1} + A^exc_{t−1},   J_t = β_inh J_{t−1} + A^inh_{t−1}
//! ```
//!
//! This is the adaptive LIF with `a = 1` and `q = J`, driven by the inhibitory input instead of the
//! own spikes; so the adjoint is [`super::lif::adjoint`] with those [`Decays`] (`∂A^exc_t = ∂E_{t+1}`,
//! `∂A^inh_t = ∂J_{t+1}`), formed by the engine.

use super::lif::{Decays, LifState};
use super::{SpikeMode, Surrogate};

/// One step of `b` rows of a Dale group of `n` neurons (spec §1.4): `ap` holds each row's
/// accumulated input as `[exc (n) | inh (n)]`; `state.i` carries the excitatory current E and `state.q`
/// the inhibitory current J: `U_t = (β_m U_{t−1} + (1−β_m)(E_{t−1} − J_{t−1}))(1 − S_t)`,
/// `E_t = β_exc E_{t−1} + A^exc_{t−1}`, `J_t = β_inh J_{t−1} + A^inh_{t−1}`.
#[allow(clippy::too_many_arguments)]
pub fn step(
    up: &[f32],
    ap: &[f32],
    u: &mut [f32],
    s: &mut [f32],
    state: LifState,
    n: usize,
    d: Decays,
    mode: SpikeMode,
    sur: Surrogate,
) {
    let LifState { i: ist, q: qst } = state;
    let (dm, dm1) = (d.mem, 1.0 - d.mem);
    for r in 0..up.len() / n {
        for k in 0..n {
            let j = r * n + k;
            let u_prev = up[j];
            let st = match mode {
                SpikeMode::Smooth => sur.primitive(u_prev - 1.0),
                _ if u_prev > 1.0 => 1.0,
                _ => 0.0,
            };
            let mut un = dm * u_prev + dm1 * (ist[j] - qst[j]);
            if mode == SpikeMode::Spiking {
                un *= 1.0 - st;
            }
            s[j] = st;
            u[j] = un;
            ist[j] = d.syn * ist[j] + ap[r * 2 * n + k];
            qst[j] = d.ada * qst[j] + ap[r * 2 * n + n + k];
        }
    }
}

