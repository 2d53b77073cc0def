//! The fused forward and backward passes over time for one batch slice (spec §1.1, §1.5, §1.6).
//!
//! Buffers are time-major `[T, b, n]` (row `t·b + i` holds sample `i` at step `t`). Feed-forward
//! projections for all `T` steps run as one product over `T·b` rows (event-driven for spikes,
//! GEMM when dense); only recurrent products run step by step. The step order is the reference's:
//! with `A_t` the input accumulated in step `t` (`A_t = W·x_t + V·S_t`),
//!
//! ```text
//! S_t = H(U_{t−1} − 1)
//! I_t = β_s I_{t−1} + A_{t−1}
//! U_t = (β_m U_{t−1} + (1−β_m)(I_{t−1} − a q_{t−1}))(1 − S_t),   q_t = β_a q_{t−1} + S_{t−1}
//! ```
//!
//! so an input spike at `t` first moves the hidden spike output at `t+3`, and the readout
//! `V_t = β_m V_{t−1} + (1−β_m) I_{t−1}` two steps after its input.
//!
//! ## Backward (hand-derived adjoint)
//! With `r_t = 1 − S_t` held constant (the reset is detached) and σ' the surrogate, going from
//! `t = T−1` down to 0 with all `·_T` terms zero:
//!
//! ```text
//! ∂A_t = ∂I_{t+1}
//! ∂S_t = ∂S_t(ext) + ∂A_t·Vᵀ + ∂q_{t+1}
//! ∂U_t = β_m r_{t+1} ∂U_{t+1} + σ'(U_t − 1) ∂S_{t+1}
//! ∂I_t = (1−β_m) r_{t+1} ∂U_{t+1} + β_s ∂I_{t+1}
//! ∂q_t = −a(1−β_m) r_{t+1} ∂U_{t+1} + β_a ∂q_{t+1}
//! ```
//!
//! then `∂W = Σ_t x_tᵀ ∂A_t`, `∂V = Σ_t S_tᵀ ∂A_t`, `∂x_t = ∂A_t Wᵀ`. The readout's adjoint is the
//! same without spike and reset: `∂V_t = ∂V_t(ext) + β_m ∂V_{t+1}`,
//! `∂I_t = (1−β_m)∂V_{t+1} + β_s ∂I_{t+1}`, `∂A_t = ∂I_{t+1}`.

use crate::data::SpikeDataset;
use crate::layer::ConnGeom;
use crate::linalg::{self, Conv1d, ConvTaps, Csr};
use crate::network::{Network, NetworkSpec};
use crate::neuron::{Decays, SpikeMode};

/// How the network output over time becomes class logits (spec §1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LossKind {
    /// Max of the readout over time, then cross-entropy (every paper example).
    #[default]
    MaxOverTime,
    /// Sum of the readout over time, then cross-entropy.
    SumOverTime,
    /// Readout at the last step, then cross-entropy.
    LastStep,
}

/// Which side of an activity bound is penalized (spec §4.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// `s·mean(relu(cnt − θ)²)`.
    Upper,
    /// `s·mean(relu(θ − cnt)²)`.
    Lower,
}

/// Over what a spike count is taken before the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegScope {
    /// Per neuron and sample (stork `dims=False`).
    Neuron,
    /// Mean over the layer's neurons, per sample (stork `dims=1` on a dense layer, `dims=[−2,−1]`
    /// on a convolutional one).
    Population,
    /// Mean over positions, per channel and sample (stork `dims=−1` on a convolutional layer; the
    /// same as `Neuron` on a dense layer).
    Channel,
}

/// An L2 activity regularizer on a hidden layer's spike counts per sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regularizer {
    /// Upper or lower bound.
    pub bound: Bound,
    /// Strength s.
    pub strength: f32,
    /// Threshold θ_r in spikes per sample.
    pub threshold: f32,
    /// Per neuron or population mean.
    pub scope: RegScope,
}

/// How feed-forward spike products are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectionPath {
    /// Event-driven for binary spikes, GEMM in smooth mode.
    #[default]
    Auto,
    /// Always GEMM (for cross-path tests).
    Dense,
}

