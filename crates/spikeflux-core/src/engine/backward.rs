//! Backpropagation through time for one batch slice (hand-derived adjoint; spec §1).
//!
//! The readout's adjoint ([`crate::neuron::readout::adjoint`]) gives `∂A` of the readout input;
//! then, from the last hidden layer down, each layer completes `∂S_t` (from the layer above, its own
//! recurrence, adaptation and the regularizer) and runs the neuron adjoint
//! ([`crate::neuron::lif::adjoint`]) from `t = T−1` to 0, after which its weight gradients
//! `∂W = Σ_t x_tᵀ ∂A_t`, `∂V = Σ_t S_tᵀ ∂A_t` and the input gradient `∂x_t = ∂A_t Wᵀ` are one product
//! each. The reset spike `S_{t+1} = H(U_t − 1)` is read from the stored membrane.
//!
//! In [`StepOrder::Nir`] ([`crate::neuron::lif::adjoint_nir`]) `∂A_t = ∂I_t`, the recurrence adds
//! `Vᵀ ∂A_{t+1}` to `∂S_t`, `∂V = Σ_t S_tᵀ ∂A_{t+1}`, and the reset `S_t = H(Ũ_t − 1)` is read
//! from the stored pre-reset membrane of the same step.

use super::conn::{conn_input_grad, conn_input_grad_prepare, conn_weight_grad, output_of, Src};
use super::workspace::Workspace;
use super::{EngineOptions, Pass};
use crate::linalg;
use crate::network::Network;
use crate::neuron::lif::{self, LifAdjointState};
use crate::neuron::{readout, SpikeMode, StepOrder};

