//! Backpropagation through time for one batch slice (hand-derived adjoint; spec §1).
//!
//! The readout's adjoint ([`crate::neuron::readout::adjoint`]) gives `∂A` of the readout input;
//! then, from the last hidden layer down, each layer completes `∂S_t` (from the layer above, its own
//! recurrence, adaptation and the regularizer) and runs the neuron adjoint
//! ([`crate::neuron::lif::adjoint`]) from `t = T−1` to 0, after which its weight gradients
//! `∂W = Σ_t x_tᵀ ∂A_t`, `∂V = Σ_t S_tᵀ ∂A_t` and the input gradient `∂x_t = ∂A_t Wᵀ` are one product
//! each. The reset spike `S_{t+1} = H(U_t − 1)` is read from the stored membrane.
//!
//! The steps run in blocks ([`NetworkPlan::backward_block`](crate::engine::NetworkPlan::backward_block)),
//! latest first, each block through all layers from the top down: within a block a layer completes
//! `∂S` of the block's steps, runs the adjoint over them, adds their share of its weight gradients
//! and hands the layer below `∂x` of the same steps, while the adjoint carries persist from block to
//! block. So the gradients live only for one block (in cache when the whole run's would not fit),
//! and a network whose slice fits in cache runs as one block: every layer over all steps.
//!
//! In [`StepOrder::Nir`] ([`crate::neuron::lif::adjoint_nir`]) `∂A_t = ∂I_t`, the recurrence adds
//! `Vᵀ ∂A_{t+1}` to `∂S_t`, `∂V = Σ_t S_tᵀ ∂A_{t+1}`, and the reset `S_t = H(Ũ_t − 1)` is read
//! from the stored pre-reset membrane of the same step.

use super::conn::{conn_input_grad, conn_input_grad_prepare, conn_weight_grad, output_of, pools_events, Src};
use super::workspace::Workspace;
use super::{EngineOptions, Pass};
use crate::linalg;
use crate::network::Network;
use crate::neuron::lif::{self, LifAdjointState};
use crate::neuron::{readout, SpikeMode, StepOrder};

/// Backpropagation through time of the loss seeded by [`crate::train::loss::compute`]; writes
/// `ws.grads` (replaced).
pub fn backward(net: &Network, opts: &EngineOptions, ws: &mut Workspace) {
    let geoms = &net.plan.geoms;
    let Pass { t_steps, b, rows, dense, .. } = Pass::of(opts, ws);
    ws.grads.fill(0.0);
    // readout: its adjoint over all steps, its weight gradient
    let bc = b * net.spec.n_out;
    let len = t_steps * bc;
    readout::adjoint(&ws.rgv[..len], &mut ws.rga[..len], &mut ws.r_c_gv[..bc], &mut ws.r_c_gi[..bc], net.plan.readout, net.spec.step_order.same_step());
    let l_last = geoms.len() - 1;
    let n_last = geoms[l_last].output().n();
    let ro = net.plan.readout_conn();
    let src = output_of(&ws.layers[l_last], &geoms[l_last], rows, dense);
    conn_weight_grad(&ro, None, src, &ws.rga[..len], &mut ws.grads[net.layout.readout.clone()], rows, dense, &mut ws.dwr);
    // every layer's adjoint carries start at zero; its convolutions' weights rearranged once
    for (l, g) in geoms.iter().enumerate() {
        let (lb, [wt_ff, wt_rec]) = (&mut ws.layers[l], &mut ws.wt[l]);
        let bn = b * g.n();
        for c in [&mut lb.c_gu, &mut lb.c_gi, &mut lb.c_gq, &mut lb.c_gs] {
            c[..bn].fill(0.0);
        }
        if l > 0 {
            conn_input_grad_prepare(&g.ff, &net.params[net.layout.ff[l].clone()], wt_ff);
        }
        if let (Some(r), Some(rg)) = (net.layout.rec[l].clone(), &g.rec) {
            conn_input_grad_prepare(rg, &net.params[r], wt_rec);
        }
    }
    // whether each layer's regularizer gradient (the same for every step) is non-zero: skipped
    // when no count exceeds its bound
    let reg: Vec<bool> = geoms.iter().zip(&ws.layers).map(|(g, lb)| lb.dcnt[..b * g.n()].iter().any(|&x| x != 0.0)).collect();
    let tau = ws.block.clamp(1, t_steps.max(1));
    for k in (0..t_steps.div_ceil(tau)).rev() {
        let steps = Steps { t0: k * tau, t1: ((k + 1) * tau).min(t_steps) };
        let rows_blk = steps.len() * b;
        // ∂ of the last layer's output in this block, from the readout
        let lb = &mut ws.layers[l_last];
        let gout = if geoms[l_last].dense_output() { &mut lb.gp[..rows_blk * n_last] } else { &mut lb.gs[..rows_blk * n_last] };
        let w = &net.params[net.layout.readout.clone()];
        conn_input_grad(&ro, &ws.rga[steps.t0 * bc..steps.t1 * bc], w, &[], gout, rows_blk, false, &mut ws.scratch);
        for l in (0..geoms.len()).rev() {
            layer_block(net, opts, ws, l, steps, reg[l]);
        }
    }
}