/// Options of a forward/backward pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineOptions {
    /// Spiking (reference) or smooth (gradient checks).
    pub mode: SpikeMode,
    /// Product path.
    pub path: ProjectionPath,
    /// Loss.
    pub loss: LossKind,
    /// Regularizers applied to every hidden layer.
    pub regularizers: Vec<Regularizer>,
    /// Keep every step's accumulated input for [`Workspace::input_current`]. Otherwise the
    /// event-driven path computes each layer's feed-forward input step by step into two reused
    /// slots, so the input is produced and consumed while in cache.
    pub keep_input: bool,
}

/// Buffers of one hidden layer for one slice.
#[derive(Debug, Clone, Default)]
struct LayerBuf {
    /// Input accumulated in each step `[T, b, n]`.
    a: Vec<f32>,
    /// Membrane `[T, b, n]`.
    u: Vec<f32>,
    /// Spikes `[T, b, n]`.
    s: Vec<f32>,
    /// ∂A `[T, b, n]`.
    ga: Vec<f32>,
    /// ∂S from above `[T, b, n]`, completed in place.
    gs: Vec<f32>,
    /// Max-pooled spikes `[T, b, n/pool]`, the first maximum's position, and ∂ of the pooled output
    /// (empty without pooling).
    p: Vec<f32>,
    pidx: Vec<u32>,
    gp: Vec<f32>,
    /// The spikes as events per row `t·b + i` (built during the forward pass unless in smooth
    /// mode), so later products need not scan the spike buffer again.
    ev: Csr,
    /// Whether `s` holds every step's spikes. The event-driven path writes each step's spikes into
    /// two alternating slots only (the events are the record); [`Workspace::spikes`] rebuilds `s`
    /// from the events when asked.
    s_full: bool,
    /// Per-neuron state and adjoint carries `[b, n]`.
    i: Vec<f32>,
    q: Vec<f32>,
    c_gu: Vec<f32>,
    c_gi: Vec<f32>,
    c_gq: Vec<f32>,
    c_gs: Vec<f32>,
    /// Spike counts per sample and neuron `[b, n]`, and the regularizer gradient on them.
    cnt: Vec<f32>,
    dcnt: Vec<f32>,
}

/// Sums over a slice, combined across slices by [`SliceStats::add`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SliceStats {
    /// Σ over samples of the cross-entropy.
    pub ce_sum: f64,
    /// Regularizer loss (already divided by the batch size).
    pub reg_loss: f64,
    /// Correct predictions.
    pub correct: usize,
    /// Samples.
    pub samples: usize,
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
    t: usize,
    b_cap: usize,
    b: usize,
    /// Input events of the slice, rows `t·b + i`.
    pub input: Csr,
    labels: Vec<usize>,
    layers: Vec<LayerBuf>,
    ra: Vec<f32>,
    /// Readout membrane `[T, b, n_out]`.
    pub rv: Vec<f32>,
    rga: Vec<f32>,
    rgv: Vec<f32>,
    r_i: Vec<f32>,
    r_c_gv: Vec<f32>,
    r_c_gi: Vec<f32>,
    /// Gradient of the loss (batch-mean) w.r.t. all parameters, from this slice.
    pub grads: Vec<f32>,
    /// Statistics of the last pass.
    pub stats: SliceStats,
    /// Zeros `[b, max n]`: the state before t = 0 and the spikes after the last step.
    zeros: Vec<f32>,
    /// Scratch of the convolution input gradients.
    scratch: Vec<f32>,
    /// A convolution's weights rearranged for its input gradient (one connection at a time).
    wt: Vec<f32>,
    /// Tap tables of each hidden layer's feed-forward and recurrent convolutions (`None` if dense).
    taps: Vec<[Option<ConvTaps>; 2]>,
    /// Those convolutions' weights in the tables' run layout (filled at the start of each forward
    /// pass), and one run-layout weight gradient (one connection at a time).
    wr: Vec<[Vec<f32>; 2]>,
    dwr: Vec<f32>,
}

