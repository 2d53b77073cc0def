//! The buffers of one batch slice ([`Workspace`]), sized once from the [`NetworkPlan`] so that the
//! time loops never allocate, and the accessors reports and plots read them through.
//!
//! Buffers are time-major `[T, b, n]` (row `t·b + i` holds sample `i` at step `t`).

use super::conn::conv_of;
use super::plan::NetworkPlan;
use crate::data::SpikeDataset;
use crate::layer::{ConnGeom, LayerGeom};
use crate::linalg::{self, ConvTaps, Csr};
use crate::network::Network;

/// Buffers of one hidden layer for one slice.
#[derive(Debug, Clone, Default)]
pub(crate) struct LayerBuf {
    /// Input accumulated in each step `[T, b, n]`.
    pub(crate) a: Vec<f32>,
    /// Membrane `[T, b, n]`.
    pub(crate) u: Vec<f32>,
    /// Spikes `[T, b, n]`.
    pub(crate) s: Vec<f32>,
    /// ∂A of one backward block of steps `[τ, b, input width]` (`τ` = [`Workspace::block`]; with
    /// blocks shorter than the run, one more row: the first step of the block after).
    pub(crate) ga: Vec<f32>,
    /// ∂S from above of one backward block `[τ, b, n]`, completed in place.
    pub(crate) gs: Vec<f32>,
    /// Max-pooled spikes `[T, b, n/pool]` and the first maximum's position (in smooth mode and on
    /// the dense path; the event-driven path records `pev` and `parg` instead), and ∂ of the pooled
    /// output of one backward block `[τ, b, n/pool]` (empty without pooling).
    pub(crate) p: Vec<f32>,
    pub(crate) pidx: Vec<u32>,
    pub(crate) gp: Vec<f32>,
    /// The spikes as events per row `t·b + i` (built during the forward pass unless in smooth
    /// mode), so later products need not scan the spike buffer again.
    pub(crate) ev: Csr,
    /// The max-pooled spikes as events per row `t·b + i` (built from `ev` by the event-driven
    /// forward pass of a pooled layer), the next layer's and the readout's source on that path.
    pub(crate) pev: Csr,
    /// The position of each pooled event's first maximum (parallel to `pev.idx`), and the
    /// event-driven pooling's scratch of one pooled row `[n/pool]` (`pval` all zero between rows).
    pub(crate) parg: Vec<u32>,
    pub(crate) pval: Vec<f32>,
    pub(crate) pat: Vec<u32>,
    /// The pooled output of each neuron `[n]` ([`linalg::pool_targets`]; empty without pooling).
    pub(crate) ptarget: Vec<u32>,
    /// Whether `s` holds every step's spikes. The event-driven path writes each step's spikes into
    /// two alternating slots only (the events are the record); [`Workspace::spikes`] rebuilds `s`
    /// from the events when asked.
    pub(crate) s_full: bool,
    /// Per-neuron state and adjoint carries `[b, n]`.
    pub(crate) i: Vec<f32>,
    pub(crate) q: Vec<f32>,
    pub(crate) c_gu: Vec<f32>,
    pub(crate) c_gi: Vec<f32>,
    pub(crate) c_gq: Vec<f32>,
    pub(crate) c_gs: Vec<f32>,
    /// Spike counts per sample and neuron `[b, n]`, and the regularizer gradient on them.
    pub(crate) cnt: Vec<f32>,
    pub(crate) dcnt: Vec<f32>,
}

/// Sums over a slice, combined across slices by [`SliceStats::add`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SliceStats {
    /// Σ over samples of the cross-entropy.
    pub ce_sum: f64,
    /// Regularizer loss (already divided by the batch size).
    pub reg_loss: f64,
    /// Correct predictions.
    pub correct: usize,
    /// Samples.
    pub samples: usize,
    /// Samples whose readout output (the loss's class scores) holds a NaN or infinity.
    #[serde(default)]
    pub nonfinite_outputs: usize,
    /// Spikes of each hidden layer's output neurons (all, or a Dale layer's E population).
    pub spikes: Vec<f64>,
}

