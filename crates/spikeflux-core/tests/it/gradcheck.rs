//! Tier 2 gradient checks: the whole BPTT against central finite differences of the smooth forward
//! (spike replaced by the surrogate's primitive, reset off), so the surrogate gradient is the true
//! gradient. Directional derivatives along random directions, one per tensor, so every layer kind
//! (feed-forward, recurrent, adaptive, readout) is covered, for every loss and both regularizers.

use spikeflux_core::engine::{self, EngineOptions, Workspace};
use spikeflux_core::train::loss::{self, Bound, LossKind, Objective, RegScope, Regularizer};
use spikeflux_core::network::Network;
use spikeflux_core::neuron::SpikeMode;
use spikeflux_core::rng::{normal, rng_for};

use crate::common::*;

fn loss_and_grad(net: &Network, opts: &EngineOptions, obj: &Objective, ws: &mut Workspace) -> (f64, Vec<f32>) {
    engine::forward(net, opts, ws);
    loss::compute(net, obj, ws, ws.batch());
    let l = ws.stats.ce_sum / ws.batch() as f64 + ws.stats.reg_loss;
    engine::backward(net, opts, ws);
    (l, ws.grads.clone())
}

fn check(loss: LossKind, regs: Vec<Regularizer>) {
    check_net(random_weights(mixed_spec(2.0), 3.0, 11), random_data(5, 3, 25, 3, 0.3, 4), loss, regs, 1e-2);
}

/// `step`: the finite-difference step along each unit-variance direction.
fn check_net(net0: Network, data: spikeflux_core::data::SpikeDataset, loss: LossKind, regs: Vec<Regularizer>, step: f32) {
    let opts = EngineOptions { mode: SpikeMode::Smooth, ..Default::default() };
    let obj = Objective { loss, regularizers: regs };
    let mut ws = Workspace::new(&net0, data.t_steps, 4);
    ws.load(&data, &[0, 1, 2]);
    let (_, g) = loss_and_grad(&net0, &opts, &obj, &mut ws);
    assert_blocks_agree(&net0, &data, &obj);
    let mut rng = rng_for(3, 3);
    for t in net0.tensors() {
        let (name, range) = (t.name, t.range);
        let dir: Vec<f32> = range.clone().map(|_| normal(&mut rng) as f32).collect();
        let analytic: f64 = range.clone().zip(&dir).map(|(i, d)| g[i] as f64 * *d as f64).sum();
        let h = step;
        let eval = |sign: f32, ws: &mut Workspace| {
            let mut net = net0.clone();
            for (i, d) in range.clone().zip(&dir) {
                net.params[i] += sign * h * d;
            }
            loss_and_grad(&net, &opts, &obj, ws).0
        };
        let fd = (eval(1.0, &mut ws) - eval(-1.0, &mut ws)) / (2.0 * h as f64);
        let err = (fd - analytic).abs() / (fd.abs().max(analytic.abs()) + 1e-6);
        assert!(analytic.abs() > 1e-4, "{name}: gradient vanishes ({analytic}); the check would be vacuous");
        assert!(err < 2e-2, "{loss:?} {name}: finite difference {fd} vs backprop {analytic} (rel err {err})");
    }
}

/// The backward pass run in blocks of steps (all layers per block, latest block first) gives the
/// gradient of one block over all steps, up to summation order, in smooth mode (dense products) and
/// in spiking mode (event-driven ones), with blocks that divide the steps and ones that do not.
fn assert_blocks_agree(net: &Network, data: &spikeflux_core::data::SpikeDataset, obj: &Objective) {
    let t = data.t_steps;
    for mode in [SpikeMode::Smooth, SpikeMode::Spiking] {
        let opts = EngineOptions { mode, ..Default::default() };
        let grad = |block: usize| {
            let mut ws = Workspace::with_backward_block(net, t, 4, block);
            assert_eq!(ws.backward_block(), block.min(t));
            ws.load(data, &[0, 1, 2]);
            loss_and_grad(net, &opts, obj, &mut ws).1
        };
        let whole = grad(t);
        // (a silent layer gives zero gradients above it in spiking mode; in smooth mode none is zero)
        let zero = net.tensors().into_iter().filter(|tn| whole[tn.range.clone()].iter().all(|&x| x == 0.0)).map(|tn| tn.name).collect::<Vec<_>>();
        assert!(zero.is_empty() || mode == SpikeMode::Spiking, "{mode:?}: gradients of {zero:?} zero");
        assert!(whole.iter().any(|&x| x != 0.0), "{mode:?}: the gradient is zero; the comparison would be vacuous");
        for block in [1, 4, 7] {
            let g = grad(block);
            for tn in net.tensors() {
                let scale = whole[tn.range.clone()].iter().fold(0.0f32, |m, x| m.max(x.abs()));
                for i in tn.range.clone() {
                    let err = (g[i] - whole[i]).abs();
                    assert!(err <= 1e-5 * scale, "{mode:?}, blocks of {block}: {}[{}] = {} against {} in one block", tn.name, i - tn.range.start, g[i], whole[i]);
                }
            }
        }
    }
}

