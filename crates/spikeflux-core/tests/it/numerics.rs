//! Numerical failures in training are reported, never returned as results: a readout whose class
//! scores tie at values too large for the loss (cross-entropy exactly 0 at chance accuracy), and
//! f32 overflow in the readout's output, named with the setting most likely responsible.

use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::optim::OptimizerKind;
use spikeflux_core::train::{TrainOptions, Trainer};
use spikeflux_core::Error;

use crate::common::*;

/// The error one epoch of `net` on `data` (one batch of 12) ends with.
fn one_epoch_error(net: spikeflux_core::network::Network, data: &spikeflux_core::data::SpikeDataset) -> Error {
    let opts = TrainOptions {
        epochs: 1,
        batch_size: 12,
        optimizer: OptimizerKind::Smorms3 { lr: 1e-3 },
        seed: 1,
        engine: EngineOptions::default(),
        objective: Default::default(),
    };
    let mut tr = Trainer::new(net, opts, data.t_steps).unwrap();
    tr.epoch(data, None, &mut |_, _| {}).unwrap_err()
}

#[test]
fn a_saturated_readout_is_an_error_not_a_perfect_loss() {
    let data = random_data(5, 3, 25, 12, 0.3, 4);
    let mut net = random_weights(mixed_spec(20.0), 3.0, 11);
    // equal, huge readout weights: every class score is the same ~1e20, so the log-sum-exp loses
    // the ln(3) of the tie and the cross-entropy comes out exactly 0 while predictions are chance
    let r = net.layout.readout.clone();
    net.params[r].fill(1e20);
    let e = one_epoch_error(net, &data);
    assert!(matches!(e, Error::Saturated { epoch: 1, batch: 0, .. }), "{e}");
    assert!(e.to_string().contains("exactly 0"), "{e}");
}

#[test]
fn f32_overflow_in_the_readout_output_names_the_initialization() {
    let data = random_data(5, 3, 25, 12, 0.3, 4);
    let mut net = random_weights(mixed_spec(20.0), 3.0, 11);
    // readout weights at f32's largest value: the readout's membrane overflows to ±inf
    let r = net.layout.readout.clone();
    for (k, w) in net.params[r].iter_mut().enumerate() {
        *w = if k % 2 == 0 { f32::MAX } else { -f32::MAX };
    }
    let e = one_epoch_error(net, &data);
    match &e {
        Error::NonFinite { what, field, epoch: 1, batch: 0, .. } => {
            assert_eq!((what.as_str(), field.as_str()), ("readout output", "init"), "{e}");
        }
        _ => panic!("expected a non-finite readout output, got {e}"),
    }
}
