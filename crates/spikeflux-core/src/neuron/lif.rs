//! The current-based LIF neuron (spec §1.1) with optional spike-triggered adaptation (§1.3,
//! stork's `AdaptiveLIFGroup`): parameters, decay factors, the forward step and its adjoint.
//!
//! Forward (module doc of [`crate::neuron`]): `S_t = H(U_{t−1} − 1)`, `I_t = β_s I_{t−1} + A_{t−1}`,
//! `U_t = (β_m U_{t−1} + (1−β_m)(I_{t−1} − a q_{t−1}))(1 − S_t)`, `q_t = β_a q_{t−1} + S_{t−1}`.
//!
//! ## Adjoint (hand-derived)
//! With `r_t = 1 − S_t` held constant (the reset is detached) and σ' the surrogate, going from
//! `t = T−1` down to 0 with all `·_T` terms zero and `A_t` the input accumulated in step t:
//!
//! ```text
//! ∂A_t = ∂I_{t+1}
//! ∂S_t = ∂S_t(ext) + ∂A_t·Vᵀ + ∂q_{t+1}
//! ∂U_t = β_m r_{t+1} ∂U_{t+1} + σ'(U_t − 1) ∂S_{t+1}
//! ∂I_t = (1−β_m) r_{t+1} ∂U_{t+1} + β_s ∂I_{t+1}
//! ∂q_t = −a(1−β_m) r_{t+1} ∂U_{t+1} + β_a ∂q_{t+1}
//! ```
//!
//! [`adjoint`] performs the last three lines for one step; the engine forms `∂S_t`.

use super::{check_positive, check_tau_syn, SpikeMode, Surrogate};
use crate::error::{ensure, Result};

/// Parameters of a LIF group (spec §1.1, §1.3). Times in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LifParams {
    /// Membrane time constant τ_mem in seconds.
    pub tau_mem: f64,
    /// Synaptic time constant τ_syn in seconds; 0: no synaptic filter (`β_s = 0`, the current is
    /// the previous step's input).
    pub tau_syn: f64,
    /// Optional spike-triggered adaptation current (spec §1.3, `AdaptiveLIFGroup`).
    pub adaptation: Option<Adaptation>,
}

/// Adaptation of `AdaptiveLIFGroup` (spec §1.3): `q_t = β_a q_{t−1} + S_{t−1}`, subtracted as `a·q`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
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

/// Decay factors `exp(−dt/τ)` of a LIF group at a given dt, computed once per network (by
/// [`crate::engine::NetworkPlan`]). A Dale group uses `ada` for its inhibitory current and `a = 1`.
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

