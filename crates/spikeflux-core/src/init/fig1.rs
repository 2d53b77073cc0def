//! The setting of the paper's Fig. 1 (spec §4.1): LIF neurons (τ_mem = 20 ms, τ_syn = 10 ms)
//! driven by N Poisson inputs through fluctuation-driven weights, and the statistics of their
//! membrane against the theory of [`super::theory`]. Used by `spikeflux fig1` and by the tests that
//! check the theory against the engine.
//!
//! The theory's moments are expectations over the weight draw: a single neuron's time-averaged
//! membrane is ν·ε̄·Σ_j w_j, which scatters around μ_U with s.d. √N·σ_w·ν·ε̄, while its fluctuation
//! in time, ν·ε̂·Σ_j w_j², concentrates at σ_U². So [`MembraneStats`] takes the mean over neurons and
//! time, and the s.d. as the root of the mean temporal variance per neuron.

use super::theory::{fd_normal_layerwise, fill_normal, Afferent, EpsilonMode, FdTarget, NormalMoments};
use crate::data::SpikeDataset;
use crate::engine::{self, EngineOptions, Workspace};
use crate::error::Result;
use crate::layer::Shape;
use crate::network::{LayerSpec, Network, NetworkSpec};
use crate::neuron::{LifParams, ReadoutParams, SpikeMode, Surrogate};
use crate::rng::rng_for;

/// Stream tag of the weights drawn by [`fd_group`].
const WEIGHTS: u64 = 77;

/// A group of `neurons` LIF neurons with the paper's time constants, fed by all `input.n_in` inputs
/// of `input` through FD normal weights for `target` (per connection, numerical ε̄/ε̂) drawn from
/// `seed`. Returns the network (its one hidden layer is the group) and the weight moments.
///
/// # Errors
/// An infeasible target or an invalid size.
pub fn fd_group(input: &SpikeDataset, neurons: usize, target: FdTarget, seed: u64) -> Result<(Network, NormalMoments)> {
    let spec = NetworkSpec {
        input: Shape::flat(input.n_in),
        n_out: 2,
        dt: input.dt,
        hidden: vec![LayerSpec::dense(neurons, false, LifParams::default())],
        readout: ReadoutParams::default(),
        surrogate: Surrogate::default(),
        step_order: Default::default(),
    };
    let mut net = Network::zeros(spec)?;
    let eps = net.plan.layers[0].psp.get(EpsilonMode::Numerical);
    let m = fd_normal_layerwise(target, eps, &[Afferent { fan_in: input.n_in, recurrent: false }], 1.0)?[0];
    let r = net.layout.ff[0].clone();
    fill_normal(&mut net.params[r], m, &mut rng_for(seed, WEIGHTS));
    Ok((net, m))
}

/// The group's membrane `[T − burn_in, neurons]` on the first sample of `input`, in `mode`
/// (`NoReset` or `Smooth`: the free membrane of the theory; `Spiking`: with reset).
pub fn membrane(net: &Network, input: &SpikeDataset, mode: SpikeMode, burn_in: usize) -> Vec<f32> {
    let mut ws = Workspace::new(net, input.t_steps, 1);
    ws.load(input, &[0]);
    engine::forward(net, &EngineOptions { mode, ..Default::default() }, &mut ws);
    ws.membrane(0)[burn_in * net.plan.geoms[0].n()..].to_vec()
}

/// Statistics of a membrane `[steps, neurons]` (module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MembraneStats {
    /// Mean over neurons and steps.
    pub mean: f64,
    /// Root of the mean (over neurons) temporal variance.
    pub sd: f64,
    /// Fraction of values above the threshold 1.
    pub above_threshold: f64,
}

impl MembraneStats {
    /// The statistics of `u: [steps, neurons]`.
    pub fn of(u: &[f32], neurons: usize) -> Self {
        let steps = (u.len() / neurons) as f64;
        let (mut sum, mut sq) = (vec![0.0f64; neurons], vec![0.0f64; neurons]);
        for row in u.chunks_exact(neurons) {
            for (k, &x) in row.iter().enumerate() {
                sum[k] += x as f64;
                sq[k] += (x as f64).powi(2);
            }
        }
        let mean = sum.iter().sum::<f64>() / (steps * neurons as f64);
        let sd = (sum.iter().zip(&sq).map(|(s, q)| q / steps - (s / steps).powi(2)).sum::<f64>() / neurons as f64).sqrt();
        let above_threshold = u.iter().filter(|&&x| x > 1.0).count() as f64 / u.len() as f64;
        MembraneStats { mean, sd, above_threshold }
    }
}
