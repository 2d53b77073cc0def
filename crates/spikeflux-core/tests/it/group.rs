//! Data parallelism (`train::group`): K ranks, each running its block of every batch's slices and
//! passing the running sums along, hold after every step exactly the weights of one process, for
//! any K (also more ranks than slices) and thread count; evaluation and ν from data give the
//! single-process numbers; a rank that goes away ends the others' step with an error, not a hang.
//! The ranks here are threads joined by channels ([`local_group`]); the MPI transport is tested
//! by the command line's `tests/mpi.rs`.

use std::sync::Arc;

use crate::common::{mixed_spec, random_data, random_weights};
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::error::Error;
use spikeflux_core::layer::Shape;
use spikeflux_core::network::{LayerSpec, Network, NetworkSpec};
use spikeflux_core::neuron::{LifParams, ReadoutParams, Surrogate};
use spikeflux_core::train::group::{local_group, LocalGroup};
use spikeflux_core::train::loss::{Bound, Objective, RegScope, Regularizer};
use spikeflux_core::train::optim::OptimizerKind;
use spikeflux_core::train::{evaluate, evaluate_in, EpochOutcome, Group, Metrics, TrainOptions, Trainer};

/// A strided, padded conv layer with a recurrent conv and pooling, then a dense layer.
fn conv_spec() -> NetworkSpec {
    let lif = LifParams { tau_mem: 5e-3, tau_syn: 3e-3, adaptation: None };
    let mut l0 = LayerSpec::conv(3, 4, 2, 1, true, lif);
    l0.pool = 2;
    if let Some(c) = l0.conv.as_mut() {
        c.rec_kernel = 3;
    }
    NetworkSpec {
        input: Shape::line(2, 12),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, LayerSpec::dense(4, false, lif)],
        readout: ReadoutParams { tau_mem: 8e-3, tau_syn: 3e-3, initial_state: -1e-2 },
        surrogate: Surrogate::SuperSpike { beta: 5.0 },
        step_order: Default::default(),
    }
}

fn objective() -> Objective {
    Objective {
        regularizers: vec![
            Regularizer { bound: Bound::Upper, strength: 0.2, threshold: 0.5, scope: RegScope::Neuron },
            Regularizer { bound: Bound::Lower, strength: 0.1, threshold: 1.0, scope: RegScope::Population },
        ],
        ..Default::default()
    }
}

/// What one rank saw: the weights after every step, and the bits of every metric.
#[derive(Debug, PartialEq)]
struct Trace {
    steps: Vec<Vec<u32>>,
    metrics: Vec<Vec<u64>>,
}

fn bits(m: &Metrics) -> Vec<u64> {
    let mut v = vec![m.ce.to_bits(), m.reg.to_bits(), m.acc.to_bits(), m.samples as u64];
    v.extend(m.rates_hz.iter().map(|r| r.to_bits()));
    v
}

/// Trains `net` for two epochs on `ds` as rank `group` with `threads` threads, stopping after
/// every batch to record the weights (the stop also exercises the ranks' vote).
fn train_rank(net: Network, ds: &SpikeDataset, batch: usize, group: Arc<dyn Group>, threads: usize) -> Trace {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let opts = TrainOptions { epochs: 2, batch_size: batch, optimizer: OptimizerKind::Adam { lr: 2e-2 }, seed: 3, engine: EngineOptions::default(), objective: objective() };
        let mut tr = Trainer::in_group(net, opts, ds.t_steps, group).unwrap();
        let mut trace = Trace { steps: Vec::new(), metrics: vec![bits(&tr.evaluate(ds).unwrap())] };
        for _ in 0..2 {
            loop {
                match tr.epoch_until(ds, Some(ds), &mut |_, _| {}, &|| true).unwrap() {
                    EpochOutcome::Stopped { .. } => trace.steps.push(tr.net.params.iter().map(|w| w.to_bits()).collect()),
                    EpochOutcome::Done(rec) => {
                        trace.steps.push(tr.net.params.iter().map(|w| w.to_bits()).collect());
                        trace.metrics.push(bits(&rec.train));
                        trace.metrics.push(bits(rec.valid.as_ref().unwrap()));
                        break;
                    }
                }
            }
        }
        trace
    })
}

