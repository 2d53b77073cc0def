//! Criterion micro-benchmarks of the fused forward and backward kernels on one 16-sample slice,
//! for named shapes. Throughput is reported in neuron-steps (hidden neurons × T × samples).
//!
//!     cargo bench -p spikeflux-core --bench kernels
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::engine::{self, EngineOptions, Workspace};
use spikeflux_core::init::*;
use spikeflux_core::layer::Shape as Geom;
use spikeflux_core::network::*;
use spikeflux_core::neuron::*;
use spikeflux_core::rng::{rng_for, uniform};

struct Shape {
    name: &'static str,
    n_in: usize,
    hidden: &'static [(usize, bool)],
    n_out: usize,
    t: usize,
    rate_hz: f64,
    nu: f64,
}

const SHAPES: &[Shape] = &[
    Shape { name: "randman-20-128-10", n_in: 20, hidden: &[(128, false)], n_out: 10, t: 100, rate_hz: 5.0, nu: 5.0 },
    Shape {
        name: "shd-dense-700-3x128-20",
        n_in: 700,
        hidden: &[(128, false), (128, false), (128, false)],
        n_out: 20,
        t: 350,
        rate_hz: 15.8,
        nu: 15.8,
    },
    Shape { name: "shd-recurrent-700-256r-20", n_in: 700, hidden: &[(256, true)], n_out: 20, t: 350, rate_hz: 15.8, nu: 15.8 },
];

const B: usize = 16;

fn setup(s: &Shape) -> (Network, Workspace) {
    let dt = 2e-3;
    let spec = NetworkSpec {
        input: Geom::flat(s.n_in),
        n_out: s.n_out,
        dt,
        hidden: s.hidden.iter().map(|&(size, recurrent)| LayerSpec::dense(size, recurrent, LifParams::default())).collect(),
        readout: ReadoutParams { tau_mem: s.t as f64 * dt, ..Default::default() },
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let target = FdTarget::centered(1.0, s.nu);
    let init = InitSpec {
        hidden: HiddenInit::FluctuationDriven { target, alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: true },
        readout: ReadoutInit::ScaledNormal,
        dale: Default::default(),
    };
    let (net, _) = Network::initialized(spec, &init, 1).unwrap();
    let mut rng = rng_for(1, 1);
    let p = s.rate_hz * dt;
    let samples: Vec<Vec<(u32, u32)>> = (0..B)
        .map(|_| {
            let mut ev = Vec::new();
            for t in 0..s.t {
                for u in 0..s.n_in {
                    if uniform(&mut rng) < p {
                        ev.push((t as u32, u as u32));
                    }
                }
            }
            ev
        })
        .collect();
    let ds = SpikeDataset::from_samples(s.n_in, s.n_out, s.t, dt, samples, (0..B).map(|i| i % s.n_out).collect()).unwrap();
    let mut ws = Workspace::new(&net, s.t, B);
    ws.load(&ds, &(0..B).collect::<Vec<_>>());
    (net, ws)
}

fn kernels(c: &mut Criterion) {
    let opts = EngineOptions::default();
    let mut g = c.benchmark_group("slice16");
    for s in SHAPES {
        let (net, mut ws) = setup(s);
        let neuron_steps: usize = s.hidden.iter().map(|h| h.0).sum::<usize>() * s.t * B;
        g.throughput(Throughput::Elements(neuron_steps as u64));
        g.bench_function(BenchmarkId::new("forward", s.name), |b| b.iter(|| engine::forward(&net, &opts, &mut ws)));
        engine::forward(&net, &opts, &mut ws);
        g.bench_function(BenchmarkId::new("loss+backward", s.name), |b| {
            b.iter(|| {
                spikeflux_core::train::loss::compute(&net, &Default::default(), &mut ws, B);
                engine::backward(&net, &opts, &mut ws)
            })
        });
    }
    g.finish();
}

/// The input gradients of notebook 05's convolutions (3×3, stride 1, padding 2) over 64
/// sample-steps; throughput in multiply-adds of the products (`h_in·w_in·9·c_in·c_out` per image).
fn conv_input_grads(c: &mut Criterion) {
    use spikeflux_core::linalg::*;
    let mut g = c.benchmark_group("conv_input_grad");
    let rows = 64;
    for (name, c_in, size, c_out) in [("conv2-16x34-16", 16, 34, 16), ("conv3-16x18-32", 16, 18, 32), ("conv4-32x20-32", 32, 20, 32)] {
        let geom = Conv { row: Conv1d { c_in, l_in: size, c_out, l_out: size + 2, k: 3, stride: 1, pad: 2 }, h_in: size, h_out: size + 2, kh: 3, sh: 1, ph: 2 };
        let w: Vec<f32> = (0..geom.n_weights()).map(|i| (i as f32 * 0.61).sin()).collect();
        let mut wt = vec![0.0; conv_input_grad_weights_len(&geom)];
        conv_input_grad_weights(&geom, &w, &mut wt);
        let grad: Vec<f32> = (0..rows * geom.n_dst()).map(|i| (i as f32 * 0.23).cos()).collect();
        let mut gx = vec![0.0; rows * geom.n_src()];
        let mut scratch = vec![0.0; conv_input_grad_scratch(&geom)];
        g.throughput(Throughput::Elements((rows * size * size * 9 * c_in * c_out) as u64));
        g.bench_function(name, |b| b.iter(|| conv_input_grad(&geom, &grad, &wt, &mut gx, false, &mut scratch)));
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = kernels, conv_input_grads
}
criterion_main!(benches);
