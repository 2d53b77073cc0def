//! Dale's-law layers in training: the fluctuation-driven exponential init of notebook 04 on a small
//! layer, non-negative weights and structural zeros kept after every optimizer step, learning on
//! Randman, and the same numbers for any thread count.

use spikeflux_core::data::randman::{generate, RandmanParams};
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::loss::{Bound, Objective, RegScope, Regularizer};
use spikeflux_core::init::*;
use spikeflux_core::network::*;
use spikeflux_core::neuron::*;
use spikeflux_core::train::optim::OptimizerKind;
use spikeflux_core::train::{TrainOptions, Trainer};

fn trainer(kind: DaleInit) -> Trainer {
    let spec = NetworkSpec {
        input: spikeflux_core::layer::Shape::flat(20),
        n_out: 10,
        dt: 2e-3,
        hidden: vec![LayerSpec::dale(32, 8, 20e-3, true, LifParams { tau_mem: 20e-3, tau_syn: 10e-3, adaptation: None })],
        readout: ReadoutParams { tau_mem: 0.2, tau_syn: 10e-3, initial_state: -1e-3 },
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let init = InitSpec {
        hidden: HiddenInit::FluctuationDriven { target: FdTarget::centered(1.0, 5.0), alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: true },
        readout: ReadoutInit::FluctuationDriven { target: FdTarget::centered(1.0, 5.0), epsilon: EpsilonMode::Numerical },
        dale: kind,
    };
    let (net, report) = Network::initialized(spec, &init, 3).unwrap();
    let names: Vec<&str> = report.iter().map(|c| c.name.as_str()).collect();
    assert!(["XE", "XI", "II", "IE", "EI", "EE"].iter().all(|c| names.iter().any(|n| n.contains(&format!(".{c} ")))), "{names:?}");
    let opts = TrainOptions {
        epochs: 8,
        batch_size: 50,
        optimizer: OptimizerKind::Smorms3 { lr: 1e-2 },
        seed: 3,
        engine: EngineOptions::default(),
        objective: Objective {
            regularizers: vec![Regularizer { bound: Bound::Upper, strength: 0.1, threshold: 7.0, scope: RegScope::Population }],
            ..Default::default()
        },
    };
    Trainer::new(net, opts, 100).unwrap()
}

fn check_constraint(net: &Network) {
    let g = &net.plan.geoms[0];
    let (n, ne) = (g.n(), g.dale.unwrap());
    let ff = &net.params[net.layout.ff[0].clone()];
    let rec = &net.params[net.layout.rec[0].clone().unwrap()];
    assert!(ff.iter().chain(rec).all(|&w| w >= 0.0), "negative weight in a Dale layer");
    for row in ff.chunks_exact(2 * n) {
        assert!(row[n..].iter().all(|&w| w == 0.0), "input reached the inhibitory current");
    }
    for (i, row) in rec.chunks_exact(2 * n).enumerate() {
        let (exc, inh) = row.split_at(n);
        if i < ne {
            assert!(inh.iter().all(|&w| w == 0.0), "an E neuron inhibits");
        } else {
            assert!(exc.iter().all(|&w| w == 0.0), "an I neuron excites");
        }
    }
}

#[test]
fn dale_layer_learns_and_keeps_its_signs() {
    let data = generate(&RandmanParams { samples_per_class: 60, ..Default::default() }, 2e-3).unwrap();
    for kind in [DaleInit::Exponential, DaleInit::LogNormal] {
        let mut tr = trainer(kind);
        check_constraint(&tr.net);
        let mut losses = Vec::new();
        for _ in 0..8 {
            let m = tr.epoch(&data, None, &mut |_, _| {}).unwrap();
            losses.push(m.train.loss());
            check_constraint(&tr.net);
        }
        let acc = tr.epoch(&data, None, &mut |_, _| {}).unwrap().train.acc;
        eprintln!("{kind:?}: losses {losses:.3?}, train accuracy {acc:.3}");
        assert!(losses[7] < 0.8 * losses[0], "{kind:?}: loss {losses:?}");
        assert!(acc > 0.2, "{kind:?}: accuracy {acc} (chance 0.1)");
    }
}
