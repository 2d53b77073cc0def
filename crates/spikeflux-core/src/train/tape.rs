//! A whole batch through the engine for callers that bring their own loss (an autograd framework
//! such as PyTorch): [`Tape::forward`] runs the batch forward and keeps its outputs; [`Tape::backward`]
//! starts the backward pass from the gradient of the caller's loss with respect to the readout
//! membrane `[B, T, n_out]` and, optionally, each hidden layer's spike counts `[B, n_l]` (what
//! activity regularizers read), and returns the weight gradient.
//!
//! A tape keeps the inputs and outputs only: its backward pass runs each slice forward again and
//! straight into its backward pass, in a workspace of the caller's [`SlicePool`], as the training
//! loop does. Memory stays at one workspace per thread whatever the batch size, and the slice's
//! state is in cache when its backward pass reads it: on the Randman network a variant that kept
//! every slice's workspace from the first pass instead was slower (BENCHMARKS.md, "Python: the
//! PyTorch layer"). The gradient is bitwise the one the
//! training loop computes from the same seeds (the forward pass is deterministic). Slices are the
//! training loop's
//! ([`crate::engine::NetworkPlan::slice_size`]) and their gradients are summed in slice order, so
//! nothing depends on the thread count.
//!
//! Per-neuron outputs and seeds are in PyTorch's order: a convolutional layer's neurons
//! channel-major (`c·positions + p`, as `reshape(B, C, P)` flattens), not the engine's
//! position-major order.

use rayon::prelude::*;

use super::SlicePool;
use crate::data::SpikeDataset;
use crate::engine::{backward, forward, EngineOptions};
use crate::error::{Error, Result};
use crate::layer::Shape;
use crate::network::Network;

/// A batch after its forward pass: the inputs, the outputs, and what the backward pass needs.
#[derive(Debug)]
pub struct Tape {
    opts: EngineOptions,
    ds: SpikeDataset,
    slice: usize,
    n_out: usize,
    /// Neurons of each hidden layer (a Dale layer: E and I together).
    sizes: Vec<usize>,
    /// Per hidden layer with several positions: its group's shape, whose position-major neuron
    /// order the outputs are permuted from.
    shapes: Vec<Option<Shape>>,
    readout: Vec<f32>,
    counts: Vec<Vec<f32>>,
    /// With `record`: every hidden layer's spikes and membranes `[B, T, n_l]`.
    spikes: Vec<Vec<f32>>,
    membranes: Vec<Vec<f32>>,
}

/// One slice's share of the batch-major outputs.
struct SliceOut<'a> {
    readout: &'a mut [f32],
    counts: Vec<&'a mut [f32]>,
    spikes: Vec<&'a mut [f32]>,
    membranes: Vec<&'a mut [f32]>,
}

/// Splits each buffer into per-slice chunks of `per` values and deals them out to `outs`.
fn deal<'a>(bufs: &'a mut [Vec<f32>], per: impl Fn(usize) -> usize, outs: &mut [SliceOut<'a>], pick: for<'o> fn(&'o mut SliceOut<'a>) -> &'o mut Vec<&'a mut [f32]>) {
    for (l, buf) in bufs.iter_mut().enumerate() {
        for (o, chunk) in outs.iter_mut().zip(buf.chunks_mut(per(l))) {
            pick(o).push(chunk);
        }
    }
}