/// Steps `t0..t1` of a backward block.
#[derive(Clone, Copy)]
struct Steps {
    t0: usize,
    t1: usize,
}

impl Steps {
    fn len(&self) -> usize {
        self.t1 - self.t0
    }
}

/// The backward pass of hidden layer `l` over the steps of one block: `∂S` of those steps (from
/// the layer above through its pooling, already in the block's buffers), the neuron adjoint from
/// `t1 − 1` down to `t0`, the block's share of the weight gradients, and `∂x` of the same steps
/// into the layer below's block buffers. Block buffers hold step `t` in row `t − t0`. With `reg`,
/// the regularizer's gradient (the same every step) is added to `∂S_t` in the time loop, where it
/// is in cache.
fn layer_block(net: &Network, opts: &EngineOptions, ws: &mut Workspace, l: usize, steps: Steps, reg: bool) {
    let (spec, geoms, sur) = (&net.spec, &net.plan.geoms, net.spec.surrogate);
    let Pass { t_steps, b, dense, smooth, .. } = Pass::of(opts, ws);
    let nir = spec.step_order.same_step();
    let delayed = spec.step_order == StepOrder::Snntorch;
    let Steps { t0, t1 } = steps;
    let rows_blk = steps.len() * b;
    let g = &geoms[l];
    let n = g.n();
    let bn = b * n;
    let len = steps.len() * bn;
    let d = net.plan.layers[l].decays;
    let (before, rest) = ws.layers.split_at_mut(l);
    let lb = &mut rest[0];
    let [wt_ff, wt_rec] = &ws.wt[l];
    if g.pool > 1 {
        let np = g.output().n();
        let (c, size, k) = (g.group.channels, [g.group.height, g.group.width], g.pool_window());
        if pools_events(g, dense) {
            linalg::maxpool_backward_events(c, size, k, &lb.gp[..rows_blk * np], &lb.pev, &lb.parg, t0 * b, &mut lb.gs[..len]);
        } else {
            lb.gs[..len].fill(0.0);
            let pidx = &lb.pidx[t0 * b * np..t1 * b * np];
            linalg::maxpool_backward(c, size, k, &lb.gp[..rows_blk * np], pidx, &mut lb.gs[..len]);
        }
    }
    if let Some(ne) = g.dale {
        for (gs, gp) in lb.gs[..len].chunks_exact_mut(n).zip(lb.gp[..rows_blk * ne].chunks_exact(ne)) {
            gs[..ne].copy_from_slice(gp);
            gs[ne..].fill(0.0);
        }
    }
    let bn_in = b * g.n_input();
    let rec = net.layout.rec[l].clone().map(|r| &net.params[r]);
    let (cgu, cgi, cgq, cgs) = (&mut lb.c_gu[..bn], &mut lb.c_gi[..bn], &mut lb.c_gq[..bn], &mut lb.c_gs[..bn]);
    let adaptive = d.a != 0.0 && g.dale.is_none();
    if nir && t1 < t_steps {
        // ∂A of step t1 (the later block's first row) for this block's last step
        lb.ga.copy_within(..bn_in, steps.len() * bn_in);
    }
    for t in (t0..t1).rev() {
        let (off_u, off) = (t * bn, (t - t0) * bn);
        let j = t - t0;
        if nir {
            if reg {
                for (gv, dc) in lb.gs[off..off + bn].iter_mut().zip(&lb.dcnt[..bn]) {
                    *gv += dc;
                }
            }
            if let (Some(v), Some(rg), true) = (rec, &g.rec, t + 1 < t_steps) {
                // ∂S_t += Vᵀ ∂A_{t+1}
                let (ga_now, ga_next) = (&lb.ga[(j + 1) * bn_in..(j + 2) * bn_in], &mut lb.gs[off..off + bn]);
                conn_input_grad(rg, ga_now, v, wt_rec, ga_next, b, true, &mut ws.scratch);
            }
            let reset = opts.mode == SpikeMode::Spiking;
            // snnTorch's reset: the factor 1 − S_{t−1} on U_t, read from the stored U_{t−1}
            let u_prev = (delayed && reset && t > 0).then(|| &lb.u[off_u - bn..off_u]);
            lif::adjoint_nir(&lb.u[off_u..off_u + bn], u_prev, &lb.gs[off..off + bn], reset, &mut *cgu, &mut *cgi, d, sur);
            lb.ga[j * bn_in..(j + 1) * bn_in].copy_from_slice(cgi);
            continue;
        }
        let last = t + 1 == t_steps;
        // S_{t+1} = H(U_t − 1) resets U_{t+1} (spiking mode, not after the last step)
        let reset = !(smooth || opts.mode == SpikeMode::NoReset || last);
        let ga_t = &mut lb.ga[j * bn_in..(j + 1) * bn_in];
        if g.dale.is_none() && rec.is_none() && !adaptive {
            // ∂A_t, the regularizer and the adjoint in one pass
            let add = reg.then(|| &lb.dcnt[..bn]);
            let carry = LifAdjointState { gu: &mut *cgu, gi: &mut *cgi, gq: &mut *cgq, gs: &mut *cgs };
            lif::adjoint_input(&lb.u[off_u..off_u + bn], &lb.gs[off..off + bn], add, reset, carry, ga_t, d, sur);
            continue;
        }
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
            conn_input_grad(rg, &lb.ga[j * bn_in..(j + 1) * bn_in], v, wt_rec, &mut lb.gs[off..off + bn], b, true, &mut ws.scratch);
        }
        if adaptive {
            for (gv, q) in lb.gs[off..off + bn].iter_mut().zip(cgq.iter()) {
                *gv += q;
            }
        }
        lif::adjoint(
            &lb.u[off_u..off_u + bn],
            &lb.gs[off..off + bn],
            reset,
            LifAdjointState { gu: &mut *cgu, gi: &mut *cgi, gq: &mut *cgq, gs: &mut *cgs },
            d,
            sur,
        );
    }
    // this block's share of the weight gradients
    let all_rows = t_steps * b;
    if let (Some(r), Some(rg)) = (net.layout.rec[l].clone(), &g.rec) {
        let spikes = if dense { Src::Dense(&lb.s[..all_rows * n]) } else { Src::Hidden(&lb.ev, 0) };
        if !nir {
            let src = spikes.rows(t0 * b, t1 * b, n);
            conn_weight_grad(rg, ws.taps[l][1].as_ref(), src, &lb.ga[..rows_blk * bn_in / b], &mut ws.grads[r], rows_blk, dense, &mut ws.dwr);
        } else {
            // the spikes of steps t against ∂A of steps t + 1 (t < T − 1)
            let t_end = t1.min(t_steps - 1);
            if t_end > t0 {
                let m = (t_end - t0) * b;
                let src = spikes.rows(t0 * b, t_end * b, n);
                conn_weight_grad(rg, ws.taps[l][1].as_ref(), src, &lb.ga[bn_in..bn_in + m * bn_in / b], &mut ws.grads[r], m, dense, &mut ws.dwr);
            }
        }
    }
    let ga = &lb.ga[..rows_blk * bn_in / b];
    let dw = &mut ws.grads[net.layout.ff[l].clone()];
    let n_prev = g.input.n();
    if l == 0 {
        let src = Src::Events(&ws.input, 0).rows(t0 * b, t1 * b, n_prev);
        conn_weight_grad(&g.ff, ws.taps[l][0].as_ref(), src, ga, dw, rows_blk, dense, &mut ws.dwr);
    } else {
        let pooled = geoms[l - 1].dense_output();
        let src = output_of(&before[l - 1], &geoms[l - 1], all_rows, dense).rows(t0 * b, t1 * b, n_prev);
        conn_weight_grad(&g.ff, ws.taps[l][0].as_ref(), src, ga, dw, rows_blk, dense, &mut ws.dwr);
        let w = &net.params[net.layout.ff[l].clone()];
        let pb = &mut before[l - 1];
        let gx = if pooled { &mut pb.gp[..rows_blk * n_prev] } else { &mut pb.gs[..rows_blk * n_prev] };
        conn_input_grad(&g.ff, ga, w, wt_ff, gx, rows_blk, false, &mut ws.scratch);
    }
}
