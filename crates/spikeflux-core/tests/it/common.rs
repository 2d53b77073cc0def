//! Small networks and data shared by the tests.
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::network::{LayerSpec, Network, NetworkSpec};
use spikeflux_core::neuron::{Adaptation, LifParams, ReadoutParams, Surrogate};
use spikeflux_core::rng::{normal, rng_for, uniform};

/// Random binary input: each (t, unit) fires with probability `p`.
pub fn random_data(n_in: usize, n_classes: usize, t: usize, n: usize, p: f64, seed: u64) -> SpikeDataset {
    let mut rng = rng_for(seed, 99);
    let mut samples = Vec::new();
    let mut labels = Vec::new();
    for i in 0..n {
        let mut ev = Vec::new();
        for s in 0..t {
            for u in 0..n_in {
                if uniform(&mut rng) < p {
                    ev.push((s as u32, u as u32));
                }
            }
        }
        samples.push(ev);
        labels.push(i % n_classes);
    }
    SpikeDataset::from_samples(n_in, n_classes, t, 1e-3, samples, labels).unwrap()
}

/// Like [`random_data`], with event **counts**: each `(step, unit)` repeats 1–3 times.
pub fn random_count_data(n_in: usize, n_classes: usize, t: usize, n: usize, p: f64, seed: u64) -> SpikeDataset {
    let mut rng = rng_for(seed, 98);
    let bin = random_data(n_in, n_classes, t, n, p, seed);
    let samples: Vec<Vec<(u32, u32)>> = (0..n)
        .map(|i| bin.events(i).flat_map(|e| std::iter::repeat_n(e, 1 + (uniform(&mut rng) * 3.0) as usize)).collect())
        .collect();
    SpikeDataset::from_count_samples(n_in, n_classes, t, 1e-3, samples, bin.labels.clone()).unwrap()
}

/// A small network with every layer kind: recurrent adaptive, recurrent, feed-forward.
pub fn mixed_spec(beta: f32) -> NetworkSpec {
    NetworkSpec {
        input: spikeflux_core::layer::Shape::flat(5),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![
            LayerSpec::dense(
                6,
                true,
                LifParams { tau_mem: 5e-3, tau_syn: 3e-3, adaptation: Some(Adaptation { tau_ada: 20e-3, a: 0.5 }) },
            ),
            LayerSpec::dense(4, true, LifParams { tau_mem: 6e-3, tau_syn: 2e-3, adaptation: None }),
            LayerSpec::dense(5, false, LifParams { tau_mem: 4e-3, tau_syn: 3e-3, adaptation: None }),
        ],
        readout: ReadoutParams { tau_mem: 8e-3, tau_syn: 3e-3, initial_state: -1e-2 },
        surrogate: Surrogate::SuperSpike { beta },
        step_order: Default::default(),
    }
}

/// Fills all weights with N(0, scale²/fan_in)-like values from `seed`.
pub fn random_weights(spec: NetworkSpec, scale: f64, seed: u64) -> Network {
    let mut net = Network::zeros(spec).unwrap();
    let mut rng = rng_for(seed, 5);
    for t in net.tensors() {
        for w in &mut net.params[t.range] {
            *w = (scale * normal(&mut rng) / (t.rest_out[0] as f64).sqrt()) as f32;
        }
    }
    net
}

/// A committed fixture of this crate (`tests/fixtures/`, listed in its README).
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}