impl Tape {
    /// Runs every sample of `ds` forward through `net` (slices in parallel on the global pool, in
    /// workspaces of `pool`, which must be [`SlicePool::fits`] for `net` and `ds`). With `record`
    /// the tape also keeps every hidden layer's spikes and membranes.
    pub fn forward(net: &Network, opts: &EngineOptions, ds: SpikeDataset, record: bool, pool: &mut SlicePool) -> Result<Tape> {
        check_pool(pool, net, &ds)?;
        let (b, t, c) = (ds.len(), ds.t_steps, net.spec.n_out);
        let slice = pool.slice;
        let sizes: Vec<usize> = net.plan.geoms.iter().map(|g| g.n()).collect();
        let shapes: Vec<Option<Shape>> = net.plan.geoms.iter().map(|g| (g.group.positions() > 1).then_some(g.group)).collect();
        let mut readout = vec![0.0; b * t * c];
        let mut counts: Vec<Vec<f32>> = sizes.iter().map(|&n| vec![0.0; b * n]).collect();
        let mut spikes: Vec<Vec<f32>> = if record { sizes.iter().map(|&n| vec![0.0; b * t * n]).collect() } else { Vec::new() };
        let mut membranes = spikes.clone();
        let idx: Vec<usize> = (0..b).collect();
        let slices: Vec<&[usize]> = idx.chunks(slice).collect();
        let mut outs: Vec<SliceOut> = readout
            .chunks_mut(slice * t * c)
            .map(|r| SliceOut { readout: r, counts: Vec::new(), spikes: Vec::new(), membranes: Vec::new() })
            .collect();
        deal(&mut counts, |l| slice * sizes[l], &mut outs, |o| &mut o.counts);
        deal(&mut spikes, |l| slice * t * sizes[l], &mut outs, |o| &mut o.spikes);
        deal(&mut membranes, |l| slice * t * sizes[l], &mut outs, |o| &mut o.membranes);
        let pool = &*pool;
        // the backward pass runs the forward pass again; without a record, no membrane history
        let first = EngineOptions { forward_only: !record, ..*opts };
        outs.par_iter_mut().zip(slices.par_iter()).for_each(|(out, sl)| {
            let mut ws = pool.take();
            ws.load(&ds, sl);
            forward(net, &first, &mut ws);
            let bs = sl.len();
            gather(&ws.rv, t, bs, c, None, out.readout);
            for (l, &n) in sizes.iter().enumerate() {
                for (row, src) in out.counts[l].chunks_exact_mut(n).zip(ws.layers[l].cnt[..bs * n].chunks_exact(n)) {
                    to_channel_major(src, shapes[l], row);
                }
                if record {
                    gather(ws.membrane(l), t, bs, n, shapes[l], out.membranes[l]);
                    gather(ws.spikes(l), t, bs, n, shapes[l], out.spikes[l]);
                }
            }
            pool.give(ws);
        });
        Ok(Tape { opts: EngineOptions { forward_only: false, ..*opts }, ds, slice, n_out: c, sizes, shapes, readout, counts, spikes, membranes })
    }

    /// Samples in the batch.
    pub fn batch(&self) -> usize {
        self.ds.len()
    }

    /// Steps per sample.
    pub fn steps(&self) -> usize {
        self.ds.t_steps
    }

    /// The readout membrane `[B, T, n_out]`.
    pub fn readout(&self) -> &[f32] {
        &self.readout
    }

    /// Spike counts of hidden layer `l` per sample and neuron, `[B, n_l]`.
    pub fn counts(&self, l: usize) -> &[f32] {
        &self.counts[l]
    }

    /// Moves the readout `[B, T, n_out]` and the counts `[B, n_l]` per layer out of the tape
    /// (afterwards [`Tape::readout`] and [`Tape::counts`] are empty; the backward pass needs
    /// neither).
    pub fn take_outputs(&mut self) -> (Vec<f32>, Vec<Vec<f32>>) {
        (std::mem::take(&mut self.readout), self.counts.iter_mut().map(std::mem::take).collect())
    }

    /// Spikes of hidden layer `l`, `[B, T, n_l]` (empty unless recorded).
    pub fn spikes(&self, l: usize) -> &[f32] {
        self.spikes.get(l).map_or(&[], |v| v.as_slice())
    }

    /// Membrane of hidden layer `l` (after the step's reset), `[B, T, n_l]` (empty unless recorded).
    pub fn membranes(&self, l: usize) -> &[f32] {
        self.membranes.get(l).map_or(&[], |v| v.as_slice())
    }

