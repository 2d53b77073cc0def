//! The training loop: shuffled mini-batches, batch-parallel forward/backward, optimizer steps and
//! per-epoch metrics (spec §4.0).
//!
//! A mini-batch is cut into slices of [`SLICE`] samples, a fixed size that does not depend on the
//! thread count; threads run whole slices through the time loop and the slice gradients are summed in
//! slice order, so results are bitwise identical for any number of threads.
//!
//! Metrics are **per-sample means** over the whole set (loss = cross-entropy + regularizer loss,
//! accuracy = correct / samples). stork reports the unweighted mean of per-batch means, which differs
//! when the last batch is smaller (e.g. SHD test: 5×400 + 264).

use rayon::prelude::*;

use crate::data::SpikeDataset;
use crate::engine::{self, EngineOptions, SliceStats, Workspace};
use crate::error::{Error, Result};
use crate::network::Network;
use crate::optim::{Optimizer, OptimizerKind};
use crate::rng::{rng_for, shuffle, stream};

/// Samples per slice (the unit of parallel work).
pub const SLICE: usize = 16;

/// Metrics of one pass over a data set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics {
    /// Mean cross-entropy per sample.
    pub ce: f64,
    /// Mean regularizer loss per sample.
    pub reg: f64,
    /// Fraction correct.
    pub acc: f64,
    /// Mean firing rate of each hidden layer in Hz.
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
#[derive(Debug, Default)]
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
                .layout
                .geoms
                .iter()
                .zip(&self.stats.spikes)
                .map(|(g, s)| s / (n * g.n() as f64 * dur))
                .collect(),
            samples: self.stats.samples,
        }
    }
}

/// Workspaces for mini-batches of up to `batch_size` samples.
pub fn workspaces(net: &Network, t_steps: usize, batch_size: usize) -> Vec<Workspace> {
    let n = batch_size.div_ceil(SLICE);
    (0..n).map(|_| Workspace::new(&net.spec, net.layout.total, t_steps, SLICE)).collect()
}

/// Activation memory in bytes that training `net` with mini-batches of `batch_size` samples of
/// `t_steps` steps will allocate (all slices of a batch are held at once).
pub fn estimate_bytes(net: &Network, t_steps: usize, batch_size: usize) -> usize {
    batch_size.div_ceil(SLICE) * Workspace::estimate_bytes(&net.spec, net.layout.total, t_steps, SLICE)
}

/// Runs one mini-batch `idx` of `ds`; with `grad` set, sums the slice gradients into `grad`
/// (replaced). Returns the batch statistics.
pub fn run_batch(
    net: &Network,
    opts: &EngineOptions,
    wss: &mut [Workspace],
    ds: &SpikeDataset,
    idx: &[usize],
    grad: Option<&mut [f32]>,
) -> SliceStats {
    let slices: Vec<&[usize]> = idx.chunks(SLICE).collect();
    let backward = grad.is_some();
    let total = idx.len();
    wss[..slices.len()].par_iter_mut().zip(slices.par_iter()).for_each(|(ws, sl)| {
        ws.load(ds, sl);
        engine::forward(net, opts, ws);
        engine::loss(net, opts, ws, total);
        if backward {
            engine::backward(net, opts, ws);
        }
    });
    let mut stats = SliceStats::default();
    for ws in &wss[..slices.len()] {
        stats.add(&ws.stats);
    }
    if let Some(g) = grad {
        g.copy_from_slice(&wss[0].grads);
        for ws in &wss[1..slices.len()] {
            for (a, b) in g.iter_mut().zip(&ws.grads) {
                *a += b;
            }
        }
    }
    stats
}

/// Evaluates `net` on `ds` in batches of `batch_size` (no update). Allocates its workspaces; a
/// [`Trainer`] reuses its own with [`Trainer::evaluate`].
pub fn evaluate(net: &Network, opts: &EngineOptions, ds: &SpikeDataset, batch_size: usize) -> Metrics {
    let mut wss = workspaces(net, ds.t_steps, batch_size);
    evaluate_with(net, opts, ds, batch_size, &mut wss)
}