impl Workspace {
    /// Buffers for `t` steps and up to `b_cap` samples of `spec` (which must be valid).
    pub fn new(spec: &NetworkSpec, n_params: usize, t: usize, b_cap: usize) -> Self {
        let geoms = spec.geometry().unwrap_or_default();
        let layers = geoms
            .iter()
            .map(|g| {
                let n = g.n();
                let full = t * b_cap * n;
                let full_in = t * b_cap * g.n_input();
                let per = b_cap * n;
                let pooled = if g.dense_output() { t * b_cap * g.output().n() } else { 0 };
                LayerBuf {
                    a: vec![0.0; full_in],
                    u: vec![0.0; full],
                    s: vec![0.0; full],
                    ga: vec![0.0; full_in],
                    gs: vec![0.0; full],
                    p: vec![0.0; pooled],
                    pidx: vec![0; pooled],
                    gp: vec![0.0; pooled],
                    ev: Csr::default(),
                    s_full: false,
                    i: vec![0.0; per],
                    q: vec![0.0; per],
                    c_gu: vec![0.0; per],
                    c_gi: vec![0.0; per],
                    c_gq: vec![0.0; per],
                    c_gs: vec![0.0; per],
                    cnt: vec![0.0; per],
                    dcnt: vec![0.0; per],
                }
            })
            .collect();
        let ro = t * b_cap * spec.n_out;
        let max_n = geoms.iter().map(|g| g.n_input()).max().unwrap_or(0);
        let (scratch, wt) = conv_scratch(&geoms);
        Workspace {
            t,
            b_cap,
            b: 0,
            input: Csr::default(),
            labels: Vec::with_capacity(b_cap),
            layers,
            ra: vec![0.0; ro],
            rv: vec![0.0; ro],
            rga: vec![0.0; ro],
            rgv: vec![0.0; ro],
            r_i: vec![0.0; b_cap * spec.n_out],
            r_c_gv: vec![0.0; b_cap * spec.n_out],
            r_c_gi: vec![0.0; b_cap * spec.n_out],
            grads: vec![0.0; n_params],
            stats: SliceStats::default(),
            zeros: vec![0.0; b_cap * max_n],
            scratch: vec![0.0; scratch],
            wt: vec![0.0; wt],
            wr: geoms.iter().map(|g| [conv_len(Some(&g.ff)), conv_len(g.rec.as_ref())].map(|n| vec![0.0; n])).collect(),
            dwr: vec![0.0; geoms.iter().flat_map(|g| [conv_len(Some(&g.ff)), conv_len(g.rec.as_ref())]).max().unwrap_or(0)],
            taps: tap_tables(&geoms),
        }
    }

    /// Bytes a workspace for `t` steps and `b_cap` samples of `spec` will hold, without allocating
    /// it (the input events, which grow with the data, are not included).
    pub fn estimate_bytes(spec: &NetworkSpec, n_params: usize, t: usize, b_cap: usize) -> usize {
        let geoms = spec.geometry().unwrap_or_default();
        let layers: usize = geoms
            .iter()
            .map(|g| {
                let full = t * b_cap * g.n();
                let full_in = t * b_cap * g.n_input();
                let pooled = if g.dense_output() { t * b_cap * g.output().n() } else { 0 };
                4 * (3 * full + 2 * full_in + 2 * pooled + 8 * b_cap * g.n()) + 4 * pooled
            })
            .sum();
        let max_n = geoms.iter().map(|g| g.n_input()).max().unwrap_or(0);
        let (scratch, wt) = conv_scratch(&geoms);
        let runs: usize = geoms.iter().flat_map(|g| [conv_len(Some(&g.ff)), conv_len(g.rec.as_ref())]).sum::<usize>() * 2;
        layers + 4 * (4 * t * b_cap * spec.n_out + 3 * b_cap * spec.n_out + n_params + b_cap * max_n + scratch + wt + runs)
    }

    /// Number of samples currently loaded.
    pub fn batch(&self) -> usize {
        self.b
    }

    /// Steps per sample.
    pub fn steps(&self) -> usize {
        self.t
    }