/// Every rank's trace for `k` ranks (threads of this process), `threads` threads each.
fn train_group(net: &Network, ds: &SpikeDataset, batch: usize, k: usize, threads: usize) -> Vec<Trace> {
    let handles: Vec<_> = local_group(k)
        .into_iter()
        .map(|g: LocalGroup| {
            let (net, ds) = (net.clone(), ds.clone());
            std::thread::spawn(move || train_rank(net, &ds, batch, Arc::new(g), threads))
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn check_bit_identical(net: Network, ds: SpikeDataset, batch: usize) {
    let slices = batch.div_ceil(net.plan.slice_size(ds.t_steps));
    assert!(slices >= 3, "the batch must span several slices ({slices})");
    let one = train_group(&net, &ds, batch, 1, 2).pop().unwrap();
    assert!(one.steps.len() >= 4);
    // the weights move: a trace of unchanged weights would prove nothing
    assert_ne!(one.steps[0], one.steps[one.steps.len() - 1]);
    for (k, threads) in [(2, 1), (3, 2), (slices + 2, 1)] {
        for (rank, t) in train_group(&net, &ds, batch, k, threads).into_iter().enumerate() {
            assert_eq!(t.steps.len(), one.steps.len());
            for (s, (a, b)) in t.steps.iter().zip(&one.steps).enumerate() {
                assert!(a == b, "K = {k}, {threads} threads: rank {rank}'s weights after step {s} differ from one process's");
            }
            assert_eq!(t.metrics, one.metrics, "K = {k}: rank {rank}'s metrics differ");
        }
    }
}

#[test]
fn ranks_hold_the_single_process_weights_after_every_step_dense_recurrent_adaptive() {
    let net = random_weights(mixed_spec(5.0), 3.0, 4);
    check_bit_identical(net, random_data(5, 3, 30, 130, 0.2, 8), 56);
}

#[test]
fn ranks_hold_the_single_process_weights_after_every_step_convolutional() {
    let net = random_weights(conv_spec(), 3.0, 12);
    check_bit_identical(net, random_data(24, 3, 25, 110, 0.1, 9), 40);
}

#[test]
fn evaluation_and_nu_from_data_spread_over_ranks_give_the_single_process_numbers() {
    use spikeflux_core::init::nu::{init_from_data, init_from_data_in};
    use spikeflux_core::init::{EpsilonMode, FdTarget, HiddenInit, InitSpec, ReadoutInit};
    let net = random_weights(mixed_spec(5.0), 3.0, 4);
    let ds = random_data(5, 3, 40, 90, 0.2, 8);
    let opts = EngineOptions::default();
    // batches of 3, then 1 slice: ranks with no slice of a batch too
    let want = evaluate(&net, &opts, &objective(), &ds, 40);
    let init = InitSpec {
        hidden: HiddenInit::FluctuationDriven { target: FdTarget::centered(1.0, 5.0), alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: true },
        readout: ReadoutInit::ScaledNormal,
        dale: Default::default(),
    };
    let (want_net, _, want_rates) = init_from_data(mixed_spec(5.0), &init, 7, &ds, 30, &opts, &objective()).unwrap();
    let handles: Vec<_> = local_group(3)
        .into_iter()
        .map(|g| {
            let (net, ds) = (net.clone(), ds.clone());
            std::thread::spawn(move || {
                let g: Arc<dyn Group> = Arc::new(g);
                let m = evaluate_in(g.clone(), &net, &EngineOptions::default(), &objective(), &ds, 40).unwrap();
                let (n, _, r) = init_from_data_in(g, mixed_spec(5.0), &init, 7, &ds, 30, &EngineOptions::default(), &objective()).unwrap();
                (m, n.params, r)
            })
        })
        .collect();
    for h in handles {
        let (m, params, rates) = h.join().unwrap();
        assert_eq!(bits(&m), bits(&want));
        assert_eq!(rates.iter().map(|r| r.to_bits()).collect::<Vec<_>>(), want_rates.iter().map(|r| r.to_bits()).collect::<Vec<_>>());
        assert!(params.iter().zip(&want_net.params).all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

/// A rank that ends (here: its group dropped before the first batch) makes the others' step fail
/// with a data-parallel error, not hang, and leaves the epoch's consistent state (no batch of it
/// applied) as the partial epoch the checkpoint stores.
#[test]
fn a_rank_that_ends_fails_the_others_step_and_keeps_a_consistent_state() {
    let net = random_weights(mixed_spec(5.0), 3.0, 4);
    let ds = random_data(5, 3, 40, 45, 0.2, 8);
    let mut ranks = local_group(3);
    drop(ranks.pop());
    let handles: Vec<_> = ranks
        .into_iter()
        .map(|g| {
            let (net, ds) = (net.clone(), ds.clone());
            std::thread::spawn(move || {
                let opts = TrainOptions { epochs: 1, batch_size: 20, optimizer: OptimizerKind::Adam { lr: 2e-2 }, seed: 3, engine: EngineOptions::default(), objective: objective() };
                let before = net.params.clone();
                let mut tr = Trainer::in_group(net, opts, ds.t_steps, Arc::new(g)).unwrap();
                let e = tr.epoch_until(&ds, None, &mut |_, _| {}, &|| false).unwrap_err();
                assert!(matches!(e, Error::Distributed { .. }), "{e}");
                let p = tr.partial.as_ref().unwrap();
                assert_eq!((p.epoch, p.batches_done), (1, 0));
                assert_eq!(tr.net.params, before);
                e.to_string()
            })
        })
        .collect();
    for h in handles {
        let msg = h.join().unwrap();
        assert!(msg.contains("data-parallel run"), "{msg}");
    }
}