#[test]
fn max_over_time_with_regularizers() {
    let regs = vec![
        Regularizer { bound: Bound::Upper, strength: 0.5, threshold: -1.0, scope: RegScope::Population },
        Regularizer { bound: Bound::Lower, strength: 0.3, threshold: 2.0, scope: RegScope::Neuron },
    ];
    check(LossKind::MaxOverTime, regs);
}

#[test]
fn sum_over_time() {
    check(LossKind::SumOverTime, vec![]);
}

#[test]
fn last_step_with_upper_bound_per_neuron() {
    let regs = vec![Regularizer { bound: Bound::Upper, strength: 0.2, threshold: -0.5, scope: RegScope::Neuron }];
    check(LossKind::LastStep, regs);
}

/// Convolution (strided, padded), recurrent convolution, max-pooling, a dense layer on the flattened
/// pooled output, and the per-channel regularizer.
#[test]
fn convolutional_recurrent_pooled() {
    use spikeflux_core::layer::Shape;
    use spikeflux_core::network::{LayerSpec, NetworkSpec};
    use spikeflux_core::neuron::{LifParams, ReadoutParams, Surrogate};
    let lif = LifParams { tau_mem: 5e-3, tau_syn: 3e-3, adaptation: None };
    let mut l0 = LayerSpec::conv(3, 4, 2, 1, true, lif);
    l0.pool = 2;
    if let Some(c) = l0.conv.as_mut() {
        c.rec_kernel = 3;
    }
    let spec = NetworkSpec {
        input: Shape::line(2, 12),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, LayerSpec::conv(2, 2, 1, 0, true, lif), LayerSpec::dense(4, false, lif)],
        readout: ReadoutParams { tau_mem: 8e-3, tau_syn: 3e-3, initial_state: -1e-2 },
        surrogate: Surrogate::SuperSpike { beta: 2.0 },
        step_order: Default::default(),
    };
    let net = random_weights(spec, 3.0, 12);
    assert_eq!(net.plan.geoms[0].group, Shape::line(3, 6));
    assert_eq!(net.plan.geoms[1].input, Shape::line(3, 3));
    let regs = vec![
        Regularizer { bound: Bound::Upper, strength: 0.3, threshold: -1.0, scope: RegScope::Channel },
        Regularizer { bound: Bound::Lower, strength: 0.2, threshold: 1.0, scope: RegScope::Population },
    ];
    // a smaller step than the dense checks: this network's loss has more curvature (the
    // first-order error of the smooth mode's C¹ kinks dominates at 1e-2)
    check_net(net, random_data(24, 3, 25, 3, 0.2, 5), LossKind::MaxOverTime, regs, 1e-3);
}

/// Dale layers (spec §1.4): separate excitatory and inhibitory currents with their own time
/// constants, the E population passed on, per-population regularizers; a recurrent Dale layer feeding
/// a dense layer feeding a non-recurrent Dale layer read out from its E neurons. Weights of both signs
/// (the engine's math does not rely on the constraint) and then constrained ones.
#[test]
fn dale_layers() {
    use spikeflux_core::network::{LayerSpec, NetworkSpec};
    use spikeflux_core::neuron::{LifParams, ReadoutParams, Surrogate};
    let lif = LifParams { tau_mem: 5e-3, tau_syn: 2e-3, adaptation: None };
    let spec = NetworkSpec {
        input: spikeflux_core::layer::Shape::flat(5),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![
            LayerSpec::dale(4, 2, 4e-3, true, lif),
            LayerSpec::dense(3, false, LifParams { tau_mem: 6e-3, tau_syn: 2e-3, adaptation: None }),
            LayerSpec::dale(3, 1, 6e-3, false, lif),
        ],
        readout: ReadoutParams { tau_mem: 8e-3, tau_syn: 3e-3, initial_state: -1e-2 },
        surrogate: Surrogate::SuperSpike { beta: 2.0 },
        step_order: Default::default(),
    };
    let regs = vec![
        Regularizer { bound: Bound::Upper, strength: 0.5, threshold: -1.0, scope: RegScope::Population },
        Regularizer { bound: Bound::Lower, strength: 0.3, threshold: 2.0, scope: RegScope::Neuron },
    ];
    let net = random_weights(spec.clone(), 3.0, 21);
    assert_eq!(net.plan.geoms[0].output().n(), 4);
    assert_eq!(net.plan.geoms[1].input.n(), 4);
    check_net(net, random_data(5, 3, 25, 3, 0.3, 6), LossKind::MaxOverTime, regs.clone(), 1e-2);
    let mut net = random_weights(spec, 6.0, 22);
    net.constrain();
    check_net(net, random_data(5, 3, 25, 3, 0.3, 7), LossKind::SumOverTime, regs, 1e-3);
}