    /// Loads samples `idx` of `ds` as time-major input events.
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
            for (t, _) in ds.events(s) {
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
            for (t, u) in ds.events(s) {
                let r = t as usize * b + bi;
                csr.idx[fill[r] as usize] = u;
                fill[r] += 1;
            }
        }
    }

    /// Spikes of hidden layer `l`, `[T, b, n_l]` (valid after [`forward`]; rebuilt from the spike
    /// events if the forward pass kept only those).
    pub fn spikes(&mut self, l: usize) -> &[f32] {
        let n = self.layers[l].cnt.len() / self.b_cap;
        let len = self.t * self.b * n;
        let lb = &mut self.layers[l];
        if !lb.s_full {
            lb.s[..len].fill(0.0);
            for (r, row) in lb.s[..len].chunks_exact_mut(n).enumerate() {
                for k in lb.ev.ptr[r] as usize..lb.ev.ptr[r + 1] as usize {
                    row[lb.ev.idx[k] as usize] = lb.ev.val[k];
                }
            }
            lb.s_full = true;
        }
        &lb.s[..len]
    }

    /// Input accumulated by hidden layer `l` in each step (`A_t = W·x_t + V·S_t`), `[T, b, n_l]`, or
    /// `[T, b, 2n_l]` for a Dale layer (each row: excitatory inputs, then inhibitory) (valid after
    /// [`forward`]).
    pub fn input_current(&self, l: usize) -> &[f32] {
        let w = self.layers[l].a.len() / (self.t * self.b_cap).max(1);
        &self.layers[l].a[..self.t * self.b * w]
    }

    /// Membrane of hidden layer `l`, `[T, b, n_l]` (valid after [`forward`]).
    pub fn membrane(&self, l: usize) -> &[f32] {
        let n = self.layers[l].cnt.len() / self.b_cap;
        &self.layers[l].u[..self.t * self.b * n]
    }
}

