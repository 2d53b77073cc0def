//! The reference step order and delays (spec §1.1, §1.5), reset, threshold, and cross-path agreement.

use spikeflux_core::data::SpikeDataset;
use spikeflux_core::engine::{self, EngineOptions, ProjectionPath, Workspace};
use spikeflux_core::layer::Shape;
use spikeflux_core::network::{LayerSpec, Network, NetworkSpec};
use spikeflux_core::neuron::{LifParams, ReadoutParams, StepOrder, Surrogate};

use crate::common::*;

fn chain(n_layers: usize) -> Network {
    let spec = NetworkSpec {
        input: Shape::flat(1),
        n_out: 2,
        dt: 1e-3,
        hidden: (0..n_layers)
            .map(|_| LayerSpec::dense(1, false, LifParams::default()))
            .collect(),
        readout: ReadoutParams { tau_mem: 20e-3, tau_syn: 10e-3, initial_state: -1e-3 },
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let mut net = Network::zeros(spec).unwrap();
    // a single weight strong enough that one input spike makes one output spike
    net.params.fill(500.0);
    net
}

fn run(net: &Network, events: Vec<(u32, u32)>, t: usize) -> Workspace {
    let ds = SpikeDataset::from_samples(1, 2, t, 1e-3, vec![events], vec![0]).unwrap();
    let mut ws = Workspace::new(net, t, 1);
    ws.load(&ds, &[0]);
    engine::forward(net, &EngineOptions::default(), &mut ws);
    ws
}

#[test]
fn each_layer_adds_three_steps_and_the_readout_two() {
    let net = chain(2);
    let mut ws = run(&net, vec![(4, 0)], 20);
    let first = |s: &[f32]| s.iter().position(|&x| x > 0.0);
    assert_eq!(first(ws.spikes(0)), Some(7), "input at t=4 → hidden spike at t+3");
    assert_eq!(first(ws.spikes(1)), Some(10), "second layer three steps later");
    // readout: V_t = β V_{t−1}·… leaves its initial decay only at t = 10 + 2
    let v0 = -1e-3f32;
    let bm = (-1e-3f64 / 20e-3).exp() as f32;
    for t in 0..20 {
        let free = v0 * bm.powi(t as i32 + 1);
        let v = ws.rv[t * 2];
        if t < 12 {
            assert!((v - free).abs() < 1e-9, "t={t}: readout moved early ({v} vs {free})");
        } else {
            assert!(v > free + 1e-3, "t={t}: readout should have moved");
        }
    }
}

/// `step_order = "nir"`: no added latency (the input spike's step moves the hidden spikes of every
/// layer and the readout), reset to zero in the spike's step; both paths agree with recurrence.
#[test]
fn nir_step_order_has_no_latency_and_resets_in_the_spike_step() {
    let mut net = chain(2);
    net.spec.step_order = StepOrder::Nir;
    let net = Network::zeros(net.spec.clone()).map(|mut n| {
        n.params.fill(500.0);
        n
    }).unwrap();
    let mut ws = run(&net, vec![(4, 0)], 20);
    let first = |s: &[f32]| s.iter().position(|&x| x > 0.0);
    assert_eq!(first(ws.spikes(0)), Some(4), "input at t=4 → hidden spike at t=4");
    assert_eq!(first(ws.spikes(1)), Some(4), "and the second layer's in the same step");
    let v0 = -1e-3f32;
    let bm = (-1e-3f64 / 20e-3).exp() as f32;
    for t in 0..20 {
        let free = v0 * bm.powi(t as i32 + 1);
        let v = ws.rv[t * 2];
        if t < 4 {
            assert!((v - free).abs() < 1e-9, "t={t}: readout moved early ({v} vs {free})");
        } else {
            assert!(v > free + 1e-3, "t={t}: readout should have moved");
        }
    }
    // the stored membrane is the pre-reset one; the next step starts from 0
    let u = ws.membrane(0).to_vec();
    let bs = (-1e-3f64 / 10e-3).exp() as f32;
    let i5 = bs * 500.0;
    assert!(u[4] > 1.0 && (u[5] - (1.0 - bm) * i5).abs() < 1e-4, "U_5 = β_m·0 + (1−β_m) I_5: {}", u[5]);
    // snnTorch's reset: the step after the spike is zeroed whole, U_5 = 0
    let mut snn = net.clone();
    snn.spec.step_order = StepOrder::Snntorch;
    let snn = Network::zeros(snn.spec.clone()).map(|mut n| {
        n.params.fill(500.0);
        n
    }).unwrap();
    let ws = run(&snn, vec![(4, 0)], 20);
    assert!(ws.membrane(0)[4] > 1.0 && ws.membrane(0)[5] == 0.0 && ws.membrane(0)[6] > 1.0);
    for order in [StepOrder::Nir, StepOrder::Snntorch] {
        let mut spec = mixed_spec(20.0);
        spec.step_order = order;
        spec.hidden[0].lif.adaptation = None;
        assert_paths_agree(&random_weights(spec, 6.0, 2), &random_data(5, 3, 40, 4, 0.3, 8), 40);
    }
}

#[test]
fn reset_is_multiplicative_to_zero_and_threshold_strict() {
    let net = chain(1);
    let mut ws = run(&net, vec![(0, 0)], 12);
    let s = ws.spikes(0).to_vec();
    let u = ws.membrane(0);
    // the membrane crosses 1 at t = 2, the spike is emitted at t = 3 and the membrane is zeroed then
    assert!(u[2] > 1.0 && s[3] == 1.0 && u[3] == 0.0);
    assert_eq!(s.iter().filter(|&&x| x > 0.0).count() as f32, s.iter().sum::<f32>());
    // exactly at threshold: no spike (strict >)
    let mut net = chain(1);
    let bm = (-1e-3f64 / 20e-3).exp() as f32;
    // U_1 = 0; U_2 = β_m U_1 + (1−β_m) I_1 with I_1 = w: find an f32 w with (1−β_m)·w == 1 exactly
    let k = 1.0 - bm;
    let mut w = 1.0 / k;
    for _ in 0..1000 {
        if k * w == 1.0 {
            break;
        }
        w = if k * w > 1.0 { w.next_down() } else { w.next_up() };
    }
    assert_eq!(k * w, 1.0, "no f32 weight reaches U = 1 exactly");
    net.params[0] = w;
    let mut ws = run(&net, vec![(0, 0)], 4);
    assert_eq!(ws.membrane(0)[2], 1.0);
    assert_eq!(ws.spikes(0)[3], 0.0, "U = 1 exactly must not spike");
}

#[test]
fn zero_input_leaves_only_the_readout_decay() {
    let net = random_weights(mixed_spec(20.0), 3.0, 1);
    let ds = SpikeDataset::from_samples(5, 3, 15, 1e-3, vec![vec![]], vec![0]).unwrap();
    let mut ws = Workspace::new(&net, 15, 1);
    ws.load(&ds, &[0]);
    engine::forward(&net, &EngineOptions::default(), &mut ws);
    for l in 0..3 {
        assert!(ws.spikes(l).iter().all(|&x| x == 0.0));
        assert!(ws.membrane(l).iter().all(|&x| x == 0.0));
    }
}

#[test]
fn event_driven_and_dense_paths_agree() {
    let net = random_weights(mixed_spec(20.0), 6.0, 2);
    assert_paths_agree(&net, &random_data(5, 3, 40, 4, 0.3, 8), 40);
}

/// Runs forward, loss and backward on 4 samples by the event-driven and the dense path and checks
/// that spikes agree exactly and readout and gradients to 1e-5.
fn assert_paths_agree(net: &Network, data: &SpikeDataset, t: usize) {
    let mut a = Workspace::new(net, t, 4);
    let mut b = a.clone();
    a.load(data, &[0, 1, 2, 3]);
    b.load(data, &[0, 1, 2, 3]);
    let ev = EngineOptions::default();
    let de = EngineOptions { path: ProjectionPath::Dense, ..Default::default() };
    for (ws, o) in [(&mut a, &ev), (&mut b, &de)] {
        engine::forward(net, o, ws);
        spikeflux_core::train::loss::compute(net, &Default::default(), ws, 4);
        engine::backward(net, o, ws);
    }
    assert!(a.stats.spikes.iter().all(|&s| s >= 3.0), "the test needs spikes in every layer: {:?}", a.stats.spikes);
    assert_eq!(a.stats.spikes, b.stats.spikes);
    for (x, y) in a.rv.iter().zip(&b.rv) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} vs {y}");
    }
    for (x, y) in a.grads.iter().zip(&b.grads) {
        assert!((x - y).abs() <= 1e-5 * (1.0 + x.abs()), "{x} vs {y}");
    }
    assert_forward_only_agrees(net, data, t);
}