impl LifParams {
    /// Validates the parameters; errors name the field (`tau_mem`, `adaptation.tau_ada`, …).
    pub fn validate(&self) -> Result<()> {
        check_positive("tau_mem", self.tau_mem)?;
        check_tau_syn("tau_syn", self.tau_syn)?;
        if let Some(ad) = self.adaptation {
            check_positive("adaptation.tau_ada", ad.tau_ada)?;
            ensure!(ad.a.is_finite(), "adaptation.a", "must be finite", ad.a);
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

/// The carried state of `b·n` LIF neurons between steps: synaptic current `I` and adaptation `q`
/// (`q` is unused, but kept, without adaptation).
#[derive(Debug)]
pub struct LifState<'a> {
    /// Synaptic current I, `[b, n]`.
    pub i: &'a mut [f32],
    /// Adaptation variable q (spikes low-pass filtered), `[b, n]`.
    pub q: &'a mut [f32],
}

/// The adjoint carries of `b·n` LIF neurons: `∂U_{t+1}`, `∂I_{t+1}`, `∂q_{t+1}` and `∂S_{t+1}`,
/// replaced by their values at `t` in each [`adjoint`] step.
#[derive(Debug)]
pub struct LifAdjointState<'a> {
    /// ∂U, `[b, n]`.
    pub gu: &'a mut [f32],
    /// ∂I, `[b, n]`.
    pub gi: &'a mut [f32],
    /// ∂q, `[b, n]`.
    pub gq: &'a mut [f32],
    /// ∂S of the following step, `[b, n]`.
    pub gs: &'a mut [f32],
}

/// One LIF step for `b·n` neurons: from the previous membrane `up`, accumulated input `ap` and
/// spikes `sp` (zeros at t = 0) and the carried current and adaptation in `state`, writes the new
/// membrane `u` and spikes `s` and advances `state` (module doc for the equations). Used for
/// the smooth and no-reset modes and adaptive neurons; spiking neurons without adaptation take
/// [`step_row_spiking`].
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn step(
    up: &[f32],
    ap: &[f32],
    sp: &[f32],
    u: &mut [f32],
    s: &mut [f32],
    state: LifState,
    d: Decays,
    mode: SpikeMode,
    sur: Surrogate,
) {
    let LifState { i: ist, q: qst } = state;
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    let smooth = mode == SpikeMode::Smooth;
    let reset = mode == SpikeMode::Spiking;
    for j in 0..u.len() {
        let (u_prev, i_prev, q_prev) = (up[j], ist[j], qst[j]);
        let st = if smooth {
            sur.primitive(u_prev - 1.0)
        } else if u_prev > 1.0 {
            1.0
        } else {
            0.0
        };
        let mut un = dm * u_prev + dm1 * (i_prev - d.a * q_prev);
        if reset {
            un *= 1.0 - st;
        }
        s[j] = st;
        u[j] = un;
        ist[j] = ds * i_prev + ap[j];
        qst[j] = d.ada * q_prev + sp[j];
    }
}

/// The LIF step of spiking neurons without adaptation ([`step`]'s equations with `a = 0` and
/// the reset), fused with the event extraction: one row of `n` neurons, 16 at a time (a vectorized
/// block that also yields a bit mask of its spikes). Calls `on_spike(k)` for each neuron `k` that
/// spikes, in ascending order. The spikes are also written to `s` (1 or 0) where given; callers
/// whose record of the spikes is the events pass `None` (one memory stream fewer; notebook 05's
/// training 5.9 % faster, BENCHMARKS.md).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn step_row_spiking(up: &[f32], ap: &[f32], u: &mut [f32], s: Option<&mut [f32]>, ist: &mut [f32], d: Decays, on_spike: impl FnMut(usize)) {
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    let one = |up: f32, ap: f32, u: &mut f32, i: &mut f32| -> bool {
        let st = if up > 1.0 { 1.0 } else { 0.0 };
        *u = (dm * up + dm1 * *i) * (1.0 - st);
        *i = ds * *i + ap;
        up > 1.0
    };
    match s {
        Some(s) => rows_in_blocks::<true>(up, ap, u, s, ist, one, on_spike),
        None => rows_in_blocks::<false>(up, ap, u, &mut [], ist, one, on_spike),
    }
}

