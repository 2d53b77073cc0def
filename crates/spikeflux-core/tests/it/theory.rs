//! The simulated membrane statistics match the theory the initialization is built on (spec §2.1,
//! §4.1, paper Fig. 1): N = 5000 Poisson inputs at ν = 3 Hz, dt = 1 ms, τ_mem = 20 ms, τ_syn = 10 ms,
//! FD weights for μ_U and ξ. The free membrane (reset off) of the engine's own LIF step must have mean
//! μ_U ± 0.02 and standard deviation (1 − μ_U)/ξ within 3 %.
//!
//! The theory's moments are expectations over the weight draw, so the mean is taken over many
//! neurons and time and the s.d. is the root of the mean temporal variance (`spikeflux_core::init::fig1`).

use spikeflux_core::data::{poisson_sample, SpikeDataset};
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::init::fig1::{fd_group, membrane, MembraneStats};
use spikeflux_core::init::{epsilon, fd_normal_layerwise, Afferent, EpsilonMode, FdTarget};
use spikeflux_core::layer::Shape;
use spikeflux_core::network::{LayerSpec, NetworkSpec};
use spikeflux_core::neuron::{LifParams, ReadoutParams, SpikeMode, Surrogate};

const N: usize = 5000;
const NEURONS: usize = 2048;
const T: usize = 4000;
const BURN_IN: usize = 200;

fn poisson_input(nu: f64, dt: f64, seed: u64) -> SpikeDataset {
    poisson_sample(N, nu, dt, T, seed)
}

/// The membrane mean over neurons and steps after the burn-in, the root of the mean temporal variance
/// per neuron, and the fraction of samples above threshold (the Fig. 1 setting of the core).
fn membrane_stats(target: FdTarget, mode: SpikeMode, data: &SpikeDataset) -> (f64, f64, f64) {
    let (net, _) = fd_group(data, NEURONS, target, 7).unwrap();
    let m = MembraneStats::of(&membrane(&net, data, mode, BURN_IN), NEURONS);
    (m.mean, m.sd, m.above_threshold)
}

#[test]
fn free_membrane_matches_the_fluctuation_driven_theory() {
    let data = poisson_input(3.0, 1e-3, 2020);
    for xi in [1.0, 2.0, 3.0] {
        for mu_u in [0.0, 0.3] {
            let target = FdTarget { mu_u, xi, nu: 3.0 };
            let (mean, sd, _) = membrane_stats(target, SpikeMode::Smooth, &data);
            let want = (1.0 - mu_u) / xi;
            eprintln!("ξ = {xi}, μ_U = {mu_u}: mean {mean:.4}, s.d. {sd:.4} (theory {want:.4})");
            assert!((mean - mu_u).abs() < 0.02, "ξ = {xi}, μ_U = {mu_u}: mean {mean}");
            assert!((sd / want - 1.0).abs() < 0.03, "ξ = {xi}, μ_U = {mu_u}: s.d. {sd} vs theory {want}");
        }
    }
}

#[test]
fn with_reset_the_tail_above_threshold_is_cut_off() {
    let data = poisson_input(3.0, 1e-3, 2021);
    let target = FdTarget { mu_u: 0.0, xi: 1.0, nu: 3.0 };
    let (_, sd_free, above_free) = membrane_stats(target, SpikeMode::Smooth, &data);
    let (_, sd_reset, above_reset) = membrane_stats(target, SpikeMode::Spiking, &data);
    // ξ = 1: about 16 % of the free membrane lies above θ; with reset only the one step between
    // crossing and spiking can be above it
    assert!(above_free > 0.10, "free: {above_free}");
    assert!(above_reset < 0.35 * above_free, "reset: {above_reset} vs free {above_free}");
    assert!(sd_reset < sd_free);
}

/// ν from data: layer 1 gets the measured input rate, each further layer the rate measured after
/// initializing the layers below; σ_w follows the FD formula with that layer's ν.
#[test]
fn nu_from_data_layer_by_layer() {
    use spikeflux_core::data::randman::{generate, RandmanParams};
    use spikeflux_core::init::nu::init_from_data;
    use spikeflux_core::init::{HiddenInit, InitSpec, ReadoutInit};
    use spikeflux_core::train::evaluate;
    let data = generate(&RandmanParams { samples_per_class: 20, ..Default::default() }, 2e-3).unwrap();
    let spec = NetworkSpec {
        input: Shape::flat(20),
        n_out: 10,
        dt: 2e-3,
        hidden: vec![
            LayerSpec::dense(64, false, LifParams::default()),
            LayerSpec::dense(48, true, LifParams::default()),
        ],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let t = FdTarget::centered(1.0, 1.0);
    let init = InitSpec {
        hidden: HiddenInit::FluctuationDriven { target: t, alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: true },
        readout: ReadoutInit::FluctuationDriven { target: t, epsilon: EpsilonMode::Numerical },
        dale: Default::default(),
    };
    let opts = EngineOptions::default();
    let (net, report, rates) = init_from_data(spec.clone(), &init, 3, &data, 200, &opts, &Default::default()).unwrap();
    assert_eq!(rates.len(), 3);
    assert!((rates[0] - 5.0).abs() < 1e-9, "Randman's input rate is exactly 5 Hz: {}", rates[0]);
    // the rates are what the initialized network produces on the subset
    let m = evaluate(&net, &opts, &Default::default(), &data.subset(&(0..200).collect::<Vec<_>>()), 64);
    assert!((m.rates_hz[0] - rates[1]).abs() < 1e-9 && (m.rates_hz[1] - rates[2]).abs() < 1e-9);
    // σ_w of layer 1 follows the formula with ν = 5 Hz, fan-in 20
    let eps = epsilon(20e-3, 10e-3, 2e-3, EpsilonMode::Numerical);
    let want = fd_normal_layerwise(FdTarget::centered(1.0, 5.0), eps, &[Afferent { fan_in: 20, recurrent: false }], 0.9).unwrap();
    assert!((report[0].std - want[0].std).abs() < 1e-12);
    // layer 2 (recurrent, α split) with ν = the measured rate of layer 1
    let want2 = fd_normal_layerwise(
        FdTarget::centered(1.0, rates[1]),
        eps,
        &[Afferent { fan_in: 64, recurrent: false }, Afferent { fan_in: 48, recurrent: true }],
        0.9,
    )
    .unwrap();
    assert!((report[1].std - want2[0].std).abs() < 1e-12 && (report[2].std - want2[1].std).abs() < 1e-12);
}
