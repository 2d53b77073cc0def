//! Same seed, same config: bitwise the same weights for any thread count.

use spikeflux_core::data::randman::{generate, RandmanParams};
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::loss::{Bound, Objective, RegScope, Regularizer};
use spikeflux_core::init::*;
use spikeflux_core::network::*;
use spikeflux_core::neuron::*;
use spikeflux_core::train::optim::OptimizerKind;
use spikeflux_core::train::{TrainOptions, Trainer};

/// A trainer for a Randman network with these hidden layers (FD init, seed 5), 100 steps.
fn trainer(hidden: Vec<LayerSpec>, batch_size: usize, optimizer: OptimizerKind, objective: Objective) -> Trainer {
    let spec = NetworkSpec {
        input: spikeflux_core::layer::Shape::flat(20),
        n_out: 10,
        dt: 2e-3,
        hidden,
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let t = FdTarget::centered(1.0, 5.0);
    let init = InitSpec {
        hidden: HiddenInit::FluctuationDriven { target: t, alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: true },
        readout: ReadoutInit::ScaledNormal,
        dale: Default::default(),
    };
    let (net, _) = Network::initialized(spec, &init, 5).unwrap();
    let opts = TrainOptions { epochs: 2, batch_size, optimizer, seed: 5, engine: EngineOptions::default(), objective };
    Trainer::new(net, opts, 100).unwrap()
}

fn train(threads: usize) -> (Vec<f32>, f64) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let data = generate(&RandmanParams { samples_per_class: 30, ..Default::default() }, 2e-3).unwrap();
        let hidden = vec![LayerSpec::dense(24, true, LifParams::default()), LayerSpec::dense(16, false, LifParams::default())];
        let objective = Objective {
            regularizers: vec![Regularizer { bound: Bound::Upper, strength: 0.1, threshold: 4.0, scope: RegScope::Population }],
            ..Default::default()
        };
        let mut tr = trainer(hidden, 70, OptimizerKind::Smorms3 { lr: 5e-3 }, objective);
        let mut last = 0.0;
        for _ in 0..2 {
            last = tr.epoch(&data, Some(&data), &mut |_, _| {}).unwrap().train.loss();
        }
        (tr.net.params.clone(), last)
    })
}

#[test]
fn one_and_three_threads_give_identical_weights() {
    let (a, la) = train(1);
    let (b, lb) = train(3);
    assert_eq!(la.to_bits(), lb.to_bits());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
}

/// An epoch stopped after some batches and continued later (as after Ctrl-C and `--resume`, the
/// partial sums carried over through JSON as the checkpoint stores them) gives exactly the
/// weights and metrics of the uninterrupted epoch.
#[test]
fn an_epoch_stopped_and_continued_equals_the_uninterrupted_one() {
    use spikeflux_core::train::{EpochOutcome, PartialEpoch};
    let data = generate(&RandmanParams { samples_per_class: 30, ..Default::default() }, 2e-3).unwrap();
    let make = || trainer(vec![LayerSpec::dense(24, true, LifParams::default())], 40, OptimizerKind::Adam { lr: 1e-3 }, Objective::default());
    let mut a = make();
    let whole = a.epoch(&data, Some(&data), &mut |_, _| {}).unwrap();
    let mut b = make();
    let calls = std::cell::Cell::new(0);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() == 3
    };
    let r = b.epoch_until(&data, Some(&data), &mut |_, _| {}, &stop).unwrap();
    assert_eq!(r, EpochOutcome::Stopped { batches_done: 3 });
    let kept = serde_json::to_string(&b.partial).unwrap();
    b.partial = serde_json::from_str::<Option<PartialEpoch>>(&kept).unwrap();
    let EpochOutcome::Done(rest) = b.epoch_until(&data, Some(&data), &mut |_, _| {}, &|| false).unwrap() else {
        panic!("the continued epoch did not finish")
    };
    assert_eq!(a.net.params, b.net.params);
    assert_eq!(whole.train, rest.train);
    assert_eq!(whole.valid, rest.valid);
    assert_eq!(b.epochs_done, 1);
}

/// Checkpoints carry an interrupted epoch's f64 sums as JSON: every f64 must come back bit for bit
/// (serde_json parses floats only approximately unless its `float_roundtrip` feature is on; without
/// it a resumed run's regularizer metric differed in the last digit, seen in CI).
#[test]
fn f64_sums_survive_the_checkpoints_json_bit_for_bit() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // finite values over the whole exponent range used by sums (1e-30 .. 1e30)
        let v = f64::from_bits((x & 0x800F_FFFF_FFFF_FFFF) | ((923 + (x >> 52) % 200) << 52));
        let back: f64 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{v:e} came back as {back:e}");
    }
}
