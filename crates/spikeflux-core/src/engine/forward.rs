//! The forward pass of one batch slice through all hidden layers and the readout (spec §1.1, §1.5).
//!
//! Each hidden layer runs layer-major: all its steps before the next layer. In smooth mode (and on
//! the dense path) the feed-forward product covers all `T·b` rows at once; on the event-driven path
//! it is computed step by step into two alternating slots right before the LIF step that consumes it.
//! Only recurrent products always run step by step. The step order is the reference's: with `A_t`
//! the input accumulated in step `t` (`A_t = W·x_t + V·S_t`), the neuron step of [`crate::neuron`]
//! makes an input spike at `t` first move the hidden spike output at `t+3`, and the readout
//! `V_t = β_m V_{t−1} + (1−β_m) I_{t−1}` two steps after its input. In [`StepOrder::Nir`] the
//! recurrent product of step `t−1`'s spikes is added to `A_t` before step `t`'s neuron update, which
//! reads `A_t` in the same step ([`lif::step_nir`]); the stored membrane is the pre-reset `Ũ_t`.
//!
//! Every step's membrane is kept for the backward pass (the membrane history, the largest buffer of
//! a slice), except with [`EngineOptions::forward_only`], where each layer's membrane lives in two
//! alternating step slots like its spikes on the event-driven path.

use super::conn::{conn_forward, output_of, pools_events, Src};
use super::workspace::{SliceStats, Workspace};
use super::{EngineOptions, Pass};
use crate::linalg;
use crate::network::Network;
use crate::neuron::lif::{self, LifState};
use crate::neuron::{dale, readout, SpikeMode, StepOrder};