/// A forward pass without membrane history (`forward_only`) gives the same spikes, counts and
/// readout, bit for bit, as one that keeps every step's membrane, on both paths and in both modes.
fn assert_forward_only_agrees(net: &Network, data: &SpikeDataset, t: usize) {
    use spikeflux_core::neuron::SpikeMode;
    for mode in [SpikeMode::Spiking, SpikeMode::Smooth] {
        for path in [ProjectionPath::Auto, ProjectionPath::Dense] {
            let full = EngineOptions { mode, path, ..Default::default() };
            let mut a = Workspace::new(net, t, 4);
            a.load(data, &[0, 1, 2, 3]);
            let mut b = a.clone();
            engine::forward(net, &full, &mut a);
            engine::forward(net, &EngineOptions { forward_only: true, ..full }, &mut b);
            assert_eq!(a.stats, b.stats, "{mode:?} {path:?}");
            assert_eq!(a.rv, b.rv, "{mode:?} {path:?}: readout");
            for l in 0..net.plan.geoms.len() {
                assert_eq!(a.spikes(l), b.spikes(l), "{mode:?} {path:?}: layer {l}");
            }
        }
    }
}

#[test]
fn batch_permutation_equivariance() {
    let net = random_weights(mixed_spec(20.0), 6.0, 3);
    let data = random_data(5, 3, 30, 3, 0.3, 9);
    let mut a = Workspace::new(&net, 30, 3);
    let mut b = a.clone();
    a.load(&data, &[0, 1, 2]);
    b.load(&data, &[2, 0, 1]);
    let o = EngineOptions::default();
    engine::forward(&net, &o, &mut a);
    engine::forward(&net, &o, &mut b);
    let c = 3;
    for t in 0..30 {
        for (ia, ib) in [(0, 1), (1, 2), (2, 0)] {
            for k in 0..c {
                assert_eq!(a.rv[t * 9 + ia * c + k], b.rv[t * 9 + ib * c + k]);
            }
        }
    }
}