fn evaluate_with(net: &Network, opts: &EngineOptions, ds: &SpikeDataset, batch_size: usize, wss: &mut [Workspace]) -> Metrics {
    let idx: Vec<usize> = (0..ds.len()).collect();
    let mut acc = Acc::default();
    for b in idx.chunks(batch_size) {
        let s = run_batch(net, opts, wss, ds, b, None);
        acc.add_batch(&s);
    }
    acc.finish(net, ds.t_steps)
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
    /// Forward/backward options (loss, regularizers).
    pub engine: EngineOptions,
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
    wss: Vec<Workspace>,
    grad: Vec<f32>,
}

impl Trainer {
    /// A trainer for `net` on data with `t_steps` steps.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero batch size or epochs.
    pub fn new(net: Network, opts: TrainOptions, t_steps: usize) -> Result<Self> {
        if opts.batch_size == 0 {
            return Err(Error::config("train.batch_size", "must be at least 1"));
        }
        let lr = match opts.optimizer {
            OptimizerKind::Smorms3 { lr } | OptimizerKind::Adam { lr } => lr,
        };
        if !(lr.is_finite() && lr > 0.0) {
            return Err(Error::config("train.lr", format!("must be positive, got {lr}")));
        }
        let wss = workspaces(&net, t_steps, opts.batch_size);
        let optimizer = Optimizer::new(opts.optimizer, net.layout.total);
        let grad = vec![0.0; net.layout.total];
        Ok(Trainer { net, opts, optimizer, epochs_done: 0, wss, grad })
    }

    /// Evaluates the current network on `ds` (which must have the trainer's number of steps), reusing
    /// the training workspaces.
    pub fn evaluate(&mut self, ds: &SpikeDataset) -> Metrics {
        evaluate_with(&self.net, &self.opts.engine, ds, self.opts.batch_size, &mut self.wss)
    }

    /// Bytes of the workspaces (activation memory of one mini-batch).
    pub fn workspace_bytes(&self) -> usize {
        self.wss.iter().map(|w| w.bytes()).sum()
    }

    /// Trains one epoch on `train`, then evaluates `valid`. `progress(batch, n_batches)` is called
    /// after every batch.
    ///
    /// # Errors
    /// [`Error::NonFinite`] when the loss or a weight becomes NaN/inf, naming epoch and batch.
    pub fn epoch(
        &mut self,
        train: &SpikeDataset,
        valid: Option<&SpikeDataset>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<EpochRecord> {
        let epoch = self.epochs_done + 1;
        let start = std::time::Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        shuffle(&mut order, &mut rng_for(self.opts.seed, stream::SHUFFLE + epoch as u64));
        let n_batches = order.len().div_ceil(self.opts.batch_size);
        let mut acc = Acc::default();
        for (bi, idx) in order.chunks(self.opts.batch_size).enumerate() {
            let s = run_batch(&self.net, &self.opts.engine, &mut self.wss, train, idx, Some(&mut self.grad));
            let loss = s.ce_sum / s.samples as f64 + s.reg_loss;
            if !loss.is_finite() {
                return Err(Error::NonFinite {
                    what: "loss".into(),
                    epoch,
                    batch: bi,
                    hint: "the network diverged; lower train.lr or the init's sigma_u, and check the data".into(),
                });
            }
            if self.grad.iter().any(|g| !g.is_finite()) {
                return Err(Error::NonFinite {
                    what: "gradient".into(),
                    epoch,
                    batch: bi,
                    hint: "lower train.lr or the surrogate beta; check the data for extreme values".into(),
                });
            }
            acc.add_batch(&s);
            self.optimizer.step(&mut self.net.params, &self.grad);
            progress(bi + 1, n_batches);
        }
        if self.net.params.iter().any(|w| !w.is_finite()) {
            return Err(Error::NonFinite {
                what: "weight".into(),
                epoch,
                batch: n_batches - 1,
                hint: "lower train.lr".into(),
            });
        }
        let train_seconds = start.elapsed().as_secs_f64();
        let train_m = acc.finish(&self.net, train.t_steps);
        let valid = valid.map(|v| self.evaluate(v));
        self.epochs_done = epoch;
        Ok(EpochRecord { epoch, train: train_m, valid, train_seconds })
    }
}
