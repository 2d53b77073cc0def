//! One connection's three products, whatever its kind (dense, 1-D or 2-D convolution) and its source
//! (input events, a hidden group's spike events, or a dense buffer): the forward product
//! `A += W·src`, the weight gradient `∂W += srcᵀ·∂A` and the input gradient `∂src = ∂A·Wᵀ`.
//! Event-driven where the source is spikes, GEMM (faer) where it is dense.

use super::workspace::LayerBuf;
use crate::layer::{ConnGeom, LayerGeom};
use crate::linalg::{self, Conv, Conv1d, ConvTaps, Csr};

/// The source of a connection: the input events (channel-major units), a hidden group's spike
/// events (position-major units) starting at a CSR row, or a dense `[rows, n_src]` buffer.
#[derive(Clone, Copy)]
pub(super) enum Src<'a> {
    Events(&'a Csr, usize),
    Hidden(&'a Csr, usize),
    Dense(&'a [f32]),
}

impl<'a> Src<'a> {
    /// The rows `from..to` of this source (`width` units per row).
    pub(super) fn rows(self, from: usize, to: usize, width: usize) -> Src<'a> {
        match self {
            Src::Events(c, r0) => Src::Events(c, r0 + from),
            Src::Hidden(c, r0) => Src::Hidden(c, r0 + from),
            Src::Dense(x) => Src::Dense(&x[from * width..to * width]),
        }
    }
}

/// The kernels' geometry of a convolution (`None`: dense).
pub(super) fn conv_of(g: &ConnGeom) -> Option<Conv> {
    match *g {
        ConnGeom::Conv { c_in, in_size, c_out, out_size, kernel, stride, padding, .. } => Some(Conv {
            row: Conv1d { c_in, l_in: in_size[1], c_out, l_out: out_size[1], k: kernel[1], stride: stride[1], pad: padding[1] },
            h_in: in_size[0],
            h_out: out_size[0],
            kh: kernel[0],
            sh: stride[0],
            ph: padding[0],
        }),
        ConnGeom::Dense { .. } => None,
    }
}

/// Whether pooled layer `g` pools its spike events into events (`LayerBuf::pev` and `parg`, what
/// [`output_of`] hands on) rather than its dense spikes into `p` and `pidx`: on the event-driven
/// path (not `dense`, so not in smooth mode) of a layer without Dale's law. The backward pass
/// follows the same choice.
pub(super) fn pools_events(g: &LayerGeom, dense: bool) -> bool {
    g.pool > 1 && g.dale.is_none() && !dense
}

/// What layer `lb` passes on: its pooled output or a Dale layer's E spikes (dense), its spike
/// events, or (smooth mode and the dense path) its dense spike buffer.
pub(super) fn output_of<'a>(lb: &'a LayerBuf, g: &LayerGeom, rows: usize, dense: bool) -> Src<'a> {
    let n = g.output().n();
    if pools_events(g, dense) {
        // the pooled spikes as events (the forward pass pools from events off the dense path)
        Src::Hidden(&lb.pev, 0)
    } else if g.dense_output() {
        Src::Dense(&lb.p[..rows * n])
    } else if dense {
        Src::Dense(&lb.s[..rows * n])
    } else {
        Src::Hidden(&lb.ev, 0)
    }
}

/// `out += W·src` over `rows` rows (event-driven, or GEMM when `gemm` and the connection is dense;
/// a convolution's `w` in its table's run layout);
/// with `overwrite`, `out = W·src`. Overwriting zeroes blocks of rows right before they are filled,
/// so the output is touched while it is in cache instead of in a separate pass over memory.
///
/// `taps` is the connection's tap table if it is a convolution (`None`: dense).
#[allow(clippy::too_many_arguments)]
pub(super) fn conn_forward(g: &ConnGeom, taps: Option<&ConvTaps>, src: Src, w: &[f32], out: &mut [f32], rows: usize, gemm: bool, overwrite: bool) {
    let (ns, nd) = (g.n_src(), g.n_dst());
    if let (None, Src::Dense(x), true) = (taps, src, gemm) {
        return linalg::gemm(out, !overwrite, x, w, rows, ns, nd);
    }
    const BLOCK: usize = 16;
    for (bi, o) in out[..rows * nd].chunks_mut(BLOCK * nd).enumerate() {
        if overwrite {
            o.fill(0.0);
        }
        let r = bi * BLOCK;
        let span = r * ns..(r + o.len() / nd) * ns;
        match (taps, src) {
            (None, Src::Events(c, r0) | Src::Hidden(c, r0)) => linalg::csr_project(c, r0 + r, w, nd, o),
            (None, Src::Dense(x)) => linalg::scan_project(&x[span], ns, w, nd, o),
            (Some(tp), Src::Events(c, r0) | Src::Hidden(c, r0)) => linalg::conv_project_csr(tp, c, r0 + r, w, o),
            (Some(tp), Src::Dense(x)) => linalg::conv_project_scan(tp, &x[span], w, o),
        }
    }
}

/// `dw += ∂W` from the source and `∂A` (`ga: [rows, n_dst]`); `taps` as for [`conn_forward`]. A
/// convolution's gradient is summed in the run layout in `dwr`, then added to `dw`.
#[allow(clippy::too_many_arguments)]
pub(super) fn conn_weight_grad(g: &ConnGeom, taps: Option<&ConvTaps>, src: Src, ga: &[f32], dw: &mut [f32], rows: usize, gemm: bool, dwr: &mut [f32]) {
    let (ns, nd) = (g.n_src(), g.n_dst());
    let dwr = &mut dwr[..if taps.is_some() { dw.len() } else { 0 }];
    dwr.fill(0.0);
    match (taps, src) {
        (None, Src::Events(c, r0) | Src::Hidden(c, r0)) => linalg::csr_weight_grad(c, r0, ga, nd, dw),
        (None, Src::Dense(x)) if gemm => linalg::gemm_tn(dw, true, x, ga, rows, ns, nd),
        (None, Src::Dense(x)) => linalg::scan_weight_grad(x, ns, ga, nd, dw),
        (Some(tp), Src::Events(c, r0) | Src::Hidden(c, r0)) => linalg::conv_weight_grad_csr(tp, c, r0, ga, dwr),
        (Some(tp), Src::Dense(x)) => linalg::conv_weight_grad_scan(tp, x, ga, dwr),
    }
    if let Some(tp) = taps {
        tp.add_runs_to(dwr, dw);
    }
}

/// Prepares `wt` for [`conn_input_grad`] of connection `g` with weights `w` (convolutions only).
pub(super) fn conn_input_grad_prepare(g: &ConnGeom, w: &[f32], wt: &mut [f32]) {
    if let Some(cv) = conv_of(g) {
        linalg::conv_input_grad_weights(&cv, w, wt);
    }
}

/// `gx (+)= ∂src` from `∂A` (`ga: [rows, n_dst]`, `gx: [rows, n_src]`); a convolution uses the
/// weights rearranged by [`conn_input_grad_prepare`] in `wt`.
#[allow(clippy::too_many_arguments)]
pub(super) fn conn_input_grad(g: &ConnGeom, ga: &[f32], w: &[f32], wt: &[f32], gx: &mut [f32], rows: usize, accumulate: bool, scratch: &mut [f32]) {
    match conv_of(g) {
        None => linalg::gemm_nt(gx, accumulate, ga, w, rows, g.n_dst(), g.n_src()),
        Some(cv) => linalg::conv_input_grad(&cv, ga, wt, gx, accumulate, scratch),
    }
}

