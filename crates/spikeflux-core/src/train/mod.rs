//! The training loop: shuffled mini-batches, batch-parallel forward/backward, optimizer steps and
//! per-epoch metrics (spec §4.0).
//!
//! A mini-batch is cut into slices of [`NetworkPlan::slice_size`] samples, a size fixed by the network and the
//! number of steps, not by the thread count; threads run whole slices through the time loop
//! (forward, loss, backward) in a workspace taken from a [`SlicePool`], and the slice gradients are
//! summed in slice order, so results are bitwise identical for any number of threads while
//! activation memory grows with the thread count, not the batch size.
//!
//! Metrics are **per-sample means** over the whole set (loss = cross-entropy + regularizer loss,
//! accuracy = correct / samples). stork reports the unweighted mean of per-batch means, which differs
//! when the last batch is smaller (e.g. SHD test: 5×400 + 264).

use rayon::prelude::*;

use crate::data::SpikeDataset;
use crate::engine::{self, EngineOptions, NetworkPlan, SliceStats, Workspace};
use crate::error::{ensure, Error, Result};
use crate::network::Network;
use loss::Objective;
use optim::{Optimizer, OptimizerKind};

pub mod checkpoint;
pub mod group;
pub mod loss;
pub mod optim;
pub mod tape;
pub use tape::Tape;
use crate::rng::{rng_for, shuffle, stream};
pub use group::{Group, Solo};
use std::sync::Arc;

/// The largest learning rate accepted (both optimizers move a weight by about `lr` per step).
pub const MAX_LR: f32 = 10.0;

/// Metrics of one pass over a data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics {
    /// Mean cross-entropy per sample.
    pub ce: f64,
    /// Mean regularizer loss per sample.
    pub reg: f64,
    /// Fraction correct.
    pub acc: f64,
    /// Mean firing rate of each hidden layer's output neurons in Hz (a Dale layer: its E population,
    /// which is what the next layer receives).
    pub rates_hz: Vec<f64>,
    /// Samples.
    pub samples: usize,
}

impl Metrics {
    /// Total loss (cross-entropy + regularizers).
    pub fn loss(&self) -> f64 {
        self.ce + self.reg
    }
}

/// Accumulates slice statistics into [`Metrics`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Acc {
    stats: SliceStats,
    reg_weighted: f64,
}

impl Acc {
    fn add_batch(&mut self, s: &SliceStats) {
        self.reg_weighted += s.reg_loss * s.samples as f64;
        self.stats.add(s);
    }
    fn finish(&self, net: &Network, t_steps: usize) -> Metrics {
        let n = self.stats.samples.max(1) as f64;
        let dur = t_steps as f64 * net.spec.dt;
        Metrics {
            ce: self.stats.ce_sum / n,
            reg: self.reg_weighted / n,
            acc: self.stats.correct as f64 / n,
            rates_hz: net
                .plan
                .geoms
                .iter()
                .zip(&self.stats.spikes)
                .map(|(g, s)| s / (n * g.n_output_neurons() as f64 * dur))
                .collect(),
            samples: self.stats.samples,
        }
    }
}

/// Workspaces and per-slice results for mini-batches.
///
/// A workspace holds everything one slice needs through forward and backward; threads take one from
/// the pool per slice and give it back, so only as many exist as run at once (about the thread
/// count), not one per slice. Each slice's gradient and statistics are copied into `slots[slice]`
/// and reduced in slice order, so the result does not depend on which thread or workspace ran it.
///
/// In a data-parallel run ([`SlicePool::in_group`]) the pool runs only this rank's block of each
/// batch's slices and the [`Group`] carries the running sums between ranks in slice order
/// ([`group`]), so every rank ends with the single-process sums, bit for bit.
#[derive(Debug)]
pub struct SlicePool {
    group: Arc<dyn Group>,
    head: Vec<f64>,
    plan: NetworkPlan,
    n_params: usize,
    t_steps: usize,
    slice: usize,
    free: std::sync::Mutex<Vec<Workspace>>,
    slots: Vec<(Vec<f32>, SliceStats)>,
    created: std::sync::atomic::AtomicUsize,
}

impl SlicePool {
    /// A pool for `net`, `t_steps` steps and batches of up to `batch_size` samples.
    pub fn new(net: &Network, t_steps: usize, batch_size: usize) -> Self {
        Self::in_group(net, t_steps, batch_size, Arc::new(Solo))
    }

