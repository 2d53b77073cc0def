//! The engine: fused forward and hand-written backward passes over time for one batch slice
//! (spec §1.1, §1.5), on the buffers of a [`Workspace`], for the network described by its
//! [`NetworkPlan`]. It knows neurons, connections and time, not losses or optimizers: the training
//! loop ([`crate::train`]) seeds the backward pass with the loss gradient on the readout.
//!
//! - [`plan`]: what follows from the spec (geometry, decays, ε̄/ε̂, slice size, memory), built once;
//! - [`workspace`]: the slice's time-major buffers `[T, b, n]`, allocated once;
//! - `conn`: the products of one connection (event-driven or GEMM, dense or convolutional);
//! - [`forward`](mod@forward), [`backward`](mod@backward): the passes.

pub mod backward;
mod conn;
pub mod forward;
pub mod plan;
pub mod workspace;

pub use backward::backward;
pub use forward::forward;
pub use plan::{LayerPlan, NetworkPlan, Psp, MAX_SLICE, SLICE_CACHE_BYTES};
pub use workspace::{SliceStats, Workspace};

use crate::neuron::SpikeMode;

/// How feed-forward spike products are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProjectionPath {
    /// Event-driven for binary spikes, GEMM in smooth mode.
    #[default]
    Auto,
    /// Always GEMM (for cross-path tests).
    Dense,
}

/// Options of a forward/backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineOptions {
    /// Spiking (reference) or smooth (gradient checks).
    pub mode: SpikeMode,
    /// Product path.
    pub path: ProjectionPath,
    /// Keep every step's accumulated input for [`Workspace::input_current`]. Otherwise the
    /// event-driven path computes each layer's feed-forward input step by step into two reused
    /// slots, so the input is produced and consumed while in cache.
    pub keep_input: bool,
    /// No backward pass follows and nothing reads [`Workspace::membrane`]: the forward pass keeps
    /// each layer's membrane for the last two steps only instead of every step, so it writes no
    /// membrane history (evaluations, a forward pass whose backward recomputes it).
    pub forward_only: bool,
}


/// What both passes read of their options and the loaded slice.
struct Pass {
    /// Steps.
    t_steps: usize,
    /// Samples in the slice.
    b: usize,
    /// Rows of the time-major buffers, `t_steps · b`.
    rows: usize,
    /// Products run as GEMMs over dense buffers (smooth mode, or the dense path).
    dense: bool,
    /// Smooth mode (the spike replaced by the surrogate's primitive, no reset).
    smooth: bool,
}

impl Pass {
    fn of(opts: &EngineOptions, ws: &Workspace) -> Self {
        let smooth = opts.mode == SpikeMode::Smooth;
        Pass { t_steps: ws.t, b: ws.b, rows: ws.t * ws.b, dense: smooth || opts.path == ProjectionPath::Dense, smooth }
    }
}
