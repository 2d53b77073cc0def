//! A whole batch through the engine for callers that bring their own loss (an autograd framework
//! such as PyTorch): [`Tape::forward`] runs every batch slice forward in parallel and keeps each
//! slice's state; [`Tape::backward`] then starts the backward pass from the gradient of the caller's
//! loss with respect to the readout membrane `[B, T, n_out]` and, optionally, each hidden layer's
//! spike counts `[B, n_l]` (what activity regularizers read), and returns the weight gradient.
//!
//! Per-neuron outputs and seeds are in PyTorch's order: a convolutional layer's neurons channel-major
//! (`c·positions + p`, as `reshape(B, C, P)` flattens), not the engine's position-major order.
//!
//! Slices are the training loop's (`NetworkPlan::slice_size`), and their gradients are summed in
//! slice order, so the result does not depend on the number of threads.

use rayon::prelude::*;

use super::{backward, forward, EngineOptions, NetworkPlan, Workspace};
use crate::data::SpikeDataset;
use crate::error::{Error, Result};
use crate::network::Network;

/// The state of a batch after the forward pass, kept for its backward pass.
#[derive(Debug)]
pub struct Tape {
    opts: EngineOptions,
    /// One workspace per slice of `slice` samples (the last may hold fewer).
    slices: Vec<Workspace>,
    slice: usize,
    b: usize,
    t: usize,
    n_out: usize,
    /// Neurons of each hidden layer (a Dale layer: E and I together).
    sizes: Vec<usize>,
    /// Per hidden layer with several positions: its shape `(channels, positions)`, whose
    /// position-major neuron order the outputs are permuted from.
    shapes: Vec<Option<(usize, usize)>>,
}

impl Tape {
    /// Bytes a tape of `b` samples of `t` steps holds for the network planned by `plan` with
    /// `n_params` parameters (checked before [`Tape::forward`] allocates them).
    pub fn bytes(plan: &NetworkPlan, n_params: usize, t: usize, b: usize) -> usize {
        let slice = plan.slice_size(t).max(1);
        b.div_ceil(slice).saturating_mul(plan.workspace_bytes(n_params, t, slice))
    }

    /// Runs every sample of `ds` forward through `net` (slices in parallel on the global pool).
    pub fn forward(net: &Network, opts: &EngineOptions, ds: &SpikeDataset) -> Tape {
        Self::forward_reusing(net, opts, ds, &mut Vec::new())
    }

    /// [`Tape::forward`] taking its workspaces from `spare` where they fit (those of an earlier
    /// tape of the same network and step count, given back by [`Tape::into_workspaces`]), so that
    /// a training loop does not allocate and fault in fresh buffers every batch.
    pub fn forward_reusing(net: &Network, opts: &EngineOptions, ds: &SpikeDataset, spare: &mut Vec<Workspace>) -> Tape {
        let (b, t) = (ds.len(), ds.t_steps);
        let slice = net.plan.slice_size(t).max(1);
        let idx: Vec<usize> = (0..b).collect();
        let n = b.div_ceil(slice);
        spare.retain(|ws| ws.t == t && ws.b_cap == slice && ws.grads.len() == net.layout.total);
        let mut slices: Vec<Workspace> = spare.drain(..spare.len().min(n)).collect();
        slices.resize_with(n, || Workspace::new(net, t, slice));
        slices.par_iter_mut().zip(idx.par_chunks(slice)).for_each(|(ws, chunk)| {
            ws.load(ds, chunk);
            forward(net, opts, ws);
        });
        let sizes = net.plan.geoms.iter().map(|g| g.n()).collect();
        let shapes = net.plan.geoms.iter().map(|g| (g.group.positions > 1).then_some((g.group.channels, g.group.positions))).collect();
        Tape { opts: *opts, slices, slice, b, t, n_out: net.spec.n_out, sizes, shapes }
    }

    /// The tape's workspaces, for [`Tape::forward_reusing`].
    pub fn into_workspaces(self) -> Vec<Workspace> {
        self.slices
    }

    /// Samples in the batch.
    pub fn batch(&self) -> usize {
        self.b
    }

    /// Steps per sample.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Copies a time-major slice buffer `[T, b_s, m]` of slice `s` into the batch-major `[B, T, m]`,
    /// each row permuted to channel-major if `shape` is given.
    fn gather(&self, s: usize, src: &[f32], m: usize, shape: Option<(usize, usize)>, dst: &mut [f32]) {
        let (t, b0, bs) = (self.t, s * self.slice, self.slices[s].batch());
        for step in 0..t {
            for j in 0..bs {
                let d = ((b0 + j) * t + step) * m;
                to_channel_major(&src[(step * bs + j) * m..(step * bs + j + 1) * m], shape, &mut dst[d..d + m]);
            }
        }
    }