    /// A pool for one rank of a data-parallel `group` (see [`group`]).
    pub fn in_group(net: &Network, t_steps: usize, batch_size: usize, group: Arc<dyn Group>) -> Self {
        let slice = net.plan.slice_size(t_steps);
        let all = batch_size.div_ceil(slice);
        let n = group::block(all, group.rank(), group.size()).len().max(1);
        SlicePool {
            head: vec![0.0; group::head_len(net.plan.geoms.len())],
            group,
            plan: net.plan.clone(),
            n_params: net.layout.total,
            t_steps,
            slice,
            free: std::sync::Mutex::new(Vec::new()),
            slots: (0..n).map(|_| (vec![0.0; net.layout.total], SliceStats::default())).collect(),
            created: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn take(&self) -> Workspace {
        let ws = self.free.lock().map(|mut f| f.pop()).unwrap_or(None);
        ws.unwrap_or_else(|| {
            self.created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Workspace::for_plan(&self.plan, self.n_params, self.t_steps, self.slice)
        })
    }

    fn give(&self, ws: Workspace) {
        if let Ok(mut f) = self.free.lock() {
            f.push(ws);
        }
    }

    /// The group this pool's batches are spread over.
    pub fn group(&self) -> &Arc<dyn Group> {
        &self.group
    }

    /// Whether this pool's workspaces fit `net` (its plan and parameter count) and `t_steps`.
    pub fn fits(&self, net: &Network, t_steps: usize) -> bool {
        self.t_steps == t_steps && self.n_params == net.layout.total && self.plan == net.plan
    }

    /// Workspaces created so far (at most the number of slices that ran at once).
    pub fn workspaces(&self) -> usize {
        self.created.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes held: the workspaces created so far and the per-slice gradient slots.
    pub fn bytes(&self) -> usize {
        let ws = self.plan.workspace_bytes(self.n_params, self.t_steps, self.slice);
        self.workspaces() * ws + self.slots.len() * 4 * self.n_params
    }
}

/// Activation memory in bytes that training `net` with mini-batches of `batch_size` samples of
/// `t_steps` steps on `threads` threads will allocate: one workspace per concurrently running slice
/// and one gradient slot per slice.
pub fn estimate_bytes(net: &Network, t_steps: usize, batch_size: usize, threads: usize) -> usize {
    estimate_plan_bytes(&net.plan, net.layout.total, t_steps, batch_size, threads)
}

/// [`estimate_bytes`] from the plan and parameter count alone, before the network exists.
pub fn estimate_plan_bytes(plan: &crate::engine::NetworkPlan, n_params: usize, t_steps: usize, batch_size: usize, threads: usize) -> usize {
    let slice = plan.slice_size(t_steps);
    let slices = batch_size.div_ceil(slice);
    (slices.min(threads.max(1)))
        .saturating_mul(plan.workspace_bytes(n_params, t_steps, slice))
        .saturating_add(slices.saturating_mul(4).saturating_mul(n_params))
}

/// Runs one mini-batch `idx` of `ds`; with `grad` set, sums the slice gradients into `grad`
/// (replaced). Returns the batch statistics. In a group every rank calls it with the same batch,
/// runs its block of the slices and gets the whole batch's sums.
///
/// # Errors
/// [`Error::Distributed`] when the exchange with the other ranks fails (never for one process).
pub fn run_batch(
    net: &Network,
    opts: &EngineOptions,
    objective: &Objective,
    pool: &mut SlicePool,
    ds: &SpikeDataset,
    idx: &[usize],
    grad: Option<&mut [f32]>,
) -> Result<SliceStats> {
    let all: Vec<&[usize]> = idx.chunks(pool.slice).collect();
    let (rank, size) = (pool.group.rank(), pool.group.size());
    let slices = &all[group::block(all.len(), rank, size)];
    let backward = grad.is_some();
    let total = idx.len();
    let mut slots = std::mem::take(&mut pool.slots);
    if slots.len() < slices.len() {
        slots.resize_with(slices.len(), || (vec![0.0; pool.n_params], SliceStats::default()));
    }
    // without a backward pass, no membrane history
    let opts = &EngineOptions { forward_only: !backward, ..*opts };
    slots[..slices.len()].par_iter_mut().zip(slices.par_iter()).for_each(|(slot, sl)| {
        let mut ws = pool.take();
        ws.load(ds, sl);
        engine::forward(net, opts, &mut ws);
        loss::compute(net, objective, &mut ws, total);
        if backward {
            engine::backward(net, opts, &mut ws);
            slot.0.copy_from_slice(&ws.grads);
        }
        slot.1 = ws.stats.clone();
        pool.give(ws);
    });
    let mut empty: [f32; 0] = [];
    let g = match grad {
        Some(g) => g,
        None => &mut empty[..],
    };
    let result = chain_sum(&*pool.group, &mut pool.head, &slots[..slices.len()], g);
    pool.slots = slots;
    result
}

/// The slice sums in slice order, and the exchange of [`group`]: continues the running sums of the
/// ranks before this one with this rank's slices (in order), passes them on, and returns the total
/// every rank gets (one process: its own sums, nothing exchanged). `grad` is empty when only
/// statistics are summed.
fn chain_sum(g: &dyn Group, head: &mut [f64], mine: &[(Vec<f32>, SliceStats)], grad: &mut [f32]) -> Result<SliceStats> {
    let (rank, size) = (g.rank(), g.size());
    let (mut started, mut stats) = if rank == 0 {
        (false, SliceStats::default())
    } else {
        g.recv_prev(head, grad)?;
        group::unpack(head)
    };
    for (sg, ss) in mine {
        stats.add(ss);
        if !grad.is_empty() {
            // the first slice of the batch is copied, as one process does (0 + x is not x for x = -0)
            if started {
                for (a, b) in grad.iter_mut().zip(sg) {
                    *a += b;
                }
            } else {
                grad.copy_from_slice(sg);
            }
        }
        started = true;
    }
    group::pack(started, &stats, head);
    if rank + 1 < size {
        g.send_next(head, grad)?;
    }
    g.share_from_last(head, grad)?;
    Ok(group::unpack(head).1)
}

/// Evaluates `net` on `ds` in batches of `batch_size` (no update). Allocates its workspaces; a
/// [`Trainer`] reuses its own with [`Trainer::evaluate`].
pub fn evaluate(net: &Network, opts: &EngineOptions, objective: &Objective, ds: &SpikeDataset, batch_size: usize) -> Metrics {
    let mut pool = SlicePool::new(net, ds.t_steps, batch_size);
    match evaluate_with(net, opts, objective, ds, batch_size, &mut pool) {
        Ok(m) => m,
        Err(_) => unreachable!("one process exchanges nothing"),
    }
}

/// [`evaluate`] spread over the ranks of `group` (each runs its block of every batch); every rank
/// gets the single-process metrics.
///
/// # Errors
/// [`Error::Distributed`] when the exchange fails.
pub fn evaluate_in(
    group: Arc<dyn Group>,
    net: &Network,
    opts: &EngineOptions,
    objective: &Objective,
    ds: &SpikeDataset,
    batch_size: usize,
) -> Result<Metrics> {
    let mut pool = SlicePool::in_group(net, ds.t_steps, batch_size, group);
    evaluate_with(net, opts, objective, ds, batch_size, &mut pool)
}

fn evaluate_with(
    net: &Network,
    opts: &EngineOptions,
    objective: &Objective,
    ds: &SpikeDataset,
    batch_size: usize,
    pool: &mut SlicePool,
) -> Result<Metrics> {
    let idx: Vec<usize> = (0..ds.len()).collect();
    let mut acc = Acc::default();
    for b in idx.chunks(batch_size) {
        let s = run_batch(net, opts, objective, pool, ds, b, None)?;
        acc.add_batch(&s);
    }
    Ok(acc.finish(net, ds.t_steps))
}

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainOptions {
    /// Number of epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Optimizer and learning rate.
    pub optimizer: OptimizerKind,
    /// Seed for shuffling.
    pub seed: u64,
    /// Forward/backward options of the engine.
    pub engine: EngineOptions,
    /// Loss and regularizers.
    pub objective: Objective,
}

/// One epoch's results.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training metrics (taken before each update, as stork does).
    pub train: Metrics,
    /// Validation metrics after the epoch, if a validation set was given.
    pub valid: Option<Metrics>,
    /// Wall-clock seconds of the training part of the epoch.
    pub train_seconds: f64,
}

/// An epoch stopped after some of its batches (see [`Trainer::epoch_until`]): what it has summed
/// so far, kept by the trainer and stored in checkpoints, so that the epoch can be finished later
/// with exactly the numbers of an uninterrupted one.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartialEpoch {
    /// 1-based epoch.
    pub epoch: usize,
    /// Batches of it already trained (their updates are in the weights and the optimizer).
    pub batches_done: usize,
    /// Training seconds spent on it so far.
    pub train_seconds: f64,
    acc: Acc,
}

/// What [`Trainer::epoch_until`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum EpochOutcome {
    /// The epoch is complete.
    Done(EpochRecord),
    /// Asked to stop after batch `batches_done` of the epoch; [`Trainer::partial`] holds the rest.
    Stopped {
        /// Batches of the epoch that are done.
        batches_done: usize,
    },
}