impl SliceStats {
    /// Adds another slice's sums.
    pub fn add(&mut self, o: &SliceStats) {
        self.ce_sum += o.ce_sum;
        self.reg_loss += o.reg_loss;
        self.correct += o.correct;
        self.samples += o.samples;
        self.nonfinite_outputs += o.nonfinite_outputs;
        if self.spikes.len() < o.spikes.len() {
            self.spikes.resize(o.spikes.len(), 0.0);
        }
        for (a, b) in self.spikes.iter_mut().zip(&o.spikes) {
            *a += b;
        }
    }
}

/// All buffers for one batch slice of at most `b_cap` samples, allocated once.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub(crate) t: usize,
    pub(crate) b_cap: usize,
    /// Steps per block of the backward pass ([`NetworkPlan::backward_block`]).
    pub(crate) block: usize,
    pub(crate) b: usize,
    /// Input events of the slice, rows `t·b + i`.
    pub input: Csr,
    pub(crate) labels: Vec<usize>,
    pub(crate) layers: Vec<LayerBuf>,
    pub(crate) ra: Vec<f32>,
    /// Readout membrane `[T, b, n_out]`.
    pub rv: Vec<f32>,
    pub(crate) rga: Vec<f32>,
    pub(crate) rgv: Vec<f32>,
    pub(crate) r_i: Vec<f32>,
    pub(crate) r_c_gv: Vec<f32>,
    pub(crate) r_c_gi: Vec<f32>,
    /// Gradient of the loss (batch-mean) w.r.t. all parameters, from this slice.
    pub grads: Vec<f32>,
    /// Statistics of the last pass.
    pub stats: SliceStats,
    /// Zeros `[b, max n]`: the state before t = 0 and the spikes after the last step.
    pub(crate) zeros: Vec<f32>,
    /// Scratch of the convolution input gradients.
    pub(crate) scratch: Vec<f32>,
    /// Each hidden layer's feed-forward and recurrent convolutions' weights rearranged for their
    /// input gradients (filled at the start of each backward pass; empty if dense).
    pub(crate) wt: Vec<[Vec<f32>; 2]>,
    /// Tap tables of each hidden layer's feed-forward and recurrent convolutions (`None` if dense).
    pub(crate) taps: Vec<[Option<ConvTaps>; 2]>,
    /// Those convolutions' weights in the tables' run layout (filled at the start of each forward
    /// pass), and one run-layout weight gradient (one connection at a time).
    pub(crate) wr: Vec<[Vec<f32>; 2]>,
    pub(crate) dwr: Vec<f32>,
}

impl Workspace {
    /// Buffers for `t` steps and up to `b_cap` samples of `net`.
    pub fn new(net: &Network, t: usize, b_cap: usize) -> Self {
        Self::for_plan(&net.plan, net.layout.total, t, b_cap)
    }

    /// Buffers for `t` steps and up to `b_cap` samples of a network with plan `plan` and `n_params`
    /// parameters.
    pub fn for_plan(plan: &NetworkPlan, n_params: usize, t: usize, b_cap: usize) -> Self {
        Self::from_sizes(plan, n_params, t, b_cap, Sizes::new(plan, t, b_cap))
    }

    /// Like [`Workspace::new`], with backward blocks of `block` steps instead of
    /// [`NetworkPlan::backward_block`]'s (for tests and tuning; the gradients agree up to rounding,
    /// summed in another order).
    pub fn with_backward_block(net: &Network, t: usize, b_cap: usize, block: usize) -> Self {
        let block = block.clamp(1, t.max(1));
        Self::from_sizes(&net.plan, net.layout.total, t, b_cap, Sizes::with_block(&net.plan, t, b_cap, block))
    }

    /// Steps per block of the backward pass.
    pub fn backward_block(&self) -> usize {
        self.block
    }

