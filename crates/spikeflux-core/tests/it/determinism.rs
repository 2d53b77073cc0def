//! Same seed, same config: bitwise the same weights for any thread count.

use spikeflux_core::data::randman::{generate, RandmanParams};
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::loss::{Bound, Objective, RegScope, Regularizer};
use spikeflux_core::init::*;
use spikeflux_core::network::*;
use spikeflux_core::neuron::*;
use spikeflux_core::train::optim::OptimizerKind;
use spikeflux_core::train::{TrainOptions, Trainer};

fn train(threads: usize) -> (Vec<f32>, f64) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| {
        let data = generate(&RandmanParams { samples_per_class: 30, ..Default::default() }, 2e-3).unwrap();
        let spec = NetworkSpec {
            input: spikeflux_core::layer::Shape::flat(20),
            n_out: 10,
            dt: 2e-3,
            hidden: vec![
                LayerSpec::dense(24, true, LifParams::default()),
                LayerSpec::dense(16, false, LifParams::default()),
            ],
            readout: ReadoutParams::default(),
            surrogate: Surrogate::default(),
        };
        let t = FdTarget::centered(1.0, 5.0);
        let init = InitSpec {
            hidden: HiddenInit::FluctuationDriven { target: t, alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: true },
            readout: ReadoutInit::ScaledNormal,
            dale: Default::default(),
        };
        let (net, _) = Network::initialized(spec, &init, 5).unwrap();
        let opts = TrainOptions {
            epochs: 2,
            batch_size: 70,
            optimizer: OptimizerKind::Smorms3 { lr: 5e-3 },
            seed: 5,
            engine: EngineOptions::default(),
            objective: Objective {
                regularizers: vec![Regularizer { bound: Bound::Upper, strength: 0.1, threshold: 4.0, scope: RegScope::Population }],
                ..Default::default()
            },
        };
        let mut tr = Trainer::new(net, opts, 100).unwrap();
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