/// A training run in progress: network, optimizer state and workspaces.
#[derive(Debug)]
pub struct Trainer {
    /// The network being trained.
    pub net: Network,
    /// Options.
    pub opts: TrainOptions,
    /// Optimizer state.
    pub optimizer: Optimizer,
    /// Epochs completed.
    pub epochs_done: usize,
    pool: SlicePool,
    grad: Vec<f32>,
    /// The epoch under way, if it was stopped part-way.
    pub partial: Option<PartialEpoch>,
}

impl Trainer {
    /// A trainer for `net` on data with `t_steps` steps.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero batch size or epochs.
    pub fn new(net: Network, opts: TrainOptions, t_steps: usize) -> Result<Self> {
        Self::in_group(net, opts, t_steps, Arc::new(Solo))
    }

    /// A trainer for one rank of a data-parallel `group`: every rank builds it from the same
    /// network and options and calls the same methods in the same order; each runs its block of
    /// every batch, and all hold the single-process weights after every step ([`group`]).
    ///
    /// # Errors
    /// As [`Trainer::new`].
    pub fn in_group(net: Network, opts: TrainOptions, t_steps: usize, group: Arc<dyn Group>) -> Result<Self> {
        ensure!(opts.batch_size > 0, "batch_size", "must be at least 1");
        let lr = match opts.optimizer {
            OptimizerKind::Smorms3 { lr } | OptimizerKind::Adam { lr } => lr,
        };
        ensure!(lr.is_finite() && lr > 0.0, "lr", "must be positive", lr);
        ensure!(lr <= MAX_LR, "lr", format!("at most {MAX_LR} (a step that moves weights by more than that is no learning rate)"), lr);
        let pool = SlicePool::in_group(&net, t_steps, opts.batch_size, group);
        let optimizer = Optimizer::new(opts.optimizer, net.layout.total);
        let grad = vec![0.0; net.layout.total];
        Ok(Trainer { net, opts, optimizer, epochs_done: 0, pool, grad, partial: None })
    }

