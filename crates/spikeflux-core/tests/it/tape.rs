//! `train::Tape` (a caller's own loss): seeded with the gradient of the training loss, its
//! backward pass gives exactly the training loop's gradient, for any thread count.

use crate::common::{mixed_spec, random_data, random_weights};
use spikeflux_core::engine::EngineOptions;
use spikeflux_core::train::loss::{Bound, LossKind, Objective, RegScope, Regularizer};
use spikeflux_core::train::{run_batch, SlicePool, Tape};

/// The seeds of sum-over-time cross-entropy plus `s/(B·n_l) Σ cnt²` on every hidden layer (an
/// upper-bound neuron regularizer at θ = 0), computed here from the tape's outputs as a framework
/// would, in f64 as the loss does.
fn seeds(tape: &Tape, labels: &[usize], n_out: usize, sizes: &[usize], s: f64) -> (Vec<f32>, Vec<Vec<f32>>) {
    let (b, t) = (tape.batch(), tape.steps());
    let v = tape.readout();
    let mut gv = vec![0f32; v.len()];
    for i in 0..b {
        let z: Vec<f64> = (0..n_out).map(|k| (0..t).map(|st| v[(i * t + st) * n_out + k] as f64).sum()).collect();
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
        for k in 0..n_out {
            let g = (((z[k] - lse).exp() - if k == labels[i] { 1.0 } else { 0.0 }) / b as f64) as f32;
            for st in 0..t {
                gv[(i * t + st) * n_out + k] = g;
            }
        }
    }
    let gc = sizes
        .iter()
        .enumerate()
        .map(|(l, &n)| tape.counts(l).iter().map(|&c| (2.0 * s * (c as f64).max(0.0) * (1.0 / b as f64) / n as f64) as f32).collect())
        .collect();
    (gv, gc)
}

#[test]
fn tape_backward_from_the_loss_seeds_equals_the_training_gradient() {
    let net = random_weights(mixed_spec(10.0), 3.0, 4);
    let ds = random_data(5, 3, 60, 37, 0.2, 8);
    let s = 0.05;
    let objective = Objective {
        loss: LossKind::SumOverTime,
        regularizers: vec![Regularizer { bound: Bound::Upper, strength: s as f32, threshold: 0.0, scope: RegScope::Neuron }],
    };
    let opts = EngineOptions::default();
    let idx: Vec<usize> = (0..ds.len()).collect();
    let mut pool = SlicePool::new(&net, 60, ds.len());
    let mut want = vec![0f32; net.layout.total];
    run_batch(&net, &opts, &objective, &mut pool, &ds, &idx, Some(&mut want)).expect("one process exchanges nothing");
    assert!(pool.workspaces() >= 1 && net.plan.slice_size(60) < ds.len(), "the batch must span several slices");
    let sizes: Vec<usize> = net.plan.geoms.iter().map(|g| g.n()).collect();
    for threads in [1, 2, 3] {
        let got = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
            let mut pool = SlicePool::new(&net, 60, 8);
            let tape = Tape::forward(&net, &opts, ds.clone(), false, &mut pool).unwrap();
            let (gv, gc) = seeds(&tape, &ds.labels, 3, &sizes, s);
            let gc: Vec<Option<&[f32]>> = gc.iter().map(|g| Some(g.as_slice())).collect();
            let g = tape.backward(&net, &gv, &gc, &mut pool).unwrap();
            assert!(pool.workspaces() <= threads, "{} workspaces for {threads} threads", pool.workspaces());
            // a second backward pass gives the same
            assert_eq!(tape.backward(&net, &gv, &gc, &mut pool).unwrap(), g);
            g
        });
        assert!(want.iter().any(|&g| g != 0.0));
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{threads} threads: parameter {i}: tape {a} vs training {b}");
        }
    }
}

#[test]
fn tape_refuses_seeds_of_the_wrong_shape_and_a_pool_that_does_not_fit() {
    let net = random_weights(mixed_spec(10.0), 3.0, 4);
    let ds = random_data(5, 3, 20, 4, 0.2, 8);
    let mut pool = SlicePool::new(&net, 20, 4);
    let tape = Tape::forward(&net, &EngineOptions::default(), ds.clone(), false, &mut pool).unwrap();
    let e = tape.backward(&net, &[0.0; 7], &[], &mut pool).unwrap_err().to_string();
    assert!(e.contains("readout gradient") && e.contains("[4, 20, 3]"), "{e}");
    let gv = vec![0.0; 4 * 20 * 3];
    let e = tape.backward(&net, &gv, &[Some(&[0.0; 5])], &mut pool).unwrap_err().to_string();
    assert!(e.contains("hidden layer 0") && e.contains("[4, 6]"), "{e}");
    assert!(tape.backward(&net, &gv, &[None, None, None], &mut pool).unwrap().iter().all(|&g| g == 0.0));
    let mut other = SlicePool::new(&net, 30, 4);
    assert!(Tape::forward(&net, &EngineOptions::default(), ds, false, &mut other).unwrap_err().to_string().contains("workspace pool"));
}

#[test]
fn recorded_outputs_are_the_workspaces_in_batch_major_order() {
    use spikeflux_core::engine::{forward, Workspace};
    let net = random_weights(mixed_spec(10.0), 3.0, 4);
    let ds = random_data(5, 3, 30, 21, 0.3, 9);
    let mut pool = SlicePool::new(&net, 30, 21);
    let tape = Tape::forward(&net, &EngineOptions::default(), ds.clone(), true, &mut pool).unwrap();
    let mut ws = Workspace::new(&net, 30, 21);
    ws.load(&ds, &(0..21).collect::<Vec<_>>());
    forward(&net, &EngineOptions::default(), &mut ws);
    for (l, n) in [(0, 6), (1, 4), (2, 5)] {
        let (u, s) = (ws.membrane(l).to_vec(), ws.spikes(l).to_vec());
        for i in 0..21 {
            for t in 0..30 {
                for k in 0..n {
                    assert_eq!(tape.membranes(l)[(i * 30 + t) * n + k], u[(t * 21 + i) * n + k]);
                    assert_eq!(tape.spikes(l)[(i * 30 + t) * n + k], s[(t * 21 + i) * n + k]);
                }
            }
            let count: f32 = (0..30).map(|t| s[(t * 21 + i) * n]).sum();
            assert_eq!(tape.counts(l)[i * n], count);
        }
    }
    for i in 0..21 {
        let trace: Vec<f32> = ws.readout_trace(i, 2).collect();
        assert_eq!(trace, (0..30).map(|t| tape.readout()[(i * 30 + t) * 3 + 2]).collect::<Vec<_>>());
    }
}