    fn from_sizes(plan: &NetworkPlan, n_params: usize, t: usize, b_cap: usize, z: Sizes) -> Self {
        let layers = z
            .layers
            .iter()
            .zip(&plan.geoms)
            .map(|(l, g)| LayerBuf {
                a: vec![0.0; l.full_in],
                u: vec![0.0; l.full],
                s: vec![0.0; l.full],
                ga: vec![0.0; l.block_in],
                gs: vec![0.0; l.block],
                p: vec![0.0; l.pooled],
                pidx: vec![0; l.pooled],
                gp: vec![0.0; l.block_pooled],
                ev: Csr::default(),
                pev: Csr::default(),
                parg: Vec::new(),
                pval: vec![0.0; l.pooled_row],
                pat: vec![0; l.pooled_row],
                ptarget: if g.pool > 1 { linalg::pool_targets(g.group.channels, [g.group.height, g.group.width], g.pool_window()) } else { Vec::new() },
                s_full: false,
                i: vec![0.0; l.per],
                q: vec![0.0; l.per],
                c_gu: vec![0.0; l.per],
                c_gi: vec![0.0; l.per],
                c_gq: vec![0.0; l.per],
                c_gs: vec![0.0; l.per],
                cnt: vec![0.0; l.per],
                dcnt: vec![0.0; l.per],
            })
            .collect();
        Workspace {
            t,
            b_cap,
            block: z.block,
            b: 0,
            input: Csr::default(),
            labels: Vec::with_capacity(b_cap),
            layers,
            ra: vec![0.0; z.readout],
            rv: vec![0.0; z.readout],
            rga: vec![0.0; z.readout],
            rgv: vec![0.0; z.readout],
            r_i: vec![0.0; z.readout_per],
            r_c_gv: vec![0.0; z.readout_per],
            r_c_gi: vec![0.0; z.readout_per],
            grads: vec![0.0; n_params],
            stats: SliceStats::default(),
            zeros: vec![0.0; z.zeros],
            scratch: vec![0.0; z.scratch],
            wt: z.wt.iter().map(|r| r.map(|n| vec![0.0; n])).collect(),
            wr: z.runs.iter().map(|r| r.map(|n| vec![0.0; n])).collect(),
            dwr: vec![0.0; z.runs.iter().flatten().copied().max().unwrap_or(0)],
            taps: tap_tables(&plan.geoms),
        }
    }

    /// Number of samples currently loaded.
    pub fn batch(&self) -> usize {
        self.b
    }

    /// Steps per sample.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Loads samples `idx` of `ds` as time-major input events (value 1, or a count data set's
    /// number of events of the unit in that step).
    ///
    /// # Panics
    /// If `idx` has more than `b_cap` samples (a caller bug, not user input).
    pub fn load(&mut self, ds: &SpikeDataset, idx: &[usize]) {
        assert!(idx.len() <= self.b_cap, "slice larger than the workspace");
        let b = idx.len();
        self.b = b;
        self.labels.clear();
        self.labels.extend(idx.iter().map(|&i| ds.labels[i]));
        let rows = self.t * b;
        let csr = &mut self.input;
        csr.ptr.clear();
        csr.ptr.resize(rows + 1, 0);
        for (bi, &s) in idx.iter().enumerate() {
            for (t, _, _) in ds.counted_events(s) {
                csr.ptr[t as usize * b + bi + 1] += 1;
            }
        }
        for r in 0..rows {
            csr.ptr[r + 1] += csr.ptr[r];
        }
        let nnz = csr.ptr[rows] as usize;
        csr.idx.clear();
        csr.idx.resize(nnz, 0);
        csr.val.clear();
        csr.val.resize(nnz, 1.0);
        let mut fill: Vec<u32> = csr.ptr[..rows].to_vec();
        for (bi, &s) in idx.iter().enumerate() {
            for (t, u, c) in ds.counted_events(s) {
                let r = t as usize * b + bi;
                csr.idx[fill[r] as usize] = u;
                csr.val[fill[r] as usize] = c as f32;
                fill[r] += 1;
            }
        }
    }

    /// Spikes of hidden layer `l`, `[T, b, n_l]` (valid after [`super::forward()`]; rebuilt from the spike
    /// events if the forward pass kept only those).
    pub fn spikes(&mut self, l: usize) -> &[f32] {
        let n = self.layers[l].cnt.len() / self.b_cap;
        let len = self.t * self.b * n;
        let lb = &mut self.layers[l];
        if !lb.s_full {
            lb.s[..len].fill(0.0);
            for (r, row) in lb.s[..len].chunks_exact_mut(n).enumerate() {
                for (i, v) in lb.ev.row(r) {
                    row[i] = v;
                }
            }
            lb.s_full = true;
        }
        &lb.s[..len]
    }