/// Backpropagation through time of the loss seeded by [`crate::train::loss::compute`]; writes
/// `ws.grads` (replaced).
pub fn backward(net: &Network, opts: &EngineOptions, ws: &mut Workspace) {
    let (spec, geoms, sur) = (&net.spec, &net.plan.geoms, net.spec.surrogate);
    let Pass { t_steps, b, rows, dense, smooth } = Pass::of(opts, ws);
    let nir = spec.step_order.same_step();
    let delayed = spec.step_order == StepOrder::Snntorch;
    ws.grads.fill(0.0);
    // readout
    let c = spec.n_out;
    let bc = b * c;
    let len = t_steps * bc;
    readout::adjoint(&ws.rgv[..len], &mut ws.rga[..len], &mut ws.r_c_gv[..bc], &mut ws.r_c_gi[..bc], net.plan.readout, nir);
    let l_last = geoms.len() - 1;
    let n_last = geoms[l_last].output().n();
    {
        let ro = net.plan.readout_conn();
        let pooled = geoms[l_last].dense_output();
        let src = output_of(&ws.layers[l_last], &geoms[l_last], rows, dense);
        conn_weight_grad(&ro, None, src, &ws.rga[..len], &mut ws.grads[net.layout.readout.clone()], rows, dense, &mut ws.dwr);
        let w = &net.params[net.layout.readout.clone()];
        let lb = &mut ws.layers[l_last];
        let gout = if pooled { &mut lb.gp[..rows * n_last] } else { &mut lb.gs[..rows * n_last] };
        conn_input_grad(&ro, &ws.rga[..len], w, &ws.wt, gout, rows, false, &mut ws.scratch);
    }
    for l in (0..geoms.len()).rev() {
        let g = &geoms[l];
        let n = g.n();
        let bn = b * n;
        let len = t_steps * bn;
        let d = net.plan.layers[l].decays;
        let (before, rest) = ws.layers.split_at_mut(l);
        let lb = &mut rest[0];
        if g.pool > 1 {
            let np = g.output().n();
            lb.gs[..len].fill(0.0);
            linalg::maxpool_backward(g.group.channels, [g.group.height, g.group.width], g.pool_window(), &lb.gp[..rows * np], &lb.pidx[..rows * np], &mut lb.gs[..len]);
        }
        if let Some(ne) = g.dale {
            for (gs, gp) in lb.gs[..len].chunks_exact_mut(n).zip(lb.gp[..rows * ne].chunks_exact(ne)) {
                gs[..ne].copy_from_slice(gp);
                gs[ne..].fill(0.0);
            }
        }
        let bn_in = b * g.n_input();
        // the regularizer gradient is the same for every step (added in the time loop, where ∂S_t is
        // in cache; skipped when no count exceeds its bound)
        let reg = lb.dcnt[..bn].iter().any(|&x| x != 0.0);
        let rec = net.layout.rec[l].clone().map(|r| &net.params[r]);
        let (cgu, cgi, cgq, cgs) = (&mut lb.c_gu[..bn], &mut lb.c_gi[..bn], &mut lb.c_gq[..bn], &mut lb.c_gs[..bn]);
        cgu.fill(0.0);
        cgi.fill(0.0);
        cgq.fill(0.0);
        cgs.fill(0.0);
        let adaptive = d.a != 0.0 && g.dale.is_none();
        if let (Some(v), Some(rg)) = (rec, &g.rec) {
            conn_input_grad_prepare(rg, v, &mut ws.wt);
        }
        for t in (0..t_steps).rev() {
            let off = t * bn;
            if nir {
                if reg {
                    for (gv, dc) in lb.gs[off..off + bn].iter_mut().zip(&lb.dcnt[..bn]) {
                        *gv += dc;
                    }
                }
                if let (Some(v), Some(rg), true) = (rec, &g.rec, t + 1 < t_steps) {
                    // ∂S_t += Vᵀ ∂A_{t+1}
                    let (ga_now, ga_next) = (&lb.ga[(t + 1) * bn_in..(t + 2) * bn_in], &mut lb.gs[off..off + bn]);
                    conn_input_grad(rg, ga_now, v, &ws.wt, ga_next, b, true, &mut ws.scratch);
                }
                let reset = opts.mode == SpikeMode::Spiking;
                // snnTorch's reset: the factor 1 − S_{t−1} on U_t, read from the stored U_{t−1}
                let u_prev = (delayed && reset && t > 0).then(|| &lb.u[off - bn..off]);
                lif::adjoint_nir(&lb.u[off..off + bn], u_prev, &lb.gs[off..off + bn], reset, &mut *cgu, &mut *cgi, d, sur);
                lb.ga[t * bn_in..(t + 1) * bn_in].copy_from_slice(cgi);
                continue;
            }
            let ga_t = &mut lb.ga[t * bn_in..(t + 1) * bn_in];
            if g.dale.is_some() {
                // ∂A^exc_t = ∂E_{t+1}, ∂A^inh_t = ∂J_{t+1}
                for ((row, ge), gj) in ga_t.chunks_exact_mut(2 * n).zip(cgi.chunks_exact(n)).zip(cgq.chunks_exact(n)) {
                    row[..n].copy_from_slice(ge);
                    row[n..].copy_from_slice(gj);
                }
            } else {
                ga_t.copy_from_slice(cgi);
            }
            if reg {
                for (gv, dc) in lb.gs[off..off + bn].iter_mut().zip(&lb.dcnt[..bn]) {
                    *gv += dc;
                }
            }
            if let (Some(v), Some(rg)) = (rec, &g.rec) {
                conn_input_grad(rg, &lb.ga[t * bn_in..(t + 1) * bn_in], v, &ws.wt, &mut lb.gs[off..off + bn], b, true, &mut ws.scratch);
            }
            if adaptive {
                for (gv, q) in lb.gs[off..off + bn].iter_mut().zip(cgq.iter()) {
                    *gv += q;
                }
            }
            let last = t + 1 == t_steps;
            // S_{t+1} = H(U_t − 1) resets U_{t+1} (spiking mode, not after the last step)
            let reset = !(smooth || opts.mode == SpikeMode::NoReset || last);
            lif::adjoint(
                &lb.u[off..off + bn],
                &lb.gs[off..off + bn],
                reset,
                LifAdjointState { gu: &mut *cgu, gi: &mut *cgi, gq: &mut *cgq, gs: &mut *cgs },
                d,
                sur,
            );
        }
        // weight gradients
        let ga = &lb.ga[..t_steps * bn_in];
        if let (Some(r), Some(rg)) = (net.layout.rec[l].clone(), &g.rec) {
            let n_rows = if nir { len - bn.min(len) } else { len };
            let src = if dense { Src::Dense(&lb.s[..n_rows]) } else { Src::Hidden(&lb.ev, 0) };
            if !nir {
                conn_weight_grad(rg, ws.taps[l][1].as_ref(), src, ga, &mut ws.grads[r], rows, dense, &mut ws.dwr);
            } else if t_steps > 1 {
                // the spikes of steps 0..T−1 against ∂A of steps 1..T
                conn_weight_grad(rg, ws.taps[l][1].as_ref(), src, &ga[bn_in..], &mut ws.grads[r], rows - b, dense, &mut ws.dwr);
            }
        }
        let n_prev = g.input.n();
        let dw = &mut ws.grads[net.layout.ff[l].clone()];
        if l == 0 {
            conn_weight_grad(&g.ff, ws.taps[l][0].as_ref(), Src::Events(&ws.input, 0), ga, dw, rows, dense, &mut ws.dwr);
        } else {
            let pooled = geoms[l - 1].dense_output();
            conn_weight_grad(&g.ff, ws.taps[l][0].as_ref(), output_of(&before[l - 1], &geoms[l - 1], rows, dense), ga, dw, rows, dense, &mut ws.dwr);
            let w = &net.params[net.layout.ff[l].clone()];
            let pb = &mut before[l - 1];
            let gx = if pooled { &mut pb.gp[..rows * n_prev] } else { &mut pb.gs[..rows * n_prev] };
            conn_input_grad_prepare(&g.ff, w, &mut ws.wt);
            conn_input_grad(&g.ff, ga, w, &ws.wt, gx, rows, false, &mut ws.scratch);
        }
    }
}