/// Runs `one(up, a, u, i) -> spiked` over one row, 16 neurons at a time, each block's spikes
/// gathered in a bit mask and passed to `on_spike(k)` in ascending `k` (no branch per neuron), and
/// with `S` written to `s` as 1 or 0 (`s` unused, and may be empty, without `S`); the shared driver of [`step_row_spiking`] and
/// [`step_row_spiking_nir`].
#[inline(always)]
fn rows_in_blocks<const S: bool>(up: &[f32], a: &[f32], u: &mut [f32], s: &mut [f32], ist: &mut [f32], one: impl Fn(f32, f32, &mut f32, &mut f32) -> bool, mut on_spike: impl FnMut(usize)) {
    const K: usize = 16;
    let n = u.len();
    let (upc, _) = up[..n].as_chunks::<K>();
    let (ac, _) = a[..n].as_chunks::<K>();
    let (uc, _) = u.as_chunks_mut::<K>();
    let (ic, _) = ist[..n].as_chunks_mut::<K>();
    let s = if S { &mut s[..n] } else { s };
    let (sc, _) = s.as_chunks_mut::<K>();
    let full = uc.len() * K;
    for (bi, (((upb, ab), ub), ib)) in upc.iter().zip(ac).zip(uc.iter_mut()).zip(ic.iter_mut()).enumerate() {
        let mut mask = 0u32;
        for k in 0..K {
            mask |= u32::from(one(upb[k], ab[k], &mut ub[k], &mut ib[k])) << k;
        }
        if S {
            for (k, sv) in sc[bi].iter_mut().enumerate() {
                *sv = if mask >> k & 1 == 1 { 1.0 } else { 0.0 };
            }
        }
        while mask != 0 {
            on_spike(bi * K + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
    }
    for j in full..n {
        let spiked = one(up[j], a[j], &mut u[j], &mut ist[j]);
        if S {
            s[j] = if spiked { 1.0 } else { 0.0 };
        }
        if spiked {
            on_spike(j);
        }
    }
}

/// One LIF step in [`StepOrder::Nir`](super::StepOrder::Nir) for `b·n` neurons without
/// adaptation: from the previous step's pre-reset membrane `up` (`Ũ_{t−1}`, zeros at t = 0), this
/// step's accumulated input `a` (`A_t`) and the carried current `i`, writes this step's pre-reset
/// membrane `u` (`Ũ_t`, what the adjoint reads) and spikes `s`, and advances `i`:
/// `I_t = β_s I_{t−1} + A_t`, `Ũ_t = β_m U_{t−1} + (1−β_m) I_t`, `S_t = H(Ũ_t − 1)` (smooth mode:
/// the surrogate's primitive), with `U_{t−1} = Ũ_{t−1}(1 − S_{t−1})` in spiking mode and
/// `U_{t−1} = Ũ_{t−1}` otherwise. With `delayed` ([`StepOrder::Snntorch`](super::StepOrder::Snntorch))
/// the reset instead zeroes the whole step after a spike, `Ũ_t = (β_m Ũ_{t−1} + (1−β_m) I_t)(1 − S_{t−1})`
/// (spiking mode). Spiking neurons take [`step_row_spiking_nir`].
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn step_nir(up: &[f32], a: &[f32], u: &mut [f32], s: &mut [f32], i: &mut [f32], d: Decays, mode: SpikeMode, sur: Surrogate, delayed: bool) {
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    let smooth = mode == SpikeMode::Smooth;
    let reset = mode == SpikeMode::Spiking;
    for j in 0..u.len() {
        let fired = reset && up[j] > 1.0;
        let it = ds * i[j] + a[j];
        let un = if !fired {
            dm * up[j] + dm1 * it
        } else if delayed {
            0.0
        } else {
            dm1 * it
        };
        s[j] = if smooth {
            sur.primitive(un - 1.0)
        } else if un > 1.0 {
            1.0
        } else {
            0.0
        };
        u[j] = un;
        i[j] = it;
    }
}

/// [`step_nir`] for spiking neurons, fused with the event extraction like [`step_row_spiking`]: one
/// row of `n` neurons, `on_spike(k)` for each neuron `k` that spikes in this step, in ascending order,
/// the spikes written to `s` where given.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn step_row_spiking_nir(up: &[f32], a: &[f32], u: &mut [f32], s: Option<&mut [f32]>, ist: &mut [f32], d: Decays, delayed: bool, on_spike: impl FnMut(usize)) {
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    // the step after a spike: the membrane starts from 0 and takes the new current, or (snnTorch's
    // delayed reset) is zeroed whole
    let gain_after_spike = if delayed { 0.0 } else { dm1 };
    let one = |up: f32, a: f32, u: &mut f32, i: &mut f32| -> bool {
        *i = ds * *i + a;
        let un = if up > 1.0 { gain_after_spike * *i } else { dm * up + dm1 * *i };
        *u = un;
        un > 1.0
    };
    match s {
        Some(s) => rows_in_blocks::<true>(up, a, u, s, ist, one, on_spike),
        None => rows_in_blocks::<false>(up, a, u, &mut [], ist, one, on_spike),
    }
}

/// One step of the LIF adjoint (module doc): from `∂·_{t+1}` in the carries to `∂·_t`, with `u` the
/// membrane at t and `gs` the complete `∂S_t`. With `reset`, the spike at t+1, `S_{t+1} = H(U_t − 1)`,
/// zeroes `∂U_{t+1}`'s path (off in smooth and no-reset modes and after the last step).
#[inline]
pub fn adjoint(
    u: &[f32],
    gs: &[f32],
    reset: bool,
    carry: LifAdjointState,
    d: Decays,
    sur: Surrogate,
) {
    let LifAdjointState { gu: cgu, gi: cgi, gq: cgq, gs: cgs } = carry;
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    if d.a == 0.0 {
        for ((((gu, gi), gsc), &u), &gs) in cgu.iter_mut().zip(cgi.iter_mut()).zip(cgs.iter_mut()).zip(u).zip(gs) {
            let sn = if reset && u > 1.0 { 1.0 } else { 0.0 };
            let gun = *gu * (1.0 - sn);
            let sg = sur.grad(u - 1.0);
            *gu = dm * gun + sg * *gsc;
            *gi = dm1 * gun + ds * *gi;
            *gsc = gs;
        }
        return;
    }
    for j in 0..u.len() {
        let sn = if reset && u[j] > 1.0 { 1.0 } else { 0.0 };
        let gun = cgu[j] * (1.0 - sn);
        let sg = sur.grad(u[j] - 1.0);
        let gu = dm * gun + sg * cgs[j];
        let gi = dm1 * gun + ds * cgi[j];
        let gq = -d.a * dm1 * gun + d.ada * cgq[j];
        cgu[j] = gu;
        cgi[j] = gi;
        cgq[j] = gq;
        cgs[j] = gs[j];
    }
}

/// [`adjoint`] without adaptation, fused with the two passes around it: writes `∂A_t = ∂I_{t+1}`
/// (the current carry, before the step) into `ga` and takes `∂S_t` as `gs + add` (`add`: the
/// regularizer's gradient, the same every step). Equal to `ga.copy_from_slice(gi)`, adding `add`
/// to `gs`, then [`adjoint`], in one pass over the neurons.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn adjoint_input(u: &[f32], gs: &[f32], add: Option<&[f32]>, reset: bool, carry: LifAdjointState, ga: &mut [f32], d: Decays, sur: Surrogate) {
    debug_assert_eq!(d.a, 0.0, "adjoint_input is for neurons without adaptation");
    match add {
        Some(add) => adjoint_input_rows::<true>(u, gs, add, reset, carry, ga, d, sur),
        None => adjoint_input_rows::<false>(u, gs, gs, reset, carry, ga, d, sur),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn adjoint_input_rows<const ADD: bool>(u: &[f32], gs: &[f32], add: &[f32], reset: bool, carry: LifAdjointState, ga: &mut [f32], d: Decays, sur: Surrogate) {
    let LifAdjointState { gu: cgu, gi: cgi, gs: cgs, .. } = carry;
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    let n = u.len();
    let (gs, add, ga, cgu, cgi, cgs) = (&gs[..n], &add[..n], &mut ga[..n], &mut cgu[..n], &mut cgi[..n], &mut cgs[..n]);
    for j in 0..n {
        let u = u[j];
        let sn = if reset && u > 1.0 { 1.0 } else { 0.0 };
        let gun = cgu[j] * (1.0 - sn);
        let sg = sur.grad(u - 1.0);
        ga[j] = cgi[j];
        cgu[j] = dm * gun + sg * cgs[j];
        cgi[j] = dm1 * gun + ds * cgi[j];
        cgs[j] = if ADD { gs[j] + add[j] } else { gs[j] };
    }
}


/// One step of the LIF adjoint in [`StepOrder::Nir`](super::StepOrder::Nir) (no adaptation): with
/// the carries holding `∂Ũ_{t+1}` and `∂I_{t+1}`, `u` the stored `Ũ_t` and `gs` the complete `∂S_t`
/// (which includes `Vᵀ ∂A_{t+1}`), replaces them by
/// `∂Ũ_t = σ'(Ũ_t − 1) ∂S_t + β_m (1 − S_t) ∂Ũ_{t+1}` (the factor `1 − S_t` with `reset`, i.e. in
/// spiking mode) and `∂I_t = (1−β_m) ∂Ũ_t + β_s ∂I_{t+1}`; then `∂A_t = ∂I_t`. With `u_prev`
/// (the stored `U_{t−1}`, [`StepOrder::Snntorch`](super::StepOrder::Snntorch)'s delayed reset in
/// spiking mode) the path into the current carries the reset factor too:
/// `∂I_t = (1−β_m)(1 − S_{t−1}) ∂U_t + β_s ∂I_{t+1}`.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn adjoint_nir(u: &[f32], u_prev: Option<&[f32]>, gs: &[f32], reset: bool, gu: &mut [f32], gi: &mut [f32], d: Decays, sur: Surrogate) {
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    for (j, ((gu, gi), (&u, &gs))) in gu.iter_mut().zip(gi.iter_mut()).zip(u.iter().zip(gs)).enumerate() {
        let keep = if reset && u > 1.0 { 0.0 } else { 1.0 };
        let g = sur.grad(u - 1.0) * gs + dm * keep * *gu;
        let into_current = match u_prev {
            Some(up) if up[j] > 1.0 => 0.0,
            _ => dm1,
        };
        *gi = into_current * g + ds * *gi;
        *gu = g;
    }
}