#[test]
fn checkpoint_round_trip_with_conv_layers_and_permuted_flatten() {
    use spikeflux_core::train::checkpoint;
    let lif = LifParams::default();
    let mut l0 = LayerSpec::conv(3, 4, 2, 1, true, lif);
    l0.pool = 2;
    let spec = NetworkSpec {
        input: Shape::line(2, 12),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, LayerSpec::dense(4, true, lif)],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let net = random_weights(spec.clone(), 1.0, 9);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("w.safetensors");
    checkpoint::save(&net, &p, Default::default()).unwrap();
    let mut back = Network::zeros(spec).unwrap();
    checkpoint::load(&mut back, &p).unwrap();
    assert_eq!(back.params, net.params);
    // the dense layer after the pooled conv group is permuted to PyTorch's channel-major flattening
    let t = net.tensors().into_iter().find(|t| t.name == "hidden.1.ff.weight").unwrap();
    assert_eq!(t.torch_shape, vec![4, 9]);
    assert_eq!((t.torch_rest(0), t.torch_rest(1), t.torch_rest(3)), (0, 3, 1));
}

#[test]
fn event_driven_and_dense_paths_agree_on_a_conv_network() {
    let lif = LifParams::default();
    let mut l0 = LayerSpec::conv(4, 5, 2, 1, true, lif);
    l0.pool = 2;
    let spec = NetworkSpec {
        input: Shape::line(1, 40),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, LayerSpec::conv(6, 3, 1, 0, true, lif), LayerSpec::dense(8, true, lif)],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let net = random_weights(spec, 8.0, 4);
    assert_paths_agree(&net, &random_data(40, 3, 50, 4, 0.1, 8), 50);
}