    /// Input accumulated by hidden layer `l` in each step (`A_t = W·x_t + V·S_t`), `[T, b, n_l]`, or
    /// `[T, b, 2n_l]` for a Dale layer (each row: excitatory inputs, then inhibitory) (valid after
    /// [`super::forward()`]).
    pub fn input_current(&self, l: usize) -> &[f32] {
        let w = self.layers[l].a.len() / (self.t * self.b_cap).max(1);
        &self.layers[l].a[..self.t * self.b * w]
    }

    /// The readout membrane of sample `i` of the slice for class `k`, step by step (valid after
    /// [`super::forward()`]).
    pub fn readout_trace(&self, i: usize, k: usize) -> impl Iterator<Item = f32> + '_ {
        let c = self.r_i.len() / self.b_cap;
        (0..self.t).map(move |t| self.rv[(t * self.b + i) * c + k])
    }

    /// The spikes of hidden layer `l` for sample `i` of the slice as `(step, neuron)` pairs in time
    /// order (valid after [`super::forward()`]).
    pub fn spike_events(&mut self, l: usize, i: usize) -> Vec<(usize, usize)> {
        let (t_steps, b) = (self.t, self.b);
        let n = self.layers[l].cnt.len() / self.b_cap;
        let s = self.spikes(l);
        (0..t_steps)
            .flat_map(|t| s[(t * b + i) * n..(t * b + i + 1) * n].iter().enumerate().filter(|(_, &x)| x > 0.0).map(move |(u, _)| (t, u)))
            .collect()
    }

    /// Membrane of hidden layer `l`, `[T, b, n_l]` (valid after [`super::forward()`] without
    /// [`EngineOptions::forward_only`](super::EngineOptions::forward_only)).
    pub fn membrane(&self, l: usize) -> &[f32] {
        let n = self.layers[l].cnt.len() / self.b_cap;
        &self.layers[l].u[..self.t * self.b * n]
    }
}

/// Element counts of a workspace's buffers, the one place they are derived (so that what
/// [`Workspace::for_plan`] allocates and what [`estimate_bytes`] reports cannot drift apart).
struct Sizes {
    layers: Vec<LayerSizes>,
    /// Readout buffers `[T, b, n_out]` and carries `[b, n_out]`.
    readout: usize,
    readout_per: usize,
    /// Zeros `[b, max input width]`.
    zeros: usize,
    /// Steps per backward block.
    block: usize,
    /// Convolution input-gradient scratch, and the rearranged weights of each layer's feed-forward
    /// and recurrent convolution (0: dense).
    scratch: usize,
    wt: Vec<[usize; 2]>,
    /// Weights of each layer's feed-forward and recurrent convolution (0: dense).
    runs: Vec<[usize; 2]>,
}

/// Element counts of one hidden layer's buffers.
struct LayerSizes {
    /// `[T, b, n]`: membrane, spikes.
    full: usize,
    /// `[T, b, input width]`: accumulated input.
    full_in: usize,
    /// `[τ, b, n]`: ∂S of a backward block.
    block: usize,
    /// `[τ (+1), b, input width]`: ∂A of a backward block.
    block_in: usize,
    /// `[b, n]`: state and adjoint carries, counts.
    per: usize,
    /// `[T, b, output]` of a pooled or Dale layer (0 otherwise).
    pooled: usize,
    /// `[τ, b, output]`: its gradient in a backward block.
    block_pooled: usize,
    /// `[output]` of a pooled layer (0 otherwise): the event-driven pooling's row scratch.
    pooled_row: usize,
    /// `[n]` of a pooled layer (0 otherwise): its neurons' pooled outputs.
    pool_units: usize,
}

impl Sizes {
    /// What a workspace allocates: backward blocks of [`NetworkPlan::backward_block`] steps.
    fn new(plan: &NetworkPlan, t: usize, b_cap: usize) -> Self {
        Self::with_block(plan, t, b_cap, plan.backward_block(t, b_cap))
    }

