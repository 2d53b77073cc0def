//! Weight initialization (spec §2): the fluctuation-driven theory and its baselines, for every
//! layer kind, and the tools that check it against simulation.
//!
//! - [`theory`]: ε̄/ε̂, FD targets and the normal moments they ask for, the samplers;
//! - [`dale`]: the sign-constrained FD initializers of Dale layers (exponential, log-normal);
//! - [`network`]: the policy that initializes a whole network, connection by connection;
//! - [`nu`]: ν measured from the data, layer by layer;
//! - [`report`]: theory against measured membranes and rates at initialization;
//! - [`fig1`]: the paper's Fig. 1 setting, simulated.

pub mod dale;
pub mod fig1;
pub mod network;
pub mod nu;
pub mod report;
pub mod theory;

pub use network::{ConnectionInit, DaleConn, DaleInit, HiddenInit, InitSpec, ReadoutInit};
pub use theory::{
    epsilon, fd_normal_layerwise, fill_normal, fill_torch_default_uniform, lif_kernel, Afferent, Epsilon, EpsilonMode, FdTarget,
    NormalMoments,
};