/// Runs the forward pass of the loaded slice through all layers and the readout.
pub fn forward(net: &Network, opts: &EngineOptions, ws: &mut Workspace) {
    let (spec, geoms, sur) = (&net.spec, &net.plan.geoms, net.spec.surrogate);
    let Pass { t_steps, b, rows, dense, smooth } = Pass::of(opts, ws);
    let nir = spec.step_order.same_step();
    let delayed = spec.step_order == StepOrder::Snntorch;
    let mut spikes = vec![0.0f64; geoms.len()];
    for (l, g) in geoms.iter().enumerate() {
        let n = g.n();
        let bn = b * n;
        let (before, rest) = ws.layers.split_at_mut(l);
        let lb = &mut rest[0];
        let [ff_taps, rec_taps] = [ws.taps[l][0].as_ref(), ws.taps[l][1].as_ref()];
        let src = if l == 0 { Src::Events(&ws.input, 0) } else { output_of(&before[l - 1], &geoms[l - 1], rows, dense) };
        // a convolution's weights in its run layout
        let [wr_ff, wr_rec] = &mut ws.wr[l];
        let mut w = &net.params[net.layout.ff[l].clone()];
        if let Some(tp) = ff_taps {
            tp.to_runs(w, wr_ff);
            w = wr_ff;
        }
        let bn_in = b * g.n_input();
        // the feed-forward input of all steps at once (GEMM path, or kept for reports), or step by
        // step into two alternating slots (event path)
        let stepwise = !dense && !opts.keep_input;
        if !stepwise {
            conn_forward(&g.ff, ff_taps, src, w, &mut lb.a[..t_steps * bn_in], rows, dense, true);
        }
        let slot = |t: usize| if stepwise { (t % 2) * bn_in } else { t * bn_in };
        // spikes of every step (dense products need them), or of the last two steps only
        let keep_s = !stepwise;
        let sslot = |t: usize| if keep_s { t * bn } else { (t % 2) * bn };
        // membranes of every step (the backward pass and the reports read them), or of the last
        // two steps only when no backward pass follows
        let uslot = |t: usize| if opts.forward_only { (t % 2) * bn } else { t * bn };
        lb.s_full = keep_s;
        let d = net.plan.layers[l].decays;
        let (a, u, s, ev) = (&mut lb.a, &mut lb.u, &mut lb.s, &mut lb.ev);
        let (p, pidx, pev, parg) = (&mut lb.p, &mut lb.pidx, &mut lb.pev, &mut lb.parg);
        let (pval, pat, ptarget) = (&mut lb.pval, &mut lb.pat, &lb.ptarget);
        for e in [&mut *ev, &mut *pev] {
            e.ptr.clear();
            e.ptr.push(0);
            e.idx.clear();
            e.val.clear();
        }
        parg.clear();
        // spikes pooled as events (the next layer's source, `output_of`), or densely
        let pool_events = pools_events(g, dense);
        let (ist, qst, cnt) = (&mut lb.i[..bn], &mut lb.q[..bn], &mut lb.cnt[..bn]);
        ist.fill(0.0);
        qst.fill(0.0);
        cnt.fill(0.0);
        let mut rec = net.layout.rec[l].clone().map(|r| &net.params[r]);
        if let (Some(tp), Some(v)) = (rec_taps, rec) {
            tp.to_runs(v, wr_rec);
            rec = Some(&wr_rec[..]);
        }
        let fused = opts.mode == SpikeMode::Spiking && d.a == 0.0 && g.dale.is_none();
        for t in 0..t_steps {
            let off = t * bn;
            if stepwise {
                let n_src = g.ff.n_src();
                let src_t = match src {
                    Src::Events(c, r0) => Src::Events(c, r0 + t * b),
                    Src::Hidden(c, r0) => Src::Hidden(c, r0 + t * b),
                    Src::Dense(x) => Src::Dense(&x[t * b * n_src..(t + 1) * b * n_src]),
                };
                conn_forward(&g.ff, ff_taps, src_t, w, &mut a[slot(t)..slot(t) + bn_in], b, false, true);
            }
            if nir && t > 0 {
                // A_t += V·S_{t−1}
                if let (Some(v), Some(rg)) = (rec, &g.rec) {
                    let so = sslot(t - 1);
                    let src = if dense { Src::Dense(&s[so..so + bn]) } else { Src::Hidden(ev, (t - 1) * b) };
                    conn_forward(rg, rec_taps, src, v, &mut a[slot(t)..slot(t) + bn_in], b, dense, false);
                }
            }
            {
                let zeros = &ws.zeros[..bn];
                let (up, ucur) = prev_and_cur(u, (t > 0).then(|| uslot(t - 1)), uslot(t), bn, zeros);
                let so = sslot(t);
                let (sh, st) = s.split_at_mut(so);
                if nir {
                    let at = &a[slot(t)..slot(t) + bn];
                    let cur = &mut st[..bn];
                    if fused {
                        let rows = up.chunks_exact(n).zip(at.chunks_exact(n)).zip(ucur.chunks_exact_mut(n)).zip(cur.chunks_exact_mut(n));
                        for ((((upr, apr), ur), sr), (ir, cr)) in rows.zip(ist.chunks_exact_mut(n).zip(cnt.chunks_exact_mut(n))) {
                            lif::step_row_spiking_nir(upr, apr, ur, keep_s.then_some(sr), ir, d, delayed, |k| {
                                ev.idx.push(k as u32);
                                ev.val.push(1.0);
                                cr[k] += 1.0;
                            });
                            ev.ptr.push(ev.idx.len() as u32);
                        }
                    } else {
                        lif::step_nir(up, at, ucur, cur, ist, d, opts.mode, sur, delayed);
                    }
                } else if g.dale.is_some() {
                    let zeros_in = &ws.zeros[..bn_in];
                    let ap = if t > 0 { &a[slot(t - 1)..slot(t - 1) + bn_in] } else { zeros_in };
                    dale::step(up, ap, ucur, &mut st[..bn], LifState { i: ist, q: qst }, n, d, opts.mode, sur);
                } else {
                    // the previous step's spikes: just before this slot, or in the other slot after it
                    let (cur, after) = st.split_at_mut(bn);
                    let sp: &[f32] = if t == 0 {
                        zeros
                    } else if keep_s || t % 2 == 1 {
                        &sh[sh.len() - bn..]
                    } else {
                        &after[..bn]
                    };
                    let ap = if t > 0 { &a[slot(t - 1)..slot(t - 1) + bn] } else { zeros };
                    if fused {
                        // spiking, no adaptation: the step and its events in one pass
                        let rows = up.chunks_exact(n).zip(ap.chunks_exact(n)).zip(ucur.chunks_exact_mut(n)).zip(cur.chunks_exact_mut(n));
                        for ((((upr, apr), ur), sr), (ir, cr)) in rows.zip(ist.chunks_exact_mut(n).zip(cnt.chunks_exact_mut(n))) {
                            lif::step_row_spiking(upr, apr, ur, keep_s.then_some(sr), ir, d, |k| {
                                ev.idx.push(k as u32);
                                ev.val.push(1.0);
                                cr[k] += 1.0;
                            });
                            ev.ptr.push(ev.idx.len() as u32);
                        }
                    } else {
                        lif::step(up, ap, sp, ucur, cur, LifState { i: ist, q: qst }, d, opts.mode, sur);
                    }
                }
                if fused {
                    // events and counts were taken in the fused step
                } else if smooth {
                    for (c, &x) in cnt.iter_mut().zip(&st[..bn]) {
                        *c += x;
                    }
                } else {
                    // the step's spikes as events, counted per sample and neuron on the way
                    for (row, cr) in st[..bn].chunks_exact(n).zip(cnt.chunks_exact_mut(n)) {
                        linalg::for_each_nonzero(row, |k, x| {
                            ev.idx.push(k as u32);
                            ev.val.push(x);
                            cr[k] += x;
                        });
                        ev.ptr.push(ev.idx.len() as u32);
                    }
                }
            }
            if let (Some(v), Some(rg), false) = (rec, &g.rec, nir) {
                let src = if dense { Src::Dense(&s[off..off + bn]) } else { Src::Hidden(ev, t * b) };
                conn_forward(rg, rec_taps, src, v, &mut a[slot(t)..slot(t) + bn_in], b, dense, false);
            }
            // what the next layer sees of this step: the E neurons of a Dale layer, or the pooled spikes
            let st = &s[sslot(t)..sslot(t) + bn];
            if let Some(ne) = g.dale {
                for (pr, row) in p[t * b * ne..(t + 1) * b * ne].chunks_exact_mut(ne).zip(st.chunks_exact(n)) {
                    pr.copy_from_slice(&row[..ne]);
                }
            }
            if g.pool > 1 {
                let np = g.output().n();
                let (size, k) = ([g.group.height, g.group.width], g.pool_window());
                if pool_events {
                    // from the step's spike events
                    linalg::maxpool_forward_events(g.group.channels, size, k, ptarget, ev, t * b, b, pval, pat, pev, parg);
                } else {
                    let (out, idx) = (&mut p[t * b * np..(t + 1) * b * np], &mut pidx[t * b * np..(t + 1) * b * np]);
                    linalg::maxpool_forward(g.group.channels, size, k, st, out, idx);
                }
            }
        }
        // the layer's output neurons (a Dale layer's E population)
        let n_out = g.n_output_neurons();
        spikes[l] = cnt.chunks_exact(n).map(|row| row[..n_out].iter().map(|&c| c as f64).sum::<f64>()).sum();
    }
    // readout, from the flattened (pooled) last layer
    let c = spec.n_out;
    let l_last = geoms.len() - 1;
    let bc = b * c;
    let len = t_steps * bc;
    let src = output_of(&ws.layers[l_last], &geoms[l_last], rows, dense);
    let w = &net.params[net.layout.readout.clone()];
    conn_forward(&net.plan.readout_conn(), None, src, w, &mut ws.ra[..len], rows, dense, true);
    readout::forward(&ws.ra[..len], &mut ws.rv[..len], &mut ws.r_i[..bc], net.plan.readout, spec.readout.initial_state, nir);
    ws.stats = SliceStats { spikes, samples: b, ..Default::default() };
}

/// The previous step's `len` values at `prev` in `buf` (`None`: `zeros`, before the first step) and
/// this step's at `cur`, from one buffer of step slots.
fn prev_and_cur<'a>(buf: &'a mut [f32], prev: Option<usize>, cur: usize, len: usize, zeros: &'a [f32]) -> (&'a [f32], &'a mut [f32]) {
    match prev {
        None => (zeros, &mut buf[cur..cur + len]),
        Some(p) if p < cur => {
            let (head, tail) = buf.split_at_mut(cur);
            (&head[p..p + len], &mut tail[..len])
        }
        Some(p) => {
            let (head, tail) = buf.split_at_mut(p);
            (&tail[..len], &mut head[cur..cur + len])
        }
    }
}