    /// With backward blocks of `block` steps (`t`: one block, every step's gradient held).
    fn with_block(plan: &NetworkPlan, t: usize, b_cap: usize, block: usize) -> Self {
        let geoms = &plan.geoms;
        // a block shorter than the run also holds ∂A of the next block's first step
        let block_in = if block < t { block + 1 } else { t };
        let layers = geoms
            .iter()
            .map(|g| {
                let out = if g.dense_output() { b_cap * g.output().n() } else { 0 };
                LayerSizes {
                    full: t * b_cap * g.n(),
                    full_in: t * b_cap * g.n_input(),
                    block: block * b_cap * g.n(),
                    block_in: block_in * b_cap * g.n_input(),
                    per: b_cap * g.n(),
                    pooled: t * out,
                    block_pooled: block * out,
                    pooled_row: if g.pool > 1 { g.output().n() } else { 0 },
                    pool_units: if g.pool > 1 { g.n() } else { 0 },
                }
            })
            .collect();
        let scratch = conv_scratch(geoms);
        Sizes {
            layers,
            block,
            readout: t * b_cap * plan.n_out,
            readout_per: b_cap * plan.n_out,
            zeros: b_cap * geoms.iter().map(|g| g.n_input()).max().unwrap_or(0),
            scratch,
            wt: geoms.iter().map(|g| [grad_weights_len(Some(&g.ff)), grad_weights_len(g.rec.as_ref())]).collect(),
            runs: geoms.iter().map(|g| [conv_len(Some(&g.ff)), conv_len(g.rec.as_ref())]).collect(),
        }
    }
}

/// Bytes [`Workspace::for_plan`] allocates for these arguments ([`NetworkPlan::workspace_bytes`]),
/// the input events aside; the run-layout weight gradient is counted as large as all run-layout
/// weights together (an upper bound).
pub(super) fn estimate_bytes(plan: &NetworkPlan, n_params: usize, t: usize, b_cap: usize) -> usize {
    Sizes::new(plan, t, b_cap).bytes(n_params)
}

/// [`estimate_bytes`] with every step's gradient held (one backward block): what decides the slice
/// size and whether the backward pass runs in blocks.
pub(super) fn unblocked_bytes(plan: &NetworkPlan, n_params: usize, t: usize, b_cap: usize) -> usize {
    Sizes::with_block(plan, t, b_cap, t).bytes(n_params)
}

/// Bytes of the gradients one step of a backward block holds over all layers (∂S, ∂A, ∂ of the
/// pooled output) for `b_cap` samples.
pub(super) fn gradient_bytes_per_step(plan: &NetworkPlan, b_cap: usize) -> usize {
    let z = Sizes::with_block(plan, 1, b_cap, 1);
    z.layers.iter().map(|l| 4 * (l.block + l.block_in + l.block_pooled)).sum()
}

impl Sizes {
    fn bytes(&self, n_params: usize) -> usize {
        let layers: usize = self.layers.iter().map(|l| 4 * (2 * l.full + l.full_in + l.block + l.block_in + l.pooled + l.block_pooled + 8 * l.per) + 4 * l.pooled + 8 * l.pooled_row + 4 * l.pool_units).sum();
        let runs: usize = self.runs.iter().flatten().sum::<usize>() * 2;
        let wt: usize = self.wt.iter().flatten().sum();
        layers + 4 * (4 * self.readout + 3 * self.readout_per + n_params + self.zeros + self.scratch + wt + runs)
    }
}

/// Scratch floats the convolution input gradients of these layers need.
fn conv_scratch(geoms: &[LayerGeom]) -> usize {
    let convs = || geoms.iter().flat_map(|g| [Some(g.ff), g.rec]).flatten().filter_map(|c| conv_of(&c));
    convs().map(|c| linalg::conv_input_grad_scratch(&c)).max().unwrap_or(0)
}

/// Number of weights of a connection if it is a convolution, else 0.
fn conv_len(g: Option<&ConnGeom>) -> usize {
    g.and_then(conv_of).map_or(0, |c| c.n_weights())
}

/// Floats of a convolution's weights rearranged for its input gradient (0 for other connections).
fn grad_weights_len(g: Option<&ConnGeom>) -> usize {
    g.and_then(conv_of).map_or(0, |c| linalg::conv_input_grad_weights_len(&c))
}

/// Tap tables of each layer's feed-forward and recurrent convolutions. The first layer reads the
/// data's channel-major units; every later source (and every recurrent one) is position-major.
fn tap_tables(geoms: &[LayerGeom]) -> Vec<[Option<ConvTaps>; 2]> {
    geoms
        .iter()
        .enumerate()
        .map(|(l, g)| [conv_of(&g.ff).map(|c| ConvTaps::new(c, l > 0)), g.rec.as_ref().and_then(conv_of).map(|c| ConvTaps::new(c, true))])
        .collect()
}

