//! The network plan: everything about a network that follows from its validated spec alone,
//! computed once when the [`Network`](crate::network::Network) is built and read by the engine,
//! the initializers, the reports and the plots.
//!
//! - the geometry of every hidden layer and connection ([`LayerGeom`]);
//! - the decay factor `β = exp(−dt/τ)` of every state: membrane, synaptic current, adaptation or a
//!   Dale layer's inhibitory current, and the readout's two filters — the only place `dt` turns into
//!   a decay, so no kernel evaluates an exponential;
//! - the PSP-kernel integrals ε̄, ε̂ (numerical and analytical, spec §2.2) of every kind of
//!   connection: a hidden layer's (excitatory) synapses, a Dale layer's inhibitory ones, the readout's;
//! - from those, for a given number of steps: the workspace size of a batch slice
//!   ([`NetworkPlan::workspace_bytes`]) and the slice size ([`NetworkPlan::slice_size`]).

use crate::init::{epsilon, Epsilon, EpsilonMode};
use crate::layer::{ConnGeom, LayerGeom};
use crate::network::NetworkSpec;
use crate::neuron::{Decays, ReadoutDecays};
use crate::error::Result;

use super::workspace;

/// The most samples in a slice (the unit of parallel work).
pub const MAX_SLICE: usize = 16;

/// Workspace bytes a slice may take, so that its time-major buffers (membranes, gradients), written
/// in the forward pass and read back in the backward pass, stay in the last-level cache in between.
pub const SLICE_CACHE_BYTES: usize = 32 << 20;

/// Bytes of backward-pass gradients (∂S, ∂A, ∂ of a pooled output, over all layers) that one block
/// of steps may take when a slice's buffers do not fit in [`SLICE_CACHE_BYTES`]: the backward pass
/// then runs block by block of steps through all layers (see [`crate::engine::backward()`]), so those
/// gradients are produced and consumed while in cache and held only for one block.
pub const BLOCK_CACHE_BYTES: usize = 4 << 20;

/// ε̄ and ε̂ of one PSP kernel, both ways (spec §2.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Psp {
    /// From the discrete kernel at the run's dt.
    pub numerical: Epsilon,
    /// Continuous-time closed forms.
    pub analytical: Epsilon,
}

impl Psp {
    fn new(tau_mem: f64, tau_syn: f64, dt: f64) -> Self {
        Psp {
            numerical: epsilon(tau_mem, tau_syn, dt, EpsilonMode::Numerical),
            analytical: epsilon(tau_mem, tau_syn, dt, EpsilonMode::Analytical),
        }
    }
    /// The integrals computed the way `mode` says.
    pub fn get(&self, mode: EpsilonMode) -> Epsilon {
        match mode {
            EpsilonMode::Numerical => self.numerical,
            EpsilonMode::Analytical => self.analytical,
        }
    }
}

/// What the engine and the initializers need of one hidden layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPlan {
    /// Shapes of the group and its connections.
    pub geom: LayerGeom,
    /// Decay factors of its neurons. A Dale layer's inhibitory current J takes the place of the
    /// adaptation variable q (`a = 1`, `β_a = β_inh`), driven by the inhibitory input instead of the
    /// own spikes.
    pub decays: Decays,
    /// PSP integrals of its (excitatory) synapses: τ_mem with τ_syn.
    pub psp: Psp,
    /// A Dale layer's inhibitory synapses: τ_mem with τ_inh.
    pub psp_inh: Option<Psp>,
}

/// Everything derived from a network spec, computed once ([module doc](self)).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkPlan {
    /// Hidden layers, input side first.
    pub layers: Vec<LayerPlan>,
    /// Geometry of every hidden layer (the same as in `layers`, as one slice for the kernels).
    pub geoms: Vec<LayerGeom>,
    /// Readout units (classes).
    pub n_out: usize,
    /// The readout's fan-in: units of the last hidden layer's (pooled) output.
    pub n_last: usize,
    /// Readout decay factors.
    pub readout: ReadoutDecays,
    /// Readout PSP integrals.
    pub readout_psp: Psp,
}

impl NetworkPlan {
    /// The plan of `spec`, which is validated first.
    ///
    /// # Errors
    /// The spec's validation errors.
    pub fn new(spec: &NetworkSpec) -> Result<Self> {
        spec.validate()?;
        let geoms = spec.geometry()?;
        let dt = spec.dt;
        let layers: Vec<LayerPlan> = spec
            .hidden
            .iter()
            .zip(&geoms)
            .map(|(h, g)| LayerPlan {
                geom: g.clone(),
                decays: match h.dale {
                    Some(d) => Decays { a: 1.0, ada: (-dt / d.tau_inh).exp() as f32, ..h.lif.decays(dt) },
                    None => h.lif.decays(dt),
                },
                psp: Psp::new(h.lif.tau_mem, h.lif.tau_syn, dt),
                psp_inh: h.dale.map(|d| Psp::new(h.lif.tau_mem, d.tau_inh, dt)),
            })
            .collect();
        let n_last = geoms.last().map_or(0, |g| g.output().n());
        Ok(NetworkPlan {
            layers,
            geoms,
            n_out: spec.n_out,
            n_last,
            readout: spec.readout.decays(dt),
            readout_psp: Psp::new(spec.readout.tau_mem, spec.readout.tau_syn, dt),
        })
    }

    /// The readout connection (dense, last hidden output → classes).
    pub fn readout_conn(&self) -> ConnGeom {
        ConnGeom::Dense { n_src: self.n_last, n_dst: self.n_out }
    }

    /// Bytes a workspace for `t` steps and `b_cap` samples will hold, with `n_params` parameters,
    /// without allocating it (the input events, which grow with the data, are not included).
    pub fn workspace_bytes(&self, n_params: usize, t: usize, b_cap: usize) -> usize {
        workspace::estimate_bytes(self, n_params, t, b_cap)
    }

    /// Samples per slice for `t_steps` steps: as many as fit in [`SLICE_CACHE_BYTES`] (at least 1, at
    /// most [`MAX_SLICE`]). Large convolutional networks get small slices (RCSNN, T = 350: 2
    /// samples, ~15 MB each), small dense ones the full 16, whose per-step recurrent products then
    /// run as GEMMs over 16 rows. Measured on 2 threads (BENCHMARKS.md): RCSNN 2.7 ms/sample at 2
    /// against 3.7 at 16; 3×128 feed-forward and 128 recurrent best at 8–16.
    pub fn slice_size(&self, t_steps: usize) -> usize {
        let per_sample = workspace::unblocked_bytes(self, 0, t_steps, 1).max(1);
        (SLICE_CACHE_BYTES / per_sample).clamp(1, MAX_SLICE)
    }

    /// Steps per block of the backward pass for a slice of `b_cap` samples and `t_steps` steps:
    /// all of them when the slice's buffers, gradients held for every step, fit in
    /// [`SLICE_CACHE_BYTES`]; otherwise as many as keep one block's gradients within
    /// [`BLOCK_CACHE_BYTES`] (at least 1). Depends on the network and the slice capacity only, never
    /// on the thread count.
    pub fn backward_block(&self, t_steps: usize, b_cap: usize) -> usize {
        if workspace::unblocked_bytes(self, 0, t_steps, b_cap) <= SLICE_CACHE_BYTES {
            return t_steps.max(1);
        }
        let per_step = workspace::gradient_bytes_per_step(self, b_cap).max(1);
        (BLOCK_CACHE_BYTES / per_step).clamp(1, t_steps.max(1))
    }
}
