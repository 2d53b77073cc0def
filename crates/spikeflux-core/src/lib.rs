//! # spikeflux-core
//!
//! Spiking neural networks of leaky integrate-and-fire neurons, trained with surrogate gradients
//! through time and initialized in the fluctuation-driven regime (Rossbroich, Gygax & Zenke 2022).
//!
//! A tour, in the order data flows:
//!
//! - [`data`]: spike data sets (Randman generator, SHD-layout HDF5 reader and writer, images),
//!   binned to `(T, dt)`; file utilities.
//! - [`neuron`]: one file per neuron model (LIF with adaptation, Dale E/I, readout), each with its
//!   step and adjoint; the SuperSpike surrogate.
//! - [`layer`]: shapes of groups and connections; [`network`]: the architecture, its flat
//!   parameters and their layout.
//! - [`engine`]: the network plan (built once), workspaces, the fused forward and hand-written
//!   backward passes over time for a batch slice; [`linalg`]: the products they use.
//! - [`init`]: the fluctuation-driven theory (ε̄, ε̂, σ_w), the initializers, ν from data, reports.
//! - [`train`]: loss and regularizers, optimizers, the batch-parallel loop, checkpoints.
//! - [`nir`]: networks to and from NIR graphs (the file format, the mapping both ways).
//!
//! ```
//! use spikeflux_core::data::randman::{generate, RandmanParams};
//! use spikeflux_core::init::{EpsilonMode, FdTarget, HiddenInit, InitSpec, ReadoutInit};
//! use spikeflux_core::network::*;
//! use spikeflux_core::neuron::*;
//! use spikeflux_core::train::evaluate;
//!
//! let data = generate(&RandmanParams { samples_per_class: 10, ..Default::default() }, 2e-3).unwrap();
//! let spec = NetworkSpec {
//!     input: spikeflux_core::layer::Shape::flat(20), n_out: 10, dt: 2e-3,
//!     hidden: vec![LayerSpec::dense(32, false, LifParams::default())],
//!     readout: ReadoutParams::default(), surrogate: Surrogate::default(), step_order: StepOrder::Reference,
//! };
//! let target = FdTarget::centered(1.0, 5.0);
//! let init = InitSpec {
//!     hidden: HiddenInit::FluctuationDriven { target, alpha: 0.9, epsilon: EpsilonMode::Numerical, layerwise: false },
//!     readout: ReadoutInit::FluctuationDriven { target, epsilon: EpsilonMode::Numerical },
//!     dale: Default::default(),
//! };
//! let (net, _) = Network::initialized(spec, &init, 7).unwrap();
//! let m = evaluate(&net, &Default::default(), &Default::default(), &data, 50);
//! assert!(m.acc >= 0.0 && m.rates_hz[0] > 0.0);
//! ```
#![deny(missing_docs)]

pub mod data;
pub mod engine;
pub mod error;
pub mod init;
pub mod layer;
pub mod linalg;
pub mod network;
pub mod neuron;
pub mod nir;
pub mod rng;
pub mod train;

pub use error::{Error, Result};