    /// The gradient (in `net.params`' layout) of a loss whose gradient is `grad_readout` with
    /// respect to the readout membrane `[B, T, n_out]` and `grad_counts[l]` (if given) with respect
    /// to hidden layer l's spike counts `[B, n_l]`. `net` must be the network that ran
    /// [`Tape::forward`] (same weights) and `pool` fit it. Can run again with other seeds.
    pub fn backward(&self, net: &Network, grad_readout: &[f32], grad_counts: &[Option<&[f32]>], pool: &mut SlicePool) -> Result<Vec<f32>> {
        check_pool(pool, net, &self.ds)?;
        let (b, t, c) = (self.batch(), self.steps(), self.n_out);
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
        let idx: Vec<usize> = (0..b).collect();
        let slices: Vec<&[usize]> = idx.chunks(self.slice).collect();
        let n_params = net.layout.total;
        let mut slots = std::mem::take(&mut pool.slots);
        if slots.len() < slices.len() {
            slots.resize_with(slices.len(), || (vec![0.0; n_params], Default::default()));
        }
        let (sizes, shapes, opts, ds) = (&self.sizes, &self.shapes, self.opts, &self.ds);
        let shared = &*pool;
        slots[..slices.len()].par_iter_mut().zip(slices.par_iter()).for_each(|(slot, sl)| {
            let mut ws = shared.take();
            ws.load(ds, sl);
            forward(net, &opts, &mut ws);
            let (b0, bs) = (sl[0], sl.len());
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
            backward(net, &opts, &mut ws);
            slot.0.copy_from_slice(&ws.grads);
            shared.give(ws);
        });
        // summed in slice order, as the training loop sums them
        let mut grad = slots[0].0.clone();
        for slot in &slots[1..slices.len()] {
            for (a, x) in grad.iter_mut().zip(&slot.0) {
                *a += x;
            }
        }
        pool.slots = slots;
        Ok(grad)
    }
}

fn check_pool(pool: &SlicePool, net: &Network, ds: &SpikeDataset) -> Result<()> {
    if !pool.fits(net, ds.t_steps) {
        return Err(Error::Shape { what: "the workspace pool".into(), expected: format!("one for this network and {} steps", ds.t_steps), got: "another".into() });
    }
    if ds.is_empty() {
        return Err(shape("the batch", "at least one sample".into(), 0));
    }
    Ok(())
}

/// Copies a time-major slice buffer `[T, bs, m]` into the slice's batch-major rows `[bs, T, m]`,
/// each row permuted to channel-major if `shape` is given.
fn gather(src: &[f32], t: usize, bs: usize, m: usize, shape: Option<Shape>, dst: &mut [f32]) {
    for step in 0..t {
        for j in 0..bs {
            let d = (j * t + step) * m;
            to_channel_major(&src[(step * bs + j) * m..(step * bs + j + 1) * m], shape, &mut dst[d..d + m]);
        }
    }
}

/// One sample's neurons from the engine's position-major order to channel-major
/// ([`Shape::channel_major`]); a plain copy without a shape.
fn to_channel_major(src: &[f32], shape: Option<Shape>, dst: &mut [f32]) {
    match shape {
        None => dst.copy_from_slice(src),
        Some(sh) => src.iter().enumerate().for_each(|(k, &v)| dst[sh.channel_major(k)] = v),
    }
}

/// The inverse of [`to_channel_major`].
fn from_channel_major(src: &[f32], shape: Option<Shape>, dst: &mut [f32]) {
    match shape {
        None => dst.copy_from_slice(src),
        Some(sh) => dst.iter_mut().enumerate().for_each(|(k, d)| *d = src[sh.channel_major(k)]),
    }
}

fn shape(what: &str, expected: String, got: usize) -> Error {
    Error::Shape { what: what.into(), expected, got: got.to_string() }
}