/// One LIF step for `b·n` neurons: from the previous membrane `up`, accumulated input `ap` and
/// spikes `sp` (zeros at t = 0) and the carried current `ist` / adaptation `qst`, writes the new
/// membrane `u` and spikes `s` and advances `ist`, `qst` (module doc for the equations). Used for
/// the smooth and no-reset modes and adaptive neurons; spiking neurons without adaptation take
/// [`lif_row_spiking`].
#[allow(clippy::too_many_arguments)]
#[inline]
fn lif_step(
    up: &[f32],
    ap: &[f32],
    sp: &[f32],
    u: &mut [f32],
    s: &mut [f32],
    ist: &mut [f32],
    qst: &mut [f32],
    d: Decays,
    mode: SpikeMode,
    sur: crate::neuron::Surrogate,
) {
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

/// The LIF step of spiking neurons without adaptation ([`lif_step`]'s equations with `a = 0` and
/// the reset), fused with the event extraction: one row of `n` neurons, 16 at a time (a vectorized
/// block that also yields a bit mask of its spikes). Calls `on_spike(k)` for each neuron `k` that
/// spikes, in ascending order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lif_row_spiking(up: &[f32], ap: &[f32], u: &mut [f32], s: &mut [f32], ist: &mut [f32], d: Decays, mut on_spike: impl FnMut(usize)) {
    const K: usize = 16;
    let (dm, dm1, ds) = (d.mem, 1.0 - d.mem, d.syn);
    #[inline(always)]
    fn one(dm: f32, dm1: f32, ds: f32, up: f32, ap: f32, u: &mut f32, s: &mut f32, i: &mut f32) {
        let st = if up > 1.0 { 1.0 } else { 0.0 };
        *u = (dm * up + dm1 * *i) * (1.0 - st);
        *s = st;
        *i = ds * *i + ap;
    }
    let (upc, _) = up.as_chunks::<K>();
    let (apc, _) = ap.as_chunks::<K>();
    let (uc, _) = u.as_chunks_mut::<K>();
    let (sc, _) = s.as_chunks_mut::<K>();
    let (ic, _) = ist.as_chunks_mut::<K>();
    let full = uc.len() * K;
    for (bi, ((((upb, apb), ub), sb), ib)) in upc.iter().zip(apc).zip(uc.iter_mut()).zip(sc.iter_mut()).zip(ic.iter_mut()).enumerate() {
        let mut mask = 0u32;
        for k in 0..K {
            one(dm, dm1, ds, upb[k], apb[k], &mut ub[k], &mut sb[k], &mut ib[k]);
            mask |= u32::from(upb[k] > 1.0) << k;
        }
        // the block's spikes, lowest neuron first, one bit at a time (no branch per neuron)
        while mask != 0 {
            on_spike(bi * K + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
    }
    for j in full..u.len() {
        one(dm, dm1, ds, up[j], ap[j], &mut u[j], &mut s[j], &mut ist[j]);
        if up[j] > 1.0 {
            on_spike(j);
        }
    }
}

/// One step of `b` rows of a Dale group of `n` neurons (spec §1.4): `ap` holds each row's
/// accumulated input as `[exc (n) | inh (n)]`; `ist` carries the excitatory current E and `qst` the
/// inhibitory current J: `U_t = (β_m U_{t−1} + (1−β_m)(E_{t−1} − J_{t−1}))(1 − S_t)`,
/// `E_t = β_exc E_{t−1} + A^exc_{t−1}`, `J_t = β_inh J_{t−1} + A^inh_{t−1}`.
#[allow(clippy::too_many_arguments)]
fn dale_step(
    up: &[f32],
    ap: &[f32],
    u: &mut [f32],
    s: &mut [f32],
    ist: &mut [f32],
    qst: &mut [f32],
    n: usize,
    d: Decays,
    mode: SpikeMode,
    sur: crate::neuron::Surrogate,
) {
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

/// One step of the LIF adjoint (module doc): from `∂·_{t+1}` in the carries to `∂·_t`, with `u` the
/// membrane at t and `gs` the complete `∂S_t`. With `reset`, the spike at t+1, `S_{t+1} = H(U_t − 1)`,
/// zeroes `∂U_{t+1}`'s path (off in smooth and no-reset modes and after the last step).
#[allow(clippy::too_many_arguments)]
#[inline]
fn lif_adjoint(
    u: &[f32],
    gs: &[f32],
    reset: bool,
    cgu: &mut [f32],
    cgi: &mut [f32],
    cgq: &mut [f32],
    cgs: &mut [f32],
    d: Decays,
    sur: crate::neuron::Surrogate,
) {
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

/// Scratch floats and rearranged-weight floats the convolution input gradients of these layers need.
fn conv_scratch(geoms: &[crate::layer::LayerGeom]) -> (usize, usize) {
    let convs = || geoms.iter().flat_map(|g| [Some(g.ff), g.rec]).flatten().filter_map(|c| conv1d(&c));
    let scratch = convs().map(|c| linalg::conv_input_grad_scratch(&c)).max().unwrap_or(0);
    let wt = convs().map(|c| linalg::conv_input_grad_weights_len(&c)).max().unwrap_or(0);
    (scratch, wt)
}

/// Number of weights of a connection if it is a convolution, else 0.
fn conv_len(g: Option<&ConnGeom>) -> usize {
    g.and_then(conv1d).map_or(0, |c| c.c_in * c.k * c.c_out)
}

/// Tap tables of each layer's feed-forward and recurrent convolutions. The first layer reads the
/// data's channel-major units; every later source (and every recurrent one) is position-major.
fn tap_tables(geoms: &[crate::layer::LayerGeom]) -> Vec<[Option<ConvTaps>; 2]> {
    geoms
        .iter()
        .enumerate()
        .map(|(l, g)| [conv1d(&g.ff).map(|c| ConvTaps::new(c, l > 0)), g.rec.as_ref().and_then(conv1d).map(|c| ConvTaps::new(c, true))])
        .collect()
}

/// Per-layer decay factors. A Dale layer's inhibitory current J takes the place of the adaptation
/// variable q (`a = 1`, `β_a = β_inh`), driven by the inhibitory input instead of the own spikes.
fn decays(net: &Network) -> Vec<Decays> {
    let dt = net.spec.dt;
    net.spec
        .hidden
        .iter()
        .map(|h| match h.dale {
            Some(d) => Decays { a: 1.0, ada: (-dt / d.tau_inh).exp() as f32, ..h.lif.decays(dt) },
            None => h.lif.decays(dt),
        })
        .collect()
}

/// The source of a connection: the input events (channel-major units), a hidden group's spike
/// events (position-major units) starting at a CSR row, or a dense `[rows, n_src]` buffer.
#[derive(Clone, Copy)]
enum Src<'a> {
    Events(&'a Csr, usize),
    Hidden(&'a Csr, usize),
    Dense(&'a [f32]),
}

fn conv1d(g: &ConnGeom) -> Option<Conv1d> {
    match *g {
        ConnGeom::Conv { c_in, l_in, c_out, l_out, kernel, stride, padding } => {
            Some(Conv1d { c_in, l_in, c_out, l_out, k: kernel, stride, pad: padding })
        }
        ConnGeom::Dense { .. } => None,
    }
}

/// What layer `lb` passes on: its pooled output or a Dale layer's E spikes (dense), its spike
/// events, or (smooth mode and the dense path) its dense spike buffer.
fn output_of<'a>(lb: &'a LayerBuf, g: &crate::layer::LayerGeom, rows: usize, dense: bool) -> Src<'a> {
    let n = g.output().n();
    if g.dense_output() {
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
fn conn_forward(g: &ConnGeom, taps: Option<&ConvTaps>, src: Src, w: &[f32], out: &mut [f32], rows: usize, gemm: bool, overwrite: bool) {
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
fn conn_weight_grad(g: &ConnGeom, taps: Option<&ConvTaps>, src: Src, ga: &[f32], dw: &mut [f32], rows: usize, gemm: bool, dwr: &mut [f32]) {
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
fn conn_input_grad_prepare(g: &ConnGeom, w: &[f32], wt: &mut [f32]) {
    if let Some(cv) = conv1d(g) {
        linalg::conv_input_grad_weights(&cv, w, wt);
    }
}

/// `gx (+)= ∂src` from `∂A` (`ga: [rows, n_dst]`, `gx: [rows, n_src]`); a convolution uses the
/// weights rearranged by [`conn_input_grad_prepare`] in `wt`.
#[allow(clippy::too_many_arguments)]
fn conn_input_grad(g: &ConnGeom, ga: &[f32], w: &[f32], wt: &[f32], gx: &mut [f32], rows: usize, accumulate: bool, scratch: &mut [f32]) {
    match conv1d(g) {
        None => linalg::gemm_nt(gx, accumulate, ga, w, rows, g.n_dst(), g.n_src()),
        Some(cv) => linalg::conv_input_grad(&cv, ga, wt, gx, accumulate, scratch),
    }
}

/// Runs the forward pass of the loaded slice through all layers and the readout.
pub fn forward(net: &Network, opts: &EngineOptions, ws: &mut Workspace) {
    let spec = &net.spec;
    let geoms = &net.layout.geoms;
    let (t_steps, b) = (ws.t, ws.b);
    let rows = t_steps * b;
    let dense = opts.mode == SpikeMode::Smooth || opts.path == ProjectionPath::Dense;
    let smooth = opts.mode == SpikeMode::Smooth;
    let sur = spec.surrogate;
    let dec = decays(net);
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
        lb.s_full = keep_s;
        let d = dec[l];
        let (a, u, s, ev) = (&mut lb.a, &mut lb.u, &mut lb.s, &mut lb.ev);
        let (p, pidx) = (&mut lb.p, &mut lb.pidx);
        ev.ptr.clear();
        ev.ptr.push(0);
        ev.idx.clear();
        ev.val.clear();
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
            {
                let (uh, ut) = u.split_at_mut(off);
                let so = sslot(t);
                let (sh, st) = s.split_at_mut(so);
                let zeros = &ws.zeros[..bn];
                if g.dale.is_some() {
                    let zeros_in = &ws.zeros[..bn_in];
                    let (up, ap) = if t > 0 { (&uh[off - bn..], &a[slot(t - 1)..slot(t - 1) + bn_in]) } else { (zeros, zeros_in) };
                    dale_step(up, ap, &mut ut[..bn], &mut st[..bn], ist, qst, n, d, opts.mode, sur);
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
                    let (up, ap) = if t > 0 { (&uh[off - bn..], &a[slot(t - 1)..slot(t - 1) + bn]) } else { (zeros, zeros) };
                    if fused {
                        // spiking, no adaptation: the step and its events in one pass
                        let rows = up.chunks_exact(n).zip(ap.chunks_exact(n)).zip(ut[..bn].chunks_exact_mut(n)).zip(cur.chunks_exact_mut(n));
                        for ((((upr, apr), ur), sr), (ir, cr)) in rows.zip(ist.chunks_exact_mut(n).zip(cnt.chunks_exact_mut(n))) {
                            lif_row_spiking(upr, apr, ur, sr, ir, d, |k| {
                                ev.idx.push(k as u32);
                                ev.val.push(1.0);
                                cr[k] += 1.0;
                            });
                            ev.ptr.push(ev.idx.len() as u32);
                        }
                    } else {
                        lif_step(up, ap, sp, &mut ut[..bn], cur, ist, qst, d, opts.mode, sur);
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
            if let (Some(v), Some(rg)) = (rec, &g.rec) {
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
                linalg::maxpool_forward(g.group.channels, g.group.positions, g.pool, st, &mut p[t * b * np..(t + 1) * b * np], &mut pidx[t * b * np..(t + 1) * b * np]);
            }
        }
        // the layer's output neurons (a Dale layer's E population)
        let n_out = g.n_output_neurons();
        spikes[l] = cnt.chunks_exact(n).map(|row| row[..n_out].iter().map(|&c| c as f64).sum::<f64>()).sum();
    }
    // readout, from the flattened (pooled) last layer
    let c = spec.n_out;
    let l_last = geoms.len() - 1;
    let n_last = geoms[l_last].output().n();
    let bc = b * c;
    let len = t_steps * bc;
    let src = output_of(&ws.layers[l_last], &geoms[l_last], rows, dense);
    let w = &net.params[net.layout.readout.clone()];
    conn_forward(&ConnGeom::Dense { n_src: n_last, n_dst: c }, None, src, w, &mut ws.ra[..len], rows, dense, true);
    let bm = (-spec.dt / spec.readout.tau_mem).exp() as f32;
    let bs = (-spec.dt / spec.readout.tau_syn).exp() as f32;
    let v0 = spec.readout.initial_state;
    let ri = &mut ws.r_i[..bc];
    ri.fill(0.0);
    for t in 0..t_steps {
        let off = t * bc;
        for j in 0..bc {
            let (v_prev, a_prev) = if t > 0 { (ws.rv[off - bc + j], ws.ra[off - bc + j]) } else { (v0, 0.0) };
            let i_prev = ri[j];
            ws.rv[off + j] = bm * v_prev + (1.0 - bm) * i_prev;
            ri[j] = bs * i_prev + a_prev;
        }
    }
    ws.stats = SliceStats { spikes, samples: b, ..Default::default() };
}

/// Cross-entropy (and regularizer) loss of the last forward pass and its gradient seeds.
/// `batch_total` is the size of the whole mini-batch the loss is averaged over.
pub fn loss(net: &Network, opts: &EngineOptions, ws: &mut Workspace, batch_total: usize) {
    let spec = &net.spec;
    let (t_steps, b, c) = (ws.t, ws.b, spec.n_out);
    let bc = b * c;
    let inv_b = 1.0 / batch_total as f64;
    ws.rgv[..t_steps * bc].fill(0.0);
    let mut z = vec![0.0f64; c];
    let mut at = vec![0usize; c];
    for bi in 0..b {
        for k in 0..c {
            let col = |t: usize| ws.rv[t * bc + bi * c + k] as f64;
            match opts.loss {
                LossKind::MaxOverTime => {
                    let (mut best, mut bt) = (f64::NEG_INFINITY, 0);
                    for t in 0..t_steps {
                        let v = col(t);
                        if v > best {
                            best = v;
                            bt = t;
                        }
                    }
                    z[k] = best;
                    at[k] = bt;
                }
                LossKind::SumOverTime => z[k] = (0..t_steps).map(col).sum(),
                LossKind::LastStep => z[k] = col(t_steps - 1),
            }
        }
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        let y = ws.labels[bi];
        ws.stats.ce_sum += lse - z[y];
        let mut pred = 0;
        for k in 1..c {
            if z[k] > z[pred] {
                pred = k;
            }
        }
        if pred == y {
            ws.stats.correct += 1;
        }
        for k in 0..c {
            let p = (z[k] - lse).exp();
            let g = ((p - if k == y { 1.0 } else { 0.0 }) * inv_b) as f32;
            match opts.loss {
                LossKind::MaxOverTime => ws.rgv[at[k] * bc + bi * c + k] = g,
                LossKind::SumOverTime => {
                    for t in 0..t_steps {
                        ws.rgv[t * bc + bi * c + k] = g;
                    }
                }
                LossKind::LastStep => ws.rgv[(t_steps - 1) * bc + bi * c + k] = g,
            }
        }
    }
    // regularizers: counts per sample and neuron
    for (l, g) in net.layout.geoms.iter().enumerate() {
        let n = g.n();
        let (nc, np) = (g.group.channels, g.group.positions);
        let bn = b * n;
        let lb = &mut ws.layers[l];
        // spike counts per sample and neuron were summed during the forward pass
        let (cnt, dcnt) = (&lb.cnt[..bn], &mut lb.dcnt[..bn]);
        dcnt.fill(0.0);
        for r in &opts.regularizers {
            let sign = match r.bound {
                Bound::Upper => 1.0f64,
                Bound::Lower => -1.0,
            };
            let excess = |x: f64| (sign * (x - r.threshold as f64)).max(0.0);
            // groups of neurons whose counts are averaged before the bound; neurons are
            // position-major (p·channels + c), so a channel's neurons are `channels` apart. A Dale
            // layer's E and I populations are regularized separately, as stork's two groups are.
            let pops: Vec<(usize, usize)> = match g.dale {
                Some(ne) => vec![(0, ne), (ne, n - ne)],
                None => vec![(0, n)],
            };
            for &(p0, pn) in &pops {
                let (size, stride, groups) = match (r.scope, g.dale) {
                    (RegScope::Neuron, _) | (RegScope::Channel, Some(_)) => (1, 1, pn),
                    (RegScope::Population, _) => (pn, 1, 1),
                    (RegScope::Channel, None) => (np, nc, nc),
                };
                let norm = inv_b / groups as f64;
                for (cs, ds) in cnt.chunks_exact(n).zip(dcnt.chunks_exact_mut(n)) {
                    for gi in 0..groups {
                        // group gi starts at gi·size (Neuron/Population) or at channel gi (Channel)
                        let start = p0 + if stride == 1 { gi * size } else { gi };
                        let mean = (0..size).map(|j| cs[start + j * stride] as f64).sum::<f64>() / size as f64;
                        let e = excess(mean);
                        ws.stats.reg_loss += r.strength as f64 * e * e * norm;
                        let gr = (2.0 * r.strength as f64 * e * sign * norm / size as f64) as f32;
                        if gr != 0.0 {
                            for j in 0..size {
                                ds[start + j * stride] += gr;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Backpropagation through time of the loss seeded by [`loss`]; writes `ws.grads` (replaced).
pub fn backward(net: &Network, opts: &EngineOptions, ws: &mut Workspace) {
    let spec = &net.spec;
    let geoms = &net.layout.geoms;
    let (t_steps, b) = (ws.t, ws.b);
    let rows = t_steps * b;
    let dense = opts.mode == SpikeMode::Smooth || opts.path == ProjectionPath::Dense;
    let smooth = opts.mode == SpikeMode::Smooth;
    let sur = spec.surrogate;
    let dec = decays(net);
    ws.grads.fill(0.0);
    // readout
    let c = spec.n_out;
    let bc = b * c;
    let len = t_steps * bc;
    let bm = (-spec.dt / spec.readout.tau_mem).exp() as f32;
    let bs = (-spec.dt / spec.readout.tau_syn).exp() as f32;
    {
        let (cgv, cgi) = (&mut ws.r_c_gv[..bc], &mut ws.r_c_gi[..bc]);
        cgv.fill(0.0);
        cgi.fill(0.0);
        for t in (0..t_steps).rev() {
            let off = t * bc;
            ws.rga[off..off + bc].copy_from_slice(cgi);
            for j in 0..bc {
                let gv = ws.rgv[off + j] + bm * cgv[j];
                let gi = (1.0 - bm) * cgv[j] + bs * cgi[j];
                cgv[j] = gv;
                cgi[j] = gi;
            }
        }
    }
    let l_last = geoms.len() - 1;
    let n_last = geoms[l_last].output().n();
    {
        let ro = ConnGeom::Dense { n_src: n_last, n_dst: c };
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
        let d = dec[l];
        let (before, rest) = ws.layers.split_at_mut(l);
        let lb = &mut rest[0];
        if g.pool > 1 {
            let np = g.output().n();
            lb.gs[..len].fill(0.0);
            linalg::maxpool_backward(g.group.channels, g.group.positions, g.pool, &lb.gp[..rows * np], &lb.pidx[..rows * np], &mut lb.gs[..len]);
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
            lif_adjoint(&lb.u[off..off + bn], &lb.gs[off..off + bn], reset, cgu, cgi, cgq, cgs, d, sur);
        }
        // weight gradients
        let ga = &lb.ga[..t_steps * bn_in];
        if let (Some(r), Some(rg)) = (net.layout.rec[l].clone(), &g.rec) {
            let src = if dense { Src::Dense(&lb.s[..len]) } else { Src::Hidden(&lb.ev, 0) };
            conn_weight_grad(rg, ws.taps[l][1].as_ref(), src, ga, &mut ws.grads[r], rows, dense, &mut ws.dwr);
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