/// The NIR step order (`StepOrder::Nir`: current, membrane and spike from the same step's input,
/// the recurrent input from the previous step's spikes): recurrent dense layers, a layer without a
/// synaptic filter, every loss.
#[test]
fn nir_step_order_dense() {
    use spikeflux_core::neuron::{LifParams, StepOrder};
    let mut spec = mixed_spec(2.0);
    spec.step_order = StepOrder::Nir;
    spec.hidden[0].lif = LifParams { tau_mem: 5e-3, tau_syn: 3e-3, adaptation: None };
    spec.hidden[2].lif.tau_syn = 0.0;
    let regs = vec![Regularizer { bound: Bound::Upper, strength: 0.5, threshold: -1.0, scope: RegScope::Population }];
    for (k, loss) in [LossKind::MaxOverTime, LossKind::SumOverTime, LossKind::LastStep].into_iter().enumerate() {
        check_net(random_weights(spec.clone(), 3.0, 31 + k as u64), random_data(5, 3, 25, 3, 0.3, 4), loss, regs.clone(), 1e-3);
    }
}

/// The NIR step order through strided, padded convolutions with recurrent convolutions and pooling.
#[test]
fn nir_step_order_convolutional() {
    use spikeflux_core::layer::Shape;
    use spikeflux_core::network::{LayerSpec, NetworkSpec};
    use spikeflux_core::neuron::{LifParams, ReadoutParams, StepOrder, Surrogate};
    let lif = LifParams { tau_mem: 5e-3, tau_syn: 3e-3, adaptation: None };
    let mut l0 = LayerSpec::conv(3, 4, 2, 1, true, lif);
    l0.pool = 2;
    let spec = NetworkSpec {
        input: Shape::line(2, 12),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, LayerSpec::conv(2, 2, 1, 0, true, lif), LayerSpec::dense(4, false, lif)],
        readout: ReadoutParams { tau_mem: 8e-3, tau_syn: 3e-3, initial_state: -1e-2 },
        surrogate: Surrogate::SuperSpike { beta: 2.0 },
        step_order: StepOrder::Nir,
    };
    let regs = vec![Regularizer { bound: Bound::Upper, strength: 0.3, threshold: -1.0, scope: RegScope::Channel }];
    check_net(random_weights(spec, 3.0, 12), random_data(24, 3, 25, 3, 0.2, 5), LossKind::MaxOverTime, regs, 1e-3);
}

/// 2-D convolutions (notebook 05's kind: square kernel, padding 2, max-pooling 2 × 2; and per-axis
/// kernel, stride and padding with a recurrent 2-D convolution), a dense layer on the flattened
/// pooled image, the per-channel regularizer, on event-count inputs.
#[test]
fn conv2d_pooled_counts() {
    use spikeflux_core::layer::Shape;
    use spikeflux_core::network::{ConvSpec, LayerSpec, NetworkSpec};
    use spikeflux_core::neuron::{LifParams, ReadoutParams, Surrogate};
    let lif = LifParams { tau_mem: 5e-3, tau_syn: 3e-3, adaptation: None };
    let mut l0 = LayerSpec::conv_with(3, ConvSpec::square(3, 1, 2), false, lif);
    l0.pool = 2;
    let l1 = LayerSpec::conv_with(2, ConvSpec { kernel: [3, 2], stride: [2, 1], padding: [1, 0], rec_kernel: 3 }, true, lif);
    let spec = NetworkSpec {
        input: Shape::image(2, 5, 4),
        n_out: 3,
        dt: 1e-3,
        hidden: vec![l0, l1, LayerSpec::dense(4, false, lif)],
        readout: ReadoutParams { tau_mem: 8e-3, tau_syn: 3e-3, initial_state: -1e-2 },
        surrogate: Surrogate::SuperSpike { beta: 2.0 },
        step_order: Default::default(),
    };
    let net = random_weights(spec, 3.0, 41);
    assert_eq!(net.plan.geoms[0].group, Shape::image(3, 7, 6));
    assert_eq!(net.plan.geoms[1].input, Shape::image(3, 3, 3));
    assert_eq!(net.plan.geoms[1].group, Shape::image(2, 2, 2));
    assert_eq!(net.plan.geoms[0].ff.fan_in(), 18);
    let regs = vec![
        Regularizer { bound: Bound::Upper, strength: 0.3, threshold: -1.0, scope: RegScope::Channel },
        Regularizer { bound: Bound::Lower, strength: 0.2, threshold: 1.0, scope: RegScope::Population },
    ];
    check_net(net, random_count_data(40, 3, 25, 3, 0.15, 8), LossKind::MaxOverTime, regs, 1e-3);
}