    /// Evaluates the current network on `ds` (which must have the trainer's number of steps), reusing
    /// the training workspaces (spread over the trainer's group).
    ///
    /// # Errors
    /// [`Error::Distributed`] when the exchange with the other ranks fails (never for one process).
    pub fn evaluate(&mut self, ds: &SpikeDataset) -> Result<Metrics> {
        evaluate_with(&self.net, &self.opts.engine, &self.opts.objective, ds, self.opts.batch_size, &mut self.pool)
    }

    /// The group this trainer's batches are spread over.
    pub fn group(&self) -> &Arc<dyn Group> {
        self.pool.group()
    }

    /// Bytes of the workspaces created so far and the per-slice gradient slots.
    pub fn workspace_bytes(&self) -> usize {
        self.pool.bytes()
    }

    /// Trains one epoch on `train`, then evaluates `valid`. `progress(batch, n_batches)` is called
    /// after every batch.
    ///
    /// # Errors
    /// [`Error::NonFinite`] when the loss or a weight becomes NaN/inf, naming epoch and batch;
    /// [`Error::Saturated`] when the loss is exactly 0 with wrong predictions.
    pub fn epoch(
        &mut self,
        train: &SpikeDataset,
        valid: Option<&SpikeDataset>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<EpochRecord> {
        match self.epoch_until(train, valid, progress, &|| false)? {
            EpochOutcome::Done(r) => Ok(r),
            EpochOutcome::Stopped { .. } => unreachable!("an epoch that is never asked to stop completes"),
        }
    }

    /// As [`Trainer::epoch`], but `stop()` is asked after every batch but the last: when it says
    /// yes the epoch stops there, its sums so far are kept in [`Trainer::partial`] (checkpoints
    /// store them), and the next call continues it from the following batch. An epoch finished that
    /// way has exactly the numbers of an uninterrupted one.
    ///
    /// # Errors
    /// As [`Trainer::epoch`].
    pub fn epoch_until(
        &mut self,
        train: &SpikeDataset,
        valid: Option<&SpikeDataset>,
        progress: &mut dyn FnMut(usize, usize),
        stop: &dyn Fn() -> bool,
    ) -> Result<EpochOutcome> {
        let epoch = self.epochs_done + 1;
        let start = std::time::Instant::now();
        let (skip, mut acc, seconds_before) = match self.partial.take() {
            Some(p) if p.epoch == epoch => (p.batches_done, p.acc, p.train_seconds),
            _ => (0, Acc::default(), 0.0),
        };
        let mut order: Vec<usize> = (0..train.len()).collect();
        shuffle(&mut order, &mut rng_for(self.opts.seed, stream::SHUFFLE + epoch as u64));
        let n_batches = order.len().div_ceil(self.opts.batch_size);
        for (bi, idx) in order.chunks(self.opts.batch_size).enumerate().skip(skip) {
            let s = match run_batch(&self.net, &self.opts.engine, &self.opts.objective, &mut self.pool, train, idx, Some(&mut self.grad)) {
                Ok(s) => s,
                Err(e) => {
                    // nothing of this batch is applied: the epoch so far is a consistent checkpoint
                    let train_seconds = seconds_before + start.elapsed().as_secs_f64();
                    self.partial = Some(PartialEpoch { epoch, batches_done: bi, train_seconds, acc });
                    return Err(e);
                }
            };
            let loss = s.ce_sum / s.samples as f64 + s.reg_loss;
            // before the first update the weights are the initialization's; after it, the steps'
            let first = self.optimizer.state().3 == 0;
            let cause = |after: &str| if first { "init".to_string() } else { after.to_string() };
            let nonfinite = |what: &str, field: String, hint: &str| Error::NonFinite { what: what.into(), field, epoch, batch: bi, hint: hint.into() };
            if s.nonfinite_outputs > 0 {
                return Err(nonfinite(
                    "readout output",
                    cause("lr"),
                    if first {
                        "the initial weights drive the readout out of f32 range; lower the init's σ_U (or gain) or the readout's initial state"
                    } else {
                        "the network diverged; lower the learning rate"
                    },
                ));
            }
            if !loss.is_finite() {
                return Err(nonfinite(
                    "loss",
                    cause("lr"),
                    "the network diverged; lower the learning rate or the initial fluctuations (σ_U), and check the data",
                ));
            }
            if self.grad.iter().any(|g| !g.is_finite()) {
                return Err(nonfinite(
                    "gradient",
                    if first { "surrogate.beta".into() } else { "lr".into() },
                    "lower the learning rate or the surrogate's β; check the data for extreme values",
                ));
            }
            // every sample's true class at the top of a log-sum-exp that lost all its other terms,
            // yet some predictions wrong: ties at a huge readout value, not a perfect fit
            if s.ce_sum == 0.0 && s.correct < s.samples {
                return Err(Error::Saturated {
                    epoch,
                    batch: bi,
                    hint: format!(
                        "the cross-entropy is exactly 0 but only {} of {} predictions are right: the readout's class scores are tied at values too large for the loss to separate; lower the readout's initial state or the initial weight scale",
                        s.correct, s.samples
                    ),
                });
            }
            acc.add_batch(&s);
            self.optimizer.step(&mut self.net.params, &self.grad);
            // Dale layers: non-negative weights and structural zeros, after every step (stork)
            self.net.constrain();
            if self.net.params.iter().any(|w| !w.is_finite()) {
                return Err(nonfinite("weight", "lr".into(), "an update overflowed f32; lower the learning rate"));
            }
            progress(bi + 1, n_batches);
            if bi + 1 < n_batches {
                // the ranks agree to stop after the same batch (one process: just `stop()`)
                let asked = self.pool.group().any(stop());
                if !matches!(asked, Ok(false)) {
                    let train_seconds = seconds_before + start.elapsed().as_secs_f64();
                    self.partial = Some(PartialEpoch { epoch, batches_done: bi + 1, train_seconds, acc });
                    asked?;
                    return Ok(EpochOutcome::Stopped { batches_done: bi + 1 });
                }
            }
        }
        let train_seconds = seconds_before + start.elapsed().as_secs_f64();
        let train_m = acc.finish(&self.net, train.t_steps);
        let valid = match valid.map(|v| self.evaluate(v)).transpose() {
            Ok(v) => v,
            Err(e) => {
                // the epoch's updates are all applied; only its record is lost, and the checkpoint
                // of the epoch before plus this epoch's batches is kept as a partial epoch
                self.partial = Some(PartialEpoch { epoch, batches_done: n_batches, train_seconds, acc });
                return Err(e);
            }
        };
        self.epochs_done = epoch;
        Ok(EpochOutcome::Done(EpochRecord { epoch, train: train_m, valid, train_seconds }))
    }
}