    /// The readout membrane `[B, T, n_out]`.
    pub fn readout(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.b * self.t * self.n_out];
        for (s, ws) in self.slices.iter().enumerate() {
            self.gather(s, &ws.rv, self.n_out, None, &mut out);
        }
        out
    }

    /// Spike counts of hidden layer `l` per sample and neuron, `[B, n_l]`.
    pub fn counts(&self, l: usize) -> Vec<f32> {
        let n = self.sizes[l];
        let mut out = vec![0.0; self.b * n];
        for (row, src) in out.chunks_exact_mut(n).zip(self.slices.iter().flat_map(|ws| ws.layers[l].cnt[..ws.batch() * n].chunks_exact(n))) {
            to_channel_major(src, self.shapes[l], row);
        }
        out
    }

    /// Spikes of hidden layer `l`, `[B, T, n_l]`.
    pub fn spikes(&mut self, l: usize) -> Vec<f32> {
        let n = self.sizes[l];
        let mut out = vec![0.0; self.b * self.t * n];
        for s in 0..self.slices.len() {
            let src = self.slices[s].spikes(l).to_vec();
            self.gather(s, &src, n, self.shapes[l], &mut out);
        }
        out
    }

    /// Membrane of hidden layer `l` (after the step's reset), `[B, T, n_l]`.
    pub fn membranes(&self, l: usize) -> Vec<f32> {
        let n = self.sizes[l];
        let mut out = vec![0.0; self.b * self.t * n];
        for (s, ws) in self.slices.iter().enumerate() {
            self.gather(s, ws.membrane(l), n, self.shapes[l], &mut out);
        }
        out
    }

    /// The gradient (in `net.params`' layout) of a loss whose gradient is `grad_readout` with
    /// respect to the readout membrane `[B, T, n_out]` and `grad_counts[l]` (if given) with respect
    /// to hidden layer l's spike counts `[B, n_l]`. `net` must be the network that ran
    /// [`Tape::forward`] (same weights). The tape can run backward again with other seeds.
    pub fn backward(&mut self, net: &Network, grad_readout: &[f32], grad_counts: &[Option<&[f32]>]) -> Result<Vec<f32>> {
        let (b, t, c) = (self.b, self.t, self.n_out);
        if grad_readout.len() != b * t * c {
            return Err(shape("the readout gradient", format!("{} values ([{b}, {t}, {c}])", b * t * c), grad_readout.len()));
        }
        if grad_counts.len() > self.sizes.len() {
            return Err(shape("the count gradients", format!("at most one per hidden layer ({})", self.sizes.len()), grad_counts.len()));
        }
        for (l, g) in grad_counts.iter().enumerate() {
            if let Some(g) = g {
                if g.len() != b * self.sizes[l] {
                    return Err(shape(&format!("the count gradient of hidden layer {l}"), format!("{} values ([{b}, {}])", b * self.sizes[l], self.sizes[l]), g.len()));
                }
            }
        }
        let (slice, sizes, shapes, opts) = (self.slice, &self.sizes, &self.shapes, self.opts);
        self.slices.par_iter_mut().enumerate().for_each(|(s, ws)| {
            let (b0, bs) = (s * slice, ws.batch());
            for step in 0..t {
                for j in 0..bs {
                    let src = ((b0 + j) * t + step) * c;
                    ws.rgv[(step * bs + j) * c..(step * bs + j + 1) * c].copy_from_slice(&grad_readout[src..src + c]);
                }
            }
            for (l, &n) in sizes.iter().enumerate() {
                let dcnt = &mut ws.layers[l].dcnt[..bs * n];
                match grad_counts.get(l).copied().flatten() {
                    Some(g) => {
                        for (dst, src) in dcnt.chunks_exact_mut(n).zip(g[b0 * n..(b0 + bs) * n].chunks_exact(n)) {
                            from_channel_major(src, shapes[l], dst);
                        }
                    }
                    None => dcnt.fill(0.0),
                }
            }
            backward(net, &opts, ws);
        });
        let mut grad = vec![0.0; net.layout.total];
        for ws in &self.slices {
            for (a, x) in grad.iter_mut().zip(&ws.grads) {
                *a += x;
            }
        }
        Ok(grad)
    }
}

/// One sample's neurons from the engine's position-major order (`p·C + c`) to channel-major
/// (`c·P + p`); a plain copy without a shape.
fn to_channel_major(src: &[f32], shape: Option<(usize, usize)>, dst: &mut [f32]) {
    match shape {
        None => dst.copy_from_slice(src),
        Some((c, p)) => {
            for (k, &v) in src.iter().enumerate() {
                dst[(k % c) * p + k / c] = v;
            }
        }
    }
}

/// The inverse of [`to_channel_major`].
fn from_channel_major(src: &[f32], shape: Option<(usize, usize)>, dst: &mut [f32]) {
    match shape {
        None => dst.copy_from_slice(src),
        Some((c, p)) => {
            for (k, d) in dst.iter_mut().enumerate() {
                *d = src[(k % c) * p + k / c];
            }
        }
    }
}

fn shape(what: &str, expected: String, got: usize) -> Error {
    Error::Shape { what: what.into(), expected, got: got.to_string() }
}