/// A Dale layer against a direct simulation written from spec §1.4/§3.2 in stork's loop order
/// (evolve E, evolve I, then propagate XE, XI, II, IE, EI, EE), with the six connections as separate
/// matrices: membranes of both populations agree at every step, the I → E inhibition arrives through
/// the slower inhibitory current, and the next layer sees only the E spikes.
#[test]
fn dale_layer_matches_a_direct_simulation() {
    let (n_in, ne, ni, t_steps) = (6, 4, 2, 60);
    let n = ne + ni;
    let lif = LifParams { tau_mem: 20e-3, tau_syn: 10e-3, adaptation: None };
    let tau_inh = 20e-3;
    let spec = NetworkSpec {
        input: Shape::flat(n_in),
        n_out: 2,
        dt: 1e-3,
        hidden: vec![LayerSpec::dale(ne, ni, tau_inh, true, lif)],
        readout: ReadoutParams { tau_mem: 20e-3, tau_syn: 10e-3, initial_state: -1e-3 },
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let mut net = random_weights(spec, 40.0, 9);
    net.constrain();
    let data = random_data(n_in, 2, t_steps, 1, 0.3, 8);
    let mut ws = Workspace::new(&net, t_steps, 1);
    ws.load(&data, &[0]);
    engine::forward(&net, &EngineOptions::default(), &mut ws);
    // the six matrices [dst][src] from the internal blocks (module docs of network::DaleSpec)
    let ff = &net.params[net.layout.ff[0].clone()];
    let rec = &net.params[net.layout.rec[0].clone().unwrap()];
    let w_xe = |e: usize, i: usize| f64::from(ff[i * 2 * n + e]);
    let w_xi = |k: usize, i: usize| f64::from(ff[i * 2 * n + ne + k]);
    let w_ee = |d: usize, e: usize| f64::from(rec[e * 2 * n + d]);
    let w_ei = |k: usize, e: usize| f64::from(rec[e * 2 * n + ne + k]);
    let w_ie = |e: usize, k: usize| f64::from(rec[(ne + k) * 2 * n + n + e]);
    let w_ii = |d: usize, k: usize| f64::from(rec[(ne + k) * 2 * n + n + ne + d]);
    let (bm, be, bi) = ((-1e-3f64 / 20e-3).exp(), (-1e-3f64 / 10e-3).exp(), (-1e-3f64 / tau_inh).exp());
    // state per neuron (E then I): U, E current, J current, and the input buffers
    let (mut u, mut ce, mut cj) = (vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]);
    let (mut xe, mut xi) = (vec![0.0f64; n], vec![0.0f64; n]);
    let mut x = vec![vec![0.0f64; n_in]; t_steps];
    for (t, i) in data.events(0) {
        x[t as usize][i as usize] = 1.0;
    }
    let spikes = ws.spikes(0).to_vec();
    let mem = ws.membrane(0);
    let mut inhibited = false;
    for t in 0..t_steps {
        let mut s = vec![0.0f64; n];
        for j in 0..n {
            s[j] = if u[j] > 1.0 { 1.0 } else { 0.0 };
            let un = (bm * u[j] + (1.0 - bm) * (ce[j] - cj[j])) * (1.0 - s[j]);
            ce[j] = be * ce[j] + xe[j];
            cj[j] = bi * cj[j] + xi[j];
            u[j] = un;
            inhibited |= j < ne && cj[j] > 0.0;
        }
        xe.fill(0.0);
        xi.fill(0.0);
        for i in 0..n_in {
            for e in 0..ne {
                xe[e] += w_xe(e, i) * x[t][i];
            }
            for k in 0..ni {
                xe[ne + k] += w_xi(k, i) * x[t][i];
            }
        }
        for k in 0..ni {
            for d in 0..ni {
                xi[ne + d] += w_ii(d, k) * s[ne + k];
            }
            for e in 0..ne {
                xi[e] += w_ie(e, k) * s[ne + k];
            }
        }
        for e in 0..ne {
            for k in 0..ni {
                xe[ne + k] += w_ei(k, e) * s[e];
            }
            for d in 0..ne {
                xe[d] += w_ee(d, e) * s[e];
            }
        }
        for j in 0..n {
            let got = f64::from(mem[t * n + j]);
            assert!((got - u[j]).abs() < 1e-4 * (1.0 + u[j].abs()), "step {t}, neuron {j}: engine {got}, direct {}", u[j]);
            assert_eq!(f64::from(spikes[t * n + j]), s[j], "spike at step {t}, neuron {j}");
        }
    }
    let total: f32 = spikes.iter().sum();
    assert!(total > 5.0 && inhibited, "the test must exercise spikes ({total}) and inhibition");
    // the readout's fan-in is the E population
    assert_eq!(net.spec.last_hidden(), ne);
}

/// Notebook 05's kind of network, small: 2-D convolutions (padding 2), 2 × 2 max-pooling, a
/// recurrent 2-D convolution and a dense layer, on event-count inputs: the event-driven path (each
/// input event weighted by its count, spikes as events) and the dense path (GEMMs over dense spike
/// buffers) give the same spikes, readout and gradients.
#[test]
fn event_driven_and_dense_paths_agree_on_a_2d_network_with_counts() {
    use spikeflux_core::network::ConvSpec;
    let lif = LifParams::default();
    let mut l0 = LayerSpec::conv_with(4, ConvSpec::square(3, 1, 2), false, lif);
    l0.pool = 2;
    let spec = NetworkSpec {
        input: Shape::image(2, 8, 8),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, LayerSpec::conv_with(5, ConvSpec { rec_kernel: 3, ..ConvSpec::square(3, 2, 1) }, true, lif), LayerSpec::dense(6, false, lif)],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let net = random_weights(spec, 6.0, 5);
    let data = random_count_data(128, 3, 40, 4, 0.1, 9);
    assert!(data.counted_events(0).any(|(_, _, c)| c > 1), "the test needs counts above 1");
    assert_paths_agree(&net, &data, 40);
}
